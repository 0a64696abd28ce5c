"""`mfr validate EXTRACT`: read and validate a registry extract, print what was quarantined and why.

Exit codes: 0 when clean, within the threshold or accepted (`--accept-quarantine`);
QUARANTINE_OVER_THRESHOLD when a table's quarantined share exceeds `--threshold`; BAD_INPUT_FILE for a
file that cannot be used at all. With `--out DIR` it writes `quarantine.parquet`, `warnings.parquet`
and the valid typed tables (`<table>.parquet`); over the threshold only the quarantine and warnings
are written, so nothing downstream mistakes a rejected extract for a good one. Files are staged and
moved into DIR at the end, replacing only the files an earlier `mfr validate` wrote there
(`engine.cli._output`): a failure leaves no partial output and no one else's file is removed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from engine.cli._console import LANG_OPTION, text
from engine.cli._output import OVERWRITE_HELP, check_output_folder, staged_folder
from engine.cli._quarantine import apply_quarantine_threshold

if TYPE_CHECKING:
    from rich.console import Console

    from engine.schemas import Registry

__all__ = ["register", "validate"]


def validate(
    extract: Path = typer.Argument(..., help="Extract folder (or one .xlsx workbook)."),
    *,
    out: Path | None = typer.Option(
        None, "--out", help="Write quarantine.parquet, warnings.parquet and the valid tables here."
    ),
    threshold: float = typer.Option(
        0.01, "--threshold", help="Largest accepted quarantined share of any table (0-1)."
    ),
    accept_quarantine: bool = typer.Option(
        False, "--accept-quarantine", help="Succeed even when the threshold is exceeded."
    ),
    extract_date: str | None = typer.Option(
        None,
        "--extract-date",
        help="Date the extract was taken, YYYY-MM-DD (default: extract.yaml).",
    ),
    pseudonymise: list[str] = typer.Option(
        [], "--pseudonymise", help="Replace this identifier column by a keyed hash (repeatable)."
    ),
    key_env: str = typer.Option(
        "MFR_PSEUDONYM_KEY", "--key-env", help="Environment variable holding the pseudonym key."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    lang: str | None = LANG_OPTION,
) -> None:
    """Read and validate a registry extract; print counts per table and rule, with examples."""
    from engine.cli._console import console_for
    from engine.errors import ConfigError
    from engine.registry import read_registry

    if not 0 <= threshold <= 1:
        raise ConfigError(f"--threshold must lie between 0 and 1, got {threshold}")
    when = _parse_date(extract_date) if extract_date else None
    if out is not None:
        check_output_folder(out, overwrite=overwrite)
    registry = read_registry(
        extract, extract_date=when, pseudonymise=tuple(pseudonymise), key_env=key_env
    )
    console = console_for()
    _print_summary(console, registry, extract)
    apply_quarantine_threshold(
        console,
        registry,
        threshold,
        accept=accept_quarantine,
        before_stop=(
            None
            if out is None
            else lambda: _write_outputs(out, registry, with_tables=False, overwrite=overwrite)
        ),
    )
    if out is not None:
        _write_outputs(out, registry, with_tables=True, overwrite=overwrite)
        console.print(f"written to {out}", soft_wrap=True)


def _parse_date(text: str) -> dt.date:
    from engine.dates import parse_date
    from engine.errors import ConfigError

    try:
        return parse_date(text)
    except ValueError as exc:
        raise ConfigError(f"--extract-date must be YYYY-MM-DD: {exc}") from None


def _print_summary(console: Console, registry: Registry, extract: Path) -> None:
    import polars as pl
    from rich.markup import escape
    from rich.table import Table

    from engine.registry import (
        EXTRA_COLUMN,
        PII_DROPPED,
        PII_MASKED,
        PSEUDONYMISED,
        quarantine_summary,
        quarantined_share,
    )

    console.print(text("cli_extract", extract=extract, date=registry.extract_date), soft_wrap=True)
    shares = Table(title=text("cli_rows_per_table"))
    for name in ("table", "read", "valid", "quarantined", "share"):
        shares.add_column(text(f"cli_{name}"), justify="left" if name == "table" else "right")
    for row in quarantined_share(registry).iter_rows(named=True):
        shares.add_row(
            row["table"],
            f"{row['rows_read']:,}",
            f"{row['valid']:,}",
            f"{row['quarantined']:,}",
            f"{row['share']:.2%}",
        )
    console.print(shares)
    quarantine = registry.quarantine
    if quarantine.height:
        summary = quarantine_summary(registry)
        rules = Table(title=text("cli_by_rule"))
        for name in ("rule", "rows", "by_table"):
            rules.add_column(text(f"cli_{name}"), justify="right" if name == "rows" else "left")
        for rule in sorted(summary["rule"].unique()):
            of_rule = summary.filter(pl.col("rule") == rule)
            by_table = ", ".join(f"{t} {n:,}" for t, n in of_rule.select("table", "rows").rows())
            rules.add_row(rule, f"{of_rule['rows'].sum():,}", by_table)
        console.print(rules)
        console.print(text("cli_examples"))
        picked = quarantine.filter(pl.int_range(pl.len()).over("rule") == 0)
        for row in picked.iter_rows(named=True):
            # values come from the file: escape them so "[...]" is never read as markup
            value = "" if row["value"] is None else f" = {escape(repr(row['value']))}"
            console.print(
                f"  {text('cli_line', table=row['table'], line=row['source_line'])}: "
                f"{row['column']}{value} — "
                f"[bold]{row['rule']}[/bold]: {escape(row['reason'] or '')}",
                soft_wrap=True,
            )
    else:
        console.print(text("cli_no_quarantine"))
    notes = registry.warnings
    for rule, label in (
        (PII_DROPPED, text("cli_pii_dropped")),
        (PSEUDONYMISED, text("cli_pseudonymised")),
        (PII_MASKED, text("cli_pii_masked")),
        (EXTRA_COLUMN, text("cli_extra_column")),
    ):
        chosen = notes.filter(pl.col("rule") == rule)
        if chosen.height:
            listed = ", ".join(f"{t}.{c}" for t, c in chosen.select("table", "column").iter_rows())
            console.print(f"{label}: {listed}", soft_wrap=True)
    gaps = notes.filter(pl.col("rule") == "location_gap").height
    console.print(text("cli_gaps", gaps=f"{gaps:,}"))
    # Reading notes that change what counts as a row or a date: the operator must see them.
    for table, column, reason in (
        notes.filter(pl.col("rule").is_in(["blank_lines", "open_end_sentinel"]))
        .select("table", "column", "reason")
        .iter_rows()
    ):
        where = f"{table}.{column}" if column and not column.startswith("(") else table
        console.print(
            f"{text('cli_warning')}: {escape(where)}: {escape(str(reason))}", soft_wrap=True
        )


def _write_outputs(out: Path, registry: Registry, *, with_tables: bool, overwrite: bool) -> None:
    from engine.schemas import REGISTRY_TABLES

    with staged_folder(out, command="validate", overwrite=overwrite) as staging:
        registry.quarantine.write_parquet(staging / "quarantine.parquet")
        registry.warnings.write_parquet(staging / "warnings.parquet")
        if with_tables:
            for name in REGISTRY_TABLES:
                registry.table(name).write_parquet(staging / f"{name}.parquet")


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
