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
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.params import FundingModel
from engine.params._resolve import (
    STATUS_BITS,
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
    expand_segments,
    pieces_from_locations,
    split_by_calendar,
)

__all__ = ["PricedCore", "price_core", "round_kopiyka"]

_EPOCH = dt.date(1970, 1, 1)
_PER_UNIT, _MONTH, _DAY = 0, 1, 2
_KIND = {"hour": _PER_UNIT, "visit": _PER_UNIT, "month": _MONTH, "day": _DAY}


def round_kopiyka(values: np.ndarray) -> np.ndarray:
    """Round UAH to kopiyky, half away from zero.

    A relative allowance of 1e-11 makes 1445.155 (stored as 1445.15499999…) round up as written.
    """
    scaled = np.abs(values)
    scaled *= 100.0 * (1.0 + 1e-11)
    scaled += 0.5
    np.floor(scaled, out=scaled)
    scaled /= 100.0
    return np.copysign(scaled, values, out=scaled)


@dataclass(frozen=True, eq=False)
class PricedCore:
    """Lean result: segment and case-month columns as arrays keyed by integer indexes.

    A segment points at its sub-piece (`sub` → case, piece → hromada/provider) and at its rate
    calendar `entry` (→ month, days in month, tariff, modifier); the wide output is gathered from
    these by `engine.entitlements`.
    """

    months: list[dt.date]
    segments: dict[str, np.ndarray]
    case_months: dict[str, np.ndarray]
    subs: dict[str, np.ndarray]
    pieces: Pieces
    calendar: RateCalendar
    shares: np.ndarray  # co-payment share per (case, copay regime)
    rows: dict[str, np.ndarray] | None = None  # per-segment factors when a scenario adjusted them


def _combos(reg: IndexedRegistry) -> tuple[np.ndarray, pl.DataFrame]:
    """Number the (service, need level, disability group) combinations present among the cases."""
    n_groups = len(DISABILITY_GROUPS) + 1
    code = (reg.service.astype(np.int64) * 8 + reg.need_level.astype(np.int64)) * n_groups
    code += reg.disability
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
        schema_overrides={"disability_group": pl.String},
    )
    return number[code].astype(np.int32), frame


