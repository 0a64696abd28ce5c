"""`mfr validate-totals EXECUTION --extract DIR --model DIR`: do the simulated totals match what
was paid?

Reads the budget-execution report (CSV or XLSX, `engine.execution.read_execution`) and the
registry extract, prices the extract over the run's months (`--months`, default the extract's
year), and prints the comparison: the national total with its gap split into people, volume and
price, how many cells lie beyond `--tolerance`, and the largest flagged gaps. Bad rows of the
report are quarantined as a registry's are (exit 4 above `--threshold` unless
`--accept-quarantine`); a file that cannot be used at all, or amounts in the wrong unit, exit 3.
With `--out DIR` it writes `comparison.parquet` (every cell, `engine.execution.COMPARISON_COLUMNS`),
`execution.parquet` (the valid typed rows) and `execution_quarantine.parquet`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from engine.cli._console import LANG_OPTION
from engine.cli._output import OVERWRITE_HELP, check_output_folder, staged_folder

if TYPE_CHECKING:
    import polars as pl
    from rich.console import Console

    from engine.execution import Execution

__all__ = ["register", "validate_totals"]

_DEFAULT_PROGRAMMES = Path("models") / "programmes" / "social-services.yaml"
_SHOWN = 8


def validate_totals(
    execution: Path = typer.Argument(..., help="Budget-execution report (CSV or XLSX)."),
    *,
    extract: Path = typer.Option(..., "--extract", help="Registry extract folder."),
    model: Path = typer.Option(..., "--model", help="Funding model folder."),
    programmes: Path | None = typer.Option(
        None,
        "--programmes",
        help="Programme-code mapping (default: models/programmes/social-services.yaml).",
    ),
    months: str | None = typer.Option(
        None, "--months", help="The run's months YYYY-MM:YYYY-MM (default: the extract's year)."
    ),
    tolerance: float = typer.Option(
        0.05, "--tolerance", help="Flag gaps beyond this share of the simulated amount."
    ),
    min_gap: float = typer.Option(
        1000.0, "--min-gap", help="Flag only gaps of at least this many UAH."
    ),
    threshold: float = typer.Option(
        0.01, "--threshold", help="Largest accepted quarantined share of the report's rows."
    ),
    accept_quarantine: bool = typer.Option(
        False, "--accept-quarantine", help="Go on even when the threshold is exceeded."
    ),
    min_count: int = typer.Option(
        5, "--min-count", help="Hromada cells of fewer people are shown suppressed."
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the comparison here (Parquet)."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    lang: str | None = LANG_OPTION,
) -> None:
    """Set simulated entitlements beside what was paid; split every gap into people, volume and
    price."""
    import engine
    from engine.cli._console import console_for, text
    from engine.cli._quarantine import apply_quarantine_threshold
    from engine.dates import resolve_months
    from engine.errors import ConfigError
    from engine.execution import (
        check_execution_threshold,
        compare_totals,
        load_programmes,
        read_execution,
    )

    if not 0 <= tolerance < 10:
        raise ConfigError(f"--tolerance must be a share (0.05 = 5%), got {tolerance}")
    if min_gap < 0:
        raise ConfigError(f"--min-gap must be 0 or more UAH, got {min_gap}")
    if not 0 <= threshold <= 1:
        raise ConfigError(f"--threshold must lie between 0 and 1, got {threshold}")
    if out is not None:
        check_output_folder(out, overwrite=overwrite)
    console = console_for()
    mapping = load_programmes(programmes or _default_programmes())
    territories = engine.load_territories()
    registry = engine.read_registry(extract, territories=territories)
    apply_quarantine_threshold(console, registry, threshold, accept=accept_quarantine)
    span = resolve_months(months or "current-year", registry.extract_date)
    report = read_execution(execution, mapping, territories=territories, months=span)
    _print_reading(console, report, execution)
    if check_execution_threshold(report, threshold, accept=accept_quarantine):
        console.print(text("cli_quarantine_accepted", threshold=threshold))
    funding = engine.load_funding_model(model)
    entitlements = engine.compute_entitlements(registry, funding, territories, months=span)
    table = compare_totals(
        entitlements.case_months,
        report,
        territories,
        tolerance=tolerance,
        min_gap_uah=min_gap,
    )
    _print_comparison(
        console, table, territories, tolerance=tolerance, min_gap=min_gap, min_count=min_count
    )
    if out is not None:
        with staged_folder(out, command="validate-totals", overwrite=overwrite) as staging:
            table.write_parquet(staging / "comparison.parquet")
            report.rows.write_parquet(staging / "execution.parquet")
            report.quarantine.write_parquet(staging / "execution_quarantine.parquet")
        console.print(text("cli_written_to", out=out), soft_wrap=True)


def _default_programmes() -> Path:
    """The working folder's mapping, else the one shipped with the engine."""
    if _DEFAULT_PROGRAMMES.is_file():
        return _DEFAULT_PROGRAMMES
    return Path(__file__).resolve().parents[2] / _DEFAULT_PROGRAMMES


