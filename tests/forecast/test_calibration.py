"""Band calibration on the run's own backtest (`_calibration`): scores, factors that restore
nominal coverage on held-out origins of a known process, nested non-negative bounds at every level
(property), and forecast() applying it by default with reconcile="auto" (off: different bands)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from forecast_helpers import HIERARCHY, panel
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.forecasting import forecast
from engine.forecasting._backtest import backtest
from engine.forecasting._calibration import (
    FACTOR_RANGE,
    MIN_NODE_ORIGINS,
    BacktestErrors,
    BandCalibration,
    band_scores,
    fit_band_calibration,
)

LEVELS = (80, 95)
ORDER = ["lo_95", "lo_80", "mean", "hi_80", "hi_95"]


def _run(rng, n, horizon, *, sd_true, sd_band):
    """Gaussian errors of sd `sd_true` (growing like √h) against bands that assume `sd_band`."""
    grow = np.sqrt(np.arange(1, horizon + 1))[None, :]
    mean = np.full((n, horizon), 100.0)
    actual = mean + rng.normal(0, sd_true, (n, horizon)) * grow
    z = {80: 1.2816, 95: 1.96}
    bounds = {}
    for level in LEVELS:
        bounds[f"lo_{level}"] = mean - z[level] * sd_band * grow
        bounds[f"hi_{level}"] = mean + z[level] * sd_band * grow
    return actual, mean, bounds, np.ones(n, dtype=bool)


def _coverage(actual, bounds, level):
    return ((actual >= bounds[f"lo_{level}"]) & (actual <= bounds[f"hi_{level}"])).mean()


@pytest.mark.parametrize("sd_band", [0.6, 1.0, 1.7])
def test_factors_learned_on_earlier_origins_restore_nominal_coverage_later(sd_band):
    """Bands 40 % too narrow, right, or 70 % too wide: two calibration origins, then a held-out
    one; calibrated coverage within 3 points of nominal, uncalibrated far off unless right."""
    rng = np.random.default_rng(5)
    n, horizon = 400, 6
    levels = np.array(["a"] * 100 + ["b"] * 300)
    runs = [_run(rng, n, horizon, sd_true=1.0, sd_band=sd_band) for _ in range(2)]
    cal = fit_band_calibration(runs, levels, ("a", "b"), levels=LEVELS)
    actual, mean, bounds, _ = _run(rng, n, horizon, sd_true=1.0, sd_band=sd_band)
    calibrated = cal.apply(mean, bounds, levels, levels=LEVELS)
    for level in LEVELS:
        before, after = _coverage(actual, bounds, level), _coverage(actual, calibrated, level)
        assert after == pytest.approx(level / 100, abs=0.03), (level, before, after)
        if sd_band != 1.0:
            assert abs(before - level / 100) > 0.04
        np.testing.assert_allclose(cal.factors[float(level)], 1 / sd_band, rtol=0.2)


def test_scores_and_a_zero_width_band():
    s = band_scores(
        np.array([[3.0, 0.0, 1.0, 2.0]]),
        np.array([[2.0, 2.0, 1.0, 1.0]]),
        np.array([[0.0, -2.0, 1.0, 1.0]]),
        np.array([[4.0, 4.0, 1.0, 1.0]]),
    )
    assert s.tolist() == [[0.5, 0.5, 0.0, np.inf]]


def test_a_level_of_few_nodes_keeps_its_bands_and_factors_stay_in_range():
    """One node at two origins (the national total) is two node-origins, fewer than
    MIN_NODE_ORIGINS: its bands are left as they are; 30 such nodes are calibrated, and a band
    ten times too narrow is widened no more than FACTOR_RANGE allows."""
    rng = np.random.default_rng(0)
    runs = [_run(rng, 1, 12, sd_true=1.0, sd_band=0.1) for _ in range(2)]
    cal = fit_band_calibration(runs, np.array(["total"]), ("total",), levels=LEVELS)
    assert all((f == 1.0).all() for f in cal.factors.values())
    runs = [_run(rng, 30, 12, sd_true=1.0, sd_band=0.1) for _ in range(2)]
    cal = fit_band_calibration(runs, np.array(["x"] * 30), ("x",), levels=LEVELS)
    assert all((f == FACTOR_RANGE[1]).all() for f in cal.factors.values())
    assert 2 * 1 < MIN_NODE_ORIGINS <= 2 * 30


def test_a_small_level_borrows_the_scores_of_the_levels_below_it():
    """A total over 30 nodes, its bands as badly scaled as theirs: two origins of the total alone
    are too few, so it pools with the nodes and gets their factor; they keep their own."""
    rng = np.random.default_rng(2)
    node_levels = np.array(["total"] + ["node"] * 30)
    runs = [_run(rng, 31, 6, sd_true=1.0, sd_band=0.6) for _ in range(2)]
    cal = fit_band_calibration(runs, node_levels, ("total", "node"), levels=LEVELS)
    total, nodes = cal.factors[80.0]
    assert (total > 1.3).all() and (nodes > 1.3).all()
    np.testing.assert_allclose(total, nodes, rtol=0.15)


def test_nodes_without_history_at_an_origin_do_not_count():
    """A series that had not started has a zero-width band: its scores (∞ when demand appears)
    are left out, as such a series would not be in that origin's extract."""
    rng = np.random.default_rng(1)
    actual, mean, bounds, _ = _run(rng, 200, 4, sd_true=1.0, sd_band=1.0)
    actual[:50] = 1.0
    mean[:50] = 0.0
    for name in bounds:
        bounds[name][:50] = 0.0
    known = np.arange(200) >= 50
    levels = np.array(["b"] * 200)
    kept = fit_band_calibration([(actual, mean, bounds, known)], levels, ("b",), levels=LEVELS)
    counted = fit_band_calibration(
        [(actual, mean, bounds, np.ones(200, dtype=bool))], levels, ("b",), levels=LEVELS
    )
    assert kept.factors[95.0].max() < 1.5
    assert (counted.factors[95.0] == FACTOR_RANGE[1]).all()


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    low=st.floats(0.0, 1.0),
    nonnegative=st.booleans(),
)
def test_calibrated_bounds_nest_and_stay_non_negative(seed, low, nonnegative):
    """Any factors in range, any nested raw bounds (lower ones possibly below zero): the result
    nests around the mean at every node and horizon, and with `nonnegative` no bound is below 0."""
    rng = np.random.default_rng(seed)
    n, horizon = 30, 5
    mean = rng.uniform(0, 10, (n, horizon)) * low
    w80 = rng.exponential(3, (2, n, horizon))
    w95 = w80 + rng.exponential(2, (2, n, horizon))
    raw = {"lo_80": mean - w80[0], "hi_80": mean + w80[1],
           "lo_95": mean - w95[0], "hi_95": mean + w95[1]}  # fmt: skip
    factors = {float(lv): rng.uniform(*FACTOR_RANGE, (3, horizon)) for lv in LEVELS}
    cal = BandCalibration(("x", "y", "z"), factors, 2)
    node_levels = rng.choice(["x", "y", "z", "unknown"], n)
    out = cal.apply(mean, raw, node_levels, levels=LEVELS, nonnegative=nonnegative)
    stacked = np.stack([out["lo_95"], out["lo_80"], mean, out["hi_80"], out["hi_95"]])
    assert np.all(np.diff(stacked, axis=0) >= -1e-9)
    if nonnegative:
        assert np.all(out["lo_95"] >= 0)
    unknown = node_levels == "unknown"
    np.testing.assert_allclose(out["hi_80"][unknown], raw["hi_80"][unknown])


