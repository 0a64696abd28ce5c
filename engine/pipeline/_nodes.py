"""The run's facts, each computed once: reference data, the funding model, the validated registry,
the months a run covers; and the products `validate` and `need`.

Every node is a plain function whose parameter names are its inputs (see `_graph`). Stage modules
are imported inside the nodes, so loading a spec does not import them (`import engine` stays light).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from engine.pipeline._common import add_months, stage_module
from engine.pipeline._execute import RunFacts
from engine.pipeline._graph import node, product
from engine.pipeline._months import resolve_months
from engine.pipeline._spec import RunSpec
from engine.pipeline._step import StepOutput

if TYPE_CHECKING:
    from engine.params import FundingModel
    from engine.schemas import Registry

__all__ = [
    "HistoryWindow",
    "Months",
    "Reference",
    "extract_date",
    "history",
    "model",
    "months",
    "need",
    "reference",
    "registry",
    "validate",
]


@dataclass(frozen=True)
class Reference:
    """The reference tables of a run: KATOTTG territories and the services catalogue."""

    territories: pl.DataFrame
    services: pl.DataFrame


@dataclass(frozen=True)
class Months:
    """The months a spec's `months` names, resolved against the extract date (first days)."""

    first: dt.date
    last: dt.date

    @property
    def label(self) -> str:
        return f"{self.first:%Y-%m}..{self.last:%Y-%m}"


@dataclass(frozen=True)
class HistoryWindow:
    """The `history_months` complete months before the extract date: what a forecast learns from."""

    first: dt.date
    last: dt.date


@node(title="Reading the reference data", reads=("reference",))
def reference(spec: RunSpec) -> Reference:
    from engine.reference import load_services, load_territories

    folder = spec.reference
    return Reference(
        load_territories(folder / "territories.csv"), load_services(folder / "services.csv")
    )


@node(
    title="Loading the funding model",
    reads=("funding_model", "scenario", "reference"),
    params=("as_of",),
)
def model(spec: RunSpec, reference: Reference) -> FundingModel:
    params = stage_module("engine.params")
    return params.load_funding_model(
        spec.funding_model, spec.scenario, services=reference.services, as_of=spec.as_of
    )


@node(
    title="Reading and validating the extract",
    reads=("extract", "reference"),
    params=("extract_date", "quarantine_threshold", "pseudonymise", "pseudonym_key"),
    cache=True,
    when=lambda s: getattr(s, "benefits", None) is None,  # else _nodes_benefits' (issue 15)
)
def registry(spec: RunSpec, run: RunFacts, reference: Reference) -> Registry:
    """The validated registry; a quarantine above the threshold stops the run here (exit 4)
    unless the operator accepted it."""
    from engine.registry import check_quarantine_threshold, read_registry

    validated = read_registry(
        spec.extract,
        extract_date=spec.extract_date,
        territories=reference.territories,
        services_catalogue=reference.services,
        pseudonymise=spec.pseudonymise,
    )
    check_quarantine_threshold(validated, spec.quarantine_threshold, accept=run.accept_quarantine)
    return validated


@product(title="Validation summary", publishes=("quarantine", "case_inputs", "territory_status"))
def validate(spec: RunSpec, registry: Registry) -> StepOutput:
    from engine.explain._stored import stored_inputs
    from engine.registry import quarantined_share

    kept = stored_inputs(registry)
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
    if worst["share"] > spec.quarantine_threshold:  # the registry node let it through: accepted
        notes.append(
            f"Quarantine above the {spec.quarantine_threshold:.0%} threshold accepted by the "
            "operator (--accept-quarantine)."
        )
    return StepOutput(
        # what pricing read of every case, so `mfr explain RUN` needs no extract (engine.explain)
        frames={"quarantine": registry.quarantine, **kept},
        publish={"quarantine": "quarantine", **{name: name for name in kept}},
        meta={
            "extract_date": registry.extract_date.isoformat(),
            "rows_read": {k: int(v) for k, v in registry.rows_read.items()},
        },
        rows_read=int(sum(registry.rows_read.values())),
        rows_quarantined=quarantined,
        notes=tuple(notes),
    )


@node(title="The extract's date", cache=True)
def extract_date(registry: Registry) -> dt.date:
    """The date the extract was taken: what later nodes need of the registry once it is priced
    (kept apart, so they do not hold the registry, nor read it back from the cache)."""
    return registry.extract_date


@node(title="Resolving the months", params=("months",))
def months(spec: RunSpec, extract_date: dt.date) -> Months:
    return Months(*resolve_months(spec.months, extract_date))


@node(title="The forecast's history window", params=("history_months",))
def history(spec: RunSpec, extract_date: dt.date) -> HistoryWindow:
    """The window ends with the last month the extract saw in full (the rule of
    `engine.demand.forecast_need`)."""
    last = stage_module("engine.demand").last_complete_month(extract_date)
    return HistoryWindow(add_months(last, 1 - spec.history_months), last)


@product(title="Need accounting", publishes=("need",), cache=True)
def need(
    case_months: pl.DataFrame, reference: Reference, months: Months, extract_date: dt.date
) -> StepOutput:
    from engine.need import need_indicators

    # Need is observed, not projected: months after the extract are left to the forecast.
    observed_last = min(months.last, extract_date.replace(day=1))
    month_list = pl.date_range(months.first, observed_last, interval="1mo", eager=True)
    frame = need_indicators(case_months, reference.territories, months=month_list.to_list())
    notes = []
    national = frame.filter(pl.col("level") == "national").sort("month")
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
        frames={"need": frame},
        publish={"need": "need"},
        rows_read=case_months.height,
        notes=tuple(notes),
    )
