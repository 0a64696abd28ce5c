"""Typed result tables: coded dimensions as DuckDB ENUMs, exact money, and a readable view per table.

A run's frames arrive with polars Enums and Decimals (`engine.columns`). In the store:

- an Enum column becomes a DuckDB `ENUM` of its categories (one or two bytes a row); when a later
  run brings categories a column lacks, the column's ENUM grows to the sorted union (an `ALTER
  COLUMN ... TYPE`, rare: categories come from the reference data); a text column named as a
  dimension (`DIMENSION_COLUMNS`, or any `*_code`) is coded the same way, and a Categorical too;
- money is `DECIMAL(18,2)` (a segment's parts `DECIMAL(18,4)`); a float `*_uah` column from a step
  that still computes in floats (a forecast) is rounded once to kopiyky, half away from zero, at
  this edge, so no binary float amount is ever stored;
- case and recipient ids stay `VARCHAR` (identifiers, nearly unique per case: see `engine.columns`).

For BI tools that prefer plain text, `bi.<table>` shows every result table with its ENUMs as
`VARCHAR` and the names joined back: `<column>_name` for every territory code (from
`dim_territory`, the run's KATOTTG table) and `service_name_uk`, `service_name_en` for
`service_code` (from `dim_service`), once a run has published its reference tables
(`Store.publish(..., reference=(territories, services))`).

>>> con.sql("SELECT oblast_code_name, sum(state_uah) FROM bi.case_months GROUP BY 1")  # doctest: +SKIP
"""

from __future__ import annotations

import duckdb
import polars as pl

from engine.columns import MONEY

__all__ = [
    "DIMENSION_COLUMNS",
    "DIMENSION_TABLES",
    "append_typed",
    "for_store",
    "refresh_bi_views",
    "write_dimensions",
]

DIMENSION_TABLES = frozenset({"dim_territory", "dim_service"})
DIMENSION_COLUMNS = frozenset(
    {
        "registered_hromada",
        "service_group",
        "unit",
        "provider_id",
        "ownership",
        "disability_group",
        "level",
        "territory_name",
        "envelope_group",
        "tier",
        "outcome",
        # few distinct words a run writes again and again (statuses, model forms, methods): coded
        # too, so no result table keeps a low-cardinality text column (`reason`-like text stays)
        "status",
        "sex",
        "kind",
        "model",
        "method",
        "target",
        "demand_class",
        "criterion",
        "marginal_tier",
    }
)
_TERRITORY_COLUMNS = (
    "hromada_code",
    "raion_code",
    "oblast_code",
    "registered_hromada",
    "registered_oblast_code",
    "territory_code",
    "registered_code",
    "serving_code",
)


def _is_dimension(name: str) -> bool:
    return name in DIMENSION_COLUMNS or name.endswith("_code")


def for_store(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as the store keeps it: dimensions as Enums, money as decimals (module docstring)."""
    casts: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Null):
            casts.append(pl.col(name).cast(pl.String))
        elif isinstance(dtype, pl.Categorical) or (dtype == pl.String and _is_dimension(name)):
            values = frame[name].cast(pl.String).drop_nulls().unique().sort().to_list()
            casts.append(pl.col(name).cast(pl.String).cast(pl.Enum(values)))
        elif name.endswith("_uah") and dtype in (pl.Float32, pl.Float64):
            casts.append(pl.col(name).round(2, mode="half_away_from_zero").cast(MONEY))
    return frame.with_columns(casts) if casts else frame


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _enum_type(categories: list[str]) -> str:
    return "ENUM(" + ", ".join(_literal(c) for c in categories) + ")"


def _types(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> dict[str, str]:
    """DuckDB column types for the staged frame: ENUMs for Enum columns, else DuckDB's own."""
    staged = {c: t for c, t, *_ in con.execute("DESCRIBE SELECT * FROM _staged").fetchall()}
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Enum):
            staged[name] = _enum_type(list(dtype.categories))
    return staged


def _existing(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = "
        "current_database() AND schema_name = 'main' AND table_name = ?",
        [name],
    ).fetchall()
    return {column: dtype for column, dtype in rows}


def _grow_enum(
    con: duckdb.DuckDBPyConnection, table: str, column: str, have: str, frame: pl.DataFrame
) -> None:
    """Widen an ENUM column to hold the staged categories too (sorted union), if it must."""
    dtype = frame.schema[column]
    if not have.startswith("ENUM(") or not isinstance(dtype, pl.Enum):
        return  # a text column (a store from before coded dimensions) takes any value
    known = con.execute(f"SELECT enum_range(NULL::{have})").fetchall()[0][0]
    wanted = set(dtype.categories) - set(known)
    if wanted:
        union = sorted({*known, *wanted})
        con.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE {_enum_type(union)}')


