"""The warehouse: one DuckDB file holding every run's manifest and results, keyed by `run_id`.

A run's results become visible in one transaction together with its `succeeded` status, so a reader
never sees half a run. DuckDB keeps one writer per file; connections are opened per operation and
closed at once, so `mfr runs` can read between a run's short writes (retrying while one is going on).

A damaged file is never written to: before its first write a `Store` checks the file read-only
(`check`: every block of every table read, so DuckDB verifies each block's checksum), and every
DuckDB error that means damage becomes a one-line `StoreError` (exit 3) saying what was done.
"Latest" is one succeeded run of one spec (see `_views`).
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from engine.errors import ConfigError, EngineError, ExitCode, InputFileError, machine_fault_in
from engine.store._latest import RUN_STATUSES, check_status, find_latest, resolve_run, scalar
from engine.store._lock import StoreLock
from engine.store._manifest import RunManifest, utc_now
from engine.store._prune import PruneReport, prune_runs
from engine.store._schema import (
    DDL,
    RESERVED_TABLES,
    SCHEMA_VERSION,
    diagnosis,
    result_tables,
    verify_tables,
    write_run,
    write_steps,
)
from engine.store._schema import RESTORE as _RESTORE
from engine.store._schema import first_line as _first_line
from engine.store._schema import is_damage as _is_damage
from engine.store._typed import append_typed, for_store, refresh_bi_views, write_dimensions
from engine.store._views import (
    DEFAULT_PRODUCTION_SPEC,
    PRODUCTION_KEY,
    has_latest_at,
    latest_runs_query,
    production_query,
    refresh_views,
)

__all__ = ["RUN_STATUSES", "SCHEMA_VERSION", "Store", "StoreError", "StoreWriteError"]

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
_RESERVED = RESERVED_TABLES
_BUSY = "Could not set lock"


class StoreError(InputFileError):
    """The store file cannot be opened or read (corrupt, not a DuckDB file, unreadable)."""


class StoreWriteError(EngineError):
    """Writing a run's results failed (disk full, permissions); nothing of the run was published."""

    exit_code = ExitCode.BAD_INPUT_FILE  # a fault of the machine the operator fixes, not a bug


