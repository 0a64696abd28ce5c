"""Where the money goes: rollups up the territorial hierarchy and flows registered → serving.

Both start from *parts*: the money of one case-month in one serving hromada with one provider (a case
that moves mid-month has two parts). Parts are rounded to kopiyky so that they add up exactly to the
rounded case-month totals: each part is rounded, and the last part of a case-month (the hromada where
the month ends) absorbs the remainder, which is at most a kopiyka or two. Every rollup and flow is then
a plain sum of parts, so levels add up exactly.

Parts carry integer keys (indexes into a `CodeBook`). Sums are dense: the keys present are numbered
(a presence table, no sorting), every group is a cell of a table indexed by (key, month, funded) and
filled by `np.bincount`, with no hashing or sorting of the parts; the month comes next to last, so
the consecutive months of one case land in neighbouring cells. Rollups are summed once at the finest
level (month × hromada × service × ownership × funded); coarser levels are sums of the finer result,
so the work stays proportional to the number of parts and not to the number of levels. Codes are
looked up on the (small) result. Case-months are exact: a group lies within one month, so they are
its days over the month's days. Codes come out as the run's Enums (`engine.columns.Dimensions`:
`level`, territories, services, ownership) and money as Decimal(18, 2), state = gross − co-payment
exactly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.columns import (
    LEVELS,
    NATIONAL_CODE,
    Dimensions,
    decimal_series,
    kopiyky,
    round_kopiyka,
)
from engine.dates import add_months, epoch_days
from engine.schemas import OWNERSHIPS

__all__ = [
    "IDP_BURDEN_COLUMNS",
    "LEVELS",
    "NATIONAL_CODE",
    "CodeBook",
    "Parts",
    "flows",
    "idp_host_burden",
    "rollups",
]

_MONEY = ("gross_uah", "copay_uah", "state_uah")
_SUMS = ("case_months", "days", *_MONEY)
# cells of one dense table (64 MB per summed column); longer periods are summed in spans of months
_MAX_CELLS = 1 << 23


@dataclass(frozen=True, eq=False)
class CodeBook:
    """What the integer keys of parts stand for. Code lists are sorted, so ordering by index is
    ordering by code."""

    months: list[dt.date]
    hromada_codes: list[str]
    raion_of_hromada: list[str | None]
    oblast_of_hromada: list[str | None]
    service_codes: list[str]
    ownership_of_provider: list[str | None]
    dimensions: Dimensions | None = None  # the output Enums; None: built from the codes above

    def dims(self) -> Dimensions:
        if self.dimensions is not None:
            return self.dimensions
        parents = [*self.raion_of_hromada, *self.oblast_of_hromada]
        return Dimensions.build(
            territories=None,
            hromadas=[*self.hromada_codes, *(p for p in parents if p is not None)],
            services=self.service_codes,
            service_groups=[],
            providers=[],
        )

    def parent_index(self, parents: list[str | None]) -> tuple[np.ndarray, list[str]]:
        """Index of each hromada's raion or oblast among their sorted codes (-1 when unknown)."""
        codes = sorted({p for p in parents if p is not None})
        position = {code: i for i, code in enumerate(codes)}
        index = np.array([position[p] if p is not None else -1 for p in parents], dtype=np.int32)
        return index, codes


@dataclass(frozen=True, eq=False)
class Parts:
    """Rounded money of each part, one entry per part, with integer keys into a `CodeBook`.

    `hromada` (serving) and `registered` are hromada indexes and `provider` a provider index, all
    non-negative: one past the last means unknown, or no provider (a waiting case). Every part has
    at least one day. A part lies within one month, so its case-months are its days over the
    month's.
    """

    month: np.ndarray
    funded: np.ndarray
    hromada: np.ndarray
    provider: np.ndarray
    service: np.ndarray
    registered: np.ndarray
    days: np.ndarray
    gross_uah: np.ndarray
    copay_uah: np.ndarray

    def sums(self) -> dict[str, np.ndarray]:
        return {
            "days": self.days,  # first: a group is present where it is positive
            "gross_uah": self.gross_uah,
            "copay_uah": self.copay_uah,
        }


