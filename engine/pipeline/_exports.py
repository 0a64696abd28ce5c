"""A committed run's export folder, checked against the store and rebuilt from it when damaged.

The store is the truth: a run is published by its DuckDB commit, and `runs/<id>/` is a copy of what
that commit holds. A kill between the commit and the folder's rename, a damaged `manifest.json` or
an operator's `rm -rf out/runs` must not leave a run that is "up to date" while the paths the
summary prints do not exist, so the runner checks the folder whenever it relies on an earlier run
and rebuilds what is missing: the Parquet tables and `manifest.json` from the store, the report with
the report module (as `mfr report RUN` builds it). The rebuild is staged and renamed like a run's
own exports, so a kill during it leaves the old folder or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from engine.errors import EngineError
from engine.pipeline._spec import RunSpec
from engine.store import REBUILD_PREFIX, RunManifest, Store, Writer, write_text_atomic

__all__ = [
    "ExportCheck",
    "check_exports",
    "complete_exports",
    "describe_rebuild",
    "exported_tables",
    "rebuild_exports",
]

_MANIFEST = "manifest.json"
_STAGING = ".staging-"


@dataclass(frozen=True)
class ExportCheck:
    """Where a committed run's exports are and which of their files are missing or damaged."""

    folder: Path
    tables: tuple[str, ...]  # the tables the run exported
    damaged: tuple[str, ...]  # file names; all of them when the folder is missing

    @property
    def complete(self) -> bool:
        return not self.damaged


def exported_tables(manifest: RunManifest, spec: RunSpec) -> tuple[str, ...]:
    """The tables a run exported: as its manifest recorded them, else as its spec selects them."""
    recorded = manifest.outputs.get("exported")
    if isinstance(recorded, dict):
        return tuple(sorted(recorded))
    published = manifest.outputs.get("tables") or {}
    chosen = set(published) if spec.exports is None else set(spec.exports) & set(published)
    return tuple(sorted(chosen))


def _folder(manifest: RunManifest, spec: RunSpec) -> Path:
    recorded = manifest.outputs.get("exports")
    return Path(recorded) if recorded else spec.runs_dir / manifest.run_id


def _report_name(manifest: RunManifest) -> str | None:
    report = manifest.outputs.get("report")
    return Path(report).name if report else None


def _manifest_ok(path: Path, run_id: str) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, 0 bytes after a kill, cut short, not JSON
        return False
    return (
        isinstance(data, dict)
        and data.get("run_id") == run_id
        and data.get("status") == ("succeeded")
    )


def _parquet_ok(path: Path, rows: int | None) -> bool:
    """Readable Parquet with the row count the run published (its footer only is read)."""
    try:
        found = pl.scan_parquet(path).select(pl.len()).collect().item()
    except (OSError, pl.exceptions.PolarsError):
        return False
    return rows is None or found == rows


def check_exports(manifest: RunManifest, spec: RunSpec) -> ExportCheck:
    """Compare a committed run's export folder with what its manifest says it holds."""
    folder = _folder(manifest, spec)
    tables = exported_tables(manifest, spec)
    report = _report_name(manifest)
    expected = [_MANIFEST, *(f"{t}.parquet" for t in tables), *([report] if report else [])]
    if not folder.is_dir():
        return ExportCheck(folder, tables, tuple(expected))
    rows = manifest.outputs.get("tables") or {}
    damaged = [] if _manifest_ok(folder / _MANIFEST, manifest.run_id) else [_MANIFEST]
    damaged += [
        f"{t}.parquet" for t in tables if not _parquet_ok(folder / f"{t}.parquet", rows.get(t))
    ]
    if report and not ((folder / report).is_file() and (folder / report).stat().st_size > 0):
        damaged.append(report)
    return ExportCheck(folder, tables, tuple(damaged))


