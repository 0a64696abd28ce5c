"""Build the output frames from the lean priced core: keys, dates and factors gathered by index.

Nothing here prices anything: every amount comes from `price_core`; this module turns integer
indexes back into codes and derives what the core leaves implicit (segment dates, units, copay and
state per segment, the case-month of each row, parts for rollups).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from engine.entitlements._block import round_kopiyka
from engine.entitlements._core import PricedCore
from engine.rollups import PART_COLUMNS, CodeBook
from engine.segments import IndexedRegistry

__all__ = [
    "CASE_MONTH_COLUMNS",
    "SEGMENT_COLUMNS",
    "case_month_keys",
    "case_months_frame",
    "code_book",
    "parts_frame",
    "per_case",
    "place",
    "registered_index",
    "segment_keys",
    "segments_frame",
    "territory_lists",
]

SEGMENT_COLUMNS = (
    "case_id", "recipient_id", "service_code", "service_group", "unit", "need_level", "month",
    "segment_from", "segment_to", "days", "days_in_month", "hromada_code", "raion_code",
    "oblast_code", "registered_hromada", "registered_oblast_code", "provider_id", "ownership",
    "disability_group", "age", "is_idp", "units", "tariff", "coef", "modifier", "cap_factor",
    "gross_uah", "copay_share", "copay_uah", "state_uah", "funded", "model_version",
)  # fmt: skip
CASE_MONTH_COLUMNS = (
    "case_id", "month", "funded", "gross_uah", "copay_uah", "state_uah", "case_months", "days",
    "recipient_id", "service_code", "service_group", "unit", "need_level", "disability_group", "age",
    "is_idp", "hromada_code", "raion_code", "oblast_code", "registered_hromada",
    "registered_oblast_code", "provider_id", "ownership",
)  # fmt: skip
_EPOCH = dt.date(1970, 1, 1)


def territory_lists(
    reg: IndexedRegistry, territories: pl.DataFrame | None
) -> tuple[list[str | None], list[str | None]]:
    """Raion and oblast code of each hromada index (None when not in the territories table)."""
    if territories is None:
        none: list[str | None] = [None] * len(reg.hromada_codes)
        return none, list(none)
    looked = pl.DataFrame({"hromada_code": reg.hromada_codes}).join(
        territories.select("hromada_code", "raion_code", "oblast_code").unique("hromada_code"),
        on="hromada_code",
        how="left",
        maintain_order="left",
    )
    return looked["raion_code"].to_list(), looked["oblast_code"].to_list()


def registered_index(reg: IndexedRegistry) -> np.ndarray:
    """Index (into `reg.hromada_codes`) of each case's registered hromada, -1 when unknown."""
    registered = reg.cases["registered_hromada"].cast(pl.Enum(reg.hromada_codes), strict=False)
    return registered.to_physical().cast(pl.Int32).fill_null(-1).to_numpy()


def per_case(reg: IndexedRegistry, oblast: list[str | None]) -> pl.DataFrame:
    """The attributes every output row of a case repeats, one row per case index."""
    registered = registered_index(reg)
    index = pl.select(pl.when(pl.lit(registered) >= 0).then(pl.lit(registered))).to_series()
    return pl.DataFrame(
        {
            "case_id": reg.cases["case_id"],
            "recipient_id": reg.cases["recipient_id"],
            "service_code": reg.cases["service_code"],
            "service_group": pl.Series(reg.service_groups, dtype=pl.String).gather(reg.service),
            "unit": pl.Series(reg.service_units, dtype=pl.String).gather(reg.service),
            "need_level": reg.cases["need_level"].cast(pl.Int64),
            "registered_hromada": pl.Series(reg.hromada_codes, dtype=pl.String).gather(index),
            "registered_oblast_code": pl.Series(oblast, dtype=pl.String).gather(index),
            "disability_group": reg.cases["disability_group"],
            "is_idp": reg.cases["is_idp"],
            "birth_date": reg.cases["birth_date"],
        }
    )


def _age() -> pl.Expr:
    """Completed years on the month's first day."""
    month, birth = pl.col("month"), pl.col("birth_date")
    before_birthday = (month.dt.month() < birth.dt.month()) | (
        (month.dt.month() == birth.dt.month()) & (birth.dt.day() > 1)
    )
    return (
        month.dt.year().cast(pl.Int32)
        - birth.dt.year().cast(pl.Int32)
        - before_birthday.cast(pl.Int32)
    ).alias("age")


def _nullable_index(values: np.ndarray) -> pl.Series:
    series = pl.Series(values.astype(np.int64))
    return pl.select(pl.when(series >= 0).then(series)).to_series()


