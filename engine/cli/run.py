"""`mfr run SPEC` (the nightly job), and the commands reading its history (`_store_commands`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from engine.cli._console import LANG_OPTION

__all__ = ["register"]


def _console(*, stderr: bool = False) -> Any:
    """A rich console; when output goes to a file or a job log, wide enough not to cut run ids."""
    from engine.cli._console import console_for

    return console_for(stderr=stderr)


def run(
    spec: Path = typer.Argument(..., help="Run spec, e.g. pipelines/nightly.yaml."),
    *,
    extract: Path | None = typer.Option(
        None, "--extract", help="Registry extract folder (overrides the spec's)."
    ),
    store: Path | None = typer.Option(
        None, "--store", help="DuckDB store file (default: $MFR_STORE, else the spec's own)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Run again even if an identical run exists; recompute every step."
    ),
    accept_quarantine: bool = typer.Option(
        False,
        "--accept-quarantine",
        help="Go on when more rows than the spec's threshold are quarantined.",
    ),
    envelope: str | None = typer.Option(
        None,
        "--envelope",
        help="Envelope for this run: an amount in UAH (26500000), a share of claims (85%) or "
        "'policy'. Overrides the spec's.",
    ),
    confirm_envelope: bool = typer.Option(
        False,
        "--confirm-envelope",
        help="Use the spec's envelope amount although it was set for another extract.",
    ),
    only: str | None = typer.Option(
        None,
        "--only",
        help="Recompute this node and every node depending on it; the rest comes from the step "
        "cache where it can. The run still publishes every step of the spec.",
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Print the plan (each node in order, cached or computed, what would be published) "
        "and exit; runs and writes nothing.",
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Price partitions on Dask: a scheduler address or 'local'."
    ),
    workers: int | None = typer.Option(None, "--workers", help="Workers of --scheduler local."),
    partitions: int | None = typer.Option(
        None, "--partitions", help="Partitions of the extract (default: one per worker)."
    ),
    scratch: Path | None = typer.Option(
        None, "--scratch", help="Folder every worker sees (default: beside the store)."
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Read the funding model as known on this date of decision (YYYY-MM-DD): values "
        "decided later are ignored. Overrides the spec's as_of.",
    ),
    lang: str | None = LANG_OPTION,
) -> None:
    """Run a spec end to end: validate, entitle, need, forecast, allocate, report.

    Exit codes: 0 success (or already up to date), 2 bad configuration, 3 unusable input file or
    store, 4 quarantine beyond the threshold, 5 the store is locked by another run, 1 internal error.
    """
    from engine.cli._console import say, step_line
    from engine.cli._store_commands import latest_note
    from engine.pipeline import load_spec, plan_run, render_plan, render_summary, run_pipeline
    from engine.store import locate_store

    loaded = load_spec(spec)
    location = locate_store(store, spec_store=loaded.store)
    chosen = location.path if location.path != loaded.store else None
    loaded = loaded.with_overrides(
        extract=extract, store=chosen, envelope=envelope, confirm_envelope=confirm_envelope
    )
    if as_of is not None:
        loaded = _with_as_of(loaded, as_of)
    say(location.describe())
    if dry_run:
        plan = plan_run(loaded, force=force, accept_quarantine=accept_quarantine, only=only)
        say("\n".join(render_plan(plan)))
        return
    failure: dict[str, Any] = {}

    def remember_failure(event: dict[str, Any]) -> None:
        if event["event"] == "run_failed":
            failure.update(event)
        step_line(event)  # off a terminal (cron): a line per step, where no spinner shows

    from engine.distributed._options import run_context  # no Dask without --scheduler

    pricing = run_context(
        scheduler, workers=workers, partitions=partitions, scratch=scratch, store=loaded.store
    )
    try:
        with pricing:
            result = run_pipeline(
                loaded,
                force=force,
                accept_quarantine=accept_quarantine,
                only=only,
                console=_console(stderr=True),
                on_event=remember_failure,
            )
    except BaseException as exc:
        from engine.errors import Interrupted

        if failure.get("step") and not isinstance(exc, Interrupted):  # that one says it itself
            say(
                f"run {failure['run_id']} failed in step '{failure['step']}'; nothing was "
                f"published; log: {failure['log']}",
                sys.stderr,
            )
        raise
    render_summary(result.manifest, _console(), reused=result.reused, store=loaded.store)
    say(latest_note(loaded.store, result.manifest.spec_name))
    if not result.reused:
        _prune_after(loaded)


def _with_as_of(spec: Any, text: str) -> Any:
    """The spec with `--as-of`: its funding model read as known on that date of decision."""
    import dataclasses

    from engine.dates import parse_date
    from engine.errors import ConfigError

    try:
        return dataclasses.replace(spec, as_of=parse_date(text))
    except ValueError as exc:
        raise ConfigError(f"--as-of: {exc} (expected YYYY-MM-DD)") from None


def _prune_after(spec: Any) -> None:
    """The spec's `outputs.keep_runs`: retention applied after each successful run."""
    keep = getattr(spec, "keep_runs", None)
    if not keep:
        return
    from engine.store import Store

    report = Store(spec.store).prune(
        keep,
        spec=spec.name,
        runs_dir=spec.runs_dir,
        logs_dir=spec.logs_dir,
        cache_dir=spec.cache_dir,
    )
    if report.removed:
        from engine.cli._console import say

        say(f"Retention (outputs.keep_runs: {keep}): {report.summary()}")


def register(app: typer.Typer) -> None:
    from engine.cli._store_commands import check, promote, prune, runs, show

    app.command("run")(run)
    app.command("runs")(runs)
    app.command("show")(show)
    app.command("prune")(prune)
    app.command("promote")(promote)
    app.command("check")(check)
