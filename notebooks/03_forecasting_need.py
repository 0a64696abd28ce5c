# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Forecasting need, with honest backtests
#
# Planners budget next year's money from next year's case-months. This notebook builds monthly
# series of served case-months per oblast and service group from the registry, forecasts every
# node of the hierarchy (Ukraine → oblast, crossed with service group) so that the oblasts add up
# to the country, and checks the method on the past with rolling-origin backtests.

# %%
import datetime as dt
from pathlib import Path

import polars as pl

from engine import report
from engine.entitlements import compute_entitlements
from engine.forecasting import backtest, forecast, summarise_backtest
from engine.params import load_funding_model
from engine.reference import load_services, load_territories
from engine.registry import read_registry

ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "data_samples").is_dir())
territories = load_territories()
services = load_services()
registry = read_registry(
    ROOT / "data_samples" / "registry", territories=territories, services_catalogue=services
)
model = load_funding_model(ROOT / "models" / "funding" / "baseline", services=services)
pl.Config.set_tbl_rows(12)

# %% [markdown]
# ## Monthly series from the registry
#
# Case-months (days served ÷ days in the month) per oblast and service group, for the months the
# extract has observed. Months after the extract are what we forecast.

# %%
# the last month the extract saw in full (a partly observed month would look like a drop)
first_unseen = (registry.extract_date + dt.timedelta(days=1)).replace(day=1)
last_observed = (first_unseen - dt.timedelta(days=1)).replace(day=1)
history_months = (dt.date(2024, 1, 1), last_observed)
case_months = compute_entitlements(registry, model, territories, months=history_months).case_months
series = (
    case_months.filter(pl.col("funded"))
    .group_by("oblast_code", "service_group", "month")
    .agg(pl.col("case_months").sum())
    .sort("oblast_code", "service_group", "month")
)
print(f"{series.height:,} rows, {history_months[0]:%Y-%m} … {history_months[1]:%Y-%m}")
series.head()

# %% [markdown]
# ## Forecast every node, coherently
#
# Each node gets the model that suits it (exponential smoothing chosen by AICc for smooth series,
# Croston/SBA/TSB for intermittent ones, with reported fallbacks); MinT reconciliation then makes
# the forecasts add up across the hierarchy, with 80 % and 95 % prediction intervals.

# %%
hierarchy = {"nested": ["oblast_code"], "crossed": [["service_group"]]}
result = forecast(
    series, hierarchy=hierarchy, date_col="month", value_col="case_months", horizon=12
)
result.level_summary()

# %%
forecasts = result.forecasts
history = series.rename({"month": "ds", "case_months": "y"})  # the bottom-level actuals
report.fan_chart_figure(forecasts, "total", history, label="Ukraine, all services")

# %%
# the oblast with the most case-months next year, and its largest service group
oblast_rows = forecasts.filter(pl.col("level") == "oblast_code")
top = (
    oblast_rows.group_by("unique_id", "oblast_code")
    .agg(pl.col("mean").sum())
    .sort("mean", descending=True)
)
oblast_node, oblast = top["unique_id"][0], top["oblast_code"][0]
names = dict(territories.select("oblast_code", "oblast_name").unique().iter_rows())
report.fan_chart_figure(forecasts, oblast_node, history, label=names[oblast])

# %%
pair = (
    forecasts.filter(
        (pl.col("level") == "oblast_code/service_group") & (pl.col("oblast_code") == oblast)
    )
    .group_by("unique_id", "service_group")
    .agg(pl.col("mean").sum())
    .sort("mean", descending=True)
    .row(0, named=True)
)
report.fan_chart_figure(
    forecasts, pair["unique_id"], history, label=f"{names[oblast]}, {pair['service_group']}"
)

# %% [markdown]
# The forecasts are coherent: at every month, the oblasts sum to the country.

# %%
by_month = forecasts.group_by("level", "ds").agg(pl.col("mean").sum())
spread = by_month.group_by("ds").agg((pl.col("mean").max() - pl.col("mean").min()).alias("gap"))
assert spread["gap"].max() < 1e-6 * by_month["mean"].max()
spread.head(3)

# %% [markdown]
# ## Which model served which series
#
# The model report says, for every node, what was fitted and why — including fallbacks for series
# too short or too sparse for a model.

# %%
result.models.group_by("level", "model").agg(pl.len().alias("series")).sort("level", "series")

# %% [markdown]
# ## Backtests: how good would this have been?
#
# Rolling origins: fit on the data up to an origin, forecast 6 months, compare with what happened,
# then move the origin. MASE and RMSSE below 1 beat the naive benchmark; interval coverage should
# be near 80 % and 95 %.

# %%
table = backtest(
    series,
    hierarchy=hierarchy,
    date_col="month",
    value_col="case_months",
    horizon=6,
    n_windows=3,
    methods=("base", "bottom_up", "mint_shrink"),
)
summarise_backtest(table).select("method", "level", "mase", "rmsse", "coverage_80", "coverage_95")

# %%
report.backtest_figure(table, metric="mase")

# %%
report.backtest_figure(table, metric="coverage_80")
