"""Where the money goes: rollups up the territorial hierarchy and flows registered → serving.

Both start from *parts*: the money of one case-month in one serving hromada with one provider (a case
that moves mid-month has two parts). Parts are rounded to kopiyky so that they add up exactly to the
rounded case-month totals: each part is rounded, and the last part of a case-month (the hromada where
the month ends) absorbs the remainder, which is at most a kopiyka or two. Every rollup and flow is then
a plain sum of parts, so levels add up exactly.

Parts carry integer keys (indexes into a `CodeBook`); grouping happens on integers, once, at the
finest level, and coarser levels are sums of the finer result, so the work stays proportional to the
number of parts and not to the number of levels.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.schemas import OWNERSHIPS

__all__ = ["LEVELS", "NATIONAL_CODE", "PART_COLUMNS", "CodeBook", "flows", "rollups"]

LEVELS = ("hromada", "raion", "oblast", "national")
NATIONAL_CODE = "UA"
_MONEY = ("gross_uah", "copay_uah", "state_uah")
# month, serving hromada, provider, service and registered hromada are indexes into a CodeBook
# (-1 = none); amounts are rounded parts
PART_COLUMNS = (
    "month", "funded", "hromada", "provider", "service", "registered",
    "case_months", "days", "gross_uah", "copay_uah", "state_uah",
)  # fmt: skip


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

    def parent_index(self, parents: list[str | None]) -> tuple[np.ndarray, list[str]]:
        """Index of each hromada's raion or oblast among their sorted codes (-1 when unknown)."""
        codes = sorted({p for p in parents if p is not None})
        position = {code: i for i, code in enumerate(codes)}
        index = np.array([position[p] if p is not None else -1 for p in parents], dtype=np.int32)
        return index, codes


def _sums() -> list[pl.Expr]:
    # parallel sums add in no fixed order; rounding away the last bits keeps results reproducible
    return [
        pl.col("case_months").sum().round(9),
        pl.col("days").sum(),
        *(pl.col(m).sum().round(2) for m in _MONEY),
    ]


def _pack(columns: dict[str, int]) -> pl.Expr:
    """One Int64 key from small non-negative integer columns (name → number of values), ordered
    like the columns: sorting by the key sorts by the columns in turn."""
    key = pl.lit(0, dtype=pl.Int64)
    for name, size in columns.items():
        key = key * size + pl.col(name).cast(pl.Int64)
    return key.alias("key")


