"""The ETS grid start: a random walk with drift — the shape of a smooth aggregate series (national
case-months) — is fitted at least as well as its own data-generating parameters, so AICc keeps
its trend. The grid used to rank its points with a slope from a line through the first ten
observations and had no point near alpha = 1 with a small beta: the trend model's fit stayed
several log-likelihood units below the truth's and the national forecast lost its drift."""

from __future__ import annotations

import numpy as np

from engine.forecasting._ets import _profile, fit_ets
from engine.forecasting._ets_core import EtsModel, initial_states
from engine.forecasting._select import fit_base

_AAN = EtsModel("A", "A", "N")


def _random_walks_with_drift(
    n: int = 40, n_t: int = 48, seed: int = 5, drift: float = 3.0
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 1000.0 + np.cumsum(drift + 10.0 * rng.standard_normal((n, n_t)), axis=1)


def test_trend_fit_is_no_worse_than_the_data_generating_parameters():
    """−2 log L of the fitted ETS(A,A,N) against its value at the parameters that generated the
    data (alpha ≈ 1, beta ≈ 0, states profiled): a maximum-likelihood fit cannot be worse by
    more than the grid's resolution (the old grid start: 2.1 worse on average, up to 6.6)."""
    y = _random_walks_with_drift()
    start = np.zeros(y.shape[0], dtype=int)
    (fit,) = fit_ets(y, start, m=12, horizon=3, models=(_AAN,), refine=False)
    truth = np.tile([0.9999, 0.0001, 0.0, 1.0], (y.shape[0], 1))
    init = initial_states(y, start, m=12, trend=True, season="N")
    at_truth = _profile(y, start, m=12, model=_AAN, params=truth, init=init).loss
    gap = fit.loss - at_truth
    assert gap.mean() < 0.2
    assert gap.max() < 1.0


def test_a_steady_drift_keeps_its_trend_and_the_forecast_follows_it():
    """The model choice (AICc over the whole ETS family) keeps a trend on random walks with a
    clear drift (6 per period, sd 10), and the 12-step forecast grows at about the drift (a
    guard on the whole choice: 95 % kept; the old start kept 90 %)."""
    y = _random_walks_with_drift(n=60, seed=7, drift=6.0)
    base = fit_base(y, np.zeros(y.shape[0], dtype=int), m=12, horizon=12)
    kept = np.array([",N," not in str(name) for name in base.report["model"]])
    assert kept.mean() >= 0.9
    growth = (base.mean[:, -1] - y[:, -1]) / 12
    assert abs(np.median(growth) - 6.0) < 1.0


def test_grid_start_slope_is_the_whole_series_drift():
    """The heuristic slope the grid ranks its points with is the series' mean change per period
    (a line through the first observations would see their noise, not the drift)."""
    rng = np.random.default_rng(0)
    t = np.arange(48.0)
    noise = np.where(t < 10, 40.0 * rng.standard_normal(48), 0.0)  # noisy start only
    y = (100.0 + 2.0 * t + noise)[None, :]
    _, slope, _ = initial_states(y, np.zeros(1, dtype=int), m=12, trend=True, season="N")
    assert abs(slope[0] - (y[0, -1] - y[0, 0]) / 47) < 1e-12
    assert abs(slope[0] - 2.0) < 1.0


def test_a_step_of_a_count_series_is_not_forecast_as_a_trend():
    """One case for years, then a second joining mid-month (a two-month ramp 1 → 1.3 → 2): the
    model choice may follow the new level but not turn the step into a year-long trend (with a
    fast slope at alpha 0.99 in the grid, ETS(M,A,N) forecast 2 → 3.6 here)."""
    y = np.concatenate([np.ones(44), [1.3, 2.0, 2.0, 2.0]])[None, :]
    base = fit_base(y, np.zeros(1, dtype=int), m=12, horizon=12)
    assert np.all(base.mean[:, -1] <= y[:, -1] + 0.5), (base.report["model"], base.mean[:, -1])
