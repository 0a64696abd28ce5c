"""Put the pricing of partitions together as the pricing of the whole registry, to the kopiyka.

Partitions hold disjoint people, so case-months are simply all of theirs, and every count and
amount of a rollup or flow cell adds up: days are integers and money whole kopiyky. What does not
add is a cell's case-months, rounded to 9 decimals once per cell (`engine.rollups`): they are
recomputed from the summed days, as the engine computes them — a hromada cell's are its days
over the month's days; a raion, oblast or national cell adds up its hromada cells' rounded
case-months (in 1e-9 units); a flow cell's are its days over the month's days at both levels.
Rows come out in the engine's order, and each dimension as the Enum of the whole registry (the
sorted union of the partitions' codes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from engine.columns import NATIONAL_CODE

__all__ = ["combine_case_months", "combine_flows", "combine_history", "combine_rollups"]

_ADDED = ("days", "gross_uah", "copay_uah", "state_uah")
_ROLLUP_KEYS = ("month", "level", "territory_code", "service_code", "ownership", "funded")
_FLOW_KEYS = ("month", "level", "registered_code", "serving_code", "funded")


def _common_enums(frames: Sequence[pl.DataFrame]) -> list[pl.DataFrame]:
    """The frames with each Enum column as one Enum: the sorted union of their categories (the
    registry-wide Enums are sorted code lists; fixed lists are the same in every partition)."""
    first = frames[0].schema
    casts: dict[str, pl.Enum] = {}
    for name, dtype in first.items():
        if not isinstance(dtype, pl.Enum):
            continue
        kinds = {tuple(f.schema[name].categories.to_list()) for f in frames}  # type: ignore[attr-defined]
        if len(kinds) > 1:
            casts[name] = pl.Enum(sorted({c for kind in kinds for c in kind}))
    return [f.with_columns(pl.col(n).cast(d) for n, d in casts.items()) for f in frames]


def combine_case_months(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Every partition's case-months, by (case_id, month, funded) as the engine orders them."""
    return pl.concat(_common_enums(frames)).sort("case_id", "month", "funded", maintain_order=True)


def combine_history(blocks: Sequence[Sequence[pl.DataFrame]]) -> pl.DataFrame:
    """Narrow history segments: per priced block, the partitions' segments by case (each case's
    own order kept, as one pricing of the block gives them), blocks in order; text as
    categoricals."""
    parts = [
        pl.concat(_common_enums(frames)).sort("case_id", maintain_order=True) for frames in blocks
    ]
    return pl.concat(_common_enums(parts)).with_columns(pl.col(pl.String).cast(pl.Categorical))


def _days_in_month(month: pl.Series) -> np.ndarray:
    start = month.cast(pl.Int32).to_numpy().astype(np.int64)
    end = month.dt.offset_by("1mo").cast(pl.Int32).to_numpy().astype(np.int64)
    return (end - start).astype(np.float64)


def _cell_case_months(frame: pl.DataFrame) -> pl.Series:
    """A cell's case-months from its days: days over the month's days, to 9 decimals."""
    days = frame["days"].to_numpy().astype(np.float64)
    return pl.Series("case_months", np.round(days / _days_in_month(frame["month"]), 9))


def _summed(frames: Sequence[pl.DataFrame], keys: Sequence[str]) -> pl.DataFrame:
    schema = frames[0].schema
    out = (
        pl.concat(_common_enums(frames))
        .group_by(keys)
        .agg(pl.col(c).sum() for c in _ADDED)
        .with_columns(pl.col(c).cast(schema[c]) for c in _ADDED)
    )
    return out.with_columns(_cell_case_months(out))


def _order(frame: pl.DataFrame, keys: Sequence[str], columns: Sequence[str]) -> pl.DataFrame:
    """The engine's order: by month, then level name, then the cell's codes (Enum order, unknown
    last) and funded."""
    rest = [k for k in keys if k not in ("month", "level")]
    return frame.sort(
        ["month", pl.col("level").cast(pl.String), *rest], nulls_last=True, maintain_order=True
    ).select(columns)


def combine_flows(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Every partition's flows, summed per cell (registered → serving, hromada and oblast)."""
    return _order(_summed(frames, _FLOW_KEYS), _FLOW_KEYS, frames[0].columns)


def combine_rollups(frames: Sequence[pl.DataFrame], territories: pl.DataFrame) -> pl.DataFrame:
    """Every partition's rollups, summed per cell; coarser cells' case-months added up from the
    hromada cells' (`territories` gives each hromada its raion and oblast, as in pricing)."""
    summed = _summed(frames, _ROLLUP_KEYS)
    territory = summed.schema["territory_code"]
    parents = (
        territories.select("hromada_code", "raion_code", "oblast_code")
        .unique("hromada_code", keep="first")
        .with_columns(pl.all().cast(pl.String).cast(territory))
    )
    cells = [k for k in _ROLLUP_KEYS if k not in ("level", "territory_code")]
    hromadas = (
        summed.filter(pl.col("level") == "hromada")
        .with_columns(
            nanos=(pl.col("case_months") * 1e9).round(0).cast(pl.Int64),
            national=pl.lit(NATIONAL_CODE, dtype=territory),
        )
        .join(parents, left_on="territory_code", right_on="hromada_code", how="left")
    )
    coarser = pl.concat(
        [
            hromadas.group_by(parent, *cells)
            .agg(pl.col("nanos").sum())
            .select(
                pl.lit(level, dtype=summed.schema["level"]).alias("level"),
                pl.col(parent).alias("territory_code"),
                *cells,
                "nanos",
            )
            for level, parent in (
                ("raion", "raion_code"),
                ("oblast", "oblast_code"),
                ("national", "national"),
            )
        ]
    )
    coarser = coarser.with_columns(
        pl.Series("coarse", np.round(coarser["nanos"].to_numpy().astype(np.float64) / 1e9, 9))
    ).drop("nanos")
    out = summed.join(coarser, on=list(_ROLLUP_KEYS), how="left", nulls_equal=True).with_columns(
        case_months=pl.coalesce("coarse", "case_months")
    )
    return _order(out, _ROLLUP_KEYS, frames[0].columns)
