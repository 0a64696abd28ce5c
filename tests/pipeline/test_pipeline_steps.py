"""The engine's own steps where they add something to the stages: need history priced a year at a
time, and forecast need split over need levels for allocation policies."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from engine.pipeline._steps_forecast import _demand_history, _split_by_need_level

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def priced_sample():
    from engine.entitlements import compute_entitlements
    from engine.params import load_funding_model
    from engine.reference import load_services, load_territories
    from engine.registry import read_registry

    territories, services = load_territories(), load_services()
    registry = read_registry(
        REPO / "data_samples" / "registry", territories=territories, services_catalogue=services
    )
    model = load_funding_model(REPO / "models" / "funding" / "baseline", services=services)
    return lambda lo, hi: (
        compute_entitlements(registry, model, territories, months=(lo, hi)).segments
    )


def test_history_a_year_at_a_time_equals_all_at_once(priced_sample) -> None:
    from engine.demand import demand_series

    first, last = dt.date(2024, 11, 1), dt.date(2026, 10, 1)
    chunked, mix = _demand_history(priced_sample, demand_series, first, last, chunk=7)
    whole, whole_mix = _demand_history(priced_sample, demand_series, first, last, chunk=100)
    assert chunked["month"].min() == first and chunked["month"].max() == last
    assert_frame_equal(chunked, whole, check_exact=False, abs_tol=1e-6)
    assert_frame_equal(
        mix.sort(pl.all()), whole_mix.sort(pl.all()), check_exact=False, abs_tol=1e-6
    )


PRICED = pl.DataFrame(
    {
        "hromada_code": ["H1", "H1", "H2", "H3"],
        "service_code": ["015.1", "015.1", "015.1", "009.0"],
        "month": [
            dt.date(2027, 1, 1),
            dt.date(2027, 2, 1),
            dt.date(2027, 1, 1),
            dt.date(2027, 1, 1),
        ],
        "case_months": [10.0, 12.0, 4.0, 2.0],
        "need_uah": [1000.0, 1200.0, 400.0, 300.0],
    }
)
MIX = pl.DataFrame(
    {
        # H1 has its own mix (3:1); H2 has none of 015.1, so 015.1's national mix (3+1+4 : 0 …);
        # nobody had 009.0: the national mix of everything
        "hromada_code": ["H1", "H1", "H4"],
        "service_code": ["015.1", "015.1", "015.1"],
        "need_level": [3, 1, 2],
        "case_months": [3.0, 1.0, 4.0],
    }
)


def test_the_need_level_split_keeps_every_total_and_follows_the_mix() -> None:
    split = _split_by_need_level(PRICED, MIX)
    totals = split.group_by("hromada_code", "service_code", "month").agg(
        pl.col("case_months", "need_uah").sum()
    )
    assert_frame_equal(
        totals.sort("hromada_code", "month"),
        PRICED.select(totals.columns).sort("hromada_code", "month"),
        check_exact=False,
    )
    h1 = split.filter((pl.col("hromada_code") == "H1") & (pl.col("month") == dt.date(2027, 1, 1)))
    assert dict(zip(h1["need_level"], h1["need_uah"], strict=True)) == {1: 250.0, 3: 750.0}
    h2 = split.filter(pl.col("hromada_code") == "H2")  # 015.1 nationally: 1 : 4 : 3 of 8
    assert dict(zip(h2["need_level"], h2["need_uah"], strict=True)) == {1: 50.0, 2: 200.0, 3: 150.0}
    h3 = split.filter(pl.col("hromada_code") == "H3")  # no 009.0 anywhere: the national mix
    assert h3["need_uah"].sum() == pytest.approx(300.0) and h3.height == 3
