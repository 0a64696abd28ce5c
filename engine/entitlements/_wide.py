"""What the output frames need, written block by block while pricing (`price_core(wide=True)`).

A block already holds every segment's sub-piece, calendar entry and case-month; writing the output
columns there, into arrays allocated once in their final dtypes, spares re-deriving them from the
lean core afterwards (a dozen passes over every segment) and lets the output frames wrap the arrays
without copies. Three groups of arrays:

- per segment: dates, days, factors, amounts and the integer keys (case, serving hromada, provider)
  that string columns are gathered by (a hromada or provider key one past the last means none);
- per case-month: the keys of its last segment (case, month, funded, hromada, provider);
- per *part* (a run of segments of one case-month with one hromada and provider; see
  `engine.rollups`): its keys, days and money, rounded so parts add up to the rounded case-month
  totals, which is all rollups and flows need.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from engine.buffers import empty
from engine.dates import epoch_days, month_index
from engine.entitlements._block import round_kopiyka

if TYPE_CHECKING:
    from engine.entitlements._block import BlockContext, Groups
    from engine.segments import Pieces, Split

__all__ = ["Wide", "WideSink", "month_serials"]

_I32, _U32, _F64 = np.int32, np.uint32, np.float64
# per segment; units, tariff and modifier only without a territorial scenario (the core keeps them)
_SEGMENT = {
    "segment_from": _I32, "segment_to": _I32, "days": _I32, "days_in_month": _I32, "month": _I32,
    "age": _I32, "case": _U32, "hromada": _U32, "provider": _U32, "funded": np.bool_,
    "coef": _F64, "cap_factor": _F64, "copay_share": _F64, "copay_uah": _F64,
}  # fmt: skip
_FACTORS = {"units": _F64, "tariff": _F64, "modifier": _F64}
_CASE_MONTH = {
    "case": _U32,
    "month": np.int16,
    "funded": np.bool_,
    "hromada": _U32,
    "provider": _U32,
}
_PART = {
    "month": np.int16, "funded": np.bool_, "hromada": _U32, "provider": _U32, "service": _U32,
    "registered": _U32, "days": _F64, "gross_uah": _F64, "copay_uah": _F64,
}  # fmt: skip


def month_serials(months: list[dt.date]) -> tuple[np.ndarray, np.ndarray]:
    """First day (days since 1970-01-01) and year × 12 + month − 1 of every month of the period."""
    first = np.array([epoch_days(m) for m in months], dtype=np.int32)
    serial = np.array([month_index(m) for m in months], dtype=np.int32)
    return first, serial


def _birth_serials(birth: pl.Series) -> tuple[np.ndarray, np.ndarray | None]:
    """Per case: year × 12 + month − 1 of birth, plus one when born after the 1st, so that the age
    on a month's first day is ⌊(month serial − birth serial) / 12⌋; and which births are unknown."""
    parts = pl.select(
        serial=birth.dt.year().cast(pl.Int32) * 12
        + birth.dt.month().cast(pl.Int32)
        - 1
        + (birth.dt.day() > 1).cast(pl.Int32)
    ).to_series()
    unknown = parts.is_null().to_numpy() if parts.null_count() else None
    return parts.fill_null(0).to_numpy().astype(np.int32, copy=False), unknown


def _slots(index: np.ndarray, size: int) -> np.ndarray:
    return np.where(index >= 0, index, size).astype(_U32)


@dataclass(frozen=True, eq=False)
class Wide:
    """The arrays written while pricing, trimmed to their lengths."""

    segments: dict[str, np.ndarray]
    case_months: dict[str, np.ndarray]  # emptied by `take_case_months`
    parts: dict[str, np.ndarray]  # emptied by `take_parts`
    month_day: np.ndarray  # first day of each month index, days since 1970-01-01
    month_serial: np.ndarray  # year × 12 + month − 1 of each month index
    birth_serial: np.ndarray  # per case, see `_birth_serials`
    unknown_birth: np.ndarray | None  # per case, None when every birth date is known

    def take_parts(self) -> dict[str, np.ndarray]:
        """Hand the parts over (needed once, by rollups and flows; freed once dropped)."""
        taken = dict(self.parts)
        self.parts.clear()
        return taken

    def take_case_months(self) -> dict[str, np.ndarray]:
        """Hand the case-month keys over (needed once, by the case-month frame)."""
        taken = dict(self.case_months)
        self.case_months.clear()
        return taken


