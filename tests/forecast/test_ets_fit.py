"""ETS fitting: initial states estimated with the smoothing parameters, admissible parameters, AICc
counting what was estimated, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from engine.forecasting._ets import ETS_MODELS, EtsModel, _model_loss, fit_ets
from engine.forecasting._ets_core import aicc
from engine.forecasting._ets_states import n_free_states


def _seasonal_panel(n: int = 12, n_t: int = 60, m: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n_t)
    level = rng.uniform(50, 200, n)[:, None]
    season = rng.uniform(0, 0.3, n)[:, None] * level * np.sin(2 * np.pi * t / m + rng.uniform(0, 6))
    trend = rng.normal(0, 0.5, n)[:, None] * t
    noise = rng.normal(0, 1, (n, n_t)).cumsum(axis=1) * 0.5 + rng.normal(0, 3, (n, n_t))
    return level + season + trend + noise


def _states_loss(y, start, model, params, flat, *, m=12):
    """−2 log L of one series at free initial states `flat` (level, slope, m − 1 seasonal)."""
    j = 1 + (model.trend != "N")
    s = np.zeros((m, 1))
    if model.season != "N":
        s[: m - 1, 0] = flat[j:]
        s[m - 1, 0] = (m if model.season == "M" else 0.0) - flat[j:].sum()
    init = (np.array([flat[0]]), np.array([flat[1] if j == 2 else 0.0]), s)
    return float(_model_loss(y, start, m=m, model=model, params=params, init=init)[0])


@pytest.mark.parametrize("name", ["ETS(A,N,N)", "ETS(A,Ad,N)", "ETS(A,A,A)", "ETS(M,N,A)"])
def test_initial_states_minimise_the_loss_at_the_fitted_parameters(name):
    """No other initial states give a lower −2 log L for the fitted smoothing parameters: a
    general-purpose optimiser finds nothing better (to 0.05 for multiplicative errors)."""
    model = next(mm for mm in ETS_MODELS if mm.name == name)
    m = 12
    y = _seasonal_panel(n=3, seed=1)
    start = np.zeros(3, dtype=int)
    (fit,) = fit_ets(y, start, m=m, horizon=3, models=(model,), refine=False)
    for i in range(1 if model.season != "N" else 3):
        yi, pi = y[i : i + 1], fit.params[i : i + 1]
        k = n_free_states(model, m)
        x0 = np.zeros(k)
        x0[0] = yi[0, :12].mean()
        if model.season == "M":
            x0[1 + (model.trend != "N") :] = 1.0
        res = minimize(
            lambda x, yi=yi, pi=pi: _states_loss(yi, start[:1], model, pi, x),
            x0,
            method="BFGS",
            options={"gtol": 1e-9, "maxiter": 5_000},
        )
        # exact for additive errors; multiplicative ones minimise Σ(r/ŷ)² (the log term aside)
        slack = 1e-6 * abs(res.fun) if model.error == "A" else 0.05
        assert fit.loss[i] <= res.fun + slack


def test_fitted_loss_is_below_the_rule_of_thumb_start():
    """Estimated initial states beat the classical-decomposition ones on every series."""
    from engine.forecasting._ets_core import initial_states

    model = EtsModel("A", "A", "A")
    y = _seasonal_panel(seed=2)
    start = np.zeros(y.shape[0], dtype=int)
    (fit,) = fit_ets(y, start, m=12, horizon=3, models=(model,), refine=False)
    heuristic = initial_states(y, start, m=12, trend=True, season="A")
    rule = _model_loss(y, start, m=12, model=model, params=fit.params, init=heuristic)
    assert np.all(fit.loss < rule - 1e-9)


def test_refine_optimises_parameters_and_states_together():
    """The joint optimiser never ends above its start, and lowers the total loss."""
    model = EtsModel("A", "Ad", "A")
    y = _seasonal_panel(seed=3)
    start = np.zeros(y.shape[0], dtype=int)
    (grid,) = fit_ets(y, start, m=12, horizon=3, models=(model,), refine=False)
    (joint,) = fit_ets(y, start, m=12, horizon=3, models=(model,), refine=True)
    assert np.all(joint.loss <= grid.loss + 1e-9)
    assert joint.loss.sum() < grid.loss.sum() - 1.0


def test_parameters_are_admissible():
    """0 < α < 1, 0 < β < α, 0 < γ < 1 − α, φ in [0.8, 0.98] (1 without damping)."""
    y = _seasonal_panel(n=30, seed=4)
    start = np.zeros(30, dtype=int)
    for refine in (False, True):
        for fit in fit_ets(y, start, m=12, horizon=3, refine=refine):
            alpha, beta, gamma, phi = fit.params.T
            assert np.all((alpha > 0) & (alpha < 1))
            if fit.model.trend != "N":
                assert np.all((beta > 0) & (beta < alpha))
            if fit.model.season != "N":
                assert np.all((gamma > 0) & (gamma < 1 - alpha))
            if fit.model.trend == "Ad":
                assert np.all((phi >= 0.8) & (phi <= 0.98))
            else:
                assert np.all(phi == 1.0)


@pytest.mark.parametrize(
    ("name", "k"),
    [
        ("ETS(A,N,N)", 3),
        ("ETS(A,A,N)", 5),
        ("ETS(M,Ad,N)", 6),
        ("ETS(A,N,A)", 15),
        ("ETS(M,Ad,M)", 18),
    ],
)
def test_aicc_counts_smoothing_states_and_variance(name, k):
    """k = smoothing parameters (+ φ) + initial states (level, slope, m − 1 seasonal) + σ²."""
    model = next(mm for mm in ETS_MODELS if mm.name == name)
    assert model.n_params(12) == k
    y = np.abs(_seasonal_panel(n=4, seed=5)) + 1.0
    (fit,) = fit_ets(y, np.zeros(4, dtype=int), m=12, horizon=3, models=(model,), refine=False)
    n = y.shape[1]
    expected = fit.loss + n * (1 + np.log(2 * np.pi)) + 2 * k + 2 * k * (k + 1) / (n - k - 1)
    np.testing.assert_allclose(fit.aicc, expected)
    np.testing.assert_allclose(aicc(fit.loss, k, np.full(4, float(n))), expected)


def test_late_starts_are_fitted_from_their_own_first_period():
    """A series that starts late is fitted exactly as the same values starting at period 0
    (seasonal phase kept: the late start is a whole number of seasons)."""
    y = _seasonal_panel(n=2, n_t=72, seed=6)
    late = y.copy()
    late[1, :12] = np.nan
    model = EtsModel("A", "N", "A")
    (full,) = fit_ets(y[1:, 12:], np.zeros(1, dtype=int), m=12, horizon=3, models=(model,))
    (both,) = fit_ets(late, np.array([0, 12]), m=12, horizon=3, models=(model,))
    row = int(np.flatnonzero(both.rows == 1)[0])
    np.testing.assert_allclose(both.mean[row], full.mean[0], rtol=1e-6)


def test_fit_is_deterministic():
    y = _seasonal_panel(n=40, seed=7)
    start = np.zeros(40, dtype=int)
    a = fit_ets(y, start, m=12, horizon=6, refine=True)
    b = fit_ets(y, start, m=12, horizon=6, refine=True)
    for fa, fb in zip(a, b, strict=True):
        assert fa.model == fb.model
        np.testing.assert_array_equal(fa.mean, fb.mean)
        np.testing.assert_array_equal(fa.params, fb.params)
