"""Calibration as a figure: the backtest's proper score, and the per-run choice of the
reconciliation method by it (`reconcile="auto"`)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from forecast_helpers import HIERARCHY, panel

from engine.errors import ConfigError
from engine.forecasting import backtest, forecast
from engine.forecasting._backtest import (
    CHOICE_METHODS,
    choose_reconciliation,
    scaled_quantile_loss,
)


def test_scaled_quantile_loss_is_zero_only_for_a_perfect_degenerate_forecast():
    train = np.array([[1.0, 3.0, 2.0, 4.0]])
    actual = np.array([[5.0, 6.0]])
    exact = {"lo_80": actual, "hi_80": actual}
    assert scaled_quantile_loss(actual, actual, exact, train, m=1, levels=(80,))[0] == 0.0
    wide = {"lo_80": actual - 1.0, "hi_80": actual + 1.0}
    narrow_wrong = {"lo_80": actual + 2.0, "hi_80": actual + 2.5}
    good = scaled_quantile_loss(actual, actual, wide, train, m=1, levels=(80,))[0]
    bad = scaled_quantile_loss(actual, actual + 2.2, narrow_wrong, train, m=1, levels=(80,))[0]
    assert 0 < good < bad


def test_choice_is_the_lowest_mean_over_levels():
    table = pl.DataFrame(
        {
            "method": ["bottom_up", "wls_struct", "mint_shrink"] * 2,
            "level": ["total"] * 3 + ["bottom"] * 3,
            "sql": [1.0, 0.9, 2.0, 1.0, 1.0, 0.1],  # means: 1.0, 0.95, 1.05
            "reconciled_with": ["bottom_up", "wls_struct", "mint_shrink"] * 2,
        }
    )
    assert choose_reconciliation(table) == "wls_struct"
    fell_back = table.with_columns(
        reconciled_with=pl.when(pl.col("method") == "wls_struct")
        .then(pl.lit("bottom_up"))
        .otherwise(pl.col("reconciled_with"))
    )
    assert choose_reconciliation(fell_back) == "bottom_up"
    with pytest.raises(ConfigError):
        choose_reconciliation(table.filter(pl.col("method") == "none"))


def test_auto_uses_the_method_the_backtest_scores_best():
    frame = panel(36)
    kwargs = {"hierarchy": HIERARCHY, "date_col": "month", "horizon": 6}
    result = forecast(frame, reconcile="auto", **kwargs)
    table = backtest(frame, methods=CHOICE_METHODS, benchmarks=(), n_windows=2, **kwargs)
    expected = choose_reconciliation(table)
    info = result.reconciliation
    assert info.requested == "auto"
    assert info.method == expected
    assert "scaled quantile loss" in (info.reason or "")
    fixed = forecast(frame, reconcile=expected, **kwargs)
    np.testing.assert_array_equal(result.forecasts["mean"], fixed.forecasts["mean"])


def test_backtest_reports_coverage_and_score_per_level_and_method():
    table = backtest(panel(36), hierarchy=HIERARCHY, date_col="month", horizon=6, n_windows=1)
    assert {"sql", "coverage_80", "coverage_95"} <= set(table.columns)
    assert table.group_by("method", "level").len()["len"].max() == 1
    assert table["sql"].is_not_nan().all()
