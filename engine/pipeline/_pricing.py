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

import numpy as np
import polars as pl
import polars.selectors as cs

from engine.columns import money_units
from engine.distributed._context import pricing_hook
from engine.invariants import assert_finite_money
from engine.need import counts_sentence, period_counts
from engine.pipeline._common import add_months, format_uah, stage_module
from engine.pipeline._graph import node, product
from engine.pipeline._nodes import HistoryWindow, Months, Reference
from engine.pipeline._plan import Plan
from engine.pipeline._step import StepOutput

if TYPE_CHECKING:
    from engine.entitlements import PricedMonths
    from engine.params import FundingModel
    from engine.schemas import Registry

__all__ = ["HISTORY_COLUMNS", "Priced", "case_months", "entitle", "priced"]

# what demand series (served, waiting, new cases, money) and the need-level mix are made of
# (`engine.demand.demand_series`, `need_level_mix`)
HISTORY_COLUMNS = (
    *("case_id", "service_code", "service_group", "need_level", "month", "segment_from"),
    *("days", "days_in_month", "hromada_code", "raion_code", "oblast_code", "state_uah"),
    "funded",
    # Not the entitlement factors engine.demand._reprice reads (unit, units, coef, cap_factor,
    # copay_share, disability_group, recipient_id): kept over the 36 months they took the 1 M
    # nightly from 2.98 to 4.78 GB peak, so the nightly's priced need follows the tariff only;
    # forecast_need(..., registry=) on priced segments follows every dated change.
)
_CHUNK = 12  # history months priced at once
_EXPLAINED_TOP = 5  # the largest and most changed amounts explained (of each kind)


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


def _narrow(priced: PricedMonths, window: HistoryWindow) -> pl.DataFrame:
    """The history's segment columns, text as categoricals (a few bytes a row, not sixteen):
    only those columns of only the window's segments are made."""
    rows = priced.rows_in_months(window.first, window.last)
    return (
        priced.segments(HISTORY_COLUMNS, rows)
        .lazy()
        .select(HISTORY_COLUMNS)
        .with_columns(cs.string().cast(pl.Categorical))
        .collect()
    )


def _explained(
    priced: PricedMonths,
    case_months: pl.DataFrame,
    registry: Registry,
    model: FundingModel,
    territories: pl.DataFrame,
) -> pl.DataFrame:
    """The largest and most changed amounts, explained from this pricing's own segments: those
    of the cases that can be picked (`_candidates`), the only ones explaining reads."""
    wanted = _candidates(case_months, _EXPLAINED_TOP)
    if wanted is not None:
        case_months = case_months.filter(pl.col("case_id").is_in(pl.Series(wanted).implode()))
    segments = priced.segments(rows=None if wanted is None else priced.rows_of_cases(wanted))
    return stage_module("engine.explain._report").explained_amounts(
        case_months, registry, model, territories, segments=segments, top=_EXPLAINED_TOP
    )


def _candidates(case_months: pl.DataFrame, top: int) -> list[str] | None:
    """Cases holding every case-month `explained_amounts` can pick: the funded case-months at or
    above the `top`-th largest gross, and those whose change from the same case's funded month
    before is at or above the `top`-th largest (ties all kept, so the picks among these cases are
    the picks among all). None when the funded case-months are not in (case, month) order, which
    finding the month before needs: then every case is a candidate."""
    frame = case_months.lazy().filter(pl.col("funded")).select("case_id", "month", "gross_uah")
    funded = frame.collect()
    n = funded.height
    if n <= top:
        return None
    case_id = funded["case_id"]
    same = (case_id.slice(1) == case_id.slice(0, n - 1)).to_numpy()
    serial = _month_serial(funded["month"])
    if not case_id.is_sorted() or not np.all((serial[1:] > serial[:-1]) | ~same):
        return None
    gross = money_units(funded["gross_uah"])
    picked = gross >= np.partition(gross, n - top)[n - top]
    follows = same & (serial[1:] == serial[:-1] + 1)  # the same case's month before
    change = np.where(follows, np.abs(gross[1:] - gross[:-1]), 0)
    changed = int(np.count_nonzero(change))
    edge = np.partition(change, len(change) - top)[len(change) - top] if changed >= top else 1
    picked[1:] |= change >= max(int(edge), 1)
    return case_id.filter(pl.Series(picked)).unique().to_list()


def _month_serial(month: pl.Series) -> np.ndarray:
    """Year × 12 + month of each date."""
    return (month.dt.year().cast(pl.Int64) * 12 + month.dt.month().cast(pl.Int64)).to_numpy()


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
    # the registry is indexed once, for every block
    prepared = entitlements.prepare(registry, reference.territories)
    for first, last in blocks:
        priced_months = entitlements.price_months(prepared, model, _month_list(first, last))
        if spec_months is not None and first == spec_months.first:
            result = priced_months.entitlements(segments=False)
            totals = {"case_months": result.case_months, "rollups": result.rollups}
            totals["flows"] = result.flows
            totals["idp_burden"] = result.idp_burden
            # the output edge comes first: no non-finite amount is explained (or published)
            assert_finite_money(result.case_months, None, "entitlements (case_months)")
            totals["explained"] = _explained(
                priced_months, result.case_months, registry, model, reference.territories
            )
            del result
        if window is not None:
            parts.append(_narrow(priced_months, window))
        del priced_months
    del prepared
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
