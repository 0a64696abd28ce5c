"""Entitlements: what each case is owed for each month, factor by factor (DESIGN.md §5).

>>> from engine.entitlements import compute_entitlements
>>> ent = compute_entitlements(registry, model, territories, months=("2024-01", "2024-12"))  # doctest: +SKIP
>>> ent.case_months.group_by("funded").agg(pl.col("state_uah").sum())  # doctest: +SKIP

`segments` has one row per constant-rule segment with every factor as a column; `case_months` the
rounded totals per `(case_id, month, funded)`; `rollups` month × level × territory × service ×
ownership × funded; `flows` registered → serving territory. Dimensions are `pl.Enum`, money exact
(Decimal(18, 2); a segment's unrounded parts Decimal(18, 4)): see `engine.columns`.

How it scales (10 M segments): the core prices on integer-indexed numpy arrays and, block by block,
writes every numeric output column in its final dtype plus the integer keys of the string columns
(`_wide`); string columns are gathered from small dictionaries of distinct values (`_frames`);
rollups and flows are dense sums over rounded parts (`engine.rollups`). No frame is joined on a
string key, and intermediate arrays are freed before the next frame grows. The two wide frames'
string columns (16 bytes a row each) are most of the peak memory.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from engine.contracts import check_case_months, check_segments
from engine.dates import month_range, resolve_months
from engine.entitlements._block import round_kopiyka
from engine.entitlements._core import PricedCore, price_core
from engine.entitlements._dated import dated_frames, idp_burden
from engine.entitlements._frames import (
    CASE_MONTH_COLUMNS,
    SEGMENT_COLUMNS,
    case_months_frame,
    code_book,
    dictionaries,
    dimensions,
    distinct_cases,
    parts,
    segments_frame,
    territory_lists,
)
from engine.params import FundingModel
from engine.rollups import flows, rollups
from engine.schemas import Registry
from engine.segments import index_registry

__all__ = [
    "CASE_MONTH_COLUMNS",
    "SEGMENT_COLUMNS",
    "Entitlements",
    "PricedCore",
    "compute_entitlements",
    "price_core",
    "round_kopiyka",
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
    n_segments: int = -1  # segments priced (also when the frame was not asked for); -1: unknown
    # IDP host burden (`engine.rollups.idp_host_burden`), from dated circumstances; None: none
    idp_burden: pl.DataFrame | None = None
    n_cases: int = -1  # distinct cases with case-months; -1: counted from the frame

    def __post_init__(self) -> None:
        if self.n_segments < 0:
            object.__setattr__(self, "n_segments", self.segments.height)
        if self.n_cases < 0:
            object.__setattr__(self, "n_cases", self.case_months["case_id"].n_unique())

    def totals(self) -> dict[str, float]:
        """Headline totals from the rounded case-month amounts (exact sums, shown as floats)."""
        t = self.totals_by_funding()
        served, waiting = t["served"], t["waiting"]
        return {
            "gross_uah": float(served["gross_uah"]),
            "copay_uah": float(served["copay_uah"]),
            "state_uah": float(served["state_uah"]),
            "unmet_gross_uah": float(waiting["gross_uah"]),
            "case_months": float(served["case_months"]),
            "waiting_case_months": float(waiting["case_months"]),
        }

    def totals_by_funding(self) -> dict[str, dict[str, Any]]:
        """Sums of the case-months, served (funded) and waiting, in one pass over the frame:
        per part `rows`, `case_months`, and the exact `gross_uah`, `copay_uah`, `state_uah`."""
        funded = pl.col("funded")
        sums = [
            *(
                pl.col(c).filter(funded == side).sum().alias(f"{name}:{c}")
                for name, side in (("served", True), ("waiting", False))
                for c in ("case_months", "gross_uah", "copay_uah", "state_uah")
            ),
            funded.sum().alias("served:rows"),
            (~funded).sum().alias("waiting:rows"),
        ]
        row = self.case_months.select(sums).row(0, named=True)
        out: dict[str, dict[str, Any]] = {"served": {}, "waiting": {}}
        for key, value in row.items():
            side, column = key.split(":")
            out[side][column] = value
        return out


def _months(
    months: tuple[str | dt.date, str | dt.date] | None, registry: Registry
) -> list[dt.date]:
    """The months to produce: as given, or from the earliest case start to the extract date."""
    starts = registry.cases["start_date"].drop_nulls() if months is None else None
    earliest = starts.min() if starts is not None and len(starts) else None
    return month_range(*resolve_months(months, registry.extract_date, earliest=earliest))  # type: ignore[arg-type]


def compute_entitlements(
    registry: Registry,
    model: FundingModel,
    territories: pl.DataFrame | None = None,
    months: tuple[str | dt.date, str | dt.date] | None = None,
    *,
    segments: bool = True,
) -> Entitlements:
    """Segment and price every case of `registry` under `model` for `months` (inclusive).

    With `segments=False` the detailed segments frame is not built (`Entitlements.segments` is an
    empty frame without columns; `n_segments` still counts them): case-months, rollups and flows
    are the same.

    `months` is `(first, last)` as "YYYY-MM" or dates; default: the earliest case start to the
    extract date. `territories` (KATOTTG, see `engine.reference.load_territories`) gives each
    serving hromada its raion and oblast; without it those columns are null.

    >>> import engine
    >>> registry = engine.read_registry("data_samples/registry")
    >>> model = engine.load_funding_model("models/funding/baseline")
    >>> result = compute_entitlements(registry, model, months=("2026-01", "2026-01"))
    >>> result.case_months.height, result.totals()["state_uah"]
    (608, 2498273.13)
    """
    month_list = _months(months, registry)
    reg = index_registry(registry, territories)
    raion, oblast = territory_lists(reg, territories)
    dims = dimensions(reg, territories)
    core = price_core(reg, model, month_list, hromada_oblast=oblast, wide=True)
    # intermediate arrays are handed over and freed as soon as used, before the next frame grows:
    # parts after rollups and flows, case-month keys after the case-month frame
    money_parts, book = parts(core), code_book(core, reg, raion, oblast, dims)
    rollup_frame, flow_frame = rollups(money_parts, book), flows(money_parts, book)
    del money_parts
    idp = idp_burden(core, reg, oblast, dims) if core.dated is not None else None
    books = dictionaries(reg, raion, oblast, dims)
    del reg  # the frames need only the dictionaries and the core
    n_cases = distinct_cases(core)
    case_month_frame = case_months_frame(core, books)
    segment_frame = segments_frame(core, books, model.version) if segments else pl.DataFrame()
    # with a benefits extract: the disability group and IDP status in force on each row
    segment_frame, case_month_frame = dated_frames(core, segment_frame, case_month_frame, dims)
    result = Entitlements(
        segments=check_segments(segment_frame),
        case_months=check_case_months(case_month_frame),
        rollups=rollup_frame,
        flows=flow_frame,
        model_version=model.version,
        model_hash=model.content_hash,
        months=(month_list[0], month_list[-1]),
        n_segments=core.n_segments,
        idp_burden=idp,
        n_cases=n_cases,
    )
    return result
