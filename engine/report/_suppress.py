"""Small-cell suppression for published hromada-level tables and figures.

A hromada where fewer than `min_count` people receive a service is small enough for a neighbour to
recognise them, so every number built from those people is blanked, not just the head-count. When
totals are published for a group (e.g. the oblast), blanking a single cell in that group is not
enough — the total minus the other cells gives it back — so the smallest other cell of the group is
blanked too (secondary suppression).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

__all__ = ["DEFAULT_MIN_COUNT", "is_hromada_level", "publishable", "suppress_small_cells"]

DEFAULT_MIN_COUNT = 5


def suppress_small_cells(
    frame: pl.DataFrame,
    *,
    count: str = "recipients",
    values: Sequence[str] | None = None,
    min_count: int = DEFAULT_MIN_COUNT,
    group_by: Sequence[str] = (),
) -> pl.DataFrame:
    """Blank the cells built from fewer than `min_count` people; add a `suppressed` flag.

    `count` is the column holding the number of distinct people behind each row; `values` the
    columns to blank with it (default: every numeric column, `count` included). A row with a count
    of 0 describes nobody and stays. With `group_by`, a group that has exactly one suppressed row
    also loses its smallest other row, so a published group total cannot reveal the blanked one.
    The result is sorted by its key columns (the ones not blanked), so row order never matters.
    Calls chain: a frame with two head-counts (served and waiting people) is suppressed once per
    count with its own value columns, and `suppressed` stays true once set.

    >>> df = pl.DataFrame({"hromada_code": ["a", "b"], "recipients": [3, 12], "uah": [10.0, 90.0]})
    >>> suppress_small_cells(df)["uah"].to_list()
    [None, 90.0]
    """
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    if count not in frame.columns:
        raise ValueError(f"cannot suppress small cells: no '{count}' column in {frame.columns}")
    blank = (
        list(values)
        if values is not None
        else [c for c, t in frame.schema.items() if t.is_numeric() and c != "suppressed"]
    )
    if count not in blank:
        blank.append(count)
    keys = [c for c in frame.columns if c not in blank and c != "suppressed"]
    out = frame.sort(keys, nulls_last=True)
    if "suppressed" not in out.columns:
        out = out.with_columns(suppressed=pl.lit(False))
    primary = pl.col(count).is_between(1, min_count - 1)
    out = out.with_columns(_primary=primary.fill_null(False))
    if group_by:
        groups = list(group_by)
        # the smallest other row that describes somebody; the key sort above breaks ties
        candidate = ~pl.col("_primary") & (pl.col(count) > 0)
        size = pl.when(candidate).then(pl.col(count)).otherwise(None)
        rank = size.rank(method="ordinal").over(groups)
        secondary = (pl.col("_primary").sum().over(groups) == 1) & candidate & (rank == 1)
        hit = pl.col("_primary") | secondary.fill_null(False)
    else:
        hit = pl.col("_primary")
    out = out.with_columns(_hit=hit)
    return out.with_columns(
        *[pl.when(pl.col("_hit")).then(None).otherwise(pl.col(c)).alias(c) for c in blank],
        suppressed=pl.col("suppressed") | pl.col("_hit"),
    ).drop("_primary", "_hit")


def is_hromada_level(frame: pl.DataFrame) -> bool:
    """Whether a frame holds hromada-level rows (a `hromada_code` key or `level == "hromada"`)."""
    if "hromada_code" in frame.columns:
        return True
    return "level" in frame.columns and bool((frame["level"] == "hromada").any())


def publishable(
    frame: pl.DataFrame, *, min_count: int = DEFAULT_MIN_COUNT, count: str = "recipients"
) -> pl.DataFrame:
    """`frame` as it may be published: hromada-level rows lose their small cells, coarser frames
    pass unchanged. A hromada-level frame without a head-count cannot be checked and is refused."""
    if not is_hromada_level(frame):
        return frame
    if count not in frame.columns:
        raise ValueError(
            f"a hromada-level frame needs a '{count}' count to be published "
            f"(small-cell suppression); got {frame.columns}"
        )
    groups = ["oblast_code"] if "oblast_code" in frame.columns else []
    return suppress_small_cells(frame, count=count, min_count=min_count, group_by=groups)
