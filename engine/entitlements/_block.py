"""Price one block of whole cases: expand its segments, apply every factor, total per case-month.

Blocks keep temporaries small (a few MB, reused by the allocator) while results are written straight
into arrays allocated once for the whole run. Everything here is vector arithmetic over the block.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from engine.params import FundingModel
from engine.params._resolve import STATUS_BITS, RateCalendar
from engine.schemas import DISABILITY_GROUPS
from engine.segments import IndexedRegistry, Split, expand_segments

__all__ = [
    "DAY",
    "KIND",
    "MONTH",
    "BlockContext",
    "price_block",
    "rates",
    "round_kopiyka",
]

_EPOCH = dt.date(1970, 1, 1)
PER_UNIT, MONTH, DAY = 0, 1, 2
KIND = {"hour": PER_UNIT, "visit": PER_UNIT, "month": MONTH, "day": DAY}


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


def rates(
    factors: dict[str, np.ndarray], kind: np.ndarray, days_in_month: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: units from the norm (1 for month services) and the price of one day before units
    and territory coefficient: tariff × modifier / days_in_month, or tariff × modifier for bed-days."""
    units_norm = np.where(kind == MONTH, 1.0, np.minimum(factors["norm"], factors["max"]))
    per_day = factors["tariff"] * factors["modifier"] / np.where(kind == DAY, 1.0, days_in_month)
    return units_norm, per_day


@dataclass(frozen=True, eq=False)
class BlockContext:
    """Everything a block needs: sub-piece arrays, rate calendar, per-entry rates, caps, shares."""

    reg: IndexedRegistry
    model: FundingModel
    cut: Split  # pieces cut at coefficient changes ("sub-pieces")
    sub_case: np.ndarray
    sub_funded: np.ndarray
    sub_coef: np.ndarray
    sub_mask: np.ndarray  # bit set of the serving hromada's statuses
    sub_hromada: np.ndarray
    sub_assessed: np.ndarray  # NaN where the norm applies (or the service is paid per month)
    entry0: np.ndarray  # rate-calendar entry in force on each sub-piece's first day
    count: np.ndarray  # segments of each sub-piece
    calendar: RateCalendar
    kind: np.ndarray  # unit kind per calendar entry
    units_norm: np.ndarray  # per calendar entry
    per_day: np.ndarray  # per calendar entry
    caps: np.ndarray  # monthly cap per (service, month), NaN = none
    shares: np.ndarray  # co-payment share per (case, copay regime)
    hromada_oblast: list[str | None]


def _adjust(
    ctx: BlockContext,
    values: dict[str, np.ndarray],
    *,
    case: np.ndarray,
    start: np.ndarray,
    status_mask: np.ndarray,
    hromada: np.ndarray,
) -> None:
    """Apply a scenario's territorial changes in place, one vector pass per change (a handful)."""
    reg = ctx.reg
    columns = {"tariff": "tariff", "norm_units": "norm", "max_units": "max", "modifier": "modifier"}
    groups = np.array(reg.service_groups, dtype=object)
    for row in ctx.model.adjustments.iter_rows(named=True):
        hit = start >= np.int32((row["valid_from"] - _EPOCH).days)
        if row["valid_to"] is not None:
            hit &= start <= np.int32((row["valid_to"] - _EPOCH).days)
        if row["service_code"] is not None:
            known = row["service_code"] in reg.service_codes
            hit &= reg.service[case] == (reg.service_codes.index(row["service_code"]) if known else -1)
        if row["need_level"] is not None:
            hit &= reg.need_level[case] == row["need_level"]
        if row["disability_group"] is not None:
            hit &= reg.disability[case] == DISABILITY_GROUPS.index(row["disability_group"])
        if row["service_group"] is not None:
            hit &= (groups == row["service_group"])[reg.service[case]]
        if row["status"] is not None:
            hit &= (status_mask & STATUS_BITS[row["status"]]) != 0
        if row["oblast_codes"] is not None:
            wanted = set(row["oblast_codes"])
            hit &= np.array([o in wanted for o in ctx.hromada_oblast], dtype=bool)[hromada]
        target = values[columns[row["parameter"]]]
        if row["op"] == "multiply":
            target[hit] *= row["value"]
        else:
            target[hit] = row["value"]


