"""The warehouse: one DuckDB file holding every run's manifest and results, keyed by `run_id`.

A run's results become visible in one transaction together with its `succeeded` status, so a reader
never sees half a run. DuckDB keeps one writer per file; connections are opened per operation and
closed at once, so `mfr runs` can read between a run's short writes (retrying while one is going on).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from engine.errors import ConfigError, EngineError, ExitCode, InputFileError
from engine.store._manifest import RunManifest, utc_now

__all__ = ["SCHEMA_VERSION", "Store", "StoreError", "StoreWriteError"]

SCHEMA_VERSION = 1
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
_RESERVED = {"runs", "run_steps", "store_meta"}
_BUSY = "Could not set lock"
# Errors that mean the file itself is damaged or unreadable (as opposed to a bug in a query).
_BROKEN = (
    duckdb.IOException,
    duckdb.InternalException,
    duckdb.SerializationException,
    duckdb.FatalException,
)


class StoreError(InputFileError):
    """The store file cannot be opened or read (corrupt, not a DuckDB file, unreadable)."""


class StoreWriteError(EngineError):
    """Writing a run's results failed (disk full, permissions); nothing of the run was published."""

    exit_code = ExitCode.INTERNAL_ERROR


_DDL = (
    """CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY,
        spec_name VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP,
        seconds DOUBLE,
        fingerprint VARCHAR NOT NULL,
        spec_hash VARCHAR,
        code_version VARCHAR,
        code_hash VARCHAR,
        extract_hash VARCHAR,
        funding_model_hash VARCHAR,
        policy_hash VARCHAR,
        forced BOOLEAN,
        error VARCHAR,
        exit_code INTEGER,
        manifest VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS run_steps (
        run_id VARCHAR NOT NULL,
        step VARCHAR NOT NULL,
        position INTEGER,
        status VARCHAR,
        started_at VARCHAR,
        seconds DOUBLE,
        rows_read BIGINT,
        rows_quarantined BIGINT,
        rows_written BIGINT,
        cached BOOLEAN,
        cache_key VARCHAR
    )""",
)


def _for_store(frame: pl.DataFrame) -> pl.DataFrame:
    """Types DuckDB should not infer from Arrow: enums/categoricals become text, all-null text."""
    casts = {
        name: pl.String()
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Categorical | pl.Enum | pl.Null)
    }
    return frame.with_columns(pl.col(n).cast(t) for n, t in casts.items()) if casts else frame


def _hash_of(manifest: RunManifest, role: str) -> str | None:
    found = manifest.input(role)
    return found["hash"] if found else None