def _keep(source: Path, target: Path) -> None:
    """An intact file goes into the rebuilt folder as it is (a hard link where possible)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _table_of_run(store: Store, table: str, manifest: RunManifest) -> pl.DataFrame:
    columns = (manifest.outputs.get("exported") or {}).get(table)
    with store.connect(read_only=True) as con:
        frame = con.sql(
            f'SELECT * EXCLUDE (run_id) FROM "{table}" WHERE run_id = ?', params=[manifest.run_id]
        ).pl()
    # the store's table holds every run's columns; the run's own file had only its own
    return frame.select(columns) if columns else frame


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, EngineError):
        return str(exc)
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _rebuild_report(store: Store, manifest: RunManifest, spec: RunSpec, target: Path) -> None:
    from engine.reference import load_services, load_territories
    from engine.report import build_report, report_data_from_store

    data = report_data_from_store(
        store,
        manifest.run_id,
        territories=load_territories(spec.reference / "territories.csv"),
        services=load_services(spec.reference / "services.csv"),
    )
    build_report(data, target)


def rebuild_exports(
    store: Store, manifest: RunManifest, spec: RunSpec, check: ExportCheck, writer: Writer
) -> tuple[list[str], str | None]:
    """Rebuild a committed run's damaged or missing export files from the store.

    Returns the files rebuilt and, if its report could not be rebuilt (say the reference tables
    moved), why; the folder is then complete but for the report, which `mfr report` can write.
    """
    folder, run_id = check.folder, manifest.run_id
    work = folder.parent / f"{REBUILD_PREFIX}{run_id}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rebuilt: list[str] = []
    report_problem: str | None = None
    try:
        for table in check.tables:
            name = f"{table}.parquet"
            if name in check.damaged:
                writer(_table_of_run(store, table, manifest), work / name)
                rebuilt.append(name)
            else:
                _keep(folder / name, work / name)
        report = _report_name(manifest)
        if report and report in check.damaged:
            try:
                _rebuild_report(store, manifest, spec, work / report)
                rebuilt.append(report)
            except Exception as exc:
                report_problem = _one_line(exc)
        elif report:
            _keep(folder / report, work / report)
        write_text_atomic(work / _MANIFEST, manifest.to_json())
        if _MANIFEST in check.damaged:
            rebuilt.append(_MANIFEST)
        # Complete now: under the staging name a committed run's next recovery trusts, then swapped
        # in. A kill between the two renames is finished by that recovery.
        staged = folder.parent / f"{_STAGING}{run_id}"
        shutil.rmtree(staged, ignore_errors=True)
        os.replace(work, staged)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staged, folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return rebuilt, report_problem


def describe_rebuild(
    rebuilt: Sequence[str], report_problem: str | None, manifest: RunManifest
) -> str:
    """The summary line telling the operator their exports were rebuilt."""
    line = (
        f"exports of run {manifest.run_id} were missing or damaged and were rebuilt from the store"
    )
    if rebuilt:
        line += f" ({', '.join(rebuilt)})"
    if report_problem:
        line += (
            f"; its report could not be rebuilt ({report_problem}): "
            f"mfr report {manifest.run_id} --out FILE writes it"
        )
    return line


def complete_exports(
    store: Store, manifest: RunManifest, spec: RunSpec, writer: Writer, log: Any
) -> RunManifest:
    """A committed run whose exports are complete: rebuilt from the store where they are not
    (`log`: the run's `RunLog`). Returns the manifest to show, noting in its summary what was
    rebuilt."""
    check = check_exports(manifest, spec)
    if check.complete:
        return manifest
    log.event(
        "exports_incomplete",
        level="warning",
        of_run=manifest.run_id,
        folder=str(check.folder),
        damaged=list(check.damaged),
    )
    rebuilt, report_problem = rebuild_exports(store, manifest, spec, check, writer)
    log.event(
        "exports_rebuilt",
        level="warning",
        of_run=manifest.run_id,
        files=rebuilt,
        report_problem=report_problem,
    )
    manifest.outputs["exports_rebuilt"] = describe_rebuild(rebuilt, report_problem, manifest)
    return manifest
