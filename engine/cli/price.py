"""`mfr price --service 015.1 --need-level 2 --hromada UA… --from 2025-01-01 [...]`: a case that does
not exist yet, priced month by month by the engine's own pricing, baseline beside a scenario.

Territory statuses come from `--status UA…:frontline@2025-01-01[/2025-06-30]` (repeatable) or from an
extract's `territory_status` table (`--statuses-from DIR`); without either the case's hromadas have
no status (coefficient 1). Each month's amount is followed by one line per segment: the product of
its factors and why it starts there; `--explain` prints every month's full explanation, `--json`
everything for a script. Bad input (unknown service or hromada, a bad date) is one line, exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from engine.cli._console import LANG_OPTION

if TYPE_CHECKING:
    import polars as pl

    from engine.explain import PricedCase

__all__ = ["price", "register"]


def price(
    *,
    service: str = typer.Option(..., "--service", help="Service code, e.g. 015.1 (home care)."),
    need_level: int = typer.Option(..., "--need-level", help="Need level 1, 2 or 3."),
    hromada: str = typer.Option(..., "--hromada", help="KATOTTG code of the serving hromada."),
    start: str = typer.Option(..., "--from", help="First day of service, YYYY-MM-DD."),
    until: str | None = typer.Option(None, "--until", help="Last day of service (default: open)."),
    moves: list[str] = typer.Option(
        [], "--moves", help="Moves, HROMADA@YYYY-MM-DD (comma-separated or repeated)."
    ),
    income_ratio: float | None = typer.Option(
        None, "--income-ratio", help="Income ÷ subsistence minimum (default: unknown)."
    ),
    disability: str = typer.Option("none", "--disability", help="none, I, II, III or child."),
    assessed_units: float | None = typer.Option(
        None, "--assessed-units", help="Assessed units per month (default: the norm)."
    ),
    waiting: bool = typer.Option(False, "--waiting", help="Waiting, no provider (unmet need)."),
    model: Path = typer.Option(
        Path("models/funding/baseline"), "--model", help="Funding model folder."
    ),
    scenario: Path | None = typer.Option(
        None, "--scenario", help="Scenario overlay to price beside the baseline."
    ),
    status: list[str] = typer.Option(
        [],
        "--status",
        help="Territory status, HROMADA:STATUS@FROM or HROMADA:STATUS@FROM/TO (repeatable).",
    ),
    statuses_from: Path | None = typer.Option(
        None, "--statuses-from", help="Take territory statuses from this extract."
    ),
    months: str | None = typer.Option(
        None, "--months", help="YYYY-MM:YYYY-MM (default: the service's months, at most 12 open)."
    ),
    explain: bool = typer.Option(False, "--explain", help="Print every month's full explanation."),
    json_output: bool = typer.Option(False, "--json", help="Print everything as JSON."),
    lang: str | None = LANG_OPTION,
) -> None:
    """Price a case that does not exist yet, month by month, baseline beside a scenario."""
    from engine.cli._console import console_for
    from engine.cli.entitle import _parse_months
    from engine.explain import price_case

    statuses = _statuses(status, statuses_from)
    priced = price_case(
        service=service,
        need_level=need_level,
        hromada=hromada,
        start=start,
        until=until,
        moves=",".join(moves),
        income_ratio=income_ratio,
        disability=disability,
        assessed_units=assessed_units,
        waiting=waiting,
        model=model,
        scenario=scenario,
        statuses=statuses,
        months=_parse_months(months) if months else None,
    )
    if json_output:
        typer.echo(priced.to_json())
        return
    console = console_for()
    _print(console, priced, explain=explain)


def _statuses(given: list[str], extract: Path | None) -> pl.DataFrame | None:
    """The statuses given on the command line and those of an extract, as one frame."""
    import polars as pl

    from engine.explain._price import parse_statuses

    frames = (
        [parse_statuses(given).select("hromada_code", "status", "valid_from", "valid_to")]
        if given
        else []
    )
    if extract is not None:
        from engine.reference import load_services, load_territories
        from engine.registry import read_registry

        registry = read_registry(
            extract, territories=load_territories(), services_catalogue=load_services()
        )
        columns = ["hromada_code", "status", "valid_from", "valid_to"]
        frames.append(registry.territory_status.select(columns))
    return pl.concat(frames) if frames else None


def _print(console: object, priced: PricedCase, *, explain: bool) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from engine.cli._console import hromada_names, output_lang, text
    from engine.explain._render import segment_lines
    from engine.reference import load_territories

    assert isinstance(console, Console)
    inputs, model = priced.inputs, priced.model
    names = hromada_names(load_territories())
    moves = inputs["moves"] and text("cli_price_moves", moves=", ".join(inputs["moves"]))
    income = inputs["income_ratio"]
    scenario = priced.scenario and text("cli_price_scenario", scenario=priced.scenario.scenario)
    console.print(
        text(
            "cli_price_case",
            service=inputs["service"],
            need_level=inputs["need_level"],
            hromada=_named(inputs["hromada"], names),
            start=inputs["from"],
            until=inputs["until"] or text("cli_open"),
            moves=moves or "",
            income=text("cli_unknown") if income is None else income,
            disability=inputs["disability"],
        )
        + "\n"
        + text(
            "cli_price_model",
            name=model.name,
            version=model.version,
            digest=model.content_hash[:12],
        )
        + (scenario or "")
    )
    amounts = priced.amounts
    table = Table(box=None, header_style="bold", pad_edge=False)
    columns = ["month", "funded", "days", "gross_uah", "copay_uah", "state_uah"]
    if priced.scenario is not None:
        columns += ["scenario_state_uah", "state_diff_uah"]
    for column in columns:
        justify = "right" if column not in ("month", "funded") else "left"
        table.add_column(text(f"cli_col_{column}"), justify=justify)  # type: ignore[arg-type]
    for row in amounts.iter_rows(named=True):
        cells = [f"{row['month']:%Y-%m}", text("cli_served" if row["funded"] else "cli_waiting")]
        cells.append(str(row["days"]))
        cells += ["–" if row[c] is None else f"{row[c]:,}" for c in columns[3:]]
        table.add_row(*cells)
    totals = [text("cli_total"), "", ""] + [f"{amounts[c].sum():,}" for c in columns[3:]]
    table.add_row(*totals, style="bold")
    console.print(table)
    lang = output_lang()
    for month in priced.months:
        why = priced.explain(month, lang=lang)
        if explain:
            for item in why.renderables():
                console.print(item)
            if priced.scenario is not None:
                console.print(text("cli_price_scenario_title", scenario=priced.scenario.scenario))
                for item in priced.explain(month, scenario=True, lang=lang).renderables():
                    console.print(item)
            continue
        for line in segment_lines(why):
            console.print(escape(f"  {month:%Y-%m} {line}"), soft_wrap=True)
        if priced.scenario is not None:
            other = priced.explain(month, scenario=True, lang=lang)
            if not other.case_months.equals(why.case_months):
                for line in segment_lines(other):
                    said = text("cli_price_scenario_line", line=line)
                    console.print(escape(f"  {month:%Y-%m} {said}"), soft_wrap=True)


def _named(code: str, names: dict[str, str]) -> str:
    """A hromada as `name (code)` in the output language, the code alone when it has no name."""
    return f"{names[code]} ({code})" if code in names else code


def register(app: typer.Typer) -> None:
    app.command("price")(price)
