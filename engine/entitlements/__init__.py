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

import polars as pl

from engine.entitlements._block import round_kopiyka
from engine.entitlements._core import PricedCore, price_core
from engine.entitlements._frames import (
    CASE_MONTH_COLUMNS,
    SEGMENT_COLUMNS,
    case_month_keys,
    case_months_frame,
    code_book,
    parts_frame,
    per_case,
    place,
    segment_keys,
    segments_frame,
    territory_lists,
)
from engine.params import FundingModel
from engine.rollups import flows, rollups
from engine.schemas import Registry
from engine.segments import index_registry, month_range

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
    raion, oblast = territory_lists(reg, territories)
    core = price_core(reg, model, month_list, hromada_oblast=oblast)
    attributes = per_case(reg, oblast)
    keys = segment_keys(core)
    segment_place = place(keys["hromada"], keys["provider"], reg, raion, oblast)
    parts = parts_frame(core, keys, reg)
    book = code_book(core, reg, raion, oblast)
    return Entitlements(
        segments=segments_frame(core, keys, attributes, segment_place, model.version),
        case_months=case_months_frame(core, attributes, segment_place),
        rollups=rollups(parts, book),
        flows=flows(parts, book),
        model_version=model.version,
        model_hash=model.content_hash,
        months=(month_list[0], month_list[-1]),
    )
