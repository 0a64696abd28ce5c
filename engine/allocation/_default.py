"""The default policy of DESIGN.md §6, vectorised over all rows at once.

Per envelope group (national, or one per oblast), in integer kopiyky:

1. caps have already cut each claim (`Prepared.capped_kop`);
2. floors: every row is owed ``floor(floor_share × claim)``; if the envelope cannot pay all floors,
   every row receives ``envelope × claim / Σ claims`` and the group is done;
3. tiers: what is left of the envelope pays the remaining claims tier by tier; the first tier that
   does not fit is paid pro-rata with one common factor; lower tiers get their floor only.

The tier sums are a (groups × tiers) table (`Prepared.cells`); its cumulative sums along the tiers
say which tier is marginal in each group and at which factor. Every row's amount is then one
expression ``α[g, t] × claim + β[g, t] × floor``, rounded to kopiyky by largest remainder within the
marginal tier so that each group's total is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.allocation._prepare import SHARE_DENOMINATOR, Prepared
from engine.allocation._rounding import BLOCK, Pool, round_pool
from engine.buffers import blocks, empty

__all__ = [
    "FLOOR_ONLY",
    "FULL",
    "MARGINAL",
    "NO_CLAIMS",
    "PRO_RATA",
    "STATUS_LABELS",
    "Tables",
    "run_default",
]

FULL, MARGINAL, FLOOR_ONLY, PRO_RATA, NO_CLAIMS = range(5)
STATUS_LABELS = (
    "paid in full",
    "marginal (pro rata)",
    "floor only",
    "floors unaffordable (pro rata)",
    "no claims",
)


@dataclass(frozen=True)
class Tables:
    """Kopiyka sums per (envelope group, tier): each a (groups × tiers) int64 table."""

    rows: np.ndarray
    claim: np.ndarray
    capped: np.ndarray
    floor: np.ndarray
    allocated: np.ndarray


@dataclass(frozen=True)
class DefaultResult:
    allocated_kop: np.ndarray  # int64 per row
    tables: Tables
    status: np.ndarray  # (groups, tiers) status code
    factor: np.ndarray  # (groups, tiers): share of the claim beyond the floor that is paid
    floors_paid: np.ndarray  # (groups,) bool


def run_default(prep: Prepared) -> DefaultResult:
    """Allocate every row by the default policy; see the module docstring."""
    n_groups, n_tiers = prep.n_groups, prep.n_tiers
    k = prep.capped_kop
    rows, claims, floor_sums = prep.cells["rows"], prep.cells["capped"], prep.cells["floor"]
    envelope = prep.envelope_kop
    group_claims = claims.sum(axis=1)
    floors_paid = envelope >= floor_sums.sum(axis=1)

    budget = (envelope - floor_sums.sum(axis=1))[:, None]  # left after floors
    remaining = claims - floor_sums
    cumulative = np.cumsum(remaining, axis=1)
    before = cumulative - remaining
    full = cumulative <= budget
    marginal: np.ndarray = ~full & (before <= budget)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(marginal, (budget - before) / np.where(remaining > 0, remaining, 1), 0.0)
        share = np.where(
            group_claims > 0, envelope / np.where(group_claims > 0, group_claims, 1), 0
        )
    phi = np.where(full, 1.0, phi)
    # a row's amount is alpha × claim + beta × floor
    alpha = np.where(floors_paid[:, None], phi, share[:, None])
    beta = np.where(floors_paid[:, None], 1.0 - phi, 0.0)
    status = np.where(full, FULL, np.where(marginal, MARGINAL, FLOOR_ONLY))
    status[~floors_paid] = PRO_RATA
    status[rows == 0] = NO_CLAIMS
    in_pool = (status == MARGINAL) | (status == PRO_RATA)

    # rows outside the pool get whole kopiyky: their claim (paid tiers) or their floor
    settled = np.where(full, claims, floor_sums)  # per cell, outside the pool
    target = np.minimum(envelope, group_claims) - np.where(~in_pool, settled, 0).sum(axis=1)
    allocated, pool = _settle(prep, full, in_pool, alpha=alpha, beta=beta)
    alpha_of, beta_of = alpha.ravel(), beta.ravel()

    def amounts(at: slice | np.ndarray) -> np.ndarray:
        """Pool rows' float kopiyky again, computed exactly as when the pool was filled."""
        row = pool.index[at]
        cell, claim = prep.gt[row], k[row]
        amount = alpha_of[cell] * claim
        amount += beta_of[cell] * prep.floors(claim)
        return amount

    round_pool(
        pool,
        target,
        allocated,
        amounts=amounts,
        claims=lambda at: k[pool.index[at]],
        keys=prep.frame.select(prep.key),
    )
    pool_sums = _pool_sums(
        prep, pool, allocated, np.logical_and(marginal, floors_paid[:, None]), target
    )
    alloc_table = np.where(in_pool, pool_sums.reshape(n_groups, n_tiers), settled)
    tables = Tables(
        rows=rows, claim=prep.cells["claim"], capped=claims, floor=floor_sums,
        allocated=alloc_table,
    )  # fmt: skip
    return DefaultResult(
        allocated_kop=allocated,
        tables=tables,
        status=status,
        factor=np.where(floors_paid[:, None], phi, share[:, None]),
        floors_paid=floors_paid,
    )


