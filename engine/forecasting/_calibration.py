"""Interval widths calibrated on the run's own rolling-origin backtest (split-conformal, per
hierarchy level and horizon).

The bands of `_intervals` are quantiles of coherent error paths built from one-step residuals; how
well they cover h steps ahead depends on what those residuals miss (a case ending that one
residual never showed, an aggregate's drift changing). A backtest measures it: at every origin,
node and horizon the actual value's *score* is its distance from the forecast in units of the
band's half-width on its side,

    s = (y − mean) / (hi − mean)   if y ≥ mean,    (mean − y) / (mean − lo)   otherwise,

so the band covers y exactly when s ≤ 1 (a zero-width band: s = 0 if y equals the mean, ∞ if
not). Lower bounds are taken before they are clipped at zero, so a band clipped there narrows
continuously with k; a node with no history at an origin (a series that had not started) is
left out, as it would not be in an extract of that date (an aggregate's actual still counts it). For each hierarchy level, interval level and horizon h, the factor k is the empirical
quantile at the nominal level of the scores of that level's nodes over the backtest's origins
and the horizons within `WINDOW` of h (pooled, since a level with few nodes has few scores per
horizon); the forecast's band is then `mean ± k·(its half-width)` on each side. This is split
conformal prediction with normalised scores (Lei et al. 2018; Stankeviciute et al. 2021 for
horizons): the factors are learned on origins before the forecast's, never on the periods they
are judged on. A node's scores at one origin move together over the horizon, so a level is
calibrated on at least `MIN_NODE_ORIGINS` node × origin errors: a level with fewer (the
national total, the service groups: 1 and 6 nodes × 2 origins) pools its scores with the next
levels of the hierarchy (coarsest first) until it has them — its bands are built the same way
(sums of the same bottom paths). On 20k-recipient synthetic registries (held out: origins 45
and 48 of 60 months) the top two levels covered 0.99 / 0.92 at 80 % left alone and 0.78 / 0.80
pooled on the five registries the rule was chosen on, 0.71 / 0.77 pooled on five others (the
early origins the factors learn from were calmer at the top than the later ones). k stays within `FACTOR_RANGE` (no band is
scaled beyond that on so few origins), and a horizon with too few scores to place its quantile
(fewer than 2 / (1 − level), e.g. 40 for 95 %) keeps k = 1. After scaling, lower bounds stay ≥ 0 (counts) and the bands nest
(lo_95 ≤ lo_80 ≤ mean ≤ hi_80 ≤ hi_95). Each node's bounds remain its own (scaled around its own
coherent mean), never sums of other nodes' quantiles; but because k differs between levels, the
bands are no longer the quantiles of one joint distribution of every node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.forecasting._intervals import bound_columns

__all__ = [
    "FACTOR_RANGE",
    "MIN_NODE_ORIGINS",
    "WINDOW",
    "BacktestErrors",
    "BandCalibration",
    "band_scores",
    "fit_band_calibration",
]

WINDOW = 2  # horizons either side of h pooled into h's factor
FACTOR_RANGE = (0.25, 2.0)
# a level is calibrated on at least this many node × origin errors (pooled with the next levels
# when it has fewer): a node's scores at one origin move together over the horizon, nearly one
# observation, not twelve
MIN_NODE_ORIGINS = 20


def band_scores(actual: np.ndarray, mean: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Each actual value's distance from the mean in half-widths of the band on its side.

    >>> band_scores(np.array([[12.0, 7.0, 5.0, 6.0]]), np.array([[10.0, 10.0, 5.0, 5.0]]),
    ...             np.array([[8.0, 4.0, 5.0, 5.0]]), np.array([[14.0, 14.0, 5.0, 5.0]])).tolist()
    [[0.5, 0.5, 0.0, inf]]
    """
    above = actual >= mean
    width = np.where(above, hi - mean, mean - lo)
    error = np.abs(actual - mean)
    with np.errstate(all="ignore"):
        scores = np.where(width > 0, error / width, np.inf)
    return np.where(error <= 1e-9, 0.0, scores)


@dataclass(frozen=True)
class BandCalibration:
    """Factors (hierarchy levels × horizon) per interval level, and where they came from."""

    levels: tuple[str, ...]  # hierarchy level names, the rows of every factor matrix
    factors: dict[float, np.ndarray]  # interval level (80, 95) -> (len(levels) × H)
    origins: int

    def apply(
        self,
        mean: np.ndarray,
        bounds: dict[str, np.ndarray],
        node_levels: Sequence[str] | np.ndarray,
        *,
        levels: Sequence[float],
        nonnegative: bool = True,
    ) -> dict[str, np.ndarray]:
        """Bounds (nodes × H) scaled around `mean` by each node's level's factors; nested and
        (with `nonnegative`) not below zero. A level or horizon the calibration lacks keeps k = 1."""
        row = {name: k for k, name in enumerate(self.levels)}
        index = np.array([row.get(str(v), -1) for v in node_levels])
        horizon = mean.shape[1]
        out: dict[str, np.ndarray] = {}
        for level, (lo_name, hi_name) in zip(
            levels, zip(bound_columns(levels)[::2], bound_columns(levels)[1::2], strict=True),
            strict=True,
        ):  # fmt: skip
            k = np.ones((index.size, horizon))
            table = self.factors.get(float(level))
            if table is not None:
                width = min(horizon, table.shape[1])
                known = index >= 0
                k[known, :width] = table[index[known], :width]
            lo = mean - k * (mean - bounds[lo_name])
            out[lo_name] = np.maximum(lo, 0.0) if nonnegative else lo
            out[hi_name] = mean + k * (bounds[hi_name] - mean)
        return _nested(out, mean, levels)


