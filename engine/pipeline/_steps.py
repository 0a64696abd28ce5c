"""The engine's pipeline steps: thin adapters from a `StepContext` to the stage modules' functions.

Each step reads the frames earlier steps produced, calls pure stage functions, and returns a
`StepOutput` naming what is published to the store. Stage modules are imported inside the steps, so
loading a spec does not import them (`import engine` stays light).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl

from engine.errors import ConfigError, EngineError
from engine.pipeline._spec import resolve_months
from engine.pipeline._step import StepContext, StepDef, StepOutput
from engine.schemas import REGISTRY_TABLES, Registry

__all__ = ["STEPS"]


# -- shared helpers --------------------------------------------------------------------------------


def _reference(ctx: StepContext) -> tuple[pl.DataFrame, pl.DataFrame]:
    from engine.reference import load_services, load_territories

    folder = ctx.spec.reference
    return load_territories(folder / "territories.csv"), load_services(folder / "services.csv")


def _registry(ctx: StepContext) -> Registry:
    """The validated registry, rebuilt from the validate step's frames (which may come from cache)."""
    out = ctx.upstream["validate"]
    return Registry(
        **{name: out.frames[name] for name in REGISTRY_TABLES},
        extract_date=dt.date.fromisoformat(out.meta["extract_date"]),
        quarantine=out.frames["quarantine"],
        rows_read=dict(out.meta["rows_read"]),
        warnings=out.frames["warnings"],
    )


def _extract_date(ctx: StepContext) -> dt.date:
    return dt.date.fromisoformat(ctx.meta("validate", "extract_date"))


def _months(ctx: StepContext) -> tuple[dt.date, dt.date]:
    return resolve_months(ctx.spec.months, _extract_date(ctx))


def _month_label(first: dt.date, last: dt.date) -> str:
    return f"{first:%Y-%m}..{last:%Y-%m}"


def _add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _uah(amount: float) -> str:
    """Money for a planner: billions or millions with one decimal, whole hryvnias below that."""
    if abs(amount) >= 1e9:
        return f"{amount / 1e9:,.2f} bn UAH"
    if abs(amount) >= 1e6:
        return f"{amount / 1e6:,.1f} M UAH"
    return f"{amount:,.0f} UAH"


