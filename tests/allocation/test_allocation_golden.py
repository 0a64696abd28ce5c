"""Hand-computed cases (golden_allocation.yaml), default policy and optimisation mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from engine.allocation import allocate, policy_from_dict

CASES = yaml.safe_load((Path(__file__).parent / "golden_allocation.yaml").read_text("utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_case(case: dict[str, Any]) -> None:
    policy = policy_from_dict({"name": case["name"], **case["policy"]})
    claims = pl.DataFrame(case["claims"]).with_columns(pl.col("claim_uah").cast(pl.Float64))
    result = allocate(claims, policy, mode=case["mode"])
    expect = case["expect"]

    got = {i: float(a) for i, a in result.rows.select("id", "allocated_uah").iter_rows()}
    assert got == pytest.approx(expect["allocated"], abs=1e-9)
    if "unspent_uah" in expect:
        assert result.unspent_uah == pytest.approx(expect["unspent_uah"], abs=1e-9)
    group = result.by_group.row(0, named=True)
    if "marginal_tier" in expect:
        assert group["marginal_tier"] == expect["marginal_tier"]
        assert group["marginal_factor"] == pytest.approx(expect["marginal_factor"])
    if "floors_paid" in expect:
        assert group["floors_paid"] is expect["floors_paid"]
    if "status" in expect:
        assert result.by_tier["status"].to_list() == expect["status"]
    if "marginal_value" in expect:
        assert group["marginal_value"] == pytest.approx(expect["marginal_value"], abs=1e-5)
    if "binding" in expect:
        assert result.binding is not None
        binding = {row["constraint"]: row for row in result.binding.iter_rows(named=True)}
        assert {name: binding[name]["binding"] for name in expect["binding"]} == expect["binding"]
        for name in ("equity", "caps", "floors"):
            if f"{name}_shadow_price" in expect:
                assert binding[name]["shadow_price"] == pytest.approx(
                    expect[f"{name}_shadow_price"], rel=1e-5
                )
