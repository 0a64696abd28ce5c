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
from engine.forecasting._calibration import BacktestErrors
from engine.forecasting._core import (
    NodeData,
    Outcome,
    as_spec,
    check_options,
    fit_nodes,
    node_series,
    prepare,
    reconcile_and_bound,
)
from engine.forecasting._hierarchy import Hierarchy, HierarchySpec
from engine.forecasting._intervals import bound_columns
from engine.forecasting._panel import default_season_length
from engine.forecasting._select import MIN_OBS

__all__ = [
    "CHOICE_METHODS",
    "auto_choice",
    "auto_reconciliation",
    "backtest",
    "choose_reconciliation",
    "reconciliation_from_backtest",
    "scaled_errors",
    "scaled_quantile_loss",
    "summarise_backtest",
]

BENCHMARKS = ("naive", "seasonal_naive")
# what `reconcile="auto"` chooses from
CHOICE_METHODS = ("bottom_up", "ols", "wls_struct", "mint_shrink")


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


def scaled_quantile_loss(
    actual: np.ndarray,
    mean: np.ndarray,
    bounds: dict[str, np.ndarray],
    train: np.ndarray,
    *,
    m: int,
    levels: Sequence[float],
) -> np.ndarray:
    """Per series: the mean pinball loss 2ρ_τ(y − q_τ) over the interval bounds (τ = the tails of
    each level) and the point forecast taken as the median (τ = ½), averaged over the horizon and
    divided by the MASE scale — a proper score, the quantile approximation of the scaled CRPS
    (M5's scaled pinball loss). NaN where the scale is zero.

    >>> import numpy as np
    >>> b = {"lo_80": np.array([[2.0]]), "hi_80": np.array([[6.0]])}
    >>> float(scaled_quantile_loss(np.array([[7.0]]), np.array([[4.0]]), b,
    ...                            np.array([[1.0, 2.0]]), m=1, levels=(80,))[0])  # (1.0 + 1.8 + 3.0) / 3
    1.9333333333333333
    """
    names = bound_columns(levels)
    taus = [(name, (1.0 - lv / 100.0) / 2.0 if name.startswith("lo") else (1.0 + lv / 100.0) / 2.0)
            for name, lv in zip(names, [lv for lv in levels for _ in (0, 1)], strict=True)]  # fmt: skip
    total = np.zeros(actual.shape[0])
    for q, tau in [*((bounds[name], tau) for name, tau in taus), (mean, 0.5)]:
        diff = actual - q
        total += (2.0 * np.maximum(tau * diff, (tau - 1.0) * diff)).mean(axis=1)
    abs_1, _ = _diff_scales(train, 1)
    abs_m, _ = _diff_scales(train, m) if m > 1 else (abs_1, None)
    scale = np.where((~np.isnan(train)).sum(axis=1) > m, abs_m, abs_1)
    with np.errstate(all="ignore"):
        out = total / (len(taus) + 1) / scale
    return np.where(scale > 0, out, np.nan)


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
    sql = scaled_quantile_loss(actual, mean, bounds, train, m=m, levels=levels)
    cover = {}
    names = bound_columns(levels)
    for lo, hi in zip(names[::2], names[1::2], strict=True):
        inside = (actual >= bounds[lo] - 1e-9) & (actual <= bounds[hi] + 1e-9)
        cover[f"coverage_{lo[3:]}"] = inside.mean(axis=1)
    per_node = pl.DataFrame(
        {"level": hierarchy.nodes["level"], "mase": mase, "rmsse": rmsse, "sql": sql, **cover}
    )
    return per_node.group_by("level").agg(
        pl.len().alias("series"),
        pl.col("mase").is_nan().sum().alias("unscaled"),
        pl.col("mase").filter(pl.col("mase").is_not_nan()).mean(),
        pl.col("rmsse").filter(pl.col("rmsse").is_not_nan()).mean(),
        pl.col("sql").filter(pl.col("sql").is_not_nan()).mean(),
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
    prepared: NodeData | None = None,
    counts: bool = False,
    errors: BacktestErrors | None = None,
) -> pl.DataFrame:
    """Rolling-origin evaluation: one row per origin × method × level.

    Columns: `origin` (last training period), `method`, `level`, `series`, `unscaled`, `mase`,
    `rmsse`, `sql` (scaled quantile loss, see `scaled_quantile_loss`), `coverage_80`,
    `coverage_95`, `reconciled_with` (the method actually used after any fallback). Arguments as
    for `forecast`; `prepared`: the node series `forecast` already built from `frame` with the
    same hierarchy and options (not built twice); `counts`: as for `forecast` (the series count
    something: the Poisson floor); `errors`: an empty `BacktestErrors` filled with every method's
    forecasts, bounds and actual values at each origin (what `_calibration` learns from).

    >>> import datetime as dt, polars as pl
    >>> frame = pl.DataFrame({
    ...     "unique_id": ["a"] * 36,
    ...     "ds": pl.date_range(dt.date(2022, 1, 1), dt.date(2024, 12, 1), "1mo", eager=True),
    ...     "y": [float(i % 12) for i in range(36)],
    ... })
    >>> table = backtest(frame, horizon=3, models=("seasonal_naive",), methods=("base",), n_windows=2)
    >>> table.height, sorted(set(table["method"]))
    (6, ['base', 'naive', 'seasonal_naive'])
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
    data = prepared or prepare(
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
    found = BacktestErrors(
        hier.nodes["level"].to_numpy(), tuple(hier.levels), tuple(float(v) for v in levels)
    )
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
        shared: dict[str, np.ndarray] = {}  # interval quantiles shared by the methods
        for mth in methods:
            method = "none" if mth == "base" else mth
            if not hier.n_aggregate and method != "none":
                method = "bottom_up"
            out = reconcile_and_bound(
                rows, base, hier, method=method, levels=levels, shared=shared, counts=counts
            )
            runs.append((mth, out, out.info.method))
            found.add(mth, actual, out.mean, out.raw_bounds or out.bounds, known=start < cut)
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
            out = reconcile_and_bound(
                b_rows, b_base, hier, method="none", levels=levels, counts=counts
            )
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
    table = (
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
            "sql",
            *cover,
            "reconciled_with",
        )
    )
    if errors is not None:
        errors.absorb(found)
    return table


def summarise_backtest(table: pl.DataFrame) -> pl.DataFrame:
    """Mean over origins per method and level (series-weighted means are not needed: every origin
    has the same series).

    >>> import datetime as dt, polars as pl
    >>> frame = pl.DataFrame({
    ...     "unique_id": ["a"] * 36,
    ...     "ds": pl.date_range(dt.date(2022, 1, 1), dt.date(2024, 12, 1), "1mo", eager=True),
    ...     "y": [float(i % 12) for i in range(36)],
    ... })
    >>> table = backtest(frame, horizon=3, models=("seasonal_naive",), methods=("base",), n_windows=2)
    >>> summarise_backtest(table).select("method", "origins").rows()
    [('base', 2), ('naive', 2), ('seasonal_naive', 2)]
    """
    metrics = [
        c for c in table.columns if c in ("mase", "rmsse", "sql") or c.startswith("coverage_")
    ]
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


def choose_reconciliation(table: pl.DataFrame, candidates: Sequence[str] = CHOICE_METHODS) -> str:
    """The reconciliation method a backtest table says is best: the lowest scaled quantile loss
    (`sql`, which rewards accurate means and calibrated intervals alike), averaged first over
    origins and series within each hierarchy level and then over the levels, so the national
    total weighs as much as the bottom level; ties go to the earlier candidate. Rows where a method
    fell back to another (`reconciled_with` differs) do not count for it.

    >>> import polars as pl
    >>> t = pl.DataFrame({"method": ["bottom_up", "mint_shrink"] * 2, "level": ["a", "a", "b", "b"],
    ...                   "sql": [1.0, 0.8, 2.0, 2.1], "reconciled_with": ["bottom_up", "mint_shrink"] * 2})
    >>> choose_reconciliation(t)
    'mint_shrink'
    """
    rows = table.filter(
        pl.col("method").is_in(list(candidates)) & (pl.col("method") == pl.col("reconciled_with"))
    )
    if rows.is_empty():
        raise ConfigError(f"the backtest has none of the methods {', '.join(candidates)}")
    per_level = rows.group_by("method", "level").agg(pl.col("sql").mean())
    score = per_level.group_by("method").agg(pl.col("sql").mean().fill_null(float("inf")))
    ranks = {name: k for k, name in enumerate(candidates)}
    best = min(score.iter_rows(named=True), key=lambda r: (r["sql"], ranks[r["method"]]))
    return str(best["method"])


def auto_reconciliation(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    n_windows: int = 2,
    candidates: Sequence[str] = CHOICE_METHODS,
    **kwargs: Any,
) -> tuple[str, str]:
    """The method for `reconcile="auto"` and why: a rolling-origin backtest of `candidates` on
    this run's data (`n_windows` origins, the forecast's own options in `kwargs`), judged by
    `choose_reconciliation`. Too short a history for a backtest: `mint_shrink`, saying so."""
    method, reason, _ = auto_choice(frame, n_windows=n_windows, candidates=candidates, **kwargs)
    return method, reason


def auto_choice(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    n_windows: int = 2,
    candidates: Sequence[str] = CHOICE_METHODS,
    **kwargs: Any,
) -> tuple[str, str, BacktestErrors | None]:
    """`auto_reconciliation`'s method and reason, and the backtest's errors (None without a
    backtest) from which the chosen method's bands are calibrated (`_calibration`)."""
    errors = BacktestErrors()
    try:
        table = backtest(
            frame, methods=tuple(candidates), benchmarks=(), n_windows=n_windows, errors=errors,
            **kwargs,
        )  # fmt: skip
    except ConfigError as exc:
        return "mint_shrink", f"auto: no backtest ({exc.message}); used mint_shrink", None
    return (*reconciliation_from_backtest(table, candidates), errors)


