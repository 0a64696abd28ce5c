"""The nodes that decide money: scenario comparison, the allocation's claims, the allocation, and
the run's report."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import polars as pl

from engine.invariants import assert_finite_money
from engine.pipeline._common import format_uah, stage_module
from engine.pipeline._envelope import envelope_note
from engine.pipeline._execute import RunFacts
from engine.pipeline._graph import node, product
from engine.pipeline._nodes import Months, Reference
from engine.pipeline._spec import RunSpec
from engine.pipeline._step import StepOutput

if TYPE_CHECKING:
    from engine.schemas import Registry

__all__ = ["allocate", "claims_from_entitlements", "claims_from_forecast", "compare", "report"]

# compared scenarios are inputs `compare_scenario_1`, `_2`, ... (see `_inputs`)
_COMPARED = tuple(f"compare_scenario_{i}" for i in range(1, 10))
# Allocation rows of case-month claims keep the key and the oblast (the report's and per-oblast
# envelopes' grouping); the other attributes are in `case_months`.
_ALLOCATION_KEEP = ("case_id", "month", "funded", "oblast_code")
_ALLOCATION_TABLES = (
    "allocations",
    *("allocation_by_group", "allocation_by_tier", "allocation_by_territory"),
    *("allocation_by_service", "allocation_equity", "allocation_binding (optimisation)"),
)


@product(
    title="Comparing scenarios",
    publishes=("scenario_by_territory", "scenario_cases"),
    reads=("funding_model", *_COMPARED),
    params=("compare_scenarios", "as_of"),
    requires=("compare_scenarios",),
    cache=True,
)
def compare(spec: RunSpec, registry: Registry, reference: Reference, months: Months) -> StepOutput:
    """Each overlay priced against the plain funding model (not the run's scenario): its own
    winners and losers."""
    params = stage_module("engine.params")
    entitlements = stage_module("engine.entitlements")
    scenarios = stage_module("engine.scenarios")
    territories, services = reference.territories, reference.services
    window = (months.first, months.last)
    baseline = params.load_funding_model(spec.funding_model, services=services, as_of=spec.as_of)
    base = entitlements.compute_entitlements(registry, baseline, territories, months=window)
    by_territory, by_case, notes = [], [], []
    for path in spec.compare_scenarios:
        model = params.load_funding_model(
            spec.funding_model, path, services=services, as_of=spec.as_of
        )
        other = entitlements.compute_entitlements(registry, model, territories, months=window)
        diff = scenarios.scenario_diff(base, other)
        name = path.stem
        by_territory.append(diff.territories.with_columns(scenario=pl.lit(name)))
        cases = stage_module("engine.scenario_groups").case_groups(diff.cases, registry)
        by_case.append(cases.with_columns(scenario=pl.lit(name)))
        summary = diff.summary()
        notes.append(
            f"Scenario {name} against {baseline.version}: the state pays "
            f"{format_uah(float(summary['diff_state_uah']))} more over {months.label}; "
            f"{summary['winners']:,} cases gain, {summary['losers']:,} lose."
        )
    compared = {
        "scenario_by_territory": pl.concat(by_territory, how="diagonal_relaxed"),
        "scenario_cases": pl.concat(by_case, how="diagonal_relaxed"),
    }
    for name, frame in compared.items():
        assert_finite_money(frame, None, f"scenario comparison ({name})")
    return StepOutput(
        frames=compared,
        publish={name: name for name in compared},
        rows_read=registry.cases.height,
        notes=tuple(notes),
    )


@node(title="Claims from the case-months", name="claims", when=lambda s: s.claims != "forecast")
def claims_from_entitlements(case_months: pl.DataFrame) -> pl.DataFrame:
    allocation = stage_module("engine.allocation")
    claims = allocation.claims_from_case_months(case_months)
    return claims


@node(title="Claims from the priced forecast", name="claims", when=lambda s: s.claims == "forecast")
def claims_from_forecast(price: StepOutput) -> pl.DataFrame:
    allocation = stage_module("engine.allocation")
    return allocation.claims_from_forecast(price.frames["need"])


@product(
    title="Allocating the envelope",
    publishes=_ALLOCATION_TABLES,
    reads=("reference", "policy"),
    params=("claims", "envelope"),
    requires=("policy",),
    cache=True,
)
def allocate(spec: RunSpec, claims: pl.DataFrame, reference: Reference) -> StepOutput:
    allocation = stage_module("engine.allocation")
    from engine.allocation._checks import within_period

    spec.check_envelope()  # also when the spec did not come through `with_overrides`
    # caps for services the run's own catalogue does not know are refused, with file and line
    policy = allocation.load_policy(spec.policy, services=spec.reference / "services.csv")
    # the claims the policy's period admits: what "a share of claims" is a share of
    in_period = within_period(claims, policy, [])
    column = policy.claim_column
    claims_uah = float(in_period[column].sum()) if column in in_period.columns else 0.0
    # bad claims (NaN, missing column) are `allocate`'s to report, with their column and count
    envelope_uah = spec.envelope.amount(claims_uah) if math.isfinite(claims_uah) else None
    result = allocation.allocate(claims, policy, envelope_uah, territories=reference.territories)
    rows = result.rows
    if spec.claims == "entitlements":  # case-month attributes are in `case_months` already
        from engine.entitlements import CASE_MONTH_COLUMNS

        rows = rows.drop([c for c in CASE_MONTH_COLUMNS if c not in _ALLOCATION_KEEP], strict=False)
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
        f"{format_uah(result.claims_uah)} ({format_uah(result.capped_claims_uah)} after caps), "
        f"allocated {format_uah(result.allocated_uah)}; shortfall {format_uah(shortfall)}, "
        f"unspent {format_uah(result.unspent_uah)}.",
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


@product(title="Writing the report", publishes=())
def report(run: RunFacts, reference: Reference, products: Mapping[str, StepOutput]) -> StepOutput:
    """The run's HTML report, from the tables the run publishes (as `mfr report RUN` reads them)."""
    stage = stage_module("engine.report")
    tables = {
        table: output.frames[frame]
        for output in products.values()
        for frame, table in output.publish.items()
    }
    validated = products.get("validate")
    rows_read = dict(validated.meta["rows_read"]) if validated is not None else {}
    data = stage.report_data_from_tables(
        tables,
        run=run.facts,
        rows_read=rows_read,
        territories=reference.territories,
        services=reference.services,
    )
    stage.build_report(data, run.workdir / "report.html")
    return StepOutput(meta={"report": "report.html"})
