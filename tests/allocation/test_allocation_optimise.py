"""Optimisation mode: it agrees with the default policy where the two coincide."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.allocation import allocate, policy_from_dict
from engine.columns import money_units
from engine.errors import ConfigError

HROMADAS = {"H1": "UA01", "H2": "UA01", "H3": "UA02", "H4": "UA03"}
TIERS = [
    {"name": "children", "when": "age < 18"},
    {"name": "need level 3", "when": "need_level = 3"},
    {"name": "everyone else", "otherwise": True},
]


@st.composite
def coinciding_cases(draw: st.DrawFn) -> tuple[pl.DataFrame, dict[str, Any]]:
    n = draw(st.integers(1, 30))
    hromadas = draw(st.lists(st.sampled_from(sorted(HROMADAS)), min_size=n, max_size=n))
    claims = pl.DataFrame(
        {
            "id": list(range(n)),
            "hromada_code": hromadas,
            "oblast_code": [HROMADAS[h] for h in hromadas],
            "service_code": draw(
                st.lists(st.sampled_from(["015.1", "022.0"]), min_size=n, max_size=n)
            ),
            "age": draw(st.lists(st.sampled_from([5, 40, 80]), min_size=n, max_size=n)),
            "need_level": draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)),
            # whole hryvnias so that every floor is a whole number of kopiyky
            "claim_uah": draw(st.lists(st.integers(0, 50_000), min_size=n, max_size=n)),
        }
    ).with_columns(pl.col("claim_uah").cast(pl.Float64))
    total = float(claims["claim_uah"].sum())
    ratio = draw(st.sampled_from([0.05, 0.3, 0.7, 1.1]) | st.floats(0, 1.2))
    envelope: dict[str, Any] = {"national_uah": round(total * ratio, 2)}
    if draw(st.booleans()):
        envelope = {"per_oblast_uah": {"UA01": round(total * ratio / 2, 2), "UA02": 1000.0}}
        envelope["national_uah"] = round(sum(envelope["per_oblast_uah"].values()) + 500, 2)
    policy = {
        "name": "coinciding",
        "envelope": envelope,
        "floor_share": draw(st.sampled_from([0.0, 0.1, 0.25, 0.5])),
        "tier_resolution": "first_match",
        "tiers": TIERS,  # default weights 100, 10, 1: strictly decreasing
    }
    return claims, policy


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(coinciding_cases())
def test_optimiser_agrees_with_the_default_policy(
    case: tuple[pl.DataFrame, dict[str, Any]],
) -> None:
    claims, raw = case
    policy = policy_from_dict(raw)
    default = allocate(claims, policy)
    optimised = allocate(claims, policy, mode="optimise")
    a = money_units(default.rows["allocated_uah"])
    b = money_units(optimised.rows["allocated_uah"])
    # the same money in every envelope group, to the kopiyka, and the same kopiyky per row
    # up to the rounding of the marginal tier
    assert (
        default.by_group["allocated_uah"].to_list() == optimised.by_group["allocated_uah"].to_list()
    )
    assert np.abs(a - b).max(initial=0) <= 2


def test_equity_bound_that_cannot_hold_is_a_config_error() -> None:
    # H1 cannot get more than 50% (its envelope), H3 is paid in full by its own envelope
    claims = pl.DataFrame(
        {
            "id": [1, 2],
            "hromada_code": ["H1", "H3"],
            "oblast_code": ["UA01", "UA02"],
            "age": [40, 40],
            "need_level": [1, 1],
            "claim_uah": [1000.0, 1000.0],
        }
    )
    policy = policy_from_dict(
        {
            "name": "impossible",
            "envelope": {"per_oblast_uah": {"UA01": 100, "UA02": 1000}},
            "floor_share": 0.5,
            "tier_resolution": "first_match",
            "tiers": TIERS,
            "optimise": {"equity": {"max_spread": 0.1}},
        }
    )
    with pytest.raises(ConfigError, match="equity bound cannot hold"):
        allocate(claims, policy, mode="optimise")


def test_max_deviation_keeps_every_hromada_near_the_national_coverage() -> None:
    claims = pl.DataFrame(
        {
            "id": [1, 2, 3],
            "hromada_code": ["H1", "H2", "H3"],
            "oblast_code": ["UA01", "UA01", "UA02"],
            "age": [5, 40, 40],
            "need_level": [1, 1, 1],
            "claim_uah": [1000.0, 1000.0, 1000.0],
        }
    )
    policy = policy_from_dict(
        {
            "name": "deviation",
            "envelope": {"national_uah": 1500},
            "tier_resolution": "first_match",
            "tiers": TIERS,
            "optimise": {"equity": {"max_deviation": 0.2}},
        }
    )
    result = allocate(claims, policy, mode="optimise")
    coverage = result.by_territory["coverage"].to_numpy()
    assert result.allocated_uah == 1500.0
    # national coverage 0.5; the child's hromada is held to 0.5 + 0.2
    assert coverage.max() == pytest.approx(0.7, abs=1e-6)
    assert np.abs(coverage - 0.5).max() <= 0.2 + 1e-6
    assert result.binding is not None
    equity = result.binding.filter(pl.col("constraint") == "equity").row(0, named=True)
    assert equity["binding"] is True
