"""The engine's pipeline steps: thin adapters from a `StepContext` to the stage modules' functions.

Each step reads the frames earlier steps produced, calls pure stage functions, and returns a
`StepOutput` naming what is published to the store. Stage modules are imported inside the steps, so
loading a spec does not import them (`import engine` stays light).
"""

from __future__ import annotations

import math

import polars as pl

from engine.invariants import assert_finite_money
from engine.pipeline._common import (
    extract_date_of,
    format_uah,
    month_label,
    months_of,
    reference_tables,
    stage_module,
    validated_registry,
)
from engine.pipeline._envelope import envelope_note
from engine.pipeline._step import StepContext, StepDef, StepOutput
from engine.pipeline._steps_forecast import forecast_step, price_step
from engine.schemas import REGISTRY_TABLES

__all__ = ["STEPS"]


def _validate(ctx: StepContext) -> StepOutput:
    from engine.registry import check_quarantine_threshold, quarantined_share, read_registry

    spec = ctx.spec
    territories, services = reference_tables(ctx)
    registry = read_registry(
        spec.extract,
        extract_date=spec.extract_date,
        territories=territories,
        services_catalogue=services,
        pseudonymise=spec.pseudonymise,
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
    params = stage_module("engine.params")
    entitlements = stage_module("engine.entitlements")
    spec = ctx.spec
    territories, services = reference_tables(ctx)
    first, last = months_of(ctx)
    model = params.load_funding_model(spec.funding_model, spec.scenario, services=services)
    registry = validated_registry(ctx)
    result = entitlements.compute_entitlements(registry, model, territories, months=(first, last))
    case_months = result.case_months
    # the output edge: no NaN or infinity is published as money, whatever slipped past the loaders
    for name, frame in (("case_months", case_months), ("rollups", result.rollups)):
        assert_finite_money(frame, None, f"entitlements ({name})")
    assert_finite_money(result.flows, None, "entitlements (flows)")
    funded = case_months.filter(pl.col("funded"))
    waiting = case_months.filter(~pl.col("funded"))
    extract_month = extract_date_of(ctx).replace(day=1)
    projected = (
        f"; months after {extract_month:%Y-%m} assume open cases go on"
        if last > extract_month
        else ""
    )
    notes = [
        f"Entitlements {month_label(first, last)} (funding model {model.version}{projected}): "
        f"{funded['case_id'].n_unique():,} cases served, {waiting['case_id'].n_unique():,} "
        f"waiting; the state owes {format_uah(funded['state_uah'].sum())}, co-payments "
        f"{format_uah(funded['copay_uah'].sum())}, unmet need {format_uah(waiting['state_uah'].sum())}.",
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

    territories, _ = reference_tables(ctx)
    case_months = ctx.frame("entitle", "case_months")
    first, last = months_of(ctx)
    # Need is observed, not projected: months after the extract are left to the forecast.
    observed_last = min(last, extract_date_of(ctx).replace(day=1))
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


# -- scenarios ------------------------------------------------------------------------------------


def _compare(ctx: StepContext) -> StepOutput:
    params = stage_module("engine.params")
    entitlements = stage_module("engine.entitlements")
    scenarios = stage_module("engine.scenarios")
    spec = ctx.spec
    territories, services = reference_tables(ctx)
    first, last = months_of(ctx)
    registry = validated_registry(ctx)
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
            f"{format_uah(summary['diff_state_uah'])} more over "
            f"{month_label(first, last)}; {summary['winners']:,} cases gain, "
            f"{summary['losers']:,} lose."
        )
    compared = {
        "scenario_by_territory": pl.concat(by_territory, how="diagonal_relaxed"),
        "scenario_cases": pl.concat(by_case, how="diagonal_relaxed"),
    }
    for name, frame in compared.items():
        assert_finite_money(frame, None, f"scenario comparison ({name})")
    return StepOutput(
        frames=compared,
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
    allocation = stage_module("engine.allocation")
    from engine.allocation._checks import within_period

    spec = ctx.spec
    spec.check_envelope()  # also when the spec did not come through `with_overrides`
    territories, _ = reference_tables(ctx)
    # caps for services the run's own catalogue does not know are refused, with file and line
    policy = allocation.load_policy(spec.policy, services=spec.reference / "services.csv")
    if spec.claims == "forecast":
        source = ctx.frame("price", "need")
        claims = allocation.claims_from_forecast(source)
    else:
        source = ctx.frame("entitle", "case_months")
        claims = allocation.claims_from_case_months(source)
    # the claims the policy's period admits: what "a share of claims" is a share of
    in_period = within_period(claims, policy, [])
    column = policy.claim_column
    claims_uah = float(in_period[column].sum()) if column in in_period.columns else 0.0
    # bad claims (NaN, missing column) are `allocate`'s to report, with their column and count
    envelope_uah = spec.envelope.amount(claims_uah) if math.isfinite(claims_uah) else None
    result = allocation.allocate(claims, policy, envelope_uah, territories=territories)
    rows = result.rows
    if spec.claims == "entitlements":
        redundant = [c for c in source.columns if c not in _ALLOCATION_KEEP]
        rows = rows.drop(redundant, strict=False)
    frames = {name: frame for name, frame in result.frames().items() if name != "rows"}
    frames["rows"] = rows
    for name, frame in frames.items():
        assert_finite_money(frame, None, f"allocation ({name})")
    shortfall = float(result.by_group["shortfall_uah"].sum())
    envelope_notes = envelope_note(
        spec.envelope,
        envelope_uah=result.envelope_uah,
        claims_uah=result.claims_uah,
        confirmed=spec.envelope_confirmed,
        extract=spec.relative(spec.extract),
        sized_for=spec.relative(spec.envelope.for_extract),
        money=format_uah,
    )
    notes = [
        f"Allocation under {policy.name}: envelope {format_uah(result.envelope_uah)}, claims "
        f"{format_uah(result.claims_uah)} ({format_uah(result.capped_claims_uah)} after caps), allocated "
        f"{format_uah(result.allocated_uah)}; shortfall {format_uah(shortfall)}, unspent "
        f"{format_uah(result.unspent_uah)}.",
        *envelope_notes,
        *(f"Allocation warning: {w}" for w in result.warnings),
    ]
    return StepOutput(
        frames=frames,
        publish={
            name: "allocations" if name == "rows" else f"allocation_{name}" for name in frames
        },
        meta={
            "policy": policy.name,
            "envelope_uah": round(result.envelope_uah, 2),
            "claims_uah": round(result.claims_uah, 2),
            "envelope_share_of_claims": (
                round(result.envelope_uah / result.claims_uah, 6) if result.claims_uah else None
            ),
            "envelope": spec.envelope.parameters() or "policy",
        },
        rows_read=claims.height,
        notes=tuple(notes),
    )


# -- report ----------------------------------------------------------------------------------------


def _report(ctx: StepContext) -> StepOutput:
    """The run's HTML report, from the tables the run publishes (as `mfr report RUN` reads them)."""
    report = stage_module("engine.report")
    territories, services = reference_tables(ctx)
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
            params=("extract_date", "quarantine_threshold", "pseudonymise", "pseudonym_key"),
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
            forecast_step,
            title="Forecasting need",
            needs=("validate",),
            inputs=("reference", "funding_model", "scenario"),
            params=("months", "history_months", "horizon", "backtest_windows"),
        ),
        StepDef(
            "price",
            price_step,
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
            params=("claims", "envelope"),
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
