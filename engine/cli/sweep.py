"""`mfr sweep SPEC`: a scenario sweep on Dask (engine.distributed), gathered into the store."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from engine.cli._console import LANG_OPTION

__all__ = ["register"]


def sweep(
    spec: Path = typer.Argument(..., help="Sweep spec, e.g. pipelines/sweep-copay.yaml."),
    *,
    scheduler: str = typer.Option(
        "local", "--scheduler", help="A Dask scheduler address (tcp://host:8786) or 'local'."
    ),
    workers: int = typer.Option(2, "--workers", help="Worker processes of --scheduler local."),
    store: Path | None = typer.Option(
        None, "--store", help="DuckDB store file (default: $MFR_STORE, else the base spec's)."
    ),
    scratch: Path | None = typer.Option(
        None, "--scratch", help="Folder every worker sees (default: beside the store)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Run again even if the same sweep finished on the same inputs."
    ),
    accept_quarantine: bool = typer.Option(
        False, "--accept-quarantine", help="Go on when the extract's quarantine is too large."
    ),
    lang: str | None = LANG_OPTION,
) -> None:
    """Price and allocate every point of a sweep spec on Dask workers, into the store.

    A sweep that stopped (a failure, Ctrl-C) is resumed by running it again: points already
    recorded are not recomputed. Exit codes as `mfr run`; 2 also when Dask is not installed.
    """
    from engine.distributed._options import scheduler_of

    chosen = scheduler_of(scheduler, workers)  # one line naming what to install without Dask
    assert chosen is not None  # --scheduler has a default
    from engine.cli._console import output_lang, say, text
    from engine.cli._words import translate
    from engine.distributed._sweep import PointDone, run_sweep
    from engine.distributed._sweep_spec import load_sweep
    from engine.money import format_uah
    from engine.store import locate_store

    def money(value: object) -> str:  # `29.7 M UAH` / `29.7 млн грн`
        return translate(format_uah(float(value)), output_lang())  # type: ignore[arg-type]

    loaded = load_sweep(spec)
    location = locate_store(store, spec_store=loaded.base.store)
    say(location.describe())
    say(text("cli_sw_start", name=loaded.name, points=len(loaded.points), where=chosen.describe()))

    def progress(done: PointDone) -> None:
        say(done.line(), sys.stderr)
        sys.stderr.flush()

    result = run_sweep(
        loaded,
        scheduler=chosen,
        store=location.path,
        scratch=scratch,
        force=force,
        accept_quarantine=accept_quarantine,
        on_point=progress,
    )
    if result.up_to_date:
        say(text("cli_sw_up_to_date", sweep=result.sweep_id))
    else:
        say(
            text(
                "cli_sw_done",
                sweep=result.sweep_id,
                computed=len(result.computed),
                reused=len(result.reused),
                seconds=result.seconds,
            )
        )
    report = _write_report(result.stored, location.path.parent / "sweeps" / result.sweep_id)
    say(text("cli_sw_report", report=report))
    for row in result.totals.iter_rows(named=True):
        coverage = (
            translate("n/a", output_lang()) if row["coverage"] is None else f"{row['coverage']:.1%}"
        )
        line = text(
            "cli_sw_point",
            point=row["point"],
            envelope=money(row["envelope_uah"]),
            allocated=money(row["allocated_uah"]),
            coverage=coverage,
            shortfall=money(row["shortfall_uah"]),
        )
        say(line)


def _write_report(stored: object, folder: Path) -> Path:
    """The sweep's HTML report (the sweep section of `engine.report`), beside its records."""
    from engine.report import ReportData, build_report

    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "report.html"
    staged = folder / ".report.html.tmp"
    build_report(ReportData(sweep=stored), staged, title="Scenario sweep")
    staged.replace(out)  # never a half-written report
    return out


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
