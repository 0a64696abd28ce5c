"""Apply a policy to claims: check the claims, give each row its envelope group, tier and capped claim.

Everything here is shared by the default policy and the optimiser. Money is held in integer kopiyky
from here on, so sums are exact and independent of row order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.allocate._policy import EXCLUSIVE, Policy
from engine.errors import ConfigError, InputFileError

__all__ = ["NATIONAL", "OTHER_OBLASTS", "Prepared", "prepare"]

NATIONAL = "national"
OTHER_OBLASTS = "other oblasts"
# Σ of kopiyky is taken with float64 bincounts, which are exact below 2**53 kopiyky (~90 trillion UAH)
_EXACT_LIMIT = 2**53
_SHARE_DENOMINATOR = 1_000_000  # floor shares are exact to a millionth
_MAX_ROW_KOP = 9 * 10**12  # keeps claim × share numerator inside int64
_NO_TIER = 255  # tier code of a row no predicate matched


@dataclass(frozen=True)
class Prepared:
    """Claims ready for allocation: the frame plus one numpy array per derived column."""

    frame: pl.DataFrame  # the claims rows kept (inside the policy period)
    work: pl.DataFrame  # _claim_kop, _capped_kop, _floor_kop, _gid, _tier, _gt: the arrays below
    key: tuple[str, ...]  # columns that identify a row (tie-break of the kopiyka rounding)
    group_labels: tuple[str, ...]
    n_tiers: int
    envelope_kop: np.ndarray  # int64 per envelope group
    gid: np.ndarray  # per row: envelope group index (small unsigned int)
    tier: np.ndarray  # per row: tier index, 0 = highest priority (small unsigned int)
    gt: np.ndarray  # int64 per row: gid × n_tiers + tier, the cell of the (group, tier) table
    claim_kop: np.ndarray  # int64 per row: the claim in kopiyky
    capped_kop: np.ndarray  # int64 per row: the claim after caps
    floor_kop: np.ndarray  # int64 per row: floor(floor_share × capped claim), exact
    cells: dict[str, np.ndarray]  # rows, claim, capped, floor: (groups × tiers) int64 sums
    warnings: tuple[str, ...]

    @property
    def n_groups(self) -> int:
        return len(self.group_labels)

    def table(self, weights: np.ndarray | None) -> np.ndarray:
        """Σ weights per (group, tier) cell as an int64 (groups × tiers) table (exact: < 2**53)."""
        sums = np.bincount(self.gt, weights=weights, minlength=self.n_groups * self.n_tiers)
        return np.rint(sums).astype(np.int64).reshape(self.n_groups, self.n_tiers)


def prepare(
    claims: pl.DataFrame | pl.LazyFrame,
    policy: Policy,
    *,
    key: tuple[str, ...] | list[str] | None = None,
    claims_path: str | None = None,
) -> Prepared:
    """Check `claims` against `policy` and derive envelope group, tier and capped claim per row."""
    frame = claims.collect() if isinstance(claims, pl.LazyFrame) else claims
    column = policy.claim_column
    if column not in frame.columns:
        raise InputFileError(
            f"claims have no column '{column}' (the policy's claim_column); columns: "
            f"{', '.join(frame.columns)}",
            path=claims_path,
            column=column,
        )
    if not frame.schema[column].is_numeric():
        raise InputFileError(
            f"claim column is {frame.schema[column]}, not a number", path=claims_path, column=column
        )
    warnings: list[str] = []
    frame = _within_period(frame, policy, warnings)
    _check_claim_values(frame, column, claims_path)

    key_cols = _key_columns(frame, policy, key, claims_path)
    exprs = [t.expr() for t in policy.tiers]
    _check_predicates(frame, policy, exprs)
    group_labels, envelope_kop, gid = _envelope_groups(frame, policy)
    n_tiers = len(policy.tiers)
    if n_tiers >= _NO_TIER:
        raise ConfigError(f"a policy may have at most {_NO_TIER - 1} tiers", path=policy.source)

    kop = (
        (pl.col(column).cast(pl.Float64) * 100).round(0, mode="half_away_from_zero").cast(pl.Int64)
    )
    caps = _caps(frame, policy)
    capped = pl.min_horizontal("_claim_kop", *caps) if caps else pl.col("_claim_kop")
    numerator = round(policy.floor_share * _SHARE_DENOMINATOR)

    tier = pl.lit(_NO_TIER, pl.UInt8)
    for i, expr in reversed(list(enumerate(exprs))):
        tier = pl.when(expr).then(pl.lit(i, pl.UInt8)).otherwise(tier)
    first = [kop.alias("_claim_kop"), gid.alias("_gid"), tier.alias("_tier")]
    exclusive = policy.tier_resolution == EXCLUSIVE
    predicates = [e for e, t in zip(exprs, policy.tiers, strict=True) if not t.otherwise]
    if exclusive and len(predicates) > 1:
        first.append(pl.sum_horizontal(*[e.cast(pl.UInt8) for e in predicates]).alias("_matches"))
    # eager steps: each runs its expressions in parallel and yields one chunk per column, so the
    # numpy views below are free (a streaming collect would hand back many chunks to copy)
    work = (
        frame.with_columns(first)
        .with_columns(
            capped.alias("_capped_kop"),
            (pl.col("_gid").cast(pl.Int64) * n_tiers + pl.col("_tier").cast(pl.Int64)).alias("_gt"),
        )
        .with_columns(
            # exact integer floor of share × claim
            (pl.col("_capped_kop") * numerator // _SHARE_DENOMINATOR).alias("_floor_kop")
        )
        .select(pl.col("^_(claim_kop|capped_kop|floor_kop|gid|tier|gt|matches)$"))
    )

    if exclusive and "_matches" in work.columns:
        _fail_on_overlap(frame, work, policy, exprs, key_cols)
    _fail_on_unmatched(frame, work, policy, key_cols)

    tier_arr = work["_tier"].to_numpy()
    counts = np.bincount(tier_arr, minlength=n_tiers)
    for t, n in zip(policy.tiers, counts, strict=True):
        if n == 0 and frame.height > 0:
            warnings.append(f"tier '{t.name}' matches no claim row")
    capped_kop = work["_capped_kop"].to_numpy()
    if capped_kop.size and int(capped_kop.max()) > _MAX_ROW_KOP:
        raise InputFileError(
            "a claim row exceeds 90 billion UAH; check the claim column", column=column
        )
    if int(work["_claim_kop"].sum()) >= _EXACT_LIMIT:
        raise InputFileError(
            "claims sum beyond 90 trillion UAH; check the claim column", column=column
        )
    return Prepared(
        cells=_cells(work, len(group_labels), n_tiers),
        frame=frame,
        work=work,
        key=key_cols,
        group_labels=group_labels,
        n_tiers=n_tiers,
        envelope_kop=envelope_kop,
        gid=work["_gid"].to_numpy(),
        tier=tier_arr,
        gt=work["_gt"].to_numpy(),
        claim_kop=work["_claim_kop"].to_numpy(),
        capped_kop=capped_kop,
        floor_kop=work["_floor_kop"].to_numpy(),
        warnings=tuple(warnings),
    )


def _caps(frame: pl.DataFrame, policy: Policy) -> list[pl.Expr]:
    """Each row's caps in kopiyky (a per-row cap, a cap by service); nulls where none applies."""
    caps: list[pl.Expr] = []
    if policy.cap_per_row_uah is not None:
        caps.append(pl.lit(_to_kop(policy.cap_per_row_uah), pl.Int64))
    if policy.cap_by_service_uah:
        if "service_code" not in frame.columns:
            raise ConfigError(
                "the policy caps claims by service but the claims have no 'service_code' column",
                path=policy.source,
                line=policy.line_of("caps", "by_service_uah"),
            )
        caps.append(
            pl.col("service_code")
            .cast(pl.String)
            .replace_strict(
                {k: _to_kop(v) for k, v in policy.cap_by_service_uah.items()},
                default=None,
                return_dtype=pl.Int64,
            )
        )
    return caps


