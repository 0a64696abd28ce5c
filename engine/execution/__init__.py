"""Do the simulated totals match what was paid? Budget execution beside the simulation (issue 16).

A treasury budget-execution report (paid amounts per programme code, territory and month or
quarter, and where known the recipients and case-months paid for) is read the way such reports
come, validated and quarantined like a registry extract (`read_execution`), its programme codes
mapped to the engine's services by a dated mapping (`load_programmes`, `models/programmes/`).
`compare_totals` sets the simulated entitlements beside it at every level where both exist and
splits every gap exactly into people, volume and price (`shapley_split`).

    >>> import engine
    >>> import polars as pl
    >>> from engine.execution import compare_totals, load_programmes, read_execution
    >>> registry = engine.read_registry("data_samples/registry")
    >>> model = engine.load_funding_model("models/funding/baseline")
    >>> territories = engine.load_territories()
    >>> ent = engine.compute_entitlements(registry, model, territories, months=("2026-01", "2026-12"))
    >>> report = read_execution(
    ...     "data_samples/execution/execution.csv",
    ...     load_programmes("models/programmes/social-services.yaml"),
    ...     months=(ent.months[0], ent.months[1]),
    ... )
    >>> table = compare_totals(ent.case_months, report, territories)
    >>> national = table.filter(
    ...     (pl.col("level") == "national") & (pl.col("service_code") == "all")
    ...     & (pl.col("grain") == "year"))
    >>> row = national.row(0, named=True)
    >>> row["gap_uah"] == row["people_uah"] + row["volume_uah"] + row["price_uah"]
    True
"""

from __future__ import annotations

from engine.execution._compare import ALL_SERVICES, COMPARISON_COLUMNS, compare_totals
from engine.execution._decompose import BASES, PARTS, shapley_split, split_kopiyky
from engine.execution._models import EXECUTION_COLUMNS, EXECUTION_SCHEMA, GRAINS, ExecutionInput
from engine.execution._programmes import Programmes, load_programmes, unit_factor
from engine.execution._read import Execution, check_execution_threshold, read_execution
from engine.execution._summary import flagged_gaps, publishable_comparison, summary_lines

__all__ = [
    "ALL_SERVICES",
    "BASES",
    "COMPARISON_COLUMNS",
    "EXECUTION_COLUMNS",
    "EXECUTION_SCHEMA",
    "GRAINS",
    "PARTS",
    "Execution",
    "ExecutionInput",
    "Programmes",
    "check_execution_threshold",
    "compare_totals",
    "flagged_gaps",
    "load_programmes",
    "publishable_comparison",
    "read_execution",
    "shapley_split",
    "split_kopiyky",
    "summary_lines",
    "unit_factor",
]
