"""Dated values, looked up one way everywhere: pricing, demand and scenarios.

A dated parameter is an interval table: its dimension columns, `valid_from`, `valid_to` (inclusive,
null: open) and `value`, the intervals of one key never overlapping. `value_at` finds, for every row
of a frame, the value in force on that row's date.

    >>> import datetime as dt
    >>> import polars as pl
    >>> tariff = pl.DataFrame({
    ...     "service_code": ["015.1", "015.1"],
    ...     "valid_from": [dt.date(2024, 1, 1), dt.date(2025, 3, 10)],
    ...     "valid_to": [dt.date(2025, 3, 9), None],
    ...     "value": [70.0, 78.0],
    ... })
    >>> rows = pl.DataFrame({
    ...     "service_code": ["015.1", "015.1", "017.2"],
    ...     "date": [dt.date(2025, 3, 9), dt.date(2025, 3, 10), dt.date(2025, 3, 10)],
    ... })
    >>> value_at(rows, tariff, ["service_code"]).to_list()
    [70.0, 78.0, None]
"""

from __future__ import annotations

import polars as pl

__all__ = ["value_at"]


def value_at(
    frame: pl.DataFrame,
    table: pl.DataFrame,
    dims: list[str],
    *,
    date: str = "date",
    default: float | None = None,
) -> pl.Series:
    """The value of an interval table in force on `frame[date]` for each row's dimensions.

    Null where none is in force (or `default` when given). Intervals of one key never overlap, so at
    most one matches.
    """
    rows = frame.select([*dims, date]).with_row_index("_row")
    matched = (
        rows.join(table, on=dims, how="inner") if dims else rows.join(table, how="cross")
    ).filter(
        (pl.col("valid_from") <= pl.col(date))
        & (pl.col("valid_to").is_null() | (pl.col(date) <= pl.col("valid_to")))
    )
    out = rows.select("_row").join(
        matched.select("_row", "value"), on="_row", how="left", maintain_order="left"
    )["value"]
    return out.fill_null(default) if default is not None else out
