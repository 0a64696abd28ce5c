"""Which run is "latest", and the views that show it: one run of one spec, never a mix.

- `latest_runs` (view): one row per spec, its newest succeeded run — the one most recently
  published, or confirmed as up to date by a run that found nothing had changed — with the DuckDB
  schema holding that spec's views and whether the spec is the store's production spec.
- `latest_<spec>.<table>` (a schema per spec): every result table restricted to that spec's latest
  run. A table the run did not publish shows no rows: it never falls back to an older run.
- `<table>_latest` (in `main`): the same for the production spec, `nightly` unless another spec was
  promoted (`mfr promote SPEC`, kept in `store_meta`).

The views are rebuilt in the transaction that publishes a run, so they always name existing tables
and columns; which run they show is decided when they are queried, from `runs` and `store_meta`.
"""

from __future__ import annotations

import hashlib
import re

import duckdb

__all__ = [
    "DEFAULT_PRODUCTION_SPEC",
    "PRODUCTION_KEY",
    "has_latest_at",
    "latest_runs_query",
    "production_query",
    "refresh_views",
    "schema_names",
]

PRODUCTION_KEY = "production_spec"
DEFAULT_PRODUCTION_SPEC = "nightly"
_UNSAFE = re.compile(r"[^a-z0-9_]+")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def has_latest_at(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `runs` has its `latest_at` column (stores written before schema 2 do not)."""
    rows = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'runs' AND column_name = 'latest_at'"
    ).fetchall()
    return bool(rows and rows[0][0])


def production_query() -> str:
    """A scalar subquery: the production spec's name."""
    return (
        f"(SELECT coalesce((SELECT value FROM main.store_meta WHERE key = {_literal(PRODUCTION_KEY)}"
        f"), {_literal(DEFAULT_PRODUCTION_SPEC)}))"
    )


def latest_runs_query(*, with_latest_at: bool = True) -> str:
    """Each spec's latest succeeded run: `spec_name, run_id, finished_at, latest_since`."""
    since = "coalesce(latest_at, finished_at)" if with_latest_at else "finished_at"
    return (
        f"SELECT spec_name, run_id, finished_at, {since} AS latest_since FROM main.runs "
        "WHERE status = 'succeeded' QUALIFY row_number() OVER "
        f"(PARTITION BY spec_name ORDER BY {since} DESC, run_id DESC) = 1"
    )


def schema_names(specs: list[str]) -> dict[str, str]:
    """Spec name -> schema of its views: `latest_` + the name in lower case, `_` for other signs.

    `specs` comes oldest first, so a spec keeps its schema when a later one would map to the same
    name; the later one gets a short hash of its name appended.
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for spec in specs:
        schema = "latest_" + _UNSAFE.sub("_", spec.lower()).strip("_")
        if schema in taken:
            schema += "_" + hashlib.sha256(spec.encode()).hexdigest()[:6]
        names[spec] = schema
        taken.add(schema)
    return names


def refresh_views(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    """(Re)create `latest_runs`, each spec's schema of views and the production `<table>_latest`."""
    specs = [
        r[0]
        for r in con.execute(
            "SELECT spec_name FROM main.runs WHERE status = 'succeeded' "
            "GROUP BY spec_name ORDER BY min(started_at), spec_name"
        ).fetchall()
    ]
    schemas = schema_names(specs)
    mapping = " ".join(f"WHEN {_literal(s)} THEN {_literal(n)}" for s, n in schemas.items())
    schema_column = f"CASE l.spec_name {mapping} END" if mapping else "NULL::VARCHAR"
    con.execute(
        "CREATE OR REPLACE VIEW main.latest_runs AS SELECT l.spec_name, l.run_id, l.finished_at, "
        f"l.latest_since, {schema_column} AS views_schema, "
        f"l.spec_name = {production_query()} AS production "
        f"FROM ({latest_runs_query()}) l ORDER BY l.spec_name"
    )
    for table in tables:
        con.execute(
            f'CREATE OR REPLACE VIEW main."{table}_latest" AS SELECT * FROM main."{table}" '
            "WHERE run_id = (SELECT run_id FROM main.latest_runs WHERE production)"
        )
    for spec, schema in schemas.items():
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        for table in tables:
            con.execute(
                f'CREATE OR REPLACE VIEW "{schema}"."{table}" AS SELECT * FROM main."{table}" '
                f"WHERE run_id = (SELECT run_id FROM main.latest_runs WHERE spec_name = "
                f"{_literal(spec)})"
            )
