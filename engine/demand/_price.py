"""Forecast case-months priced in hryvnias with the funding model, following its dated changes.

`price_forecast(forecast, history, model, target=..., segments=...)` prices forecast case-months:
a bottom node's (hromada × service's) price per case-month in a forecast month is what its base
window's caseload (the last 12 months) would be paid at that month's parameters, per case-month.

With the priced `segments` of the base window (the entitlement contract: volumes, factors,
circumstances) every rate is read again on the forecast month's first day — tariff, territorial
coefficient, modifier and co-payment, and a scenario's territorial changes — so a change dated in
a future month moves the price from that month (`engine.demand._reprice` gives the formula). The
coefficient follows dated changes when the registry's `territory_status` is given, the
co-payment when the `recipients` (their `income_ratio`) are; without them each segment keeps the
coefficient or share it was priced with.

Without segments (a history of demand columns only), only the tariff is followed: each past
month's amount is divided by that month's tariff and the result priced at the forecast month's,

    price(f) = Σ_m money_m / tariff(m)  /  Σ_m case_months_m  ×  tariff(f)     (m: last 12 months)

and other parameters enter through the base window's amounts, as they were.

Money and case-months are those of the target: served (`state_uah`, `case_months_served`),
waiting (`unmet_state_uah`, `case_months_waiting`) or need, both together. The priced columns are
named by the target — `need_uah` for `case_months_need`, `served_uah`, `waiting_uah` — so a served
forecast is never called need.

Where a node had no case-months in the base window the service's average over all nodes is used
(`price_basis` says which); where the service had none anywhere, there is no price to use: 0,
`price_basis` "no history". A service whose tariff has ended is no longer financed per case: 0 and
`price_basis` "not financed".
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from engine.dates import add_months
from engine.demand._reprice import has_factors, repriced
from engine.demand._series import CASE_MONTH_TARGETS, CASE_MONTH_UNITS, TERRITORY_KEYS
from engine.errors import ConfigError, InputFileError
from engine.intervals import value_at

if TYPE_CHECKING:
    from engine.params import FundingModel

__all__ = ["money_column", "price_forecast"]

_MICRO = 1_000_000

_MONEY = {
    "case_months_need": ("state_uah", "unmet_state_uah"),
    "case_months_served": ("state_uah",),
    "case_months_waiting": ("unmet_state_uah",),
}
_PARTS = {
    "case_months_need": ("case_months_served", "case_months_waiting"),
    "case_months_served": ("case_months_served",),
    "case_months_waiting": ("case_months_waiting",),
}


def money_column(target: str) -> str:
    """The priced column of a case-month target: `case_months_need` → `need_uah`.

    >>> money_column("case_months_need"), money_column("case_months_served")
    ('need_uah', 'served_uah')
    """
    if target not in CASE_MONTH_TARGETS:
        known = ", ".join(CASE_MONTH_TARGETS)
        raise ConfigError(f"only case-months can be priced ({known}), not {target!r}")
    return target.removeprefix("case_months_") + "_uah"


def _tariff_on(tariff: pl.DataFrame, dates: pl.DataFrame, date_col: str) -> pl.DataFrame:
    """The tariff of each (service_code, date) row in force on that date (null if none)."""
    in_force = value_at(dates, tariff, ["service_code"], date=date_col)
    return dates.select("service_code", date_col).with_columns(
        in_force.cast(pl.Float64).alias("tariff")
    )


def _tariff_rates(
    history: pl.DataFrame, tariff: pl.DataFrame, keys: list[str], target: str, first: dt.date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Tariff units per case-month per node and per service over the base window (the rule
    without segments)."""
    base = history.filter(pl.col("month") >= first).with_columns(
        pl.sum_horizontal(_MONEY[target]).alias("_money"),
        pl.sum_horizontal(_PARTS[target]).alias("_cm"),
    )
    base_tariff = _tariff_on(tariff, base.select("service_code", "month").unique(), "month")
    base = base.join(base_tariff, on=["service_code", "month"], how="left")
    # tariff units in millionths and case-months in whole units (`CASE_MONTH_UNITS`): the sums
    # are exact integer sums, so the same history gives the same price whatever its row order
    base = base.filter(pl.col("tariff") > 0).with_columns(
        (pl.col("_money") / pl.col("tariff") * _MICRO).round().cast(pl.Int64).alias("_units"),
        (pl.col("_cm") * CASE_MONTH_UNITS).round().cast(pl.Int64).alias("_cm"),
    )
    rate = (pl.col("_units").sum() / _MICRO) / (pl.col("_cm").sum() / CASE_MONTH_UNITS)
    per_node = base.group_by(keys).agg(pl.when(pl.col("_cm").sum() > 0).then(rate).alias("_node"))
    per_service = base.group_by("service_code").agg(
        pl.when(pl.col("_cm").sum() > 0)  # 0/0 would be NaN: no case-months means no price
        .then(rate)
        .alias("_svc")
    )
    return per_node, per_service


