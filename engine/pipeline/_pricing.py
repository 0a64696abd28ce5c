"""One pricing of the registry per run, over every month the run needs, and what is made of it.

A nightly run publishes this year's case-months and forecasts from the last 36 complete months;
the two windows overlap. `priced` prices their union once — the spec's months as one block (so the
published case-months, rollups and flows are exactly those of `compute_entitlements` over the
spec's months), the other history months a year at a time (to bound the memory of the detailed
segments) — and keeps of the history only the few segment columns demand series are made of.
Which windows are priced depends on which consumers this run computes (`plan`): a run whose
`entitle` comes from the step cache prices only the history, and the other way round.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl
import polars.selectors as cs

from engine.distributed._context import pricing_hook
from engine.invariants import assert_finite_money
from engine.need import counts_sentence, period_counts
from engine.pipeline._common import add_months, format_uah, stage_module
from engine.pipeline._graph import node, product
from engine.pipeline._nodes import HistoryWindow, Months, Reference
from engine.pipeline._plan import Plan
from engine.pipeline._step import StepOutput

if TYPE_CHECKING:
    from engine.params import FundingModel
    from engine.schemas import Registry

__all__ = ["HISTORY_COLUMNS", "Priced", "case_months", "entitle", "priced"]

# what demand series (served, waiting, new cases, money) and the need-level mix are made of
# (`engine.demand.demand_series`, `need_level_mix`)
HISTORY_COLUMNS = (
    *("case_id", "service_code", "service_group", "need_level", "month", "segment_from"),
    *("days", "days_in_month", "hromada_code", "raion_code", "oblast_code", "state_uah"),
    "funded",
)
_CHUNK = 12  # history months priced at once


@dataclass(frozen=True, eq=False)
class Priced:
    """The run's one pricing: totals over the spec's months, narrow segments over the history."""

    case_months: pl.DataFrame | None  # the spec's months (None: not needed by this run)
    rollups: pl.DataFrame | None
    flows: pl.DataFrame | None
    model_version: str
    history_segments: pl.DataFrame | None  # HISTORY_COLUMNS over the history window
    blocks: tuple[tuple[dt.date, dt.date], ...]  # the month ranges priced, each once
    cases: int  # cases of the registry priced
    idp_burden: pl.DataFrame | None = None  # of the spec's months, with a benefits extract
    explained: pl.DataFrame | None = None  # its largest and most changed amounts (engine.explain)


def _month_list(first: dt.date, last: dt.date) -> list[dt.date]:
    out, month = [], first
    while month <= last:
        out.append(month)
        month = add_months(month, 1)
    return out


def _blocks(
    spec_months: Months | None, window: HistoryWindow | None
) -> list[tuple[dt.date, dt.date]]:
    """The spec's months as one block, the history months outside them a year at a time."""
    blocks = [] if spec_months is None else [(spec_months.first, spec_months.last)]
    if window is None:
        return blocks
    taken = set(_month_list(*blocks[0])) if blocks else set()
    rest = [m for m in _month_list(window.first, window.last) if m not in taken]
    run: list[dt.date] = []
    for month in rest:
        if run and (add_months(run[-1], 1) != month or len(run) == _CHUNK):
            blocks.append((run[0], run[-1]))
            run = []
        run.append(month)
    if run:
        blocks.append((run[0], run[-1]))
    return blocks


def _narrow(segments: pl.DataFrame, window: HistoryWindow) -> pl.DataFrame:
    """The history's segment columns, text as categoricals (a few bytes a row, not sixteen)."""
    return (
        segments.lazy()
        .filter(pl.col("month").is_between(window.first, window.last))
        .select(HISTORY_COLUMNS)
        .with_columns(cs.string().cast(pl.Categorical))
        .collect()
    )


