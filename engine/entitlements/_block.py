"""Price one block of whole cases: expand its segments, apply every factor, total per case-month.

Blocks keep temporaries small (a few MB, reused by the allocator) while results are written straight
into arrays allocated once for the whole run. Everything here is vector arithmetic over the block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from engine.columns import round_kopiyka
from engine.dates import epoch_days
from engine.params import FundingModel
from engine.params._resolve import STATUS_BITS, RateCalendar
from engine.schemas import DISABILITY_GROUPS
from engine.segments import IndexedRegistry, Split, expand_segments

__all__ = [
    "DAY",
    "KIND",
    "MONTH",
    "PER_UNIT",
    "ROWS",
    "BlockContext",
    "BlockSink",
    "Groups",
    "price_block",
    "rates",
    "round_kopiyka",
]

ROWS = ("tariff", "modifier", "max", "units")  # per-segment factors under a territorial scenario
PER_UNIT, MONTH, DAY = 0, 1, 2
KIND = {"hour": PER_UNIT, "visit": PER_UNIT, "month": MONTH, "day": DAY}


class BlockSink(Protocol):
    """Where a priced block's wide output columns go (`engine.entitlements._wide.WideSink`); a
    protocol, so pricing a block needs nothing of the module that assembles the wide frames."""

    def write(
        self,
        block: tuple[int, int],
        at: tuple[int, int],
        split: Split,
        groups: Groups,
        *,
        days: np.ndarray,
        gross: np.ndarray,
        capped: tuple[np.ndarray, np.ndarray] | None,
    ) -> None: ...


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
    per_day: np.ndarray  # per calendar entry: price of one day per unit
    per_day_norm: np.ndarray  # per calendar entry: price of one day at the norm volume
    rates_have_gaps: bool  # some calendar entry has a factor not in force (NaN)
    sub_priced_assessed: np.ndarray  # assessed volume of hour/visit services, NaN otherwise
    caps: np.ndarray  # monthly cap per (service, month), NaN = none
    capped_case: np.ndarray  # bool per case: its service has a monthly cap in the period
    shares: np.ndarray  # co-payment share per (case, copay regime)
    hromada_oblast: list[str | None]
    # dated circumstances (a benefits extract): per sub-piece share and disability group
    sub_shares: np.ndarray | None = None  # co-payment share per (sub-piece, copay regime)
    sub_disability: np.ndarray | None = None  # index into DISABILITY_GROUPS per sub-piece


def _adjust(
    ctx: BlockContext,
    values: dict[str, np.ndarray],
    *,
    case: np.ndarray,
    start: np.ndarray,
    status_mask: np.ndarray,
    hromada: np.ndarray,
    disability: np.ndarray,
) -> None:
    """Apply a scenario's territorial changes in place, one vector pass per change (a handful)."""
    reg = ctx.reg
    columns = {"tariff": "tariff", "norm_units": "norm", "max_units": "max", "modifier": "modifier"}
    groups = np.array(reg.service_groups, dtype=object)
    for row in ctx.model.adjustments.iter_rows(named=True):
        hit = start >= np.int32(epoch_days(row["valid_from"]))
        if row["valid_to"] is not None:
            hit &= start <= np.int32(epoch_days(row["valid_to"]))
        if row["service_code"] is not None:
            known = row["service_code"] in reg.service_codes
            hit &= reg.service[case] == (
                reg.service_codes.index(row["service_code"]) if known else -1
            )
        if row["need_level"] is not None:
            hit &= reg.need_level[case] == row["need_level"]
        if row["disability_group"] is not None:
            hit &= disability == DISABILITY_GROUPS.index(row["disability_group"])
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
    days: np.ndarray,
    gross: np.ndarray,
    rows_out: dict[str, np.ndarray] | None,
) -> None:
    """Fill `gross` (before the monthly cap) for the block's segments.

    Without a territorial scenario every factor but the assessed volume and the coefficient is
    already folded into the calendar entry (`per_day_norm`): one lookup per segment.
    """
    cal, parent, entry = ctx.calendar, split.parent, split.entry
    if rows_out is not None:  # a territorial scenario: factors per segment
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
            disability=(
                ctx.reg.disability[ctx.sub_case[a:b][parent]]
                if ctx.sub_disability is None
                else ctx.sub_disability[a:b][parent]
            ),
        )
        kind = ctx.kind[entry]
        units, per_day = rates(values, kind, cal.days_in_month[entry])
        assessed = ctx.sub_assessed[a:b][parent]
        known = ~np.isnan(assessed)
        units[known] = np.minimum(assessed[known], values["max"][known])
        for name in ("tariff", "modifier", "max"):
            rows_out[name][:] = values[name]
        rows_out["units"][:] = units
        np.multiply(per_day, np.where(kind == DAY, 1.0, units), out=gross)
    else:
        np.take(ctx.per_day_norm, entry, out=gross)
        assessed = ctx.sub_priced_assessed[a:b]
        with_assessment = ~np.isnan(assessed)
        if with_assessment.any():  # hour/visit services with an assessed volume
            hit = np.flatnonzero(with_assessment[parent])
            at = entry[hit]
            gross[hit] = ctx.per_day[at] * np.minimum(assessed[parent[hit]], cal.max_units[at])
    gross *= days
    gross *= ctx.sub_coef[a:b][parent]
    if rows_out is not None or ctx.rates_have_gaps:  # a factor not in force: not financed
        gross[np.isnan(gross)] = 0.0


