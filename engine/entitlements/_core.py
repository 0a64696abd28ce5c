"""Price every segment and total it per case-month, on integer-indexed numpy arrays.

This is the hot path (DESIGN.md §9: 10 M segments in ≤ 2 s). It follows §5 to the letter:

    units  = 1 for month services, else min(assessed or norm_units, max_units)
    price  = tariff × units × days / days_in_month      (hour, visit, month)
           = tariff × days                              (day: bed-days)
    gross  = price × coef × modifier × cap_factor
    copay  = gross × copay_share;  state = gross − copay

A factor with no value in force on the segment's first day (a parameter ended by `null`) leaves the
segment unfinanced: that factor is NaN (null in the output) and the amounts are 0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from engine.buffers import empty
from engine.dates import add_months, epoch_days
from engine.entitlements._block import (
    DAY,
    KIND,
    MONTH,
    PER_UNIT,
    ROWS,
    BlockContext,
    price_block,
    rates,
    round_kopiyka,
)
from engine.entitlements._wide import Wide, WideSink
from engine.errors import ConfigError
from engine.params import FundingModel
from engine.params._resolve import (
    RateCalendar,
    coef_timeline,
    copay_regimes,
    copay_shares,
    monthly_caps,
    rate_calendar,
)
from engine.schemas import DISABILITY_GROUPS
from engine.segments import (
    IndexedRegistry,
    Pieces,
    Split,
    calendar_bounds,
    pieces_from_locations,
    registered_index,
    split_by_calendar,
)

__all__ = ["DatedSubs", "PricedCore", "price_core", "round_kopiyka"]


@dataclass(frozen=True, eq=False)
class PricedCore:
    """Lean result: the gross of every segment and the rounded totals of every case-month.

    Segments are stored in order of their sub-piece (a piece of a location cut at coefficient
    changes), `count[j]` of them for sub-piece j, using consecutive rate-calendar entries from
    `entry0[j]`. `segment_index()` recovers each segment's sub-piece, calendar entry and
    case-month. The wide output is not derived from those afterwards: `price_core(wide=True)` has
    every block write it as it goes (`wide`, see `engine.entitlements._wide`).
    """

    months: list[dt.date]
    segments: dict[str, np.ndarray]
    case_months: dict[str, np.ndarray]
    subs: dict[str, np.ndarray]
    pieces: Pieces
    calendar: RateCalendar
    count: np.ndarray
    entry0: np.ndarray
    bounds: list[tuple[int, int]]  # (first segment, first case-month) of each block, and the end
    explicit: dict[int, np.ndarray]  # block start → case-month of each of its segments (rare)
    shares: np.ndarray  # co-payment share per (case, copay regime)
    units_norm: np.ndarray  # per calendar entry
    rows: dict[str, np.ndarray] | None = None  # per-segment factors under a territorial scenario
    capped: tuple[np.ndarray, np.ndarray] = field(  # segments whose cap factor is not 1
        default_factory=lambda: (np.zeros(0, dtype=np.int64), np.zeros(0))
    )
    wide: Wide | None = None  # what the output frames need, with `price_core(wide=True)`
    dated: DatedSubs | None = None  # circumstances per sub-piece, with a benefits extract

    @property
    def n_segments(self) -> int:
        return len(self.segments["gross_uah"])

    def segment_index(self) -> dict[str, np.ndarray]:
        """Sub-piece, rate-calendar entry and case-month (row of `case_months`) of every segment."""
        n = self.n_segments
        sub = np.repeat(np.arange(len(self.count), dtype=np.int32), self.count)
        first = np.cumsum(self.count) - self.count
        entry = np.arange(n, dtype=np.int64) - np.repeat(first - self.entry0, self.count)
        last = self.case_months["last"]
        case_month = np.empty(n, dtype=np.int32)
        for (s0, g0), (s1, g1) in zip(self.bounds[:-1], self.bounds[1:], strict=True):
            if s0 in self.explicit:
                case_month[s0:s1] = self.explicit[s0]
            else:  # contiguous case-months: a segment belongs to the first one ending at or after it
                where = np.searchsorted(last[g0:g1], np.arange(s0, s1), side="left")
                case_month[s0:s1] = where + g0
        return {"sub": sub, "entry": entry.astype(np.int32), "case_month": case_month}


def _combos(
    reg: IndexedRegistry, service: np.ndarray, need_level: np.ndarray, disability: np.ndarray
) -> tuple[np.ndarray, pl.DataFrame]:
    """Number the (service, need level, disability group) combinations present among the items
    (cases, or sub-pieces when circumstances are dated)."""
    n_groups = len(DISABILITY_GROUPS) + 1
    code = (service.astype(np.int64) * 8 + need_level.astype(np.int64)) * n_groups
    code += disability
    # codes are small (services × 8 × 6): a presence table numbers them without sorting the cases
    present = np.bincount(code, minlength=len(reg.service_codes) * 8 * n_groups) > 0
    unique = np.flatnonzero(present)
    number = np.cumsum(present) - 1
    service = unique // (8 * n_groups)
    level = (unique // n_groups) % 8
    disability = unique % n_groups
    groups = [*DISABILITY_GROUPS, None]
    frame = pl.DataFrame(
        {
            "combo": np.arange(len(unique), dtype=np.int64),
            "service": service.astype(np.int64),
            "service_code": [reg.service_codes[s] for s in service],
            "need_level": level.astype(np.int64),
            "disability_group": [groups[d] for d in disability],
            "service_group": [reg.service_groups[s] for s in service],
        },
        schema={
            "combo": pl.Int64,
            "service": pl.Int64,
            "service_code": pl.String,
            "need_level": pl.Int64,
            "disability_group": pl.String,
            "service_group": pl.String,
        },
    )
    return number[code].astype(np.int32), frame


@dataclass(frozen=True, eq=False)
class DatedSubs:
    """Dated circumstances in force on each sub-piece (pieces are also cut on the days they
    change): disability group, income ratio, IDP status and the hromada displaced from."""

    disability: np.ndarray  # int32 index into DISABILITY_GROUPS (len(...) = unknown)
    income: np.ndarray  # float64, NaN = unknown
    is_idp: np.ndarray  # bool
    origin: pl.Series  # String per sub-piece: hromada displaced from (IDP days), else null


def _dated_cut(
    reg: IndexedRegistry, model: FundingModel, cut: Split, case: np.ndarray, *, p0: int, p1: int
) -> tuple[Split, DatedSubs]:
    """Cut sub-pieces again on the days a recipient's circumstances change (few cuts: one more
    sorted calendar, as the coefficient timeline), and read them on each new sub-piece."""
    from engine.benefits._timeline import circumstance_calendar

    assert reg.recipients is not None and reg.benefits is not None
    cal = circumstance_calendar(
        reg.benefits.tables, reg.recipients, model.circumstance_rules, reg.cases, p0=p0, p1=p1
    )
    again = split_by_calendar(
        cut.start,
        cut.end,
        cal.case_key[case],
        calendar_key=cal.key,
        calendar_date=cal.date,
        base=p0,
        dense=False,
    )
    parent = cut.parent[again.parent]
    first = np.flatnonzero(np.r_[True, parent[1:] != parent[:-1]]) if len(parent) else parent
    composed = Split(
        parent=parent, start=again.start, end=again.end, entry=cut.entry[again.parent], first=first
    )
    sub_case, entry = case[again.parent], again.entry
    own = cal.own[entry]
    registry_idp = reg.cases["is_idp"].fill_null(False).to_numpy()
    origin = _origins(
        cal.origin,
        entry=entry,
        own=own,
        case=sub_case,
        registered=reg.cases["registered_hromada"],
        registry_idp=registry_idp,
    )
    dated = DatedSubs(
        disability=np.where(own, cal.disability[entry], reg.disability[sub_case]).astype(np.int32),
        income=np.where(own, cal.income[entry], reg.income[sub_case]),
        is_idp=np.where(own, cal.is_idp[entry], registry_idp[sub_case]),
        origin=origin,
    )
    return composed, dated


def _origins(
    origin: pl.Series,
    *,
    entry: np.ndarray,
    own: np.ndarray,
    case: np.ndarray,
    registered: pl.Series,
    registry_idp: np.ndarray,
) -> pl.Series:
    """Hromada displaced from, per sub-piece, gathered by polars (no Python list of millions of
    strings): the calendar's on the extract's days, else the registered hromada of an IDP."""
    frame = pl.DataFrame(
        {
            "own": own,
            "idp": registry_idp[case],
            "calendar": origin.cast(pl.String).gather(entry),
            "registry": registered.cast(pl.String).gather(case),
        }
    )
    return frame.select(
        pl.when("own").then("calendar").when("idp").then("registry").alias("origin")
    ).to_series()


def _blocks(sub_case: np.ndarray, count: np.ndarray, size: int) -> list[tuple[int, int]]:
    """Split sub-pieces into blocks of about `size` segments, never splitting a case."""
    n_sub = len(sub_case)
    if n_sub == 0:
        return []
    ends = np.cumsum(count)
    targets = np.arange(size, int(ends[-1]), size)
    case_starts = np.flatnonzero(np.r_[True, sub_case[1:] != sub_case[:-1]])
    wanted = np.searchsorted(ends, targets, side="right")
    snapped = case_starts[np.minimum(np.searchsorted(case_starts, wanted), len(case_starts) - 1)]
    cuts = np.unique(np.r_[0, snapped[snapped > wanted - 1], n_sub])
    return list(zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True))


# What the core stores (allocated once, written block by block). Dates, days, units, copay and
# state per segment, and keys per case-month, are one lookup away: with `wide=True` the blocks
# write them too (see `engine.entitlements._wide`).
_SEGMENT_ARRAYS = {"gross_uah": np.float64}
_CASE_MONTH_ARRAYS = {
    "gross_uah": np.float64, "copay_uah": np.float64, "days": np.uint8, "last": np.int32,
}  # fmt: skip


def _check_model_covers(model: FundingModel, combos: pl.DataFrame, reg: IndexedRegistry) -> None:
    """A service the model never prices is a configuration error, not a silent zero (a value
    ended by `null` is different: the model says the service is no longer financed per case)."""
    units = dict(zip(reg.service_codes, reg.service_units, strict=True))
    used = set(combos["service_code"].to_list())
    for name in ("tariff", "norm_units", "max_units"):
        if name != "tariff" and model.default(name) is not None:
            continue
        priced = set(model.table(name)["service_code"].to_list())
        missing = sorted(c for c in used - priced if name == "tariff" or units[c] != "month")
        if missing:
            raise ConfigError(
                f"funding model {model.name} {model.version} has no {name} for service(s) "
                f"{', '.join(missing)} used by the registry"
            )


def _context(
    reg: IndexedRegistry,
    model: FundingModel,
    months: list[dt.date],
    hromada_oblast: list[str | None] | None,
) -> tuple[BlockContext, Pieces, DatedSubs | None]:
    """Cut pieces at coefficient changes, build the rate calendar and count every sub-piece's
    segments: all the small, per-piece work before the expansion into segments."""
    period_start = months[0]
    period_end = add_months(months[-1], 1) - dt.timedelta(days=1)
    p0, p1 = epoch_days(period_start), epoch_days(period_end)
    pieces = pieces_from_locations(reg, p0, p1)
    # 1. cut pieces at the serving hromada's coefficient changes (few pieces, few cuts)
    timeline = coef_timeline(
        model, reg.territory_status, len(reg.hromada_codes), period_start, period_end
    )
    cut = split_by_calendar(
        pieces.start,
        pieces.end,
        timeline.hromada_key[pieces.hromada],
        calendar_key=timeline.key,
        calendar_date=timeline.date,
        base=p0,
    )
    sub_case = pieces.case[cut.parent]
    dated = None
    if reg.benefits is not None:  # 1b. and on the days a recipient's circumstances change
        cut, dated = _dated_cut(reg, model, cut, sub_case, p0=p0, p1=p1)
        sub_case = pieces.case[cut.parent]
    # 2. each sub-piece is cut at month starts and its rates' change dates: count them here
    if dated is None:
        combo, combos = _combos(reg, reg.service, reg.need_level, reg.disability)
        sub_combo = combo[sub_case]
    else:
        sub_combo, combos = _combos(
            reg, reg.service[sub_case], reg.need_level[sub_case], dated.disability
        )
    _check_model_covers(model, combos, reg)
    regimes = copay_regimes(model, period_start, period_end)
    calendar = rate_calendar(model, combos, months, regimes)
    entry0, count = calendar_bounds(
        cut.start,
        cut.end,
        sub_combo,
        calendar_key=calendar.key,
        calendar_date=calendar.date,
        base=p0,
    )
    kind_of_service = np.array([KIND[u] for u in reg.service_units], dtype=np.int8)
    kind = kind_of_service[combos["service"].to_numpy()][calendar.key]
    factors = {
        "tariff": calendar.tariff,
        "norm": calendar.norm_units,
        "max": calendar.max_units,
        "modifier": calendar.modifier,
    }
    units_norm, per_day = rates(factors, kind, calendar.days_in_month)
    assessed = np.where(kind_of_service[reg.service] == MONTH, np.nan, reg.assessed)
    priced_assessed = np.where(kind_of_service[reg.service] == PER_UNIT, reg.assessed, np.nan)
    caps = monthly_caps(model, reg.service_codes, months)
    ctx = BlockContext(
        reg=reg,
        model=model,
        cut=cut,
        sub_case=sub_case,
        sub_funded=pieces.funded[cut.parent],
        sub_coef=timeline.coef[cut.entry],
        sub_mask=timeline.mask[cut.entry],
        sub_hromada=pieces.hromada[cut.parent],
        sub_assessed=assessed[sub_case],
        entry0=entry0,
        count=count,
        calendar=calendar,
        kind=kind,
        units_norm=units_norm,
        per_day=per_day,
        per_day_norm=np.where(kind == DAY, per_day, per_day * units_norm),
        rates_have_gaps=bool(
            np.isnan(per_day).any()
            or np.isnan(units_norm).any()
            or np.isnan(calendar.max_units).any()
        ),
        sub_priced_assessed=priced_assessed[sub_case],
        caps=caps,
        capped_case=(~np.isnan(caps)).any(axis=1)[reg.service],
        shares=copay_shares(regimes, reg.income),
        hromada_oblast=hromada_oblast or [None] * len(reg.hromada_codes),
        sub_shares=None if dated is None else copay_shares(regimes, dated.income),
        sub_disability=None if dated is None else dated.disability,
    )
    return ctx, pieces, dated


def price_core(
    reg: IndexedRegistry,
    model: FundingModel,
    months: list[dt.date],
    hromada_oblast: list[str | None] | None = None,
    *,
    block_segments: int = 1 << 19,
    wide: bool = False,
) -> PricedCore:
    """Segment, price and total every case over `months` (first days of months, ascending).

    Work proceeds in blocks of whole cases (about `block_segments` segments each) so temporaries
    stay small and are reused; results land in arrays allocated once. `hromada_oblast` (oblast code
    per hromada index) is needed only by scenario changes restricted to oblasts. With `wide`, the
    blocks also write what the output frames need (`PricedCore.wide`, see `_wide`).
    """
    ctx, pieces, dated = _context(reg, model, months, hromada_oblast)
    n = int(ctx.count.sum())
    arrays = dict(_SEGMENT_ARRAYS)
    if model.adjustments.height:
        arrays |= dict.fromkeys(ROWS, np.float64)
    out = {name: empty(n, dtype) for name, dtype in arrays.items()}
    out |= {f"cm_{name}": empty(n, dtype) for name, dtype in _CASE_MONTH_ARRAYS.items()}
    capped: list[tuple[np.ndarray, np.ndarray]] = []
    explicit: dict[int, np.ndarray] = {}
    totals = {name: out[f"cm_{name}"] for name in ("gross_uah", "copay_uah")}
    sink = None
    if wide:
        sink = WideSink(ctx, pieces, months, n, totals=totals, registered=registered_index(reg))
    bounds = [(0, 0)]
    for block in _blocks(ctx.sub_case, ctx.count, block_segments):
        bounds.append(
            price_block(
                ctx, block, bounds[-1], out, capped_segments=capped, explicit=explicit, wide=sink
            )
        )
    at = bounds[-1]
    case_months = {name: out[f"cm_{name}"][: at[1]] for name in _CASE_MONTH_ARRAYS}
    return PricedCore(
        months=months,
        segments={name: out[name] for name in arrays},
        case_months=case_months,
        subs={
            "case": ctx.sub_case,
            "piece": ctx.cut.parent,
            "funded": ctx.sub_funded,
            "coef": ctx.sub_coef,
            "start": ctx.cut.start,
            "end": ctx.cut.end,
            "assessed": ctx.sub_assessed,
        },
        pieces=pieces,
        calendar=ctx.calendar,
        count=ctx.count,
        entry0=ctx.entry0,
        bounds=bounds,
        explicit=explicit,
        shares=ctx.shares,
        units_norm=ctx.units_norm,
        rows={name: out[name] for name in ROWS} if "tariff" in out else None,
        capped=(
            np.concatenate([np.zeros(0, dtype=np.int64), *(w for w, _ in capped)]),
            np.concatenate([np.zeros(0), *(f for _, f in capped)]),
        ),
        wide=sink.finish(*at) if sink is not None else None,
        dated=dated,
    )