@node(title="Pricing the registry")
def priced(
    *,
    registry: Registry,
    model: FundingModel,
    reference: Reference,
    months: Months,
    history: HistoryWindow,
    plan: Plan,
) -> Priced:
    entitlements = stage_module("engine.entitlements")
    spec_months = months if plan.computes("entitle") else None
    window = history if plan.computes("forecast") or plan.computes("price") else None
    totals: dict[str, pl.DataFrame | None] = dict.fromkeys(("case_months", "rollups", "flows"))
    parts: list[pl.DataFrame] = []
    blocks = _blocks(spec_months, window)
    if (partitioned := pricing_hook()) is not None:  # on a Dask cluster (engine.distributed)
        territories = reference.territories
        return partitioned(registry, model, territories, blocks=blocks, spec_months=spec_months, window=window)  # fmt: skip
    for first, last in blocks:
        result = entitlements.compute_entitlements(
            registry, model, reference.territories, months=(first, last)
        )
        if spec_months is not None and first == spec_months.first:
            totals = {"case_months": result.case_months, "rollups": result.rollups}
            totals["flows"] = result.flows
            totals["idp_burden"] = result.idp_burden
            # the output edge comes first: no non-finite amount is explained (or published)
            assert_finite_money(result.case_months, None, "entitlements (case_months)")
            # the largest and most changed amounts, explained from this pricing's own segments
            totals["explained"] = stage_module("engine.explain._report").explained_amounts(
                result.case_months, registry, model, reference.territories, segments=result.segments
            )
        if window is not None:
            parts.append(_narrow(result.segments, window))
        del result
    history_segments = None
    if window is not None:
        history_segments = pl.concat(parts) if parts else None
    return Priced(
        case_months=totals["case_months"],
        rollups=totals["rollups"],
        flows=totals["flows"],
        model_version=str(model.version),
        history_segments=history_segments,
        blocks=tuple(blocks),
        cases=registry.cases.height,
        idp_burden=totals.get("idp_burden"),
        explained=totals.get("explained"),
    )


@product(
    title="Computing entitlements",
    publishes=("case_months", "rollups", "flows", "explained_amounts"),
    cache=True,
)
def entitle(
    priced: Priced, months: Months, model: FundingModel, extract_date: dt.date
) -> StepOutput:
    """This year's case-months, rollups and flows, from the run's one pricing."""
    case_months, rollups, flows = priced.case_months, priced.rollups, priced.flows
    assert case_months is not None and rollups is not None and flows is not None
    # the output edge: no NaN or infinity is published as money, whatever slipped past the loaders
    for name, frame in (("case_months", case_months), ("rollups", rollups)):
        assert_finite_money(frame, None, f"entitlements ({name})")
    assert_finite_money(flows, None, "entitlements (flows)")
    funded = case_months.filter(pl.col("funded"))
    waiting = case_months.filter(~pl.col("funded"))
    extract_month = extract_date.replace(day=1)
    projected = (
        f"; months after {extract_month:%Y-%m} assume open cases go on"
        if months.last > extract_month
        else ""
    )

    def money(frame: pl.DataFrame, column: str) -> str:
        return format_uah(float(frame[column].sum()))

    notes = [
        f"Entitlements {months.label} (funding model {model.version}{projected}): "
        f"{counts_sentence(period_counts(case_months))}; the state owes {money(funded, 'state_uah')}, co-payments "
        f"{money(funded, 'copay_uah')}, unmet need {money(waiting, 'state_uah')}.",
    ]
    explained = {} if priced.explained is None else {"explained_amounts": priced.explained}
    return StepOutput(
        frames={"case_months": case_months, "rollups": rollups, "flows": flows, **explained},
        publish={"case_months": "case_months", "rollups": "rollups", "flows": "flows"}
        | {name: name for name in explained},
        meta={
            "months": [months.first.isoformat(), months.last.isoformat()],
            "model_version": str(model.version),
            "model_hash": str(model.content_hash),
        },
        rows_read=priced.cases,
        notes=tuple(notes),
    )


@node(title="Case-months of the spec's months")
def case_months(entitle: StepOutput) -> pl.DataFrame:
    return entitle.frames["case_months"]