def _merged_groups(
    run_start: np.ndarray, case: np.ndarray, month: np.ndarray, funded: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group id of every segment, and each group's first and last segment, when some case
    switches between waiting and served twice within one month (its runs are not contiguous)."""
    run_end = np.r_[run_start[1:], n] - 1
    order = np.lexsort((funded, month, case))
    rc, rm, rf = case[order], month[order], funded[order]
    key_change = np.ones(len(order), dtype=bool)
    key_change[1:] = (rc[1:] != rc[:-1]) | (rm[1:] != rm[:-1]) | (rf[1:] != rf[:-1])
    group_of_run = np.empty(len(order), dtype=np.intp)
    group_of_run[order] = np.cumsum(key_change) - 1
    n_groups = int(key_change.sum())
    first = np.full(n_groups, n, dtype=np.int64)
    last = np.full(n_groups, -1, dtype=np.int64)
    np.minimum.at(first, group_of_run, run_start)
    np.maximum.at(last, group_of_run, run_end)
    run_of_segment = np.repeat(np.arange(len(run_start)), np.diff(np.r_[run_start, n]))
    return group_of_run[run_of_segment], first, last


def _runs(ctx: BlockContext, a: int, b: int, split: Split) -> tuple[np.ndarray, np.ndarray | None]:
    """Start of every run of segments with the same (case, month, funded).

    A new run starts where a month starts inside a sub-piece, or where a sub-piece starts on another
    case, funding state or month. Runs are the case-month groups unless a case switches between
    waiting and served twice within a month; then group ids are returned as well (rare).
    """
    cal, entry = ctx.calendar, split.entry
    m = len(entry)
    sub_case, sub_funded = ctx.sub_case[a:b], ctx.sub_funded[a:b]
    month_first = cal.month[entry[split.first]]
    month_last = cal.month[entry[np.r_[split.first[1:], m] - 1]]
    same_case = sub_case[1:] == sub_case[:-1]
    flips = same_case & (sub_funded[1:] != sub_funded[:-1])
    sub_change = np.ones(b - a, dtype=bool)
    sub_change[1:] = ~same_case | flips | (month_first[1:] != month_last[:-1])
    change = cal.month_start[entry]
    change[split.first] = sub_change
    run_start = np.flatnonzero(change)
    # a flip inside a month, twice for the same case and month, splits one group into two runs
    inside = np.flatnonzero(flips & (month_first[1:] == month_last[:-1])) + 1
    twice = (sub_case[inside][1:] == sub_case[inside][:-1]) & (
        month_first[inside][1:] == month_first[inside][:-1]
    )
    if not twice.any():
        return run_start, None
    run_sub = split.parent[run_start]
    group, first, _ = _merged_groups(
        run_start, sub_case[run_sub], cal.month[entry[run_start]], sub_funded[run_sub], m
    )
    return first, group


@dataclass(frozen=True, eq=False)
class Groups:
    """The (case, month, funded) groups of a block's segments."""

    first: np.ndarray  # first segment of each group
    last: np.ndarray  # last segment of each group
    group: np.ndarray | None  # group of each segment, only when groups are not contiguous

    def sum(self, values: np.ndarray) -> np.ndarray:
        if self.group is None:
            return np.add.reduceat(values, self.first) if len(values) else values[:0]
        return np.bincount(self.group, weights=values, minlength=len(self.first))


def _groups_of(ctx: BlockContext, a: int, b: int, split: Split) -> Groups:
    first, group = _runs(ctx, a, b, split)
    m = len(split.entry)
    if group is None:
        return Groups(first, np.r_[first[1:], m] - 1, None)
    last = np.full(len(first), -1, dtype=np.int64)
    np.maximum.at(last, group, np.arange(m))
    return Groups(first, last, group)


def _apply_cap(
    ctx: BlockContext,
    entry: np.ndarray,
    groups: Groups,
    *,
    group_case: np.ndarray,
    gross: np.ndarray,
    group_gross: np.ndarray,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Monthly cap on the sum of gross per (case, month, funded), read on the month's first day;
    scales the segments of capped groups in place and returns them with their factor."""
    capped = np.flatnonzero(ctx.capped_case[group_case])
    if not len(capped):
        return None
    month = ctx.calendar.month[entry[groups.first]]
    cap = ctx.caps[ctx.reg.service[group_case[capped]], month[capped]]
    over = capped[group_gross[capped] > cap]  # NaN (no cap in force) compares False
    factor = ctx.caps[ctx.reg.service[group_case[over]], month[over]] / group_gross[over]
    hit, hit_factor = _members(
        over, factor, first=groups.first, last=groups.last, group=groups.group
    )
    gross[hit] *= hit_factor
    group_gross[over] *= factor
    return hit, hit_factor


def price_block(
    ctx: BlockContext,
    block: tuple[int, int],
    at: tuple[int, int],
    out: dict[str, np.ndarray],
    *,
    capped_segments: list[tuple[np.ndarray, np.ndarray]],
    explicit: dict[int, np.ndarray],
    wide: BlockSink | None = None,
) -> tuple[int, int]:
    """Segment and price sub-pieces `block = (a, b)`; write segments and case-months from `at`.

    Stored per segment: its gross (cap factors other than 1 go to `capped_segments`); per
    case-month: its last segment, rounded gross and co-payment, and days. A segment's sub-piece,
    calendar entry and case-month follow from the counts and the case-months' last segments
    (`PricedCore.segment_index`), except in a block where a case switches between waiting and
    served twice within a month: there the case-month of each segment goes to `explicit`.
    With `wide`, the block's output columns, case-month keys and parts are written there too.
    Returns where the next block writes.
    """
    (a, b), (s0, g0) = block, at
    cal = ctx.calendar
    split = expand_segments(
        ctx.cut.start[a:b], ctx.cut.end[a:b], ctx.entry0[a:b], ctx.count[a:b], cal.date
    )
    parent, entry = split.parent, split.entry
    s1 = s0 + len(entry)
    days = split.end - split.start
    days += 1
    gross = out["gross_uah"][s0:s1]
    rows_out = {k: out[k][s0:s1] for k in ROWS} if "tariff" in out else None
    _price(ctx, a, b, split, days=days, gross=gross, rows_out=rows_out)

    groups = _groups_of(ctx, a, b, split)
    g1 = g0 + len(groups.first)
    sub_case = ctx.sub_case[a:b]
    group_case = sub_case[parent[groups.first]]
    group_gross = groups.sum(gross)
    capped = _apply_cap(
        ctx, entry, groups, group_case=group_case, gross=gross, group_gross=group_gross
    )
    if capped is not None:
        capped_segments.append((capped[0] + s0, capped[1]))  # the factor is 1 everywhere else
    # co-payment by the recipient's income band: one share per case and rule regime
    if ctx.sub_shares is not None:  # dated income: the share of each segment's sub-piece
        copay = ctx.sub_shares[a:b][parent, cal.regime[entry]]
        copay *= gross
        group_copay = groups.sum(copay)
    elif ctx.shares.shape[1] == 1:
        group_copay = group_gross * ctx.shares[group_case, 0]
    else:
        copay = ctx.shares[sub_case[parent], cal.regime[entry]]
        copay *= gross
        group_copay = groups.sum(copay)

    if groups.group is not None:  # rare: the case-month of each segment cannot be inferred
        explicit[s0] = (groups.group + g0).astype(np.int32)
    round_kopiyka(group_gross, out=out["cm_gross_uah"][g0:g1])
    round_kopiyka(group_copay, out=out["cm_copay_uah"][g0:g1])
    out["cm_days"][g0:g1] = groups.sum(days)
    np.add(groups.last, s0, out=out["cm_last"][g0:g1])
    if wide is not None:
        wide.write(block, at, split, groups, days=days, gross=gross, capped=capped)
    return s1, g1


def _members(
    groups: np.ndarray,
    values: np.ndarray,
    *,
    first: np.ndarray,
    last: np.ndarray,
    group: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The segments of `groups`, and each one's group value from `values`."""
    if group is None:  # contiguous groups: ranges first..last
        sizes = last[groups] - first[groups] + 1
        offsets = np.repeat(first[groups] - (np.cumsum(sizes) - sizes), sizes)
        return offsets + np.arange(int(sizes.sum())), np.repeat(values, sizes)
    per_group = np.zeros(len(first))
    chosen = np.zeros(len(first), dtype=bool)
    per_group[groups], chosen[groups] = values, True
    hit = np.flatnonzero(chosen[group])
    return hit, per_group[group[hit]]
