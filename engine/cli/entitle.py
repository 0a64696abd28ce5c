"""`mfr entitle EXTRACT --model DIR --months YYYY-MM:YYYY-MM --out DIR [--scenario FILE]`.

Validates the extract first (quarantined rows are excluded and counted; past `--threshold` the run
stops unless `--accept-quarantine`), prices every case with the funding model and writes:

- `case_months.parquet`, `rollups.parquet`, `flows.parquet` (baseline), and with `--segments` the
  detailed `segments.parquet` (one row per constant-rule segment, every factor a column);
- with `--scenario`: `scenario_case_months.parquet`, `scenario_rollups.parquet` and the differences
  `scenario_diff_case_months.parquet`, `scenario_diff_cases.parquet`,
  `scenario_diff_territories.parquet`;
- `quarantine.parquet` and `entitlements.json` (model version and hash, months, totals, counts);
- with `--benefits DIR` (a benefits extract, matched to the registry on the keyed hash of the
  РНОКПП both hold: the key must be in `$MFR_PSEUDONYM_KEY`): amounts priced with the dated
  circumstances, `idp_burden.parquet` (the IDP host burden) and `benefits_quarantine.parquet` (what
  the benefits extract had rejected or noted, `kind` quarantine or warning). Its quarantine past
  `--threshold` stops the run (exit 4) unless `--accept-quarantine`, as the registry's does.

Dimensions are written as Parquet dictionaries (polars Enums), money as exact decimals
(DECIMAL(18,2); a segment's unrounded parts DECIMAL(18,4)), every file zstd-compressed (level 1); the
detailed `segments.parquet` without column statistics (they cost a fifth of its write).

Files are staged and moved into `--out` at the end, replacing only the files an earlier `mfr entitle`
wrote there (`engine.cli._output`), so a failed run leaves no partial result and no one else's file
is ever removed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from engine.cli._console import LANG_OPTION
from engine.cli._entitle_output import (
    EntitleSummary,
    check_frames,
    write_outputs,
    write_streamed,
)
from engine.cli._output import OVERWRITE_HELP, check_output_folder
from engine.cli._quarantine import apply_quarantine_threshold
from engine.money import format_uah

if TYPE_CHECKING:
    import polars as pl
    from rich.console import Console

    from engine.benefits import Benefits
    from engine.scenarios import ScenarioDiff
    from engine.schemas import Registry

__all__ = ["entitle", "register"]

_TOP = 10
_PRICED = ("segments", "case_months", "rollups", "flows")


def entitle(
    extract: Path = typer.Argument(..., help="Extract folder (or one .xlsx workbook)."),
    *,
    model: Path = typer.Option(
        ..., "--model", help="Funding model folder, e.g. models/funding/baseline."
    ),
    months: str = typer.Option(
        ..., "--months", help="Months to price, YYYY-MM:YYYY-MM (inclusive)."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Output folder (only its earlier entitle outputs are replaced)."
    ),
    scenario: Path | None = typer.Option(
        None,
        "--scenario",
        help="Scenario overlay (models/scenarios/*.yaml) to compare with the model.",
    ),
    threshold: float = typer.Option(
        0.01, "--threshold", help="Largest accepted quarantined share (0-1)."
    ),
    accept_quarantine: bool = typer.Option(
        False, "--accept-quarantine", help="Go on even when the threshold is exceeded."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    segments: bool = typer.Option(
        False, "--segments", help="Also write segments.parquet (one row per segment, every factor)."
    ),
    benefits: Path | None = typer.Option(
        None,
        "--benefits",
        help="Benefits extract folder (income declarations, disability assessments, IDP "
        "certificates): price with the dated circumstances. Needs $MFR_PSEUDONYM_KEY.",
    ),
    lang: str | None = LANG_OPTION,
) -> None:
    """Price every case of an extract under a funding model; optionally compare a scenario."""
    from engine.cli._console import console_for, text
    from engine.entitlements import compute_entitlements, price_registry
    from engine.errors import ConfigError
    from engine.params import load_funding_model
    from engine.reference import load_services, load_territories
    from engine.registry import read_registry
    from engine.scenarios import scenario_diff

    span = _parse_months(months)
    if not 0 <= threshold <= 1:
        raise ConfigError(f"--threshold must lie between 0 and 1, got {threshold}")
    check_output_folder(out, overwrite=overwrite)
    services, territories = load_services(), load_territories()
    # configuration errors surface before the (slower) extract is read
    baseline_model = load_funding_model(model, services=services)
    scenario_model = load_funding_model(model, scenario, services=services) if scenario else None
    console = console_for()  # off a terminal no value is cut
    if benefits is not None:
        from engine.benefits._read import pseudonym_key

        pseudonym_key()  # no key: a configuration error (exit 2) before the extract is read
    registry = read_registry(extract, territories=territories, services_catalogue=services)
    apply_quarantine_threshold(console, registry, threshold, accept=accept_quarantine)
    joined = None
    if benefits is not None:
        registry, joined = _with_benefits(
            console,
            registry,
            extract,
            benefits,
            territories=territories,
            threshold=threshold,
            accept=accept_quarantine,
        )
    others: dict[str, pl.DataFrame] = {"quarantine": registry.quarantine}
    if joined is not None:
        others["benefits_quarantine"] = _report(joined)

    def manifest_of(summary: EntitleSummary, diff: ScenarioDiff | None = None) -> dict[str, Any]:
        manifest = _manifest(extract, registry, summary, scenario_model, diff)
        if joined is not None and benefits is not None:
            manifest["benefits"] = _benefits_manifest(benefits, joined)
        return manifest

    diff = None
    if scenario_model is None:
        priced = price_registry(registry, baseline_model, territories, months=span)
        registry = _without_tables(registry)  # indexed: its rows are free before the outputs grow
        summary = write_streamed(
            out,
            priced,
            others.items(),
            manifest_of,
            segments=segments,
            overwrite=overwrite,
        )
        del priced
    else:
        baseline = compute_entitlements(
            registry, baseline_model, territories, months=span, segments=segments
        )
        alternative = compute_entitlements(
            registry, scenario_model, territories, months=span, segments=False
        )
        registry = _without_tables(registry)  # priced: only its counts and quarantine are shown
        for prefix, result in (("", baseline), ("scenario_", alternative)):
            check_frames({f"{prefix}{n}": getattr(result, n) for n in _PRICED})  # before the diff
        diff = scenario_diff(baseline, alternative)
        frames: dict[str, pl.DataFrame] = {
            **({"segments": baseline.segments} if segments else {}),
            "case_months": baseline.case_months,
            "rollups": baseline.rollups,
            "flows": baseline.flows,
            **({"idp_burden": baseline.idp_burden} if baseline.idp_burden is not None else {}),
            **others,
            "scenario_case_months": alternative.case_months,
            "scenario_rollups": alternative.rollups,
            "scenario_diff_case_months": diff.case_months,
            "scenario_diff_cases": diff.cases,
            "scenario_diff_territories": diff.territories,
        }
        summary = EntitleSummary.of(baseline)
        write_outputs(out, frames, manifest_of(summary, diff), overwrite=overwrite)
    _print_summary(console, registry, summary, territories, diff)
    if joined is not None:
        _print_benefits(console, joined)
    console.print(text("cli_written_to", out=out), soft_wrap=True)


def _with_benefits(
    console: Console,
    registry: Registry,
    extract: Path,
    folder: Path,
    *,
    territories: pl.DataFrame,
    threshold: float,
    accept: bool,
) -> tuple[Registry, Benefits]:
    """The registry with the benefits extract at `folder` joined (`engine.benefits`), after the
    registry's own accept-or-stop rule applied to the benefits tables (exit 4 above it)."""
    from engine.benefits import check_benefits_threshold, read_benefits, with_benefits
    from engine.cli._console import text

    joined = read_benefits(folder, registry, extract, territories=territories)
    if check_benefits_threshold(joined, threshold, accept=True):
        check_benefits_threshold(joined, threshold, accept=accept)
        console.print(text("cli_ent_benefits_accepted", threshold=threshold))
    return with_benefits(registry, joined), joined


