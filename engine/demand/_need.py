"""`forecast_need`: the one path from priced history to a priced forecast of demand.

The CLI (`mfr forecast EXTRACT`), the nightly's forecast step and the notebooks call this one
function, so the same configuration gives the same numbers everywhere:

1. demand series per hromada × service from the priced segments (`demand_series`), over the
   history window: the config's `history_months` months (all, when null) ending with the last
   month the extract saw in full (`last_complete_month`); every series completed with zeros;
2. the config's target (`case_months_need` = served + waiting, the assessed need;
   `case_months_served`; `case_months_waiting`; or another demand column) forecast over the
   config's hierarchy with its models, levels, reconciliation and drivers;
3. the config's rolling-origin backtest;
4. the bottom level priced with the funding model (`price_forecast`): `need_uah` for need,
   `served_uah` / `waiting_uah` for the others, so no served-only number is ever called need.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from engine.dates import add_months
from engine.demand._price import money_column, price_forecast
from engine.demand._series import (
    CASE_MONTH_TARGETS,
    DEMAND_TARGETS,
    demand_series,
    last_complete_month,
)
from engine.errors import ConfigError, InputFileError

if TYPE_CHECKING:
    from engine.entitlements import Entitlements
    from engine.forecasting import ForecastConfig, ForecastResult
    from engine.params import FundingModel
    from engine.schemas import Registry

__all__ = ["DEFAULT_HIERARCHY", "NeedForecast", "forecast_need"]

# the hierarchy when a configuration names none: territories nested, crossed with services grouped
DEFAULT_HIERARCHY = {
    "nested": ["oblast_code", "raion_code", "hromada_code"],
    "crossed": [["service_group", "service_code"]],
}


@dataclass(frozen=True, eq=False)
class NeedForecast:
    """What `forecast_need` made, and the configuration it made it with.

    - `forecasts`: every node × month (`unique_id, level, <keys>, ds, mean, lo_80, hi_80, lo_95,
      hi_95, model, method, target`); `target` names what `mean` counts;
    - `need`: the bottom level priced (keys, `month`, the target's case-months, `price_uah`,
      `price_basis`, `need_uah` and its bounds — or `served_uah` / `waiting_uah`); None when no
      funding model was given or the target is not case-months;
    - `history`: the completed demand series the forecast learned from (`month`, keys, every
      demand column); `history_months`: its first and last month;
    - `backtest`, `backtest_summary`: the config's rolling-origin backtest (None when it has no
      windows or the history is too short: `backtest_skipped` says why);
    - `models`: per node, the model chosen and why; `result`: the full `ForecastResult`.
    """

    config: ForecastConfig
    target: str
    history_months: tuple[dt.date, dt.date]
    history: pl.DataFrame
    forecasts: pl.DataFrame
    models: pl.DataFrame
    need: pl.DataFrame | None
    backtest: pl.DataFrame | None
    backtest_summary: pl.DataFrame | None
    backtest_skipped: tuple[str, ...]
    result: ForecastResult

    @property
    def money_column(self) -> str | None:
        """The priced column of `need` (`need_uah`, `served_uah`, ...), if priced."""
        return money_column(self.target) if self.need is not None else None

    def frames(self) -> dict[str, pl.DataFrame]:
        """The frames by the names `mfr forecast` writes them under."""
        frames = {
            "forecasts": self.forecasts,
            "models": self.models,
            "drivers": self.result.drivers,
            "demand": self.history,
        }
        if self.backtest is not None and self.backtest_summary is not None:
            frames |= {"backtest": self.backtest, "backtest_summary": self.backtest_summary}
        if self.need is not None:
            frames["need"] = self.need
        return frames


def _segments(priced: Entitlements | pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    if isinstance(priced, pl.DataFrame | pl.LazyFrame):
        return priced.lazy()
    return priced.segments.lazy()


def _with_reference(
    history: pl.DataFrame, territories: pl.DataFrame | None, services: pl.DataFrame | None
) -> pl.DataFrame:
    """Raion, oblast and service group from the reference tables where the history lacks them."""
    out = history
    if (
        territories is not None
        and out.select(pl.col("raion_code", "oblast_code").null_count()).sum_horizontal().item()
    ):
        lookup = territories.select(
            "hromada_code", pl.col("raion_code").alias("_r"), pl.col("oblast_code").alias("_o")
        ).unique("hromada_code")
        out = out.join(lookup, on="hromada_code", how="left").with_columns(
            pl.coalesce("raion_code", "_r").alias("raion_code"),
            pl.coalesce("oblast_code", "_o").alias("oblast_code"),
        )
    if services is not None and out["service_group"].null_count():
        lookup = services.select("service_code", pl.col("group").alias("_g")).unique("service_code")
        out = out.join(lookup, on="service_code", how="left").with_columns(
            pl.coalesce("service_group", "_g").alias("service_group")
        )
    return out.select(history.columns)


def _window(
    priced: Entitlements | pl.DataFrame | pl.LazyFrame,
    seg: pl.LazyFrame,
    config: ForecastConfig,
    extract_date: dt.date,
) -> tuple[dt.date, dt.date]:
    if isinstance(priced, pl.DataFrame | pl.LazyFrame):
        span = seg.select(
            pl.col("month").cast(pl.Date).min().alias("lo"),
            pl.col("month").cast(pl.Date).max().alias("hi"),
        ).collect()
        lo, hi = span["lo"][0], span["hi"][0]
        if lo is None:
            raise InputFileError("no priced segments to build demand history from")
    else:
        lo, hi = priced.months
    last = min(hi, last_complete_month(extract_date))
    first = (
        lo
        if config.history_months is None
        else max(lo, add_months(last, 1 - config.history_months))
    )
    if first > last:
        raise InputFileError(
            f"no complete month of history: priced {lo:%Y-%m}..{hi:%Y-%m}, extract date "
            f"{extract_date.isoformat()}"
        )
    return first, last


def forecast_need(
    priced: Entitlements | pl.DataFrame | pl.LazyFrame,
    config: ForecastConfig,
    *,
    extract_date: dt.date,
    territories: pl.DataFrame | None = None,
    services: pl.DataFrame | None = None,
    model: FundingModel | None = None,
    registry: Registry | None = None,
) -> NeedForecast:
    """Forecast demand from priced history by `config` and price it (see the module docstring).

    `priced`: what `engine.compute_entitlements` returns over the history months — the
    `Entitlements` (its `months` bound the window) or its `segments` frame (the window is the
    months it holds). `config`: an `engine.forecasting.ForecastConfig`, e.g.
    `load_forecast_config("models/forecast/default.yaml")`. `extract_date`: the extract's date;
    the month it does not cover in full is left out. `territories` / `services` (the reference
    tables) supply raion, oblast and service group where the segments lack them. `model`: the
    funding model the forecast is priced with (the one the history was priced with, or a
    scenario's); without it `need` is None. `registry`: the extract the history was priced from;
    with it (and `priced` holding the entitlement factors) the price follows every dated change of
    the model in the forecast months — tariff, territorial coefficient (by the registry's
    `territory_status`), modifier and co-payment (by the recipients' income), see
    `engine.demand._price`; without it, the tariff's.

    >>> import engine
    >>> registry = engine.read_registry("data_samples/registry")
    >>> model = engine.load_funding_model("models/funding/baseline")
    >>> priced = engine.compute_entitlements(registry, model, engine.load_territories())
    >>> config = engine.load_forecast_config("models/forecast/default.yaml")
    >>> need = forecast_need(priced, config, extract_date=registry.extract_date, model=model)
    >>> need.target, need.money_column, need.history_months[1], need.need["month"].max()
    ('case_months_need', 'need_uah', datetime.date(2026, 10, 1), datetime.date(2027, 10, 1))
    """
    target = config.target
    if target not in DEMAND_TARGETS:
        raise ConfigError(
            f"target must be one of {', '.join(DEMAND_TARGETS)}, got {target!r}",
            path=config.source or None,
        )
    seg = _segments(priced)
    first, last = _window(priced, seg, config, extract_date)
    history = _with_reference(demand_series(seg, months=(first, last)), territories, services)
    if history.height == 0:
        raise InputFileError(f"no demand in the history window {first:%Y-%m}..{last:%Y-%m}")
    cfg = config if config.hierarchy is not None else _with_default_hierarchy(config)
    from engine.forecasting import backtest, forecast, summarise_backtest
    from engine.forecasting._calibration import BacktestErrors

    table = summary = None
    errors = BacktestErrors()
    skipped: list[str] = []
    if cfg.backtest_windows > 0:
        try:
            table = backtest(
                history, **cfg.backtest_kwargs(), date_col="month", value_col=target,
                errors=errors,
            )  # fmt: skip
        except ConfigError as exc:
            skipped.append(exc.message)
        else:
            summary = summarise_backtest(table)
    kwargs, chosen = cfg.forecast_kwargs(), _auto_choice(cfg, table)
    if chosen is not None:  # the backtest reconcile="auto" runs is this one: not made twice
        kwargs["reconcile"] = chosen[0]
    # the bands are calibrated on the configuration's backtest of the method used, when it ran it
    calibration = errors.calibration(kwargs["reconcile"])
    result = forecast(
        history, **kwargs, date_col="month", value_col=target, calibration=calibration
    )
    if chosen is not None:
        info = dataclasses.replace(result.reconciliation, requested="auto", reason=chosen[1])
        result = dataclasses.replace(result, reconciliation=info)
    need = None
    if model is not None and target in CASE_MONTH_TARGETS:
        bottom = result.forecasts.filter(pl.col("level") == result.hierarchy.levels[-1])
        need = price_forecast(
            bottom, history, model, target=target,
            segments=None if registry is None else seg,
            territory_status=None if registry is None else registry.territory_status,
            recipients=None if registry is None else registry.recipients,
        )  # fmt: skip
    return NeedForecast(
        config=config,
        target=target,
        history_months=(first, last),
        history=history,
        forecasts=result.forecasts.with_columns(target=pl.lit(target)),
        models=result.models,
        need=need,
        backtest=table if table is None else table.with_columns(target=pl.lit(target)),
        backtest_summary=summary,
        backtest_skipped=tuple(skipped),
        result=result,
    )


def _auto_choice(config: ForecastConfig, table: pl.DataFrame | None) -> tuple[str, str] | None:
    """`reconcile: auto`'s method and reason from the configuration's own backtest when that
    backtest holds the very runs auto's would make (the same two origins a horizon apart and
    every candidate method); None otherwise (`forecast` runs its own)."""
    from engine.forecasting._backtest import CHOICE_METHODS, reconciliation_from_backtest

    same = (
        config.reconcile == "auto"
        and config.backtest_windows == 2
        and (config.backtest_step or config.horizon) == config.horizon
        and set(CHOICE_METHODS) <= set(config.backtest_methods)
    )
    if (
        not same
        or table is None
        or table.filter(pl.col("method").is_in(list(CHOICE_METHODS))).is_empty()
    ):
        return None
    return reconciliation_from_backtest(table)


def _with_default_hierarchy(config: ForecastConfig) -> ForecastConfig:
    from engine.forecasting import HierarchySpec

    return dataclasses.replace(config, hierarchy=HierarchySpec.from_mapping(DEFAULT_HIERARCHY))
