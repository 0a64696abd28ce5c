"""What a planner reads of a comparison: the headline, the flagged gaps, small cells suppressed.

`summary_lines` gives the lines the terminal and a run's summary print; `flagged_gaps` the flagged
cells, largest first and coarsest level first; `publishable_comparison` the table as it may be
published (hromada cells built from fewer than `min_count` people blanked, with the secondary
suppression of `engine.report`'s rule).
"""

from __future__ import annotations

import polars as pl

from engine.columns import LEVELS
from engine.execution._compare import ALL_SERVICES
from engine.money import format_uah

__all__ = ["VALUE_COLUMNS", "flagged_gaps", "publishable_comparison", "summary_lines"]

VALUE_COLUMNS = (
    *("sim_uah", "paid_uah", "gap_uah", "gap_pct", "sim_recipients", "paid_recipients"),
    *("sim_case_months", "paid_case_months", "people_uah", "volume_uah", "price_uah"),
)
_RANK = {level: i for i, level in enumerate(LEVELS)}


def flagged_gaps(table: pl.DataFrame, limit: int | None = None) -> pl.DataFrame:
    """The flagged cells: coarsest level first, then the largest gap in UAH."""
    rows = (
        table.filter(pl.col("flagged"))
        .with_columns(
            _rank=-pl.col("level").cast(pl.String).replace_strict(_RANK, return_dtype=pl.Int8),
            _size=pl.col("gap_uah").abs().cast(pl.Float64).fill_null(-1.0),
        )
        .sort(
            "_rank",
            "_size",
            "territory_code",
            "service_code",
            "period",
            descending=[
                False,
                True,
                False,
                False,
                False,
            ],
        )
        .drop("_rank", "_size")
    )
    return rows if limit is None else rows.head(limit)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}"


def _parts(row: dict[str, object]) -> str:
    shown = []
    for part in ("people", "volume", "price"):
        value = row[f"{part}_uah"]
        if value is not None:
            shown.append(f"{part} {format_uah(value)}")  # type: ignore[arg-type]
    return ", ".join(shown) if shown else "no split (the report counts neither people nor volume)"


def summary_lines(
    table: pl.DataFrame, *, tolerance: float, min_gap_uah: float, limit: int = 5
) -> list[str]:
    """The headline (the national total over the report's whole span, split), the number of cells
    beyond tolerance per level, and the largest flagged gaps of the coarser levels."""
    top = table.filter(
        (pl.col("level") == "national")
        & (pl.col("service_code") == ALL_SERVICES)
        & (pl.col("grain") == "year")
    )
    within = table.filter(
        (pl.col("level") == "national")
        & (pl.col("service_code") == ALL_SERVICES)
        & (pl.col("grain") != "year")
    )
    lines = []
    for row in top.sort("period").iter_rows(named=True):
        year = within.filter(pl.col("period_start").dt.year() == row["period_start"].year)
        finest = year.filter(pl.col("grain") == year["grain"].min()) if year.height else year
        labels = sorted(str(label) for label in finest["period"].unique())
        span = f" ({labels[0]}..{labels[-1]})" if len(labels) > 1 else ""
        lines.append(
            f"Budget execution {row['period']}{span}: paid {format_uah(row['paid_uah'])} against "
            f"{format_uah(row['sim_uah'])} simulated, gap {format_uah(row['gap_uah'])} "
            f"({_pct(row['gap_pct'])}): {_parts(row)}."
        )
    flagged = table.filter(pl.col("flagged"))
    per_level = flagged.group_by("level").len().sort("level")
    counts = ", ".join(f"{n:,} {level}" for level, n in per_level.iter_rows())
    lines.append(
        f"{flagged.height:,} of {table.height:,} cells beyond tolerance ({tolerance:.0%} and "
        f"{format_uah(min_gap_uah)})" + (f": {counts}" if counts else "") + "."
    )
    coarse = flagged_gaps(table.filter(pl.col("level") != "hromada"), limit)
    for row in coarse.iter_rows(named=True):
        timing = " (timing: the year is within tolerance)" if row["timing"] else ""
        lines.append(
            f"  {row['level']} {row['territory_code']} × {row['service_code']} {row['period']}: "
            f"gap {format_uah(row['gap_uah'])} ({_pct(row['gap_pct'])}), mostly "
            f"{row['dominant']}{timing}; {_parts(row)}."
        )
    return lines


def publishable_comparison(
    table: pl.DataFrame, territories: pl.DataFrame, *, min_count: int = 5
) -> pl.DataFrame:
    """`table` with every number of a hromada cell built from fewer than `min_count` people (on
    either side) blanked, and one more cell per oblast × service × period where needed."""
    from engine.report._suppress import suppress_small_cells

    hromadas = table.filter(pl.col("level") == "hromada")
    if hromadas.is_empty():
        return table
    oblasts = territories.select(
        pl.col("hromada_code").alias("_code"), _oblast=pl.col("oblast_code")
    ).unique("_code")
    positive = [
        pl.when(pl.col(c) > 0).then(pl.col(c)) for c in ("sim_recipients", "paid_recipients")
    ]
    marked = (
        hromadas.with_columns(_code=pl.col("territory_code").cast(pl.String))
        .join(oblasts, on="_code", how="left")
        .with_columns(_people=pl.min_horizontal(positive).fill_null(0))
    )
    suppressed = suppress_small_cells(
        marked,
        count="_people",
        values=list(VALUE_COLUMNS),
        min_count=min_count,
        group_by=["_oblast", "service_code", "grain", "period"],
    ).drop("_code", "_oblast", "_people")
    rest = table.filter(pl.col("level") != "hromada").with_columns(suppressed=pl.lit(False))
    return pl.concat([rest, suppressed.select(rest.columns)])
