"""Dates as integer day numbers (days since 1970-01-01) for vectorised generation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from engine.dates import epoch_days, parse_date

__all__ = [
    "INVASION",
    "day_of_month",
    "days",
    "draw_days",
    "mid_month",
    "to_date_series",
]

INVASION = dt.date(2022, 2, 24)


def days(d: dt.date | str) -> int:
    """Day number of a date (or ISO string)."""
    return epoch_days(parse_date(d) if isinstance(d, str) else d)


def to_date_series(name: str, values: np.ndarray, null_mask: np.ndarray | None = None) -> pl.Series:
    """A polars Date series from day numbers; `null_mask` marks open (null) dates."""
    s = pl.Series(name, values.astype(np.int32)).cast(pl.Date)
    if null_mask is not None:
        s = s.to_frame().select(
            pl.when(pl.Series(null_mask)).then(None).otherwise(pl.col(name)).alias(name)
        )[name]
    return s


def day_of_month(d: np.ndarray) -> np.ndarray:
    as_day = d.astype("datetime64[D]")
    return (as_day - as_day.astype("datetime64[M]")).astype(np.int64) + 1


def _month_index(d: np.ndarray) -> np.ndarray:
    """Calendar month 0..11 of each day number."""
    return d.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12


def mid_month(
    rng: np.random.Generator, lo: np.ndarray | int, hi: np.ndarray | int, size: int
) -> np.ndarray:
    """Uniform dates in [lo, hi] that never fall on the 1st of a month.

    Moves and status changes in real registries happen on any working day; drawing them off the
    month boundary makes sure every consumer exercises its mid-month split.
    """
    lo_a = np.broadcast_to(np.asarray(lo, dtype=np.int64), (size,))
    hi_a = np.broadcast_to(np.asarray(hi, dtype=np.int64), (size,))
    out = lo_a + np.floor(rng.random(size) * (hi_a - lo_a + 1)).astype(np.int64)
    on_first = day_of_month(out) == 1
    # the 2nd is always available: callers pass ranges of a month or more
    out = np.where(on_first & (out + 1 <= hi_a), out + 1, np.where(on_first, out - 1, out))
    return out


def draw_days(
    rng: np.random.Generator,
    lo: int,
    hi: int,
    size: int,
    *,
    growth: float = 0.0,
    seasonal: float = 0.0,
    decay_days: float | None = None,
    decay_boost: float = 0.0,
) -> np.ndarray:
    """Dates in [lo, hi] with an intensity that grows, varies by season and may decay from `lo`.

    intensity(d) = exp(growth * years since lo) * (1 + seasonal * cos(2π month / 12))
                   * (1 + decay_boost * exp(-(d - lo) / decay_days))
    January is the seasonal peak (winter demand for care services).
    """
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    grid = np.arange(lo, hi + 1, dtype=np.int64)
    t = (grid - lo).astype(np.float64)
    w = np.exp(growth * t / 365.25) * (
        1.0 + seasonal * np.cos(2.0 * np.pi * _month_index(grid) / 12.0)
    )
    if decay_days:
        w = w * (1.0 + decay_boost * np.exp(-t / decay_days))
    cdf = np.cumsum(w)
    pos = np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right")
    return grid[np.minimum(pos, grid.size - 1)]
