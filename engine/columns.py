"""Output column types: coded dimensions and exact money (DESIGN.md §5 last paragraph, §8).

**Dimensions** travel as `pl.Enum`, in memory and in Parquet: one byte or two a row instead of a
16-byte string view, grouping and joining on integers. Every territory column (serving, raion,
oblast, registered, a rollup's `territory_code`, a flow's ends) shares one `territory` Enum, so a
case-month's `oblast_code` joins a rollup's `territory_code` as it is. Categories are sorted, so
sorting by an Enum is sorting by its code. A consumer joining a String column (a reference table)
casts it to the frame's dtype first: `pl.col("oblast_code").cast(frame.schema["oblast_code"])`.

Case and recipient ids stay String: they are nearly unique per row of a case, and an Enum or
Categorical of a million ids costs about a second to build and writes to Parquet 4-5 times slower
than plain strings (measured: 10 M rows, 1 M ids, 10-13 s against 2.6 s), for no saving in the
file. In memory they are 16-byte views into the registry's buffer, never copies of the text.

**Money** is exact: `MONEY` = Decimal(18, 2) (UAH with kopiyky) for every rounded amount, and
`PART_MONEY` = Decimal(18, 4) for a segment's unrounded parts (a segment is a part of its
case-month, whose rounded totals are what reports add up). Amounts are computed in float64 and
rounded once (`round_kopiyka`); the rounded float is the nearest double to a whole number of
kopiyky, so `kopiyky` recovers that integer exactly and `decimal_series` builds the column from it
without another rounding.

>>> decimal_series(np.array([1154185, -5]), "gross_uah").to_list()
[Decimal('11541.85'), Decimal('-0.05')]
>>> kopiyky(np.array([11541.849999999999, 0.07])).tolist()
[1154185, 7]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import polars as pl

__all__ = [
    "LEVELS",
    "MONEY",
    "NATIONAL_CODE",
    "PART_MONEY",
    "Dimensions",
    "assert_exact_money",
    "decimal_series",
    "is_money",
    "kopiyky",
    "money_from_float",
    "money_units",
    "round_kopiyka",
]

LEVELS = ("hromada", "raion", "oblast", "national")  # territorial levels of rollups, coarsest last
NATIONAL_CODE = "UA"  # the territory code of the national level
MONEY = pl.Decimal(18, 2)
PART_MONEY = pl.Decimal(18, 4)
_LIMIT = 10**16  # Decimal(18, s) holds |units| < 10^18; float64 integers are exact below 2^53


def round_kopiyka(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Round UAH to kopiyky, half away from zero (into `out` when given).

    A relative allowance of 1e-11 makes 1445.155 (stored as 1445.15499999…) round up as written.

    >>> round_kopiyka(np.array([1445.155, 0.004999, -2.675])).tolist()
    [1445.16, 0.0, -2.68]
    """
    negative = values < 0
    scaled = np.multiply(values, 100.0 * (1.0 + 1e-11), out=out)
    np.abs(scaled, out=scaled)
    scaled += 0.5
    np.floor(scaled, out=scaled)
    scaled /= 100.0
    if negative.any():  # amounts are never negative; kept general for other callers
        np.negative(scaled, out=scaled, where=negative)
    return scaled


def kopiyky(values: np.ndarray, scale: int = 2) -> np.ndarray:
    """Whole units of 10^-scale UAH of amounts already rounded to `scale` decimals (int64)."""
    return np.rint(np.asarray(values, dtype=np.float64) * 10.0**scale).astype(np.int64)


def decimal_series(units: np.ndarray, name: str, scale: int = 2) -> pl.Series:
    """A Decimal(18, scale) column from whole units of 10^-scale (int64), exactly, no rounding.

    Built from the integers as an Arrow decimal64 array over the same buffer (no copy here; polars
    widens it to its 128-bit decimals in one pass)."""
    import pyarrow as pa  # type: ignore[import-untyped]

    units = np.ascontiguousarray(units, dtype=np.int64)
    if len(units) and max(int(units.max()), -int(units.min())) >= _LIMIT:
        raise ValueError(f"{name}: an amount does not fit Decimal(18, {scale})")
    array = pa.Array.from_buffers(pa.decimal64(18, scale), len(units), [None, pa.py_buffer(units)])
    series = pl.from_arrow(array)
    assert isinstance(series, pl.Series)
    return series.alias(name)