def place(
    hromada: np.ndarray,
    provider: np.ndarray,
    reg: IndexedRegistry,
    raion: list[str | None],
    oblast: list[str | None],
) -> pl.DataFrame:
    h = pl.Series(hromada.astype(np.int64))
    p = _nullable_index(provider)
    return pl.DataFrame(
        {
            "hromada_code": pl.Series(reg.hromada_codes, dtype=pl.String).gather(h),
            "raion_code": pl.Series(raion, dtype=pl.String).gather(h),
            "oblast_code": pl.Series(oblast, dtype=pl.String).gather(h),
            "provider_id": pl.Series(reg.provider_ids, dtype=pl.String).gather(p),
            "ownership": pl.Series(reg.provider_ownership, dtype=pl.String).gather(p),
        }
    )


def _month_dates(core: PricedCore, month: np.ndarray) -> pl.Series:
    starts = np.array([(m - _EPOCH).days for m in core.months], dtype=np.int32)
    return pl.Series("month", starts[month]).cast(pl.Date)


def segment_keys(core: PricedCore) -> dict[str, np.ndarray]:
    """Keys, dates and looked-up factors of every segment, from its sub-piece and calendar entry."""
    s, subs, cal = core.segments, core.subs, core.calendar
    index = core.segment_index()
    sub, entry = index["sub"], index["entry"]
    # a segment starts on its calendar entry's date, or on its sub-piece's first day
    start = np.maximum(cal.date[entry], subs["start"][sub])
    end = np.empty_like(start)
    end[:-1] = start[1:] - 1
    last_of_sub = np.ones(len(sub), dtype=bool)
    last_of_sub[:-1] = sub[1:] != sub[:-1]
    end[last_of_sub] = subs["end"][sub[last_of_sub]]
    piece = subs["piece"][sub]
    case = subs["case"][sub]
    rows = core.rows
    if rows is None:
        units = core.units_norm[entry]
        assessed = subs["assessed"][sub]
        known = ~np.isnan(assessed)
        units[known] = np.minimum(assessed[known], cal.max_units[entry[known]])
    else:
        units = rows["units"]
    if core.shares.shape[1] == 1:
        share = core.shares[:, 0][case]
    else:
        share = core.shares[case, cal.regime[entry]]
    copay = s["gross_uah"] * share
    cap_factor = np.ones(len(sub))
    cap_factor[core.capped[0]] = core.capped[1]
    return {
        "case_month": index["case_month"],
        "cap_factor": cap_factor,
        "case": case,
        "month": cal.month[entry],
        "segment_from": start,
        "segment_to": end,
        "days": end - start + 1,
        "days_in_month": cal.days_in_month[entry],
        "hromada": core.pieces.hromada[piece],
        "provider": core.pieces.provider[piece],
        "funded": subs["funded"][sub],
        "coef": subs["coef"][sub],
        "units": units,
        "copay_share": share,
        "copay_uah": copay,
        "state_uah": s["gross_uah"] - copay,
        "tariff": cal.tariff[entry] if rows is None else rows["tariff"],
        "modifier": cal.modifier[entry] if rows is None else rows["modifier"],
    }


def case_month_keys(core: PricedCore) -> dict[str, np.ndarray]:
    """Case, month and funding flag of every case-month, from its last segment."""
    last = core.case_months["last"]
    ends = np.cumsum(core.count)
    sub = np.searchsorted(ends, last, side="right")  # the sub-piece holding the last segment
    entry = core.entry0[sub] + (last - (ends[sub] - core.count[sub]))
    return {
        "case": core.subs["case"][sub],
        "month": core.calendar.month[entry],
        "funded": core.subs["funded"][sub],
    }


def segments_frame(
    core: PricedCore,
    keys: dict[str, np.ndarray],
    per_case: pl.DataFrame,
    place: pl.DataFrame,
    version: str,
) -> pl.DataFrame:
    s = core.segments
    attributes = per_case.select(pl.all().gather(pl.Series(keys["case"].astype(np.int64))))
    numbers = pl.DataFrame(
        {
            "month": _month_dates(core, keys["month"]),
            "segment_from": pl.Series(keys["segment_from"]).cast(pl.Date),
            "segment_to": pl.Series(keys["segment_to"]).cast(pl.Date),
            "days": keys["days"],
            "days_in_month": keys["days_in_month"],
            "units": pl.Series(keys["units"]).fill_nan(None),
            "tariff": pl.Series(keys["tariff"]).fill_nan(None),
            "coef": keys["coef"],
            "modifier": pl.Series(keys["modifier"]).fill_nan(None),
            "cap_factor": keys["cap_factor"],
            "gross_uah": s["gross_uah"],
            "copay_share": keys["copay_share"],
            "copay_uah": keys["copay_uah"],
            "state_uah": keys["state_uah"],
            "funded": keys["funded"],
        }
    )
    return (
        pl.concat([attributes, place, numbers], how="horizontal")
        .with_columns(_age(), model_version=pl.lit(version))
        .select(SEGMENT_COLUMNS)
    )


