"""Resolve a funding model into the small calendars the segmenter looks values up in.

All work here scales with the number of parameter values, service/need/disability combinations and
hromadas with a territory status, never with the number of cases. Dates are int32 days since the
epoch in the arrays handed to `engine.segments`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.dates import EPOCH, add_months, epoch_days
from engine.intervals import value_at
from engine.params._model import FundingModel
from engine.schemas import TERRITORY_STATUSES

__all__ = [
    "STATUS_BITS",
    "CoefTimeline",
    "CopayRegimes",
    "RateCalendar",
    "coef_timeline",
    "copay_regimes",
    "copay_shares",
    "monthly_caps",
    "rate_calendar",
]

STATUS_BITS: dict[str, int] = {status: 1 << i for i, status in enumerate(TERRITORY_STATUSES)}
_RATE_PARAMETERS = ("tariff", "norm_units", "max_units", "modifier")


def _change_dates(table: pl.DataFrame) -> pl.DataFrame:
    """Every date a value of the table starts or stops (its dimension columns kept)."""
    dims = [c for c in table.columns if c not in ("valid_from", "valid_to", "value")]
    starts = table.select([*dims, pl.col("valid_from").alias("date")])
    ends = table.filter(pl.col("valid_to").is_not_null()).select(
        [*dims, (pl.col("valid_to") + dt.timedelta(days=1)).alias("date")]
    )
    return pl.concat([starts, ends])


@dataclass(frozen=True, eq=False)
class CopayRegimes:
    """Co-payment rules between global change dates: regime r runs from `starts[r]`."""

    starts: np.ndarray  # int32 days, sorted, first = period start
    lowers: list[np.ndarray]  # band lower bounds per regime, sorted
    shares: list[np.ndarray]  # share per band
    unknown: np.ndarray  # share when income is unknown, per regime


def copay_regimes(model: FundingModel, period_start: dt.date, period_end: dt.date) -> CopayRegimes:
    bands, unknown = model.table("copay_bands"), model.table("unknown_income_band")
    dates = pl.concat([_change_dates(bands).select("date"), _change_dates(unknown).select("date")])
    inside = sorted(d for d in dates["date"].unique().to_list() if period_start < d <= period_end)
    starts = [period_start, *inside]
    frame = pl.DataFrame({"date": starts})
    unknown_share = value_at(frame, unknown, [], default=0.0).to_numpy()
    lowers, shares = [], []
    for start in starts:  # one pass per rule change, not per recipient
        active = bands.filter(
            (pl.col("valid_from") <= start)
            & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= start))
        ).sort("income_ratio_from")
        lowers.append(active["income_ratio_from"].to_numpy())
        shares.append(active["value"].to_numpy())
    return CopayRegimes(
        starts=np.array([epoch_days(d) for d in starts], dtype=np.int32),
        lowers=lowers,
        shares=shares,
        unknown=unknown_share,
    )


def copay_shares(regimes: CopayRegimes, income: np.ndarray) -> np.ndarray:
    """Co-payment share per (recipient, regime): bands include their lower bound, exclude the upper."""
    out = np.empty((len(income), len(regimes.starts)), dtype=np.float64)
    known = ~np.isnan(income)
    for r, (lowers, shares) in enumerate(zip(regimes.lowers, regimes.shares, strict=True)):
        band = np.searchsorted(lowers, income, side="right") - 1
        share = np.where(band >= 0, shares[np.clip(band, 0, None)], 0.0) if len(lowers) else 0.0
        out[:, r] = np.where(known, share, regimes.unknown[r])
    return out


@dataclass(frozen=True, eq=False)
class RateCalendar:
    """Per combination of (service, need level, disability group): the dates its rules change,
    sorted by (key, date), and the values in force from each date (NaN = not in force)."""

    key: np.ndarray
    date: np.ndarray
    month: np.ndarray  # index into the period's months
    month_start: np.ndarray  # bool: the entry's date is the first day of its month
    days_in_month: np.ndarray
    tariff: np.ndarray
    norm_units: np.ndarray
    max_units: np.ndarray
    modifier: np.ndarray
    regime: np.ndarray  # copay regime index


def rate_calendar(
    model: FundingModel, combos: pl.DataFrame, months: list[dt.date], regimes: CopayRegimes
) -> RateCalendar:
    """Build the rate calendar of every combination in `combos`.

    `combos` has `combo` (0..n-1) and `service_code, need_level, disability_group, service_group`.
    """
    period_start = months[0]
    period_end = add_months(months[-1], 1) - dt.timedelta(days=1)
    parts = [combos.select("combo").join(pl.DataFrame({"date": months}), how="cross")]
    for name in _RATE_PARAMETERS:
        changes = _change_dates(model.table(name))
        dims = [c for c in changes.columns if c != "date"]
        parts.append(combos.join(changes, on=dims, how="inner").select("combo", "date"))
    global_dates = pl.DataFrame(
        {"date": [EPOCH + dt.timedelta(days=int(d)) for d in regimes.starts]}
    )
    parts.append(combos.select("combo").join(global_dates, how="cross"))
    adjustments = model.adjustments
    for row in adjustments.iter_rows(named=True):  # a scenario's few territorial changes
        match = combos
        for dim in ("service_code", "need_level", "disability_group", "service_group"):
            if row[dim] is not None:
                match = match.filter(pl.col(dim) == row[dim])
        dates = [row["valid_from"]]
        if row["valid_to"] is not None:
            dates.append(row["valid_to"] + dt.timedelta(days=1))
        parts.append(match.select("combo").join(pl.DataFrame({"date": dates}), how="cross"))
    calendar = (
        pl.concat(
            [p.select(pl.col("combo").cast(pl.Int64), pl.col("date").cast(pl.Date)) for p in parts]
        )
        .filter(pl.col("date").is_between(period_start, period_end))
        .unique()
        .sort("combo", "date")
        .join(combos, on="combo", how="left", maintain_order="left")
    )
    month_starts = np.array([epoch_days(m) for m in months], dtype=np.int32)
    day = calendar["date"].cast(pl.Int32).to_numpy()
    month = (np.searchsorted(month_starts, day, side="right") - 1).astype(np.int32)
    next_starts = np.array([epoch_days(add_months(m, 1)) for m in months], dtype=np.int32)
    values = {
        name: value_at(
            calendar,
            model.table(name),
            list(model.parameter(name).dimensions),
            default=model.default(name),
        )
        .fill_null(np.nan)
        .to_numpy()
        for name in _RATE_PARAMETERS
    }
    return RateCalendar(
        key=calendar["combo"].to_numpy(),
        date=day,
        month=month,
        month_start=day == month_starts[month],
        days_in_month=(next_starts - month_starts)[month],
        tariff=values["tariff"],
        norm_units=values["norm_units"],
        max_units=values["max_units"],
        modifier=values["modifier"],
        regime=(np.searchsorted(regimes.starts, day, side="right") - 1).astype(np.int32),
    )


@dataclass(frozen=True, eq=False)
class CoefTimeline:
    """Per hromada key: dates where its capped territory coefficient or its set of statuses
    changes, sorted by (key, date). Hromadas without any status share the last key."""

    key: np.ndarray
    date: np.ndarray
    coef: np.ndarray
    mask: np.ndarray  # bit set of active statuses (STATUS_BITS)
    hromada_key: np.ndarray  # hromada index → key


def coef_timeline(
    model: FundingModel,
    status: pl.DataFrame,
    n_hromadas: int,
    period_start: dt.date,
    period_end: dt.date,
) -> CoefTimeline:
    """Precompute, once, the elementary intervals of constant (capped) coefficient per hromada.

    `status` has `hromada` (index), `status`, `valid_from`, `valid_to` (null = open).
    """
    coef_table, cap_table = model.table("territory_coef"), model.table("territory_coef_cap")
    coef_default = model.default("territory_coef")
    status = status.filter(
        (pl.col("hromada") >= 0)
        & (pl.col("valid_from") <= period_end)
        & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= period_start))
    )
    hromadas = status["hromada"].unique().sort()
    default_key = len(hromadas)
    keyed = status.join(
        pl.DataFrame({"hromada": hromadas, "key": pl.int_range(len(hromadas), eager=True)}),
        on="hromada",
    )
    cap_dates = _change_dates(cap_table).select("date")
    status_dates = pl.concat(
        [
            keyed.select("key", date="valid_from"),
            keyed.filter(pl.col("valid_to").is_not_null()).select(
                "key", date=pl.col("valid_to") + dt.timedelta(days=1)
            ),
            keyed.select("key", "status")
            .unique()
            .join(_change_dates(coef_table), on="status")
            .select("key", "date"),
        ]
    )
    all_keys = pl.DataFrame({"key": pl.int_range(default_key + 1, eager=True)})
    cuts = (
        pl.concat(
            [
                status_dates.with_columns(pl.col("key").cast(pl.Int64)),
                all_keys.join(
                    pl.concat([cap_dates, pl.DataFrame({"date": [period_start]})]), how="cross"
                ),
            ]
        )
        .filter(pl.col("date").is_between(period_start, period_end))
        .unique()
        .sort("key", "date")
    )
    active = (
        cuts.join(keyed.with_columns(pl.col("key").cast(pl.Int64)), on="key", how="inner")
        .filter(
            (pl.col("valid_from") <= pl.col("date"))
            & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= pl.col("date")))
        )
        .unique(["key", "date", "status"])
    )
    active = active.with_columns(
        coef=value_at(active, coef_table, ["status"], default=coef_default).fill_null(1.0),
        bit=pl.col("status").replace_strict(STATUS_BITS, return_dtype=pl.Int32),
    )
    product = active.group_by("key", "date").agg(
        pl.col("coef").product().alias("product"), pl.col("bit").sum().alias("mask")
    )
    timeline = cuts.join(product, on=["key", "date"], how="left").with_columns(
        pl.col("product").fill_null(1.0), pl.col("mask").fill_null(0)
    )
    cap = value_at(timeline, cap_table, [])
    timeline = timeline.with_columns(
        coef=pl.when(cap.is_null())
        .then(pl.col("product"))
        .otherwise(pl.min_horizontal("product", cap))
    ).sort("key", "date")
    # keep only dates where the coefficient or the set of statuses actually changes
    changed = (
        (pl.col("key") != pl.col("key").shift(1))
        | (pl.col("coef") != pl.col("coef").shift(1))
        | (pl.col("mask") != pl.col("mask").shift(1))
    ).fill_null(True)
    timeline = timeline.filter(changed)
    hromada_key = np.full(n_hromadas, default_key, dtype=np.int32)
    hromada_key[hromadas.to_numpy()] = np.arange(len(hromadas), dtype=np.int32)
    return CoefTimeline(
        key=timeline["key"].to_numpy(),
        date=timeline["date"].cast(pl.Int32).to_numpy(),
        coef=timeline["coef"].to_numpy(),
        mask=timeline["mask"].cast(pl.Int32).to_numpy(),
        hromada_key=hromada_key,
    )


def monthly_caps(
    model: FundingModel, service_codes: list[str], months: list[dt.date]
) -> np.ndarray:
    """The monthly cap per (service, month), read on the month's first day; NaN = no cap."""
    grid = pl.DataFrame({"service_code": service_codes}).join(
        pl.DataFrame({"date": months}), how="cross"
    )
    caps = value_at(
        grid, model.table("monthly_cap"), ["service_code"], default=model.default("monthly_cap")
    )
    return caps.fill_null(np.nan).to_numpy().reshape(len(service_codes), len(months))
