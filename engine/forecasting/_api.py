"""`forecast()`: long-format series in, coherent forecasts of every node out."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from engine.errors import ConfigError
from engine.forecasting._calibration import BacktestErrors, BandCalibration
from engine.forecasting._core import (
    AUTO,
    as_spec,
    check_options,
    fit_nodes,
    prepare,
    reconcile_and_bound,
)
from engine.forecasting._drivers import Driver, driver_multipliers, parse_drivers
from engine.forecasting._hierarchy import Hierarchy, HierarchySpec
from engine.forecasting._panel import default_season_length, future_dates
from engine.forecasting._reconcile import ReconcileInfo
from engine.forecasting._select import BaseFit, fit_base, parse_models

__all__ = ["ForecastResult", "check_options", "forecast"]


@dataclass(frozen=True)
class ForecastResult:
    """Forecasts of every node, what produced them, and how they were made coherent.

    - `forecasts`: `unique_id, level, <key columns>, ds, mean, lo_80, hi_80, lo_95, hi_95, model,
      method` (one row per node × period; key columns are null where a node aggregates over them);
    - `models`: per node, the base model chosen, why (criterion, or the fallback and its reason),
      its parameters and demand class;
    - `reconciliation`: the method asked for and used, with any fallback reason;
    - `drivers`: per scenario driver, how many bottom series and periods it touched.
    """

    forecasts: pl.DataFrame
    models: pl.DataFrame
    reconciliation: ReconcileInfo
    drivers: pl.DataFrame
    hierarchy: Hierarchy
    levels: tuple[float, ...]

    def level_summary(self) -> pl.DataFrame:
        """Per hierarchy level: nodes, forecast total over the horizon, fallbacks, top model."""
        totals = self.forecasts.group_by("level").agg(
            pl.col("unique_id").n_unique().alias("nodes"), pl.col("mean").sum().alias("total")
        )
        models = self.models.group_by("level").agg(
            pl.col("fallback").sum().alias("fallbacks"),
            pl.col("model").mode().first().alias("most_common_model"),
        )
        order = pl.DataFrame({"level": list(self.hierarchy.levels)}).with_row_index("_o")
        return (
            order.join(totals, on="level", how="left")
            .join(models, on="level", how="left")
            .sort("_o")
            .drop("_o")
        )


def _model_report(
    hierarchy: Hierarchy, rows: np.ndarray, base: BaseFit, method: str
) -> pl.DataFrame:
    keys = hierarchy.nodes.select("unique_id", "level", *hierarchy.key_columns)
    fitted = pl.DataFrame(
        {"_row": rows, **{k: list(v) if v.dtype == object else v for k, v in base.report.items()}},
        strict=False,
    ).with_columns(pl.col("_row").cast(pl.UInt32))
    report = (
        keys.with_row_index("_row")
        .join(fitted, on="_row", how="left")
        .with_columns(
            pl.col("model").fill_null("BottomUp"),
            pl.col("fallback").fill_null(False),
        )
        .drop("_row")
    )
    return report


def _forecast_frame(
    hierarchy: Hierarchy,
    *,
    dates: pl.Series,
    mean: np.ndarray,
    bounds: dict[str, np.ndarray],
    models: pl.DataFrame,
    method: str,
) -> pl.DataFrame:
    n, horizon = mean.shape
    idx = pl.Series(np.repeat(np.arange(n), horizon))
    nodes = hierarchy.nodes.select("unique_id", "level", *hierarchy.key_columns).with_columns(
        model=models["model"]
    )
    return (
        nodes.select(pl.all().gather(idx))
        .with_columns(
            pl.Series("ds", np.tile(dates.to_numpy(), n)),
            pl.Series("mean", mean.ravel()),
            *[pl.Series(name, b.ravel()) for name, b in bounds.items()],
            method=pl.lit(method),
        )
        .select(
            "unique_id",
            "level",
            *hierarchy.key_columns,
            "ds",
            "mean",
            *bounds,
            "model",
            "method",
        )
    )


def _with_aggregates(
    bottom: BaseFit,
    y: np.ndarray,
    start: np.ndarray,
    hierarchy: Hierarchy,
    fit: functools.partial[tuple[np.ndarray, BaseFit]],
) -> tuple[np.ndarray, BaseFit]:
    """Every node's base fit from the bottom series' fit and one of the aggregates: the fit of all
    nodes at once, bit for bit — each series is fitted on its own, except that a
    multiplicative-season ETS model's horizon spreads are simulated from one random stream for
    all the series that chose it, so where both parts chose the same such model the nodes are
    fitted together again instead."""
    kw = fit.keywords
    agg = np.arange(hierarchy.n_aggregate)
    top = fit_base(y[agg], start[agg], m=kw["m"], horizon=kw["horizon"], models=kw["models"],
                   refine=kw["refine"])  # fmt: skip
    simulated = [{str(m) for m in part.report["model"] if str(m).endswith(",M)")}
                 for part in (top, bottom)]  # fmt: skip
    if simulated[0] & simulated[1]:
        return fit(all_nodes=True)
    both = (top, bottom)
    n_params = None if top.n_params is None or bottom.n_params is None else np.concatenate(
        [top.n_params, bottom.n_params])  # fmt: skip
    base = BaseFit(
        mean=np.concatenate([p.mean for p in both]),
        fitted=np.concatenate([p.fitted for p in both]),
        residuals=np.concatenate([p.residuals for p in both]),
        horizon_scale=np.concatenate([p.horizon_scale for p in both]),
        report={k: np.concatenate([top.report[k], bottom.report[k]]) for k in top.report},
        n_params=n_params,
    )
    return np.arange(hierarchy.n_nodes), base


def _own_backtest(frame: pl.DataFrame | pl.LazyFrame, **kwargs: Any) -> BacktestErrors | None:
    """`calibrate=True`'s two-origin backtest of the named method (None when the history is too
    short for one: the bands are left as they are)."""
    from engine.forecasting._backtest import backtest

    errors = BacktestErrors()
    try:
        backtest(frame, benchmarks=(), n_windows=2, errors=errors, **kwargs)
    except ConfigError:
        return None
    return errors


def forecast(
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
    reconcile: str = "auto",
    drivers: Sequence[Driver | Mapping[str, Any]] = (),
    nonnegative: bool = True,
    fill_value: float = 0.0,
    refine: bool = False,
    counts: bool = False,
    calibrate: bool | None = None,
    calibration: BandCalibration | None = None,
) -> ForecastResult:
    """Forecast every node of a hierarchy of series, coherently and with prediction intervals.

    `frame` is long format: `unique_id, ds, y` (statsforecast's convention; independent series when
    `hierarchy` is None) or the hierarchy's key columns + `date_col` + `value_col`, bottom level
    only — aggregates are built by summing. `freq` is a polars interval ("1mo", "3mo" or "1q", ...);
    `season_length` defaults to the periods in a year. ETS parameters come from a grid shared by
    all series; `refine=True` polishes them with one joint L-BFGS-B over the summed losses (on the
    benchmark's holdout it did not improve accuracy and took 40% of the fitting time, so it is off
    by default). `reconcile="auto"` (the default, as in the forecast configuration) runs a
    two-origin backtest of bottom_up, ols, wls_struct and mint_shrink on this data first and uses the
    one with the lowest scaled quantile loss (`reconciliation.reason` gives the scores; too short a
    history for a backtest: mint_shrink, saying so); name a method to skip the backtest (about
    half the time). See `engine.forecasting` for the methods.

    `counts=True`: the series count something (open cases, case-months, new cases): error paths
    stay period-aligned and no band is narrower than the Poisson law of its node's mean
    (`_intervals`). Interval widths are calibrated on a rolling-origin backtest of this data
    (`_calibration`: per hierarchy level and horizon, the factor that makes the backtest's bands
    cover their level) whenever one is at hand: `reconcile="auto"`'s own backtest, or with
    `calibrate=True` a two-origin backtest of the named method (about two more fits);
    `calibrate=False` never; `calibration`: factors measured elsewhere (e.g. a configuration's
    own backtest) applied as they are.

    >>> import datetime as dt, polars as pl
    >>> frame = pl.DataFrame({
    ...     "unique_id": ["a"] * 24,
    ...     "ds": pl.date_range(dt.date(2023, 1, 1), dt.date(2024, 12, 1), "1mo", eager=True),
    ...     "y": [float(i % 12) for i in range(24)],
    ... })
    >>> forecast(frame, horizon=3, models=("seasonal_naive",)).forecasts["mean"].to_list()
    [0.0, 1.0, 2.0]
    """
    check_options(horizon=horizon, levels=levels, reconcile=reconcile, season_length=season_length)
    parse_models(models)
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
    m = season_length or default_season_length(freq)
    fit = functools.partial(
        fit_nodes, data.y, data.start, hier, m=m, horizon=horizon, models=models, refine=refine
    )
    chosen = None
    errors = None
    bottom_fit: Future[tuple[np.ndarray, BaseFit]] | None = None
    if reconcile == AUTO and hier.n_aggregate:  # the method this run's backtest scores best
        from engine.forecasting._backtest import auto_choice

        # bottom-up's fit (the bottom series') is made while the backtest runs: the two share
        # the cores, and the backtest's serial parts (reconciliation, scores) no longer wait
        pool = ThreadPoolExecutor(1)
        bottom_fit = pool.submit(fit, all_nodes=False)
        pool.shutdown(wait=False)
        try:
            reconcile, chosen, errors = auto_choice(
                frame, hierarchy=spec, date_col=date_col, value_col=value_col, horizon=horizon,
                freq=freq, season_length=season_length, models=models, levels=levels,
                nonnegative=nonnegative, fill_value=fill_value, refine=refine, prepared=data,
                counts=counts,
            )  # fmt: skip
        finally:
            wait([bottom_fit])  # a failed backtest leaves no fit running
    method = reconcile if hier.n_aggregate else "bottom_up"
    dates = future_dates(data.panel.dates[-1], freq, horizon)
    parsed = [d if isinstance(d, Driver) else parse_drivers([d])[0] for d in drivers]
    multiplier, driver_summary = driver_multipliers(parsed, hier.bottom, dates)
    if bottom_fit is None:
        rows, base = fit(all_nodes=method != "bottom_up")
    elif method == "bottom_up":
        rows, base = bottom_fit.result()  # the fit `fit(all_nodes=False)` makes, made meanwhile
    else:  # every node's own fit: the aggregates' added to the bottom series' made meanwhile
        rows, base = _with_aggregates(bottom_fit.result()[1], data.y, data.start, hier, fit)
    outcome = reconcile_and_bound(
        rows,
        base,
        hier,
        method=method,
        levels=levels,
        multiplier=multiplier if parsed else None,
        nonnegative=nonnegative,
        counts=counts,
    )
    if calibration is None and calibrate is not False:
        if errors is None and calibrate:
            errors = _own_backtest(
                frame, hierarchy=spec, date_col=date_col, value_col=value_col, horizon=horizon,
                freq=freq, season_length=season_length, models=models, levels=levels,
                methods=(method,), nonnegative=nonnegative, fill_value=fill_value, refine=refine,
                prepared=data, counts=counts,
            )  # fmt: skip
        used = method if hier.n_aggregate else "base"  # a flat backtest runs `base` only
        calibration = None if errors is None else errors.calibration(used)
    if calibration is not None:
        bounds = calibration.apply(
            outcome.mean, outcome.raw_bounds or outcome.bounds, hier.nodes["level"].to_numpy(),
            levels=levels, nonnegative=nonnegative,
        )  # fmt: skip
        outcome = dataclasses.replace(outcome, bounds=bounds)
    report = _model_report(hier, rows, base, method)
    frame_out = _forecast_frame(
        hier, dates=dates, mean=outcome.mean, bounds=outcome.bounds, models=report, method=method
    )
    info = outcome.info
    if method != reconcile:
        info = dataclasses.replace(info, requested=reconcile, reason="no aggregate levels")
    if chosen is not None:
        info = dataclasses.replace(info, requested=AUTO, reason=chosen)
    if nonnegative:  # the output contract: a coherent, non-negative forecast inside its intervals
        from engine.contracts import check_forecast_output

        frame_out = check_forecast_output(frame_out)
    return ForecastResult(
        forecasts=frame_out,
        models=report,
        reconciliation=info,
        drivers=driver_summary,
        hierarchy=hier,
        levels=tuple(levels),
    )
