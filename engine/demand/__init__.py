"""Demand: monthly need series from priced segments, their forecast, and forecast need in UAH.

    >>> import engine
    >>> need = engine.forecast_need(entitlements, engine.load_forecast_config(path),
    ...                             extract_date=registry.extract_date, model=model)  # doctest: +SKIP

- `_series`: `demand_series` (segments → month × hromada × service: case-months served, waiting and
  need, new cases, money) on a complete month grid, and the history rule `last_complete_month`;
- `_need`: `forecast_need`, the one forecast path the CLI, the nightly and the notebooks share;
- `_price`: `price_forecast`, forecast case-months × price per case-month at the forecast
  month's tariff;
- `_split`: `split_claims_by_need_level`, forecast claims shared over need levels by the recent
  mix, so allocation tiers can use `need_level`.
"""

from __future__ import annotations

from engine.demand._need import DEFAULT_HIERARCHY, NeedForecast, forecast_need
from engine.demand._price import money_column, price_forecast
from engine.demand._series import (
    CASE_MONTH_TARGETS,
    DEMAND_TARGETS,
    TERRITORY_KEYS,
    demand_series,
    last_complete_month,
)
from engine.demand._split import need_level_mix, split_claims_by_need_level

__all__ = [
    "CASE_MONTH_TARGETS",
    "DEFAULT_HIERARCHY",
    "DEMAND_TARGETS",
    "TERRITORY_KEYS",
    "NeedForecast",
    "demand_series",
    "forecast_need",
    "last_complete_month",
    "money_column",
    "need_level_mix",
    "price_forecast",
    "split_claims_by_need_level",
]
