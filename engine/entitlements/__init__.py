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

import polars as pl

from engine.dates import month_range, resolve_months
from engine.entitlements._block import round_kopiyka
from engine.entitlements._core import PricedCore, price_core
from engine.entitlements._frames import CASE_MONTH_COLUMNS, SEGMENT_COLUMNS
from engine.entitlements._prepared import PreparedRegistry, PricedMonths, prepare, price_months
from engine.entitlements._result import Entitlements, headline_totals, totals_by_funding
from engine.params import FundingModel
from engine.schemas import Registry

__all__ = [
    "CASE_MONTH_COLUMNS",
    "SEGMENT_COLUMNS",
    "Entitlements",
    "PreparedRegistry",
    "PricedCore",
    "PricedMonths",
    "compute_entitlements",
    "headline_totals",
    "prepare",
    "price_core",
    "price_months",
    "price_registry",
    "round_kopiyka",
    "totals_by_funding",
]


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
    return price_registry(registry, model, territories, months).entitlements(segments=segments)


def price_registry(
    registry: Registry,
    model: FundingModel,
    territories: pl.DataFrame | None = None,
    months: tuple[str | dt.date, str | dt.date] | None = None,
) -> PricedMonths:
    """`compute_entitlements` before its frames are built: they are asked for by name, or one at a
    time (`PricedMonths.frames`, so a caller writing them never holds them all). Arguments as
    `compute_entitlements`."""
    return price_months(prepare(registry, territories), model, _months(months, registry))