def _report(joined: Benefits) -> pl.DataFrame:
    """The benefits extract's quarantine and warnings in one frame, `kind` first (as the nightly
    publishes them: `benefits_quarantine`)."""
    import polars as pl

    return pl.concat(
        [
            joined.quarantine.with_columns(kind=pl.lit("quarantine")),
            joined.warnings.with_columns(kind=pl.lit("warning")),
        ]
    ).select("kind", *joined.quarantine.columns)


def _benefits_manifest(folder: Path, joined: Benefits) -> dict[str, Any]:
    return {
        "extract": str(folder),
        "rows_read": joined.rows_read,
        "rows_valid": {t: f.height for t, f in joined.tables.items()},
        "rows_quarantined": joined.quarantine["source_line"].n_unique(),
        "warnings": joined.warnings.height,
    }


def _print_benefits(console: Console, joined: Benefits) -> None:
    from rich.table import Table

    from engine.benefits import benefits_summary
    from engine.cli._console import text

    read = sum(joined.rows_read.values())
    quarantined = joined.quarantine.height
    console.print(
        text(
            "cli_ent_benefits",
            quarantined=quarantined,
            read=read,
            warnings=joined.warnings.height,
        )
    )
    summary = benefits_summary(joined)
    if summary.height:
        rules = Table(title=text("cli_ent_benefits_rules"))
        for column in ("kind", "table", "rule", "rows"):
            rules.add_column(
                text(f"cli_ent_col_{column}"), justify="right" if column == "rows" else "left"
            )
        for row in summary.iter_rows(named=True):
            kind = text("cli_ent_kind_" + row["kind"])
            rules.add_row(kind, row["table"], row["rule"], f"{row['rows']:,}")
        console.print(rules)


