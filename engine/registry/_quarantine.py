"""Turn failing rows into quarantine rows (`QUARANTINE_SCHEMA`), one pass over the data per table."""

from __future__ import annotations

import polars as pl

from engine.registry._privacy import redact
from engine.registry._read import SOURCE_LINE
from engine.schemas import QUARANTINE_SCHEMA

__all__ = ["Check", "empty", "violations"]

# A check: (mask of failing rows, rule, column, value shown, human reason).
Check = tuple[pl.Expr, str, str, pl.Expr, pl.Expr | str]


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def violations(
    frame: pl.DataFrame | pl.LazyFrame, table: str, source_file: str, checks: list[Check]
) -> pl.DataFrame:
    """Quarantine rows for every row of `frame` failing each check.

    All masks are evaluated together in one pass over the whole frame (so they may use windows);
    only the failing rows are kept, and values and reasons are computed on those rows alone, so
    they must be row-wise expressions.
    """
    if not checks:
        return empty()
    flags = [f"__check{i}" for i in range(len(checks))]
    failing = (
        frame.lazy()
        .with_columns(c[0].fill_null(False).alias(f) for c, f in zip(checks, flags, strict=True))
        .filter(pl.any_horizontal(flags))
        .collect()
        # one chunk: polars 2.1's streaming pl.format over a frame of several chunks panics
        # ("assertion failed: i < self.len()"), as a filtered frame of dates showed
        .rechunk()
    )
    if failing.height == 0:
        return empty()
    failing_lazy = failing.lazy()
    parts = [
        failing_lazy.filter(pl.col(flag)).select(
            pl.lit(table, pl.String).alias("table"),
            pl.lit(source_file, pl.String).alias("source_file"),
            pl.col(SOURCE_LINE).cast(pl.Int64),
            pl.lit(rule, pl.String).alias("rule"),
            pl.lit(column, pl.String).alias("column"),
            redact(value.cast(pl.String)).alias("value"),
            (pl.lit(reason) if isinstance(reason, str) else reason).cast(pl.String).alias("reason"),
        )
        for flag, (_, rule, column, value, reason) in zip(flags, checks, strict=True)
    ]
    return pl.concat(pl.collect_all(parts), how="vertical")
