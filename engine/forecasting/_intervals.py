"""Prediction intervals from joint sample paths of coherent forecast errors.

For each in-sample period t the one-step residuals of all bottom series form one joint error vector
e_t: the bottom series' own residuals for bottom-up; for the MinT methods every node's residual
vector reconciled to the bottom level with structural weights (see `_core._error_paths`), so the
paths follow what reconciliation does to the bottom series. Scaled to horizon h by each bottom
series' model (`horizon_scale`: the sd of its h-step error
relative to its one-step error) and by any scenario driver, and summed through S, each period gives
one coherent error vector for every node:

    E_h[:, t] = S (scale_h ⊙ driver_h ⊙ e_t)

Every such error path adds up across levels, and because whole vectors are drawn (never one series
at a time) correlations between series carry over to the aggregates. A node's interval at horizon h
is its reconciled forecast plus the empirical quantiles of its row of E_h — a residual bootstrap
that uses every period once; quantiles are taken at plotting positions p(n+1) ("weibull"), which
widen the tails of a small sample the way its expected coverage needs (with n = 33 periods the
plain interpolated 95% interval covered 89% of random-walk steps). Periods where a series had no residual (before it started, before a
first demand) are filled from its own residuals in turn; a series without any residual (a single
observation) has no measured spread and a zero-width interval. For counts the bounds are clipped at
zero, and a bound never crosses the point forecast.

Without reconciliation (independent series) each node uses its own residuals the same way.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

__all__ = ["bound_columns", "coherent_error_paths", "filled_errors", "interval_bounds"]


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


def filled_errors(residuals: np.ndarray, *, centre: bool = False) -> np.ndarray:
    """Residuals (optionally less each series' mean residual), the periods a series has no residual
    filled by cycling through its own residuals (so a series that started late keeps its spread
    instead of counting its missing periods as zero error); periods no series has a residual are
    dropped.
    """
    ok = ~np.isnan(residuals)
    keep = ok.any(axis=0)
    r, ok = residuals[:, keep], ok[:, keep]
    count = ok.sum(axis=1, keepdims=True)
    if centre:
        with np.errstate(all="ignore"):
            total = np.where(ok, r, 0.0).sum(axis=1, keepdims=True)
            r = r - np.where(count > 0, total / count, 0.0)
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
    e = np.nan_to_num(bottom_residuals) * scale[:, h : h + 1]
    if multiplier is not None:
        e = e * multiplier[:, h : h + 1]
    return e if summing is None else np.asarray(summing @ e)


def interval_bounds(
    mean: np.ndarray,
    bottom_residuals: np.ndarray,
    scale: np.ndarray,
    summing: sparse.csr_matrix | None,
    *,
    levels: Sequence[float],
    multiplier: np.ndarray | None = None,
    nonnegative: bool = True,
) -> dict[str, np.ndarray]:
    """Lower and upper bounds (nodes × H) per level, keyed `lo_80`, `hi_80`, ...

    `summing=None` treats the rows as independent series and ignores periods without a residual.
    """
    qs = _quantiles(levels)
    names = bound_columns(levels)
    out = {name: np.empty_like(mean) for name in names}
    for h in range(mean.shape[1]):
        if summing is None:
            e = bottom_residuals * scale[:, h : h + 1]
            if multiplier is not None:
                e = e * multiplier[:, h : h + 1]
            with warnings.catch_warnings():  # a series without any residual has no spread
                warnings.simplefilter("ignore", RuntimeWarning)
                q = np.nanquantile(e, qs, axis=1, method="weibull")
            q = np.nan_to_num(q)
        else:
            paths = coherent_error_paths(bottom_residuals, scale, summing, h, multiplier)
            if paths.shape[1] == 0:  # no residual anywhere: nothing to measure spread by
                q = np.zeros((qs.size, paths.shape[0]))
            else:
                q = np.quantile(paths, qs, axis=1, method="weibull")
        for j, name in enumerate(names):
            bound = mean[:, h] + q[j]
            if name.startswith("lo"):
                bound = np.minimum(bound, mean[:, h])
                if nonnegative:
                    bound = np.maximum(bound, 0.0)
            else:
                bound = np.maximum(bound, mean[:, h])
            out[name][:, h] = bound
    return out