def _without_tables(registry: Registry) -> Registry:
    """The registry without its rows (what the summary and the manifest show stays: the extract
    date, rows read, quarantine and warnings), so its memory is free before the outputs are
    written."""
    import dataclasses

    return dataclasses.replace(
        registry,
        recipients=registry.recipients.clear(),
        cases=registry.cases.clear(),
        case_locations=registry.case_locations.clear(),
        providers=registry.providers.clear(),
        services=registry.services.clear(),
        territory_status=registry.territory_status.clear(),
        benefits=None,  # its quarantine and counts are kept apart (`joined`)
    )


def _parse_months(text: str) -> tuple[str, str]:
    from engine.dates import month_range
    from engine.errors import ConfigError

    parts = text.split(":")
    if len(parts) != 2:
        raise ConfigError(f"--months must be YYYY-MM:YYYY-MM, got '{text}'")
    try:
        month_range(parts[0], parts[1])
    except ValueError as exc:
        raise ConfigError(f"--months: {exc}") from None
    return parts[0], parts[1]


def _manifest(
    extract: Path,
    registry: Registry,
    baseline: EntitleSummary,
    scenario_model: Any,
    diff: ScenarioDiff | None,
) -> dict[str, Any]:
    return {
        "extract": str(extract),
        "extract_date": registry.extract_date.isoformat(),
        "months": [m.isoformat() for m in baseline.months],
        "model_version": baseline.model_version,
        "model_hash": baseline.model_hash,
        "rows_read": registry.rows_read,
        "rows_quarantined": registry.quarantine.height,
        "segments": baseline.n_segments,
        "case_months": baseline.n_case_months,
        "totals": baseline.totals(),
        "scenario": None
        if scenario_model is None
        else {
            "model_version": scenario_model.version,
            "model_hash": scenario_model.content_hash,
            **(diff.summary() if diff is not None else {}),
        },
    }