def append_typed(
    con: duckdb.DuckDBPyConnection, run_id: str, name: str, frame: pl.DataFrame
) -> None:
    """Replace run `run_id`'s rows of table `name` by `frame` (created on first use, typed as the
    module docstring says; new columns added, ENUMs widened)."""
    con.register("_staged", frame.to_arrow())
    try:
        types = _types(con, frame)
        existing = _existing(con, name)
        if not existing:
            columns = ", ".join(f'"{c}" {t}' for c, t in types.items())
            con.execute(f'CREATE TABLE "{name}" (run_id VARCHAR, {columns})')
        else:
            for column, dtype in types.items():
                if column not in existing:
                    con.execute(f'ALTER TABLE "{name}" ADD COLUMN "{column}" {dtype}')
                else:
                    _grow_enum(con, name, column, existing[column], frame)
        con.execute(f'DELETE FROM "{name}" WHERE run_id = ?', [run_id])
        con.execute(
            f'INSERT INTO "{name}" BY NAME SELECT ?::VARCHAR AS run_id, * FROM _staged', [run_id]
        )
    finally:
        con.unregister("_staged")


def _territory_dimension(territories: pl.DataFrame) -> pl.DataFrame:
    """One row per territory code of any level (a city of special status is its own oblast,
    raion and hromada: the coarsest level names it)."""
    t = territories
    frames = [
        pl.DataFrame(
            {"code": ["UA"], "level": ["national"], "name": ["Україна"], "name_en": ["Ukraine"]}
        ),
        t.select(
            code="oblast_code", level=pl.lit("oblast"), name="oblast_name", name_en="oblast_name_en"
        ),
        t.select(
            code="raion_code",
            level=pl.lit("raion"),
            name="raion_name",
            name_en=pl.lit(None, dtype=pl.String),
        ),
        t.select(
            code="hromada_code",
            level=pl.lit("hromada"),
            name="hromada_name",
            name_en=pl.lit(None, dtype=pl.String),
        ),
    ]
    return pl.concat(frames).unique("code", keep="first", maintain_order=True)


def write_dimensions(
    con: duckdb.DuckDBPyConnection, territories: pl.DataFrame, services: pl.DataFrame
) -> None:
    """(Re)write `dim_territory` and `dim_service` from the run's reference tables (as
    `engine.reference.load_territories` and `load_services` give them)."""
    territory = _territory_dimension(territories)
    service = services.select(
        "service_code", "name_uk", "name_en", "unit", pl.col("group").alias("service_group")
    )
    for table, frame in (("dim_territory", territory), ("dim_service", service)):
        con.register("_dimension", frame.to_arrow())
        try:
            con.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM _dimension')
        finally:
            con.unregister("_dimension")


def _has_dimensions(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name IN ('dim_territory', 'dim_service')"
    ).fetchone()
    return bool(found and found[0] == len(DIMENSION_TABLES))


def refresh_bi_views(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    """(Re)create `bi.<table>` for every result table (module docstring); names are joined once
    the store holds the dimension tables (`write_dimensions`)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS bi")
    named = _has_dimensions(con)
    for table in tables:
        columns = _existing(con, table)
        select, joins = [], []
        for column, dtype in columns.items():
            shown = (
                f'CAST(t."{column}" AS VARCHAR)' if dtype.startswith("ENUM(") else f't."{column}"'
            )
            select.append(f'{shown} AS "{column}"')
        for i, column in enumerate(c for c in _TERRITORY_COLUMNS if c in columns and named):
            joins.append(
                f'LEFT JOIN main.dim_territory d{i} ON d{i}.code = CAST(t."{column}" AS VARCHAR)'
            )
            select.append(f'd{i}.name AS "{column}_name"')
        if "service_code" in columns and named:
            joins.append(
                "LEFT JOIN main.dim_service s ON s.service_code = CAST(t.service_code AS VARCHAR)"
            )
            select += ["s.name_uk AS service_name_uk", "s.name_en AS service_name_en"]
        con.execute(
            f'CREATE OR REPLACE VIEW bi."{table}" AS SELECT {", ".join(select)} '
            f'FROM main."{table}" t {" ".join(joins)}'
        )
