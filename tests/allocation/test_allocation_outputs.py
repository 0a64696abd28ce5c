"""Claims builders, summaries and equity figures."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from engine.allocation import (
    allocate,
    claims_from_case_months,
    claims_from_forecast,
    policy_from_dict,
    weighted_gini,
)
from engine.bench.allocation import bench_claims, bench_policy, pandas_allocate
from engine.columns import money_units
from engine.errors import InputFileError

TIERS = [
    {"name": "children", "when": "age < 18"},
    {"name": "everyone else", "otherwise": True},
]
JAN = dt.date(2026, 1, 1)


def _policy(envelope: float, **extra: object) -> object:
    return policy_from_dict(
        {
            "name": "t",
            "envelope": {"national_uah": envelope},
            "tier_resolution": "first_match",
            "tiers": TIERS,
            **extra,
        }
    )


def test_case_months_claim_the_state_share_and_unmet_need_is_optional() -> None:
    case_months = pl.DataFrame(
        {
            "case_id": ["a", "a", "b"],
            "month": [JAN, JAN, JAN],
            "funded": [False, True, True],
            "state_uah": [300.0, 700.0, 500.0],
            "gross_uah": [300.0, 800.0, 500.0],
            "age": [8, 8, 60],
        }
    )
    assert claims_from_case_months(case_months)["claim_uah"].to_list() == [300.0, 700.0, 500.0]
    served = claims_from_case_months(case_months.lazy(), include_unmet=False)
    assert served["claim_uah"].to_list() == [700.0, 500.0]
    result = allocate(claims_from_case_months(case_months), _policy(1200))
    # the child's two rows (waiting and served) come first: 1000, then 200 of 500
    assert result.rows["allocated_uah"].to_list() == [300.0, 700.0, 200.0]
    with pytest.raises(InputFileError, match="state_uah"):
        claims_from_case_months(case_months.drop("state_uah"))


def test_a_forecast_of_need_goes_through_the_same_code() -> None:
    forecast = pl.DataFrame(
        {
            "hromada_code": ["H1", "H2"],
            "service_code": ["015.1", "015.1"],
            "month": [JAN, JAN],
            "age": [10, 50],
            "need_uah": [400.0, 600.0],
        }
    )
    result = allocate(claims_from_forecast(forecast), _policy(700))
    assert result.rows["allocated_uah"].to_list() == [400.0, 300.0]
    assert result.by_service["allocated_uah"].to_list() == [700.0]
    with pytest.raises(InputFileError, match="negative"):
        claims_from_forecast(forecast.with_columns(need_uah=pl.lit(-1.0)))
    # or point the policy at the money column directly
    direct = allocate(forecast, _policy(700, claim_column="need_uah"))
    assert direct.rows["allocated_uah"].to_list() == [400.0, 300.0]
    assert direct.rows["claim_uah"].to_list() == [400.0, 600.0]


def test_summaries_by_territory_and_service_add_up() -> None:
    claims = pl.DataFrame(
        {
            "id": range(6),
            "oblast_code": ["O1", "O1", "O1", "O2", "O2", "O2"],
            "hromada_code": ["H1", "H1", "H2", "H3", "H3", "H4"],
            "service_code": ["015.1", "022.0", "015.1", "015.1", "022.0", "022.0"],
            "age": [5, 40, 40, 70, 12, 33],
            "claim_uah": [100.0, 200.0, 300.0, 400.0, 500.0, 600.0],
        }
    )
    territories = pl.DataFrame(
        {
            "hromada_code": ["H1", "H2", "H3", "H4"],
            "oblast_code": ["O1", "O1", "O2", "O2"],
            "population": [1000, 2000, 1000, 4000],
        }
    )
    result = allocate(claims, _policy(1500, floor_share=0.2), territories=territories)
    by_territory = result.by_territory
    assert by_territory["hromada_code"].to_list() == ["H1", "H2", "H3", "H4"]
    assert by_territory["allocated_uah"].sum() == pytest.approx(1500.0)
    assert by_territory["shortfall_uah"].sum() == pytest.approx(2100.0 - 1500.0)
    assert result.by_service["allocated_uah"].sum() == pytest.approx(1500.0)
    per_capita = by_territory["allocated_uah_per_resident"].to_numpy()
    equity = result.equity
    assert equity.level == "hromada_code"
    assert equity.territories == 4
    assert equity.coverage_spread == pytest.approx(
        by_territory["coverage"].max() - by_territory["coverage"].min()
    )
    assert equity.gini_per_capita == pytest.approx(
        weighted_gini(per_capita, by_territory["population"].to_numpy().astype(float))
    )
    assert equity.share_below_floor == 0.0


def test_share_below_floor_counts_territories_whose_envelope_missed_the_floors() -> None:
    claims = pl.DataFrame(
        {
            "hromada_code": ["H1", "H2"],
            "oblast_code": ["O1", "O2"],
            "age": [40, 40],
            "claim_uah": [1000.0, 1000.0],
        }
    )
    policy = policy_from_dict(
        {
            "name": "t",
            "envelope": {"per_oblast_uah": {"O1": 100, "O2": 1000}},
            "floor_share": 0.3,
            "tier_resolution": "first_match",
            "tiers": TIERS,
        }
    )
    result = allocate(claims, policy)
    assert result.equity.share_below_floor == 0.5
    assert result.by_group.filter(pl.col("envelope_group") == "O1")["floors_paid"].item() is False


def test_weighted_gini() -> None:
    assert weighted_gini(np.array([3.0, 3.0, 3.0]), np.array([1.0, 5.0, 2.0])) == 0.0
    # two equal halves of the population, one gets everything: 0.5
    assert weighted_gini(np.array([0.0, 10.0]), np.array([100.0, 100.0])) == pytest.approx(0.5)
    assert weighted_gini(np.array([]), np.array([])) is None


def test_no_claims_leave_the_whole_envelope_unspent() -> None:
    claims = pl.DataFrame(schema={"age": pl.Int64, "claim_uah": pl.Float64})
    result = allocate(claims, _policy(500))
    assert result.rows.height == 0
    assert result.unspent_uah == 500.0
    assert result.allocated_uah == 0.0


def test_bad_claim_values_are_input_errors() -> None:
    claims = pl.DataFrame({"age": [1, 2], "claim_uah": [10.0, None]})
    with pytest.raises(InputFileError, match="1 claim rows have no amount"):
        allocate(claims, _policy(5))
    with pytest.raises(InputFileError, match="negative"):
        allocate(claims.with_columns(claim_uah=pl.lit(-1.0)), _policy(5))


def test_the_benchmark_pandas_version_gives_the_same_kopiyky() -> None:
    claims = bench_claims(3_000, seed=11)
    raw = bench_policy(claims)
    engine = allocate(claims, policy_from_dict(raw), key=["case_id"]).rows["allocated_uah"]
    expected = pandas_allocate(claims.to_pandas(), raw)
    assert np.array_equal(money_units(engine), expected)


def test_walking_the_pool_in_small_blocks_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    claims = bench_claims(5_000, seed=5)
    policy = policy_from_dict(bench_policy(claims))
    whole = allocate(claims, policy, key=["case_id"]).rows["allocated_uah"]
    monkeypatch.setattr("engine.allocation._rounding.BLOCK", 97)
    blocked = allocate(claims, policy, key=["case_id"]).rows["allocated_uah"]
    assert whole.equals(blocked)
