"""The engine's own nodes where they add something to the stages: one pricing in blocks gives what
pricing each window alone gives, and the forecast configuration comes from the spec."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import polars.selectors as cs
import pytest
from polars.testing import assert_frame_equal

from engine.pipeline._nodes import HistoryWindow, Months, Reference
from engine.pipeline._pricing import _blocks, priced

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
        plan=_Computes("entitle", "forecast"),
    )
    alone = compute_entitlements(
        registry, model, reference.territories, months=("2026-01", "2026-12")
    )
    assert_frame_equal(both.case_months, alone.case_months)  # exactly: the same pricing
    assert_frame_equal(both.rollups, alone.rollups)
    assert_frame_equal(both.flows, alone.flows)

    from engine.demand import need_level_mix

    whole = compute_entitlements(
        registry, model, reference.territories, months=(window.first, window.last)
    )
    assert both.history_segments is not None
    span = (window.first, window.last)
    text = cs.categorical().cast(pl.String)  # the history keeps its text as categoricals
    series = demand_series(both.history_segments, months=span).with_columns(text)
    assert series["month"].min() == window.first and series["month"].max() == window.last
    assert_frame_equal(series, demand_series(whole.segments, months=span).with_columns(text))
    recent = (D(2025, 10, 1), window.last)
    assert_frame_equal(
        need_level_mix(both.history_segments, recent).with_columns(text),
        need_level_mix(whole.segments, recent),
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
        plan=_Computes("forecast"),
    )
    assert out.case_months is None and out.blocks == ((window.first, window.last),)
    assert out.history_segments is not None
    assert out.history_segments["month"].max() == window.last


def test_the_forecast_configuration_is_the_specs_with_the_runs_window(tmp_path: Path) -> None:
    from engine.forecasting import load_forecast_config
    from engine.pipeline import load_spec
    from engine.pipeline._steps_forecast import forecast_config

    spec = load_spec(REPO / "pipelines" / "planning-2027.yaml")
    assert spec.forecast == REPO / "models" / "forecast" / "default.yaml"
    config = forecast_config(
        spec=spec,
        months=Months(D(2027, 1, 1), D(2027, 12, 1)),
        history=HistoryWindow(D(2023, 11, 1), D(2026, 10, 1)),
    )
    declared = load_forecast_config(spec.forecast)
    assert config.target == declared.target == "case_months_need"
    assert config.hierarchy == declared.hierarchy and config.reconcile == declared.reconcile
    # horizon: auto reaches the last month of the budget year from the last history month
    assert (config.history_months, config.horizon, config.backtest_windows) == (36, 14, 2)