class WideSink:
    """Arrays allocated once for `n` segments (case-months and parts are never more), filled by
    `write` for each block in turn. Holds the running count of parts written.

    Gathers use `np.take(..., mode="clip")` with intp indexes: indexes are valid by construction,
    and numpy neither converts nor buffers such a take."""

    def __init__(
        self,
        ctx: BlockContext,
        pieces: Pieces,
        months: list[dt.date],
        n: int,
        *,
        totals: dict[str, np.ndarray],
        registered: np.ndarray,
    ) -> None:
        """`totals`: the core's case-month gross and copay arrays, whose rounded values a block
        writes before its parts are made; `registered`: each case's registered hromada (-1 when
        unknown)."""
        self.ctx = ctx
        self.totals = totals
        segment = _SEGMENT if ctx.model.adjustments.height else _SEGMENT | _FACTORS
        self.segments = {name: empty(n, dtype) for name, dtype in segment.items()}
        self.case_months = {name: empty(n, dtype) for name, dtype in _CASE_MONTH.items()}
        self.parts = {name: empty(n, dtype) for name, dtype in _PART.items()}
        self.month_day, self.month_serial = month_serials(months)
        derived = ctx.reg.derived  # the same for every pricing of the registry: made once
        if "birth_serials" not in derived:
            derived["birth_serials"] = _birth_serials(ctx.reg.cases["birth_date"])
        self.birth_serial, self.unknown_birth = derived["birth_serials"]
        cal = ctx.calendar
        self.entry = {  # per calendar entry
            "month": cal.month.astype(np.int16),
            "month_day": self.month_day[cal.month],
            "month_serial": self.month_serial[cal.month],
            "days_in_month": cal.days_in_month.astype(np.int32),
            "units_norm": ctx.units_norm,
            "max_units": cal.max_units,
            "tariff": cal.tariff,
            "modifier": cal.modifier,
        }
        # per sub-piece; slots: the index, or one past the last for none (waiting) or unknown
        self.sub = {
            "case": ctx.sub_case.astype(np.intp),
            "hromada": _slots(ctx.sub_hromada, len(ctx.reg.hromada_codes)),
            "provider": _slots(pieces.provider[ctx.cut.parent], len(ctx.reg.provider_ids)),
            "funded": ctx.sub_funded,
            "coef": ctx.sub_coef,
        }
        self.per_case = {  # what parts need of their case
            "service": ctx.reg.service.astype(_U32),
            "registered": _slots(registered, len(ctx.reg.hromada_codes)),
        }
        self.share = ctx.shares[:, 0].copy() if ctx.shares.shape[1] == 1 else None
        self.n_parts = 0
        self._scratch: dict[str, np.ndarray] = {}
        self._positions: np.ndarray | None = None

    def _tmp(self, name: str, m: int, dtype: type) -> np.ndarray:
        """A scratch array of `m` items, reused from block to block (temporaries allocated afresh
        in every block would be handed back to the system and faulted in again each time)."""
        buffer = self._scratch.get(name)
        if buffer is None or len(buffer) < m:
            buffer = self._scratch[name] = np.empty(m + m // 4, dtype=dtype)
        return buffer[:m]

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
    ) -> None:
        """Write the block's segments from `at[0]` and case-months from `at[1]`; append its parts.

        `gross` is the block's final gross (after the cap), `capped` the block's capped segments
        and their factors."""
        ctx, by_entry, tmp = self.ctx, self.entry, self._tmp
        (a, b), (s0, g0) = block, at
        m, n_groups = len(split.entry), len(groups.first)
        parent, entry = tmp("parent", m, np.intp), tmp("entry", m, np.intp)
        parent[:], entry[:] = split.parent, split.entry
        seg = {name: values[s0 : s0 + m] for name, values in self.segments.items()}
        seg["segment_from"][:] = split.start
        seg["segment_to"][:] = split.end
        seg["days"][:] = days
        for name in ("hromada", "provider", "funded", "coef"):
            np.take(self.sub[name][a:b], parent, out=seg[name], mode="clip")
        np.take(by_entry["month_day"], entry, out=seg["month"], mode="clip")
        for name in (
            ("days_in_month", "tariff", "modifier") if "tariff" in seg else ("days_in_month",)
        ):
            np.take(by_entry[name], entry, out=seg[name], mode="clip")
        case = np.take(self.sub["case"][a:b], parent, out=tmp("case", m, np.intp), mode="clip")
        seg["case"][:] = case
        age = seg["age"]
        np.take(by_entry["month_serial"], entry, out=age, mode="clip")
        age -= np.take(self.birth_serial, case, out=tmp("birth", m, np.int32), mode="clip")
        age //= 12
        seg["cap_factor"].fill(1.0)
        if capped is not None:
            seg["cap_factor"][capped[0]] = capped[1]
        share = seg["copay_share"]
        if ctx.sub_shares is not None:  # dated circumstances: each sub-piece's own share
            share[:] = ctx.sub_shares[a:b][parent, ctx.calendar.regime[entry]]
        elif self.share is not None:
            np.take(self.share, case, out=share, mode="clip")
        else:
            share[:] = ctx.shares[case, ctx.calendar.regime[entry]]
        np.multiply(gross, share, out=seg["copay_uah"])  # state: gross − copay, exactly, later
        if "units" in seg:  # without a territorial scenario: factors of the calendar entry
            units = seg["units"]
            np.take(by_entry["units_norm"], entry, out=units, mode="clip")
            assessed = np.take(
                ctx.sub_assessed[a:b], parent, out=tmp("assessed", m, np.float64), mode="clip"
            )
            known = np.isnan(assessed, out=tmp("known", m, np.bool_))
            np.logical_not(known, out=known)
            most = np.take(
                by_entry["max_units"], entry, out=tmp("most", m, np.float64), mode="clip"
            )
            np.minimum(assessed, most, out=most)
            np.copyto(units, most, where=known)

        last = groups.last
        cm = {name: values[g0 : g0 + n_groups] for name, values in self.case_months.items()}
        for name in ("case", "funded", "hromada", "provider"):
            np.take(seg[name], last, out=cm[name], mode="clip")
        last_entry = np.take(entry, last, out=tmp("last_entry", n_groups, np.intp), mode="clip")
        np.take(by_entry["month"], last_entry, out=cm["month"], mode="clip")
        self._parts(groups, seg, gross=gross, g0=g0)

    def _parts(
        self, groups: Groups, seg: dict[str, np.ndarray], *, gross: np.ndarray, g0: int
    ) -> None:
        """Parts of the block's case-months; each is rounded to kopiyky and the case-month's last
        part absorbs the remainder, so parts add up exactly to the rounded case-month totals."""
        tmp, m, n_groups = self._tmp, len(gross), len(groups.first)
        if groups.group is None:  # contiguous case-months: number them by their first segments
            group = tmp("group", m, np.intp)
            group.fill(0)
            group[groups.first[1:]] = 1
            np.cumsum(group, out=group)
        else:
            group = groups.group.astype(np.intp)
        change, other = tmp("change", m, np.bool_), tmp("other", m, np.bool_)
        change[0] = True
        np.not_equal(group[1:], group[:-1], out=change[1:])
        for name in ("hromada", "provider"):
            np.not_equal(seg[name][1:], seg[name][:-1], out=other[1:])
            np.logical_or(change[1:], other[1:], out=change[1:])
        n_parts = int(np.count_nonzero(change))
        if self._positions is None or len(self._positions) < m:
            self._positions = np.arange(m + m // 4, dtype=np.intp)
        start = np.compress(change, self._positions[:m], out=tmp("start", n_parts, np.intp))
        owner = np.take(group, start, out=tmp("owner", n_parts, np.intp), mode="clip")
        p0 = self.n_parts
        out = {name: values[p0 : p0 + n_parts] for name, values in self.parts.items()}
        for name in ("month", "funded"):
            np.take(self.case_months[name][g0 : g0 + n_groups], owner, out=out[name], mode="clip")
        case = np.take(
            self.case_months["case"][g0 : g0 + n_groups],
            owner,
            out=tmp("part_case", n_parts, np.uint32),
            mode="clip",
        )
        for name in ("service", "registered"):
            np.take(self.per_case[name], case, out=out[name], mode="clip")
        for name in ("hromada", "provider"):
            np.take(seg[name], start, out=out[name], mode="clip")
        np.add.reduceat(seg["days"], start, out=out["days"])
        # a case-month of one part (most) is that part: its money is the rounded total
        part = np.cumsum(change, out=tmp("part", m, np.intp))
        first_part, last_part = part[groups.first] - 1, part[groups.last] - 1
        split = np.flatnonzero(first_part != last_part)  # case-months of several parts
        for name in ("gross_uah", "copay_uah"):
            np.take(self.totals[name][g0 : g0 + n_groups], owner, out=out[name], mode="clip")
        if not len(split):
            self.n_parts = p0 + n_parts
            return
        if groups.group is None:  # the parts of a case-month are consecutive
            sizes = last_part[split] - first_part[split] + 1
            chosen = np.repeat(first_part[split] - (np.cumsum(sizes) - sizes), sizes)
            chosen += np.arange(len(chosen))
            group_of = np.repeat(np.arange(len(split)), sizes)
        else:  # a case switching between waiting and served twice within a month (rare)
            of_split = np.zeros(n_groups, dtype=np.intp)
            of_split[split] = np.arange(1, len(split) + 1)
            chosen = np.flatnonzero(of_split[owner])
            group_of = of_split[owner[chosen]] - 1
        # sums of the chosen parts only: reduce over (part start, part end + 1) pairs
        bounds = np.column_stack([start[chosen], np.r_[start[1:], m][chosen]]).ravel()
        bounds = bounds[:-1] if bounds[-1] == m else bounds
        for name, values in (("gross_uah", gross), ("copay_uah", seg["copay_uah"])):
            rounded = round_kopiyka(np.add.reduceat(values, bounds)[::2])
            remainder = self.totals[name][g0 + split] - np.bincount(
                group_of, weights=rounded, minlength=len(split)
            )
            rounded[np.searchsorted(chosen, last_part[split])] += remainder
            out[name][chosen] = np.round(rounded, 2)
        self.n_parts = p0 + n_parts

    def finish(self, n_segments: int, n_case_months: int) -> Wide:
        return Wide(
            segments={k: v[:n_segments] for k, v in self.segments.items()},
            case_months={k: v[:n_case_months] for k, v in self.case_months.items()},
            parts={k: v[: self.n_parts] for k, v in self.parts.items()},
            month_day=self.month_day,
            month_serial=self.month_serial,
            birth_serial=self.birth_serial,
            unknown_birth=self.unknown_birth,
        )
