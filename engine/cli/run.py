"""`mfr run SPEC`, `mfr runs`, `mfr show RUN`: the nightly job and its history."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

__all__ = ["register"]

_DEFAULT_STORE = Path("out") / "mfr.duckdb"


def _console(*, stderr: bool = False) -> Any:
    """A rich console; when output goes to a file or a job log, wide enough not to cut run ids."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr) if stream.isatty() else Console(stderr=stderr, width=160)


def run(
    spec: Path = typer.Argument(..., help="Run spec, e.g. pipelines/nightly.yaml."),
    extract: Path | None = typer.Option(
        None, "--extract", help="Registry extract folder (overrides the spec's)."
    ),
    store: Path | None = typer.Option(
        None, "--store", help="DuckDB store file (overrides the spec's, default out/mfr.duckdb)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Run again even if an identical run exists; recompute every step."
    ),
    accept_quarantine: bool = typer.Option(
        False,
        "--accept-quarantine",
        help="Go on when more rows than the spec's threshold are quarantined.",
    ),
) -> None:
    """Run a spec end to end: validate, entitle, need, forecast, allocate, report.

    Exit codes: 0 success (or already up to date), 2 bad configuration, 3 unusable input file or
    store, 4 quarantine beyond the threshold, 5 the store is locked by another run, 1 internal error.
    """
    from engine.pipeline import load_spec, render_summary, run_pipeline

    loaded = load_spec(spec).with_overrides(extract=extract, store=store)
    failure: dict[str, Any] = {}

    def remember_failure(event: dict[str, Any]) -> None:
        if event["event"] == "run_failed":
            failure.update(event)

    try:
        result = run_pipeline(
            loaded,
            force=force,
            accept_quarantine=accept_quarantine,
            console=_console(stderr=True),
            on_event=remember_failure,
        )
    except BaseException:
        if failure.get("step"):
            print(
                f"run {failure['run_id']} failed in step '{failure['step']}'; nothing was "
                f"published; log: {failure['log']}",
                file=sys.stderr,
            )
        raise
    render_summary(result.manifest, _console(), reused=result.reused)


def runs(
    store: Path = typer.Option(_DEFAULT_STORE, "--store", help="DuckDB store file."),
    limit: int = typer.Option(20, "--limit", min=1, help="Show at most this many runs."),
) -> None:
    """List the runs in a store, newest first."""
    from engine.pipeline import render_runs
    from engine.store import Store

    render_runs(Store(store).runs(limit=limit), _console())


def show(
    run: str = typer.Argument("latest", help="Run id, an unambiguous prefix of one, or 'latest'."),
    store: Path = typer.Option(_DEFAULT_STORE, "--store", help="DuckDB store file."),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
) -> None:
    """Print one run's manifest: inputs and hashes, parameters, steps, timings, row counts."""
    from engine.pipeline import render_manifest
    from engine.store import Store

    manifest = Store(store).manifest(run)
    if as_json:
        print(manifest.to_json())
    else:
        render_manifest(manifest, _console())


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("runs")(runs)
    app.command("show")(show)
