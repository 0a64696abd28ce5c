"""The run's comparison of simulated totals with budget execution (issue 16): `validate_totals`.

A spec names the report (`execution:`), its programme mapping (`programmes:`, default
`models/programmes/social-services.yaml`) and the tolerance (`execution_tolerance:`, default 5%).
The product reads the report as `mfr validate-totals` does (quarantine above the spec's
`quarantine_threshold` stops the run, exit 4, unless accepted), compares it with the run's
case-months and publishes `execution_totals` (every cell, typed: ENUM dimensions, DECIMAL money)
and `execution_quarantine`; the summary carries the headline and the largest flagged gaps.
"""

from __future__ import annotations

import polars as pl

from engine.pipeline._common import stage_module
from engine.pipeline._execute import RunFacts
from engine.pipeline._graph import product
from engine.pipeline._nodes import Months, Reference
from engine.pipeline._spec import RunSpec
from engine.pipeline._step import StepOutput

__all__ = ["validate_totals"]

_MIN_GAP_UAH = 1000.0
_NOTED = 3  # flagged gaps named in the run's summary


@product(
    title="Comparing totals with budget execution",
    publishes=("execution_totals", "execution_quarantine"),
    reads=("execution", "programmes", "reference"),
    params=("execution_tolerance", "quarantine_threshold"),
    requires=("execution",),
    cache=True,
)
def validate_totals(
    spec: RunSpec, run: RunFacts, case_months: pl.DataFrame, reference: Reference, months: Months
) -> StepOutput:
    execution = stage_module("engine.execution")
    assert spec.execution is not None and spec.programmes is not None  # `requires`, `read_spec`
    mapping = execution.load_programmes(spec.programmes, services=reference.services)
    report = execution.read_execution(
        spec.execution,
        mapping,
        territories=reference.territories,
        months=(months.first, months.last),
    )
    accepted = execution.check_execution_threshold(
        report, spec.quarantine_threshold, accept=run.accept_quarantine
    )
    table = execution.compare_totals(
        case_months,
        report,
        reference.territories,
        tolerance=spec.execution_tolerance,
        min_gap_uah=_MIN_GAP_UAH,
    )
    lines = execution.summary_lines(
        table, tolerance=spec.execution_tolerance, min_gap_uah=_MIN_GAP_UAH, limit=_NOTED
    )
    notes = [
        f"Budget execution {spec.relative(spec.execution)}: {report.rows_read:,} rows read, "
        f"{report.quarantined:,} quarantined; amounts in {report.unit}.",
        *lines,
    ]
    if accepted:
        notes.append("Budget-execution quarantine above the threshold accepted by the operator.")
    return StepOutput(
        frames={"execution_totals": table, "execution_quarantine": report.quarantine},
        publish={
            "execution_totals": "execution_totals",
            "execution_quarantine": "execution_quarantine",
        },
        meta={"flagged": int(table["flagged"].sum()), "unit": report.unit},
        rows_read=report.rows_read,
        rows_quarantined=report.quarantined,
        notes=tuple(notes),
    )