class Store:
    """A DuckDB warehouse file.

    >>> store = Store(Path("out/mfr.duckdb"))  # doctest: +SKIP
    >>> store.runs()  # one row per run, newest first  # doctest: +SKIP
    >>> store.table("need", run_id="latest")  # doctest: +SKIP
    """

    def __init__(self, path: Path, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout

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
                raise self._unusable(exc) from None
            # DuckDB's own progress bar would print into a scheduled job's output
            con.execute("SET enable_progress_bar = false")
            return con

    def _unusable(self, exc: BaseException) -> StoreError:
        cause = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return StoreError(
            f"the store cannot be used ({cause}); the file was left untouched: restore it from a "
            "backup or the Parquet exports under out/runs/, or pass another --store",
            path=self.path,
        )

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection; DuckDB errors become `StoreError` naming the file."""
        if read_only and not self.path.exists():
            raise StoreError("no store here yet: run `mfr run SPEC` first", path=self.path)
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._open(read_only)
        try:
            if not read_only:
                self._initialise(con)
            yield con
        except _BROKEN as exc:
            raise self._unusable(exc) from None
        finally:
            con.close()

    def _initialise(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            for statement in _DDL:
                con.execute(statement)
            row = con.execute(
                "SELECT value FROM store_meta WHERE key = 'schema_version'"
            ).fetchone()
        except duckdb.Error as exc:
            raise self._unusable(exc) from None
        if row is None:
            con.execute(
                "INSERT INTO store_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
            )
        elif int(row[0]) > SCHEMA_VERSION:
            raise StoreError(
                f"store schema version {row[0]} is newer than this engine's ({SCHEMA_VERSION})",
                path=self.path,
            )

    def check(self) -> None:
        """Open the store for writing and read its catalogue: raises `StoreError` if unusable."""
        with self.connect() as con:
            try:
                con.execute("SELECT count(*) FROM runs").fetchone()
            except duckdb.Error as exc:
                raise self._unusable(exc) from None

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
                self._update_run(con, manifest)
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
            self._update_run(con, manifest)

    def finish_failed(self, manifest: RunManifest) -> None:
        """Record a failed run's manifest; its results were never published."""
        with self.connect() as con:
            self._update_run(con, manifest)
            self._insert_steps(con, manifest)

    def _update_run(self, con: duckdb.DuckDBPyConnection, manifest: RunManifest) -> None:
        con.execute(
            """UPDATE runs SET status = ?, finished_at = ?, seconds = ?, spec_hash = ?,
                   code_version = ?, code_hash = ?, extract_hash = ?, funding_model_hash = ?,
                   policy_hash = ?, forced = ?, error = ?, exit_code = ?, manifest = ?
               WHERE run_id = ?""",
            [
                manifest.status,
                manifest.finished_at,
                manifest.seconds,
                manifest.spec_hash,
                manifest.code_version,
                manifest.code_hash,
                _hash_of(manifest, "extract"),
                _hash_of(manifest, "funding_model"),
                _hash_of(manifest, "policy"),
                manifest.forced,
                manifest.error,
                manifest.exit_code,
                manifest.to_json(),
                manifest.run_id,
            ],
        )

    def _insert_steps(self, con: duckdb.DuckDBPyConnection, manifest: RunManifest) -> None:
        con.execute("DELETE FROM run_steps WHERE run_id = ?", [manifest.run_id])
        for position, s in enumerate(manifest.steps):
            con.execute(
                "INSERT INTO run_steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    manifest.run_id,
                    s.name,
                    position,
                    s.status,
                    s.started_at,
                    s.seconds,
                    s.rows_read,
                    s.rows_quarantined,
                    s.rows_written,
                    s.cached,
                    s.cache_key,
                ],
            )

    def publish(
        self,
        manifest: RunManifest,
        tables: Mapping[str, pl.DataFrame],
        *,
        on_table: Callable[[str, int], None] | None = None,
    ) -> None:
        """Write a run's results and its `succeeded` manifest in ONE transaction.

        Each frame is appended to the table of its name (created on first use, new columns added),
        with `run_id` as the first column, and a view `<table>_latest` shows the newest run's rows.
        If anything fails, or the process dies, before the commit, no row of the run is visible.
        The manifest's `finished_at` is set to the moment its results are all written.
        """
        for name in tables:
            if not _IDENTIFIER.match(name) or name in _RESERVED or name.endswith("_latest"):
                raise ValueError(f"not a valid result table name: {name!r}")
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for name, frame in tables.items():
                    self._append(con, manifest.run_id, name, _for_store(frame))
                    if on_table is not None:
                        on_table(name, frame.height)
                manifest.finished_at = utc_now()  # the run ends with its results in place
                self._insert_steps(con, manifest)
                self._update_run(con, manifest)
                con.execute("COMMIT")
            except BaseException as exc:
                con.execute("ROLLBACK")
                if isinstance(exc, duckdb.Error):
                    raise StoreWriteError(
                        f"could not write run {manifest.run_id} ({str(exc).splitlines()[0]}); "
                        "nothing of it was published and earlier runs are intact",
                        path=self.path,
                    ) from None
                raise

    def _append(
        self, con: duckdb.DuckDBPyConnection, run_id: str, name: str, frame: pl.DataFrame
    ) -> None:
        con.register("_staged", frame.to_arrow())
        try:
            exists = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
            ).fetchone()
            if not exists or exists[0] == 0:
                con.execute(
                    f'CREATE TABLE "{name}" AS SELECT ?::VARCHAR AS run_id, * FROM _staged LIMIT 0',
                    [run_id],
                )
            else:
                present = {r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()}
                for column, dtype, *_ in con.execute("DESCRIBE SELECT * FROM _staged").fetchall():
                    if column not in present:
                        con.execute(f'ALTER TABLE "{name}" ADD COLUMN "{column}" {dtype}')
            con.execute(f'DELETE FROM "{name}" WHERE run_id = ?', [run_id])
            con.execute(
                f'INSERT INTO "{name}" BY NAME SELECT ?::VARCHAR AS run_id, * FROM _staged',
                [run_id],
            )
            con.execute(
                f'CREATE OR REPLACE VIEW "{name}_latest" AS SELECT * FROM "{name}" WHERE run_id = '
                f"(SELECT r.run_id FROM runs r WHERE r.status = 'succeeded' AND r.run_id IN "
                f'(SELECT DISTINCT run_id FROM "{name}") ORDER BY r.finished_at DESC, r.run_id DESC '
                "LIMIT 1)"
            )
        finally:
            con.unregister("_staged")

    # -- reading -------------------------------------------------------------------------------

    def _manifest_from(self, con: duckdb.DuckDBPyConnection, run_id: str) -> RunManifest:
        row = con.execute("SELECT manifest FROM runs WHERE run_id = ?", [run_id]).fetchone()
        if row is None:
            raise KeyError(run_id)
        return RunManifest.from_dict(json.loads(row[0]))

    def resolve_run_id(self, run: str) -> str:
        """A full run id from `latest`, a full id, or an unambiguous prefix of one."""
        with self.connect(read_only=True) as con:
            return self._resolve(con, run)

    def _resolve(self, con: duckdb.DuckDBPyConnection, run: str) -> str:
        if run == "latest":
            rows = con.execute(
                "SELECT run_id FROM runs ORDER BY started_at DESC, run_id DESC LIMIT 1"
            ).fetchall()
        else:
            rows = con.execute(
                "SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY run_id", [run]
            ).fetchall()
        exact = [r[0] for r in rows if r[0] == run]
        if exact:
            return exact[0]
        if len(rows) == 1:
            return rows[0][0]
        if not rows:
            raise ConfigError(f"no run {run!r} in the store (see `mfr runs`)", path=self.path)
        raise ConfigError(f"{run!r} matches {len(rows)} runs; give more of the id", path=self.path)

    def manifest(self, run: str) -> RunManifest:
        """One run's manifest; `run` is `latest`, a run id or an unambiguous prefix of one."""
        with self.connect(read_only=True) as con:
            return self._manifest_from(con, self._resolve(con, run))

    def runs(self, limit: int | None = None) -> pl.DataFrame:
        """One row per run, newest first."""
        query = (
            "SELECT run_id, spec_name, status, started_at, finished_at, seconds, error, fingerprint "
            "FROM runs ORDER BY started_at DESC, run_id DESC"
        )
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        with self.connect(read_only=True) as con:
            return con.sql(query).pl()

    def table_names(self) -> list[str]:
        with self.connect(read_only=True) as con:
            rows = con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
                "ORDER BY table_name"
            ).fetchall()
        return [r[0] for r in rows if r[0] not in _RESERVED]

    def table(self, name: str, run_id: str | None = None) -> pl.DataFrame:
        """A result table, all runs or one run (`run_id` may be `latest` or a prefix)."""
        if not _IDENTIFIER.match(name):
            raise ValueError(f"not a valid table name: {name!r}")
        with self.connect(read_only=True) as con:
            if name not in {r[0] for r in con.execute("SHOW TABLES").fetchall()}:
                raise ConfigError(f"no table {name!r} in the store", path=self.path)
            if run_id is None:
                return con.sql(f'SELECT * FROM "{name}"').pl()
            resolved = self._resolve(con, run_id)
            return con.sql(f'SELECT * FROM "{name}" WHERE run_id = ?', params=[resolved]).pl()
