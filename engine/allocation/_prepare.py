"""Apply a policy to claims: check the claims, give each row its envelope group, tier and capped claim.

Everything here is shared by the default policy and the optimiser. Money is held in integer kopiyky
from here on, so sums are exact and independent of row order.

What needs strings (envelope group, tier predicates, caps by service) runs once in polars, which
labels every row with small integer codes (on another core, while numpy turns the claims into
kopiyky). The arithmetic runs in numpy on those codes, in place or in blocks of rows, so that 10 M
rows do not fault in dozens of fresh 80 MB arrays (see `engine.buffers`). Only the capped
claim is kept per row: the claim is the capped claim plus the few excesses caps cut off, and a
floor is recomputed from its capped claim wherever it is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from engine.allocation._checks import (
    check_claim_values,
    check_predicates,
    fail_on_overlap,
    fail_on_unmatched,
    key_columns,
    within_period,
)
from engine.allocation._policy import EXCLUSIVE, Policy
from engine.buffers import blocks, empty, small_uint
from engine.errors import ConfigError, InputFileError

__all__ = [
    "NATIONAL",
    "OTHER_OBLASTS",
    "SHARE_DENOMINATOR",
    "Prepared",
    "floors_of",
    "prepare",
]

NATIONAL = "national"
OTHER_OBLASTS = "other oblasts"
# Σ of kopiyky is taken with float64 bincounts, which are exact below 2**53 kopiyky (~90 trillion UAH)
_EXACT_LIMIT = 2**53
SHARE_DENOMINATOR = 1_000_000  # floor shares are exact to a millionth
_MAX_ROW_KOP = 9 * 10**12  # keeps claim × share numerator inside int64
_MAX_TIERS = 254
_NO_CAP = np.iinfo(np.int64).max
_GROUP, _TIER, _MATCHES, _SERVICE = "_envelope_group", "_tier", "_matches", "_service"
_CELL = "_cell"
_UINT = {np.uint8: pl.UInt8, np.uint16: pl.UInt16, np.uint32: pl.UInt32}


@dataclass(frozen=True)
class Prepared:
    """Claims ready for allocation: the frame, the row labels and one numpy array per amount."""

    frame: pl.DataFrame  # the claims rows kept (inside the policy period)
    key: tuple[str, ...]  # columns that identify a row (tie-break of the kopiyka rounding)
    group_labels: tuple[str, ...]
    n_tiers: int
    envelope_kop: np.ndarray  # int64 per envelope group
    group_column: pl.Series  # per row: envelope group (Enum of `group_labels`)
    tier_column: pl.Series  # per row: tier (Enum of the tier names)
    gid: np.ndarray  # per row: envelope group index (the codes of `group_column`)
    tier: np.ndarray  # per row: tier index, 0 = highest priority (uint8)
    gt: np.ndarray  # per row: gid × n_tiers + tier, the cell of the (group, tier) table (unsigned)
    capped_kop: np.ndarray  # int64 per row: the claim in kopiyky after caps
    cut_rows: np.ndarray  # rows a cap cut, ascending
    cut_claim_kop: np.ndarray  # their claims before the cut
    floor_numerator: int  # floor = floor(capped × floor_numerator / 1,000,000)
    cells: dict[str, np.ndarray]  # rows, claim, capped, floor: (groups × tiers) int64 sums
    warnings: tuple[str, ...]

    @property
    def n_groups(self) -> int:
        return len(self.group_labels)

    @property
    def size(self) -> int:
        return self.capped_kop.shape[0]

    @cached_property
    def claim_kop(self) -> np.ndarray:
        """int64 per row: the claim in kopiyky before caps."""
        claim = empty(self.size, np.int64)
        claim[...] = self.capped_kop
        claim[self.cut_rows] = self.cut_claim_kop
        return claim

    def floors(self, capped: np.ndarray) -> np.ndarray:
        """floor(floor_share × capped claim) of the given rows' capped claims, exact."""
        return floors_of(capped, self.floor_numerator)

    def cells_of(self, rows: slice) -> np.ndarray:
        """The (group, tier) cells of a block of rows as platform integers (for indexing)."""
        return self.gt[rows].astype(np.intp)

    def table(self, weights: np.ndarray | None) -> np.ndarray:
        """Σ weights per (group, tier) cell as an int64 (groups × tiers) table (exact: < 2**53)."""
        size = self.n_groups * self.n_tiers
        sums = np.bincount(self.gt.astype(np.intp), weights=weights, minlength=size)
        return np.rint(sums).astype(np.int64).reshape(self.n_groups, self.n_tiers)


