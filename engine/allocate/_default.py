"""The default policy of DESIGN.md §6, vectorised over all rows at once.

Per envelope group (national, or one per oblast), in integer kopiyky:

1. caps have already cut each claim (`Prepared.capped_kop`);
2. floors: every row is owed ``floor(floor_share × claim)``; if the envelope cannot pay all floors,
   every row receives ``envelope × claim / Σ claims`` and the group is done;
3. tiers: what is left of the envelope pays the remaining claims tier by tier; the first tier that
   does not fit is paid pro-rata with one common factor; lower tiers get their floor only.

The tier sums are a (groups × tiers) table built with one bincount; its cumulative sums along the
tiers say which tier is marginal in each group and at which factor. Every row's amount is then one
expression ``α[g, t] × claim + β[g, t] × floor``, rounded to kopiyky by largest remainder within the
marginal tier so that each group's total is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.allocate._prepare import Prepared
from engine.allocate._rounding import round_to_kopiyky
from engine.errors import InputFileError

__all__ = [
    "FLOOR_ONLY",
    "FULL",
    "MARGINAL",
    "NO_CLAIMS",
    "PRO_RATA",
    "STATUS_LABELS",
    "DefaultResult",
    "floor_kop",
    "run_default",
]

FULL, MARGINAL, FLOOR_ONLY, PRO_RATA, NO_CLAIMS = range(5)
STATUS_LABELS = ("paid in full", "marginal (pro rata)", "floor only", "floors unaffordable (pro rata)", "no claims")
_SHARE_DENOMINATOR = 1_000_000  # floor shares are exact to a millionth
_MAX_ROW_KOP = 9 * 10**12  # keeps claim × share numerator inside int64


@dataclass(frozen=True)
class DefaultResult:
    allocated_kop: np.ndarray  # int64 per row
    floor_kop: np.ndarray  # int64 per row: the floor each row is owed
    status: np.ndarray  # (groups, tiers) status code
    factor: np.ndarray  # (groups, tiers): share of the claim beyond the floor that is paid
    floors_paid: np.ndarray  # (groups,) bool


def floor_kop(capped_kop: np.ndarray, floor_share: float) -> np.ndarray:
    """Each row's floor, ``floor(floor_share × claim)`` in exact integer arithmetic."""
    if capped_kop.size and int(capped_kop.max()) > _MAX_ROW_KOP:
        raise InputFileError("a claim row exceeds 90 billion UAH; check the claim column")
    numerator = round(floor_share * _SHARE_DENOMINATOR)
    if numerator == 0:
        return np.zeros_like(capped_kop)
    if numerator == _SHARE_DENOMINATOR:
        return capped_kop.copy()
    return capped_kop * numerator // _SHARE_DENOMINATOR


def run_default(prep: Prepared, floor_share: float, n_tiers: int) -> DefaultResult:
    """Allocate every row by the default policy; see the module docstring."""
    n_groups = prep.n_groups
    k = prep.capped_kop
    floors = floor_kop(k, floor_share)
    gt = prep.gid * n_tiers + prep.tier
    size = n_groups * n_tiers

    def table(weights: np.ndarray | None) -> np.ndarray:
        sums = np.bincount(gt, weights=weights, minlength=size)
        return np.rint(sums).astype(np.int64).reshape(n_groups, n_tiers)

    claims = table(k)
    floor_sums = table(floors)
    rows = table(None)
    envelope = prep.envelope_kop
    group_claims = claims.sum(axis=1)
    floors_paid = envelope >= floor_sums.sum(axis=1)

    budget = (envelope - floor_sums.sum(axis=1))[:, None]  # left after floors
    remaining = claims - floor_sums
    cumulative = np.cumsum(remaining, axis=1)
    before = cumulative - remaining
    full = cumulative <= budget
    marginal = ~full & (before <= budget)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(marginal, (budget - before) / np.where(remaining > 0, remaining, 1), 0.0)
    phi = np.where(full, 1.0, phi)
    # a = alpha × claim + beta × floor
    alpha = phi.copy()
    beta = 1.0 - phi
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(group_claims > 0, envelope / np.where(group_claims > 0, group_claims, 1), 0.0)
    alpha[~floors_paid] = share[~floors_paid, None]
    beta[~floors_paid] = 0.0

    status = np.where(full, FULL, np.where(marginal, MARGINAL, FLOOR_ONLY))
    status[~floors_paid] = PRO_RATA
    status[rows == 0] = NO_CLAIMS
    factor = np.where(floors_paid[:, None], phi, share[:, None])
    pool_gt = ((status == MARGINAL) | (status == PRO_RATA)).ravel()

    amount = alpha.ravel()[gt]
    amount *= k
    amount += beta.ravel()[gt] * floors
    target = np.minimum(envelope, group_claims)
    allocated = round_to_kopiyky(
        amount, k, prep.gid, pool_gt[gt], target, prep.frame.select(prep.key)
    )
    return DefaultResult(
        allocated_kop=allocated,
        floor_kop=floors,
        status=status,
        factor=factor,
        floors_paid=floors_paid,
    )