def _settle(
    prep: Prepared, full: np.ndarray, in_pool: np.ndarray, *, alpha: np.ndarray, beta: np.ndarray
) -> tuple[np.ndarray, Pool]:
    """Every row's whole kopiyky (claim or floor, by its cell; floored amount in the pool), and
    the pool, ready to round.

    One pass in blocks of rows. A paid row's claim is its "floor" at a share of one, so every
    row is floor(share of its cell × claim) with one multiplication and one division (exact in
    int64: claims stay below 9 × 10**12 kopiyky); a pool row's amount is then
    alpha × claim + beta × floor of its cell.
    """
    k = prep.capped_kop
    full, in_pool, alpha, beta = full.ravel(), in_pool.ravel(), alpha.ravel(), beta.ravel()
    share = np.where(full, SHARE_DENOMINATOR, prep.floor_numerator).astype(np.int64)
    group_of_cell = np.repeat(np.arange(prep.n_groups), prep.n_tiers)
    pool = Pool(int(prep.cells["rows"].ravel()[in_pool].sum()), prep.n_groups, k.shape[0])
    allocated = empty(k.shape[0], np.int64)
    for block in blocks(k.shape[0]):
        cell = prep.cells_of(block)
        out, claim = allocated[block], k[block]
        np.multiply(claim, share[cell], out=out)
        out //= SHARE_DENOMINATOR
        rows = np.flatnonzero(in_pool[cell])
        if rows.size:
            at, pool_claim = cell[rows], claim[rows]
            amount = alpha[at] * pool_claim
            amount += beta[at] * out[rows]
            out[rows] = pool.add(rows + block.start, amount, pool_claim, group_of_cell[at])
    return allocated, pool


def _pool_sums(
    prep: Prepared, pool: Pool, allocated: np.ndarray, marginal: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """Σ allocated per (group, tier) cell over the rows that were rounded.

    A group that pays its floors rounds one cell, its marginal tier, which therefore received
    exactly the group's target; only the groups that cannot pay their floors (every tier rounded)
    are summed row by row.
    """
    n_tiers = prep.n_tiers
    sums = np.zeros(prep.n_groups * n_tiers, dtype=np.int64)
    paid = np.flatnonzero(marginal.any(axis=1))
    sums[paid * n_tiers + marginal[paid].argmax(axis=1)] = target[paid]
    by_rows = np.logical_not(marginal.any(axis=1))
    if pool.size and by_rows.any():
        for block in blocks(pool.size, BLOCK):
            at = pool.index[block][by_rows[pool.gid[block]]]
            np.add.at(sums, prep.gt[at], allocated[at])
    return sums
