"""Equity figures of an allocation across territories (hromadas, else oblasts)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

__all__ = ["Equity", "equity_figures", "weighted_gini"]


@dataclass(frozen=True)
class Equity:
    """How evenly an allocation covers territories.

    - `coverage_spread`: max − min of coverage (allocated ÷ capped claim) across territories with
      claims; `coverage_min`, `coverage_max`, `coverage_mean` (unweighted mean of territories);
    - `gini_per_capita`: population-weighted Gini coefficient of allocated UAH per resident across
      the territories with claims and a known population (null without population data);
    - `share_below_floor`: share of territories whose coverage is below the floor share by more than
      kopiyka rounding (one kopiyka per row) — non-zero only where an envelope could not pay floors
      or a solution went below them.
    """

    level: str | None  # "hromada_code", "oblast_code" or None (no territory column)
    territories: int
    coverage_min: float | None
    coverage_max: float | None
    coverage_spread: float | None
    coverage_mean: float | None
    gini_per_capita: float | None
    territories_with_population: int
    share_below_floor: float | None

    def to_frame(self) -> pl.DataFrame:
        return pl.DataFrame([asdict(self)])


def weighted_gini(values: np.ndarray, weights: np.ndarray) -> float | None:
    """Gini coefficient of `values` (e.g. UAH per resident) with `weights` (e.g. residents).

    ``G = 1 − Σ_i w_i (L_{i−1} + L_i)`` over units sorted by value, with `w` the weight shares and
    `L` the Lorenz curve (cumulative share of the total amount). Equal values give 0.

    >>> round(weighted_gini(np.array([0.0, 1.0]), np.array([1.0, 1.0])), 3)
    0.5
    """
    keep = weights > 0
    values, weights = values[keep], weights[keep]
    if values.size == 0:
        return None
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    amount = v * w
    total = amount.sum()
    if total <= 0:
        return 0.0
    lorenz = np.cumsum(amount) / total
    previous = np.concatenate([[0.0], lorenz[:-1]])
    share = w / w.sum()
    return float(1.0 - (share * (lorenz + previous)).sum())


def equity_figures(by_territory: pl.DataFrame, level: str | None, floor_share: float) -> Equity:
    """Compute `Equity` from a per-territory table (capped_claim_uah, allocated_uah, rows, population)."""
    if level is None or by_territory.height == 0:
        return Equity(level, 0, None, None, None, None, None, 0, None)
    with_claims = by_territory.filter(pl.col("capped_claim_uah") > 0)
    n = with_claims.height
    if n == 0:
        return Equity(level, 0, None, None, None, None, None, 0, None)
    cov = with_claims["coverage"].to_numpy()
    capped = with_claims["capped_claim_uah"].cast(pl.Float64).to_numpy()
    allocated = with_claims["allocated_uah"].cast(pl.Float64).to_numpy()
    rows = with_claims["rows"].to_numpy()
    below = allocated * 100 + rows < floor_share * capped * 100 - 1e-6
    gini = None
    n_pop = 0
    if "population" in with_claims.columns:
        pop = with_claims["population"].fill_null(0).cast(pl.Float64).to_numpy()
        n_pop = int((pop > 0).sum())
        if n_pop:
            gini = weighted_gini(np.where(pop > 0, allocated / np.where(pop > 0, pop, 1), 0), pop)
    return Equity(
        level=level,
        territories=n,
        coverage_min=float(cov.min()),
        coverage_max=float(cov.max()),
        coverage_spread=float(cov.max() - cov.min()),
        coverage_mean=float(cov.mean()),
        gini_per_capita=gini,
        territories_with_population=n_pop,
        share_below_floor=float(below.mean()),
    )
