"""The engine's own nodes where they add something to the stages: one pricing in blocks gives what
pricing each window alone gives, and forecast need is split over need levels for allocation
policies."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from engine.pipeline._nodes import HistoryWindow, Months, Reference
from engine.pipeline._pricing import _blocks, priced
from engine.pipeline._steps_forecast import _split_by_need_level, demand_history

REPO = Path(__file__).resolve().parents[2]
D = dt.date


class _Computes:
    """A plan stand-in: which consumers of the pricing this run computes."""

    def __init__(self, *names: str) -> None:
        self.names = set(names)

    def computes(self, name: str) -> bool:
        return name in self.names


@pytest.fixture(scope="module")
def sample():
    from engine.params import load_funding_model
    from engine.reference import load_services, load_territories
    from engine.registry import read_registry

    territories, services = load_territories(), load_services()
    registry = read_registry(
        REPO / "data_samples" / "registry", territories=territories, services_catalogue=services
    )
    model = load_funding_model(REPO / "models" / "funding" / "baseline", services=services)
    return registry, model, Reference(territories, services)


def test_the_blocks_cover_the_union_of_the_windows_each_month_once() -> None:
    blocks = _blocks(
        Months(D(2026, 1, 1), D(2026, 12, 1)), HistoryWindow(D(2023, 11, 1), D(2026, 10, 1))
    )
    assert blocks[0] == (D(2026, 1, 1), D(2026, 12, 1))  # the spec's months: one block
    months = [m for first, last in blocks for m in pl.date_range(first, last, "1mo", eager=True)]
    assert len(months) == len(set(months)) == 38  # 2023-11 .. 2026-12, none twice
    assert min(months) == D(2023, 11, 1) and max(months) == D(2026, 12, 1)
    assert all(
        (last.year - first.year) * 12 + last.month - first.month < 12 for first, last in blocks
    )
    # a window after the spec's months, with a gap: priced apart, nothing in between
    apart = _blocks(
        Months(D(2020, 1, 1), D(2020, 3, 1)), HistoryWindow(D(2021, 1, 1), D(2021, 2, 1))
    )
    assert apart == [(D(2020, 1, 1), D(2020, 3, 1)), (D(2021, 1, 1), D(2021, 2, 1))]
    assert _blocks(None, HistoryWindow(D(2024, 1, 1), D(2025, 6, 1))) == [
        (D(2024, 1, 1), D(2024, 12, 1)),
        (D(2025, 1, 1), D(2025, 6, 1)),
    ]


def test_one_pricing_gives_what_each_window_priced_alone_gives(sample) -> None:
    from engine.demand import demand_series
    from engine.entitlements import compute_entitlements

    registry, model, reference = sample
    months = Months(D(2026, 1, 1), D(2026, 12, 1))
    window = HistoryWindow(D(2024, 5, 1), D(2026, 9, 1))  # 29 months: three blocks
    both = priced(
        registry=registry,
        model=model,
        reference=reference,
        months=months,
        history=window,
        plan=_Computes("entitle", "demand_history"),
    )
    alone = compute_entitlements(
        registry, model, reference.territories, months=("2026-01", "2026-12")
    )
    assert_frame_equal(both.case_months, alone.case_months)  # exactly: the same pricing
    assert_frame_equal(both.rollups, alone.rollups)
    assert_frame_equal(both.flows, alone.flows)

    history = demand_history(both, window)
    whole = compute_entitlements(
        registry, model, reference.territories, months=(window.first, window.last)
    )
    expected = demand_series(whole.segments).sort("hromada_code", "service_code", "month")
    assert history.series["month"].min() == window.first
    assert_frame_equal(history.series, expected, check_exact=False, abs_tol=1e-6)
    recent = whole.segments.filter(pl.col("month") >= D(2025, 10, 1))
    mix = recent.group_by("hromada_code", "service_code", "need_level").agg(
        case_months=(pl.col("days") / pl.col("days_in_month")).sum()
    )
    assert_frame_equal(
        history.mix.sort(pl.all()), mix.sort(pl.all()), check_exact=False, abs_tol=1e-9
    )


def test_a_run_that_needs_only_the_history_prices_only_the_history(sample) -> None:
    registry, model, reference = sample
    window = HistoryWindow(D(2025, 1, 1), D(2025, 6, 1))
    out = priced(
        registry=registry,
        model=model,
        reference=reference,
        months=Months(D(2026, 1, 1), D(2026, 12, 1)),
        history=window,
        plan=_Computes("demand_history"),
    )
    assert out.case_months is None and out.blocks == ((window.first, window.last),)
    assert out.history_segments is not None
    assert out.history_segments["month"].max() == window.last


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
