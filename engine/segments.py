"""Cut cases into constant-rule day segments: the heart of "money follows the recipient".

A case is served over *pieces* (its locations clipped to the case's dates and the requested months).
Each piece is cut at every date where something affecting its amount changes, without expanding days:

1. the serving hromada's coefficient timeline (territory status changes, coefficient changes), then
2. the *rate calendar* of the case's combination of service, need level and disability group: month
   starts, and the change dates of every parameter that applies to that combination.

Both calendars are small sorted arrays, concatenated over their keys. A dense (key × day) table of
the entry in force tells, for every piece, the entry on its first day and how many calendar dates
fall inside it; `expand_segments` then writes the segments with `repeat` and a few gathers, and
every value is looked up by position. No loop runs per case or per day. Dates are int32 days since
1970-01-01 inside this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from engine.errors import InputFileError
from engine.schemas import DISABILITY_GROUPS, Registry

__all__ = [
    "OPEN_END",
    "IndexedRegistry",
    "Pieces",
    "Split",
    "calendar_bounds",
    "expand_segments",
    "index_registry",
    "pieces_from_locations",
    "registered_index",
    "split_by_calendar",
]

OPEN_END = np.int32(2**31 - 1)  # an open end date, in days
_STRIDE = np.int64(2**24)  # composite key = key × stride + day offset; 2^24 days ≈ 46,000 years


def _days(values: pl.Series) -> np.ndarray:
    """A Date series as int32 days since the epoch (null → OPEN_END)."""
    return values.cast(pl.Int32).fill_null(OPEN_END).to_numpy().astype(np.int32, copy=False)


def _codes(values: pl.Series, categories: list[str]) -> np.ndarray:
    """Positions of `values` in `categories` (null or unknown → -1) without a hash join."""
    cast = values.cast(pl.Enum(categories), strict=False).to_physical()
    return cast.cast(pl.Int32).fill_null(-1).to_numpy().astype(np.int32)


@dataclass(frozen=True, eq=False)
class IndexedRegistry:
    """The registry as integer-indexed numpy arrays: one entry per case (sorted by case_id) and per
    location. String keys stay in the `*_codes` lists and the `cases` frame for the output stage."""

    cases: pl.DataFrame  # case_id, recipient_id, service_code, need_level, ... joined recipient
    service: np.ndarray  # int32 index into service_codes
    need_level: np.ndarray  # int64
    disability: np.ndarray  # int32 index into DISABILITY_GROUPS, len(...) when unknown
    assessed: np.ndarray  # float64, NaN = use the norm
    income: np.ndarray  # float64, NaN = unknown
    start: np.ndarray  # int32 days
    end: np.ndarray  # int32 days, OPEN_END when open
    loc_case: np.ndarray  # int32 index of the case
    loc_hromada: np.ndarray  # int32 index into hromada_codes
    loc_provider: np.ndarray  # int32 index into provider_ids, -1 = none or unknown
    loc_funded: np.ndarray  # bool: the location names a provider
    loc_from: np.ndarray
    loc_to: np.ndarray
    service_codes: list[str]
    service_units: list[str]
    service_groups: list[str]
    hromada_codes: list[str]
    provider_ids: list[str]
    provider_ownership: list[str | None]
    territory_status: pl.DataFrame  # hromada (int index), status, valid_from, valid_to (Date)
    # a benefits extract's dated circumstances (`engine.benefits.Benefits`; None: the registry's
    # values stand) and the registry's recipients they fall back on
    benefits: Any = None
    recipients: pl.DataFrame | None = None
    # per-case arrays derived from the frames above, made once however many pricings read them
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_cases(self) -> int:
        return len(self.service)


def index_registry(registry: Registry, territories: pl.DataFrame | None = None) -> IndexedRegistry:
    """Replace string keys by positions once, so the hot path works on integers only."""
    services = registry.services.unique("service_code", keep="first").sort("service_code")
    service_codes = services["service_code"].to_list()
    cases = registry.cases
    if not cases["case_id"].is_sorted():  # extracts usually list cases in order already
        cases = cases.sort("case_id")
    cases = _with_recipients(cases, registry.recipients)
    service = _codes(cases["service_code"], service_codes)
    if (service < 0).any():
        code = cases["service_code"][int(np.flatnonzero(service < 0)[0])]
        raise InputFileError(f"service {code!r} of a case is not in the services table")
    disability = _codes(cases["disability_group"], list(DISABILITY_GROUPS))
    disability[disability < 0] = len(DISABILITY_GROUPS)

    locations = _located(registry.case_locations, cases["case_id"])
    known = [] if territories is None else [territories["hromada_code"]]
    hromada_codes = (
        pl.concat(
            [
                *known,
                locations["hromada_code"],
                registry.territory_status["hromada_code"],
                cases["registered_hromada"],
            ]
        )
        .drop_nulls()
        .unique()
        .sort()
        .to_list()
    )
    providers = registry.providers.unique("provider_id", keep="first").sort("provider_id")
    status = registry.territory_status.select(
        hromada=pl.Series(_codes(registry.territory_status["hromada_code"], hromada_codes)),
        status="status",
        valid_from="valid_from",
        valid_to="valid_to",
    )
    return IndexedRegistry(
        cases=cases,
        service=service,
        need_level=cases["need_level"].cast(pl.Int64).to_numpy(),
        disability=disability,
        assessed=cases["assessed_units"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
        income=cases["income_ratio"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
        start=_days(cases["start_date"]),
        end=_days(cases["end_date"]),
        loc_case=locations["_case"].cast(pl.Int32).to_numpy(),
        loc_hromada=_codes(locations["hromada_code"], hromada_codes),
        loc_provider=_codes(locations["provider_id"], providers["provider_id"].to_list()),
        loc_funded=locations["provider_id"].is_not_null().to_numpy(),
        loc_from=_days(locations["valid_from"]),
        loc_to=_days(locations["valid_to"]),
        service_codes=service_codes,
        service_units=services["unit"].to_list(),
        service_groups=services["group"].to_list(),
        hromada_codes=hromada_codes,
        provider_ids=providers["provider_id"].to_list(),
        provider_ownership=providers["ownership"].to_list(),
        territory_status=status,
        benefits=registry.benefits,
        recipients=registry.recipients if registry.benefits is not None else None,
    )


_RECIPIENT = ("birth_date", "disability_group", "is_idp", "registered_hromada", "income_ratio")


def _with_recipients(cases: pl.DataFrame, recipients: pl.DataFrame) -> pl.DataFrame:
    """Each case with its recipient's columns (`_RECIPIENT`; null for an unknown recipient).

    The string keys are matched once, for the row of each case's recipient; the columns are then
    gathered by that row (the same frame as a left join, without carrying five columns through
    the join)."""
    row = (
        cases.select("recipient_id")
        .join(
            recipients.select("recipient_id").with_row_index("_row"),
            on="recipient_id",
            how="left",
            maintain_order="left",
        )
        .get_column("_row")
    )
    if len(row) != cases.height:  # a recipient id twice (validation quarantines it): a join
        return cases.join(
            recipients.select("recipient_id", *_RECIPIENT),
            on="recipient_id",
            how="left",
            maintain_order="left",
        )
    return pl.concat(
        [cases, recipients.select(_RECIPIENT).select(pl.all().gather(row))], how="horizontal"
    )


def _located(locations: pl.DataFrame, case_ids: pl.Series) -> pl.DataFrame:
    """The locations of known cases (`case_ids`, sorted) with `_case`, their case's position.

    Orphan locations were quarantined upstream; any left here are ignored. Extracts usually list
    locations by case, every case with one: then a case's position is the number of the run of
    equal ids its locations are in, found without matching the strings (checked: the first id of
    every run is the case's id). Otherwise a left join and a filter (the rows of an inner join)."""
    ids = locations["case_id"]
    if ids.is_sorted() and ids.null_count() == 0:
        run = ids.rle_id()
        starts = (
            np.flatnonzero(np.r_[True, run.to_numpy()[1:] != run.to_numpy()[:-1]])
            if len(ids)
            else np.zeros(0, dtype=np.int64)
        )
        if len(starts) == len(case_ids) and bool((ids.gather(starts) == case_ids).all()):
            return locations.with_columns(run.cast(pl.UInt32).alias("_case"))
    return locations.join(
        case_ids.to_frame().with_row_index("_case"),
        on="case_id",
        how="left",
        maintain_order="left",
    ).filter(pl.col("_case").is_not_null())


def registered_index(reg: IndexedRegistry) -> np.ndarray:
    """Index (into `reg.hromada_codes`) of each case's registered hromada, -1 when unknown."""
    if "registered" not in reg.derived:
        reg.derived["registered"] = _codes(reg.cases["registered_hromada"], reg.hromada_codes)
    registered: np.ndarray = reg.derived["registered"]
    return registered


@dataclass(frozen=True, eq=False)
class Pieces:
    """Served intervals: a location clipped to its case's dates and the period, sorted by case."""

    case: np.ndarray
    hromada: np.ndarray
    provider: np.ndarray
    funded: np.ndarray
    start: np.ndarray
    end: np.ndarray


def pieces_from_locations(reg: IndexedRegistry, period_start: int, period_end: int) -> Pieces:
    """Clip every location to its case's start/end and to the period; drop what falls outside.

    Days of a case covered by no location simply produce no piece: they are not priced.
    """
    case = reg.loc_case
    start = np.maximum(np.maximum(reg.loc_from, reg.start[case]), np.int32(period_start))
    end = np.minimum(np.minimum(reg.loc_to, reg.end[case]), np.int32(period_end))
    keep = np.flatnonzero(start <= end)
    case_kept, start_kept = case[keep], start[keep]
    in_order = (np.diff(case_kept) > 0) | ((np.diff(case_kept) == 0) & (np.diff(start_kept) > 0))
    # extracts usually list locations by case and date already: sort only when they do not
    if in_order.all():
        order = keep
    else:  # one int64 key; a stable sort is quick on the long sorted runs extracts come in
        key = case_kept.astype(np.int64) << 32
        key += start_kept.astype(np.int64) - int(start_kept.min())
        order = keep[np.argsort(key, kind="stable")]
    return Pieces(
        case=case[order],
        hromada=reg.loc_hromada[order],
        provider=reg.loc_provider[order],
        funded=reg.loc_funded[order],
        start=start[order],
        end=end[order],
    )


@dataclass(frozen=True, eq=False)
class Split:
    """Result of cutting intervals at calendar dates: `parent` indexes the input interval,
    `entry` the calendar entry in force on the segment's first day."""

    parent: np.ndarray
    start: np.ndarray
    end: np.ndarray
    entry: np.ndarray
    first: np.ndarray  # index of each interval's first segment


def calendar_bounds(
    start: np.ndarray,
    end: np.ndarray,
    key: np.ndarray,
    *,
    calendar_key: np.ndarray,
    calendar_date: np.ndarray,
    base: int,
    dense: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """For each `[start, end]`: the calendar entry in force on `start`, and its number of segments.

    The calendar is sorted by (key, date) and each key's first date must be ≤ every start of that key
    (the period's first day, `base`), so an entry in force always exists. Calendars are small, so a
    dense table (key × day → entry in force) answers each interval with two lookups; a very long
    period with very many keys falls back to binary search (as does `dense=False`: a calendar
    with a key per person, whose dense table would be mostly empty).
    """
    n_keys = int(calendar_key.max()) + 1 if len(calendar_key) else 0
    last_day = int(np.minimum(end, np.int32(2**30)).max()) if len(end) else base
    n_days = max(
        last_day - base + 1, int(calendar_date.max()) - base + 1 if len(calendar_date) else 1
    )
    if len(start) == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    if dense and n_keys * n_days <= 50_000_000:
        table = np.full(n_keys * n_days, -1, dtype=np.int32)
        table[calendar_key.astype(np.int64) * n_days + (calendar_date - base)] = np.arange(
            len(calendar_key), dtype=np.int32
        )
        table = np.maximum.accumulate(table.reshape(n_keys, n_days), axis=1).ravel()
        row = key.astype(np.int64) * n_days - base
        entry0 = table[row + start]
        count = table[row + np.minimum(end, np.int32(last_day))].astype(np.int64) - entry0 + 1
        return entry0, count
    composite = calendar_key.astype(np.int64) * _STRIDE + (calendar_date.astype(np.int64) - base)
    k = key.astype(np.int64) * _STRIDE
    lo = np.searchsorted(composite, k + (start.astype(np.int64) - base), side="right")
    hi = np.searchsorted(composite, k + (np.minimum(end, np.int32(2**30)) - base), side="right")
    return (lo - 1).astype(np.int32), (hi - lo + 1).astype(np.int64)


def expand_segments(
    start: np.ndarray,
    end: np.ndarray,
    entry0: np.ndarray,
    count: np.ndarray,
    calendar_date: np.ndarray,
) -> Split:
    """Cut each interval into `count` segments at the calendar dates following entry `entry0`."""
    first = np.cumsum(count) - count
    total = int(first[-1] + count[-1]) if len(count) else 0
    parent = np.repeat(np.arange(len(start), dtype=np.int32), count)
    # entry of segment j of interval i is entry0_i + j = position − first_i + entry0_i
    entry = np.repeat((entry0 - first).astype(np.int32), count)
    entry += np.arange(total, dtype=np.int32)
    seg_start = calendar_date[entry]
    seg_start[first] = start
    seg_end = np.empty_like(seg_start)
    seg_end[:-1] = seg_start[1:]
    seg_end -= 1
    seg_end[first + count - 1] = end
    return Split(parent=parent, start=seg_start, end=seg_end, entry=entry, first=first)


def split_by_calendar(
    start: np.ndarray,
    end: np.ndarray,
    key: np.ndarray,
    *,
    calendar_key: np.ndarray,
    calendar_date: np.ndarray,
    base: int,
    dense: bool = True,
) -> Split:
    """Cut each `[start, end]` (inclusive days) at every date of its key's calendar inside it.

    Intervals come out in input order, each one's segments in date order; `entry` is the calendar
    entry in force on each segment's first day.

    >>> s = split_by_calendar(np.array([5]), np.array([40]), np.array([0]),
    ...                       calendar_key=np.array([0, 0]), calendar_date=np.array([0, 31]), base=0)
    >>> s.start.tolist(), s.end.tolist(), s.entry.tolist()
    ([5, 31], [30, 40], [0, 1])
    """
    entry0, count = calendar_bounds(
        start,
        end,
        key,
        calendar_key=calendar_key,
        calendar_date=calendar_date,
        base=base,
        dense=dense,
    )
    return expand_segments(start, end, entry0, count, calendar_date)
