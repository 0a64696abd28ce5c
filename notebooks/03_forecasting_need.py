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
# Planners budget next year's money from next year's need: the case-months of every assessed case,
# served or still waiting. This notebook forecasts them per hromada × service with the engine's one
# forecast path, `engine.forecast_need` — the same function `mfr forecast` and the nightly run
# call, with the same configuration file — so the numbers here are the numbers in the store.

# %%
import os
from pathlib import Path

import polars as pl

import engine
from engine import report
from engine.forecasting import BottomUp, MinTrace, aggregate, cross_validation, fit_hierarchy

ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "data_samples").is_dir())
OUT = Path(os.environ.get("MFR_NOTEBOOK_OUT", ROOT / "out" / "notebooks"))
territories = engine.load_territories()
services = engine.load_services()
registry = engine.read_registry(
    ROOT / "data_samples" / "registry", territories=territories, services_catalogue=services
)
model = engine.load_funding_model(ROOT / "models" / "funding" / "baseline", services=services)
pl.Config.set_tbl_rows(12)

# %% [markdown]
# ## The configuration says what is forecast, and how
#
# `models/forecast/default.yaml` names the target (`case_months_need` = served + waiting), the
# history, horizon, models, interval levels, the hierarchy (oblast > raion > hromada crossed with
# service group > service), the reconciliation and the backtest. A scenario is a short file that
# `extends:` it.

# %%
config = engine.load_forecast_config(ROOT / "models" / "forecast" / "default.yaml")
print(f"target: {config.target}; {config.history_months} months of history, {config.horizon} ahead")
print(config.description)

# %% [markdown]
# ## From entitlements to a priced forecast
#
# The history is what the entitlement step priced. `forecast_need` turns it into monthly series
# per hromada × service, keeps the months the extract saw in full (a partly observed last month
# would look like a drop), forecasts every node of the hierarchy coherently, backtests the method
# and prices the bottom level with the funding model.

# %%
entitlements = engine.compute_entitlements(registry, model, territories)
need = engine.forecast_need(
    entitlements,
    config,
    extract_date=registry.extract_date,
    territories=territories,
    services=services,
    model=model,
    registry=registry,  # statuses and incomes: the price follows every dated change
)
first, last = need.history_months
print(f"extract of {registry.extract_date}: history {first:%Y-%m} … {last:%Y-%m}")
print(f"{need.result.hierarchy.n_bottom:,} hromada × service series")
need.result.level_summary()

# %%
forecasts = need.forecasts
history = need.history.rename({"month": "ds", need.target: "y"})  # the bottom-level actuals
report.fan_chart_figure(forecasts, "total", history, label="Ukraine, all services")

# %%
# the oblast with the most need next year, and its largest service group
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
# The forecasts are coherent: at every month, every level sums to the country.

# %%
by_month = forecasts.group_by("level", "ds").agg(pl.col("mean").sum())
spread = by_month.group_by("ds").agg((pl.col("mean").max() - pl.col("mean").min()).alias("gap"))
assert spread["gap"].max() < 1e-6 * by_month["mean"].max()
spread.sort("ds").head(3)

# %% [markdown]
# ## Which model served which series
#
# For every node: what was fitted and why — including fallbacks for series too short or too
# sparse for a model.

# %%
need.models.group_by("level", "model").agg(pl.len().alias("series")).sort("level", "series")

# %% [markdown]
# ## Backtests: how good would this have been?
#
# Rolling origins: fit on the data up to an origin, forecast the horizon, compare with what
# happened, then move the origin 12 months. MASE and RMSSE scale the error by the in-sample naive
# one-step error; compare each method with the `naive` and `seasonal_naive` rows at the same
# level. Interval coverage should be near 80 % and 95 %.

# %%
summary = need.backtest_summary
assert summary is not None, need.backtest_skipped
summary.filter(pl.col("level").is_in(["total", "oblast_code", "hromada_code/service_code"])).select(
    "method", "level", "mase", "rmsse", "coverage_80", "coverage_95"
)

# %%
report.backtest_figure(need.backtest, metric="mase")

# %%
report.backtest_figure(need.backtest, metric="coverage_80")

