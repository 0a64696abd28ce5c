"""Intervals: monotone quantiles and coherent sample paths at every level (properties), the
unbiased σ², simulated spreads for multiplicative errors, and calibration on known processes."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import polars as pl
import pytest
from forecast_helpers import HIERARCHY, panel
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.forecasting import backtest, forecast
from engine.forecasting._core import prepare
from engine.forecasting._hierarchy import HierarchySpec
from engine.forecasting._intervals import coherent_error_paths, interval_bounds, path_quantiles

LEVEL_ORDER = ["lo_95", "lo_80", "mean", "hi_80", "hi_95"]


def _hierarchy():
    data = prepare(
        panel(24),
        HierarchySpec.from_mapping(HIERARCHY),
        date_col="month",
        value_col="y",
        freq="1mo",
        fill_value=0.0,
        nonnegative=True,
    )
    return data.hierarchy


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    periods=st.integers(1, 40),
    heavy=st.booleans(),
    nonnegative=st.booleans(),
    counts=st.booleans(),
)
def test_quantiles_nest_and_paths_add_up_at_every_level(seed, periods, heavy, nonnegative, counts):
    hier = _hierarchy()
    rng = np.random.default_rng(seed)
    n_bottom, horizon = hier.n_bottom, 4
    e = rng.standard_t(2, (n_bottom, periods)) if heavy else rng.normal(0, 3, (n_bottom, periods))
    scale = np.sqrt(np.arange(1, horizon + 1))[None, :].repeat(n_bottom, axis=0)
    bottom_mean = rng.uniform(0, 20, (n_bottom, horizon))
    mean = hier.aggregate(bottom_mean)
    bounds = interval_bounds(
        mean, e, scale, hier.S, levels=(80, 95), nonnegative=nonnegative, counts=counts
    )  # fmt: skip
    stacked = np.stack([bounds["lo_95"], bounds["lo_80"], mean, bounds["hi_80"], bounds["hi_95"]])
    assert np.all(np.diff(stacked, axis=0) >= -1e-9)
    if nonnegative:
        assert np.all(bounds["lo_95"] >= 0)
    for h in range(horizon):  # every aggregate's path is the sum of its bottom series' paths
        paths = coherent_error_paths(e, scale, hier.S, h)
        np.testing.assert_allclose(paths, hier.S @ paths[hier.n_aggregate :], atol=1e-9)


def test_forecast_quantiles_nest_at_every_level():
    result = forecast(panel(36), hierarchy=HIERARCHY, date_col="month", horizon=6)
    f = result.forecasts
    for lower, upper in itertools.pairwise(LEVEL_ORDER):
        assert (f[lower] <= f[upper] + 1e-9).all(), (lower, upper)


def test_quantiles_are_never_sums_of_quantiles():
    """Independent children: the parent's band is narrower than the sum of the children's."""
    rng = np.random.default_rng(0)
    hier = _hierarchy()
    e = rng.normal(0, 1, (hier.n_bottom, 200))
    scale = np.ones((hier.n_bottom, 1))
    mean = hier.aggregate(np.full((hier.n_bottom, 1), 50.0))
    b = interval_bounds(mean, e, scale, hier.S, levels=(80,))
    half = (b["hi_80"] - mean)[:, 0]
    total_half, bottom_half = half[0], half[hier.n_aggregate :].sum()
    assert total_half < 0.5 * bottom_half
    assert total_half == pytest.approx(1.2816 * np.sqrt(hier.n_bottom), rel=0.15)


def test_path_quantiles_take_the_wider_of_empirical_and_t():
    """A few periods understate the tails empirically; the t bound keeps a floor under them."""
    paths = np.array([[-1.0, 1.0, -1.0, 1.0, -1.0, 1.0]])
    q = path_quantiles(paths, np.array([0.025, 0.1, 0.9, 0.975]))[:, 0]
    from scipy.special import stdtrit

    t = stdtrit(5, np.array([0.025, 0.1, 0.9, 0.975]))  # rms = 1
    np.testing.assert_allclose(q[[0, 3]], t[[0, 3]])  # tails: t is wider than ±1
    assert q[1] <= min(-1.0, t[1]) + 1e-12
    assert q[2] >= max(1.0, t[2]) - 1e-12


def _gaussian_panel(n: int, n_t: int, seed: int) -> pl.DataFrame:
    """Local-level series (ETS(A,N,N), α = 0.3, σ = 2) around 100."""
    rng = np.random.default_rng(seed)
    e = rng.normal(0, 2.0, (n, n_t))
    level = 100 + np.cumsum(0.3 * e, axis=1) - 0.3 * e
    y = level + e
    months = pl.date_range(dt.date(2020, 1, 1), dt.date(2020, 1, 1), "1mo", eager=True)
    dates = [months[0].replace(year=2020 + k // 12, month=k % 12 + 1) for k in range(n_t)]
    return pl.DataFrame(
        {
            "unique_id": np.repeat([f"s{i}" for i in range(n)], n_t),
            "ds": dates * n,
            "y": y.ravel(),
        }
    )


def test_backtest_coverage_is_near_nominal_on_a_known_process():
    table = backtest(
        _gaussian_panel(150, 60, seed=3), horizon=6, n_windows=2, step=6,
        models=("ETS(A,N,N)",), benchmarks=(),
    )  # fmt: skip
    cov80, cov95 = table["coverage_80"].mean(), table["coverage_95"].mean()
    assert cov80 == pytest.approx(0.80, abs=0.05)
    assert cov95 == pytest.approx(0.95, abs=0.04)


def test_residuals_are_scaled_to_the_unbiased_variance():
    """σ² = SSE / (n − k): a seasonal model's intervals widen by sqrt(n / (n − k))."""
    from engine.forecasting._select import fit_base

    rng = np.random.default_rng(1)
    y = 50 + 5 * np.sin(np.arange(40) * 2 * np.pi / 12)[None, :] + rng.normal(0, 1, (3, 40))
    base = fit_base(y, np.zeros(3, dtype=int), m=12, horizon=3, models=("ETS(A,N,A)",))
    k = 15 - 1  # α, γ, l0, 11 seasonal states
    np.testing.assert_allclose(base.dof_scale(), np.sqrt(40 / (40 - k)))


