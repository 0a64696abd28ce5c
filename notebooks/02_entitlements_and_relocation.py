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
# # Entitlements and relocation: following one IDP's case across a move
#
# "Money follows the recipient": when an internally displaced person moves, the funding of their
# case moves with them **from the day of the move** — to the hromada and provider now serving them,
# with that hromada's coefficients. This notebook picks one displaced person's home-care case that
# moved between oblasts, shows how the engine cut it into segments, priced each one, and where the
# money went; then it steps back to the money flows between all regions.

# %%
import datetime as dt
from pathlib import Path

import plotly.graph_objects as go
import polars as pl

from engine import report
from engine.entitlements import compute_entitlements
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
entitlements = compute_entitlements(
    registry, model, territories, months=(dt.date(2024, 1, 1), dt.date(2026, 12, 1))
)
segments = entitlements.segments
pl.Config.set_tbl_rows(20)
pl.Config.set_tbl_cols(12)

# %% [markdown]
# ## Find a displaced person whose case moved
#
# Segments carry the serving territory and every pricing factor, so a move shows up as segments of
# one case in different oblasts. We look for home care (`015.1`, priced per hour) for an IDP, served
# in more than one oblast, where the territory coefficient changed with the move.

# %%
movers = (
    segments.filter(pl.col("is_idp") & (pl.col("service_code") == "015.1") & pl.col("funded"))
    .group_by("case_id")
    .agg(
        oblasts=pl.col("oblast_code").n_unique(),
        coefficients=pl.col("coef").n_unique(),
        registered_oblast=pl.col("registered_oblast_code").first(),
    )
    .filter((pl.col("oblasts") > 1) & (pl.col("coefficients") > 1))
    .sort("case_id")
)
movers

# %%
case_id = movers["case_id"][0]
case = registry.cases.filter(pl.col("case_id") == case_id)
person = registry.recipients.filter(pl.col("recipient_id") == case["recipient_id"][0])
names = territories.select("hromada_code", "hromada_name", "oblast_name")
# the engine's outputs carry territory codes as an Enum: the names join them cast to it
coded_names = names.with_columns(pl.col("hromada_code").cast(segments.schema["hromada_code"]))
locations = (
    registry.case_locations.filter(pl.col("case_id") == case_id)
    .join(names, on="hromada_code", how="left")
    .sort("valid_from")
)
print(f"case {case_id}: service {case['service_code'][0]}, need level {case['need_level'][0]}")
print(f"registered in {person['registered_hromada'][0]}, IDP: {person['is_idp'][0]}")
locations.select("hromada_name", "oblast_name", "provider_id", "valid_from", "valid_to")

# %% [markdown]
# ## The segments around the move
#
# Each segment lies inside one month and has constant rules. The month of the move is cut at the
# move date: the days before are paid to the old hromada at its coefficient, the days after to
# the new one at its own. Each factor is a column, so the amount explains itself:
# `gross = tariff × units × days ÷ days_in_month × coef × modifier`.

# %%
# the move: the first location in another oblast than the one before it
move_date = locations.filter(pl.col("oblast_name") != pl.col("oblast_name").shift(1))["valid_from"][
    0
]
move_month = move_date.replace(day=1)
around = segments.filter(
    (pl.col("case_id") == case_id)
    & pl.col("month").is_between(
        (move_month - dt.timedelta(days=1)).replace(day=1),
        (move_month + dt.timedelta(days=32)).replace(day=1),
    )
).join(coded_names, on="hromada_code", how="left")
around.select(
    "month",
    "segment_from",
    "segment_to",
    "days",
    "days_in_month",
    "hromada_name",
    "units",
    "tariff",
    "coef",
    "modifier",
    "gross_uah",
    "state_uah",
)

# %%
# the arithmetic of each segment, recomputed from its own columns (hour-priced service)
check = around.with_columns(
    recomputed=pl.col("tariff")
    * pl.col("units")
    * pl.col("days")
    / pl.col("days_in_month")
    * pl.col("coef")
    * pl.col("modifier")
    * pl.col("cap_factor")
).select("segment_from", "gross_uah", "recomputed")
assert (check["gross_uah"] - check["recomputed"]).abs().max() < 0.01
check

# %% [markdown]
# ## Month by month: where the case's money went
#
# The case-month totals (rounded to the kopiyka) by serving hromada: the bar changes colour in the
# month of the move, split between the two hromadas.

# %%
by_month = (
    segments.filter(pl.col("case_id") == case_id)
    .group_by("month", "hromada_code")
    .agg(pl.col("state_uah").sum())
    .join(coded_names, on="hromada_code", how="left")
    .sort("month")
)
fig = go.Figure(
    [
        go.Bar(x=part["month"].to_list(), y=part["state_uah"].to_list(), name=name)
        for (name,), part in by_month.group_by("hromada_name", maintain_order=True)
    ]
)
fig.update_layout(
    barmode="stack",
    title=f"Case {case_id}: state money per month by serving hromada (move on {move_date})",
    yaxis_title="UAH",
    template="plotly_white",
)
fig

# %% [markdown]
# ## All regions: money following recipients
#
# Summed over every case, the same mechanism moves money from the oblasts where people are
# registered (often frontline or occupied ones) to the oblasts that serve them now.

# %%
flows = report.oblast_flows(entitlements.flows)
moved = flows.filter(pl.col("registered_oblast_code") != pl.col("oblast_code"))
print(
    f"{moved['state_uah'].sum() / flows['state_uah'].sum():.1%} of the money crossed an oblast border"
)
report.flows_sankey_figure(flows, territories)