def _merge_runs(
    group: np.ndarray,
    run_start: np.ndarray,
    run_case: np.ndarray,
    run_month: np.ndarray,
    run_funded: np.ndarray,
    n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Groups are (case, month, funded). Runs of time-ordered segments are groups except when a case
    switches between waiting and served twice within one month; merge those (rare) by a run sort.

    Returns the group of every segment and the first and last segment of every group.
    """
    run_end = np.empty_like(run_start)
    run_end[:-1] = run_start[1:] - 1
    run_end[-1:] = n - 1
    # runs alternate funded within a (case, month), so a third run repeats the first one's key
    repeats = (run_case[2:] == run_case[:-2]) & (run_month[2:] == run_month[:-2])
    if not repeats.any():
        return group, run_start, run_end
    order = np.lexsort((run_funded, run_month, run_case))
    rc, rm, rf = run_case[order], run_month[order], run_funded[order]
    key_change = np.ones(len(order), dtype=bool)
    key_change[1:] = (rc[1:] != rc[:-1]) | (rm[1:] != rm[:-1]) | (rf[1:] != rf[:-1])
    group_of_run = np.empty(len(order), dtype=np.intp)
    group_of_run[order] = np.cumsum(key_change) - 1
    n_groups = int(key_change.sum())
    first = np.full(n_groups, n, dtype=np.int64)
    last = np.full(n_groups, -1, dtype=np.int64)
    np.minimum.at(first, group_of_run, run_start)
    np.maximum.at(last, group_of_run, run_end)
    return group_of_run[group], first, last


def _apply_adjustments(
    model: FundingModel,
    reg: IndexedRegistry,
    values: dict[str, np.ndarray],
    case: np.ndarray,
    start: np.ndarray,
    status_mask: np.ndarray,
    hromada: np.ndarray,
    hromada_oblast: list[str | None],
) -> None:
    """Apply a scenario's territorial changes in place, one vector pass per change (a handful)."""
    columns = {"tariff": "tariff", "norm_units": "norm", "max_units": "max", "modifier": "modifier"}
    groups = np.array(reg.service_groups, dtype=object)
    for row in model.adjustments.iter_rows(named=True):
        hit = start >= np.int32((row["valid_from"] - _EPOCH).days)
        if row["valid_to"] is not None:
            hit &= start <= np.int32((row["valid_to"] - _EPOCH).days)
        if row["service_code"] is not None:
            code = (
                reg.service_codes.index(row["service_code"])
                if row["service_code"] in reg.service_codes
                else -1
            )
            hit &= reg.service[case] == code
        if row["need_level"] is not None:
            hit &= reg.need_level[case] == row["need_level"]
        if row["disability_group"] is not None:
            group = DISABILITY_GROUPS.index(row["disability_group"])
            hit &= reg.disability[case] == group
        if row["service_group"] is not None:
            hit &= (groups == row["service_group"])[reg.service[case]]
        if row["status"] is not None:
            hit &= (status_mask & STATUS_BITS[row["status"]]) != 0
        if row["oblast_codes"] is not None:
            wanted = set(row["oblast_codes"])
            hit &= np.array([o in wanted for o in hromada_oblast], dtype=bool)[hromada]
        target = values[columns[row["parameter"]]]
        if row["op"] == "multiply":
            target[hit] *= row["value"]
        else:
            target[hit] = row["value"]


def _rates(
    tariff: np.ndarray,
    norm: np.ndarray,
    cap: np.ndarray,
    modifier: np.ndarray,
    kind: np.ndarray,
    days_in_month: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: units from the norm (1 for month services) and the price of one day before units
    and territory coefficient: tariff × modifier / days_in_month, or tariff × modifier for bed-days."""
    units_norm = np.where(kind == _MONTH, 1.0, np.minimum(norm, cap))
    per_day = tariff * modifier / np.where(kind == _DAY, 1.0, days_in_month)
    return units_norm, per_day


@dataclass(frozen=True, eq=False)
class _Context:
    """Everything a block needs: sub-piece arrays, rate calendar, per-entry rates, caps, shares."""

    reg: IndexedRegistry
    model: FundingModel
    cut: Split
    sub_case: np.ndarray
    sub_funded: np.ndarray
    sub_coef: np.ndarray
    sub_mask: np.ndarray
    sub_assessed: np.ndarray  # NaN where the norm applies (or the service is paid per month)
    entry0: np.ndarray
    count: np.ndarray
    calendar: RateCalendar
    kind: np.ndarray  # per entry
    units_norm: np.ndarray
    per_day: np.ndarray
    caps: np.ndarray  # monthly cap per (service, month)
    shares: np.ndarray  # copay share per (case, regime)
    hromada: np.ndarray  # per sub-piece
    hromada_oblast: list[str | None]


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


def _price_block(
    ctx: _Context, a: int, b: int, s0: int, g0: int, out: dict[str, np.ndarray]
) -> tuple[int, int]:
    """Segment and price sub-pieces [a, b); write segments from `s0` and groups from `g0`."""
    cal = ctx.calendar
    split = expand_segments(
        ctx.cut.start[a:b], ctx.cut.end[a:b], ctx.entry0[a:b], ctx.count[a:b], cal.date
    )
    parent, entry = split.parent, split.entry
    m = len(entry)
    s1 = s0 + m
    sub_case = ctx.sub_case[a:b]
    days = split.end - split.start
    days += 1

    units, gross = out["units"][s0:s1], out["gross_uah"][s0:s1]
    if ctx.model.adjustments.height:  # a territorial scenario: factors per segment
        values = {
            "tariff": cal.tariff[entry], "norm": cal.norm_units[entry],
            "max": cal.max_units[entry], "modifier": cal.modifier[entry],
        }  # fmt: skip
        _apply_adjustments(
            ctx.model,
            ctx.reg,
            values,
            sub_case[parent],
            split.start,
            ctx.sub_mask[a:b][parent],
            ctx.hromada[a:b][parent],
            ctx.hromada_oblast,
        )
        out["tariff"][s0:s1], out["modifier"][s0:s1] = values["tariff"], values["modifier"]
        units[:], gross[:] = _rates(*values.values(), ctx.kind[entry], cal.days_in_month[entry])
        max_units = values["max"]
    else:
        np.take(ctx.units_norm, entry, out=units)
        np.take(ctx.per_day, entry, out=gross)
        max_units = None
    assessed = ctx.sub_assessed[a:b]
    with_assessment = ~np.isnan(assessed)
    if with_assessment.any():
        hit = np.flatnonzero(with_assessment[parent])
        cap_units = max_units[hit] if max_units is not None else ctx.calendar.max_units[entry[hit]]
        units[hit] = np.minimum(assessed[parent[hit]], cap_units)
    gross *= days
    gross *= ctx.sub_coef[a:b][parent]
    seg_kind = ctx.kind[entry]
    gross *= np.where(seg_kind == _DAY, 1.0, units)  # bed-days are priced per day, not per unit
    np.nan_to_num(gross, copy=False, nan=0.0)  # a factor not in force: the segment is not financed

    # groups (case, month, funded): a new one where a month starts inside an interval, or where an
    # interval starts on another case, funding state or month than the previous one ended
    sub_funded = ctx.sub_funded[a:b]
    month_of_first = cal.month[entry[split.first]]
    month_of_last = cal.month[entry[np.r_[split.first[1:], m] - 1]]
    sub_change = np.ones(b - a, dtype=bool)
    sub_change[1:] = (
        (sub_case[1:] != sub_case[:-1])
        | (sub_funded[1:] != sub_funded[:-1])
        | (month_of_first[1:] != month_of_last[:-1])
    )
    change = cal.month_start[entry]
    change[split.first] = sub_change
    group = np.cumsum(change, dtype=np.intp)
    group -= 1
    run_start = np.flatnonzero(change)
    run_sub = parent[run_start]
    group, first, last = _merge_runs(
        group, run_start, sub_case[run_sub], cal.month[entry[run_start]], sub_funded[run_sub], m
    )
    n_groups = len(first)
    g1 = g0 + n_groups
    group_case = sub_case[parent[first]]
    group_month = cal.month[entry[first]]

    # monthly cap on the sum of gross per (case, month, funded), read on the month's first day
    group_gross = np.bincount(group, weights=gross, minlength=n_groups)
    cap = ctx.caps[ctx.reg.service[group_case], group_month]
    over = ~np.isnan(cap) & (group_gross > cap)
    group_factor = np.ones(n_groups)
    group_factor[over] = cap[over] / group_gross[over]
    cap_factor = out["cap_factor"][s0:s1]
    np.take(group_factor, group, out=cap_factor)
    gross *= cap_factor

    # co-payment by the recipient's income band, per rule regime
    if ctx.shares.shape[1] == 1:
        share = ctx.shares[:, 0][sub_case][parent]
    else:
        share = ctx.shares[sub_case[parent], cal.regime[entry]]
    copay = np.multiply(gross, share, out=share)  # state = gross − copay is derived, not stored

    np.add(parent, a, out=out["sub"][s0:s1])
    out["entry"][s0:s1] = entry
    out["segment_from"][s0:s1] = split.start
    out["segment_to"][s0:s1] = split.end
    out["cm_case"][g0:g1] = group_case
    out["cm_month"][g0:g1] = group_month
    out["cm_funded"][g0:g1] = sub_funded[parent[first]]
    out["cm_gross_uah"][g0:g1] = round_kopiyka(
        np.bincount(group, weights=gross, minlength=n_groups)
    )
    out["cm_copay_uah"][g0:g1] = round_kopiyka(
        np.bincount(group, weights=copay, minlength=n_groups)
    )
    out["cm_days"][g0:g1] = np.bincount(group, weights=days, minlength=n_groups)
    np.add(last, s0, out=out["cm_last"][g0:g1])
    return s1, g1


# What the core stores (allocated once, written block by block). Copay and state per segment and
# state and case-months per case-month are one operation away (gross × share, gross − copay,
# days / days_in_month) and are derived when the output frames are built.
_SEGMENT_ARRAYS = {
    "sub": np.int32, "entry": np.int32, "segment_from": np.int32, "segment_to": np.int32,
    "units": np.float64, "cap_factor": np.float64, "gross_uah": np.float64,
}  # fmt: skip
_CASE_MONTH_ARRAYS = {
    "case": np.int32, "month": np.int32, "funded": np.bool_, "gross_uah": np.float64,
    "copay_uah": np.float64, "days": np.int32, "last": np.int32,
}  # fmt: skip


def price_core(
    reg: IndexedRegistry,
    model: FundingModel,
    months: list[dt.date],
    hromada_oblast: list[str | None] | None = None,
    *,
    block_segments: int = 1 << 21,
) -> PricedCore:
    """Segment, price and total every case over `months` (first days of months, ascending).

    Work proceeds in blocks of whole cases (about `block_segments` segments each) so temporaries
    stay small and are reused; results land in arrays allocated once. `hromada_oblast` (oblast code
    per hromada index) is needed only by scenario changes restricted to oblasts.
    """
    period_start = months[0]
    period_end = (months[-1] + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    p0, p1 = (period_start - _EPOCH).days, (period_end - _EPOCH).days
    pieces = pieces_from_locations(reg, p0, p1)

    # 1. cut pieces at the serving hromada's coefficient changes (few pieces, few cuts)
    timeline = coef_timeline(
        model, reg.territory_status, len(reg.hromada_codes), period_start, period_end
    )
    cut = split_by_calendar(
        pieces.start,
        pieces.end,
        timeline.hromada_key[pieces.hromada],
        timeline.key,
        timeline.date,
        p0,
    )
    sub_case = pieces.case[cut.parent]

    # 2. each sub-piece is cut at month starts and its rates' change dates: count first, then expand
    combo, combos = _combos(reg)
    regimes = copay_regimes(model, period_start, period_end)
    calendar = rate_calendar(model, combos, months, regimes)
    entry0, count = calendar_bounds(
        cut.start, cut.end, combo[sub_case], calendar.key, calendar.date, p0
    )
    kind_of_service = np.array([_KIND[u] for u in reg.service_units], dtype=np.int8)
    kind = kind_of_service[combos["service"].to_numpy()][calendar.key]
    units_norm, per_day = _rates(
        calendar.tariff,
        calendar.norm_units,
        calendar.max_units,
        calendar.modifier,
        kind,
        calendar.days_in_month,
    )
    assessed = np.where(kind_of_service[reg.service] == _MONTH, np.nan, reg.assessed)
    ctx = _Context(
        reg=reg, model=model, cut=cut, sub_case=sub_case, sub_funded=pieces.funded[cut.parent],
        sub_coef=timeline.coef[cut.entry], sub_mask=timeline.mask[cut.entry],
        sub_assessed=assessed[sub_case], entry0=entry0, count=count, calendar=calendar, kind=kind,
        units_norm=units_norm, per_day=per_day, caps=monthly_caps(model, reg.service_codes, months),
        shares=copay_shares(regimes, reg.income), hromada=pieces.hromada[cut.parent],
        hromada_oblast=hromada_oblast or [None] * len(reg.hromada_codes),
    )  # fmt: skip
    n = int(count.sum())
    arrays = dict(_SEGMENT_ARRAYS)
    if model.adjustments.height:
        arrays |= {"tariff": np.float64, "modifier": np.float64}
    out = {name: np.empty(n, dtype=dtype) for name, dtype in arrays.items()}
    out |= {f"cm_{name}": np.empty(n, dtype=dtype) for name, dtype in _CASE_MONTH_ARRAYS.items()}
    s0 = g0 = 0
    for a, b in _blocks(sub_case, count, block_segments):
        s0, g0 = _price_block(ctx, a, b, s0, g0, out)
    segments = {name: out[name] for name in arrays}
    case_months = {name: out[f"cm_{name}"][:g0] for name in _CASE_MONTH_ARRAYS}
    rows = {"tariff": out["tariff"], "modifier": out["modifier"]} if "tariff" in out else None
    return PricedCore(
        months=months,
        segments=segments,
        case_months=case_months,
        subs={
            "case": sub_case,
            "piece": cut.parent,
            "funded": ctx.sub_funded,
            "coef": ctx.sub_coef,
        },  # fmt: skip
        pieces=pieces,
        calendar=calendar,
        shares=ctx.shares,
        rows=rows,
    )
