"""Long-format series to a dense matrix (series × periods) on a regular calendar grid, and back.

Every series lives on the same calendar grid (so seasonal positions line up across series and
aggregates are plain sums). A series starts at its first observed period; before it the matrix holds
NaN (not yet observed), after it a missing period holds `fill_value` (0 for counts: no row means no
case). Rows sharing a key and a period are summed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.errors import ConfigError, InputFileError

__all__ = ["Panel", "default_season_length", "future_dates", "to_panel"]

_FREQ = re.compile(r"^(\d+)(mo|q|y|w|d)$")
_PER_YEAR = {"mo": 12, "q": 4, "y": 1, "w": 52, "d": 7}  # "d": weekly cycle


@dataclass(frozen=True)
class Panel:
    """Bottom-level series as a matrix: `y[i, t]` is series `keys[i]` at `dates[t]`."""

    keys: pl.DataFrame
    dates: pl.Series
    y: np.ndarray
    start: np.ndarray  # first observed period of each series
    freq: str

    @property
    def n_series(self) -> int:
        return self.y.shape[0]

    @property
    def n_periods(self) -> int:
        return self.y.shape[1]


def _parse_freq(freq: str) -> tuple[int, str]:
    match = _FREQ.match(freq)
    if match is None:
        raise ConfigError(f"frequency {freq!r} is not one of '1mo', '3mo', '1q', '1y', '1w', '1d'")
    return int(match.group(1)), match.group(2)


def default_season_length(freq: str) -> int:
    """12 for monthly, 4 for quarterly, 1 for yearly, 52 for weekly, 7 for daily data."""
    n, unit = _parse_freq(freq)
    return max(_PER_YEAR[unit] // n, 1)


def future_dates(last: dt.date, freq: str, horizon: int) -> pl.Series:
    """The `horizon` periods after `last`."""
    n, unit = _parse_freq(freq)
    offsets = [f"{n * h}{unit}" for h in range(1, horizon + 1)]
    return pl.select(
        pl.lit(last, dtype=pl.Date).dt.offset_by(pl.lit(pl.Series(offsets))).alias("ds")
    ).to_series()


def _as_date(frame: pl.DataFrame, column: str) -> pl.Expr:
    dtype = frame.schema[column]
    if dtype == pl.Date:
        return pl.col(column)
    if isinstance(dtype, pl.Datetime):
        return pl.col(column).dt.date()
    if dtype == pl.String:
        return pl.col(column).str.to_date(strict=False)
    raise InputFileError(f"date column has type {dtype}, expected a date", column=column)


def _key_codes(
    data: pl.DataFrame, key_cols: Sequence[str]
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """Each row's series as one integer `_key` and the series' keys in that order (row `_key`
    of the keys frame): the same series, in the same order, as sorting the distinct key rows —
    each column's dense rank keeps its sort order and the ranks are combined lexicographically
    — without grouping and joining on the key text (5 text columns: ~5× the time at 1 M rows).
    None (the text path) when a key holds nulls or is neither text nor an integer, or the
    combined code would not fit 63 bits."""
    if not key_cols or any(
        data[c].null_count() or not (data[c].dtype == pl.String or data[c].dtype.is_integer())
        for c in key_cols
    ):  # a categorical's rank follows its codes, not the order sorting gives
        return None
    ranks = data.select(pl.col(c).rank("dense").cast(pl.Int64) - 1 for c in key_cols)
    sizes = [int(ranks[c].max() or 0) + 1 for c in key_cols]  # type: ignore[arg-type]
    if float(np.prod([float(v) for v in sizes])) >= 2.0**62:
        return None
    code = pl.lit(0, dtype=pl.Int64)
    for c, size in zip(key_cols, sizes, strict=True):
        code = code * size + pl.col(c)
    combined = ranks.select(code.alias("_c"))["_c"].to_numpy()
    _, first, key = np.unique(combined, return_index=True, return_inverse=True)
    keys = data.select(key_cols)[first]
    return data.drop(key_cols).with_columns(_key=pl.Series(key.ravel(), dtype=pl.UInt32)), keys


def to_panel(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    key_cols: Sequence[str],
    date_col: str,
    value_col: str,
    freq: str = "1mo",
    fill_value: float = 0.0,
    nonnegative: bool = False,
) -> Panel:
    """Pivot a long frame into a `Panel`; dates are truncated to the start of their period.
    With `nonnegative` (counts), a negative value is a `ConfigError` naming `value_col`."""
    frame = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    n_unit, unit = _parse_freq(freq)
    for column in (*key_cols, date_col, value_col):
        if column not in frame.columns:
            raise InputFileError(f"series frame lacks column '{column}'", column=column)
    if not frame[value_col].dtype.is_numeric() and frame[value_col].dtype != pl.Null:
        raise InputFileError(
            f"value column has type {frame[value_col].dtype}, expected numbers", column=value_col
        )
    data = frame.select(
        *key_cols,
        _as_date(frame, date_col).dt.truncate(freq).alias("_ds"),
        pl.col(value_col).cast(pl.Float64).alias("_y"),
    )
    if data["_ds"].null_count():
        raise InputFileError("a date is missing or unparseable", column=date_col)
    data = data.filter(pl.col("_y").is_not_null() & pl.col("_y").is_not_nan())
    if data.height == 0:
        raise InputFileError("no observed values to forecast", column=value_col)
    coded = _key_codes(data, key_cols)
    if coded is not None:  # one integer per key: grouping and placing by it, not by the text
        data, keys = coded
        data = data.group_by("_key", "_ds").agg(pl.col("_y").sum())
    else:
        data = data.group_by([*key_cols, "_ds"]).agg(pl.col("_y").sum())
    bounds = data.select(first=pl.col("_ds").min(), last=pl.col("_ds").max()).row(0, named=True)
    dates = pl.date_range(
        bounds["first"], bounds["last"], interval=f"{n_unit}{unit}", eager=True
    ).alias("ds")
    grid = pl.DataFrame({"_ds": dates}).with_row_index("_t")
    if coded is not None:
        cells = data.join(grid, on="_ds", how="left").with_columns(_i=pl.col("_key"))
    else:
        keys = data.select(key_cols).unique().sort(key_cols).with_row_index("_i")
        cells = data.join(grid, on="_ds", how="left").join(keys, on=list(key_cols), how="left")
    if cells["_t"].null_count():
        raise InputFileError(f"dates are not on a regular '{freq}' grid", column=date_col)
    n, n_t = keys.height, len(dates)
    y = np.full((n, n_t), np.nan)
    y[cells["_i"].to_numpy(), cells["_t"].to_numpy()] = cells["_y"].to_numpy()
    observed = ~np.isnan(y)
    start = observed.argmax(axis=1)
    after_start = np.arange(n_t)[None, :] >= start[:, None]
    y[after_start & ~observed] = fill_value
    if nonnegative and np.nanmin(y) < 0:
        raise ConfigError(
            f"column '{value_col}' has negative values; pass nonnegative=False for such series"
        )
    return Panel(keys=keys.drop("_i", strict=False), dates=dates, y=y, start=start, freq=freq)
