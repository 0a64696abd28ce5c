"""The nodes that look ahead: the forecast configuration, the forecast of need from the run's one
pricing (`engine.demand.forecast_need`, the path `mfr forecast` and the notebooks take), and the
priced need split by need level for allocation (`engine.demand.split_claims_by_need_level`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

import polars as pl
import polars.selectors as cs

from engine.errors import ConfigError
from engine.invariants import assert_finite_money
from engine.pipeline._common import format_uah, stage_module
from engine.pipeline._graph import node, product
from engine.pipeline._nodes import HistoryWindow, Months, Reference
from engine.pipeline._pricing import Priced
from engine.pipeline._spec import RunSpec
from engine.pipeline._step import StepOutput

if TYPE_CHECKING:
    from engine.forecasting import ForecastConfig
    from engine.params import FundingModel
    from engine.schemas import Registry

__all__ = ["forecast", "forecast_config", "price"]


def _horizon(spec: RunSpec, months: Months, history: HistoryWindow) -> int:
    if spec.horizon is not None:
        return spec.horizon
    last, last_history = months.last, history.last
    count = (last.year - last_history.year) * 12 + last.month - last_history.month
    if count < 1:
        raise ConfigError(
            f"horizon: auto reaches no month: months end {last:%Y-%m}, history ends "
            f"{last_history:%Y-%m}",
            path=spec.path,
        )
    return count


@node(
    title="Reading the forecast configuration",
    # the configuration and every driver series file it reads (`forecast_driver_<n>` roles)
    reads=("forecast", "forecast_driver_*"),
    params=("history_months", "horizon", "backtest_windows", "months"),
)
def forecast_config(spec: RunSpec, months: Months, history: HistoryWindow) -> ForecastConfig:
    """The spec's `forecast:` configuration (what is forecast, the hierarchy, models,
    reconciliation); the spec's `history_months`, `horizon` and `backtest_windows` are the run's."""
    if spec.forecast is None:
        raise ConfigError(
            "the forecast needs a forecast configuration: set 'forecast: "
            "models/forecast/default.yaml' in the spec",
            path=spec.path,
        )
    forecasting = stage_module("engine.forecasting")
    config = forecasting.load_forecast_config(spec.forecast)
    return dataclasses.replace(
        config,
        history_months=spec.history_months,
        horizon=_horizon(spec, months, history),
        backtest_windows=spec.backtest_windows,
    )


@product(
    title="Forecasting need",
    publishes=("forecast", "forecast_models", "forecast_history", "backtest (backtest_windows)"),
    cache=True,
)
def forecast(
    *,
    forecast_config: ForecastConfig,
    priced: Priced,
    extract_date: dt.date,
    reference: Reference,
    model: FundingModel,
    registry: Registry,
) -> StepOutput:
    """The forecast of `forecast_need` from the run's one pricing. With the registry, the priced
    need follows every dated change of the funding model in the forecast months — tariff,
    territorial coefficient (the registry's `territory_status`), modifier and co-payment (the
    recipients' incomes) — as `forecast_need(..., registry=)` does, from the entitlement factors
    the priced history keeps (`engine.demand._reprice`); a history without them follows the
    tariff only, which is what the nightly's narrow history (`_pricing.HISTORY_COLUMNS`) does
    today, for memory."""
    demand = stage_module("engine.demand")
    segments = priced.history_segments
    if segments is None:
        raise ConfigError("the run priced no history to forecast from")
    # the history keeps its text as categoricals; the demand series give it back as text
    need = demand.forecast_need(
        segments,
        forecast_config,
        extract_date=extract_date,
        territories=reference.territories,
        services=reference.services,
        model=model,
        registry=registry,
    )
    first, last = need.history_months
    frames = {
        "forecast": need.forecasts,
        "models": need.models,
        # published in the forecasts' own convention (`ds`, `y`); the nodes keep `month`
        "history": need.history.rename({"month": "ds"}).with_columns(y=pl.col(need.target)),
    }
    if need.need is not None:
        frames["need"] = need.need
    publish = {"forecast": "forecast", "models": "forecast_models", "history": "forecast_history"}
    if need.backtest is not None:
        frames["backtest"] = need.backtest
        publish["backtest"] = "backtest"
    forecasts = need.forecasts
    total = forecasts.filter(pl.col("level") == forecasts["level"][0])
    start, end = total["ds"].min(), total["ds"].max()
    bands = total.select(pl.col("mean", "lo_80", "hi_80").mean())
    result = need.result
    notes = (
        f"Forecast of {need.target} {start:%Y-%m}..{end:%Y-%m} from {first:%Y-%m}..{last:%Y-%m} "
        f"({result.hierarchy.n_bottom:,} hromada × service series, reconciled by "
        f"{result.reconciliation.method}; configuration {forecast_config.name}): "
        f"{bands['mean'][0]:,.0f} case-months a month "
        f"(80% interval {bands['lo_80'][0]:,.0f}–{bands['hi_80'][0]:,.0f}).",
        *(f"Backtest skipped: {why}" for why in need.backtest_skipped),
    )
    return StepOutput(
        frames=frames,
        publish=publish,
        meta={
            "history": [first.isoformat(), last.isoformat()],
            "horizon": forecast_config.horizon,
            "target": need.target,
        },
        rows_read=need.history.height,
        notes=notes,
    )


@product(title="Pricing the forecast", publishes=("forecast_need",), cache=True)
def price(
    *,
    spec: RunSpec,
    forecast: StepOutput,
    priced: Priced,
    extract_date: dt.date,
    model: FundingModel,
    months: Months,
) -> StepOutput:
    """The forecast's priced need over the spec's months, split over need levels by the recent
    mix (allocation policies tier claims by need level)."""
    demand = stage_module("engine.demand")
    need = forecast.frames.get("need")
    if need is None or "need_uah" not in need.columns:
        raise ConfigError(
            "the forecast configuration's target is not assessed need (case_months_need): "
            "there is no need to price and allocate",
            path=spec.forecast or spec.path,
        )
    covered = need["month"].max()
    if not isinstance(covered, dt.date) or covered < months.last:
        ends = f"{covered:%Y-%m}" if isinstance(covered, dt.date) else "nowhere"
        raise ConfigError(
            f"the forecast ends {ends} but months run to {months.last:%Y-%m}: set "
            "horizon: auto or a longer horizon",
            path=spec.path,
        )
    assert priced.history_segments is not None
    history = priced.history_segments.lazy().with_columns(cs.categorical().cast(pl.String))
    split = demand.split_claims_by_need_level(
        need.filter(pl.col("month").is_between(months.first, months.last)),
        history,
        extract_date=extract_date,
    )
    assert_finite_money(split, None, "forecast_need")
    notes = (
        f"Need {months.label} priced by funding model {model.version}: "
        f"{format_uah(split['need_uah'].sum())} for {split['case_months_need'].sum():,.0f} "
        "case-months.",
    )
    return StepOutput(
        frames={"need": split},
        publish={"need": "forecast_need"},
        rows_read=need.height,
        notes=notes,
    )
