"""Retention: drop the oldest runs from the store and their files, keeping every spec's latest.

`prune_runs` keeps, per spec, the `keep` newest runs (any status) and always the spec's latest
succeeded run (what its views show). For every other run it deletes, in ONE transaction, its rows
from every result table, `runs` and `run_steps`; then its export folder `runs/<id>/`, its log
`logs/<id>.jsonl` and the step-cache entries no remaining run refers to (and logs of runs that failed
before the store recorded them, once untouched for an hour); then CHECKPOINT, so DuckDB can reuse
the freed blocks. DuckDB never gives freed blocks in the middle of its file back to the
file system, so with `compact` the store is then rewritten into a fresh file (`COPY FROM DATABASE`,
DuckDB's documented way to reclaim space) that replaces the old one in one rename. Runs still
`running` are never pruned. The caller holds the store's lock (no run can be publishing).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from engine.store._schema import result_tables
from engine.store._views import has_latest_at, latest_runs_query, refresh_views

__all__ = ["PruneReport", "compact_store", "prune_runs"]


@dataclass(frozen=True)
class PruneReport:
    """What a prune removed (or, with `dry_run`, would remove)."""

    removed: tuple[str, ...]
    kept: int
    rows: dict[str, int] = field(default_factory=dict)
    paths: tuple[Path, ...] = ()
    bytes_before: int = 0
    bytes_after: int = 0
    dry_run: bool = False

    def summary(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        rows = sum(self.rows.values())
        text = (
            f"{verb} {len(self.removed)} run(s) ({rows:,} result rows, {len(self.paths)} files or "
            f"folders), kept {self.kept}"
        )
        if not self.dry_run:
            text += f"; store {self.bytes_before:,} -> {self.bytes_after:,} bytes"
        return text


def _candidates(con: duckdb.DuckDBPyConnection, keep: int, spec: str | None) -> list[str]:
    latest = latest_runs_query(with_latest_at=has_latest_at(con))
    query = (
        "SELECT run_id FROM (SELECT run_id, spec_name, status, row_number() OVER "
        "(PARTITION BY spec_name ORDER BY started_at DESC, run_id DESC) AS age FROM runs) "
        f"WHERE age > ? AND status <> 'running' AND run_id NOT IN (SELECT run_id FROM ({latest}))"
    )
    params: list[Any] = [keep]
    if spec is not None:
        query += " AND spec_name = ?"
        params.append(spec)
    return [r[0] for r in con.execute(query + " ORDER BY run_id", params).fetchall()]


def _cache_keys(manifests: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (str(s["name"]), str(s["cache_key"])[:24])  # StepCache's folder: <step>/<key[:24]>
        for m in manifests
        for s in m.get("steps") or []
        if s.get("cache_key")
    }


def _folders(manifests: list[dict[str, Any]], runs_dir: Path, logs_dir: Path) -> set[Path]:
    """Every folder a run of this store wrote exports or logs to (a spec may have moved them)."""
    found = {runs_dir, logs_dir}
    for manifest in manifests:
        outputs = manifest.get("outputs") or {}
        found |= {Path(outputs[key]).parent for key in ("exports", "log") if outputs.get(key)}
    return found


def _files_of(run_id: str, folders: set[Path]) -> list[Path]:
    """A run's export folder and log: named by its id, in any folder the store's runs used."""
    return sorted({f / name for f in folders for name in (run_id, f"{run_id}.jsonl")})


_ORPHAN_AGE = 3600.0  # seconds a log of an unrecorded run must be left alone before it goes
_RUN_ID = re.compile(r"^\d{8}-\d{6}-(?P<spec>.+)-[0-9a-f]{4}$")  # the runner's run ids


def _orphan_logs(logs_dir: Path, known: set[str], spec: str | None) -> list[Path]:
    """Logs of runs the store never recorded (they failed before starting: a missing extract, a
    locked store), untouched for an hour so no run still starting is writing them."""
    if not logs_dir.is_dir():
        return []
    settled = time.time() - _ORPHAN_AGE
    found = []
    for log in sorted(logs_dir.glob("*.jsonl")):
        matched = _RUN_ID.match(log.stem)
        if (
            matched
            and log.stem not in known
            and (spec is None or matched["spec"] == spec)
            and log.stat().st_mtime < settled
        ):
            found.append(log)
    return found


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def compact_store(path: Path) -> None:
    """Rewrite the store into a fresh file and rename it over the old one (the caller holds the
    lock). A failure (a full disk) removes the half-written copy and leaves the store as it was."""
    tmp = path.with_name(f".{path.name}.compact-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{_quoted(path)}' AS old_store (READ_ONLY)")
        con.execute(f"ATTACH '{_quoted(tmp)}' AS new_store")
        con.execute("COPY FROM DATABASE old_store TO new_store")
        con.execute("DETACH new_store")
        con.execute("DETACH old_store")
        con.close()
        with open(tmp, "rb") as handle:  # on disk before it replaces the store
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            tmp.with_name(tmp.name + ".wal").unlink()
        raise


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def prune_runs(
    store_path: Path,
    connect: Callable[..., AbstractContextManager[duckdb.DuckDBPyConnection]],
    keep: int,
    *,
    spec: str | None = None,
    dry_run: bool = False,
    runs_dir: Path | None = None,
    logs_dir: Path | None = None,
    cache_dir: Path | None = None,
    compact: bool = True,
) -> PruneReport:
    """Keep the `keep` newest runs of each spec (of `spec` only, if given) and each spec's latest
    succeeded run; remove the rest. Folders default to `runs/`, `logs/`, `cache/` beside the store.
    With `compact` (and something removed) the file is rewritten to give the space back.
    `connect` opens the store (`Store.connect`), so this module needs nothing of the warehouse."""
    if keep < 1:
        raise ValueError("keep must be at least 1")
    runs_dir = runs_dir or store_path.parent / "runs"
    logs_dir = logs_dir or store_path.parent / "logs"
    cache_dir = cache_dir or store_path.parent / "cache"
    before = store_path.stat().st_size if store_path.exists() else 0
    with connect(read_only=dry_run) as con:
        removed = _candidates(con, keep, spec)
        manifests = {
            r[0]: json.loads(r[1])
            for r in con.execute("SELECT run_id, manifest FROM runs").fetchall()
        }
        tables = result_tables(con)
        gone = set(removed)
        rows: dict[str, int] = {}
        if removed:
            placeholders = ", ".join("?" for _ in removed)
            for table in tables:
                (found,) = con.execute(
                    f'SELECT count(*) FROM "{table}" WHERE run_id IN ({placeholders})', removed
                ).fetchall()[0]
                if found:
                    rows[table] = int(found)
            if not dry_run:
                con.execute("BEGIN TRANSACTION")
                try:
                    for table in (*rows, "run_steps", "run_input_files", "runs"):
                        con.execute(
                            f'DELETE FROM "{table}" WHERE run_id IN ({placeholders})', removed
                        )
                    con.execute(  # an input file no kept run read (engine.store._inputs)
                        "DELETE FROM input_blobs WHERE sha256 NOT IN "
                        "(SELECT sha256 FROM run_input_files)"
                    )
                    refresh_views(con, tables)
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("CHECKPOINT")
    kept_keys = _cache_keys([m for r, m in manifests.items() if r not in gone])
    folders = _folders(list(manifests.values()), runs_dir, logs_dir)
    paths = [p for r in removed for p in _files_of(r, folders) if p.exists()]
    paths += _orphan_logs(logs_dir, set(manifests), spec)
    paths += [
        cache_dir / step / key
        for step, key in sorted(_cache_keys([manifests[r] for r in removed]) - kept_keys)
        if (cache_dir / step / key).is_dir()
    ]
    if not dry_run:
        if compact and removed:
            compact_store(store_path)
        for path in paths:  # after the commit: the store is the truth, files follow it
            _remove(path)
    after = store_path.stat().st_size if store_path.exists() else 0
    return PruneReport(
        removed=tuple(removed),
        kept=len(manifests) - len(removed),
        rows=rows,
        paths=tuple(paths),
        bytes_before=before,
        bytes_after=after,
        dry_run=dry_run,
    )