def floors_of(capped: np.ndarray, numerator: int) -> np.ndarray:
    """floor(numerator / 1,000,000 × claim) per row, in exact integer arithmetic."""
    if numerator == 0:
        return np.zeros_like(capped)
    if numerator == SHARE_DENOMINATOR:
        return capped
    floors = capped * numerator
    floors //= SHARE_DENOMINATOR
    return floors


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
    frame = within_period(frame, policy, warnings)
    claim = _claim_values(frame, column, claims_path)

    key_cols = key_columns(frame, policy, key, claims_path)
    exprs = [t.expr() for t in policy.tiers]
    check_predicates(frame, policy, exprs)
    group_labels, envelope_kop, group = _envelope_groups(frame, policy)
    n_tiers = len(policy.tiers)
    if n_tiers > _MAX_TIERS:
        raise ConfigError(f"a policy may have at most {_MAX_TIERS} tiers", path=policy.source)
    services = sorted(policy.cap_by_service_uah)
    n_cells = len(group_labels) * n_tiers
    labelling = _labelling(frame, policy, exprs, group, services=services, n_cells=n_cells)
    # polars labels the rows from their strings (releasing the GIL) while numpy turns the claims
    # into kopiyky on the other core
    with ThreadPoolExecutor(max_workers=1) as executor:
        labelled = executor.submit(labelling)
        row_cap = None if services else policy.cap_per_row_uah
        capped, cut_rows, cut_claim = _kopiyky(claim, column, row_cap)
        codes = labelled.result()
    if _MATCHES in codes.columns:
        fail_on_overlap(frame, codes[_MATCHES] > 1, policy, exprs, key_cols)
    fail_on_unmatched(frame, codes[_TIER].is_null(), policy, key_cols)

    if services:
        cut_rows, cut_claim = _cap(capped, _service_limit(policy, services, codes))
    gt = codes[_CELL].to_numpy()
    numerator = round(policy.floor_share * SHARE_DENOMINATOR)
    cells = _cells(gt, capped, numerator, n_groups=len(group_labels), n_tiers=n_tiers)
    if cut_rows.size:
        excess = np.zeros(n_cells, dtype=np.int64)
        np.add.at(excess, gt[cut_rows], cut_claim - capped[cut_rows])
        cells["claim"] = cells["capped"] + excess.reshape(cells["capped"].shape)

    for t, n in zip(policy.tiers, cells["rows"].sum(axis=0), strict=True):
        if n == 0 and frame.height > 0:
            warnings.append(f"tier '{t.name}' matches no claim row")
    return Prepared(
        frame=frame,
        key=key_cols,
        group_labels=group_labels,
        n_tiers=n_tiers,
        envelope_kop=envelope_kop,
        group_column=codes[_GROUP],
        tier_column=codes[_TIER],
        gid=codes[_GROUP].to_physical().to_numpy(),
        tier=codes[_TIER].to_physical().to_numpy(),
        gt=gt,
        capped_kop=capped,
        cut_rows=cut_rows,
        cut_claim_kop=cut_claim,
        floor_numerator=numerator,
        cells=cells,
        warnings=tuple(warnings),
    )


def _labelling(
    frame: pl.DataFrame,
    policy: Policy,
    exprs: list[pl.Expr],
    group: pl.Expr,
    *,
    services: list[str],
    n_cells: int,
) -> Callable[[], pl.DataFrame]:
    """What labels every row: envelope group and tier (Enums), their (group, tier) cell, and
    where needed the number of tiers matched and the capped service."""
    names = [t.name for t in policy.tiers]
    tier_enum = pl.Enum(names)
    tier = pl.lit(None, tier_enum)  # no predicate matched: null
    for name, expr in reversed(list(zip(names, exprs, strict=True))):
        tier = pl.when(expr).then(pl.lit(name, tier_enum)).otherwise(tier)
    labels = [group.alias(_GROUP), tier.alias(_TIER)]
    predicates = [e for e, t in zip(exprs, policy.tiers, strict=True) if not t.otherwise]
    if policy.tier_resolution == EXCLUSIVE and len(predicates) > 1:
        labels.append(pl.sum_horizontal(*[e.cast(pl.UInt8) for e in predicates]).alias(_MATCHES))
    if services:
        labels.append(_service_index(frame, policy, services).alias(_SERVICE))
    cell_type = _UINT[small_uint(n_cells)]
    n_tiers = len(names)
    cell = pl.col(_GROUP).to_physical().cast(cell_type) * n_tiers + pl.col(_TIER).to_physical()
    # with_columns broadcasts literal labels (one envelope group, one tier) to every row; eager
    # evaluation keeps each column in one chunk, so numpy views them without a copy
    return lambda: (
        frame.with_columns(labels)
        .with_columns(cell.cast(cell_type).alias(_CELL))
        .select(*(e.meta.output_name() for e in labels), _CELL)
    )


def _claim_values(frame: pl.DataFrame, column: str, path: str | None) -> np.ndarray:
    """The claims as float64 UAH, checked: no nulls, NaNs, infinities or negative amounts."""
    if frame[column].null_count():
        check_claim_values(frame, column, path)  # raises
    claim = frame[column].cast(pl.Float64).to_numpy()
    # min and max are one cheap pass each: only a bad column pays for counting what is wrong
    if claim.size and not (claim.min() >= 0 and np.isfinite(claim.max())):
        check_claim_values(frame, column, path)
    return claim


