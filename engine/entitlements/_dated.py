"""What dated circumstances change in the output frames, and the IDP days they make.

With a benefits extract the core cuts sub-pieces on the days circumstances change and prices each
with the circumstances in force (`_core.DatedSubs`). The frames built from the per-case
dictionaries (`_frames`) still show the registry's single `disability_group` and `is_idp`; here
they are replaced by the values in force on each segment, and on each case-month's last segment
(as its serving hromada and provider are). The funded segments on IDP days become the rows of the
IDP host burden (`engine.rollups.idp_host_burden`). All vectorised over the core's arrays.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from engine.columns import Dimensions
from engine.entitlements._core import DatedSubs, PricedCore
from engine.entitlements._frames import _case_month_order
from engine.rollups import idp_host_burden
from engine.schemas import DISABILITY_GROUPS
from engine.segments import IndexedRegistry

__all__ = ["dated_case_months", "dated_segments", "idp_burden"]


def _labels(dated: DatedSubs, sub: np.ndarray, dims: Dimensions) -> dict[str, pl.Series]:
    groups = pl.Series([*DISABILITY_GROUPS, None], dtype=dims.disability_group)
    return {
        "disability_group": groups.gather(pl.Series(dated.disability[sub])),
        "is_idp": pl.Series(dated.is_idp[sub], dtype=pl.Boolean),
    }


def dated_segments(core: PricedCore, segments: pl.DataFrame, dims: Dimensions) -> pl.DataFrame:
    """`segments` (all rows, or an empty frame) with the circumstances in force on each row."""
    if core.dated is None or not segments.width:
        return segments
    return segments.with_columns(**_labels(core.dated, core.segment_index()["sub"], dims))


def dated_case_months(
    core: PricedCore, case_months: pl.DataFrame, dims: Dimensions
) -> pl.DataFrame:
    """`case_months` with the circumstances in force on each case-month's last segment."""
    dated = core.dated
    if dated is None:
        return case_months
    index = core.segment_index()
    last = core.case_months["last"]
    last_sub = index["sub"][last]
    order = _case_month_order(
        core.subs["case"][last_sub],
        core.calendar.month[index["entry"][last]],
        core.subs["funded"][last_sub],
    )
    if order is not None:
        last_sub = last_sub[order]
    return case_months.with_columns(**_labels(dated, last_sub, dims))


def idp_burden(
    core: PricedCore, reg: IndexedRegistry, oblast: list[str | None], dims: Dimensions
) -> pl.DataFrame:
    """The IDP host burden of the funded segments on IDP days (an empty table without dated
    circumstances or IDPs)."""
    dated, wide = core.dated, core.wide
    if dated is None or wide is None:
        return idp_host_burden(_empty_days(), dims.territory).clear()
    sub = core.segment_index()["sub"]
    w = wide.segments
    hit = np.flatnonzero(dated.is_idp[sub] & w["funded"])
    slots = np.minimum(w["hromada"][hit], len(reg.hromada_codes)).astype(np.int64)
    hromadas = pl.Series([*reg.hromada_codes, None], dtype=pl.String)
    oblasts = pl.Series([*oblast, None], dtype=pl.String)
    origin = dated.origin.gather(sub[hit])
    of_hromada = dict(zip(reg.hromada_codes, oblast, strict=True))
    origin_oblast = origin.replace_strict(of_hromada, default=None, return_dtype=pl.String)
    days = pl.DataFrame(
        {
            "month": pl.Series(w["month"][hit]).cast(pl.Date),
            "hromada_code": hromadas.gather(pl.Series(slots)),
            "oblast_code": oblasts.gather(pl.Series(slots)),
            "origin_oblast_code": origin_oblast,
            "recipient_id": reg.cases["recipient_id"].gather(
                pl.Series(core.subs["case"][sub[hit]])
            ),
            "days": w["days"][hit],
            "days_in_month": w["days_in_month"][hit],
            "gross_uah": core.segments["gross_uah"][hit],
            "copay_uah": w["copay_uah"][hit],
        }
    )
    return idp_host_burden(days, dims.territory)


def _empty_days() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "month": pl.Date, "hromada_code": pl.String, "oblast_code": pl.String,
            "origin_oblast_code": pl.String, "recipient_id": pl.String, "days": pl.Int32,
            "days_in_month": pl.Int32, "gross_uah": pl.Float64, "copay_uah": pl.Float64,
        }
    )  # fmt: skip