def _unpack(columns: dict[str, int]) -> list[pl.Expr]:
    out, divisor = [], 1
    for name, size in reversed(columns.items()):
        out.append(((pl.col("key") // divisor) % size).cast(pl.Int32).alias(name))
        divisor *= size
    return out


def _code(values: list, index: str, dtype: pl.DataType = pl.String()) -> pl.Expr:
    """The code of an integer key column; an index past the end (an unknown) gives null."""
    table = pl.Series([*values, None], dtype=dtype)
    return pl.lit(table).gather(pl.col(index).clip(0, len(values)))


def _last_when_unknown(column: str, size: int) -> pl.Expr:
    """-1 (unknown) becomes `size`, so unknowns sort last, like nulls."""
    return pl.when(pl.col(column) >= 0).then(pl.col(column)).otherwise(size).alias(column)


def rollups(parts: pl.DataFrame, book: CodeBook) -> pl.DataFrame:
    """Money and case-months by month × level × territory × service × ownership × funded.

    Levels: hromada, raion, oblast, national (territory_code "UA"); the territory is where the case
    is served. Groups are formed on packed integer keys; codes are looked up on the result.
    """
    ownerships = list(OWNERSHIPS)
    ownership_of_provider = np.array(
        [ownerships.index(o) if o in ownerships else -1 for o in book.ownership_of_provider] + [-1],
        dtype=np.int32,
    )  # the extra slot answers provider -1 (waiting)
    raion_index, raion_codes = book.parent_index(book.raion_of_hromada)
    oblast_index, oblast_codes = book.parent_index(book.oblast_of_hromada)
    n_hromadas, n_services = len(book.hromada_codes), len(book.service_codes)
    finest_key = {
        "month": len(book.months),
        "hromada": n_hromadas + 1,
        "service": n_services,
        "ownership": len(ownerships) + 1,
        "funded": 2,
    }
    finest = (
        parts.lazy()
        .with_columns(
            pl.Series("ownership", ownership_of_provider[parts["provider"].to_numpy()]),
            pl.col("funded").cast(pl.Int32),
        )
        .with_columns(
            _last_when_unknown("hromada", n_hromadas),
            _last_when_unknown("ownership", len(ownerships)),
        )
        .group_by(_pack(finest_key))
        .agg(_sums())
        .with_columns(_unpack(finest_key))
        .collect()
    )
    parent = {
        "raion": (np.r_[raion_index, -1], len(raion_codes)),
        "oblast": (np.r_[oblast_index, -1], len(oblast_codes)),
    }
    finest = finest.with_columns(
        pl.Series(name, np.where(index[finest["hromada"]] >= 0, index[finest["hromada"]], size))
        for name, (index, size) in parent.items()
    )
    # level ranks follow the alphabetical order of level names, as the output is sorted by them
    levels = (
        ("hromada", "hromada", book.hromada_codes),
        ("national", None, [NATIONAL_CODE]),
        ("oblast", "oblast", oblast_codes),
        ("raion", "raion", raion_codes),
    )
    size = max(len(codes) for _, _, codes in levels) + 1
    key = {"month": finest_key["month"], "rank": len(levels), "territory": size}
    key |= {name: finest_key[name] for name in ("service", "ownership", "funded")}
    frames = []
    for rank, (level, column, codes) in enumerate(levels):
        territory = pl.col(column) if column else pl.lit(0)
        frames.append(
            finest.lazy()
            .with_columns(territory.alias("territory"), rank=pl.lit(rank))
            .group_by(_pack(key))
            .agg(_sums())
            .with_columns(_unpack(key))
            .with_columns(level=pl.lit(level), territory_code=_code(codes, "territory"))
        )
    return (
        pl.concat(frames)
        .sort("key")
        .select(
            _code(book.months, "month", pl.Date()).alias("month"),
            "level",
            "territory_code",
            _code(book.service_codes, "service").alias("service_code"),
            _code(ownerships, "ownership").alias("ownership"),
            pl.col("funded").cast(pl.Boolean),
            "case_months",
            "days",
            *_MONEY,
        )
        .collect()
    )


def flows(parts: pl.DataFrame, book: CodeBook) -> pl.DataFrame:
    """Money by registered territory → serving territory, at oblast and hromada level, per month."""
    oblast_index, oblast_codes = book.parent_index(book.oblast_of_hromada)
    n_hromadas = len(book.hromada_codes)
    to_oblast = np.r_[oblast_index, -1]  # the extra slot answers hromada -1 (unknown)
    registered = parts["registered"].to_numpy()
    serving = parts["hromada"].to_numpy()
    levels = (
        ("hromada", registered, serving, book.hromada_codes),
        ("oblast", to_oblast[registered], to_oblast[serving], oblast_codes),
    )
    size = n_hromadas + 1
    key = {"month": len(book.months), "rank": 2, "from": size, "to": size, "funded": 2}
    frames = []
    for rank, (level, source, target, codes) in enumerate(levels):
        unknown = len(codes)
        frames.append(
            parts.lazy()
            .select(
                "month",
                pl.lit(rank).alias("rank"),
                pl.Series("from", np.where(source >= 0, source, unknown)),
                pl.Series("to", np.where(target >= 0, target, unknown)),
                pl.col("funded").cast(pl.Int32),
                "case_months",
                "days",
                *_MONEY,
            )
            .group_by(_pack(key))
            .agg(_sums())
            .with_columns(_unpack(key))
            .with_columns(
                level=pl.lit(level),
                registered_code=_code(codes, "from"),
                serving_code=_code(codes, "to"),
            )
        )
    return (
        pl.concat(frames)
        .sort("key")
        .select(
            _code(book.months, "month", pl.Date()).alias("month"),
            "level",
            "registered_code",
            "serving_code",
            pl.col("funded").cast(pl.Boolean),
            "case_months",
            "days",
            *_MONEY,
        )
        .collect()
    )