# %% [markdown]
# ## Need in hryvnias
#
# Each hromada × service's last twelve months of caseload, re-priced at every forecast month's
# funding model: tariff, territorial coefficient (the hromada's statuses then), modifier and
# co-payment (each recipient's income band then), divided by its case-months — so a change dated
# in a future month moves the price from that month (`price_basis` says where a price came from).
# `need_uah` is served + waiting: what it would cost to serve everyone assessed.

# %%
priced = need.need
assert priced is not None and need.money_column == "need_uah"
print(
    f"{priced['need_uah'].sum():,.0f} UAH for {priced['case_months_need'].sum():,.0f} case-months"
)
(
    priced.group_by("oblast_code")
    .agg(pl.col("case_months_need", "need_uah", "need_uah_lo_80", "need_uah_hi_80").sum())
    .with_columns(pl.col("oblast_code").replace_strict(names, default=None).alias("oblast"))
    .sort("need_uah", descending=True)
    .head(8)
)

# %% [markdown]
# ## The analyst API: any structure, one fit, many reconcilers
#
# `forecast_need` runs the configured forecast. To explore, the engine follows statsforecast's
# and hierarchicalforecast's conventions: a structure is a list of levels (here the total, each
# factor, and oblast × service group — without raions or hromadas), the base models are fitted
# once, and any number of reconcilers are applied to that one fit. The wide frame names columns as
# hierarchicalforecast does: `Base`, `Base/BottomUp`, `Base/MinTrace_method-ols`, ...

# %%
levels = [[], ["oblast_code"], ["service_group"], ["oblast_code", "service_group"]]
series = {"date_col": "month", "value_col": "case_months_need"}
fitted = fit_hierarchy(need.history, structure=levels, horizon=12, **series)
reconcilers = [BottomUp(), MinTrace("ols"), MinTrace("wls_var"), MinTrace("mint_shrink")]
table = fitted.reconcile(*reconcilers, levels=(80,))
table.filter(pl.col("unique_id") == "total").select(
    "ds", "Base", *[f"Base/{r.name}" for r in reconcilers]
).head(4)

# %% [markdown]
# In-sample one-step fitted values and residuals (`y − fitted`: what `wls_var` and `mint_shrink`
# weigh the nodes by), and hierarchicalforecast's `Y_df, S_df, tags` for the same structure.

# %%
residuals = fitted.residuals()
print({name: len(ids) for name, ids in aggregate(need.history, levels, **series)[2].items()})
fitted.fitted_values().join(residuals, on=["unique_id", "ds"], suffix="_residual").filter(
    pl.col("unique_id") == "total"
).tail(3)

# %% [markdown]
# `cross_validation` is statsforecast's long frame, `unique_id, ds, cutoff, y, <model>...`: the
# same origins and forecasts as the backtest, for any metric an analyst prefers.

# %%
cv = cross_validation(
    need.history, structure=levels, h=6, n_windows=2, **series,
    reconcilers=[BottomUp(), MinTrace("mint_shrink")],
)  # fmt: skip
errors = cv.with_columns(
    (pl.col(c) - pl.col("y")).abs().alias(c) for c in cv.columns if c.startswith("Base")
)
errors.filter(pl.col("unique_id") == "total").group_by("cutoff").agg(
    pl.col("^Base.*$").mean()
).sort("cutoff")

# %% [markdown]
# A driver can be a dated series: `models/forecast/population_projection.yaml` scales the level of
# three oblasts by a population projection (`drivers/population_oblast.csv`), applied here to the
# one fit.

# %%
scenario = engine.load_forecast_config(ROOT / "models" / "forecast" / "population_projection.yaml")
projected = fitted.reconciled("mint_shrink", drivers=scenario.drivers)
baseline = fitted.reconciled("mint_shrink")
lviv = "UA46000000000026241"
(
    baseline.forecasts.filter(pl.col("unique_id") == lviv)
    .select("ds", pl.col("mean").alias("baseline"))
    .join(projected.forecasts.select("unique_id", "ds", "mean"), on="ds")
    .filter(pl.col("unique_id") == lviv)
    .select("ds", "baseline", pl.col("mean").alias("projected"))
    .head(4)
)

# %% [markdown]
# The same frames `mfr forecast` writes, for comparison or a BI tool.

# %%
OUT.mkdir(parents=True, exist_ok=True)
for name, frame in need.frames().items():
    frame.write_parquet(OUT / f"03_{name}.parquet")
sorted(p.name for p in OUT.glob("03_*.parquet"))