def _print_summary(
    console: Console,
    registry: Registry,
    baseline: EntitleSummary,
    territories: pl.DataFrame,
    diff: ScenarioDiff | None,
) -> None:
    import polars as pl
    from rich.table import Table

    from engine.cli._console import oblast_names, text
    from engine.registry import quarantine_summary

    first, last = baseline.months
    console.print(
        text(
            "cli_ent_title",
            first=f"{first:%Y-%m}",
            last=f"{last:%Y-%m}",
            version=baseline.model_version,
            digest=baseline.model_hash[:12],
        ),
        soft_wrap=True,
    )
    sums = baseline.by_funding
    served, waiting = sums["served"], sums["waiting"]
    totals = Table(title=text("cli_ent_totals"))
    for column in ("", "cli_ent_served", "cli_ent_waiting"):
        header = text(column) if column else ""
        totals.add_column(header, justify="left" if not column else "right", no_wrap=True)
    both = (served, waiting)
    totals.add_row(text("cli_ent_case_months"), *(f"{p['case_months']:,.1f}" for p in both))
    totals.add_row(text("cli_ent_rows"), *(f"{p['rows']:,}" for p in both))
    for column in ("gross_uah", "copay_uah", "state_uah"):
        totals.add_row(
            text(f"cli_ent_{column}"),
            *(format_uah(float(p[column] or 0), exact=True) for p in both),
        )
    console.print(totals)
    console.print(
        text(
            "cli_ent_counts",
            segments=baseline.n_segments,
            cases=baseline.n_cases,
            rows=baseline.n_case_months,
        )
    )
    # codes travel as the outputs' Enum: the names are joined to it, shown as text here

    labels = oblast_names(territories)  # in the output language (--lang / $MFR_LANG)
    names = pl.DataFrame(
        {"oblast_code": list(labels), "oblast_name_en": list(labels.values())}
    ).with_columns(
        pl.col("oblast_code").cast(baseline.rollups.schema["territory_code"], strict=False)
    )
    top = (
        baseline.rollups.filter((pl.col("level") == "oblast") & pl.col("funded"))
        .group_by("territory_code")
        .agg(pl.col("state_uah").sum(), pl.col("case_months").sum())
        .join(names, left_on="territory_code", right_on="oblast_code", how="left")
        .sort("state_uah", descending=True)
        .head(_TOP)
    )
    oblasts = Table(title=text("cli_ent_top", top=_TOP))
    for column in ("cli_oblast", "cli_ent_code", "cli_ent_case_months", "cli_ent_state"):
        oblasts.add_column(
            text(column), justify="left" if column in ("cli_oblast", "cli_ent_code") else "right"
        )
    for row in top.iter_rows(named=True):
        oblasts.add_row(
            row["oblast_name_en"] or "?",
            str(row["territory_code"] or "?"),
            f"{row['case_months']:,.1f}",
            format_uah(row["state_uah"], exact=True),
        )
    console.print(oblasts)
    read = sum(registry.rows_read.values())
    console.print(text("cli_ent_quarantine", quarantined=registry.quarantine.height, read=read))
    if registry.quarantine.height:
        rules = Table(title=text("cli_ent_quarantine_rules"))
        for column in ("table", "rule", "rows"):
            rules.add_column(
                text(f"cli_ent_col_{column}"), justify="right" if column == "rows" else "left"
            )
        for row in quarantine_summary(registry).iter_rows(named=True):
            rules.add_row(row["table"], row["rule"], f"{row['rows']:,}")
        console.print(rules)
    if diff is not None:
        _print_diff(console, diff, names)


def _print_diff(console: Console, diff: ScenarioDiff, names: pl.DataFrame) -> None:
    import polars as pl
    from rich.table import Table

    from engine.cli._console import text

    s = diff.summary()
    console.print(
        text(
            "cli_ent_diff",
            gross=f"{s['diff_gross_uah']:+,.2f}",
            state=f"{s['diff_state_uah']:+,.2f}",
            winners=s["winners"],
            losers=s["losers"],
            unchanged=s["unchanged"],
        ),
        soft_wrap=True,
    )
    changed = (
        diff.territories.filter(
            (pl.col("level") == "oblast") & pl.col("funded") & (pl.col("diff_state_uah") != 0)
        )
        .group_by("territory_code")
        .agg(pl.col("baseline_state_uah", "scenario_state_uah", "diff_state_uah").sum())
        .join(names, left_on="territory_code", right_on="oblast_code", how="left")
        .sort("diff_state_uah", descending=True)
    )
    if changed.is_empty():
        return
    table = Table(title=text("cli_ent_diff_title"))
    for column in ("cli_oblast", "cli_ent_baseline", "cli_ent_scenario", "cli_ent_difference"):
        table.add_column(text(column), justify="left" if column == "cli_oblast" else "right")
    shown = pl.concat([changed.head(_TOP // 2), changed.tail(_TOP // 2)]).unique(
        maintain_order=True
    )
    for row in shown.iter_rows(named=True):
        table.add_row(
            row["oblast_name_en"] or str(row["territory_code"] or "?"),
            format_uah(row["baseline_state_uah"], exact=True),
            format_uah(row["scenario_state_uah"], exact=True),
            f"{float(row['diff_state_uah']):+,.2f}",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("entitle")(entitle)
