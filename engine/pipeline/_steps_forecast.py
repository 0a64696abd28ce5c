"""The nodes that look ahead: demand history from the run's one pricing, the forecast, its price."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl
import polars.selectors as cs

from engine.errors import ConfigError
from engine.invariants import assert_finite_money
from engine.pipeline._codecs import cacheable
from engine.pipeline._common import add_months, format_uah, stage_module
from engine.pipeline._graph import node, product
from engine.pipeline._nodes import HistoryWindow, Months
from engine.pipeline._pricing import Priced
from engine.pipeline._spec import RunSpec
from engine.pipeline._step import StepOutput

if TYPE_CHECKING:
    from engine.params import FundingModel

__all__ = ["DemandHistory", "demand_history", "forecast", "price"]


# The forecasting hierarchy: territories nested, crossed with services grouped.
_HIERARCHY = {
    "nested": ["oblast_code", "raion_code", "hromada_code"],
    "crossed": [["service_group", "service_code"]],
}
_TARGET = "case_months_need"  # assessed need: served + waiting case-months
_MIX_MONTHS = 12  # the need-level mix of forecast claims is that of the last year


@cacheable
@dataclass(frozen=True)
class DemandHistory:
    """Monthly need series per hromada × service over the history window, and the need-level mix
    (case-months by need level per hromada × service over its last 12 months)."""

    series: pl.DataFrame
    mix: pl.DataFrame

    def to_cache(self) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
        return {"series": self.series, "mix": self.mix}, {}

    @classmethod
    def from_cache(cls, frames: dict[str, pl.DataFrame], meta: dict[str, Any]) -> DemandHistory:
        return cls(frames["series"], frames["mix"])


def _need_level_mix(segments: pl.DataFrame) -> pl.DataFrame:
    """Case-months (served + waiting) by need level, per hromada × service."""
    return segments.group_by("hromada_code", "service_code", "need_level").agg(
        case_months=(pl.col("days") / pl.col("days_in_month")).sum()
    )


@node(title="Demand history", cache=True)
def demand_history(priced: Priced, history: HistoryWindow) -> DemandHistory:
    demand = stage_module("engine.demand")
    segments = priced.history_segments
    if segments is None:
        raise ConfigError("the run priced no history to forecast from")
    series = demand.demand_series(segments).with_columns(cs.categorical().cast(pl.String))
    mix_from = max(history.first, add_months(history.last, 1 - _MIX_MONTHS))
    mix = _need_level_mix(segments.filter(pl.col("month") >= mix_from)).with_columns(
        cs.categorical().cast(pl.String)
    )
    return DemandHistory(series.sort("hromada_code", "service_code", "month"), mix)


def _horizon(spec: RunSpec, months: Months, last_history: Any) -> int:
    if spec.horizon is not None:
        return spec.horizon
    last = months.last
    count = (last.year - last_history.year) * 12 + last.month - last_history.month
    if count < 1:
        raise ConfigError(
            f"horizon: auto reaches no month: months end {last:%Y-%m}, history ends "
            f"{last_history:%Y-%m}",
            path=spec.path,
        )
    return count


@product(
    title="Forecasting need",
    publishes=("forecast", "forecast_models", "forecast_history", "backtest (backtest_windows)"),
    params=("horizon", "backtest_windows"),
    cache=True,
)
def forecast(
    spec: RunSpec, demand_history: DemandHistory, history: HistoryWindow, months: Months
) -> StepOutput:
    forecasting = stage_module("engine.forecasting")
    series = demand_history.series.with_columns(
        (pl.col("case_months_served") + pl.col("case_months_waiting")).alias(_TARGET)
    )
    horizon = _horizon(spec, months, history.last)
    result = forecasting.forecast(
        series, hierarchy=_HIERARCHY, date_col="month", value_col=_TARGET, horizon=horizon
    )
    frames = {
        "forecast": result.forecasts,
        "models": result.models,
        # published in the forecasts' own convention (`ds`, `y`); the nodes keep `month`
        "history": series.rename({"month": "ds"}).with_columns(y=pl.col(_TARGET)),
    }
    publish = {"forecast": "forecast", "models": "forecast_models", "history": "forecast_history"}
    if spec.backtest_windows:
        frames["backtest"] = forecasting.backtest(
            series,
            hierarchy=_HIERARCHY,
            date_col="month",
            value_col=_TARGET,
            horizon=min(horizon, 12),
            n_windows=spec.backtest_windows,
        )
        publish["backtest"] = "backtest"
    total = result.forecasts.filter(pl.col("level") == result.forecasts["level"][0])
    start, end = total["ds"].min(), total["ds"].max()
    bands = total.select(pl.col("mean", "lo_80", "hi_80").mean())
    notes = (
        f"Forecast of assessed need {start:%Y-%m}..{end:%Y-%m} from "
        f"{history.first:%Y-%m}..{history.last:%Y-%m} "
        f"({result.hierarchy.n_bottom:,} hromada × service series, reconciled by "
        f"{result.reconciliation.method}): {bands['mean'][0]:,.0f} case-months a month "
        f"(80% interval {bands['lo_80'][0]:,.0f}–{bands['hi_80'][0]:,.0f}).",
    )
    return StepOutput(
        frames=frames,
        publish=publish,
        meta={
            "history": [history.first.isoformat(), history.last.isoformat()],
            "horizon": horizon,
        },
        rows_read=series.height,
        notes=notes,
    )


def _split_by_need_level(priced: pl.DataFrame, mix: pl.DataFrame) -> pl.DataFrame:
    """Forecast need per hromada × service × month, split over need levels by the recent mix.

    Allocation policies tier claims by need level; a forecast is made per hromada × service, so each
    of its rows is shared out in proportion to the case-months of each need level there over the
    last year — or, where that hromada had none of the service, the service's national mix, else
    the national mix. Shares sum to 1, so the split keeps every total.
    """
    pair = ["hromada_code", "service_code"]

    def shares(keys: list[str]) -> pl.DataFrame:
        grouped = mix.group_by(*keys, "need_level").agg(pl.col("case_months").sum())
        total = pl.col("case_months").sum().over(keys) if keys else pl.col("case_months").sum()
        return grouped.with_columns(share=pl.col("case_months") / total).drop("case_months")

    local, service, national = shares(pair), shares(["service_code"]), shares([])
    pairs = priced.select(pair).unique()
    with_local = pairs.join(local.select(pair).unique(), on=pair, how="semi")
    others = pairs.join(with_local, on=pair, how="anti")
    with_service = others.join(
        service.select("service_code").unique(), on="service_code", how="semi"
    )
    rest = others.join(with_service, on=pair, how="anti")
    weights = pl.concat(
        [
            with_local.join(local, on=pair),
            with_service.join(service, on="service_code"),
            rest.join(national, how="cross"),
        ],
        how="diagonal_relaxed",
    )
    scaled = [c for c in priced.columns if c == "case_months" or c.startswith("need_uah")]
    return (
        priced.join(weights, on=pair)
        .with_columns(pl.col(c) * pl.col("share") for c in scaled)
        .drop("share")
        .sort(*pair, "month", "need_level")
    )


@product(title="Pricing the forecast", publishes=("forecast_need",), cache=True)
def price(
    spec: RunSpec,
    forecast: StepOutput,
    demand_history: DemandHistory,
    model: FundingModel,
    months: Months,
) -> StepOutput:
    demand = stage_module("engine.demand")
    frame = forecast.frames["forecast"]
    bottom = frame.filter(
        pl.col("hromada_code").is_not_null() & pl.col("service_code").is_not_null()
    )
    priced = demand.price_forecast(bottom, demand_history.series, model)
    covered = priced["month"].max()
    if covered is None or covered < months.last:
        raise ConfigError(
            f"the forecast ends {covered:%Y-%m} but months run to {months.last:%Y-%m}: set "
            "horizon: auto or a longer horizon",
            path=spec.path,
        )
    need = _split_by_need_level(
        priced.filter(pl.col("month").is_between(months.first, months.last)),
        demand_history.mix,
    )
    assert_finite_money(need, None, "forecast_need")
    notes = (
        f"Need {months.label} priced by funding model {model.version}: "
        f"{format_uah(float(need['need_uah'].sum()))} for {need['case_months'].sum():,.0f} "
        "case-months.",
    )
    return StepOutput(
        frames={"need": need},
        publish={"need": "forecast_need"},
        rows_read=bottom.height,
        notes=notes,
    )
