"""`mfr report RUN --out FILE`: a run's self-contained HTML report, from the store."""

from __future__ import annotations

from pathlib import Path

import typer

from engine.cli._store_commands import STORE_HELP, store_for

__all__ = ["register"]


def report(
    run: str = typer.Argument(
        "latest",
        help="Run id, an unambiguous prefix of one, or 'latest' (the newest succeeded run of the "
        "production spec, or of --spec: the run `mfr show latest` and the _latest views show).",
    ),
    *,
    out: Path = typer.Option(..., "--out", "-o", help="HTML file to write."),
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
    spec: str | None = typer.Option(None, "--spec", help="Whose latest run (default: production)."),
    min_count: int = typer.Option(
        5, "--min-count", min=1, help="Suppress hromada-level cells built from fewer people."
    ),
    oblast: str | None = typer.Option(
        None, "--oblast", help="Oblast code for the detailed forecast (default: largest)."
    ),
    service: str | None = typer.Option(
        None, "--service", help="Service code for the detailed forecast (default: largest)."
    ),
    lang: str | None = typer.Option(
        None,
        "--lang",
        help="Language of the whole report: uk (Ukrainian, default) or en (also `mfr --lang`, "
        "$MFR_LANG).",
    ),
    pilot: Path | None = typer.Option(
        None,
        "--pilot",
        help="Pilot file (models/pilots/): its hromadas against comparable ones, before and "
        "after its start, with a difference-in-differences estimate per indicator.",
    ),
    summary: bool = typer.Option(
        False,
        "--summary",
        help="Write the one-page summary instead: five numbers, one map, one chart, and the "
        "changes since the previous run of the same spec (printable).",
    ),
) -> None:
    """Write the HTML report of a run: one file, plotly inlined, opens offline."""
    from engine.cli._console import chosen_lang
    from engine.errors import ConfigError
    from engine.report import LANGS, build_report, report_data_from_store

    lang = lang or chosen_lang() or "uk"  # the ministry's report is Ukrainian unless asked
    if lang not in LANGS:
        raise ConfigError(f"--lang {lang!r}: one of {', '.join(LANGS)}")
    located = store_for(store)
    data = report_data_from_store(located, run, spec=spec)
    if pilot is not None:
        import dataclasses

        from engine.pilot import load_pilot

        data = dataclasses.replace(data, pilot=load_pilot(pilot))
    if summary:
        from engine.report import build_summary, previous_run_id

        before = previous_run_id(located, str(data.run["run_id"]))
        previous = report_data_from_store(located, before) if before else None
        build_summary(data, out, previous=previous, lang=lang)
        typer.echo(f"summary of run {data.run['run_id']} written to {out}")
        return
    build_report(data, out, min_count=min_count, oblast=oblast, service=service, lang=lang)
    typer.echo(f"report of run {data.run.get('run_id', run)} written to {out}")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
