"""Entitlements: what each case is owed for each month, factor by factor (DESIGN.md §5).

>>> from engine.entitlements import compute_entitlements
>>> ent = compute_entitlements(registry, model, territories, months=("2024-01", "2024-12"))  # doctest: +SKIP
>>> ent.case_months.group_by("funded").agg(pl.col("state_uah").sum())  # doctest: +SKIP

`segments` has one row per constant-rule segment with every factor as a column; `case_months` the
rounded totals per `(case_id, month, funded)`; `rollups` month × level × territory × service ×
ownership × funded; `flows` registered → serving territory.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.entitlements._core import PricedCore, price_core, round_kopiyka
from engine.params import FundingModel
from engine.rollups import flows, money_parts, rollups
from engine.schemas import Registry
from engine.segments import IndexedRegistry, index_registry, month_range

__all__ = [
    "CASE_MONTH_COLUMNS",
    "SEGMENT_COLUMNS",
    "Entitlements",
    "PricedCore",
    "case_month_keys",
    "compute_entitlements",
    "price_core",
    "resolve_months",
    "round_kopiyka",
    "segment_keys",
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


@dataclass(frozen=True, eq=False)
class Entitlements:
    """Priced segments, case-month totals, rollups and flows of one registry under one model."""

    segments: pl.DataFrame
    case_months: pl.DataFrame
    rollups: pl.DataFrame
    flows: pl.DataFrame
    model_version: str
    model_hash: str
    months: tuple[dt.date, dt.date]

    def totals(self) -> dict[str, float]:
        """Headline totals from the rounded case-month amounts."""
        cm = self.case_months
        funded, unfunded = cm.filter(pl.col("funded")), cm.filter(~pl.col("funded"))
        return {
            "gross_uah": round(float(funded["gross_uah"].sum()), 2),
            "copay_uah": round(float(funded["copay_uah"].sum()), 2),
            "state_uah": round(float(funded["state_uah"].sum()), 2),
            "unmet_gross_uah": round(float(unfunded["gross_uah"].sum()), 2),
            "case_months": float(funded["case_months"].sum()),
            "waiting_case_months": float(unfunded["case_months"].sum()),
        }


def resolve_months(
    months: tuple[str | dt.date, str | dt.date] | None, registry: Registry
) -> list[dt.date]:
    """The months to produce: as given, or from the earliest case start to the extract date."""
    if months is not None:
        return month_range(*months)
    starts = registry.cases["start_date"].drop_nulls()
    first = starts.min() if len(starts) else registry.extract_date
    return month_range(first, registry.extract_date)  # type: ignore[arg-type]


def _territory_lists(
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


def _per_case(reg: IndexedRegistry, oblast: list[str | None]) -> pl.DataFrame:
    codes = pl.Series(reg.hromada_codes, dtype=pl.String)
    registered = reg.cases["registered_hromada"].cast(pl.Enum(reg.hromada_codes), strict=False)
    registered_idx = registered.to_physical().cast(pl.Int64)
    return pl.DataFrame(
        {
            "case_id": reg.cases["case_id"],
            "recipient_id": reg.cases["recipient_id"],
            "service_code": reg.cases["service_code"],
            "service_group": pl.Series(reg.service_groups, dtype=pl.String).gather(reg.service),
            "unit": pl.Series(reg.service_units, dtype=pl.String).gather(reg.service),
            "need_level": reg.cases["need_level"].cast(pl.Int64),
            "registered_hromada": codes.gather(registered_idx),
            "registered_oblast_code": pl.Series(oblast, dtype=pl.String).gather(registered_idx),
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


def _place(
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
    sub, entry = s["sub"], s["entry"]
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
    return {
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
    sub = core.segments["sub"][last]
    return {
        "case": core.subs["case"][sub],
        "month": core.calendar.month[core.segments["entry"][last]],
        "funded": core.subs["funded"][sub],
    }


def _segments_frame(
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
            "cap_factor": s["cap_factor"],
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


def _case_months_frame(
    core: PricedCore, per_case: pl.DataFrame, place: pl.DataFrame
) -> pl.DataFrame:
    cm, keys = core.case_months, case_month_keys(core)
    last = pl.Series(cm["last"].astype(np.int64))
    attributes = per_case.select(pl.all().gather(pl.Series(keys["case"].astype(np.int64))))
    days_in_month = np.array(
        [((m + dt.timedelta(days=32)).replace(day=1) - m).days for m in core.months], dtype=np.int32
    )
    numbers = pl.DataFrame(
        {
            "month": _month_dates(core, keys["month"]),
            "funded": keys["funded"],
            "gross_uah": cm["gross_uah"],
            "copay_uah": cm["copay_uah"],
            "state_uah": cm["gross_uah"] - cm["copay_uah"],
            "case_months": cm["days"] / days_in_month[keys["month"]],
            "days": cm["days"].astype(np.int64),
        }
    )
    return (
        pl.concat([attributes, place.select(pl.all().gather(last)), numbers], how="horizontal")
        .with_columns(_age())
        .select(CASE_MONTH_COLUMNS)
        .sort("case_id", "month", "funded")
    )


def _parts_frame(
    core: PricedCore,
    keys: dict[str, np.ndarray],
    *,
    reg: IndexedRegistry,
    per_case: pl.DataFrame,
    raion: list[str | None],
    oblast: list[str | None],
) -> pl.DataFrame:
    s, cm = core.segments, core.case_months
    lean = pl.DataFrame(
        {
            **{k: keys[k] for k in ("case", "month", "funded", "hromada", "provider")},
            "gross_uah": s["gross_uah"],
            **{k: keys[k] for k in ("copay_uah", "days", "days_in_month")},
            "segment": np.arange(len(s["sub"]), dtype=np.int64),
        }
    )
    totals = pl.DataFrame(
        {**case_month_keys(core), "gross_uah": cm["gross_uah"], "copay_uah": cm["copay_uah"]}
    )
    parts = money_parts(lean, totals)
    case_idx = pl.Series(parts["case"].cast(pl.Int64))
    attributes = per_case.select(
        pl.col("service_code", "registered_hromada", "registered_oblast_code").gather(case_idx)
    )
    place = _place(parts["hromada"].to_numpy(), parts["provider"].to_numpy(), reg, raion, oblast)
    return pl.concat(
        [
            parts.select(month=_month_dates(core, parts["month"].to_numpy()), funded="funded"),
            attributes,
            place,
            parts.select("case_months", "days", "gross_uah", "copay_uah", "state_uah"),
        ],
        how="horizontal",
    )


def compute_entitlements(
    registry: Registry,
    model: FundingModel,
    territories: pl.DataFrame | None = None,
    months: tuple[str | dt.date, str | dt.date] | None = None,
) -> Entitlements:
    """Segment and price every case of `registry` under `model` for `months` (inclusive).

    `months` is `(first, last)` as "YYYY-MM" or dates; default: the earliest case start to the
    extract date. `territories` (KATOTTG, see `engine.reference.load_territories`) gives each
    serving hromada its raion and oblast; without it those columns are null.
    """
    month_list = resolve_months(months, registry)
    reg = index_registry(registry, territories)
    raion, oblast = _territory_lists(reg, territories)
    core = price_core(reg, model, month_list, hromada_oblast=oblast)
    per_case = _per_case(reg, oblast)
    keys = segment_keys(core)
    segment_place = _place(keys["hromada"], keys["provider"], reg, raion, oblast)
    parts = _parts_frame(core, keys, reg=reg, per_case=per_case, raion=raion, oblast=oblast)
    return Entitlements(
        segments=_segments_frame(core, keys, per_case, segment_place, model.version),
        case_months=_case_months_frame(core, per_case, segment_place),
        rollups=rollups(parts),
        flows=flows(parts),
        model_version=model.version,
        model_hash=model.content_hash,
        months=(month_list[0], month_list[-1]),
    )
