"""`mfr bench`: throughput and peak memory of the hot paths, beside the straightforward alternative."""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

import typer

__all__ = ["register"]

_AREAS = ("entitlements", "allocation", "forecast", "nightly", "sweep")  # sweep: needs Dask


def bench(
    only: list[str] = typer.Option(
        [], "--only", help=f"Areas to run (repeatable): {', '.join(_AREAS)}. Default: all."
    ),
    quick: bool = typer.Option(False, "--quick", help="Small sizes only: a smoke run."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the results as JSON."),
    accuracy: bool = typer.Option(
        False,
        "--accuracy",
        help="Forecast: also base-forecast MASE beside AutoETS (visnights, registry).",
    ),
) -> None:
    """Measure every hot path at several sizes, with the alternative a user would write beside it."""
    from rich.table import Table

    from engine.cli._console import console_for
    from engine.errors import ConfigError

    areas = only or list(_AREAS)
    unknown = sorted(set(areas) - set(_AREAS))
    if unknown:
        raise ConfigError(f"unknown benchmark area(s) {unknown}; choose from {list(_AREAS)}")
    _require_alternatives(areas)
    # a scheduled job or a pipe gets every value in full rather than rich's 80-column cut
    console = console_for()
    results = []
    for area in areas:
        module = importlib.import_module(f"engine.bench.{area}")
        console.print(f"[bold]{area}[/bold] …")
        params = inspect.signature(module.run).parameters
        kwargs = {"quick": quick} if "quick" in params else {}
        if accuracy and "accuracy" in params:
            kwargs["accuracy"] = True
        area_results = list(module.run(**kwargs))
        results.extend(area_results)
        table = Table(title=f"{area}", show_lines=False)
        for column in ("case", "size", "seconds", "throughput /s", "peak MB", "note"):
            table.add_column(column, justify="left" if column in ("case", "note") else "right")
        for r in area_results:
            table.add_row(
                r.case,
                f"{r.size:,} {r.unit}",
                f"{r.seconds:.3f}",
                f"{r.throughput:,.0f}",
                f"{r.peak_mb:,.0f}" + ("*" if r.peak_includes_setup else ""),
                r.note,
            )
        console.print(table)
        ratios = getattr(module, "ratio_lines", _ratios)
        for line in ratios(area_results):
            console.print(line)
    if json_out is not None:
        json_out.write_text(json.dumps([r.as_dict() for r in results], indent=2))
    failed = [r for r in results if not r.ok]
    for r in failed:
        console.print(f"[red]check failed[/red]: {r.area}/{r.case} at {r.size:,}: {r.note}")
    if failed:
        raise typer.Exit(1)


# the straightforward alternatives each area is measured against
_ALTERNATIVES = {"entitlements": "pandas", "allocation": "pandas", "forecast": "statsforecast"}


def _require_alternatives(areas: list[str]) -> None:
    import importlib.util

    from engine.errors import ConfigError

    missing = sorted(
        {_ALTERNATIVES[a] for a in areas if a in _ALTERNATIVES}
        - {m for m in set(_ALTERNATIVES.values()) if importlib.util.find_spec(m) is not None}
    )
    if missing:
        raise ConfigError(
            f"the benchmark compares with {', '.join(missing)}, which is not installed: "
            "pip install -c requirements-lock.txt -e '.[bench]'"
        )


def _ratios(results: list) -> list[str]:
    """Engine throughput over each alternative's, at the same size when both ran it."""
    engine = [r for r in results if r.case.startswith("engine")]
    lines = []
    for alt in (r for r in results if not r.case.startswith("engine")):
        if not engine:
            break
        same = [r for r in engine if r.size == alt.size]
        ref = same[0] if same else min(engine, key=lambda r: abs(r.size - alt.size))
        lines.append(
            f"  engine ({ref.size:,}) vs {alt.case} ({alt.size:,}): "
            f"{ref.throughput / alt.throughput:,.1f}x the throughput"
        )
    return lines


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