def _cells(work: pl.DataFrame, n_groups: int, n_tiers: int) -> dict[str, np.ndarray]:
    """Rows and kopiyka sums per (group, tier) cell: bincounts over the cell index, exact in
    float64 below 2**53 kopiyky (checked by the caller)."""
    gt = work["_gt"].to_numpy()
    size = n_groups * n_tiers
    out = {"rows": np.bincount(gt, minlength=size).astype(np.int64).reshape(n_groups, n_tiers)}
    for name in ("claim", "capped", "floor"):
        sums = np.bincount(gt, weights=work[f"_{name}_kop"].to_numpy(), minlength=size)
        out[name] = np.rint(sums).astype(np.int64).reshape(n_groups, n_tiers)
    return out


def _to_kop(uah: float) -> int:
    return round(uah * 100)


def _within_period(frame: pl.DataFrame, policy: Policy, warnings: list[str]) -> pl.DataFrame:
    """Keep claim rows whose `month` lies in the policy's period (when both are known)."""
    if "month" not in frame.columns or (policy.period_from is None and policy.period_to is None):
        return frame
    if frame.schema["month"] not in (pl.Date, pl.Datetime):
        return frame
    month = pl.col("month").cast(pl.Date)
    inside = pl.lit(True)
    if policy.period_from is not None:
        inside = inside & (month >= policy.period_from)
    if policy.period_to is not None:
        inside = inside & (month <= policy.period_to)
    kept = frame.filter(inside.fill_null(False))
    dropped = frame.height - kept.height
    if dropped:
        warnings.append(
            f"{dropped} claim rows lie outside the policy period "
            f"{policy.period_from or '…'} – {policy.period_to or '…'} and were left out"
        )
    return kept


def _check_claim_values(frame: pl.DataFrame, column: str, path: str | None) -> None:
    c = pl.col(column).cast(pl.Float64)
    stats = frame.select(
        nulls=c.null_count(),
        bad=(c.is_nan() | c.is_infinite()).sum(),
        negative=(c < 0).sum(),
    ).row(0, named=True)
    if stats["nulls"]:
        raise InputFileError(
            f"{stats['nulls']} claim rows have no amount", path=path, column=column
        )
    if stats["bad"]:
        raise InputFileError(
            f"{stats['bad']} claim rows are NaN or infinite", path=path, column=column
        )
    if stats["negative"]:
        raise InputFileError(
            f"{stats['negative']} claim rows are negative", path=path, column=column
        )