def _price(
    ctx: BlockContext,
    a: int,
    b: int,
    split: Split,
    *,
    units: np.ndarray,
    gross: np.ndarray,
    factors_out: dict[str, np.ndarray] | None,
) -> None:
    """Fill `units` and `gross` (before the monthly cap) for the block's segments."""
    cal, parent, entry = ctx.calendar, split.parent, split.entry
    if ctx.model.adjustments.height and factors_out is not None:  # territorial scenario
        values = {
            "tariff": cal.tariff[entry],
            "norm": cal.norm_units[entry],
            "max": cal.max_units[entry],
            "modifier": cal.modifier[entry],
        }
        _adjust(
            ctx,
            values,
            case=ctx.sub_case[a:b][parent],
            start=split.start,
            status_mask=ctx.sub_mask[a:b][parent],
            hromada=ctx.sub_hromada[a:b][parent],
        )
        factors_out["tariff"][:] = values["tariff"]
        factors_out["modifier"][:] = values["modifier"]
        units[:], gross[:] = rates(values, ctx.kind[entry], cal.days_in_month[entry])
        max_units = values["max"]
    else:
        np.take(ctx.units_norm, entry, out=units)
        np.take(ctx.per_day, entry, out=gross)
        max_units = None
    assessed = ctx.sub_assessed[a:b]
    with_assessment = ~np.isnan(assessed)
    if with_assessment.any():
        hit = np.flatnonzero(with_assessment[parent])
        cap_units = max_units[hit] if max_units is not None else cal.max_units[entry[hit]]
        units[hit] = np.minimum(assessed[parent[hit]], cap_units)
    gross *= split.end - split.start + 1
    gross *= ctx.sub_coef[a:b][parent]
    gross *= np.where(ctx.kind[entry] == DAY, 1.0, units)  # bed-days: priced per day, not unit
    np.nan_to_num(gross, copy=False, nan=0.0)  # a factor not in force: not financed


def _merge_runs(
    group: np.ndarray,
    run_start: np.ndarray,
    *,
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


def _groups(
    ctx: BlockContext, a: int, b: int, split: Split
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(case, month, funded) group of each segment: a new group where a month starts inside a
    sub-piece, or where a sub-piece starts on another case, funding state or month."""
    cal, parent, entry = ctx.calendar, split.parent, split.entry
    m = len(entry)
    sub_case, sub_funded = ctx.sub_case[a:b], ctx.sub_funded[a:b]
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
    return _merge_runs(
        group,
        run_start,
        run_case=sub_case[run_sub],
        run_month=cal.month[entry[run_start]],
        run_funded=sub_funded[run_sub],
        n=m,
    )


def price_block(
    ctx: BlockContext, block: tuple[int, int], at: tuple[int, int], out: dict[str, np.ndarray]
) -> tuple[int, int]:
    """Segment and price sub-pieces `block = (a, b)`; write segments and case-months from `at`.

    Returns where the next block writes.
    """
    (a, b), (s0, g0) = block, at
    cal = ctx.calendar
    split = expand_segments(
        ctx.cut.start[a:b], ctx.cut.end[a:b], ctx.entry0[a:b], ctx.count[a:b], cal.date
    )
    parent, entry = split.parent, split.entry
    s1 = s0 + len(entry)
    gross = out["gross_uah"][s0:s1]
    factors_out = {k: out[k][s0:s1] for k in ("tariff", "modifier")} if "tariff" in out else None
    _price(ctx, a, b, split, units=out["units"][s0:s1], gross=gross, factors_out=factors_out)
    group, first, last = _groups(ctx, a, b, split)
    n_groups = len(first)
    g1 = g0 + n_groups
    sub_case = ctx.sub_case[a:b]
    group_case, group_month = sub_case[parent[first]], cal.month[entry[first]]

    # monthly cap on the sum of gross per (case, month, funded), read on the month's first day
    group_gross = np.bincount(group, weights=gross, minlength=n_groups)
    cap = ctx.caps[ctx.reg.service[group_case], group_month]
    over = ~np.isnan(cap) & (group_gross > cap)
    group_factor = np.ones(n_groups)
    group_factor[over] = cap[over] / group_gross[over]
    cap_factor = out["cap_factor"][s0:s1]
    np.take(group_factor, group, out=cap_factor)
    gross *= cap_factor

    # co-payment by the recipient's income band, per rule regime (state = gross − copay, derived)
    if ctx.shares.shape[1] == 1:
        copay = ctx.shares[:, 0][sub_case][parent]
    else:
        copay = ctx.shares[sub_case[parent], cal.regime[entry]]
    copay *= gross

    np.add(parent, a, out=out["sub"][s0:s1])
    out["entry"][s0:s1] = entry
    out["segment_from"][s0:s1] = split.start
    out["segment_to"][s0:s1] = split.end
    out["cm_case"][g0:g1] = group_case
    out["cm_month"][g0:g1] = group_month
    out["cm_funded"][g0:g1] = ctx.sub_funded[a:b][parent[first]]
    out["cm_gross_uah"][g0:g1] = round_kopiyka(np.bincount(group, weights=gross, minlength=n_groups))
    out["cm_copay_uah"][g0:g1] = round_kopiyka(np.bincount(group, weights=copay, minlength=n_groups))
    days = split.end - split.start + 1
    out["cm_days"][g0:g1] = np.bincount(group, weights=days, minlength=n_groups)
    np.add(last, s0, out=out["cm_last"][g0:g1])
    return s1, g1