@dataclass(frozen=True, eq=False)
class _Groups:
    """Present groups ordered by (month, key, funded), with the sums of their members."""

    key: np.ndarray
    month: np.ndarray
    funded: np.ndarray
    sums: dict[str, np.ndarray]


def _group(
    key: np.ndarray,
    n_keys: int,
    values: dict[str, np.ndarray],
    *,
    month: np.ndarray,
    funded: np.ndarray,
    n_months: int,
) -> _Groups:
    """Sum `values` per present (month, key, funded): `key` in [0, n_keys), month in [0, n_months).

    Each span of months is one dense table of (key, month, funded) cells. The first of `values`
    must be positive for every member (days): a group is present where its sum is. An int64 `key`
    is overwritten (it is a temporary of the caller's).
    """
    span = max(1, min(n_months, _MAX_CELLS // max(2 * n_keys, 1)))
    out: list[_Groups] = []
    for m0 in range(0, n_months, span):
        m1 = min(n_months, m0 + span)
        if m1 - m0 == n_months:  # one table: the cells are computed in place
            rows: slice | np.ndarray = slice(None)
            cell = key if key.dtype == np.int64 else key.astype(np.int64)
            cell *= m1 - m0
            cell += month
        else:
            rows = np.flatnonzero((month >= m0) & (month < m1))
            cell = key[rows].astype(np.int64) * (m1 - m0)
            cell += month[rows] - m0
        cell *= 2
        cell += funded[rows]
        size = 2 * n_keys * (m1 - m0)
        tables = {  # (as float even when there is nothing to count)
            name: np.bincount(cell, weights=v[rows], minlength=size).astype(float, copy=False)
            for name, v in values.items()
        }
        present = np.flatnonzero(next(iter(tables.values())))
        cell_month = ((present // 2) % (m1 - m0)).astype(np.int16)
        # (key, month, funded) → (month, key, funded); a stable sort of int16 is a radix sort
        order = np.argsort(cell_month, kind="stable")
        present = present[order]
        sums = {name: table[present] for name, table in tables.items()}
        del tables
        out.append(
            _Groups(
                key=present // (2 * (m1 - m0)),
                month=cell_month[order] + m0,
                funded=(present % 2).astype(bool),
                sums=sums,
            )
        )
    return _Groups(
        key=np.concatenate([g.key for g in out]),
        month=np.concatenate([g.month for g in out]),
        funded=np.concatenate([g.funded for g in out]),
        sums={name: np.concatenate([g.sums[name] for g in out]) for name in values},
    )


def _rounded(
    sums: dict[str, np.ndarray], month: np.ndarray, days_in_month: np.ndarray
) -> dict[str, np.ndarray]:
    """Sums as reported: days as integers, case-months to 9 decimals and money to kopiyky.

    A group lies within one month, so its case-months are its days over the month's days, exactly;
    a group of coarser groups adds up their rounded case-months, exactly too, in whole 1e-9 units
    (`nanos`, exact in float64 up to 9e6 case-months). Parts are whole kopiyky, so the sum of their
    state amounts is the difference of the gross and co-payment sums. (`np.round` rounds half to
    even, like polars.)"""
    if "nanos" in sums:
        case_months = np.round(sums["nanos"] / 1e9, 9)
    else:
        case_months = np.round(sums["days"] / days_in_month[month], 9)
    out = {"days": sums["days"], "case_months": case_months}
    out |= {m: np.round(sums[m], 2) for m in ("gross_uah", "copay_uah")}
    out["state_uah"] = np.round(sums["gross_uah"] - sums["copay_uah"], 2)
    return out


def _dense_ids(keys: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """Number the distinct `keys` (in [0, space)) in sorted order: (id of each key, distinct keys)."""
    if space <= 1 << 26:
        present = np.zeros(space, dtype=bool)
        present[keys] = True
        ids = np.cumsum(present, dtype=np.int64) - 1
        return ids[keys], np.flatnonzero(present)
    distinct, inverse = np.unique(keys, return_inverse=True)
    return inverse, distinct


def _days_in_month(months: list[dt.date]) -> np.ndarray:
    ends = [add_months(m, 1) for m in months]
    return np.array([(e - m).days for m, e in zip(months, ends, strict=True)], dtype=np.float64)


def _slot(index: np.ndarray, size: int) -> np.ndarray:
    """An index as int64, with every unknown (-1 or past the last) at `size`, so they sort last."""
    out = index.astype(np.int64)
    out[(out < 0) | (out > size)] = size
    return out


def _parent(index: np.ndarray, n_codes: int) -> np.ndarray:
    """Parent slot of every hromada slot: unknown parents, and the unknown hromada, at `n_codes`."""
    return np.r_[_slot(index, n_codes), n_codes]


def _frame(
    book: CodeBook,
    levels: list[tuple[str, _Groups, dict[str, np.ndarray], list[str | None]]],
    code_columns: dict[str, str],
    extra: dict[str, tuple[str, list[str | None]]],
) -> pl.DataFrame:
    """One frame from the groups of every level (given in rank order), sorted by month then rank.

    `levels` holds (level, groups, decoded key columns, codes); `code_columns` names the output
    code columns and which decoded column they look up in the level's codes; `extra` adds code
    columns looked up in a fixed list (e.g. services)."""
    month = np.concatenate([g.month for _, g, _, _ in levels])
    order = np.argsort(month, kind="stable")
    rank = np.concatenate(
        [np.full(len(g.month), r, dtype=np.uint32) for r, (_, g, _, _) in enumerate(levels)]
    )[order]
    offsets = np.cumsum([0] + [len(codes) for *_, codes in levels[:-1]])
    dims = book.dims()
    dictionary = pl.Series([c for *_, codes in levels for c in codes], dtype=dims.territory)
    starts = np.array([epoch_days(m) for m in book.months], dtype=np.int32)
    columns: dict[str, pl.Series] = {
        "month": pl.Series(starts[month[order]]).cast(pl.Date),
        "level": pl.Series([name for name, *_ in levels], dtype=dims.level).gather(pl.Series(rank)),
    }
    for name, column in code_columns.items():
        index = np.concatenate(
            [
                decoded[column] + offset
                for (_, _, decoded, _), offset in zip(levels, offsets, strict=True)
            ]
        )
        columns[name] = dictionary.gather(pl.Series(index[order].astype(np.uint32)))
    for name, (column, codes) in extra.items():
        index = np.concatenate([decoded[column] for _, _, decoded, _ in levels])
        columns[name] = pl.Series(codes, dtype=dims.of_column(name)).gather(
            pl.Series(index[order].astype(np.uint32))
        )
    columns["funded"] = pl.Series(np.concatenate([g.funded for _, g, _, _ in levels])[order])

    def summed(name: str) -> np.ndarray:
        return np.concatenate([g.sums[name] for _, g, _, _ in levels])[order]

    columns["case_months"] = pl.Series(summed("case_months"))
    columns["days"] = pl.Series(summed("days").astype(np.int64))
    # sums of whole kopiyky: exact as integers, state = gross − co-payment
    gross, copay = kopiyky(summed("gross_uah")), kopiyky(summed("copay_uah"))
    columns["gross_uah"] = decimal_series(gross, "gross_uah")
    columns["copay_uah"] = decimal_series(copay, "copay_uah")
    columns["state_uah"] = decimal_series(gross - copay, "state_uah")
    return pl.DataFrame(columns)


def rollups(parts: Parts, book: CodeBook) -> pl.DataFrame:
    """Money and case-months by month × level × territory × service × ownership × funded.

    Levels: hromada, raion, oblast, national (territory_code "UA"); the territory is where the case
    is served. Unknown territories and ownership (waiting cases) are null and sort last.
    """
    ownerships = list(OWNERSHIPS)
    n_own = len(ownerships) + 1  # the last one is unknown / none
    ownership_of_provider = np.array(
        [ownerships.index(o) if o in ownerships else n_own - 1 for o in book.ownership_of_provider]
        + [n_own - 1],
        dtype=np.int8,
    )  # the extra slot answers no provider (a waiting case)
    n_hromadas, n_services = len(book.hromada_codes), len(book.service_codes)
    n_months, n_rest = len(book.months), n_services * n_own
    key = parts.hromada.astype(np.int64)
    key *= n_services
    key += parts.service
    key *= n_own
    key += np.take(ownership_of_provider, parts.provider)
    # numbering the keys present keeps the table as small as the data, however many the codes
    key, keys = _dense_ids(key, (n_hromadas + 1) * n_rest)
    finest = _group(
        key, len(keys), parts.sums(), month=parts.month, funded=parts.funded, n_months=n_months
    )
    del key
    days_in_month = _days_in_month(book.months)
    sums = _rounded(finest.sums, finest.month, days_in_month)
    finest_key = keys[finest.key]
    hromada, rest = finest_key // n_rest, finest_key % n_rest  # rest: service × ownership
    levels = [
        (
            "hromada",
            _Groups(finest_key, finest.month, finest.funded, sums),
            [*book.hromada_codes, None],
        )
    ]
    # coarser levels add up the rounded finest sums; level ranks follow the alphabetical order of
    # level names, as the output is sorted by them
    raion_index, raion_codes = book.parent_index(book.raion_of_hromada)
    oblast_index, oblast_codes = book.parent_index(book.oblast_of_hromada)
    coarser: dict[str, tuple[np.ndarray, list[str | None]]] = {
        "national": (np.zeros(n_hromadas + 1, dtype=np.int64), [NATIONAL_CODE]),
        "oblast": (_parent(oblast_index, len(oblast_codes)), [*oblast_codes, None]),
        "raion": (_parent(raion_index, len(raion_codes)), [*raion_codes, None]),
    }
    summed = {name: sums[name] for name in parts.sums()}
    summed["nanos"] = np.rint(sums["case_months"] * 1e9)
    for level, (parent, codes) in coarser.items():
        groups = _group(
            parent[hromada] * n_rest + rest,
            len(codes) * n_rest,
            summed,
            month=finest.month,
            funded=finest.funded,
            n_months=n_months,
        )
        levels.append(
            (
                level,
                _Groups(
                    groups.key,
                    groups.month,
                    groups.funded,
                    _rounded(groups.sums, groups.month, days_in_month),
                ),
                codes,
            )
        )
    return _frame(
        book,
        [
            (
                level,
                groups,
                {
                    "territory": groups.key // n_rest,
                    "service": (groups.key // n_own) % n_services,
                    "ownership": groups.key % n_own,
                },
                codes,
            )
            for level, groups, codes in levels
        ],
        {"territory_code": "territory"},
        {
            "service_code": ("service", list(book.service_codes)),
            "ownership": ("ownership", [*ownerships, None]),
        },
    ).select("month", "level", "territory_code", "service_code", "ownership", "funded", *_SUMS)


def flows(parts: Parts, book: CodeBook) -> pl.DataFrame:
    """Money by registered territory → serving territory, at oblast and hromada level, per month."""
    oblast_index, oblast_codes = book.parent_index(book.oblast_of_hromada)
    n_hromadas, n_months = len(book.hromada_codes), len(book.months)
    days_in_month = _days_in_month(book.months)
    size = n_hromadas + 1
    pair_key = parts.registered.astype(np.int64)
    pair_key *= size
    pair_key += parts.hromada
    pair, pairs = _dense_ids(pair_key, size * size)
    del pair_key
    by_hromada = _group(
        pair, len(pairs), parts.sums(), month=parts.month, funded=parts.funded, n_months=n_months
    )
    del pair
    n_oblasts = len(oblast_codes) + 1  # the last one is unknown
    to_oblast = _parent(oblast_index, n_oblasts - 1)
    hromada_pair = pairs[by_hromada.key]
    source, target = hromada_pair // size, hromada_pair % size
    by_oblast = _group(
        to_oblast[source] * n_oblasts + to_oblast[target],
        n_oblasts * n_oblasts,
        by_hromada.sums,
        month=by_hromada.month,
        funded=by_hromada.funded,
        n_months=n_months,
    )
    levels = [
        (
            "hromada",
            _Groups(
                by_hromada.key,
                by_hromada.month,
                by_hromada.funded,
                _rounded(by_hromada.sums, by_hromada.month, days_in_month),
            ),
            {"from": source, "to": target},
            [*book.hromada_codes, None],
        ),
        (
            "oblast",
            _Groups(
                by_oblast.key,
                by_oblast.month,
                by_oblast.funded,
                _rounded(by_oblast.sums, by_oblast.month, days_in_month),
            ),
            {"from": by_oblast.key // n_oblasts, "to": by_oblast.key % n_oblasts},
            [*oblast_codes, None],
        ),
    ]
    return _frame(book, levels, {"registered_code": "from", "serving_code": "to"}, {}).select(
        "month", "level", "registered_code", "serving_code", "funded", *_SUMS
    )


IDP_BURDEN_COLUMNS = (
    "month", "level", "territory_code", "origin_oblast_code", "idp_recipients", "case_months",
    "days", "gross_uah", "copay_uah", "state_uah",
)  # fmt: skip


def idp_host_burden(idp_days: pl.DataFrame, territory_dtype: pl.DataType) -> pl.DataFrame:
    """IDP host burden: per month, hosting hromada / oblast / country and the oblast the IDPs were
    displaced from, the IDP recipients served, their case-months, days and money.

    `idp_days` holds the funded segments on days a recipient is an IDP (from dated circumstances):
    `month`, `hromada_code`, `oblast_code` (serving: the host), `origin_oblast_code`,
    `recipient_id`, `days`, `days_in_month`, `gross_uah`, `copay_uah` (unrounded floats). Money is
    summed per cell and rounded once to kopiyky (half away from zero), state = gross − co-payment
    exactly; a recipient counts once per cell however many cases or segments.

    >>> import datetime as dt
    >>> days = pl.DataFrame({"month": [dt.date(2024, 4, 1)], "hromada_code": ["UA1"],
    ...     "oblast_code": ["UA0"], "origin_oblast_code": ["UA6"], "recipient_id": ["R1"],
    ...     "days": [14], "days_in_month": [30], "gross_uah": [1306.6667], "copay_uah": [0.0]})
    >>> idp_host_burden(days, pl.String)["state_uah"].cast(pl.Float64).to_list()
    [1306.67, 1306.67, 1306.67]
    """
    base = idp_days.with_columns(case_months=pl.col("days") / pl.col("days_in_month"))
    levels = (("hromada", "hromada_code"), ("oblast", "oblast_code"), ("national", None))
    parts = []
    for level, column in levels:
        code = pl.lit(NATIONAL_CODE) if column is None else pl.col(column).cast(pl.String)
        parts.append(
            base.group_by("month", code.alias("territory_code"), "origin_oblast_code")
            .agg(
                idp_recipients=pl.col("recipient_id").n_unique().cast(pl.Int64),
                case_months=pl.col("case_months").sum(),
                days=pl.col("days").sum().cast(pl.Int64),
                gross_uah=pl.col("gross_uah").sum(),
                copay_uah=pl.col("copay_uah").sum(),
            )
            .with_columns(level=pl.lit(level))
        )
    summed = pl.concat(parts).sort("month", "level", "territory_code", "origin_oblast_code")
    gross = kopiyky(round_kopiyka(summed["gross_uah"].to_numpy()))
    copay = kopiyky(round_kopiyka(summed["copay_uah"].to_numpy()))
    return summed.with_columns(
        level=pl.col("level").cast(pl.Enum(list(LEVELS))),
        territory_code=pl.col("territory_code").cast(territory_dtype),
        origin_oblast_code=pl.col("origin_oblast_code").cast(territory_dtype),
        gross_uah=decimal_series(gross, "gross_uah"),
        copay_uah=decimal_series(copay, "copay_uah"),
        state_uah=decimal_series(gross - copay, "state_uah"),
    ).select(IDP_BURDEN_COLUMNS)
