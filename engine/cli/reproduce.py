"""`mfr reproduce RUN`: rerun a past run from the inputs the store kept and compare its tables."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from engine.cli._console import LANG_OPTION

__all__ = ["register", "reproduce"]


def reproduce(
    run: str = typer.Argument(
        ..., help="Run id, an unambiguous prefix of one, or 'latest' (see mfr show)."
    ),
    *,
    extract: Path | None = typer.Option(
        None,
        "--extract",
        help="The extract the run read (default: where it read it). Refused unless every file "
        "hashes as the run recorded.",
    ),
    store: Path | None = typer.Option(None, "--store", help="DuckDB store file (as for mfr show)."),
    workdir: Path | None = typer.Option(
        None,
        "--workdir",
        help="Keep the rebuilt inputs and the rerun's store here (default: a temporary folder, "
        "removed afterwards).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
    lang: str | None = LANG_OPTION,
) -> None:
    """Rerun RUN from its stored spec, funding model, scenarios, policy, forecast configuration and
    reference data, on its extract, into a temporary store; compare every published table's hash.

    Exit codes: 0 identical, 1 some table differs (one line each), 2 the run did not succeed or
    cannot be rerun as it ran, 3 the extract is missing or not the one the run read, or the store
    kept too little of the run. The store itself is only read.
    """
    from engine.cli._console import say
    from engine.cli._store_commands import store_for
    from engine.pipeline._reproduce import reproduce_run

    target = store_for(store, json_output=as_json)
    result = reproduce_run(target, run, extract=extract, workdir=workdir)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        say("\n".join(result.lines()))
    if not result.identical:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.command("reproduce")(reproduce)