def _kopiyky(
    claim: np.ndarray, column: str, cap_uah: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every row's claim in integer kopiyky (half away from zero: claims are never negative),
    within the range where sums stay exact, cut to `cap_uah` if given: the capped claims, the
    rows cut and their claims before the cut. One pass in blocks of rows, in place."""
    kop = empty(claim.shape[0], np.int64)
    scratch = kop.view(np.float64)  # converted in place: element for element, no second array
    cap = None if cap_uah is None else _to_kop(cap_uah)
    top = total = 0
    cut_rows, cut_claim = [np.zeros(0, dtype=np.intp)], [np.zeros(0, dtype=np.int64)]
    for block in blocks(claim.shape[0]):
        uah, k = scratch[block], kop[block]
        np.multiply(claim[block], 100.0, out=uah)
        uah += 0.5
        np.floor(uah, out=k, casting="unsafe")
        top, total = max(top, int(k.max())), total + int(k.sum())
        if cap is not None:
            cut = np.flatnonzero(k > cap)
            cut_rows.append(block.start + cut)
            cut_claim.append(k[cut])
            np.minimum(k, cap, out=k)
    if top > _MAX_ROW_KOP:
        raise InputFileError(
            "a claim row exceeds 90 billion UAH; check the claim column", column=column
        )
    if total >= _EXACT_LIMIT:
        raise InputFileError(
            "claims sum beyond 90 trillion UAH; check the claim column", column=column
        )
    return kop, np.concatenate(cut_rows), np.concatenate(cut_claim)


def _service_limit(policy: Policy, services: list[str], codes: pl.DataFrame) -> np.ndarray:
    """Each row's cap in kopiyky: the per-row cap, lowered by its service's cap."""
    table = np.array(
        [*(_to_kop(policy.cap_by_service_uah[s]) for s in services), _NO_CAP], dtype=np.int64
    )
    if policy.cap_per_row_uah is not None:
        np.minimum(table, _to_kop(policy.cap_per_row_uah), out=table)
    service = codes[_SERVICE].to_numpy()
    return np.take(table, service, out=empty(service.shape[0], np.int64))


def _cap(capped: np.ndarray, limit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut claims to their cap in place; the rows cut and their claims before the cut."""
    rows = np.flatnonzero(capped > limit)
    before = capped[rows]
    np.minimum(capped, limit, out=capped)
    return rows, before


def _cells(
    gt: np.ndarray, capped: np.ndarray, numerator: int, *, n_groups: int, n_tiers: int
) -> dict[str, np.ndarray]:
    """Rows and exact kopiyka sums per (group, tier) cell.

    The claim sums are the capped sums here; the caller adds back what caps cut.
    """
    size = n_groups * n_tiers
    rows = np.zeros(size, dtype=np.int64)
    capped_sums = np.zeros(size, dtype=np.int64)
    floor_sums = np.zeros(size, dtype=np.int64)
    partial = 0 < numerator < SHARE_DENOMINATOR
    for block in blocks(gt.shape[0]):
        cell = gt[block].astype(np.intp)
        rows += np.bincount(cell, minlength=size)
        k = capped[block]
        np.add.at(capped_sums, cell, k)
        if partial:
            np.add.at(floor_sums, cell, floors_of(k, numerator))
    if numerator == SHARE_DENOMINATOR:
        floor_sums = capped_sums.copy()
    cells = {"rows": rows, "claim": capped_sums.copy(), "capped": capped_sums, "floor": floor_sums}
    return {name: table.reshape(n_groups, n_tiers) for name, table in cells.items()}


def _service_index(frame: pl.DataFrame, policy: Policy, services: list[str]) -> pl.Expr:
    """Each row's position in the sorted capped services (any other service: one past the end)."""
    if "service_code" not in frame.columns:
        raise ConfigError(
            "the policy caps claims by service but the claims have no 'service_code' column",
            path=policy.source,
            line=policy.line_of("caps", "by_service_uah"),
        )
    service = pl.col("service_code")
    if not isinstance(frame.schema["service_code"], pl.String | pl.Categorical | pl.Enum):
        service = service.cast(pl.String)
    return (
        service.cast(pl.Enum(services), strict=False)
        .to_physical()
        .cast(pl.UInt32)
        .fill_null(len(services))
    )


def _to_kop(uah: float) -> int:
    return round(uah * 100)


def _envelope_groups(
    frame: pl.DataFrame, policy: Policy
) -> tuple[tuple[str, ...], np.ndarray, pl.Expr]:
    """Group labels, envelopes in kopiyky, and each row's group as an Enum of the labels."""
    if not policy.per_oblast_uah:
        labels: tuple[str, ...] = (NATIONAL,)
        amount = np.array([_to_kop(policy.envelope_uah)], dtype=np.int64)
        return labels, amount, pl.lit(NATIONAL, pl.Enum(labels))
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
    if not isinstance(frame.schema["oblast_code"], pl.String | pl.Categorical | pl.Enum):
        oblast = oblast.cast(pl.String)
    # an Enum cast is the fastest string lookup; codes outside it become null: "other oblasts"
    enum = pl.Enum(labels)
    group = oblast.cast(enum, strict=False).fill_null(pl.lit(OTHER_OBLASTS, enum))
    return labels, np.array([*amounts, max(rest, 0)], dtype=np.int64), group
