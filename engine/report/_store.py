"""A run's published tables → `ReportData`: from the pipeline's memory or back from the store.

Both paths go through the same table names (the ones `mfr run` publishes), so a report written by the
pipeline and one rebuilt later with `mfr report RUN` are the same report.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from engine.report._data import ReportData

if TYPE_CHECKING:
    from engine.store import RunManifest, Store

__all__ = [
    "REPORT_TABLES",
    "previous_run_id",
    "report_data_from_store",
    "report_data_from_tables",
]

# store table -> ReportData field (tables a run did not produce are simply absent)
REPORT_TABLES: dict[str, str] = {
    "case_months": "case_months",
    "flows": "flows",
    "need": "need",
    "forecast": "forecast",
    "forecast_history": "history",
    "backtest": "backtest",
    "allocation_by_territory": "allocation_by_territory",
    "allocation_by_tier": "allocation_by_tier",
    "allocations": "allocation_rows",
    "allocation_by_group": "allocation_by_group",
    "scenario_by_territory": "scenario_territories",
    "scenario_cases": "scenario_cases",
    "execution_totals": "execution",
    "idp_burden": "idp_burden",
    "explained_amounts": "explained",
    "pilot_indicators": "pilot_indicators",
    "pilot_effects": "pilot_effects",
}


def _quarantine_summary(quarantine: pl.DataFrame) -> pl.DataFrame:
    return quarantine.group_by("table", "rule").agg(pl.len().alias("rows")).sort("table", "rule")


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    coded = [n for n, t in frame.schema.items() if isinstance(t, pl.Enum | pl.Categorical)]
    return frame.with_columns(pl.col(coded).cast(pl.String)) if coded else frame


# Row-level tables (millions of rows in a national run) stay coded: the report only aggregates
# them, grouping by codes is several times faster than by text, and its summaries give their keys
# back as text (`engine.report._frames`). Casting them all to text first cost most of the report.
_KEPT_CODED = frozenset({"case_months", "allocations"})


def _frame(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    return frame if table in _KEPT_CODED else _as_text(frame)


def report_data_from_tables(
    tables: Mapping[str, pl.DataFrame],
    *,
    run: Mapping[str, Any] | None = None,
    rows_read: Mapping[str, int] | None = None,
    territories: pl.DataFrame | None = None,
    services: pl.DataFrame | None = None,
) -> ReportData:
    """`ReportData` from published tables by name (`REPORT_TABLES`, plus `quarantine` rows).

    This is what the pipeline's report step calls with the frames it holds in memory. The report
    is an edge people read: coded columns (Enums, or the store's ENUMs read back as Categoricals)
    become text here, so they join the reference tables as they are — except in the row-level
    `case_months` and `allocations`, which the report only aggregates (its summaries return text
    keys).
    """
    frames: dict[str, Any] = {  # ReportData's frame fields, by name
        field: _frame(table, tables[table].drop("run_id", strict=False))
        for table, field in REPORT_TABLES.items()
        if table in tables
    }
    quarantine = tables.get("quarantine")
    return ReportData(
        **frames,
        quarantine_summary=_quarantine_summary(quarantine) if quarantine is not None else None,
        rows_read=dict(rows_read or {}),
        run=dict(run or {}),
        territories=territories,
        services=services,
    )


def _run_facts(manifest: RunManifest) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "run_id": manifest.run_id,
        "spec": manifest.spec_name,
        "status": manifest.status,
        "started (UTC)": str(manifest.started_at),
        "code version": manifest.code_version,
    }
    for item in manifest.inputs:
        role = item.get("role")
        if role:
            version = item.get("version") or str(item.get("hash", ""))[:12]
            facts[f"input: {role}"] = f"{item.get('path', '')} ({version})"
    return facts


def report_data_from_store(
    store: Store | Path | str,
    run: str = "latest",
    *,
    spec: str | None = None,
    territories: pl.DataFrame | None = None,
    services: pl.DataFrame | None = None,
) -> ReportData:
    """A run's frames from the DuckDB store; `run` is `latest` (the newest succeeded run of `spec`,
    by default the production spec — the run `mfr show latest` and the `_latest` views show), a
    run id or a prefix of one. The reference tables default to the bundled ones.

    A run that failed published nothing: asking for it is a `ConfigError` saying so.

    >>> import io, tempfile
    >>> from rich.console import Console
    >>> import engine
    >>> store = f"{tempfile.mkdtemp()}/mfr.duckdb"
    >>> spec = engine.load_spec("pipelines/nightly.yaml").with_overrides(store=store)
    >>> _ = engine.run_pipeline(spec, progress=False, console=Console(file=io.StringIO()))
    >>> data = report_data_from_store(store)
    >>> type(data).__name__, data.case_months.height
    ('ReportData', 7258)
    """
    from engine.errors import ConfigError
    from engine.reference import load_services, load_territories
    from engine.store import Store

    store = store if isinstance(store, Store) else Store(Path(store))
    manifest = store.manifest(run, spec=spec)
    if manifest.status != "succeeded":
        raise ConfigError(
            f"run {manifest.run_id} {manifest.status}: it published no results to report on",
            path=store.path,
        )
    wanted = [*REPORT_TABLES, "quarantine"]
    tables: dict[str, pl.DataFrame] = {}
    with store.connect(read_only=True) as con:  # one connection for every table of the run
        present = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
        for name in (n for n in wanted if n in present):
            query = f'SELECT * EXCLUDE (run_id) FROM "{name}" WHERE run_id = ?'
            tables[name] = con.sql(query, params=[manifest.run_id]).pl()
    return report_data_from_tables(
        tables,
        run=_run_facts(manifest),
        rows_read=_rows_read(manifest),
        territories=territories if territories is not None else load_territories(),
        services=services if services is not None else load_services(),
    )


def _rows_read(manifest: RunManifest) -> dict[str, int]:
    """Rows read per registry table, as the validate step recorded them (if it did)."""
    found = manifest.outputs.get("rows_read") if isinstance(manifest.outputs, dict) else None
    return {str(k): int(v) for k, v in (found or {}).items()}


def previous_run_id(
    store: Store | Path | str, run: str = "latest", *, spec: str | None = None
) -> str | None:
    """The succeeded run of the same spec just before `run` (for a summary's changes), or None."""
    from engine.store import Store

    store = store if isinstance(store, Store) else Store(Path(store))
    manifest = store.manifest(run, spec=spec)
    runs = store.runs(spec=manifest.spec_name, status="succeeded")["run_id"].to_list()
    if manifest.run_id not in runs:
        return None
    index = runs.index(manifest.run_id)  # newest first
    return str(runs[index + 1]) if index + 1 < len(runs) else None
