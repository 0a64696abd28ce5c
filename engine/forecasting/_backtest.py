"""Rolling-origin backtests: MASE, RMSSE and interval coverage per hierarchy level and method.

For each origin the models are refitted on the periods up to it and forecast the next `horizon`
periods, which are compared with what happened. Origins step back from the end by `step` periods
(default: the horizon, so test windows do not overlap); only origins that leave at least `min_train`
training periods are used.

Per series (Hyndman & Koehler 2006; M5 for RMSSE), with the in-sample seasonal difference as the scale
(lag m = `season_length`, or 1 when the training series is no longer than one season):

    MASE  = mean_h |y − ŷ| / mean_t |y_t − y_{t−m}|
    RMSSE = sqrt( mean_h (y − ŷ)² / mean_t (y_t − y_{t−m})² )

A series whose scale is zero (constant in training) has no MASE/RMSSE; it is counted in
`unscaled`. A level's figure is the mean over its series; coverage is the share of (series, period)
pairs whose actual value lies within the interval.

Methods: `base` (each node's own model, not reconciled), the reconciliation methods, and the
benchmarks `naive` and `seasonal_naive` (each node on its own).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from engine.errors import ConfigError
from engine.forecasting._api import check_options
from engine.forecasting._core import (
    Outcome,
    as_spec,
    fit_nodes,
    node_series,
    prepare,
    reconcile_and_bound,
)
from engine.forecasting._hierarchy import Hierarchy, HierarchySpec
from engine.forecasting._intervals import bound_columns
from engine.forecasting._panel import default_season_length
from engine.forecasting._select import MIN_OBS

__all__ = ["backtest", "scaled_errors", "summarise_backtest"]

BENCHMARKS = ("naive", "seasonal_naive")


def scaled_errors(
    actual: np.ndarray, forecast: np.ndarray, train: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-series MASE and RMSSE (NaN where the in-sample scale is zero or undefined).

    `train` is the training matrix (series × periods, NaN before a series starts).

    >>> import numpy as np
    >>> mase, rmsse = scaled_errors(np.array([[5.0, 7.0]]), np.array([[4.0, 4.0]]),
    ...                              np.array([[1.0, 2.0, 4.0]]), m=1)
    >>> float(mase[0]), float(rmsse[0])  # scales 1.5 and 2.5 (|Δ| 1, 2); errors 1, 3: 2/1.5, √(5/2.5)
    (1.3333333333333333, 1.4142135623730951)
    """
    n_obs = (~np.isnan(train)).sum(axis=1)
    abs_1, sq_1 = _diff_scales(train, 1)
    abs_m, sq_m = _diff_scales(train, m) if m > 1 else (abs_1, sq_1)
    seasonal = n_obs > m
    scale = np.where(seasonal, abs_m, abs_1)
    sq_scale = np.where(seasonal, sq_m, sq_1)
    err = actual - forecast
    with np.errstate(all="ignore"):
        mase = np.mean(np.abs(err), axis=1) / scale
        rmsse = np.sqrt(np.mean(err**2, axis=1) / sq_scale)
    bad = ~(scale > 0)
    return np.where(bad, np.nan, mase), np.where(bad, np.nan, rmsse)


