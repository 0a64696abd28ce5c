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
# # Quickstart: from a registry extract to a planner's report
#
# This notebook runs the engine on the small sample extract in `data_samples/`: read and validate
# the registry, price every case's entitlement month by month, account for need in every
# territory, and write the HTML report a planner opens. Every step is a plain function of the
# `engine` package — the nightly job (`mfr run pipelines/nightly.yaml`) calls the same ones.
#
# Money follows the recipient: a case is paid where the person is **served**, which after a move
# is not where they are registered.

# %%
import datetime as dt
import os
from pathlib import Path

import polars as pl

from engine import report
from engine.entitlements import compute_entitlements
from engine.need import need_indicators
from engine.params import load_funding_model
from engine.reference import load_services, load_territories
from engine.registry import quarantine_summary, read_registry

# the repository root, whether the notebook runs from notebooks/ or from the root
ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "data_samples").is_dir())
OUT = Path(os.environ.get("MFR_NOTEBOOK_OUT", ROOT / "out" / "notebooks"))
territories = load_territories()  # KATOTTG hromadas with raion, oblast and population
services = load_services()  # the classifier of social services
pl.Config.set_tbl_rows(12)

# %% [markdown]
# ## 1. Read and validate the extract
#
# One folder, one file per table. Rows that break a rule (unknown code, orphan key, dates in the
# future of the extract, ...) are set aside in a quarantine table with the rule and the line;
# the valid rows go on.

# %%
registry = read_registry(
    ROOT / "data_samples" / "registry", territories=territories, services_catalogue=services
)
print(f"extract taken {registry.extract_date}")
{name: registry.table(name).height for name in ("recipients", "cases", "case_locations")}

# %%
summary = quarantine_summary(registry)
report.quarantine_figure(summary)

# %% [markdown]
# ## 2. Entitlements for the year
#
# The funding model is a folder of dated parameters (`models/funding/baseline`). Each case is
# cut into segments wherever anything affecting the amount changes (a move, a month boundary, a
# tariff's effective date, a territory status) and priced segment by segment; `case_months`
# holds the rounded monthly totals. Waiting cases are priced too, as unmet need.

# %%
model = load_funding_model(ROOT / "models" / "funding" / "baseline", services=services)
year = (dt.date(2026, 1, 1), dt.date(2026, 12, 1))
entitlements = compute_entitlements(registry, model, territories, months=year)
case_months = entitlements.case_months
case_months.select(
    "case_id", "month", "funded", "service_code", "hromada_code", "case_months", "state_uah"
).head()

# %%
numbers = report.headline_numbers(case_months)
report.headline_figure(numbers)

# %% [markdown]
# ## 3. Need and coverage by oblast
#
# `need_indicators` counts served and waiting cases per territory and month at every level.
# Need is observed up to the extract's month; later months are for the forecast.

# %%
observed = case_months.filter(pl.col("month") <= registry.extract_date.replace(day=1))
need = need_indicators(observed, territories)
latest = need["month"].max()
oblasts = need.filter(pl.col("level") == "oblast", pl.col("month") == latest)
oblasts.select("territory_name", "served_cases", "waiting_cases", "coverage").sort(
    "coverage"
).head()

# %%
report.oblast_bars_figure(report.oblast_summary(case_months, territories), territories)

# %%
report.oblast_tiles_figure(
    oblasts, "coverage", territories, title=f"Coverage of assessed need, {latest:%Y-%m}"
)

# %% [markdown]
# Hromada-level numbers are published only with small cells suppressed: a hromada where fewer
# than 5 people are served shows no numbers (and one more hromada of the oblast is blanked
# when needed, so the oblast total cannot give it back).

# %%
hromadas = report.publishable_hromadas(report.hromada_summary(case_months), min_count=5)
hromadas.select("hromada_code", "recipients", "entitled_uah", "suppressed").head()

# %% [markdown]
# ## 4. The report
#
# One self-contained HTML file (plotly inlined: it opens without a network). A nightly run writes
# the same report from the run store: `mfr report latest --out report.html`.

# %%
data = report.ReportData(
    case_months=case_months,
    flows=entitlements.flows,
    need=need,
    quarantine_summary=summary,
    rows_read=registry.rows_read,
    run={"source": "notebooks/01_quickstart", "funding model": str(model.version)},
    territories=territories,
    services=services,
)
path = OUT / "quickstart-report.html"
html = report.build_report(data, path)
print(f"{path} ({len(html) / 1e6:.1f} MB)")
