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
# # Budget allocation and a scenario
#
# A budget ceiling rarely covers every claim. This notebook spreads an envelope over the year's
# claims with the default policy in `models/allocation/` (floors, then priority tiers, the marginal
# tier pro rata), looks at who falls short, and then asks a planner's question: *what if the
# home-care tariff rises 10 % in frontline hromadas from July?* — first as entitlements (who
# wins), then under the same envelope (who pays for it).

# %%
import dataclasses
import datetime as dt
import os
from pathlib import Path

import polars as pl

import engine
from engine import report

ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "data_samples").is_dir())
OUT = Path(os.environ.get("MFR_NOTEBOOK_OUT", ROOT / "out" / "notebooks"))
territories = engine.load_territories()
services = engine.load_services()
registry = engine.read_registry(
    ROOT / "data_samples" / "registry", territories=territories, services_catalogue=services
)
baseline_model = engine.load_funding_model(
    ROOT / "models" / "funding" / "baseline", services=services
)
year = (dt.date(2026, 1, 1), dt.date(2026, 12, 1))
baseline = engine.compute_entitlements(registry, baseline_model, territories, months=year)
pl.Config.set_tbl_rows(12)

# %% [markdown]
# ## Claims and the policy
#
# Every case-month claims what the state owes for it (`state_uah`); waiting cases claim too, as
# unmet need. The policy is data: read it before trusting the numbers.

# %%
claims = engine.claims_from_case_months(baseline.case_months)
policy = engine.load_policy(ROOT / "models" / "allocation" / "default-2026.yaml")
print((ROOT / "models" / "allocation" / "default-2026.yaml").read_text())

# %% [markdown]
# The policy's envelope (12.5 bn UAH) is sized for the whole country; the sample extract holds a
# few thousand people, so we set the envelope to 80 % of the sample's claims to see the rules bite.

# %%
envelope = round(0.80 * float(claims["claim_uah"].sum()), 2)
result = engine.allocate(claims, policy, envelope=envelope, territories=territories)
print(f"envelope {envelope:,.2f} UAH, allocated {result.allocated_uah:,.2f} UAH")
assert abs(result.allocated_uah - min(envelope, result.capped_claims_uah)) < 0.01
result.by_tier.select("tier", "status", "claim_uah", "allocated_uah", "coverage")

# %%
report.allocation_tiers_figure(result.by_tier)

# %%
report.allocation_figure(result.by_territory, territories)

# %%
report.allocation_matrix_figure(result.rows, territories)

# %% [markdown]
# ### Hromada level, safe to publish
#
# Allocations per hromada are published only with small cells suppressed, so the counts of people
# behind each hromada's claims come along: a hromada where fewer than 5 people claim shows nothing.

# %%
codes = pl.col("oblast_code", "hromada_code").cast(pl.String)  # codes as text on both sides
people = claims.group_by(codes).agg(recipients=pl.col("recipient_id").n_unique())
by_hromada = result.by_territory.with_columns(codes).join(
    people, on=["oblast_code", "hromada_code"], how="left"
)
safe = report.publishable(
    by_hromada.select(
        "oblast_code", "hromada_code", "recipients", "claim_uah", "allocated_uah", "coverage"
    )
)
print(f"{safe['suppressed'].sum()} of {safe.height} hromadas suppressed")
report.allocation_figure(
    safe.drop_nulls("allocated_uah").head(25), territories, level="hromada_code"
)

# %%
result.equity

# %% [markdown]
# ## A scenario: +10 % home-care tariff in frontline hromadas from July 2026
#
# A scenario is a small overlay file naming the parameters it changes
# (`models/scenarios/home-care-frontline-plus10.yaml`); the same loader applies it.

# %%
scenario_path = ROOT / "models" / "scenarios" / "home-care-frontline-plus10.yaml"
print(scenario_path.read_text())
scenario_model = engine.load_funding_model(
    ROOT / "models" / "funding" / "baseline", scenario=scenario_path, services=services
)
scenario = engine.compute_entitlements(registry, scenario_model, territories, months=year)
diff = engine.scenario_diff(baseline, scenario)
diff.summary()

# %%
report.scenario_figure(diff.territories, territories)

# %%
report.scenario_cases_figure(diff.cases)

# %% [markdown]
# ### Under the same envelope
#
# Entitlements only rise, but the budget does not. Allocating the scenario's claims with the same
# envelope shows who pays for the raise: oblasts with frontline home care gain, the others lose.

