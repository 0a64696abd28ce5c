"""`mfr generate`: write a synthetic registry extract of any size.

The extract is written to a hidden folder and moved into `--out` once complete; only files an
earlier `mfr generate` wrote there are replaced (see `engine.cli._output`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from engine.cli._output import OVERWRITE_HELP, check_output_folder, staged_folder

__all__ = ["register"]


def _generate(
    *,
    out: Annotated[Path, typer.Option("--out", help="Folder to write the extract into.")],
    recipients: Annotated[
        int, typer.Option("--recipients", "-n", min=1, help="Number of recipients.")
    ] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same extract).")] = 0,
    fmt: Annotated[
        str, typer.Option("--format", help="parquet, csv or xlsx (one file per table).")
    ] = "parquet",
    messy: Annotated[
        bool,
        typer.Option(
            "--messy", help="CSV as real extracts come: CP1251, ';', decimal comma, dd.mm.yyyy."
        ),
    ] = False,
    extract_date: Annotated[
        str | None, typer.Option("--extract-date", help="Date the extract is taken (YYYY-MM-DD).")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)] = False,
    benefits: Annotated[
        bool,
        typer.Option(
            "--benefits",
            help="Also write a benefits extract of the same persons (income declarations, "
            "disability assessments, IDP certificates, assistance), matched on an rnokpp column.",
        ),
    ] = False,
    execution: Annotated[
        Path | None,
        typer.Option(
            "--execution",
            help="Also write execution.csv: what a treasury paid, priced under this funding model "
            "folder, with planted gaps (listed in execution_planted.yaml).",
        ),
    ] = None,
) -> None:
    """Generate a synthetic registry extract (recipients, cases, locations, providers, ...)."""
    from engine.dates import parse_date
    from engine.errors import ConfigError
    from engine.synth import DEFAULT_EXTRACT_DATE, generate_registry
    from engine.synth.write import EXTRACT_FORMATS, write_extract

    try:
        when = parse_date(extract_date) if extract_date else DEFAULT_EXTRACT_DATE
    except ValueError as exc:
        raise ConfigError(f"--extract-date must be YYYY-MM-DD: {exc}") from None
    if fmt not in EXTRACT_FORMATS:  # before the (slow) generation, as write_extract would refuse
        raise ConfigError(f"--format must be one of {', '.join(EXTRACT_FORMATS)}, got {fmt!r}")
    if messy and fmt != "csv":
        raise ConfigError("--messy writes CSV only (use --format csv)")
    check_output_folder(out, overwrite=overwrite)
    started = time.perf_counter()
    tables = generate_registry(recipients, seed, extract_date=when)
    if benefits:  # one folder: the registry's six tables and the benefits system's four
        from engine.synth.benefits import add_benefits

        tables = add_benefits(tables, seed, extract_date=when)
    generated = time.perf_counter()
    with staged_folder(out, command="generate", overwrite=overwrite) as staging:
        write_extract(tables, staging, fmt, messy=messy, extract_date=when)
        if execution is not None:  # beside the extract, for `mfr validate-totals`
            from engine.synth.execution import write_for_extract

            write_for_extract(tables, execution, staging, extract_date=when)
    done = time.perf_counter()
    rows = ", ".join(f"{name} {df.height:,}" for name, df in tables.items())
    typer.echo(f"wrote {out} ({fmt}{', messy' if messy else ''}, extract date {when}): {rows}")
    typer.echo(f"generated in {generated - started:.1f} s, written in {done - generated:.1f} s")


def register(app: typer.Typer) -> None:
    app.command("generate")(_generate)