def _nested(
    bounds: dict[str, np.ndarray], mean: np.ndarray, levels: Sequence[float]
) -> dict[str, np.ndarray]:
    """Each wider level's band at least as wide as every narrower one's, all around the mean."""
    order = sorted(levels)
    out = dict(bounds)
    lo_inner, hi_inner = mean, mean
    for level in order:
        lo_name, hi_name = bound_columns([level])
        out[lo_name] = np.minimum(out[lo_name], lo_inner)
        out[hi_name] = np.maximum(out[hi_name], hi_inner)
        lo_inner, hi_inner = out[lo_name], out[hi_name]
    return out


def fit_band_calibration(
    runs: Sequence[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray]],
    node_levels: Sequence[str] | np.ndarray,
    hierarchy_levels: Sequence[str],
    *,
    levels: Sequence[float],
    window: int = WINDOW,
    factor_range: tuple[float, float] = FACTOR_RANGE,
) -> BandCalibration:
    """Factors from backtest runs, each `(actual, mean, bounds, known)` of every node (nodes × H;
    `known`: the nodes with history at that origin) at one origin: per hierarchy level and
    horizon, the nominal quantile of the known nodes' scores pooled over origins, the level's
    nodes and horizons h ± `window` (see the module docstring)."""
    node_levels = np.asarray(node_levels)
    horizon = runs[0][0].shape[1] if runs else 0
    factors: dict[float, np.ndarray] = {}
    for level in levels:
        lo_name, hi_name = bound_columns([level])
        scores = [band_scores(a, m, b[lo_name], b[hi_name]) for a, m, b, _ in runs]
        tau = float(level) / 100.0
        need = round(2.0 / (1.0 - tau))  # 10 scores for 80 %, 40 for 95 %
        table = np.ones((len(hierarchy_levels), horizon))
        for r, group in enumerate(_pooled_levels(node_levels, hierarchy_levels, runs)):
            wanted = np.isin(node_levels, group)
            mine = [sc[wanted & known] for sc, (*_, known) in zip(scores, runs, strict=True)]
            if sum(m.shape[0] for m in mine) < MIN_NODE_ORIGINS:
                continue
            for h in range(horizon):
                pooled = np.concatenate(
                    [m[:, max(0, h - window) : h + window + 1].ravel() for m in mine]
                )
                if pooled.size < need:
                    continue
                k = float(np.quantile(pooled, tau, method="inverted_cdf"))
                table[r, h] = min(max(k, factor_range[0]), factor_range[1])
        factors[float(level)] = table
    return BandCalibration(tuple(hierarchy_levels), factors, len(runs))


def _pooled_levels(
    node_levels: np.ndarray,
    hierarchy_levels: Sequence[str],
    runs: Sequence[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray]],
) -> list[list[str]]:
    """For each level, the levels whose scores its factors come from: itself, and while that is
    fewer than MIN_NODE_ORIGINS node-origins, the next levels in the hierarchy's order (coarsest
    first), so the national total borrows from the service groups and oblasts below it."""
    counts = {
        name: sum(int(((node_levels == name) & known).sum()) for *_, known in runs)
        for name in hierarchy_levels
    }
    groups = []
    for r, name in enumerate(hierarchy_levels):
        group, total = [name], counts[name]
        for other in hierarchy_levels[r + 1 :]:
            if total >= MIN_NODE_ORIGINS:
                break
            group.append(other)
            total += counts[other]
        groups.append(group)
    return groups


@dataclass
class BacktestErrors:
    """What a backtest's runs leave for calibration: per method, `(actual, mean, bounds, known)`
    of every node at each origin (oldest first), with the node's hierarchy level."""

    node_levels: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    hierarchy_levels: tuple[str, ...] = ()
    levels: tuple[float, ...] = ()
    runs: dict[str, list[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray]]] = field(
        default_factory=dict
    )

    def add(
        self,
        method: str,
        actual: np.ndarray,
        mean: np.ndarray,
        bounds: dict[str, np.ndarray],
        *,
        known: np.ndarray,
    ) -> None:
        """One origin's run of `method`: bounds before clipping at zero, `known` the nodes with
        history at the origin."""
        self.runs.setdefault(method, []).append((actual, mean, bounds, known))

    def absorb(self, other: BacktestErrors) -> None:
        """Take over another backtest's runs (`backtest(errors=...)` fills an empty one)."""
        self.node_levels, self.hierarchy_levels = other.node_levels, other.hierarchy_levels
        self.levels = other.levels
        for method, runs in other.runs.items():
            self.runs.setdefault(method, []).extend(runs)

    def calibration(self, method: str) -> BandCalibration | None:
        """The calibration of `method`'s bands, None when the backtest did not run it."""
        runs = self.runs.get(method)
        if not runs:
            return None
        return fit_band_calibration(
            runs, self.node_levels, self.hierarchy_levels, levels=self.levels
        )
