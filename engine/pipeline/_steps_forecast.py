"""Pipeline steps that look ahead: forecast need from the registry's history and price it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl

from engine.errors import ConfigError
from engine.invariants import assert_finite_money
from engine.pipeline._common import (
    add_months,
    extract_date_of,
    format_uah,
    month_label,
    months_of,
    reference_tables,
    stage_module,
    validated_registry,
)
from engine.pipeline._step import StepContext, StepOutput

__all__ = ["forecast_step", "price_step"]


# The forecasting hierarchy: territories nested, crossed with services grouped.
_HIERARCHY = {
    "nested": ["oblast_code", "raion_code", "hromada_code"],
    "crossed": [["service_group", "service_code"]],
}
_TARGET = "case_months_need"  # assessed need: served + waiting case-months
_MIX_MONTHS = 12  # the need-level mix of forecast claims is that of the last year


def _history_window(ctx: StepContext) -> tuple[dt.date, dt.date]:
    """The last `history_months` complete months before the extract date."""
    extract_date = extract_date_of(ctx)
    last = extract_date.replace(day=1)
    if add_months(last, 1) - dt.timedelta(days=1) != extract_date:
        last = add_months(last, -1)  # the extract's month is incomplete: leave it out
    return add_months(last, 1 - ctx.spec.history_months), last


def _horizon(ctx: StepContext, last_history: dt.date) -> int:
    if ctx.spec.horizon is not None:
        return ctx.spec.horizon
    _, last = months_of(ctx)
    months = (last.year - last_history.year) * 12 + last.month - last_history.month
    if months < 1:
        raise ConfigError(
            f"horizon: auto reaches no month: months end {last:%Y-%m}, history ends "
            f"{last_history:%Y-%m}",
            path=ctx.spec.path,
        )
    return months


def _demand_history(
    segments: Callable[[dt.date, dt.date], pl.DataFrame],
    series: Callable[[pl.DataFrame], pl.DataFrame],
    first: dt.date,
    last: dt.date,
    chunk: int = 12,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Monthly need series over `first..last`, priced a year at a time, and the need-level mix.

    Three years of segments at once would hold every priced segment of a large registry in memory;
    a year at a time bounds the peak. Each year after the first is priced from one month earlier
    and that month dropped, so a case continuing from the year before is not counted as new. The
    mix (case-months by need level per hromada × service) is that of the last 12 months.
    """
    parts, mixes = [], []
    mix_from = max(first, add_months(last, 1 - _MIX_MONTHS))
    start = first
    while start <= last:
        end = min(add_months(start, chunk - 1), last)
        lead = start if start == first else add_months(start, -1)
        priced = segments(lead, end)
        parts.append(series(priced).filter(pl.col("month") >= start))
        if end >= mix_from:
            mixes.append(_need_level_mix(priced.filter(pl.col("month") >= max(start, mix_from))))
        del priced
        start = add_months(end, 1)
    mix = (
        pl.concat(mixes)
        .group_by("hromada_code", "service_code", "need_level")
        .agg(pl.col("case_months").sum())
    )
    return _complete(pl.concat(parts, how="vertical_relaxed"), first, last), mix


def _complete(history: pl.DataFrame, first: dt.date, last: dt.date) -> pl.DataFrame:
    """Every hromada × service every month from its first to `last`, zeros where a year had none
    (as one `demand_series` over the whole window gives); new cases stay unknown in `first`."""
    pair = ["hromada_code", "service_code"]
    attributes = [c for c in ("raion_code", "oblast_code", "service_group") if c in history.columns]
    values = [c for c in history.columns if c not in {"month", *pair, *attributes}]
    months = pl.DataFrame({"month": pl.date_range(first, last, "1mo", eager=True)})
    grid = (
        history.group_by(pair)
        .agg(pl.col(attributes).first(), pl.col("month").min().alias("_first"))
        .join(months, how="cross")
        .filter(pl.col("month") >= pl.col("_first"))
        .drop("_first")
    )
    filled = grid.join(history.select("month", *pair, *values), on=["month", *pair], how="left")
    return (
        filled.with_columns(pl.col(values).fill_null(0.0))
        .with_columns(
            pl.when(pl.col("month") == first).then(None).otherwise(pl.col(c)).alias(c)
            for c in values
            if c == "new_cases"
        )
        .select(history.columns)
        .sort(*pair, "month")
    )


