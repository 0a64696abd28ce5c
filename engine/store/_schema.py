"""The store's own tables (created and migrated on the first write, the rows of `runs` and
`run_steps`) and its read-only verification.

Schema 2 added `runs.latest_at` (when a run last became its spec's latest: published, or confirmed
up to date by a later identical run), the `latest_runs` view and a schema of views per spec.

Schema 3 added what a run read, content-addressed (see `engine.store._inputs`): `input_blobs` holds
each file's bytes once under its sha256, however many runs read it; `run_input_files` lists every
file of every input of a run (the spec, the funding model, scenarios, policy, forecast configuration,
reference data) with its hash, and the extract's files by hash only (`stored` false). A store of an
older schema gains both tables, empty, on its first write: its runs stay readable, but cannot be
reproduced (`mfr reproduce` says so).
"""

from __future__ import annotations

import duckdb

from engine.store._manifest import RunManifest

__all__ = [
    "DDL",
    "RESERVED_TABLES",
    "RESTORE",
    "SCHEMA_VERSION",
    "diagnosis",
    "first_line",
    "is_damage",
    "result_tables",
    "verify_tables",
    "write_run",
    "write_steps",
]

SCHEMA_VERSION = 3
# The store's own tables and views; every other table in `main` holds a run's results.
RESERVED_TABLES = frozenset(
    {
        "runs",
        "run_steps",
        "store_meta",
        "latest_runs",
        "dim_territory",
        "dim_service",
        "input_blobs",
        "run_input_files",
    }
)

# Errors that mean the file itself is damaged or unreadable (as opposed to a bug in a query).
BROKEN = (
    duckdb.IOException,
    duckdb.InternalException,
    duckdb.SerializationException,
    duckdb.FatalException,
)
# DuckDB reports a failed block checksum as a plain `duckdb.Error`: recognised by its words.
DAMAGE_WORDS = ("Corrupt database file", "not a valid DuckDB database", "Could not read enough")
RESTORE = (
    "restore it from a backup (each run's results are also in its Parquet exports under runs/) "
    "or pass another --store"
)


def is_damage(exc: BaseException) -> bool:
    return isinstance(exc, BROKEN) or (
        isinstance(exc, duckdb.Error) and any(w in str(exc) for w in DAMAGE_WORDS)
    )


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# DuckDB's words -> what they mean for the operator
_DIAGNOSES = (
    ("Could not read enough bytes", "truncated (shorter than its own index says)"),
    ("Corrupt database file", "damaged (a block's checksum does not match its bytes)"),
    ("not a valid DuckDB database", "not a DuckDB database"),
)


def diagnosis(cause: str) -> str | None:
    """What a DuckDB error about the file means, in the operator's words, if recognised."""
    return next((meaning for words, meaning in _DIAGNOSES if words in cause), None)


DDL = (
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
    """ALTER TABLE runs ADD COLUMN IF NOT EXISTS latest_at TIMESTAMP""",
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
    # schema 3: the inputs of each run, content-addressed (engine.store._inputs)
    """CREATE TABLE IF NOT EXISTS input_blobs (
        sha256 VARCHAR PRIMARY KEY,
        bytes BIGINT NOT NULL,
        content BLOB NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS run_input_files (
        run_id VARCHAR NOT NULL,
        role VARCHAR NOT NULL,
        input_path VARCHAR NOT NULL,
        member VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL,
        bytes BIGINT NOT NULL,
        stored BOOLEAN NOT NULL
    )""",
)


def verify_tables(con: duckdb.DuckDBPyConnection) -> bool:
    """Read every block of every table, so DuckDB verifies each block's checksum; raises the
    `duckdb.Error` of the first damaged block. Returns whether the file is an mfr store (has
    `store_meta`) or an empty database; False for another application's DuckDB file.

    `count(*)` alone would be answered from metadata, so each column is hashed and aggregated
    (`bit_xor(hash(COLUMNS(*)))`): cheap (tens of milliseconds for a 15 MB store) and complete.
    """
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() ORDER BY schema_name, table_name"
    ).fetchall()
    for schema, name in tables:
        con.execute(f'SELECT count(*), bit_xor(hash(COLUMNS(*))) FROM "{schema}"."{name}"')
    if ("main", "runs") in tables:  # a point lookup reads the primary-key index's blocks too
        con.execute("SELECT count(*) FROM runs WHERE run_id = 'check'").fetchall()
    return not tables or ("main", "store_meta") in tables


def _hash_of(manifest: RunManifest, role: str) -> str | None:
    found = manifest.input(role)
    return found["hash"] if found else None


def result_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The tables holding runs' results (keyed by `run_id`), in name order."""
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' ORDER BY table_name"
    ).fetchall()
    return [r[0] for r in rows if r[0] not in RESERVED_TABLES]


def write_run(con: duckdb.DuckDBPyConnection, manifest: RunManifest) -> None:
    """A run's row in `runs`, from its manifest (the row exists: `begin_run` inserted it)."""
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


def write_steps(con: duckdb.DuckDBPyConnection, manifest: RunManifest) -> None:
    """A run's rows in `run_steps`, replacing any earlier ones."""
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