def _frame():
    return panel(48, seed=3)


def test_forecast_calibrates_by_default_with_auto_and_not_when_told_not_to():
    """reconcile="auto": the bands are the uncalibrated ones scaled by the calibration of its own
    backtest (so switching calibration off changes them); every level stays nested and the means
    are the same either way."""
    kw = dict(hierarchy=HIERARCHY, date_col="month", horizon=6, counts=True)
    on = forecast(_frame(), **kw)
    off = forecast(_frame(), calibrate=False, **kw)
    np.testing.assert_array_equal(on.forecasts["mean"], off.forecasts["mean"])
    assert on.reconciliation.method == off.reconciliation.method
    assert not np.allclose(on.forecasts["hi_80"], off.forecasts["hi_80"])
    for lower, upper in itertools.pairwise(ORDER):
        assert (on.forecasts[lower] <= on.forecasts[upper] + 1e-9).all(), (lower, upper)
    assert (on.forecasts["lo_95"] >= 0).all()
    # the same factors, measured by hand on the same backtest, give the same bands
    method = on.reconciliation.method
    errors = BacktestErrors()
    backtest(
        _frame(), hierarchy=HIERARCHY, date_col="month", horizon=6, counts=True,
        methods=(method,), benchmarks=(), n_windows=2, errors=errors,
    )  # fmt: skip
    cal = errors.calibration(method)
    assert cal is not None and cal.origins == 2
    assert any((f != 1.0).any() for f in cal.factors.values())
    named = forecast(_frame(), reconcile=method, calibration=cal, **kw)
    np.testing.assert_allclose(named.forecasts["hi_95"], on.forecasts["hi_95"])
    np.testing.assert_allclose(named.forecasts["lo_80"], on.forecasts["lo_80"])


def test_a_named_method_is_calibrated_only_when_asked():
    kw = dict(hierarchy=HIERARCHY, date_col="month", horizon=6, reconcile="bottom_up")
    plain = forecast(_frame(), **kw)
    asked = forecast(_frame(), calibrate=True, **kw)
    off = forecast(_frame(), calibrate=False, **kw)
    np.testing.assert_array_equal(plain.forecasts["hi_80"], off.forecasts["hi_80"])
    assert not np.allclose(asked.forecasts["hi_80"], plain.forecasts["hi_80"])
