"""A sweep in the store: its manifest row, and each finished point's rows, committed one point at
a time so that a sweep that stops keeps every point it finished.

Tables (typed as every result table, `engine.store._typed`; `run_id` is the sweep's id for the
sweep's own rows and `<sweep id>/<point>` for a point's, so writing a point twice replaces it):

- `sweeps`: one row per sweep: name, spec, fingerprint, status, points, finished, manifest (JSON);
- `sweep_points`: a finished point: its settings, seconds, the worker that computed it;
- `sweep_totals`: a point's totals (entitlements, claims, envelope, allocated, shortfall, coverage,
  Gini of money per resident);
- `sweep_territories`: a point's allocation per oblast;
- `sweep_changes`: per point and oblast, allocated and shortfall against the baseline point, and
  whether the oblast wins or loses (written when the sweep finishes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from engine.errors import ConfigError
from engine.store import Store, utc_now
from engine.store._typed import append_typed

__all__ = ["StoredSweep", "find_sweep", "finished_points", "record_point", "stored_sweep"]

SWEEP_TABLES = ("sweeps", "sweep_points", "sweep_totals", "sweep_territories", "sweep_changes")


@dataclass(frozen=True)
class StoredSweep:
    """A sweep read back from the store: its manifest and its tables (codes as text)."""

    sweep_id: str
    manifest: dict[str, Any]
    totals: pl.DataFrame
    territories: pl.DataFrame
    changes: pl.DataFrame
    points: pl.DataFrame


def _tables(con: Any) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchall()
    return {r[0] for r in rows}


def _text(frame: pl.DataFrame) -> pl.DataFrame:
    coded = [n for n, t in frame.schema.items() if isinstance(t, pl.Categorical | pl.Enum)]
    return frame.with_columns(pl.col(coded).cast(pl.String)) if coded else frame


def write_sweep_row(store: Store, manifest: dict[str, Any]) -> None:
    """The sweep's row in `sweeps` (replaced as the sweep goes on)."""
    row = pl.DataFrame(
        {
            "sweep_id": [manifest["sweep_id"]],
            "name": [manifest["name"]],
            "spec_path": [manifest["spec_path"]],
            "fingerprint": [manifest["fingerprint"]],
            "status": [manifest["status"]],
            "started_at": [manifest["started_at"]],
            "finished_at": [manifest.get("finished_at")],
            "points": [manifest["points"]],
            "finished": [manifest.get("finished", 0)],
            "manifest": [json.dumps(manifest, default=str, sort_keys=True)],
        },
        schema_overrides={"finished_at": pl.String, "started_at": pl.String},
    )
    with store.connect() as con:
        con.begin()
        append_typed(con, manifest["sweep_id"], "sweeps", row)
        con.commit()


def find_sweep(store: Store, fingerprint: str) -> dict[str, Any] | None:
    """The newest sweep with this fingerprint (its manifest), or None."""
    if not store.path.exists():
        return None
    with store.connect(read_only=True) as con:
        if "sweeps" not in _tables(con):
            return None
        row = con.execute(
            "SELECT manifest FROM sweeps WHERE fingerprint = ? ORDER BY started_at DESC LIMIT 1",
            [fingerprint],
        ).fetchone()
    return None if row is None else dict(json.loads(row[0]))


def finished_points(store: Store, sweep_id: str) -> set[str]:
    """The points of a sweep recorded as finished."""
    with store.connect(read_only=True) as con:
        if "sweep_points" not in _tables(con):
            return set()
        rows = con.execute("SELECT point FROM sweep_points WHERE sweep_id = ?", [sweep_id])
        return {r[0] for r in rows.fetchall()}


def record_point(
    store: Store, sweep_id: str, point: dict[str, Any], frames: dict[str, pl.DataFrame]
) -> None:
    """One finished point, in one transaction: its record, totals and territories."""
    key = f"{sweep_id}/{point['point']}"
    record = pl.DataFrame(
        [{**point, "sweep_id": sweep_id, "finished_at": str(utc_now())}],
        schema_overrides={"scenario": pl.String, "envelope": pl.String, "policy": pl.String},
    )
    with store.connect() as con:
        con.begin()
        append_typed(con, key, "sweep_points", record)
        for name in ("totals", "territories"):
            frame = frames[name].with_columns(sweep_id=pl.lit(sweep_id))
            append_typed(con, key, f"sweep_{name}", frame)
        con.commit()


def record_changes(store: Store, sweep_id: str, changes: pl.DataFrame) -> None:
    with store.connect() as con:
        con.begin()
        append_typed(
            con, sweep_id, "sweep_changes", changes.with_columns(sweep_id=pl.lit(sweep_id))
        )
        con.commit()


def read_sweep_table(store: Store, sweep_id: str, table: str) -> pl.DataFrame:
    with store.connect(read_only=True) as con:
        if table not in _tables(con):
            return pl.DataFrame()
        frame = con.sql(
            f'SELECT * EXCLUDE (run_id) FROM "{table}" WHERE sweep_id = ?', params=[sweep_id]
        ).pl()
    return _text(frame)


def stored_sweep(
    store: Path | str | Store, sweep: str = "latest", *, name: str | None = None
) -> StoredSweep:
    """A sweep from the store: by id, or the newest finished one (`latest`, of sweep `name`).

    >>> stored_sweep("out/mfr.duckdb").totals.columns[:3]  # doctest: +SKIP
    ['point', 'scenario', 'envelope']
    """
    store = store if isinstance(store, Store) else Store(Path(store))
    with store.connect(read_only=True) as con:
        if "sweeps" not in _tables(con):
            raise ConfigError(
                "no sweep in this store yet: run `mfr sweep SPEC` first", path=store.path
            )
        if sweep == "latest":
            query = "SELECT manifest FROM sweeps WHERE status = 'succeeded'"
            params: list[Any] = []
            if name is not None:
                query += " AND name = ?"
                params.append(name)
            row = con.execute(query + " ORDER BY started_at DESC LIMIT 1", params).fetchone()
        else:
            row = con.execute("SELECT manifest FROM sweeps WHERE sweep_id = ?", [sweep]).fetchone()
    if row is None:
        raise ConfigError(f"no sweep '{sweep}' in this store", path=store.path)
    manifest = dict(json.loads(row[0]))
    sweep_id = manifest["sweep_id"]
    return StoredSweep(
        sweep_id=sweep_id,
        manifest=manifest,
        totals=read_sweep_table(store, sweep_id, "sweep_totals").sort("point"),
        territories=read_sweep_table(store, sweep_id, "sweep_territories").sort(
            "point", "oblast_code"
        ),
        changes=read_sweep_table(store, sweep_id, "sweep_changes").sort("point", "oblast_code"),
        points=read_sweep_table(store, sweep_id, "sweep_points").sort("point"),
    )
