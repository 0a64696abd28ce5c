"""`mfr explain --case C --month YYYY-MM [RUN | --extract DIR --model DIR]`: why one amount is what it is.

From a past run (a run id, a prefix of one, or `latest`) the case is explained from the store alone:
the case inputs the run kept and the funding model its manifest names (refused when that folder's
content changed since; `--model DIR` points at a copy). From an extract, the extract is read and
validated as `mfr validate` does. Either way the case is priced by the engine's own pricing and
every segment, cut, factor, cap, co-payment band and rounding is shown (`--json` for scripts).
Exit 1 if the factors did not give the engine's amount, or a run's stored amount (a bug to report).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from engine.cli._console import LANG_OPTION
from engine.cli._store_commands import STORE_HELP, store_for

if TYPE_CHECKING:
    from engine.explain import Explanation

__all__ = ["explain", "register"]


def explain(
    run: str | None = typer.Argument(
        None,
        help="Run id, an unambiguous prefix, or 'latest' (default when no --extract is given).",
    ),
    *,
    case: str = typer.Option(..., "--case", help="The case id, e.g. C000000123."),
    month: str = typer.Option(..., "--month", help="The month, YYYY-MM."),
    extract: Path | None = typer.Option(
        None, "--extract", help="Explain from this extract folder instead of a run."
    ),
    model: Path | None = typer.Option(
        None,
        "--model",
        help="Funding model folder (with --extract: required; with a run: a copy of the run's).",
    ),
    scenario: Path | None = typer.Option(
        None, "--scenario", help="With --extract: a scenario overlay on the model."
    ),
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print the explanation as JSON."),
    lang: str | None = LANG_OPTION,
) -> None:
    """Explain one case-month: every segment and why it was cut there, every factor and its source."""
    from engine.cli._console import console_for, output_lang, say
    from engine.errors import ConfigError

    if extract is not None:
        if run is not None:
            raise ConfigError("give either a RUN or --extract DIR, not both")
        if model is None:
            raise ConfigError("--extract needs --model DIR (the funding model to price with)")
        why = _from_extract(extract, model, scenario, case, month, lang=output_lang())
    else:
        if scenario is not None:
            raise ConfigError("--scenario goes with --extract (a run used its own scenario)")
        from engine.explain._stored import explain_run

        why = explain_run(
            store_for(store, json_output=json_output),
            run or "latest",
            case,
            month,
            model=model,
            lang=output_lang(),
        )
    if json_output:
        typer.echo(why.to_json())
    else:
        console = console_for()
        for item in why.renderables():
            console.print(item)
    if not why.consistent or why.header.get("matches_store") is False:
        say("error: the explanation does not give the engine's amount (see above)", sys.stderr)
        raise typer.Exit(1)


def _from_extract(
    extract: Path, model: Path, scenario: Path | None, case: str, month: str, *, lang: str
) -> Explanation:
    from engine.explain import explain_amount
    from engine.explain._words import say
    from engine.params import load_funding_model
    from engine.reference import load_services, load_territories
    from engine.registry import read_registry

    services, territories = load_services(), load_territories()
    funding = load_funding_model(model, scenario, services=services)  # config errors first
    registry = read_registry(extract, territories=territories, services_catalogue=services)
    return explain_amount(
        registry,
        funding,
        case,
        month,
        territories=territories,
        source=say("source_extract", lang, extract=extract),
        lang=lang,
    )


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