def _print_reading(console: Console, report: Execution, path: Path) -> None:
    import polars as pl
    from rich.markup import escape

    from engine.cli._console import output_lang, text
    from engine.cli._words import translate

    lang = output_lang()

    def spoken(reason: object) -> str:
        """A reason the reader recorded in English, in the output language, escaped (it may
        quote the file's text)."""
        return escape(translate(str(reason or ""), lang))

    read = text(
        "cli_vt_reading",
        path=escape(str(path)),
        read=report.rows_read,
        valid=report.rows.height,
        quarantined=report.quarantined,
        unit=translate(report.unit, lang),
    )
    console.print(read, soft_wrap=True)
    for column, reason in report.notes.select("column", "reason").iter_rows():
        warning = text("cli_vt_warning", column=escape(str(column)), reason=spoken(reason))
        console.print(warning, soft_wrap=True)
    picked = report.quarantine.filter(pl.int_range(pl.len()).over("rule") == 0)
    for row in picked.iter_rows(named=True):
        count = report.quarantine.filter(pl.col("rule") == row["rule"]).height
        value = "" if row["value"] is None else f" = {escape(repr(row['value']))}"
        said = text(
            "cli_vt_quarantined",
            rule=row["rule"],
            count=count,
            line=row["source_line"],
            column=row["column"],
            value=value,
            reason=spoken(row["reason"]),
        )
        console.print(said, soft_wrap=True)


def _print_comparison(
    console: Console,
    table: pl.DataFrame,
    territories: pl.DataFrame,
    *,
    tolerance: float,
    min_gap: float,
    min_count: int,
) -> None:
    import polars as pl
    from rich.markup import escape

    from engine.cli._console import output_lang, text
    from engine.cli._reason_words import words
    from engine.cli._words import WORDS, translate
    from engine.execution import ALL_SERVICES, flagged_gaps, summary_lines
    from engine.execution._summary import publishable_comparison
    from engine.money import format_uah

    for line in summary_lines(table, tolerance=tolerance, min_gap_uah=min_gap, limit=0):
        console.print(line, soft_wrap=True)
    shown = flagged_gaps(publishable_comparison(table, territories, min_count=min_count))
    if shown.is_empty():
        console.print(text("cli_vt_no_gap"))
        return
    hidden = int(shown["suppressed"].sum())
    shown = shown.filter(~pl.col("suppressed"))
    names = _territory_names(territories)
    lang = output_lang()
    console.print(text("cli_vt_largest"))
    for row in _chosen(shown).iter_rows(named=True):
        # the level and "all" are the engine's words: said in the output language
        level = translate(str(row["level"]), lang)
        service = row["service_code"]
        service = words("rw_all_services", lang) if service == ALL_SERVICES else service
        where = (
            f"{level} {row['territory_code']} {escape(names.get(row['territory_code'], ''))}"
            f" × {service} {row['period']}"
        )
        pct = "" if row["gap_pct"] is None else f" ({row['gap_pct']:+.1%})"
        parts = " + ".join(
            f"{text(f'cli_vt_{p}')} {format_uah(row[f'{p}_uah'], exact=True)}"
            for p in ("people", "volume", "price")
            if row[f"{p}_uah"] is not None
        )
        dominant = f"cli_vt_{row['dominant']}"
        said = text(
            "cli_vt_gap",
            where=where,
            sim=format_uah(row["sim_uah"], exact=True),
            paid=format_uah(row["paid_uah"], exact=True),
            gap=format_uah(row["gap_uah"], exact=True),
            pct=pct,
            parts=parts or text("cli_vt_no_split"),
            dominant=text(dominant) if dominant in WORDS else words("rw_no_part", lang),
            timing=text("cli_vt_timing") if row["timing"] else "",
        )
        console.print(said, soft_wrap=True)
    if hidden:
        console.print(text("cli_vt_hidden", hidden=hidden, min_count=min_count))


def _territory_names(territories: pl.DataFrame) -> dict[str, str]:
    """Every territory code -> its name in the output language (the country, raions too)."""
    from engine.cli._console import hromada_names, oblast_names, output_lang
    from engine.report._labels import transliterate

    english = output_lang() == "en"
    raions = dict(territories.select("raion_code", "raion_name").unique().iter_rows())
    names = {"UA": "Ukraine" if english else "Україна"}
    names |= {c: transliterate(n) if english else n for c, n in raions.items()}
    return names | hromada_names(territories) | oblast_names(territories)


def _chosen(shown: pl.DataFrame) -> pl.DataFrame:
    """The largest flagged gaps of each level, a few per level, coarsest first."""
    import polars as pl

    return shown.filter(pl.int_range(pl.len()).over("level") < _SHOWN // 2)


def register(app: typer.Typer) -> None:
    app.command("validate-totals")(validate_totals)
