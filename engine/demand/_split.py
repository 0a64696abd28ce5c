"""Forecast claims split by need level, by the recent mix of need levels.

Allocation policies tier claims by need level (`need_level = 3`), but a forecast is made per
hromada × service. `split_claims_by_need_level` shares each priced forecast row out over the need
levels in proportion to the case-months (served + waiting) of each level there over the last
`months` months of history — or, where that hromada had none of the service, the service's
national mix, else the national mix. Shares sum to 1, so the split keeps every total.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from engine.dates import add_months
from engine.demand._series import CASE_MONTH_UNITS, last_complete_month
from engine.errors import InputFileError

if TYPE_CHECKING:
    from engine.entitlements import Entitlements

__all__ = ["need_level_mix", "split_claims_by_need_level"]

_PAIR = ["hromada_code", "service_code"]
_MIX_COLUMNS = ("month", "hromada_code", "service_code", "need_level", "days", "days_in_month")


def _segments_of(history: Entitlements | pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    frame = history if isinstance(history, pl.DataFrame | pl.LazyFrame) else history.segments
    return frame.lazy()


def need_level_mix(
    history: Entitlements | pl.DataFrame | pl.LazyFrame, months: tuple[dt.date, dt.date]
) -> pl.DataFrame:
    """Case-months (served + waiting) per hromada × service × need level over `months`."""
    seg = _segments_of(history)
    missing = [c for c in _MIX_COLUMNS if c not in seg.collect_schema().names()]
    if missing:
        raise InputFileError(f"segments lack column(s) {missing}", column=missing[0])
    return (
        seg.filter(pl.col("month").cast(pl.Date).is_between(*months))
        .group_by(*_PAIR, "need_level", "month")
        .agg(pl.col("days").cast(pl.Int64).sum(), pl.col("days_in_month").first().cast(pl.Int64))
        .group_by(*_PAIR, "need_level")
        .agg((pl.col("days") * (CASE_MONTH_UNITS // pl.col("days_in_month"))).sum().alias("_units"))
        .with_columns((pl.col("_units") / CASE_MONTH_UNITS).alias("case_months"))
        .drop("_units")
        .with_columns(pl.col(_PAIR).cast(pl.String))  # codes as text (segments may hold Enum)
        .sort(*_PAIR, "need_level")
        .collect()
    )


def split_claims_by_need_level(
    priced_forecast: pl.DataFrame,
    history: Entitlements | pl.DataFrame | pl.LazyFrame,
    *,
    months: int = 12,
    extract_date: dt.date | None = None,
) -> pl.DataFrame:
    """Each priced forecast row shared out over need levels by the recent mix (module docstring).

    `priced_forecast`: the `need` frame of `forecast_need` (or `price_forecast`'s output), per
    hromada × service × month; `history`: the `Entitlements` (or its segments) the forecast
    learned from. The mix is taken over the `months` months that end with the last history
    month before the forecast's first month — with `extract_date`, no later than the last month
    the extract saw in full (`last_complete_month`), the rule `forecast_need` uses. Every
    case-month and money column is multiplied by the share; the result has a `need_level` column,
    so `engine.allocation.claims_from_forecast` makes claims policies can tier.

    >>> import datetime as dt
    >>> history = pl.DataFrame({  # one hromada × service: a level-3 case all month, a level-1 half
    ...     "month": [dt.date(2026, 9, 1)] * 2, "hromada_code": ["H1"] * 2,
    ...     "service_code": ["015.1"] * 2, "need_level": [3, 1], "days": [30, 15],
    ...     "days_in_month": [30, 30]})
    >>> need = pl.DataFrame({"hromada_code": ["H1"], "service_code": ["015.1"],
    ...     "month": [dt.date(2027, 1, 1)], "case_months_need": [3.0], "need_uah": [900.0]})
    >>> split_claims_by_need_level(need, history).select("need_level", "need_uah").rows()
    [(1, 300.0), (3, 600.0)]
    """
    missing = [c for c in (*_PAIR, "month") if c not in priced_forecast.columns]
    if missing:
        raise InputFileError(f"priced forecast lacks column(s) {missing}", column=missing[0])
    seg = _segments_of(history)
    last_seen = seg.select(pl.col("month").cast(pl.Date).max()).collect().item()
    if last_seen is None:
        raise InputFileError("no history to take the need-level mix from")
    first_forecast = priced_forecast["month"].min()
    end = last_seen
    if isinstance(first_forecast, dt.date):
        end = min(end, add_months(first_forecast, -1))
    if extract_date is not None:
        end = min(end, last_complete_month(extract_date))
    mix = need_level_mix(seg, (add_months(end, 1 - months), end))
    return _split(priced_forecast, mix)


def _split(priced: pl.DataFrame, mix: pl.DataFrame) -> pl.DataFrame:
    # shares from whole case-month units: integer sums, the same whatever the row order
    units = mix.with_columns(
        (pl.col("case_months") * CASE_MONTH_UNITS).round().cast(pl.Int64).alias("_units")
    )

    def shares(keys: list[str]) -> pl.DataFrame:
        grouped = units.group_by(*keys, "need_level").agg(pl.col("_units").sum())
        total = pl.col("_units").sum().over(keys) if keys else pl.col("_units").sum()
        return grouped.with_columns(share=pl.col("_units") / total).drop("_units")

    local, service, national = shares(_PAIR), shares(["service_code"]), shares([])
    pairs = priced.select(_PAIR).unique()
    with_local = pairs.join(local.select(_PAIR).unique(), on=_PAIR, how="semi")
    others = pairs.join(with_local, on=_PAIR, how="anti")
    with_service = others.join(
        service.select("service_code").unique(), on="service_code", how="semi"
    )
    rest = others.join(with_service, on=_PAIR, how="anti")
    weights = pl.concat(
        [
            with_local.join(local, on=_PAIR),
            with_service.join(service, on="service_code"),
            rest.join(national, how="cross"),
        ],
        how="diagonal_relaxed",
    )
    scaled = [c for c in priced.columns if c.startswith("case_months") or c.endswith("_uah")]
    scaled += [c for c in priced.columns if "_uah_" in c and c not in scaled]
    scaled = [c for c in scaled if c != "price_uah"]
    return (
        priced.join(weights, on=_PAIR)
        .with_columns(pl.col(c) * pl.col("share") for c in scaled)
        .drop("share")
        .sort(*_PAIR, "month", "need_level")
    )