def _key_columns(
    frame: pl.DataFrame, policy: Policy, key: tuple[str, ...] | list[str] | None, path: str | None
) -> tuple[str, ...]:
    if key is None:
        # a row is identified by everything but its money
        return tuple(c for c in frame.columns if c != policy.claim_column)
    missing = [c for c in key if c not in frame.columns]
    if missing:
        raise InputFileError(f"key column(s) {', '.join(missing)} not in the claims", path=path)
    return tuple(key)


def _check_predicates(frame: pl.DataFrame, policy: Policy, exprs: list[pl.Expr]) -> None:
    columns = set(frame.columns)
    for tier, expr in zip(policy.tiers, exprs, strict=True):
        if tier.otherwise:
            continue
        for name in expr.meta.root_names():
            if name not in columns:
                raise ConfigError(
                    f"tier '{tier.name}' predicate names column '{name}', which the claims do not "
                    f"have (claims columns: {', '.join(frame.columns)})",
                    path=policy.source,
                    line=tier.line,
                    column=name,
                )
        try:
            dtype = frame.lazy().select(expr.alias("p")).collect_schema()["p"]
        except Exception as exc:  # polars: invalid operation on these dtypes
            raise ConfigError(
                f"tier '{tier.name}' predicate {tier.when!r} cannot apply to the claims: "
                f"{str(exc).splitlines()[0]}",
                path=policy.source,
                line=tier.line,
            ) from exc
        if dtype != pl.Boolean:
            raise ConfigError(
                f"tier '{tier.name}' predicate {tier.when!r} gives {dtype}, not true/false",
                path=policy.source,
                line=tier.line,
            )


def _envelope_groups(
    frame: pl.DataFrame, policy: Policy
) -> tuple[tuple[str, ...], np.ndarray, pl.Expr]:
    if not policy.per_oblast_uah:
        labels = (NATIONAL,)
        return labels, np.array([_to_kop(policy.envelope_uah)], dtype=np.int64), pl.lit(0, pl.UInt8)
    if "oblast_code" not in frame.columns:
        raise ConfigError(
            "the policy has per-oblast envelopes but the claims have no 'oblast_code' column",
            path=policy.source,
            line=policy.line_of("envelope", "per_oblast_uah"),
        )
    codes = sorted(policy.per_oblast_uah)
    amounts = [_to_kop(policy.per_oblast_uah[c]) for c in codes]
    rest = 0 if policy.national_uah is None else _to_kop(policy.national_uah) - sum(amounts)
    labels = (*codes, OTHER_OBLASTS)
    oblast = pl.col("oblast_code")
    dtype = frame.schema["oblast_code"]
    if not isinstance(dtype, pl.String | pl.Categorical | pl.Enum):
        oblast = oblast.cast(pl.String)
    # an Enum cast is the fastest string lookup; codes outside it become null: "other oblasts"
    gid = (
        oblast.cast(pl.Enum(codes), strict=False)
        .to_physical()
        .cast(pl.UInt32)
        .fill_null(len(codes))
    )
    return labels, np.array([*amounts, max(rest, 0)], dtype=np.int64), gid


def _example(frame: pl.DataFrame, mask: pl.Series, key_cols: tuple[str, ...]) -> str:
    row = frame.filter(mask).head(1)
    cols = [c for c in key_cols if c in row.columns][:6] or row.columns[:6]
    return ", ".join(f"{c}={row[c][0]!r}" for c in cols)


def _fail_on_overlap(
    frame: pl.DataFrame,
    work: pl.DataFrame,
    policy: Policy,
    exprs: list[pl.Expr],
    key_cols: tuple[str, ...],
) -> None:
    overlap = work["_matches"] > 1
    n = int(overlap.sum())
    if not n:
        return
    example = frame.filter(overlap).head(1)
    hits = [
        t.name
        for t, e in zip(policy.tiers, exprs, strict=True)
        if not t.otherwise and example.select(e).item()
    ]
    raise ConfigError(
        f"tiers overlap: {n} claim rows match more than one tier, e.g. tiers "
        f"{' and '.join(repr(h) for h in hits)} on the row ({_example(frame, overlap, key_cols)}); "
        "make the predicates exclusive or set 'tier_resolution: first_match'",
        path=policy.source,
        line=policy.line_of("tiers"),
    )


def _fail_on_unmatched(
    frame: pl.DataFrame, work: pl.DataFrame, policy: Policy, key_cols: tuple[str, ...]
) -> None:
    unmatched = work["_tier"] == _NO_TIER
    n = int(unmatched.sum())
    if not n:
        return
    raise ConfigError(
        f"{n} claim rows match no tier, e.g. ({_example(frame, unmatched, key_cols)}); "
        "add a last tier with 'otherwise: true'",
        path=policy.source,
        line=policy.line_of("tiers"),
    )