def reconciliation_from_backtest(
    table: pl.DataFrame, candidates: Sequence[str] = CHOICE_METHODS
) -> tuple[str, str]:
    """What `auto_reconciliation` says of a backtest table already made (one holding the
    candidates, e.g. a configuration's own backtest over the same origins): the method and why.

    >>> import polars as pl
    >>> t = pl.DataFrame({"origin": [1] * 4, "method": ["bottom_up", "mint_shrink"] * 2,
    ...                   "level": ["a", "a", "b", "b"], "sql": [1.0, 0.8, 2.0, 2.1],
    ...                   "reconciled_with": ["bottom_up", "mint_shrink"] * 2})
    >>> reconciliation_from_backtest(t)[0]
    'mint_shrink'
    """
    if table.filter(pl.col("method").is_in(list(candidates))).is_empty():
        return "bottom_up", "auto: no aggregate levels"
    method = choose_reconciliation(table, candidates)
    scores = (
        table.filter(
            pl.col("method").is_in(list(candidates))
            & (pl.col("method") == pl.col("reconciled_with"))
        )
        .group_by("method", "level")
        .agg(pl.col("sql").mean())
        .group_by("method")
        .agg(pl.col("sql").mean())
        .sort("method")
    )
    listed = ", ".join(f"{m} {v:.3f}" for m, v in scores.iter_rows())
    origins = table["origin"].n_unique()
    return method, f"auto: lowest backtest scaled quantile loss over {origins} origin(s) ({listed})"