def test_multiplicative_errors_spread_by_simulation():
    """ETS(M,N,N): h-step variance ∝ (1 + σ²)(1 + α²σ²)^(h−1) − 1 (Hyndman et al. 2008, ch. 6);
    the simulated ratio of spreads follows it."""
    from engine.forecasting._ets import EtsModel, fit_ets

    rng = np.random.default_rng(2)
    n, n_t = 20, 80
    level = np.full(n, 100.0)
    y = np.empty((n, n_t))
    for t in range(n_t):
        eps = rng.normal(0, 0.1, n)
        y[:, t] = level * (1 + eps)
        level = level * (1 + 0.5 * eps)
    (fit,) = fit_ets(y, np.zeros(n, dtype=int), m=1, horizon=6, models=(EtsModel("M", "N", "N"),))
    alpha = fit.params[:, 0]
    sigma2 = 0.1**2
    h = np.arange(1, 7)
    exact = ((1 + sigma2) * (1 + alpha[:, None] ** 2 * sigma2) ** (h - 1) - 1) / sigma2
    ratio = fit.horizon_scale**2
    np.testing.assert_allclose(np.median(ratio / exact, axis=0), 1.0, atol=0.12)


def test_independent_series_use_the_same_quantiles_over_their_own_periods():
    from engine.forecasting._intervals import _independent_quantiles

    rng = np.random.default_rng(4)
    e = rng.standard_t(3, (30, 25))
    qs = np.array([0.025, 0.1, 0.9, 0.975])
    np.testing.assert_allclose(_independent_quantiles(e, qs), path_quantiles(e, qs))
    late = e.copy()
    late[0, :10] = np.nan  # a late start: its quantiles from its own 15 periods
    np.testing.assert_allclose(
        _independent_quantiles(late, qs)[:, 0], path_quantiles(e[:1, 10:], qs)[:, 0]
    )


def test_forecasts_are_identical_run_to_run():
    kwargs = {"hierarchy": HIERARCHY, "date_col": "month", "horizon": 6, "refine": True}
    a = forecast(panel(36), **kwargs).forecasts
    b = forecast(panel(36), **kwargs).forecasts
    for column in ("mean", "lo_80", "hi_80", "lo_95", "hi_95"):
        np.testing.assert_array_equal(a[column].to_numpy(), b[column].to_numpy())