def money_from_float(values: np.ndarray, name: str, scale: int = 2) -> pl.Series:
    """A Decimal column from float amounts rounded to `scale` decimals (np.round, half to even:
    for amounts already rounded to kopiyky, as every caller's are, it only removes float noise)."""
    return decimal_series(kopiyky(values, scale), name, scale)


def money_units(series: pl.Series, scale: int = 2) -> np.ndarray:
    """Whole units of 10^-scale UAH of a Decimal column (int64; nulls as 0), exactly."""
    dtype = series.dtype
    if not isinstance(dtype, pl.Decimal):
        raise TypeError(f"{series.name}: expected a Decimal column, got {dtype}")
    physical = series.to_physical().fill_null(0)
    have = dtype.scale or 0
    if have < scale:
        physical = physical * 10 ** (scale - have)
    elif have > scale:
        raise ValueError(f"{series.name}: scale {have} is finer than {scale}")
    return physical.cast(pl.Int64).to_numpy()


def is_money(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.Decimal)


def assert_exact_money(frame: pl.DataFrame, where: str = "output") -> None:
    """Every `*_uah` column of `frame` is a Decimal, and wherever a frame has gross, co-payment and
    state of one prefix (`gross_uah`, `diff_gross_uah`, ...), gross = co-payment + state exactly on
    every row (nulls aside). Raises `ValueError` naming the column."""
    for name, dtype in frame.schema.items():
        if name.endswith("_uah") and not is_money(dtype):
            raise ValueError(f"{where}: money column {name!r} is {dtype}, not an exact decimal")
    for name in frame.columns:
        if not name.endswith("gross_uah"):
            continue
        prefix = name[: -len("gross_uah")]
        copay, state = f"{prefix}copay_uah", f"{prefix}state_uah"
        if copay in frame.columns and state in frame.columns:
            off = frame.select(
                (pl.col(name) != pl.col(copay) + pl.col(state)).fill_null(False).sum()
            ).item()
            if off:
                raise ValueError(f"{where}: {off} rows where {name} != {copay} + {state}")


def _enum(values: Iterable[str | None]) -> pl.Enum:
    return pl.Enum(sorted({v for v in values if v is not None}))


@dataclass(frozen=True)
class Dimensions:
    """The Enum dtypes of one run's outputs (see the module docstring)."""

    territory: pl.Enum
    service: pl.Enum
    service_group: pl.Enum
    unit: pl.Enum
    provider: pl.Enum
    ownership: pl.Enum
    disability_group: pl.Enum
    level: pl.Enum

    @staticmethod
    def build(
        *,
        territories: pl.DataFrame | None,
        hromadas: Iterable[str],
        services: Iterable[str],
        service_groups: Iterable[str],
        providers: Iterable[str],
    ) -> Dimensions:
        """Categories from the reference data (KATOTTG territories, when given, plus any code of
        the registry they lack, and "UA" for the national level), the registry's services and
        providers, and the contract's fixed lists."""
        from engine.schemas import DISABILITY_GROUPS, OWNERSHIPS, SERVICE_UNITS

        codes: set[str] = {NATIONAL_CODE, *hromadas}
        if territories is not None:
            for column in ("hromada_code", "raion_code", "oblast_code"):
                codes.update(territories[column].drop_nulls().unique().to_list())
        return Dimensions(
            territory=_enum(codes),
            service=_enum(services),
            service_group=_enum(service_groups),
            unit=pl.Enum(list(SERVICE_UNITS)),
            provider=_enum(providers),
            ownership=pl.Enum(list(OWNERSHIPS)),
            disability_group=pl.Enum(list(DISABILITY_GROUPS)),
            level=pl.Enum(list(LEVELS)),
        )

    def of_column(self, name: str) -> pl.Enum | None:
        """The Enum of an output column by its name, None for a column that is not a dimension."""
        return {
            "hromada_code": self.territory,
            "raion_code": self.territory,
            "oblast_code": self.territory,
            "registered_hromada": self.territory,
            "registered_oblast_code": self.territory,
            "territory_code": self.territory,
            "registered_code": self.territory,
            "serving_code": self.territory,
            "service_code": self.service,
            "service_group": self.service_group,
            "unit": self.unit,
            "provider_id": self.provider,
            "ownership": self.ownership,
            "disability_group": self.disability_group,
            "level": self.level,
        }.get(name)
