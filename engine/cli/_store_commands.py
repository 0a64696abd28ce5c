"""`mfr runs`, `mfr show`, `mfr prune`, `mfr promote`, `mfr check`: reading and keeping the store.

Every command finds the store by the one rule of `engine.store.locate_store` and says which file it
used (`store: ...`) — on stdout, or on stderr when stdout carries JSON for a script.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import typer

__all__ = [
    "STORE_HELP",
    "check",
    "latest_note",
    "promote",
    "prune",
    "runs",
    "say_store",
    "show",
    "store_for",
]

STORE_HELP = (
    "DuckDB store file. Default: $MFR_STORE, else the spec's outputs.store (mfr run), else "
    "out/mfr.duckdb in the project (the nearest folder upwards holding pipelines/)."
)
_SPEC_HELP = "Only runs of this spec (by name, e.g. nightly); `latest` means this spec's latest."
_STATUS_HELP = "Only runs with this status: succeeded, failed or running."


def _console() -> Any:
    from engine.cli._console import console_for

    return console_for()


def say_store(line: str, *, json_output: bool = False) -> None:
    """The `store: ...` line: beside human output on stdout, on stderr when stdout is JSON."""
    from engine.cli._console import say

    say(line, sys.stderr if json_output else sys.stdout)


def store_for(option: Path | None, *, json_output: bool = False) -> Any:
    """The `Store` this command uses (see `locate_store`), announced on the way."""
    from engine.store import Store, locate_store

    location = locate_store(option)
    say_store(location.describe(), json_output=json_output)
    return Store(location.path)


def latest_note(store_path: Path, spec_name: str) -> str:
    """Where a spec's latest results are visible, for the end of `mfr run`."""
    from engine.store import Store

    store = Store(store_path)
    latest = store.latest_runs().filter(spec_name=spec_name)
    if latest.is_empty():
        return f"Latest:  spec {spec_name} has no succeeded run yet"
    with store.connect(read_only=True) as con:
        schema = con.execute(
            "SELECT views_schema FROM latest_runs WHERE spec_name = ?", [spec_name]
        ).fetchall()
    where = f"{schema[0][0]}.<table>" if schema else "the spec's views"
    run_id = latest["run_id"][0]
    if bool(latest["production"][0]):
        return f"Latest:  run {run_id} in <table>_latest and {where} ({spec_name} is production)"
    return (
        f"Latest:  run {run_id} in {where}; <table>_latest follow the production spec "
        f"{store.production_spec()} (mfr promote {spec_name} to change that)"
    )


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime | dt.date) else value


def runs(
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
    limit: int = typer.Option(20, "--limit", min=1, help="Show at most this many runs."),
    spec: str | None = typer.Option(None, "--spec", help="Only runs of this spec (by name)."),
    status: str | None = typer.Option(None, "--status", help=_STATUS_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the runs as a JSON array."),
) -> None:
    """List the runs in a store, newest first; `latest` marks the run each spec's views show
    (`production` for the one `<table>_latest` shows)."""
    from engine.pipeline import render_runs

    target = store_for(store, json_output=as_json)
    found = target.runs(limit=limit, spec=spec, status=status)
    latest = {
        row["run_id"]: "production" if row["production"] else "spec"
        for row in target.latest_runs().iter_rows(named=True)
    }
    if as_json:
        rows = [
            {**{k: _jsonable(v) for k, v in row.items()}, "latest": latest.get(row["run_id"])}
            for row in found.iter_rows(named=True)
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        render_runs(found, _console(), latest)


def show(
    run: str = typer.Argument(
        "latest",
        help="Run id, an unambiguous prefix of one, 'latest' (newest succeeded run of the "
        "production spec, or of --spec) or 'latest-failed'.",
    ),
    *,
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
    spec: str | None = typer.Option(None, "--spec", help=_SPEC_HELP),
    status: str | None = typer.Option(
        None, "--status", help="What 'latest' looks for: succeeded (default), failed, running, any."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
    lineage: bool = typer.Option(
        False,
        "--lineage",
        help="Each published table with its hash, the step and nodes it came from and the inputs "
        "they read, with their hashes (with --json: as a JSON array).",
    ),
) -> None:
    """Print one run's manifest: inputs and hashes, parameters, steps, timings, row counts."""
    from engine.pipeline import render_manifest

    manifest = store_for(store, json_output=as_json).manifest(run, spec=spec, status=status)
    if lineage:
        from engine.pipeline._lineage import render_lineage, table_lineage

        if as_json:
            print(json.dumps(table_lineage(manifest), indent=2, ensure_ascii=False))
        else:
            print("\n".join(render_lineage(manifest)))
    elif as_json:
        print(manifest.to_json())
    else:
        render_manifest(manifest, _console())


def prune(
    keep: int = typer.Option(..., "--keep", min=1, help="Keep this many newest runs per spec."),
    spec: str | None = typer.Option(None, "--spec", help="Prune only this spec's runs."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would go; change nothing."),
    compact: bool = typer.Option(
        True, "--compact/--no-compact", help="Rewrite the file afterwards so it shrinks."
    ),
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Delete the oldest runs: their rows in every table, exports, logs and unused cache entries.

    Each spec's latest succeeded run is always kept. Exit 5 while a run holds the store.
    """
    report = store_for(store).prune(keep, spec=spec, dry_run=dry_run, compact=compact)
    for run_id in report.removed:
        print(f"{'would remove' if dry_run else 'removed'} run {run_id}")
    print(report.summary())


def promote(
    spec: str = typer.Argument(..., help="Spec name whose runs the <table>_latest views follow."),
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Make a spec the store's production spec: `<table>_latest` and `latest` follow its runs."""
    target = store_for(store)
    target.promote(spec)
    latest = target.latest_runs().filter(spec_name=spec)
    shown = f"run {latest['run_id'][0]}" if latest.height else "no succeeded run yet"
    print(f"production spec: {spec} (its latest: {shown})")


def check(store: Path | None = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """Verify the store read-only (every block's checksum); exit 3 with what is wrong."""
    target = store_for(store)
    target.check()
    if not target.path.exists():
        print("no store here yet: nothing to check")
        return
    counts = target.runs().group_by("status").len().sort("status").rows()
    listed = ", ".join(f"{n} {status}" for status, n in counts) or "no runs"
    print(
        f"store OK: {listed}; {len(target.table_names())} result tables, "
        f"{target.path.stat().st_size:,} bytes; production spec {target.production_spec()}"
    )
