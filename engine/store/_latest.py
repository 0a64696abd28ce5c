"""What a run reference means: `latest`, `latest-failed`, a run id or an unambiguous prefix of one.

`latest` is the newest SUCCEEDED run of one spec — the production spec unless a spec is named —
the same run its views (`latest_<spec>.<table>`, and `<table>_latest` for the production spec), `mfr
show latest` and `mfr report latest` show. "Newest" for a succeeded run means most recently
published or confirmed up to date by a run that found nothing had changed; for the other statuses
(`failed`, `running`, `any`) it means the most recently started.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from engine.errors import ConfigError
from engine.store._views import has_latest_at, latest_runs_query, production_query

__all__ = ["RUN_STATUSES", "SELECTORS", "find_latest", "resolve_run", "scalar"]

RUN_STATUSES = ("succeeded", "failed", "running")
SELECTORS = {"latest": "succeeded", "latest-failed": "failed"}  # selector -> default status


def scalar(con: duckdb.DuckDBPyConnection, query: str) -> object:
    rows = con.execute(query).fetchall()  # fetch to the end: the connection is free again
    return rows[0][0] if rows else None


def check_status(status: str | None, *, allow_any: bool) -> None:
    allowed = (*RUN_STATUSES, "any") if allow_any else RUN_STATUSES
    if status is not None and status not in allowed:
        raise ConfigError(f"unknown run status {status!r}; expected one of {', '.join(allowed)}")


def find_latest(
    con: duckdb.DuckDBPyConnection, path: Path, spec: str | None, status: str = "succeeded"
) -> str:
    """The run id `latest` means for `spec` (default: the production spec) and `status`."""
    check_status(status, allow_any=True)
    name = spec if spec is not None else str(scalar(con, f"SELECT {production_query()}"))
    params: list[str] = [name]
    if status == "succeeded":
        latest = latest_runs_query(with_latest_at=has_latest_at(con))
        query = f"SELECT run_id FROM ({latest}) WHERE spec_name = ?"
    else:
        query = "SELECT run_id FROM runs WHERE spec_name = ?"
        if status != "any":
            query += " AND status = ?"
            params.append(status)
        query += " ORDER BY started_at DESC, run_id DESC LIMIT 1"
    rows = con.execute(query, params).fetchall()
    if rows:
        return str(rows[0][0])
    specs = con.execute(
        "SELECT spec_name, count(*) FROM runs GROUP BY spec_name ORDER BY spec_name"
    ).fetchall()
    seen = ", ".join(f"{s} ({n} run{'s' if n != 1 else ''})" for s, n in specs) or "none"
    which = "" if spec is not None else " (the production spec)"
    kind = "run" if status == "any" else f"{status} run"
    hint = "" if spec is not None else " or make one production: mfr promote NAME"
    raise ConfigError(
        f"no {kind} of spec '{name}'{which} in the store; specs with runs: {seen}; "
        f"pass --spec NAME{hint}",
        path=path,
    )


def resolve_run(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    run: str,
    *,
    spec: str | None = None,
    status: str | None = None,
) -> str:
    """A full run id from a selector (`latest`, `latest-failed`), a full id or a prefix; a run
    named by id must match `spec` and `status` when they are given."""
    check_status(status, allow_any=True)
    if run in SELECTORS:
        return find_latest(con, path, spec, status or SELECTORS[run])
    rows = con.execute(
        "SELECT run_id, spec_name, status FROM runs WHERE starts_with(run_id, ?) ORDER BY run_id",
        [run],
    ).fetchall()
    exact = [r for r in rows if r[0] == run]
    rows = exact or rows
    if not rows:
        raise ConfigError(f"no run {run!r} in the store (see `mfr runs`)", path=path)
    if len(rows) > 1:
        raise ConfigError(f"{run!r} matches {len(rows)} runs; give more of the id", path=path)
    run_id, run_spec, run_status = rows[0]
    if (spec is not None and run_spec != spec) or status not in (None, "any", run_status):
        raise ConfigError(
            f"run {run_id} is a {run_status} run of spec '{run_spec}', not what --spec/--status "
            "asked for",
            path=path,
        )
    return str(run_id)