def price_forecast(
    forecast: pl.DataFrame,
    history: pl.DataFrame,
    model: FundingModel,
    *,
    target: str = "case_months_need",
    base_months: int = 12,
    value_cols: tuple[str, ...] = ("mean", "lo_80", "hi_80", "lo_95", "hi_95"),
    segments: pl.DataFrame | pl.LazyFrame | None = None,
    territory_status: pl.DataFrame | None = None,
    recipients: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Forecast money per bottom node × month (see the module docstring).

    `forecast`: bottom-level rows with `ds`, `service_code`, the node's other key columns
    (`hromada_code`, ...) and case-month columns (`value_cols` present are priced into
    `need_uah`, `need_uah_lo_80`, ... for the need target); `history`: the output of
    `engine.demand.demand_series`. `segments`: the priced segments the history was made from
    (`Entitlements.segments`; ignored when they lack the entitlement factors); `territory_status`
    and `recipients`: the registry's tables of those names. Returns the key columns, `month`, the
    target's case-months (`case_months_need`, ...), `price_uah`, `price_basis` and the priced
    columns, ready to be the claims of an allocation (`engine.allocation.claims_from_forecast`,
    after `split_claims_by_need_level` where tiers use the need level).
    """
    money_out = money_column(target)
    if "mean" not in forecast.columns:
        raise InputFileError("forecast lacks the 'mean' column to price", column="mean")
    keys = [c for c in TERRITORY_KEYS if c in forecast.columns and c in history.columns]
    keys = [c for c in keys if forecast[c].null_count() == 0]
    if "service_code" not in keys:
        raise ConfigError("pricing a forecast needs service_code at its bottom level")
    tariff = model.table("tariff").select("service_code", "valid_from", "valid_to", "value")
    last = history.select(pl.col("month").max()).item()
    if last is None:
        raise InputFileError("no demand history to price the forecast from")
    first = add_months(last, 1 - base_months)
    present = [c for c in value_cols if c in forecast.columns]
    rows = forecast.select(*keys, pl.col("ds").alias("month"), *present)
    rows_tariff = _tariff_on(tariff, rows.select("service_code", "month").unique(), "month")
    rows = rows.join(rows_tariff, on=["service_code", "month"], how="left")
    seen = (
        history.filter(pl.col("month") >= first)
        .group_by(keys)
        .agg((pl.sum_horizontal(_PARTS[target]).sum() > 0).alias("_seen"))
    )
    if segments is not None and has_factors(segments):
        node, service = repriced(
            segments, model, keys=keys, months=rows["month"].unique().to_list(),
            base=(first, last), target=target, territory_status=territory_status,
            recipients=recipients,
        )  # fmt: skip
        rows = rows.join(node, on=[*keys, "month"], how="left").join(
            service, on=["service_code", "month"], how="left"
        )
    else:
        per_node, per_service = _tariff_rates(history, tariff, keys, target, first)
        rows = (
            rows.join(per_node, on=keys, how="left")
            .join(per_service, on="service_code", how="left")
            .with_columns(
                (pl.col("_node") * pl.col("tariff")).alias("_node_price"),
                (pl.col("_svc") * pl.col("tariff")).alias("_svc_price"),
            )
        )
    rows = (
        rows.join(seen, on=keys, how="left")
        .with_columns(pl.col("_seen").fill_null(False) & pl.col("_node_price").is_not_null())
        .with_columns(
            pl.when(pl.col("tariff").is_null() | (pl.col("tariff") <= 0))
            .then(pl.lit("not financed"))
            .when(pl.col("_seen"))
            .then(pl.lit("hromada" if "hromada_code" in keys else "node"))
            .when(pl.col("_svc_price").is_not_null())
            .then(pl.lit("service mean"))
            .otherwise(pl.lit("no history"))
            .alias("price_basis"),
        )
        .with_columns(
            pl.when(pl.col("price_basis").is_in(["hromada", "node"]))
            .then(pl.col("_node_price"))
            .when(pl.col("price_basis") == "service mean")
            .then(pl.col("_svc_price"))
            .otherwise(0.0)
            .alias("price_uah")
        )
    )
    priced = [
        (pl.col(c) * pl.col("price_uah")).alias(money_out if c == "mean" else f"{money_out}_{c}")
        for c in present
    ]
    return (
        rows.with_columns(*priced)
        .select(
            *keys,
            "month",
            pl.col("mean").alias(target),
            "price_uah",
            "price_basis",
            *[e.meta.output_name() for e in priced],
        )
        .sort(*keys, "month")
    )
