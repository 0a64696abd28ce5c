"""Headline totals and counts taken in one pass are the sums and counts of the frames themselves;
money columns built from kopiyka integers are those integers exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from engine.columns import decimal_series, money_units
from engine.entitlements import Entitlements, compute_entitlements
from engine.params import load_funding_model
from engine.reference import load_territories
from engine.registry import read_registry

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "models" / "funding" / "baseline"


@pytest.fixture(scope="module")
def ent() -> Entitlements:
    registry = read_registry(REPO / "data_samples" / "registry")
    model = load_funding_model(BASELINE)
    return compute_entitlements(registry, model, load_territories(), months=("2025-07", "2026-06"))


def test_totals_by_funding_are_the_filtered_sums(ent: Entitlements) -> None:
    sums = ent.totals_by_funding()
    cm = ent.case_months
    for side, funded in (("served", True), ("waiting", False)):
        part = cm.filter(pl.col("funded") == funded)
        assert part.height > 0
        assert sums[side]["rows"] == part.height
        for column in ("gross_uah", "copay_uah", "state_uah"):
            assert sums[side][column] == part[column].sum(), (side, column)
        assert sums[side]["case_months"] == pytest.approx(part["case_months"].sum(), rel=1e-12)
    totals = ent.totals()
    assert totals["state_uah"] == float(sums["served"]["state_uah"])
    assert totals["unmet_gross_uah"] == float(sums["waiting"]["gross_uah"])


def test_cases_counted_from_the_core_are_the_distinct_case_ids(ent: Entitlements) -> None:
    assert ent.n_cases == ent.case_months["case_id"].n_unique()
    # built without the count, the frame's own distinct ids are taken
    bare = Entitlements(
        segments=ent.segments,
        case_months=ent.case_months,
        rollups=ent.rollups,
        flows=ent.flows,
        model_version=ent.model_version,
        model_hash=ent.model_hash,
        months=ent.months,
    )
    assert bare.n_cases == ent.n_cases


@pytest.mark.parametrize("scale", [2, 4])
def test_decimal_columns_hold_the_integers_exactly(scale: int) -> None:
    rng = np.random.default_rng(5)
    units = rng.integers(-(10**15), 10**15, 10_000)
    units[:4] = [0, -1, 1, 10**16 - 1]
    series = decimal_series(units, "x", scale)
    assert series.dtype == pl.Decimal(18, scale)
    assert np.array_equal(money_units(series, scale), units)
    assert str(series[1]) == "-0." + "0" * (scale - 1) + "1"
    with pytest.raises(ValueError, match="does not fit"):
        decimal_series(np.array([-(10**16)]), "x", scale)
    assert decimal_series(units[::3], "x", scale).to_list() == series[::3].to_list()
