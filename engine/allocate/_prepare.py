"""Apply a policy to claims: check the claims, give each row its envelope group, tier and capped claim.

Everything here is shared by the default policy and the optimiser. Money is held in integer kopiyky
from here on, so sums are exact and independent of row order.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
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
    work: (
        pl.DataFrame
    )  # _claim_kop, _capped_kop, _floor_kop, _gid, _tier: views of the arrays below
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

    tier = pl.lit(_NO_TIER, pl.UInt8)
    for i, expr in reversed(list(enumerate(exprs))):
        tier = pl.when(expr).then(pl.lit(i, pl.UInt8)).otherwise(tier)
    # what needs strings runs in polars (its expressions in parallel, one chunk per column, so the
    # numpy views below are free); the arithmetic runs in numpy, in place where it can
    labels = [gid.alias("_gid"), tier.alias("_tier")]
    exclusive = policy.tier_resolution == EXCLUSIVE
    predicates = [e for e, t in zip(exprs, policy.tiers, strict=True) if not t.otherwise]
    if exclusive and len(predicates) > 1:
        labels.append(pl.sum_horizontal(*[e.cast(pl.UInt8) for e in predicates]).alias("_matches"))
    service_cap = _service_cap(frame, policy)
    if service_cap is not None:
        labels.append(service_cap.alias("_service_cap"))
    names = [e.meta.output_name() for e in labels]
    # polars labels the rows from their strings (releasing the GIL) while numpy turns the
    # claims into kopiyky on the other core; with_columns broadcasts literal labels to every row
    with ThreadPoolExecutor(max_workers=1) as executor:
        labelled = executor.submit(lambda: frame.with_columns(labels).select(names))
        claim_kop = _claim_kopiyky(frame, column)
        codes = labelled.result()
    if exclusive and "_matches" in codes.columns:
        _fail_on_overlap(frame, codes, policy, exprs, key_cols)
    _fail_on_unmatched(frame, codes, policy, key_cols)

    gid_arr = codes["_gid"].to_numpy()
    tier_arr = codes["_tier"].to_numpy()
    capped_kop = _capped(claim_kop, codes, policy)
    floor_kop = _floors(capped_kop, policy.floor_share)
    gt = gid_arr.astype(np.int64)
    gt *= n_tiers
    gt += tier_arr

    counts = np.bincount(tier_arr, minlength=n_tiers)
    for t, n in zip(policy.tiers, counts, strict=True):
        if n == 0 and frame.height > 0:
            warnings.append(f"tier '{t.name}' matches no claim row")
    work = pl.DataFrame(
        [
            pl.Series("_claim_kop", claim_kop),
            pl.Series("_capped_kop", capped_kop),
            pl.Series("_floor_kop", floor_kop),
            codes["_gid"],
            codes["_tier"],
        ]
    )
    return Prepared(
        cells=_cells(
            gt,
            claim=claim_kop,
            capped=capped_kop,
            floor=floor_kop,
            n_groups=len(group_labels),
            n_tiers=n_tiers,
        ),
        frame=frame,
        work=work,
        key=key_cols,
        group_labels=group_labels,
        n_tiers=n_tiers,
        envelope_kop=envelope_kop,
        gid=gid_arr,
        tier=tier_arr,
        gt=gt,
        claim_kop=claim_kop,
        capped_kop=capped_kop,
        floor_kop=floor_kop,
        warnings=tuple(warnings),
    )


def _claim_kopiyky(frame: pl.DataFrame, column: str) -> np.ndarray:
    """Every row's claim in integer kopiyky, within the range where sums stay exact."""
    claim_kop = _to_kopiyky(frame[column].cast(pl.Float64).to_numpy())
    if claim_kop.size and int(claim_kop.max()) > _MAX_ROW_KOP:
        raise InputFileError(
            "a claim row exceeds 90 billion UAH; check the claim column", column=column
        )
    if int(claim_kop.sum()) >= _EXACT_LIMIT:
        raise InputFileError(
            "claims sum beyond 90 trillion UAH; check the claim column", column=column
        )
    return claim_kop


def _capped(claim_kop: np.ndarray, codes: pl.DataFrame, policy: Policy) -> np.ndarray:
    """Claims after the policy's caps: per row, and by service."""
    capped_kop = claim_kop
    if policy.cap_per_row_uah is not None:
        capped_kop = np.minimum(claim_kop, _to_kop(policy.cap_per_row_uah))
    if "_service_cap" in codes.columns:
        capped_kop = np.minimum(capped_kop, codes["_service_cap"].to_numpy())
    return capped_kop


def _to_kopiyky(uah: np.ndarray) -> np.ndarray:
    """UAH → integer kopiyky, half away from zero (claims are never negative), in one array."""
    scratch = np.multiply(uah, 100.0)
    scratch += 0.5
    kop = scratch.view(np.int64)  # cast in place: element for element, no second array
    np.floor(scratch, out=kop, casting="unsafe")
    return kop


def _floors(capped: np.ndarray, floor_share: float) -> np.ndarray:
    """floor(floor_share × claim) per row, in exact integer arithmetic (shares to a millionth)."""
    numerator = round(floor_share * _SHARE_DENOMINATOR)
    if numerator == 0:
        return np.zeros_like(capped)
    if numerator == _SHARE_DENOMINATOR:
        return capped
    floors = capped * numerator
    floors //= _SHARE_DENOMINATOR
    return floors


def _service_cap(frame: pl.DataFrame, policy: Policy) -> pl.Expr | None:
    """Each row's cap by service in kopiyky (no cap: the largest int64)."""
    if not policy.cap_by_service_uah:
        return None
    if "service_code" not in frame.columns:
        raise ConfigError(
            "the policy caps claims by service but the claims have no 'service_code' column",
            path=policy.source,
            line=policy.line_of("caps", "by_service_uah"),
        )
    return (
        pl.col("service_code")
        .cast(pl.String)
        .replace_strict(
            {k: _to_kop(v) for k, v in policy.cap_by_service_uah.items()},
            default=np.iinfo(np.int64).max,
            return_dtype=pl.Int64,
        )
    )


def _cells(
    gt: np.ndarray,
    *,
    claim: np.ndarray,
    capped: np.ndarray,
    floor: np.ndarray,
    n_groups: int,
    n_tiers: int,
) -> dict[str, np.ndarray]:
    """Rows and exact integer kopiyka sums per (group, tier) cell."""
    size = n_groups * n_tiers
    out = {"rows": np.bincount(gt, minlength=size).astype(np.int64)}
    for name, values in (("claim", claim), ("capped", capped), ("floor", floor)):
        sums = np.zeros(size, dtype=np.int64)
        np.add.at(sums, gt, values)
        out[name] = sums
    return {name: table.reshape(n_groups, n_tiers) for name, table in out.items()}


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
