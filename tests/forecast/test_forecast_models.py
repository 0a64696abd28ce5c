"""Base models on known processes: ETS parameter recovery, baselines, Croston/SBA/TSB by hand."""

from __future__ import annotations

import numpy as np
import pytest
from forecast_helpers import golden

from engine.forecasting._baselines import naive, seasonal_naive
from engine.forecasting._ets import EtsModel, fit_ets
from engine.forecasting._intermittent import classify_demand, fit_intermittent, run_croston, run_tsb
from engine.forecasting._select import fit_base


def _simulate_ets(n: int, n_t: int, *, alpha: float, beta: float, gamma: float, m: int, seed: int):
    """Additive-error ETS(A,A,A) (or A,N,N with beta = gamma = 0) simulated from its state space."""
    rng = np.random.default_rng(seed)
    level = np.full(n, 100.0)
    slope = np.full(n, 0.5 if beta else 0.0)
    season = np.tile(8 * np.sin(2 * np.pi * np.arange(m) / m), (n, 1)).T.copy() if gamma else None
    y = np.empty((n, n_t))
    for t in range(n_t):
        s = season[t % m] if gamma else 0.0
        e = rng.normal(0, 2.0, n)
        y[:, t] = level + slope + s + e
        level = level + slope + alpha * e
        slope = slope + beta * e
        if gamma:
            season[t % m] = season[t % m] + gamma * e
    return y


def test_ses_recovers_alpha():
    y = _simulate_ets(40, 150, alpha=0.3, beta=0.0, gamma=0.0, m=12, seed=1)
    fits = fit_ets(y, np.zeros(40, dtype=int), m=12, horizon=6, models=(EtsModel("A", "N", "N"),))
    (fit,) = fits
    assert fit.model.name == "ETS(A,N,N)"
    assert np.median(fit.params[:, 0]) == pytest.approx(0.3, abs=0.05)


def test_holt_winters_recovers_parameters():
    y = _simulate_ets(30, 180, alpha=0.2, beta=0.02, gamma=0.3, m=12, seed=2)
    (fit,) = fit_ets(
        y, np.zeros(30, dtype=int), m=12, horizon=12, models=(EtsModel("A", "A", "A"),)
    )
    alpha, beta, gamma, phi = np.median(fit.params, axis=0)
    assert alpha == pytest.approx(0.2, abs=0.06)
    assert beta == pytest.approx(0.02, abs=0.02)
    assert gamma == pytest.approx(0.3, abs=0.08)
    assert phi == 1.0


def test_aicc_picks_the_generating_family():
    """Seasonal data → a seasonal model; a level-only random walk → no season, no trend."""
    seasonal = _simulate_ets(20, 120, alpha=0.2, beta=0.0, gamma=0.1, m=12, seed=3)
    level = _simulate_ets(20, 120, alpha=0.5, beta=0.0, gamma=0.0, m=12, seed=4)
    names_s = [f.model.season for f in fit_ets(seasonal, np.zeros(20, dtype=int), m=12, horizon=3)
               for _ in f.rows]  # fmt: skip
    names_l = [f.model.season for f in fit_ets(level, np.zeros(20, dtype=int), m=12, horizon=3)
               for _ in f.rows]  # fmt: skip
    assert names_s.count("A") + names_s.count("M") >= 18
    assert names_l.count("N") >= 18


def test_seasonal_naive_repeats_the_last_season():
    y = np.arange(30, dtype=float)[None, :].repeat(2, axis=0)
    y[1] *= 2
    fit = seasonal_naive(y, np.zeros(2, dtype=int), m=12, horizon=15)
    np.testing.assert_array_equal(fit.mean[:, :12], y[:, 18:30])
    np.testing.assert_array_equal(fit.mean[:, 12:], y[:, 18:21])
    assert fit.fitted[0, 12] == y[0, 0]
    assert np.isnan(fit.fitted[0, 11])


def test_naive_repeats_the_last_value():
    y = np.array([[1.0, 4.0, 2.0], [5.0, 5.0, 9.0]])
    fit = naive(y, np.zeros(2, dtype=int), horizon=4)
    np.testing.assert_array_equal(fit.mean, [[2.0] * 4, [9.0] * 4])
    np.testing.assert_allclose(fit.horizon_scale[0], np.sqrt([1, 2, 3, 4]))


def test_croston_sba_tsb_match_the_hand_computation():
    case = golden("intermittent.yaml")
    y = np.array([case["series"]], dtype=float)
    start = np.zeros(1, dtype=int)
    alpha = np.array([[case["alpha"]]])
    croston = run_croston(y, start, alpha, want_fitted=True)
    expected = np.array(case["croston"]["fitted"], dtype=float)
    np.testing.assert_allclose(croston.fitted[0], expected, rtol=1e-6)
    assert croston.last[0, 0] == pytest.approx(case["croston"]["forecast"], rel=1e-6)
    sba = run_croston(y, start, alpha, 1 - case["alpha"] / 2)
    assert sba.last[0, 0] == pytest.approx(case["sba"]["forecast"], rel=1e-9)
    tsb = run_tsb(y, start, alpha, np.array([[case["beta"]]]), want_fitted=True)
    np.testing.assert_allclose(tsb.fitted[0], np.array(case["tsb"]["fitted"], float), rtol=1e-6)
    assert tsb.last[0, 0] == pytest.approx(case["tsb"]["forecast"], rel=1e-6)


def test_fixed_alpha_croston_forecast_is_flat():
    case = golden("intermittent.yaml")
    y = np.array([case["series"]], dtype=float)
    (fit,) = fit_intermittent(y, np.zeros(1, dtype=int), horizon=3, models=("sba",), alpha=0.1)
    np.testing.assert_allclose(fit.mean, [[1.4, 1.4, 1.4]])


def test_syntetos_boylan_classes():
    y = np.array(
        [
            [5, 6, 5, 7, 6, 5, 6, 5],  # smooth
            [1, 20, 2, 30, 1, 25, 2, 40],  # erratic
            [0, 3, 0, 0, 3, 0, 4, 0],  # intermittent
            [0, 1, 0, 0, 40, 0, 2, 0],  # lumpy
            [0, 0, 0, 0, 0, 0, 0, 0],  # zero
        ],
        dtype=float,
    )
    _, _, cls = classify_demand(y, np.zeros(5, dtype=int))
    assert list(cls) == ["smooth", "erratic", "intermittent", "lumpy", "zero"]


def test_fallbacks_are_reported_per_series():
    y = np.full((4, 30), np.nan)
    y[0] = 0.0  # all zeros
    y[1] = 7.0  # constant
    y[2, -3:] = [1.0, 2.0, 3.0]  # too short
    y[3] = np.random.default_rng(0).poisson(20, 30)
    start = np.array([0, 0, 27, 0])
    fit = fit_base(y, start, m=12, horizon=3)
    report = fit.report
    assert list(report["model"][:3]) == ["Zero", "Naive", "Naive"]
    assert list(report["fallback"]) == [True, True, True, False]
    assert "zero" in report["reason"][0]
    assert "constant" in report["reason"][1]
    assert "too short" in report["reason"][2]
    assert report["model"][3].startswith("ETS")
    np.testing.assert_array_equal(fit.mean[0], 0.0)


def test_multiplicative_models_need_positive_data():
    rng = np.random.default_rng(5)
    y = rng.poisson(30, (10, 48)).astype(float)
    y[:, 5] = 0.0
    for f in fit_ets(y, np.zeros(10, dtype=int), m=12, horizon=3):
        assert not f.model.multiplicative