# %%
scenario_result = engine.allocate(
    engine.claims_from_case_months(scenario.case_months),
    policy,
    envelope=envelope,
    territories=territories,
)
allocated = (
    result.by_territory.group_by("oblast_code")
    .agg(baseline_uah=pl.col("allocated_uah").sum())
    .join(
        scenario_result.by_territory.group_by("oblast_code").agg(
            scenario_uah=pl.col("allocated_uah").sum()
        ),
        on="oblast_code",
        how="full",
        coalesce=True,
    )
    .fill_null(0.0)
    .with_columns(diff_state_uah=pl.col("scenario_uah") - pl.col("baseline_uah"))
)
assert abs(allocated["diff_state_uah"].sum()) < 0.05  # the envelope is the same
report.scenario_figure(
    allocated, territories, title="Allocation under the same envelope: scenario − baseline"
)

# %% [markdown]
# ## Planning 2027 from the forecast of need
#
# Next year's budget cannot wait for next year's entitlements: `pipelines/planning-2027.yaml`
# allocates the *forecast* need of 2027, priced under the home-care reform. The same steps with
# the public API: price the history under the planned model, forecast need with the spec's
# forecast configuration (`engine.forecast_need`), keep the budget year, share each forecast row
# over need levels by the recent mix (the 2027 policy tiers by need level:
# `engine.split_claims_by_need_level`), and allocate the spec's envelope.

# %%
spec = engine.load_spec(ROOT / "pipelines" / "planning-2027.yaml")
print(
    f"{spec.name}: model {spec.funding_model.name} + {spec.scenario.name}, policy {spec.policy.name}"
)
planned_model = engine.load_funding_model(spec.funding_model, spec.scenario, services=services)
budget_year = (dt.date(2027, 1, 1), dt.date(2027, 12, 1))  # the spec's months: 2027-01:2027-12
# horizon: auto — from the last month the extract saw in full through December 2027
seen = registry.extract_date + dt.timedelta(days=1)
last_seen = (seen.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
horizon = (budget_year[1].year - last_seen.year) * 12 + budget_year[1].month - last_seen.month
config = dataclasses.replace(
    engine.load_forecast_config(spec.forecast),
    history_months=spec.history_months,
    horizon=horizon,
    backtest_windows=spec.backtest_windows,
)
history = engine.compute_entitlements(registry, planned_model, territories)
need = engine.forecast_need(
    history,
    config,
    extract_date=registry.extract_date,
    territories=territories,
    services=services,
    model=planned_model,
)
assert need.need is not None
in_year = need.need.filter(pl.col("month").is_between(*budget_year))
planning_claims = engine.claims_from_forecast(
    engine.split_claims_by_need_level(in_year, history, extract_date=registry.extract_date)
)
planning_policy = engine.load_policy(spec.policy)
planning_envelope = spec.envelope.amount(float(planning_claims["claim_uah"].sum()))
plan = engine.allocate(planning_claims, planning_policy, planning_envelope, territories=territories)
print(
    f"forecast need 2027 {plan.claims_uah:,.2f} UAH, envelope {plan.envelope_uah:,.2f} UAH "
    f"({spec.envelope.share_of_claims:.0%} of it), allocated {plan.allocated_uah:,.2f} UAH"
)
plan.by_tier.select("tier", "status", "claim_uah", "allocated_uah", "coverage")

# %%
report.allocation_figure(plan.by_territory, territories)

# %%
# the planning allocation, as `mfr run pipelines/planning-2027.yaml` publishes it
OUT.mkdir(parents=True, exist_ok=True)
plan.rows.write_parquet(OUT / "04_planning_allocations.parquet")
planning_claims.write_parquet(OUT / "04_planning_need.parquet")

# %% [markdown]
# ## The report
#
# The same figures, with the entitlements, in one self-contained HTML file.

# %%
data = report.ReportData(
    case_months=baseline.case_months,
    flows=baseline.flows,
    allocation_by_territory=result.by_territory,
    allocation_by_tier=result.by_tier,
    allocation_rows=result.rows,
    scenario_territories=diff.territories,
    scenario_cases=diff.cases,
    run={"source": "notebooks/04_allocation_and_scenario", "policy": policy.name},
    territories=territories,
    services=services,
)
path = OUT / "allocation-report.html"
report.build_report(data, path)
print(path)