def _need_level_mix(segments: pl.DataFrame) -> pl.DataFrame:
    """Case-months (served + waiting) by need level, per hromada × service."""
    return segments.group_by("hromada_code", "service_code", "need_level").agg(
        case_months=(pl.col("days") / pl.col("days_in_month")).sum()
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


def forecast_step(ctx: StepContext) -> StepOutput:
    params = stage_module("engine.params")
    entitlements = stage_module("engine.entitlements")
    demand = stage_module("engine.demand")
    forecasting = stage_module("engine.forecasting")
    spec = ctx.spec
    territories, services = reference_tables(ctx)
    first, last = _history_window(ctx)
    model = params.load_funding_model(spec.funding_model, spec.scenario, services=services)
    registry = validated_registry(ctx)
    series, mix = _demand_history(
        lambda lo, hi: (
            entitlements.compute_entitlements(
                registry, model, territories, months=(lo, hi)
            ).segments
        ),
        demand.demand_series,
        first,
        last,
    )
    series = series.with_columns(
        (pl.col("case_months_served") + pl.col("case_months_waiting")).alias(_TARGET)
    )
    horizon = _horizon(ctx, last)
    result = forecasting.forecast(
        series, hierarchy=_HIERARCHY, date_col="month", value_col=_TARGET, horizon=horizon
    )
    frames = {
        "forecast": result.forecasts,
        "models": result.models,
        "history": series.rename({"month": "ds"}).with_columns(y=pl.col(_TARGET)),
        "need_level_mix": mix,
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
        f"Forecast of assessed need {start:%Y-%m}..{end:%Y-%m} from {first:%Y-%m}..{last:%Y-%m} "
        f"({result.hierarchy.n_bottom:,} hromada × service series, reconciled by "
        f"{result.reconciliation.method}): {bands['mean'][0]:,.0f} case-months a month "
        f"(80% interval {bands['lo_80'][0]:,.0f}–{bands['hi_80'][0]:,.0f}).",
    )
    return StepOutput(
        frames=frames,
        publish=publish,
        meta={"history": [first.isoformat(), last.isoformat()], "horizon": horizon},
        rows_read=registry.cases.height,
        notes=notes,
    )


def price_step(ctx: StepContext) -> StepOutput:
    params = stage_module("engine.params")
    demand = stage_module("engine.demand")
    spec = ctx.spec
    _, services = reference_tables(ctx)
    model = params.load_funding_model(spec.funding_model, spec.scenario, services=services)
    forecast = ctx.frame("forecast", "forecast")
    bottom = forecast.filter(
        pl.col("hromada_code").is_not_null() & pl.col("service_code").is_not_null()
    )
    history = ctx.frame("forecast", "history").rename({"ds": "month"})
    priced = demand.price_forecast(bottom, history, model)
    first, last = months_of(ctx)
    covered = priced["month"].max()
    if covered is None or covered < last:
        raise ConfigError(
            f"the forecast ends {covered:%Y-%m} but months run to {last:%Y-%m}: set horizon: auto "
            "or a longer horizon",
            path=spec.path,
        )
    need = _split_by_need_level(
        priced.filter(pl.col("month").is_between(first, last)),
        ctx.frame("forecast", "need_level_mix"),
    )
    assert_finite_money(need, None, "forecast_need")
    notes = (
        f"Need {month_label(first, last)} priced by funding model {model.version}: "
        f"{format_uah(float(need['need_uah'].sum()))} for {need['case_months'].sum():,.0f} case-months.",
    )
    return StepOutput(
        frames={"need": need},
        publish={"need": "forecast_need"},
        rows_read=bottom.height,
        notes=notes,
    )
