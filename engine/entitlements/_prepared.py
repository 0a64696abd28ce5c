"""A registry indexed once and priced for any months: what `compute_entitlements` does in two steps.

A run that prices several month ranges of one registry (a nightly prices this year's months and the
forecast's 36 months of history, a year at a time) indexes the registry once (`prepare`: string
keys to positions, the per-case dictionaries the frames are gathered from) and prices each range
from it (`price_months`). What is made of a priced range is asked for by name: the full
entitlements (`PricedMonths.entitlements`), or some columns of some segments
(`PricedMonths.segments`), so a range whose totals nobody reads costs its pricing and the columns
read, not four output frames.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from engine.columns import Dimensions
from engine.contracts import check_case_months, check_segments
from engine.dates import epoch_days
from engine.entitlements._core import PricedCore, price_core
from engine.entitlements._dated import _labels, dated_case_months, dated_segments, idp_burden
from engine.entitlements._frames import (
    SEGMENT_COLUMNS,
    Dictionaries,
    case_months_frame,
    code_book,
    dictionaries,
    dimensions,
    distinct_cases,
    parts,
    segments_frame,
    territory_lists,
)
from engine.entitlements._result import Entitlements
from engine.params import FundingModel
from engine.rollups import flows, rollups
from engine.schemas import Registry
from engine.segments import IndexedRegistry, index_registry

__all__ = ["PreparedRegistry", "PricedMonths", "prepare", "price_months"]

_DATED = ("disability_group", "is_idp")  # what dated circumstances change in a segment row


@dataclass(frozen=True, eq=False)
class PreparedRegistry:
    """A registry with its string keys replaced by positions (`engine.segments.index_registry`),
    the raion and oblast of every hromada, the output Enums and the per-case dictionaries."""

    reg: IndexedRegistry
    raion: list[str | None]
    oblast: list[str | None]
    dims: Dimensions
    books: Dictionaries = field(repr=False)

    def case_rows(self, case_ids: Sequence[str]) -> np.ndarray:
        """Case indexes of `case_ids` (those the registry prices), ascending."""
        wanted = pl.Series(list(case_ids), dtype=pl.String)
        return self.books.per_case["case_id"].is_in(wanted.implode()).arg_true().to_numpy()


def prepare(registry: Registry, territories: pl.DataFrame | None = None) -> PreparedRegistry:
    """Index `registry` once for pricing (`price_months`); `territories` as `compute_entitlements`."""
    reg = index_registry(registry, territories)
    raion, oblast = territory_lists(reg, territories)
    dims = dimensions(reg, territories)
    return PreparedRegistry(reg, raion, oblast, dims, dictionaries(reg, raion, oblast, dims))


def price_months(
    prepared: PreparedRegistry, model: FundingModel, months: list[dt.date]
) -> PricedMonths:
    """Segment and price every case of the prepared registry over `months` (first days,
    ascending, consecutive)."""
    core = price_core(prepared.reg, model, months, hromada_oblast=prepared.oblast, wide=True)
    return PricedMonths(prepared, model, core, distinct_cases(core))


@dataclass(frozen=True, eq=False)
class PricedMonths:
    """One pricing of a prepared registry; the frames are made of it on demand."""

    prepared: PreparedRegistry
    model: FundingModel
    core: PricedCore
    n_cases: int  # distinct cases with case-months (counted before `frames` takes their keys)

    def entitlements(self, *, segments: bool = True) -> Entitlements:
        """Every output frame, as `compute_entitlements` returns them (once per pricing)."""
        frames = dict(self.frames(segments=segments))
        return Entitlements(
            segments=frames.get("segments", pl.DataFrame()),
            case_months=frames["case_months"],
            rollups=frames["rollups"],
            flows=frames["flows"],
            model_version=self.model.version,
            model_hash=self.model.content_hash,
            months=(self.core.months[0], self.core.months[-1]),
            n_segments=self.core.n_segments,
            idp_burden=frames.get("idp_burden"),
            n_cases=self.n_cases,
        )

    def frames(
        self, *, segments: bool = True, release: bool = False
    ) -> Iterator[tuple[str, pl.DataFrame]]:
        """The output frames one at a time, each built when the previous one was taken: rollups,
        flows, the IDP host burden (with dated circumstances), case-months, then (asked for)
        segments — the frames of `entitlements()`, checked against their contracts.

        Why: a caller that writes each frame and lets it go (`mfr entitle`) never holds two of the
        large ones at once (at 10 M segments, case-months and segments are over 1 GB each).
        `release`: the segments frame takes the core's arrays as it goes; this pricing then makes
        no other segment frame (`segments()` would fail)."""
        core, prep = self.core, self.prepared
        money_parts = parts(core)
        book = code_book(core, prep.reg, prep.raion, prep.oblast, prep.dims)
        yield "rollups", rollups(money_parts, book)
        yield "flows", flows(money_parts, book)
        del money_parts  # the rounded parts are freed before the case-month frame grows
        if core.dated is not None:
            yield "idp_burden", idp_burden(core, prep.reg, prep.oblast, prep.dims)
        case_months = case_months_frame(core, prep.books)
        yield "case_months", check_case_months(dated_case_months(core, case_months, prep.dims))
        del case_months
        if segments:
            frame = segments_frame(core, prep.books, self.model.version, release=release)
            yield "segments", check_segments(dated_segments(core, frame, prep.dims))

    def segments(
        self, columns: Sequence[str] = SEGMENT_COLUMNS, rows: np.ndarray | None = None
    ) -> pl.DataFrame:
        """Those `columns` of the segments frame, at the segment positions `rows` (None: all):
        the same values as `entitlements().segments` there."""
        core, prep = self.core, self.prepared
        frame = segments_frame(core, prep.books, self.model.version, columns=columns, rows=rows)
        if core.dated is not None and any(c in columns for c in _DATED):
            sub = core.segment_index()["sub"]
            labels = _labels(core.dated, sub if rows is None else sub[rows], prep.dims)
            frame = frame.with_columns(**{c: labels[c] for c in _DATED if c in columns})
        return frame

    def rows_in_months(self, first: dt.date, last: dt.date) -> np.ndarray | None:
        """Positions of the segments in the months `first`..`last`; None when that is all."""
        month = self._wide_segments()["month"]
        inside = (month >= epoch_days(first)) & (month <= epoch_days(last))
        return None if inside.all() else np.flatnonzero(inside)

    def rows_of_cases(self, case_ids: Sequence[str]) -> np.ndarray:
        """Positions of the segments of `case_ids`."""
        cases = self.prepared.case_rows(case_ids)
        return np.flatnonzero(np.isin(self._wide_segments()["case"], cases))

    def _wide_segments(self) -> dict[str, np.ndarray]:
        if self.core.wide is None:  # `price_months` always prices wide
            raise ValueError("the segment frames need price_core(..., wide=True)")
        return self.core.wide.segments
