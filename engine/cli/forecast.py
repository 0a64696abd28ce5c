"""`mfr forecast`: coherent demand forecasts from a registry extract, or from any long-format file.

    mfr forecast EXTRACT --model models/funding/baseline --out DIR [--config FILE] [--horizon 12]
    mfr forecast --series FILE --id-col unique_id --date-col ds --value-col y --out DIR
                 [--nested a,b,c] [--crossed g,s] [--freq 1mo|1q] [--reconcile METHOD]

From an extract: registry → entitlements → `engine.demand.forecast_need` with the configuration
(`--config`, default the project's `models/forecast/default.yaml`, else the copy shipped with the
engine) — the one path the nightly and the notebooks take, so the same configuration gives the
same numbers: demand history to the extract's last complete month, the configuration's target
(`case_months_need` = served + waiting by default) over its hierarchy, its backtest, and the bottom
level priced with the funding model. From a series file (CSV or Parquet, long format): the
forecast and backtest.

Writes Parquet files — `forecasts` (node, level, month, mean, bounds, model), `models` (per node:
model, criterion, fallback and reason), `backtest` and `backtest_summary`, `drivers`, and from an
extract also `demand` (the history) and `need` (the priced bottom level: `need_uah` for need,
`served_uah` / `waiting_uah` for the other targets; claims for `mfr allocate`) — plus
`forecast.json`, staged and moved into `--out` at the end, replacing only the files an earlier
`mfr forecast` wrote there (`engine.cli._output`): a failed run leaves nothing half-written and no
one else's file is ever removed.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from engine.cli._console import LANG_OPTION
from engine.cli._output import OVERWRITE_HELP, check_output_folder, staged_folder
from engine.cli._quarantine import apply_quarantine_threshold

if TYPE_CHECKING:
    import polars as pl
    from rich.console import Console

    from engine.forecasting import ForecastConfig, ForecastResult

__all__ = ["forecast_command", "read_series", "register"]


def read_series(path: Path, *, date_col: str, value_col: str) -> pl.DataFrame:
    """A long-format file (.csv or .parquet); CSV key columns stay text ("015.1" is not 15.1)."""
    import polars as pl

    from engine.errors import InputFileError

    if not path.is_file():
        raise InputFileError("series file not found", path=path)
    try:
        if path.suffix.lower() == ".parquet":
            return pl.read_parquet(path)
        if path.suffix.lower() in (".csv", ".txt"):
            raw = pl.read_csv(path, infer_schema=False)
        else:
            raise InputFileError("series must be a .csv or .parquet file", path=path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputFileError(f"cannot read series: {str(exc).splitlines()[0]}", path=path) from exc
    # every column is read as text ("015.1" stays a code); dates and values are parsed here so
    # that a bad value is reported with its line rather than as a type error (a missing column is
    # reported by the forecasting API, with the columns it expects)
    parsers = {
        date_col: (
            pl.col(date_col).str.strip_chars().str.to_date(strict=False),
            "a date (YYYY-MM-DD)",
        ),
        value_col: (
            pl.col(value_col)
            .str.strip_chars()
            .str.replace(",", ".")
            .cast(pl.Float64, strict=False),
            "a number",
        ),
    }
    present = {c: p for c, p in parsers.items() if c in raw.columns}
    parsed = raw.with_columns(expr for expr, _ in present.values())
    for column, (_, expected) in present.items():
        bad = parsed[column].is_null() & raw[column].is_not_null()
        if bad.any():
            row = int(bad.arg_true()[0])
            raise InputFileError(
                f"{raw[column][row]!r} is not {expected}", path=path, column=column, line=row + 2
            )
    return parsed


def _default_config() -> Path:
    from engine.forecasting import default_config_path

    return default_config_path()


def _config(path: Path | None, **overrides: Any) -> ForecastConfig:
    import dataclasses

    from engine.forecasting import ForecastConfig, load_forecast_config

    config = load_forecast_config(path) if path else ForecastConfig()
    changes = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(config, **changes) if changes else config


def forecast_command(
    extract: Path | None = typer.Argument(None, help="Registry extract folder (or .xlsx)."),
    *,
    out: Path = typer.Option(
        ..., "--out", help="Output folder (only its earlier forecast outputs are replaced)."
    ),
    model: Path | None = typer.Option(None, "--model", help="Funding model folder (extract mode)."),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="Forecast configuration (default: the project's models/forecast/default.yaml, else the engine's copy).",
    ),
    series: Path | None = typer.Option(None, "--series", help="Long-format file to forecast."),
    id_col: str = typer.Option("unique_id", "--id-col", help="Series id column (--series)."),
    date_col: str = typer.Option("ds", "--date-col", help="Date column (--series)."),
    value_col: str = typer.Option("y", "--value-col", help="Value column (--series)."),
    nested: str | None = typer.Option(
        None, "--nested", help="Nested key columns, coarse to fine, comma-separated (--series)."
    ),
    crossed: list[str] = typer.Option(
        [], "--crossed", help="A crossed factor chain, comma-separated; repeatable (--series)."
    ),
    horizon: int | None = typer.Option(None, "--horizon", help="Periods ahead."),
    freq: str | None = typer.Option(None, "--freq", help="Period: 1mo, 3mo or 1q, ..."),
    reconcile: str | None = typer.Option(
        None, "--reconcile", help="bottom_up, ols, wls_struct, mint_shrink or none."
    ),
    target: str | None = typer.Option(
        None,
        "--target",
        help="What to forecast (extract mode): case_months_need (served + waiting), "
        "case_months_served, case_months_waiting, new_cases, ...; default: the configuration's.",
    ),
    backtest_windows: int | None = typer.Option(
        None, "--backtest-windows", help="Rolling origins (0: no backtest)."
    ),
    counts: bool = typer.Option(
        False,
        "--counts",
        help="The series are counts (cases, case-months): no band narrower than the Poisson law "
        "of its forecast (--series; an extract's count targets always are).",
    ),
    threshold: float = typer.Option(0.01, "--threshold", help="Largest quarantined share (0-1)."),
    accept_quarantine: bool = typer.Option(
        False, "--accept-quarantine", help="Go on when the quarantine threshold is exceeded."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    as_json: bool = typer.Option(
        False, "--json", help="Print the run's summary as one JSON document instead of tables."
    ),
    lang: str | None = LANG_OPTION,
) -> None:
    """Forecast need (extract) or any long-format series file, coherently, with backtests."""
    from engine.cli._console import console_for, print_json, progress, text
    from engine.errors import ConfigError

    if (extract is None) == (series is None):
        raise ConfigError("give either an EXTRACT folder or --series FILE, not both or neither")
    if extract is not None and model is None:
        raise ConfigError("forecasting an extract needs --model (a funding model folder)")
    cfg = _config(
        config if config or series else _default_config(),
        horizon=horizon,
        freq=freq,
        reconcile=reconcile,
        target=target,
        backtest_windows=backtest_windows,
    )
    check_output_folder(out, overwrite=overwrite)
    console = console_for()
    if series is not None:
        with progress("forecast", text("cli_fc_series", name=series.name), quiet=as_json):
            frames, meta = _from_series(
                series,
                cfg,
                id_col=id_col,
                date_col=date_col,
                value_col=value_col,
                nested=nested,
                crossed=crossed,
                counts=counts,
            )
    else:
        assert extract is not None and model is not None  # refused above; narrows the types
        frames, meta = _from_extract(
            extract,
            model,
            cfg,
            threshold=threshold,
            accept_quarantine=accept_quarantine,
            console=console,
            quiet=as_json,
        )
    with progress("forecast", text("cli_fc_writing", out=out), quiet=as_json):
        _write(out, frames, meta, overwrite=overwrite)
    if as_json:
        print_json(meta | {"written_to": str(out)})
        return
    _print_summary(console, frames, meta)
    console.print(text("cli_written_to", out=out), soft_wrap=True)


def _hierarchy_from_options(nested: str | None, crossed: list[str]) -> dict[str, Any] | None:
    if not nested and not crossed:
        return None
    split = lambda text: [c.strip() for c in text.split(",") if c.strip()]  # noqa: E731
    return {"nested": split(nested or ""), "crossed": [split(c) for c in crossed]}


def _run(
    frame: pl.DataFrame, cfg: ForecastConfig, *, counts: bool, **columns: Any
) -> dict[str, Any]:
    """Forecast and backtest; a backtest the history is too short for is skipped with its reason.
    `counts`: whether the series are counts (the Poisson floor), whatever the configuration's
    target (a series file's values are the user's, not the extract's case-months)."""
    from engine.errors import ConfigError
    from engine.forecasting import backtest, forecast, summarise_backtest

    kwargs = {**cfg.forecast_kwargs(), "counts": counts}
    run: dict[str, Any] = {"result": forecast(frame, **kwargs, **columns)}
    run["frames"] = _result_frames(run["result"])
    run["skipped"] = []
    if cfg.backtest_windows > 0:
        try:
            table = backtest(frame, **{**cfg.backtest_kwargs(), "counts": counts, **columns})
        except ConfigError as exc:
            run["skipped"].append(exc.message)
        else:
            run["frames"] |= {"backtest": table, "backtest_summary": summarise_backtest(table)}
    return run


def _from_series(
    path: Path,
    cfg: ForecastConfig,
    *,
    id_col: str,
    date_col: str,
    value_col: str,
    nested: str | None,
    crossed: list[str],
    counts: bool,
) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    import dataclasses

    from engine.forecasting import HierarchySpec

    hierarchy = _hierarchy_from_options(nested, crossed)
    if hierarchy is not None:
        cfg = dataclasses.replace(cfg, hierarchy=HierarchySpec.from_mapping(hierarchy))
    frame = read_series(path, date_col=date_col, value_col=value_col)
    columns = {"id_col": id_col, "date_col": date_col, "value_col": value_col}
    run = _run(frame, cfg, counts=counts, **columns)
    meta = _meta(cfg, run["result"], source=str(path), target=value_col, skipped=run["skipped"])
    return run["frames"], meta


def _from_extract(
    extract: Path,
    model_path: Path,
    cfg: ForecastConfig,
    *,
    threshold: float,
    accept_quarantine: bool,
    console: Console,
    quiet: bool = False,
) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    from engine.cli._console import progress, text
    from engine.demand import forecast_need
    from engine.entitlements import compute_entitlements
    from engine.params import load_funding_model
    from engine.reference import load_services, load_territories
    from engine.registry import read_registry

    with progress("forecast", text("cli_fc_reading", extract=extract), quiet=quiet):
        services, territories = load_services(), load_territories()
        model = load_funding_model(model_path, services=services)
        registry = read_registry(extract, territories=territories, services_catalogue=services)
    apply_quarantine_threshold(console, registry, threshold, accept=accept_quarantine)
    with progress("forecast", text("cli_fc_pricing"), quiet=quiet):
        entitlements = compute_entitlements(registry, model, territories)
    what = "cli_fc_backtesting" if cfg.backtest_windows > 0 else "cli_fc_forecasting"
    step = text(what, target=cfg.target, models=len(cfg.models), horizon=cfg.horizon)
    with progress("forecast", step, quiet=quiet):
        need = forecast_need(
            entitlements,
            cfg,
            extract_date=registry.extract_date,
            territories=territories,
            services=services,
            model=model,
            registry=registry,
        )
    frames = need.frames()
    meta = _meta(
        cfg,
        need.result,
        source=str(extract),
        target=need.target,
        skipped=list(need.backtest_skipped),
    )
    meta |= {
        "history": [m.isoformat() for m in need.history_months],
        "funding_model": {"name": model.name, "version": model.version, "hash": model.content_hash},
        "extract_date": registry.extract_date.isoformat(),
        "quarantined_rows": registry.quarantine.height,
    }
    if need.need is not None and need.money_column is not None:
        meta["money_column"] = need.money_column
        meta[need.money_column] = round(float(need.need[need.money_column].sum()), 2)
    return frames, meta


def _result_frames(result: ForecastResult) -> dict[str, pl.DataFrame]:
    return {"forecasts": result.forecasts, "models": result.models, "drivers": result.drivers}


def _meta(
    cfg: ForecastConfig, result: ForecastResult, *, source: str, target: str, skipped: list[str]
) -> dict[str, Any]:
    info = result.reconciliation
    forecasts = result.forecasts
    return {
        "source": source,
        "config": cfg.source or "defaults",
        "target": target,
        "horizon": cfg.horizon,
        "freq": cfg.freq,
        "models": list(cfg.models),
        "levels": list(result.levels),
        "first_period": _iso(forecasts["ds"].min()),
        "last_period": _iso(forecasts["ds"].max()),
        "nodes": result.hierarchy.n_nodes,
        "bottom_series": result.hierarchy.n_bottom,
        "reconciliation": info.as_dict(),
        "fallbacks": int(result.models["fallback"].sum()),
        "backtest_skipped": skipped,
        "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _iso(value: object) -> str:
    """A period bound as ISO text (a `ds` column holds dates, or datetimes from some files)."""
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _write(
    out: Path, frames: dict[str, pl.DataFrame], meta: dict[str, Any], *, overwrite: bool
) -> None:
    with staged_folder(out, command="forecast", overwrite=overwrite) as staging:
        for name, frame in frames.items():
            frame.write_parquet(staging / f"{name}.parquet")
        (staging / "forecast.json").write_text(
            json.dumps(meta, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
        )


def _print_summary(console: Console, frames: dict[str, pl.DataFrame], meta: dict) -> None:
    import polars as pl
    from rich.table import Table
    from rich.text import Text

    from engine.cli._console import output_lang, text
    from engine.cli._words import WORDS, translate

    info = meta["reconciliation"]
    reason = info["reason"] and translate(info["reason"], output_lang())
    asked = reason and text("cli_fc_asked", requested=info["requested"], reason=reason)
    headline = text(
        "cli_fc_headline",
        series=meta["bottom_series"],
        nodes=meta["nodes"],
        first=meta["first_period"],
        last=meta["last_period"],
        used=info["method"],
        note=asked or "",
        clipped=info["clipped_negative"],
        fallbacks=meta["fallbacks"],
    )
    console.print(Text(meta["target"], style="bold"), Text(headline), sep="")
    forecasts = frames["forecasts"]
    levels = forecasts.select("level").unique(maintain_order=True)["level"].to_list()
    # quantiles do not add up across nodes: only the mean is summed (intervals: per node, in
    # forecasts.parquet)
    table = Table(title=text("cli_fc_by_level"))
    for column in ("level", "nodes", "mean"):
        table.add_column(
            text(f"cli_col_{column}"), justify="left" if column == "level" else "right"
        )
    totals = forecasts.group_by("level", maintain_order=True).agg(
        pl.col("unique_id").n_unique().alias("nodes"),
        pl.col("mean").sum(),
    )
    for row in totals.iter_rows():
        table.add_row(row[0], f"{row[1]:,}", *[f"{v:,.1f}" for v in row[2:]])
    console.print(table)
    models = frames["models"].group_by("model").len().sort("len", descending=True).head(8)
    used = ", ".join(f"{m} {n:,}" for m, n in models.iter_rows())
    console.print(text("cli_fc_models", models=used), soft_wrap=True)
    if "backtest_summary" in frames:
        summary = frames["backtest_summary"].filter(pl.col("level").is_in([levels[0], levels[-1]]))
        bt = Table(title=text("cli_fc_backtest"))
        cover = [c for c in summary.columns if c.startswith("coverage_")]
        for column in ("method", "level", "MASE", "RMSSE", *cover):
            header = (
                column
                if column in ("MASE", "RMSSE")
                else text("cli_fc_coverage", level=column.removeprefix("coverage_"))
                if column in cover
                else text(f"cli_col_{column}")
            )
            bt.add_column(header, justify="left" if column in ("method", "level") else "right")
        for named in summary.iter_rows(named=True):
            cells = [named["mase"], named["rmsse"], *[named[c] for c in cover]]
            bt.add_row(
                named["method"], named["level"], *["–" if v is None else f"{v:.3f}" for v in cells]
            )
        console.print(bt)
    for reason in meta["backtest_skipped"]:
        console.print(text("cli_fc_skipped", reason=reason), soft_wrap=True)
    money = meta.get("money_column")
    if money is not None:
        known = f"cli_fc_{money}" in WORDS  # need, served or waiting; another target by its name
        what = text(f"cli_fc_{money}") if known else money.removesuffix("_uah")
        console.print(text("cli_fc_money", what=what, amount=meta[money]))


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast_command)
