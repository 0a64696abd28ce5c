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
    coef_timeline,
    copay_regimes,
    copay_shares,
    monthly_caps,
    rate_calendar,
)
from engine.schemas import DISABILITY_GROUPS
from engine.segments import IndexedRegistry, pieces_from_locations, split_by_calendar

__all__ = ["PricedCore", "price_core", "round_kopiyka"]

_EPOCH = dt.date(1970, 1, 1)


def round_kopiyka(values: np.ndarray) -> np.ndarray:
    """Round UAH to kopiyky, half away from zero (float noise below 1e-6 kopiyka ignored)."""
    scaled = np.round(np.abs(values) * 100.0, 6)
    return np.sign(values) * np.floor(scaled + 0.5) / 100.0


@dataclass(frozen=True, eq=False)
class PricedCore:
    """Lean result: segment and case-month columns as arrays keyed by integer indexes."""

    months: list[dt.date]
    segments: dict[str, np.ndarray]
    case_months: dict[str, np.ndarray]


def _combos(reg: IndexedRegistry) -> tuple[np.ndarray, pl.DataFrame]:
    """Number the (service, need level, disability group) combinations present among the cases."""
    n_groups = len(DISABILITY_GROUPS) + 1
    code = (reg.service.astype(np.int64) * 8 + reg.need_level.astype(np.int64)) * n_groups
    code += reg.disability
    unique, combo = np.unique(code, return_inverse=True)
    service = unique // (8 * n_groups)
    level = (unique // n_groups) % 8
    disability = unique % n_groups
    groups = [*DISABILITY_GROUPS, None]
    frame = pl.DataFrame(
        {
            "combo": np.arange(len(unique), dtype=np.int64),
            "service_code": [reg.service_codes[s] for s in service],
            "need_level": level.astype(np.int64),
            "disability_group": [groups[d] for d in disability],
            "service_group": [reg.service_groups[s] for s in service],
        },
        schema_overrides={"disability_group": pl.String},
    )
    return combo.astype(np.int32), frame


def _group_ids(
    case: np.ndarray, month: np.ndarray, funded: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Number the (case, month, funded) groups of time-ordered segments.

    Returns the group id of every segment and each group's first and last segment. Segments of one
    group are contiguous unless a case switches between waiting and served twice within a month;
    that rare case is merged by a sort over the runs only.
    """
    n = len(case)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    change = np.empty(n, dtype=bool)
    change[0] = True
    np.not_equal(case[1:], case[:-1], out=change[1:])
    change[1:] |= month[1:] != month[:-1]
    change[1:] |= funded[1:] != funded[:-1]
    starts = np.flatnonzero(change)
    run_id = np.cumsum(change) - 1
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:] - 1
    ends[-1] = n - 1
    rc, rm, rf = case[starts], month[starts], funded[starts]
    new_cm = np.ones(len(starts), dtype=bool)
    new_cm[1:] = (rc[1:] != rc[:-1]) | (rm[1:] != rm[:-1])
    runs_in_cm = np.diff(np.append(np.flatnonzero(new_cm), len(starts)))
    if runs_in_cm.max() <= 2:  # each (case, month) has at most one waiting and one served run
        return run_id, starts, ends
    order = np.lexsort((rf, rm, rc))
    key_change = np.ones(len(order), dtype=bool)
    key_change[1:] = (
        (rc[order][1:] != rc[order][:-1])
        | (rm[order][1:] != rm[order][:-1])
        | (rf[order][1:] != rf[order][:-1])
    )
    group_of_sorted = np.cumsum(key_change) - 1
    group_of_run = np.empty(len(order), dtype=np.int64)
    group_of_run[order] = group_of_sorted
    n_groups = int(group_of_sorted[-1]) + 1
    first = np.full(n_groups, n, dtype=np.int64)
    last = np.full(n_groups, -1, dtype=np.int64)
    np.minimum.at(first, group_of_run, starts)
    np.maximum.at(last, group_of_run, ends)
    return group_of_run[run_id], first, last


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
            code = reg.service_codes.index(row["service_code"]) if row["service_code"] in reg.service_codes else -1
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


def price_core(
    reg: IndexedRegistry,
    model: FundingModel,
    months: list[dt.date],
    hromada_oblast: list[str | None] | None = None,
) -> PricedCore:
    """Segment, price and total every case over `months` (first days of months, ascending).

    `hromada_oblast` (oblast code per hromada index) is needed only by scenario changes restricted to
    oblasts.
    """
    period_start = months[0]
    period_end = (months[-1] + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    p0, p1 = (period_start - _EPOCH).days, (period_end - _EPOCH).days
    pieces = pieces_from_locations(reg, p0, p1)

    # 1. cut at the serving hromada's coefficient changes
    timeline = coef_timeline(model, reg.territory_status, len(reg.hromada_codes), period_start, period_end)
    cut = split_by_calendar(
        pieces.start, pieces.end, timeline.hromada_key[pieces.hromada], timeline.key, timeline.date, p0
    )
    sub_case = pieces.case[cut.parent]
    sub_coef = timeline.coef[cut.entry]
    sub_mask = timeline.mask[cut.entry]

    # 2. cut at month starts and at the change dates of the case's own rates
    combo, combos = _combos(reg)
    regimes = copay_regimes(model, period_start, period_end)
    calendar = rate_calendar(model, combos, months, regimes)
    seg = split_by_calendar(cut.start, cut.end, combo[sub_case], calendar.key, calendar.date, p0)
    parent, entry = seg.parent, seg.entry
    piece = cut.parent[parent]
    case = sub_case[parent]
    coef = sub_coef[parent]
    hromada = pieces.hromada[piece]
    funded = pieces.funded[piece]
    month = calendar.month[entry]
    days_in_month = calendar.days_in_month[entry]
    days = (seg.end - seg.start + 1).astype(np.int32)
    values = {
        "tariff": calendar.tariff[entry],
        "norm": calendar.norm_units[entry],
        "max": calendar.max_units[entry],
        "modifier": calendar.modifier[entry],
    }
    if model.adjustments.height:
        _apply_adjustments(
            model, reg, values, case, seg.start, sub_mask[parent], hromada,
            hromada_oblast or [None] * len(reg.hromada_codes),
        )

    unit = np.array(reg.service_units, dtype=object)
    service = reg.service[case]
    per_month = (unit == "month")[service]
    per_day = (unit == "day")[service]
    assessed = reg.assessed[case]
    units = np.minimum(np.where(np.isnan(assessed), values["norm"], assessed), values["max"])
    units[per_month] = 1.0
    tariff = values["tariff"]
    price = np.where(per_day, tariff * days, tariff * units * days / days_in_month)
    gross = price * coef * values["modifier"]
    np.nan_to_num(gross, copy=False, nan=0.0)

    # 3. monthly cap on the sum of a case's gross per (case, month, funded), read on the 1st
    group, first, last = _group_ids(case, month, funded)
    group_gross = np.bincount(group, weights=gross, minlength=len(first))
    group_case, group_month = case[first], month[first]
    cap = monthly_caps(model, reg.service_codes, months)[reg.service[group_case], group_month]
    over = ~np.isnan(cap) & (group_gross > cap)
    group_factor = np.ones(len(first))
    group_factor[over] = cap[over] / group_gross[over]
    cap_factor = group_factor[group]
    gross *= cap_factor

    shares = copay_shares(regimes, reg.income)
    copay_share = shares[case, calendar.regime[entry]]
    copay = gross * copay_share
    state = gross - copay

    case_months_days = np.bincount(group, weights=days, minlength=len(first))
    group_gross_r = round_kopiyka(np.bincount(group, weights=gross, minlength=len(first)))
    group_copay_r = round_kopiyka(np.bincount(group, weights=copay, minlength=len(first)))
    segments = {
        "case": case,
        "month": month,
        "segment_from": seg.start,
        "segment_to": seg.end,
        "days": days,
        "days_in_month": days_in_month,
        "hromada": hromada,
        "provider": pieces.provider[piece],
        "funded": funded,
        "units": units,
        "tariff": tariff,
        "coef": coef,
        "modifier": values["modifier"],
        "cap_factor": cap_factor,
        "gross_uah": gross,
        "copay_share": copay_share,
        "copay_uah": copay,
        "state_uah": state,
    }
    case_months = {
        "case": group_case,
        "month": group_month,
        "funded": funded[first],
        "gross_uah": group_gross_r,
        "copay_uah": group_copay_r,
        "state_uah": group_gross_r - group_copay_r,
        "days": case_months_days.astype(np.int64),
        "case_months": np.bincount(group, weights=days / days_in_month, minlength=len(first)),
        "first": first,
        "last": last,
    }
    return PricedCore(months=months, segments=segments, case_months=case_months)
