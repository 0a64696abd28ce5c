"""Backtests: scaled errors by hand, naive on random walks, the rolling-origin table."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from forecast_helpers import HIERARCHY, golden, months, panel

from engine.errors import ConfigError
from engine.forecasting import backtest, summarise_backtest
from engine.forecasting._backtest import scaled_errors


def _case(case: dict) -> tuple[float, float]:
    mase, rmsse = scaled_errors(
        np.array([case["actual"]]),
        np.array([case["forecast"]]),
        np.array([case["train"]]),
        case["season_length"],
    )
    return float(mase[0]), float(rmsse[0])


def test_scaled_errors_match_the_hand_computation():
    case = golden("backtest.yaml")
    for c in (case, case["seasonal"]):
        mase, rmsse = _case(c)
        assert mase == pytest.approx(c["expect"]["mase"], rel=1e-7)
        assert rmsse == pytest.approx(c["expect"]["rmsse"], rel=1e-7)


def test_constant_training_series_has_no_scale():
    mase, rmsse = scaled_errors(np.ones((1, 2)), np.zeros((1, 2)), np.ones((1, 5)), 1)
    assert np.isnan(mase[0]) and np.isnan(rmsse[0])


def test_naive_on_random_walks_has_one_step_mase_near_one():
    rng = np.random.default_rng(0)
    walks = np.cumsum(rng.normal(0, 1, (200, 40)), axis=1) + 100
    frame = pl.DataFrame(
        {
            "unique_id": np.repeat([f"s{i}" for i in range(200)], 40),
            "ds": pl.concat([months(40)] * 200),
            "y": walks.ravel(),
        }
    )
    table = backtest(
        frame, horizon=1, n_windows=6, step=1, methods=("base",), benchmarks=("naive",),
        models=("naive",), season_length=1, refine=False,
    )  # fmt: skip
    naive = summarise_backtest(table).filter(pl.col("method") == "naive")
    assert naive["origins"][0] == 6
    assert naive["mase"][0] == pytest.approx(1.0, abs=0.08)
    assert naive["coverage_95"][0] == pytest.approx(0.95, abs=0.05)


def test_backtest_table_per_origin_method_and_level():
    table = backtest(
        panel(), hierarchy=HIERARCHY, date_col="month", horizon=6, n_windows=2,
        methods=("base", "bottom_up", "mint_shrink"), refine=False,
    )  # fmt: skip
    assert table.columns == [
        "origin", "method", "level", "series", "unscaled", "mase", "rmsse", "sql", "coverage_80",
        "coverage_95", "reconciled_with",
    ]  # fmt: skip
    assert table["origin"].n_unique() == 2
    assert set(table["method"]) == {"base", "bottom_up", "mint_shrink", "naive", "seasonal_naive"}
    assert table["level"].n_unique() == 9
    assert table.filter(pl.col("level") == "hromada/service")["series"].unique().to_list() == [18]
    assert table.select(pl.col("coverage_80", "coverage_95").is_between(0, 1).all()).row(0) == (
        True,
        True,
    )


def test_backtest_needs_enough_history():
    with pytest.raises(ConfigError, match="too few"):
        backtest(panel(n_months=14), hierarchy=HIERARCHY, date_col="month", horizon=12)
