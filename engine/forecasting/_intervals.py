"""Prediction intervals from joint sample paths of coherent forecast errors.

For each in-sample period t the one-step residuals of all bottom series form one joint error vector
e_t: the bottom series' own residuals for bottom-up; for the MinT methods every node's residual
vector reconciled to the bottom level with structural weights (see `_core._error_paths`), so the
paths follow what reconciliation does to the bottom series. Residuals are first scaled by
sqrt(n / (n − k)) per series (k parameters estimated), the unbiased σ² of `forecast` and
statsforecast. Scaled to horizon h by each bottom series' model (`horizon_scale`: the sd of its
h-step error relative to its one-step error — exact for additive-error ETS and for multiplicative
errors without a multiplicative season (class 2), simulated sample paths for a multiplicative
season, see `_ets_core`) and by any scenario driver, and summed
through S, each period gives one coherent error vector for every node:

    E_h[:, t] = S (scale_h ⊙ driver_h ⊙ e_t)

Every such path adds up across levels (an aggregate's path is the sum of its children's), and
because whole vectors are drawn (never one series at a time) correlations between series carry
over to the aggregates. A node's interval at horizon h is its reconciled forecast plus quantiles of
its own row of E_h (`path_quantiles`: the wider of the empirical and the Student-t quantile of the
same paths) — quantiles of one coherent joint distribution, never sums of quantiles. Periods where a
series had no residual (before it started, before a first demand) are filled from its own
residuals in turn, or (`aligned`) count as zero error for it (`filled_errors`; not used: it left
the synthetic registry's national total under-covering); a series without any residual (a single
observation) has no measured spread and a zero-width interval. For counts the bounds are clipped
at zero, and a bound never crosses the point forecast, so lo_95 ≤ lo_80 ≤ mean ≤ hi_80 ≤ hi_95.
Series of counts (`counts=True`: open cases, case-months, new cases) also get a Poisson floor
(`count_floor`): no band narrower than the Poisson law of its own mean (spread over each unit),
the stationary law of cases that arrive and end independently. `forecast` then calibrates the
widths per level and horizon on its own backtest (`_calibration`).

Without reconciliation (independent series) each node uses its own residuals the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

__all__ = [
    "bound_columns",
    "bounds_from_quantiles",
    "coherent_error_paths",
    "count_floor",
    "error_quantiles",
    "filled_errors",
    "interval_bounds",
    "nanquantile_rows",
    "poisson_mid_quantile",
    "poisson_quantile",
]


def bound_columns(levels: Sequence[int | float]) -> list[str]:
    """`lo_80, hi_80, lo_95, hi_95` for levels (80, 95)."""
    return [f"{side}_{_label(level)}" for level in levels for side in ("lo", "hi")]


def _label(level: float) -> str:
    return str(int(level)) if float(level).is_integer() else str(level).replace(".", "_")


def _quantiles(levels: Sequence[float]) -> np.ndarray:
    qs = []
    for level in levels:
        tail = (1.0 - level / 100.0) / 2.0
        qs.extend([tail, 1.0 - tail])
    return np.array(qs)


def filled_errors(
    residuals: np.ndarray, *, centre: bool = False, aligned: bool = False
) -> np.ndarray:
    """Residuals (optionally less each series' mean residual) as error vectors, one per period;
    periods no series has a residual are dropped. A period where a series has no residual (before
    it started, before a first demand) takes its own residuals in turn (so a series that started
    late keeps its spread), or with `aligned` counts as zero error for it.

    `aligned` keeps every path one period's errors: an aggregate's path is then the sum of its
    children's errors in the same period, so their correlations (cases moving between series
    cancel in the sum) carry over. Cycling late starters' residuals adds noise that was in no
    period: on the 20k-recipient synthetic registry the national total's one-step path had an rms
    of 274–323 case-months cycled against 74–80 aligned (its own residuals: 29), and its 80 % band
    held every month of 12 origins. Aligned paths narrow a late starter's own band, so they go with
    the Poisson floor of counts (`count_floor`): together they lowered the scaled quantile loss
    (mean over levels) from 0.669 to 0.581 (mint_shrink) and from 0.839 to 0.585 (bottom_up);
    aligned alone raised mint_shrink's to 0.678.
    """
    ok = ~np.isnan(residuals)
    keep = ok.any(axis=0)
    r, ok = residuals[:, keep], ok[:, keep]
    count = ok.sum(axis=1, keepdims=True)
    if centre:
        with np.errstate(all="ignore"):
            total = np.where(ok, r, 0.0).sum(axis=1, keepdims=True)
            r = r - np.where(count > 0, total / count, 0.0)
    if aligned:
        return np.where(ok, r, 0.0)
    # available periods first, in order; the k-th missing period takes available number k mod count
    order = np.argsort(~ok, axis=1, kind="stable")
    k = np.cumsum(~ok, axis=1) - 1
    pick = np.take_along_axis(order, k % np.maximum(count, 1), axis=1)
    filled = np.take_along_axis(np.nan_to_num(r), pick, axis=1)
    return np.where(ok, r, np.where(count > 0, filled, 0.0))


def coherent_error_paths(
    bottom_residuals: np.ndarray,
    scale: np.ndarray,
    summing: sparse.csr_matrix | None,
    h: int,
    multiplier: np.ndarray | None = None,
) -> np.ndarray:
    """Error vectors of every node at horizon index h (nodes × periods), coherent through S."""
    return _paths(np.nan_to_num(bottom_residuals), scale, summing, h, multiplier)


def _paths(
    clean: np.ndarray,
    scale: np.ndarray,
    summing: sparse.csr_matrix | None,
    h: int,
    multiplier: np.ndarray | None,
) -> np.ndarray:
    """`coherent_error_paths` from residuals already free of NaN (cleaned once, not per h)."""
    e = clean * scale[:, h : h + 1]
    if multiplier is not None:
        e = e * multiplier[:, h : h + 1]
    return e if summing is None else np.asarray(summing @ e)


def nanquantile_rows(e: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """`np.nanquantile(e, qs, axis=1, method="weibull")`, bit for bit, with 0 for a row of NaN.

    numpy takes a row at a time when NaN are present (a Python loop over every node and horizon:
    most of a backtest's time); here every row at once. Each row's valid values are sorted (NaN
    last), the plotting position p(n + 1) − 1 is clamped to the row's values and interpolated with
    numpy's own two-sided formula, so the numbers are numpy's exactly.

    >>> e = np.array([[3.0, 1.0, np.nan, 2.0], [np.nan] * 4])
    >>> nanquantile_rows(e, np.array([0.25, 0.5])).tolist()
    [[1.0, 0.0], [2.0, 0.0]]
    """
    ordered = np.sort(e, axis=1)  # NaN sort last
    n = (~np.isnan(e)).sum(axis=1)
    rows = np.arange(e.shape[0])
    last = np.maximum(n - 1, 0)
    out = np.zeros((qs.size, e.shape[0]))
    for j, q in enumerate(qs):
        virtual = n * q + q - 1
        above, below = virtual >= n - 1, virtual < 0
        previous = np.where(above, -1.0, np.where(below, 0.0, np.floor(virtual)))
        lo = np.where(above, last, np.where(below, 0, previous)).astype(np.intp)
        hi = np.where(above, last, np.where(below, 0, previous + 1)).astype(np.intp)
        gamma = virtual - previous
        a, b = ordered[rows, lo], ordered[rows, hi]
        diff = b - a
        value = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
        out[j] = np.where(n > 0, value, 0.0)
    return out


def path_quantiles(paths: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """Quantile offsets (len(qs) × nodes) of error paths (nodes × periods) around the forecast.

    Two estimates of the same distribution, and for each node the wider: the empirical quantile
    of the paths (plotting positions p(n+1), "weibull"), which keeps the skew of small counts, and
    the Student-t quantile with n − 1 degrees of freedom times the paths' root mean square (the
    Gaussian law of the same error vectors, t because its variance is estimated from n periods),
    which a few dozen periods cannot under-state in the tails the way the sample extremes do.
    Lower quantiles are the more negative of the two, upper ones the more positive, so the bands
    nest (lo_95 ≤ lo_80 ≤ 0 ≤ hi_80 ≤ hi_95 for levels 80, 95).
    """
    from scipy.special import stdtrit

    n_periods = paths.shape[1]
    if n_periods == 0:  # no residual anywhere: nothing to measure spread by
        return np.zeros((qs.size, paths.shape[0]))
    empirical = np.quantile(paths, qs, axis=1, method="weibull")
    t = stdtrit(max(n_periods - 1, 1), qs)[:, None] * np.sqrt((paths * paths).mean(axis=1))[None]
    return np.where(qs[:, None] < 0.5, np.minimum(empirical, t), np.maximum(empirical, t))


def error_quantiles(
    bottom_residuals: np.ndarray,
    scale: np.ndarray,
    summing: sparse.csr_matrix | None,
    *,
    levels: Sequence[float],
    multiplier: np.ndarray | None = None,
) -> np.ndarray:
    """Quantile offsets (H × bounds × nodes) of the error paths around any forecast: they do not
    depend on the forecast itself, so reconciliation methods whose paths are the same share them
    (`interval_bounds` adds them to a forecast). `summing=None`: independent rows."""
    qs = _quantiles(levels)
    horizon = scale.shape[1]
    n = bottom_residuals.shape[0] if summing is None else summing.shape[0]
    out = np.empty((horizon, qs.size, n))
    if summing is None:
        for h in range(horizon):
            e = bottom_residuals * scale[:, h : h + 1]
            if multiplier is not None:
                e = e * multiplier[:, h : h + 1]
            out[h] = _independent_quantiles(e, qs)
        return out
    n_agg = _aggregate_rows(summing)
    clean = np.nan_to_num(bottom_residuals)
    if n_agg is None or (multiplier is not None and not (multiplier >= 0).all()):
        for h in range(horizon):
            out[h] = path_quantiles(_paths(clean, scale, summing, h, multiplier), qs)
        return out
    # A bottom series' path at horizon h is its one-step path times a factor c ≥ 0 (its scale and
    # driver), and both quantile estimates scale with c: its quantiles are taken once. Only the
    # aggregates' paths, sums of differently scaled children, are taken at every horizon.
    unit = path_quantiles(clean, qs)
    upper = summing[:n_agg]
    for h in range(horizon):
        factor = scale[:, h] if multiplier is None else scale[:, h] * multiplier[:, h]
        out[h, :, n_agg:] = unit * factor[None, :]
        out[h, :, :n_agg] = path_quantiles(_paths(clean, scale, upper, h, multiplier), qs)
    return out


def _aggregate_rows(summing: sparse.csr_matrix) -> int | None:
    """How many rows of S precede its identity block (the bottom level, last, in order), or None
    when S does not end with one."""
    n_nodes, n_bottom = summing.shape
    n_agg = n_nodes - n_bottom
    if n_agg < 0:
        return None
    tail = summing[n_agg:]
    if tail.nnz != n_bottom:
        return None
    tail = tail.tocsr()
    identity = (
        np.array_equal(np.diff(tail.indptr), np.ones(n_bottom, dtype=tail.indptr.dtype))
        and np.array_equal(tail.indices, np.arange(n_bottom))
        and bool(np.all(tail.data == 1))
    )
    return n_agg if identity else None


def bounds_from_quantiles(
    mean: np.ndarray,
    quantiles: np.ndarray,
    *,
    levels: Sequence[float],
    nonnegative: bool = True,
    counts: bool = False,
) -> dict[str, np.ndarray]:
    """`mean` (nodes × H) plus `error_quantiles`, a bound never crossing the mean (and never
    below zero with `nonnegative`); `counts`: each bound at least as wide as the Poisson law's
    (`count_floor`)."""
    out = {}
    for j, name in enumerate(bound_columns(levels)):
        bound = mean + quantiles[:, j, :].T
        if name.startswith("lo"):
            bound = np.minimum(bound, mean)
            if nonnegative:
                bound = np.maximum(bound, 0.0)
        else:
            bound = np.maximum(bound, mean)
        out[name] = bound
    return count_floor(mean, out, levels=levels, nonnegative=nonnegative) if counts else out


def count_floor(
    mean: np.ndarray,
    bounds: dict[str, np.ndarray],
    *,
    levels: Sequence[float],
    nonnegative: bool = True,
) -> dict[str, np.ndarray]:
    """Bounds of a count widened to at least the Poisson(mean) quantiles.

    Why: a series of open cases (case-months, new cases) whose cases arrive and end independently
    has the Poisson law as its stationary distribution (an M/G/∞ queue), whatever its history
    looked like. Residual paths cannot see that risk where the history never showed it: a series
    that held one case for three years has zero residuals and a zero-width band, and the case
    ending (or a second one arriving) falls outside it. In backtests on the synthetic registry
    those series were most of the bottom level's misses (see tests/forecast/test_count_floor.py and
    the closing note). The floor is coherent as a law in its own right: independent Poisson
    counts add up to a Poisson count of the summed mean, so every node's floor is the Poisson
    quantile of its own (reconciled) mean. Lower floors never go below zero, bounds never cross
    the mean, and the bands stay nested: Poisson quantiles are monotone in the probability
    (`nonnegative=False`: lower floors as the law gives them, below zero for small means).
    The quantiles are those of the Poisson law spread evenly over each unit
    (`poisson_mid_quantile`), not the integer ones: an integer bound holds the count it stops at
    with all its probability, so a band of integer quantiles covers more than its level (Poisson(1)'s
    80 % band 0..2 holds 92 %), and a level of many small counts over-covers by as much; the spread
    law's bounds fall between counts and cover their level on average over series. Only where the
    floor can bind (a bound within about |z|·√mean + 2 of the mean) is the quantile computed.
    """
    from scipy import stats

    mu = np.maximum(np.nan_to_num(mean), 0.0)
    names = bound_columns(levels)
    taus = _quantiles(levels)
    z = np.abs(stats.norm.ppf(taus))
    out = {}
    for name, tau, zq in zip(names, taus, z, strict=True):
        bound = bounds[name]
        reach = zq * np.sqrt(mu) + 2.0  # ≥ |Poisson quantile − mean| (Cornish–Fisher + rounding)
        near = np.abs(bound - mu) < reach
        floor = np.array(bound, dtype=float, copy=True)
        floor[near] = poisson_mid_quantile(tau, mu[near])
        if name.startswith("lo"):
            low = np.maximum(floor, 0.0) if nonnegative else floor
            out[name] = np.minimum(bound, np.minimum(low, mean))
        else:
            out[name] = np.maximum(bound, np.maximum(floor, mean))
    return out


def poisson_quantile(tau: float, mu: np.ndarray) -> np.ndarray:
    """The smallest count k with P(Poisson(mu) ≤ k) ≥ τ, as `scipy.stats.poisson.ppf` gives it,
    found from the Cornish–Fisher start mu + z√mu + (z² − 1)/6 by whole steps checked with the
    cdf (scipy's ppf inverts the cdf numerically and on some means never returns).

    >>> poisson_quantile(0.9, np.array([0.0, 0.3, 1.0, 10.0, 1e6])).tolist()
    [0.0, 1.0, 2.0, 14.0, 1001282.0]
    """
    shape = np.shape(mu)
    k, _ = _poisson_search(tau, np.asarray(mu, dtype=float).ravel())
    return k.reshape(shape)


def _poisson_search(tau: float, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`poisson_quantile` of a flat `mu`, and the cdf just below it, F(k − 1) (0 at k = 0): the
    value the search checked last, which `poisson_mid_quantile` needs too."""
    from scipy import special, stats

    z = float(stats.norm.ppf(tau))
    k = np.maximum(np.floor(mu + z * np.sqrt(mu) + (z * z - 1.0) / 6.0), 0.0)
    below = np.zeros_like(k)
    active = np.arange(k.size)  # a count that did not move is the quantile: only the others go on
    for _ in range(64):  # the start is within a few counts; each pass moves every k one step
        kk, mm = k[active], mu[active]
        up = special.pdtr(kk, mm) < tau
        down = np.zeros_like(up)  # F(k − 1) ≥ τ cannot hold where F(k) < τ: checked elsewhere
        check = np.flatnonzero(~up & (kk > 0))
        cdf_below = np.zeros_like(kk)
        cdf_below[check] = special.pdtr(kk[check] - 1, mm[check])
        down[check] = cdf_below[check] >= tau
        moved = up | down
        settled = active[~moved]
        below[settled] = cdf_below[~moved]
        if not moved.any():
            break
        k[active] = kk + up - down
        active = active[moved]
    return k, below


def poisson_mid_quantile(tau: float, mu: np.ndarray) -> np.ndarray:
    """The τ-quantile of X + U − ½, X ~ Poisson(mu), U ~ Uniform(0, 1): the Poisson law with each
    count's probability spread evenly over the unit around it (the mid-distribution), so its
    quantiles move continuously with τ and mu. With k the integer quantile, F and p the Poisson
    cdf and pmf: k − ½ + (τ − F(k − 1)) / p(k).

    >>> [round(float(q), 3) for q in poisson_mid_quantile(0.9, np.array([0.0, 1.0, 10.0]))]
    [0.4, 2.393, 14.182]
    """
    from scipy import special

    shape = np.shape(mu)
    mu = np.asarray(mu, dtype=float).ravel()
    k, below = _poisson_search(tau, mu)
    # the pmf by scipy.stats.poisson's own formula, without its argument checks
    mass = np.exp(special.xlogy(k, mu) - special.gammaln(k + 1) - mu)
    with np.errstate(all="ignore"):
        inside = np.where(mass > 0, (tau - below) / mass, 0.5)
    return (k - 0.5 + np.clip(inside, 0.0, 1.0)).reshape(shape)


def interval_bounds(
    mean: np.ndarray,
    bottom_residuals: np.ndarray,
    scale: np.ndarray,
    summing: sparse.csr_matrix | None,
    *,
    levels: Sequence[float],
    multiplier: np.ndarray | None = None,
    nonnegative: bool = True,
    counts: bool = False,
) -> dict[str, np.ndarray]:
    """Lower and upper bounds (nodes × H) per level, keyed `lo_80`, `hi_80`, ...

    `summing=None` treats the rows as independent series and ignores periods without a residual;
    `counts`: the Poisson floor of `count_floor`.
    """
    q = error_quantiles(bottom_residuals, scale, summing, levels=levels, multiplier=multiplier)
    return bounds_from_quantiles(mean, q, levels=levels, nonnegative=nonnegative, counts=counts)


def _independent_quantiles(e: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """`path_quantiles` per series over the periods it has a residual (NaN elsewhere)."""
    from scipy.special import stdtrit

    ok = ~np.isnan(e)
    count = ok.sum(axis=1)
    empirical = nanquantile_rows(e, qs)
    with np.errstate(all="ignore"):
        rms = np.sqrt(np.where(ok, e * e, 0.0).sum(axis=1) / count)
    rms = np.where(count > 0, rms, 0.0)
    t = stdtrit(np.maximum(count - 1, 1)[None, :], qs[:, None]) * rms[None, :]
    return np.where(qs[:, None] < 0.5, np.minimum(empirical, t), np.maximum(empirical, t))