def _case_month_order(keys: dict[str, np.ndarray]) -> np.ndarray:
    """Order of case-months by (case, month, funded) without sorting strings.

    Case-months come out of the core by case (cases are numbered in case_id order) and month; only
    a waiting and a served row of the same case-month may be the wrong way round.
    """
    case, month, funded = keys["case"], keys["month"], keys["funded"]
    order = np.arange(len(case))
    swap = np.flatnonzero(
        (case[1:] == case[:-1]) & (month[1:] == month[:-1]) & funded[:-1] & ~funded[1:]
    )
    order[swap], order[swap + 1] = swap + 1, swap
    return order


def case_months_frame(
    core: PricedCore, per_case_frame: pl.DataFrame, place_frame: pl.DataFrame
) -> pl.DataFrame:
    """One row per (case, month, funded): rounded totals and the case's attributes that month."""
    cm, keys = core.case_months, case_month_keys(core)
    order = _case_month_order(keys)
    keys = {name: values[order] for name, values in keys.items()}
    last = pl.Series(cm["last"][order].astype(np.int64))
    attributes = per_case_frame.select(pl.all().gather(pl.Series(keys["case"].astype(np.int64))))
    days_in_month = np.array(
        [((m + dt.timedelta(days=32)).replace(day=1) - m).days for m in core.months], dtype=np.int32
    )
    gross, copay, days = cm["gross_uah"][order], cm["copay_uah"][order], cm["days"][order]
    numbers = pl.DataFrame(
        {
            "month": _month_dates(core, keys["month"]),
            "funded": keys["funded"],
            "gross_uah": gross,
            "copay_uah": copay,
            "state_uah": gross - copay,
            "case_months": days / days_in_month[keys["month"]],
            "days": days.astype(np.int64),
        }
    )
    return (
        pl.concat(
            [attributes, place_frame.select(pl.all().gather(last)), numbers], how="horizontal"
        )
        .with_columns(_age())
        .select(CASE_MONTH_COLUMNS)
    )


def code_book(
    core: PricedCore,
    reg: IndexedRegistry,
    raion: list[str | None],
    oblast: list[str | None],
) -> CodeBook:
    return CodeBook(
        months=core.months,
        hromada_codes=reg.hromada_codes,
        raion_of_hromada=raion,
        oblast_of_hromada=oblast,
        service_codes=reg.service_codes,
        ownership_of_provider=reg.provider_ownership,
    )


def parts_frame(
    core: PricedCore, keys: dict[str, np.ndarray], reg: IndexedRegistry
) -> pl.DataFrame:
    """Money of each case-month by serving hromada and provider, rounded to add up exactly.

    A part is a run of consecutive segments of one case-month with the same hromada and provider
    (a case that moves away and back within a month has two parts in the first hromada; rollups add
    them up). Each part is rounded; the case-month's last part absorbs the remainder so parts sum to
    the rounded case-month totals.
    """
    case_month, hromada, provider = keys["case_month"], keys["hromada"], keys["provider"]
    n = len(case_month)
    change = np.ones(n, dtype=bool)
    if n:
        change[1:] = (
            (case_month[1:] != case_month[:-1])
            | (hromada[1:] != hromada[:-1])
            | (provider[1:] != provider[:-1])
        )
    start = np.flatnonzero(change)

    def total(values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, start) if n else np.zeros(0, dtype=values.dtype)

    owner = case_month[start]
    n_case_months = len(core.case_months["gross_uah"])
    part_of_segment = np.cumsum(change) - 1
    last_part = part_of_segment[core.case_months["last"]]  # the part holding its last segment
    money = {}
    for name in ("gross_uah", "copay_uah"):
        values = core.segments["gross_uah"] if name == "gross_uah" else keys["copay_uah"]
        rounded = round_kopiyka(total(values))
        remainder = core.case_months[name] - np.bincount(
            owner, weights=rounded, minlength=n_case_months
        )
        rounded[last_part] += remainder
        money[name] = np.round(rounded, 2)
    registered = registered_index(reg)
    case = keys["case"][start]
    return pl.DataFrame(
        {
            "month": keys["month"][start],
            "funded": keys["funded"][start],
            "hromada": hromada[start],
            "provider": provider[start],
            "service": reg.service[case],
            "registered": registered[case],
            "case_months": total(keys["days"] / keys["days_in_month"]),
            "days": total(keys["days"].astype(np.int64)),
            "gross_uah": money["gross_uah"],
            "copay_uah": money["copay_uah"],
            "state_uah": np.round(money["gross_uah"] - money["copay_uah"], 2),
        }
    ).select(PART_COLUMNS)