def _stage(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            raise EngineError(f"this engine has no module {module}: the step cannot run") from None
        raise


# -- validate --------------------------------------------------------------------------------------


def _validate(ctx: StepContext) -> StepOutput:
    from engine.registry import check_quarantine_threshold, quarantined_share, read_registry

    spec = ctx.spec
    territories, services = _reference(ctx)
    registry = read_registry(
        spec.extract,
        extract_date=spec.extract_date,
        territories=territories,
        services_catalogue=services,
    )
    shares = quarantined_share(registry)
    worst = shares.sort("share", descending=True).row(0, named=True)
    notes = [
        f"Extract {spec.relative(spec.extract)}, taken {registry.extract_date:%Y-%m-%d}: "
        f"{registry.recipients.height:,} recipients, {registry.cases.height:,} cases, "
        f"{registry.providers.height:,} providers.",
    ]
    quarantined = int(shares["quarantined"].sum())
    if quarantined:
        notes.append(
            f"Quarantined {quarantined:,} rows (most in '{worst['table']}': {worst['share']:.1%}); "
            "see the quarantine table for each row's reason."
        )
    if worst["share"] > spec.quarantine_threshold:
        if not ctx.accept_quarantine:
            check_quarantine_threshold(registry, spec.quarantine_threshold)
        notes.append(
            f"Quarantine above the {spec.quarantine_threshold:.0%} threshold accepted by the "
            "operator (--accept-quarantine)."
        )
    frames = {name: registry.table(name) for name in REGISTRY_TABLES}
    frames["quarantine"] = registry.quarantine
    frames["warnings"] = registry.warnings
    return StepOutput(
        frames=frames,
        publish={"quarantine": "quarantine"},
        meta={
            "extract_date": registry.extract_date.isoformat(),
            "rows_read": {k: int(v) for k, v in registry.rows_read.items()},
        },
        rows_read=int(sum(registry.rows_read.values())),
        rows_quarantined=quarantined,
        notes=tuple(notes),
    )


# -- entitle ---------------------------------------------------------------------------------------


def _entitle(ctx: StepContext) -> StepOutput:
    params = _stage("engine.params")
    entitlements = _stage("engine.entitlements")
    spec = ctx.spec
    territories, services = _reference(ctx)
    first, last = _months(ctx)
    model = params.load_funding_model(spec.funding_model, spec.scenario, services=services)
    registry = _registry(ctx)
    result = entitlements.compute_entitlements(registry, model, territories, months=(first, last))
    case_months = result.case_months
    funded = case_months.filter(pl.col("funded"))
    waiting = case_months.filter(~pl.col("funded"))
    extract_month = _extract_date(ctx).replace(day=1)
    projected = (
        f"; months after {extract_month:%Y-%m} assume open cases go on"
        if last > extract_month
        else ""
    )
    notes = [
        f"Entitlements {_month_label(first, last)} (funding model {model.version}{projected}): "
        f"{funded['case_id'].n_unique():,} cases served, {waiting['case_id'].n_unique():,} "
        f"waiting; the state owes {_uah(funded['state_uah'].sum())}, co-payments "
        f"{_uah(funded['copay_uah'].sum())}, unmet need {_uah(waiting['state_uah'].sum())}.",
    ]
    return StepOutput(
        frames={
            "case_months": case_months,
            "rollups": result.rollups,
            "flows": result.flows,
        },
        publish={"case_months": "case_months", "rollups": "rollups", "flows": "flows"},
        meta={
            "months": [first.isoformat(), last.isoformat()],
            "model_version": str(model.version),
            "model_hash": str(model.content_hash),
        },
        rows_read=registry.cases.height,
        notes=tuple(notes),
    )


# -- need ------------------------------------------------------------------------------------------


def _need(ctx: StepContext) -> StepOutput:
    from engine.need import need_indicators

    territories, _ = _reference(ctx)
    case_months = ctx.frame("entitle", "case_months")
    first, last = _months(ctx)
    # Need is observed, not projected: months after the extract are left to the forecast.
    observed_last = min(last, _extract_date(ctx).replace(day=1))
    months = pl.date_range(first, observed_last, interval="1mo", eager=True)
    need = need_indicators(case_months, territories, months=months.to_list())
    notes = []
    national = need.filter(pl.col("level") == "national").sort("month")
    if national.height:
        latest = national.row(-1, named=True)
        coverage = latest["coverage"]
        per_10k = latest["case_months_per_10k"]
        notes.append(
            f"Need in {latest['month']:%Y-%m}: {latest['served_cases']:,} cases served, "
            f"{latest['waiting_cases']:,} waiting; coverage of assessed need "
            + ("n/a" if coverage is None else f"{coverage:.1%}")
            + ("" if per_10k is None else f"; {per_10k:.1f} case-months per 10,000 residents")
            + "."
        )
    return StepOutput(
        frames={"need": need},
        publish={"need": "need"},
        rows_read=case_months.height,
        notes=tuple(notes),
    )


# -- forecast and price ----------------------------------------------------------------------------

# The forecasting hierarchy: territories nested, crossed with services grouped.
_HIERARCHY = {
    "nested": ["oblast_code", "raion_code", "hromada_code"],
    "crossed": [["service_group", "service_code"]],
}
_TARGET = "case_months_need"  # assessed need: served + waiting case-months
_MIX_MONTHS = 12  # the need-level mix of forecast claims is that of the last year


def _history_window(ctx: StepContext) -> tuple[dt.date, dt.date]:
    """The last `history_months` complete months before the extract date."""
    extract_date = _extract_date(ctx)
    last = extract_date.replace(day=1)
    if _add_months(last, 1) - dt.timedelta(days=1) != extract_date:
        last = _add_months(last, -1)  # the extract's month is incomplete: leave it out
    return _add_months(last, 1 - ctx.spec.history_months), last


def _horizon(ctx: StepContext, last_history: dt.date) -> int:
    if ctx.spec.horizon is not None:
        return ctx.spec.horizon
    _, last = _months(ctx)
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
    mix_from = max(first, _add_months(last, 1 - _MIX_MONTHS))
    start = first
    while start <= last:
        end = min(_add_months(start, chunk - 1), last)
        lead = start if start == first else _add_months(start, -1)
        priced = segments(lead, end)
        parts.append(series(priced).filter(pl.col("month") >= start))
        if end >= mix_from:
            mixes.append(_need_level_mix(priced.filter(pl.col("month") >= max(start, mix_from))))
        del priced
        start = _add_months(end, 1)
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


def _forecast(ctx: StepContext) -> StepOutput:
    params = _stage("engine.params")
    entitlements = _stage("engine.entitlements")
    demand = _stage("engine.demand")
    forecasting = _stage("engine.forecast")
    spec = ctx.spec
    territories, services = _reference(ctx)
    first, last = _history_window(ctx)
    model = params.load_funding_model(spec.funding_model, spec.scenario, services=services)
    registry = _registry(ctx)
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


def _no_nan_prices(priced: pl.DataFrame) -> pl.DataFrame:
    """A service with no case-months in the pricing window gets a 0/0 = NaN price from
    `price_forecast`, whose docstring means it as "no history" (price 0); make it so, rather than
    hand NaN claims to the allocation. (Reported upstream; harmless once fixed there.)"""
    nan = pl.col("price_uah").is_nan()
    need = [c for c in priced.columns if c.startswith("need_uah")]
    return priced.with_columns(
        pl.when(nan)
        .then(pl.lit("no history"))
        .otherwise(pl.col("price_basis"))
        .alias("price_basis"),
        *(pl.when(nan).then(0.0).otherwise(pl.col(c)).alias(c) for c in ["price_uah", *need]),
    )


def _price(ctx: StepContext) -> StepOutput:
    params = _stage("engine.params")
    demand = _stage("engine.demand")
    spec = ctx.spec
    _, services = _reference(ctx)
    model = params.load_funding_model(spec.funding_model, spec.scenario, services=services)
    forecast = ctx.frame("forecast", "forecast")
    bottom = forecast.filter(
        pl.col("hromada_code").is_not_null() & pl.col("service_code").is_not_null()
    )
    history = ctx.frame("forecast", "history").rename({"ds": "month"})
    priced = _no_nan_prices(demand.price_forecast(bottom, history, model))
    first, last = _months(ctx)
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
    notes = (
        f"Need {_month_label(first, last)} priced by funding model {model.version}: "
        f"{_uah(need['need_uah'].sum())} for {need['case_months'].sum():,.0f} case-months.",
    )
    return StepOutput(
        frames={"need": need},
        publish={"need": "forecast_need"},
        rows_read=bottom.height,
        notes=notes,
    )


# -- scenarios ------------------------------------------------------------------------------------


def _compare(ctx: StepContext) -> StepOutput:
    params = _stage("engine.params")
    entitlements = _stage("engine.entitlements")
    scenarios = _stage("engine.scenarios")
    spec = ctx.spec
    territories, services = _reference(ctx)
    first, last = _months(ctx)
    registry = _registry(ctx)
    # each overlay is compared with the plain funding model: its own winners and losers
    baseline = params.load_funding_model(spec.funding_model, services=services)
    base = entitlements.compute_entitlements(registry, baseline, territories, months=(first, last))
    by_territory, by_case, notes = [], [], []
    for path in spec.compare_scenarios:
        model = params.load_funding_model(spec.funding_model, path, services=services)
        other = entitlements.compute_entitlements(
            registry, model, territories, months=(first, last)
        )
        diff = scenarios.scenario_diff(base, other)
        name = path.stem
        by_territory.append(diff.territories.with_columns(scenario=pl.lit(name)))
        by_case.append(diff.cases.with_columns(scenario=pl.lit(name)))
        summary = diff.summary()
        notes.append(
            f"Scenario {name} against {baseline.version}: the state pays "
            f"{_uah(summary['diff_state_uah'])} more over "
            f"{_month_label(first, last)}; {summary['winners']:,} cases gain, "
            f"{summary['losers']:,} lose."
        )
    return StepOutput(
        frames={
            "scenario_by_territory": pl.concat(by_territory, how="diagonal_relaxed"),
            "scenario_cases": pl.concat(by_case, how="diagonal_relaxed"),
        },
        publish={
            "scenario_by_territory": "scenario_by_territory",
            "scenario_cases": "scenario_cases",
        },
        rows_read=registry.cases.height,
        notes=tuple(notes),
    )


# -- allocate --------------------------------------------------------------------------------------

# Allocation rows of case-month claims keep the key; the attributes are in `case_months`.
_ALLOCATION_KEEP = ("case_id", "month", "funded")


def _allocate(ctx: StepContext) -> StepOutput:
    allocation = _stage("engine.allocate")
    spec = ctx.spec
    territories, _ = _reference(ctx)
    policy = allocation.load_policy(spec.policy)
    if spec.claims == "forecast":
        source = ctx.frame("price", "need")
        claims = allocation.claims_from_forecast(source)
    else:
        source = ctx.frame("entitle", "case_months")
        claims = allocation.claims_from_case_months(source)
    result = allocation.allocate(claims, policy, spec.envelope_uah, territories=territories)
    rows = result.rows
    if spec.claims == "entitlements":
        redundant = [c for c in source.columns if c not in _ALLOCATION_KEEP]
        rows = rows.drop(redundant, strict=False)
    frames = {name: frame for name, frame in result.frames().items() if name != "rows"}
    frames["rows"] = rows
    shortfall = float(result.by_group["shortfall_uah"].sum())
    notes = [
        f"Allocation under {policy.name}: envelope {_uah(result.envelope_uah)}, claims "
        f"{_uah(result.claims_uah)} ({_uah(result.capped_claims_uah)} after caps), allocated "
        f"{_uah(result.allocated_uah)}; shortfall {_uah(shortfall)}, unspent "
        f"{_uah(result.unspent_uah)}.",
        *(f"Allocation warning: {w}" for w in result.warnings),
    ]
    return StepOutput(
        frames=frames,
        publish={
            name: "allocations" if name == "rows" else f"allocation_{name}" for name in frames
        },
        meta={"policy": policy.name},
        rows_read=claims.height,
        notes=tuple(notes),
    )


# -- report ----------------------------------------------------------------------------------------


def _report(ctx: StepContext) -> StepOutput:
    """The run's HTML report, from the tables the run publishes (as `mfr report RUN` reads them)."""
    report = _stage("engine.report")
    territories, services = _reference(ctx)
    tables = {
        table: output.frames[frame]
        for output in ctx.upstream.values()
        for frame, table in output.publish.items()
    }
    rows_read = ctx.meta("validate", "rows_read") if "validate" in ctx.upstream else {}
    data = report.report_data_from_tables(
        tables, run=ctx.facts, rows_read=rows_read, territories=territories, services=services
    )
    report.build_report(data, ctx.workdir / "report.html")
    return StepOutput(meta={"report": "report.html"})


# -- the catalogue ---------------------------------------------------------------------------------

# compared scenarios are inputs `compare_scenario_1`, `_2`, ... (see the runner)
_COMPARED = tuple(f"compare_scenario_{i}" for i in range(1, 10))

STEPS: dict[str, StepDef] = {
    step.name: step
    for step in (
        StepDef(
            "validate",
            _validate,
            title="Reading and validating the extract",
            inputs=("extract", "reference"),
            params=("extract_date", "quarantine_threshold"),
        ),
        StepDef(
            "entitle",
            _entitle,
            title="Computing entitlements",
            needs=("validate",),
            inputs=("reference", "funding_model", "scenario"),
            params=("months",),
        ),
        StepDef(
            "need",
            _need,
            title="Need accounting",
            needs=("entitle",),
            inputs=("reference",),
            params=("months",),
        ),
        StepDef(
            "forecast",
            _forecast,
            title="Forecasting need",
            needs=("validate",),
            inputs=("reference", "funding_model", "scenario"),
            params=("months", "history_months", "horizon", "backtest_windows"),
        ),
        StepDef(
            "price",
            _price,
            title="Pricing the forecast",
            needs=("forecast",),
            inputs=("reference", "funding_model", "scenario"),
            params=("months",),
        ),
        StepDef(
            "compare",
            _compare,
            title="Comparing scenarios",
            needs=("validate",),
            inputs=("reference", "funding_model", *_COMPARED),
            params=("months", "compare_scenarios"),
            requires=("compare_scenarios",),
        ),
        StepDef(
            "allocate",
            _allocate,
            title="Allocating the envelope",
            after=("entitle", "price"),
            inputs=("reference", "policy"),
            params=("claims", "envelope_uah"),
            requires=("policy",),
        ),
        StepDef(
            "report",
            _report,
            title="Writing the report",
            after=("validate", "entitle", "forecast", "allocate", "compare"),
            cacheable=False,
        ),
    )
}