def _diff_scales(train: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean absolute and mean squared lag-differences per row, ignoring NaN (NaN if none)."""
    if train.shape[1] <= lag:
        nan = np.full(train.shape[0], np.nan)
        return nan, nan
    d = train[:, lag:] - train[:, :-lag]
    ok = ~np.isnan(d)
    count = ok.sum(axis=1)
    d = np.where(ok, d, 0.0)
    with np.errstate(all="ignore"):
        return (
            np.where(count > 0, np.abs(d).sum(axis=1) / count, np.nan),
            np.where(count > 0, (d * d).sum(axis=1) / count, np.nan),
        )


def _level_metrics(
    hierarchy: Hierarchy,
    actual: np.ndarray,
    mean: np.ndarray,
    bounds: dict[str, np.ndarray],
    train: np.ndarray,
    *,
    m: int,
    levels: Sequence[float],
) -> pl.DataFrame:
    mase, rmsse = scaled_errors(actual, mean, train, m)
    cover = {}
    names = bound_columns(levels)
    for lo, hi in zip(names[::2], names[1::2], strict=True):
        inside = (actual >= bounds[lo] - 1e-9) & (actual <= bounds[hi] + 1e-9)
        cover[f"coverage_{lo[3:]}"] = inside.mean(axis=1)
    per_node = pl.DataFrame(
        {"level": hierarchy.nodes["level"], "mase": mase, "rmsse": rmsse, **cover}
    )
    return per_node.group_by("level").agg(
        pl.len().alias("series"),
        pl.col("mase").is_nan().sum().alias("unscaled"),
        pl.col("mase").filter(pl.col("mase").is_not_nan()).mean(),
        pl.col("rmsse").filter(pl.col("rmsse").is_not_nan()).mean(),
        *[pl.col(c).mean() for c in cover],
    )


def backtest(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    hierarchy: HierarchySpec | Mapping[str, Any] | None = None,
    id_col: str = "unique_id",
    date_col: str = "ds",
    value_col: str = "y",
    horizon: int = 12,
    freq: str = "1mo",
    season_length: int | None = None,
    models: Sequence[str] = ("auto",),
    levels: Sequence[float] = (80, 95),
    methods: Sequence[str] = ("base", "bottom_up", "ols", "wls_struct", "mint_shrink"),
    benchmarks: Sequence[str] = BENCHMARKS,
    n_windows: int = 3,
    step: int | None = None,
    min_train: int | None = None,
    nonnegative: bool = True,
    fill_value: float = 0.0,
    refine: bool = False,
) -> pl.DataFrame:
    """Rolling-origin evaluation: one row per origin × method × level.

    Columns: `origin` (last training period), `method`, `level`, `series`, `unscaled`, `mase`,
    `rmsse`, `coverage_80`, `coverage_95`, `reconciled_with` (the method actually used after any
    fallback). Arguments as for `forecast`.
    """
    for method in methods:
        check_options(
            horizon=horizon,
            levels=levels,
            reconcile="none" if method == "base" else method,
            season_length=season_length,
        )
    unknown = [b for b in benchmarks if b not in BENCHMARKS]
    if unknown:
        raise ConfigError(f"unknown benchmark(s) {unknown}; known: {', '.join(BENCHMARKS)}")
    spec = as_spec(hierarchy, id_col)
    data = prepare(
        frame,
        spec,
        date_col=date_col,
        value_col=value_col,
        freq=freq,
        fill_value=fill_value,
        nonnegative=nonnegative,
    )
    hier = data.hierarchy
    if not hier.n_aggregate:  # independent series: every reconciliation method is the base
        methods = ("base",)
    m = season_length or default_season_length(freq)
    step = step or horizon
    min_train = min_train or max(MIN_OBS, 2 * m if m > 1 else MIN_OBS)
    n_t = data.panel.n_periods
    cuts = [n_t - horizon - k * step for k in range(n_windows)]
    cuts = sorted(c for c in cuts if c >= min_train)
    if not cuts:
        raise ConfigError(
            f"{n_t} periods are too few for a {horizon}-period backtest with at least "
            f"{min_train} training periods"
        )
    frames = []
    for cut in cuts:
        y_train_b = data.panel.y[:, :cut]
        start_b = np.minimum(data.panel.start, cut)  # a series not yet started: empty training
        y_train, start = node_series(hier, y_train_b, start_b)
        actual = np.nan_to_num(data.y[:, cut : cut + horizon])
        origin = data.panel.dates[cut - 1]
        runs: list[tuple[str, Outcome, str]] = []
        reconciled = [mth for mth in methods if mth != "base"]
        needs_all = "base" in methods or any(mth != "bottom_up" for mth in reconciled)
        rows, base = fit_nodes(
            y_train,
            start,
            hier,
            all_nodes=needs_all or not hier.n_aggregate,
            m=m,
            horizon=horizon,
            models=models,
            refine=refine,
        )
        for mth in methods:
            method = "none" if mth == "base" else mth
            if not hier.n_aggregate and method != "none":
                method = "bottom_up"
            out = reconcile_and_bound(rows, base, hier, method=method, levels=levels)
            runs.append((mth, out, out.info.method))
        for bench in benchmarks:
            b_rows, b_base = fit_nodes(
                y_train,
                start,
                hier,
                all_nodes=True,
                m=m,
                horizon=horizon,
                models=(bench,),
                refine=False,
            )
            out = reconcile_and_bound(b_rows, b_base, hier, method="none", levels=levels)
            runs.append((bench, out, "none"))
        for name, out, used in runs:
            metrics = _level_metrics(
                hier, actual, out.mean, out.bounds, y_train, m=m, levels=levels
            )
            frames.append(
                metrics.with_columns(
                    origin=pl.lit(origin), method=pl.lit(name), reconciled_with=pl.lit(used)
                )
            )
    order = pl.DataFrame({"level": list(hier.levels)}).with_row_index("_o")
    cover = [f"coverage_{c[3:]}" for c in bound_columns(levels)[::2]]
    return (
        pl.concat(frames)
        .join(order, on="level")
        .sort("origin", "method", "_o")
        .select(
            "origin",
            "method",
            "level",
            "series",
            "unscaled",
            "mase",
            "rmsse",
            *cover,
            "reconciled_with",
        )
    )


def summarise_backtest(table: pl.DataFrame) -> pl.DataFrame:
    """Mean over origins per method and level (series-weighted means are not needed: every origin
    has the same series)."""
    metrics = [c for c in table.columns if c in ("mase", "rmsse") or c.startswith("coverage_")]
    levels = table.select("level").unique(maintain_order=True).with_row_index("_o")
    return (
        table.group_by("method", "level")
        .agg(
            pl.col("origin").n_unique().alias("origins"),
            pl.col("series").first(),
            *[pl.col(c).mean() for c in metrics],
        )
        .join(levels, on="level")
        .sort("method", "_o")
        .drop("_o")
    )