class Store:
    """A DuckDB warehouse file.

    >>> store = Store(Path("out/mfr.duckdb"))  # doctest: +SKIP
    >>> store.runs(spec="nightly")  # one row per run, newest first  # doctest: +SKIP
    >>> store.table("need", run_id="latest")  # the production spec's latest run  # doctest: +SKIP
    """

    def __init__(self, path: Path, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._checked = False  # a strict read-only check passed: writing is safe

    # -- connections ---------------------------------------------------------------------------

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.05
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.Error as exc:
                if _BUSY in str(exc) and time.monotonic() < deadline:
                    time.sleep(delay)  # another process is writing or reading: wait our turn
                    delay = min(delay * 2, 1.0)
                    continue
                if _BUSY in str(exc):
                    raise StoreError(
                        f"store is busy: another process has held it for {self.busy_timeout:.0f} s",
                        path=self.path,
                    ) from None
                raise self._unusable(exc, wrote=not read_only) from None
            # DuckDB's own progress bar would print into a scheduled job's output
            con.execute("SET enable_progress_bar = false")
            return con

    def _unusable(self, exc: BaseException, *, wrote: bool = False) -> StoreError:
        """What happened, truthfully: read-only failures left the file as it was."""
        cause = _first_line(exc)
        fault = machine_fault_in(cause)
        if fault is not None:  # the disk or the folder refused a write; the file is not damaged
            return StoreError(
                f"the file system refused a write ({fault}); nothing of the run was published and "
                "the store keeps its last commit: free space or fix the folder, then run again",
                path=self.path,
            )
        if wrote:
            return StoreError(
                f"the store failed while being written ({cause}); nothing of the run was "
                f"published, but the file may have changed: check it with `mfr check`, {_RESTORE}",
                path=self.path,
            )
        meaning = diagnosis(cause)
        state = f": it is {meaning}" if meaning else ""
        return StoreError(
            f"the store cannot be used{state} ({cause}); it was only opened read-only, so the file "
            f"was left untouched: {_RESTORE}",
            path=self.path,
        )

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection; DuckDB errors become `StoreError` naming the file.

        The first connection of a `Store` runs `check()` first, so a damaged store is refused
        before anything is written to it, and a reading command reports the damage (exit 3) even
        where its own query would not have touched the damaged block.
        """
        if read_only and not self.path.exists():
            raise StoreError(
                "no store here yet: run `mfr run SPEC` first, or pass --store / set MFR_STORE",
                path=self.path,
            )
        if not self._checked:
            self.check()
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._open(read_only)
        try:
            if not read_only:
                self._initialise(con)
            yield con
        except duckdb.Error as exc:
            if _is_damage(exc) or machine_fault_in(str(exc)):
                raise self._unusable(exc, wrote=not read_only) from None
            raise
        finally:
            con.close()

    def _initialise(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            for statement in DDL:
                con.execute(statement)
            row = con.execute(
                "SELECT value FROM store_meta WHERE key = 'schema_version'"
            ).fetchone()
        except duckdb.Error as exc:
            raise self._unusable(exc, wrote=True) from None
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            raise StoreError(
                f"store schema version {row[0]} is newer than this engine's ({SCHEMA_VERSION})",
                path=self.path,
            )
        if row is None or int(row[0]) < SCHEMA_VERSION:
            con.execute(
                "INSERT OR REPLACE INTO store_meta VALUES ('schema_version', ?)",
                [str(SCHEMA_VERSION)],
            )

    def check(self) -> None:
        """Verify the whole file read-only; raise `StoreError` saying what is wrong, writing nothing.

        DuckDB checks a block's checksum when it reads the block, so every column of every table is
        read (a hash of each value, aggregated) and each key index is probed; a missing file is fine
        (the first write creates it). Nothing is written, not even a WAL: a failed check leaves the
        file byte for byte as it was.
        """
        if not self.path.exists():
            self._checked = True
            return
        if self.path.is_dir():
            raise StoreError("is a folder, not a store file; pass another --store", path=self.path)
        if self.path.stat().st_size == 0:
            raise StoreError(
                "the file is empty (0 bytes), not a DuckDB store; it was left untouched: remove it "
                "to start a new store, or pass another --store",
                path=self.path,
            )
        con = self._open(read_only=True)
        try:
            is_store = verify_tables(con)
        except duckdb.Error as exc:
            raise self._unusable(exc) from None
        finally:
            con.close()
        if not is_store:
            raise StoreError(
                "is a DuckDB file but not an mfr store (no store_meta table); it was left "
                "untouched: pass another --store",
                path=self.path,
            )
        self._checked = True

    # -- run lifecycle -------------------------------------------------------------------------

    def mark_interrupted(self) -> list[str]:
        """Runs still `running` belong to killed processes (the caller holds the lock): fail them."""
        with self.connect() as con:
            stale = [
                r[0]
                for r in con.execute("SELECT run_id FROM runs WHERE status = 'running'").fetchall()
            ]
            for run_id in stale:
                manifest = self._manifest_from(con, run_id)
                manifest.status = "failed"
                manifest.finished_at = manifest.finished_at or utc_now()
                manifest.error = "interrupted: the process ended before the run finished"
                manifest.exit_code = int(ExitCode.INTERNAL_ERROR)
                for step in manifest.steps:
                    if step.status == "running":
                        step.status = "failed"
                write_run(con, manifest)
        return stale

    def find_identical(self, fingerprint: str) -> RunManifest | None:
        """The latest succeeded run with this fingerprint, if any."""
        if not self.path.exists():
            return None
        with self.connect() as con:
            row = con.execute(
                "SELECT manifest FROM runs WHERE fingerprint = ? AND status = 'succeeded' "
                "ORDER BY finished_at DESC LIMIT 1",
                [fingerprint],
            ).fetchone()
        return RunManifest.from_dict(json.loads(row[0])) if row else None

    def begin_run(self, manifest: RunManifest) -> None:
        """Record a run as `running` (its manifest only; no results yet)."""
        with self.connect() as con:
            con.execute(
                "INSERT INTO runs (run_id, spec_name, status, started_at, fingerprint, manifest) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    manifest.run_id,
                    manifest.spec_name,
                    manifest.status,
                    manifest.started_at,
                    manifest.fingerprint,
                    manifest.to_json(),
                ],
            )
            write_run(con, manifest)

    def mark_current(self, run_id: str) -> None:
        """A new run found this succeeded run up to date: it becomes its spec's latest again.

        Without this, a test run on another extract stays "latest" after the nightly has said
        "up to date" about the production extract's earlier run."""
        with self.connect() as con:
            con.execute(
                "UPDATE runs SET latest_at = ? WHERE run_id = ? AND status = 'succeeded'",
                [utc_now(), run_id],
            )

    def promote(self, spec_name: str) -> None:
        """Make `spec_name` the production spec: the `<table>_latest` views follow its runs."""
        with self.connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO store_meta VALUES (?, ?)", [PRODUCTION_KEY, spec_name]
            )
            refresh_views(con, result_tables(con))

    def prune(
        self,
        keep: int,
        *,
        spec: str | None = None,
        dry_run: bool = False,
        runs_dir: Path | None = None,
        logs_dir: Path | None = None,
        cache_dir: Path | None = None,
        compact: bool = True,
        lock: bool = True,
    ) -> PruneReport:
        """Retention (see `engine.store._prune`): keep each spec's `keep` newest runs and its
        latest succeeded one; delete the others' rows, export folders, logs and cache entries,
        then (with `compact`) rewrite the file so it shrinks.

        Takes the store's lock (`RunLockedError` while a run holds it) unless `lock=False`, for a
        caller that already holds it.
        """
        with StoreLock(self.path, "prune") if lock else contextlib.nullcontext():
            return prune_runs(
                self.path,
                self.connect,
                keep,
                spec=spec,
                dry_run=dry_run,
                runs_dir=runs_dir,
                logs_dir=logs_dir,
                cache_dir=cache_dir,
                compact=compact,
            )

    def finish_failed(self, manifest: RunManifest) -> None:
        """Record a failed run's manifest; its results were never published."""
        with self.connect() as con:
            write_run(con, manifest)
            write_steps(con, manifest)

    def publish(
        self,
        manifest: RunManifest,
        tables: Mapping[str, pl.DataFrame],
        *,
        on_table: Callable[[str, int], None] | None = None,
        reference: tuple[pl.DataFrame, pl.DataFrame] | None = None,
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        """Write a run's results and its `succeeded` manifest in ONE transaction.

        Each frame is appended to the table of its name (created on first use, new columns added),
        with `run_id` as the first column; the run becomes its spec's latest (`latest_runs`, the
        views `latest_<spec>.<table>`, and `<table>_latest` if the spec is the production one).
        If anything fails, or the process dies, before the commit, no row of the run is visible.
        `reference` (the run's territories and services tables) refreshes the dimension tables
        the `bi.<table>` views join names from (see `engine.store._typed`).
        The manifest's `finished_at` is set to the moment its results are all written.
        `before_commit` runs once the tables are appended and before the manifest is written:
        what the caller finishes meanwhile (the tables' hashes, the staged `manifest.json`) goes
        into the manifest the commit makes visible, and an error there rolls everything back.

        DuckDB appends with one thread here: two threads write a table's row groups out of order
        and the closing checkpoint rewrites each large table to put them back (measured on the
        1 M nightly: 5-6 s of CPU and a file 60% larger); one thread writes them once, in order,
        and leaves the other core to the caller's work (hashing while the store is written).
        """
        for name in tables:
            if not _IDENTIFIER.match(name) or name in _RESERVED or name.endswith("_latest"):
                raise ValueError(f"not a valid result table name: {name!r}")
        with self.connect() as con:
            con.execute("SET threads = 1")
            con.execute("BEGIN TRANSACTION")
            try:
                for name, frame in tables.items():
                    append_typed(con, manifest.run_id, name, for_store(frame))
                    if on_table is not None:
                        on_table(name, frame.height)
                if before_commit is not None:
                    before_commit()
                manifest.finished_at = utc_now()  # the run ends with its results in place
                write_steps(con, manifest)
                write_run(con, manifest)
                con.execute(
                    "UPDATE runs SET latest_at = finished_at WHERE run_id = ?", [manifest.run_id]
                )
                refresh_views(con, result_tables(con))
                if reference is not None:
                    write_dimensions(con, *reference)
                refresh_bi_views(con, result_tables(con))
                con.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(duckdb.Error):  # an invalidated database cannot roll back
                    con.execute("ROLLBACK")
                if isinstance(exc, duckdb.Error):
                    raise StoreWriteError(
                        f"could not write run {manifest.run_id} ({str(exc).splitlines()[0]}); "
                        "nothing of it was published and earlier runs are intact",
                        path=self.path,
                    ) from None
                raise

    # -- reading -------------------------------------------------------------------------------

    def _manifest_from(self, con: duckdb.DuckDBPyConnection, run_id: str) -> RunManifest:
        rows = con.execute("SELECT manifest FROM runs WHERE run_id = ?", [run_id]).fetchall()
        if not rows:
            raise KeyError(run_id)
        return RunManifest.from_dict(json.loads(rows[0][0]))

    def production_spec(self) -> str:
        """The spec the `<table>_latest` views and `latest` follow (`nightly` unless promoted)."""
        if not self.path.exists():
            return DEFAULT_PRODUCTION_SPEC
        with self.connect(read_only=True) as con:
            return str(scalar(con, f"SELECT {production_query()}"))

    def latest_run_id(self, spec: str | None = None, status: str = "succeeded") -> str:
        """The run `latest` means (see `engine.store._latest`): the newest run of `spec` (default:
        the production spec) with `status` (`succeeded`, `failed`, `running` or `any`)."""
        with self.connect(read_only=True) as con:
            return find_latest(con, self.path, spec, status)

    def resolve_run_id(
        self, run: str, *, spec: str | None = None, status: str | None = None
    ) -> str:
        """A full run id from `latest`, `latest-failed`, a full id, or an unambiguous prefix of
        one; `spec` and `status` choose what `latest` means, and an id must match them."""
        with self.connect(read_only=True) as con:
            return resolve_run(con, self.path, run, spec=spec, status=status)

    def manifest(
        self, run: str, *, spec: str | None = None, status: str | None = None
    ) -> RunManifest:
        """One run's manifest; `run` as for `resolve_run_id`."""
        with self.connect(read_only=True) as con:
            return self._manifest_from(
                con, resolve_run(con, self.path, run, spec=spec, status=status)
            )

    def runs(
        self, limit: int | None = None, *, spec: str | None = None, status: str | None = None
    ) -> pl.DataFrame:
        """One row per run, newest first; optionally only one spec's, or one status's."""
        check_status(status, allow_any=False)
        where, params = [], []
        for column, value in (("spec_name", spec), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        query = (
            "SELECT run_id, spec_name, status, started_at, finished_at, seconds, error, "
            "fingerprint, exit_code FROM runs"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY started_at DESC, run_id DESC"
        )
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        with self.connect(read_only=True) as con:
            return con.sql(query, params=params).pl()

    def latest_runs(self) -> pl.DataFrame:
        """Each spec's latest succeeded run (what its views show), and which spec is production."""
        with self.connect(read_only=True) as con:
            latest = latest_runs_query(with_latest_at=has_latest_at(con))
            return con.sql(
                f"SELECT spec_name, run_id, finished_at, latest_since, spec_name = "
                f"{production_query()} AS production FROM ({latest}) ORDER BY spec_name"
            ).pl()

    def table_names(self) -> list[str]:
        with self.connect(read_only=True) as con:
            return result_tables(con)

    def table(
        self, name: str, run_id: str | None = None, *, spec: str | None = None
    ) -> pl.DataFrame:
        """A result table, all runs or one run (`run_id` may be `latest` or a prefix)."""
        if not _IDENTIFIER.match(name):
            raise ValueError(f"not a valid table name: {name!r}")
        with self.connect(read_only=True) as con:
            if name not in result_tables(con):
                raise ConfigError(f"no table {name!r} in the store", path=self.path)
            if run_id is None:
                return _text_codes(con.sql(f'SELECT * FROM "{name}"').pl())
            resolved = resolve_run(con, self.path, run_id, spec=spec)
            return _text_codes(
                con.sql(f'SELECT * FROM "{name}" WHERE run_id = ?', params=[resolved]).pl()
            )


def _text_codes(frame: pl.DataFrame) -> pl.DataFrame:
    """Coded columns (DuckDB ENUMs, read as Categoricals) as text: a table read back out of the
    store joins the reference tables and frames of other runs as it is."""
    coded = [n for n, t in frame.schema.items() if isinstance(t, pl.Categorical)]
    return frame.with_columns(pl.col(coded).cast(pl.String)) if coded else frame
