"""The Poisson floor of count intervals (`_intervals.count_floor`): where it binds, what it leaves
alone, that bands stay nested and non-negative, and that it covers a known count process."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from engine.forecasting._intervals import (
    bounds_from_quantiles,
    count_floor,
    interval_bounds,
    poisson_mid_quantile,
    poisson_quantile,
)

LEVELS = (80, 95)


def _bounds(mean, residuals, *, counts):
    scale = np.ones((mean.shape[0], mean.shape[1]))
    return interval_bounds(mean, residuals, scale, None, levels=LEVELS, counts=counts)


def test_a_series_that_never_moved_still_risks_its_case_ending():
    """One case held for three years: zero residuals, a zero-width band without the floor; with it
    the 80 % band holds 0 (the case ends) and 2 (a second one arrives), at the quantiles of the
    Poisson law spread over each unit."""
    mean = np.ones((1, 12))
    residuals = np.zeros((1, 36))
    plain = _bounds(mean, residuals, counts=False)
    assert plain["lo_80"].max() == 1.0 and plain["hi_80"].min() == 1.0
    floored = _bounds(mean, residuals, counts=True)
    assert (floored["lo_80"] == 0.0).all() and (floored["hi_80"] >= 2.0).all()
    assert (floored["hi_80"] < 3.0).all()
    np.testing.assert_allclose(
        floored["hi_80"], 1.5 + (0.9 - stats.poisson.cdf(1, 1.0)) / stats.poisson.pmf(2, 1.0)
    )
    np.testing.assert_allclose(floored["hi_95"], poisson_mid_quantile(0.975, np.array(1.0)))  # 3.40


def test_bands_already_wider_than_poisson_are_left_alone():
    rng = np.random.default_rng(0)
    mean = np.full((3, 6), 10.0)
    residuals = rng.normal(0, 30, (3, 48))  # sd 30 ≫ √10
    plain = _bounds(mean, residuals, counts=False)
    floored = _bounds(mean, residuals, counts=True)
    for name in plain:
        np.testing.assert_array_equal(plain[name], floored[name])


def test_the_floor_is_the_spread_poisson_quantile_of_each_nodes_own_mean():
    """k − ½ + (τ − F(k − 1)) / p(k), k the integer quantile: the τ-quantile of X + U − ½."""
    mean = np.array([[0.0, 0.3, 2.0, 7.5, 40.0, 5_000.0]]).T  # 6 nodes × 1 period
    q = np.zeros((1, 4, 6))  # zero-width bands: the floor decides everywhere
    out = bounds_from_quantiles(mean, q, levels=LEVELS, counts=True)
    for name, tau in (("lo_95", 0.025), ("lo_80", 0.1), ("hi_80", 0.9), ("hi_95", 0.975)):
        k = stats.poisson.ppf(tau, mean)
        spread = k - 0.5 + (tau - stats.poisson.cdf(k - 1, mean)) / stats.poisson.pmf(k, mean)
        expected = (
            np.maximum(np.minimum(spread, mean), 0.0)
            if name.startswith("lo")
            else np.maximum(spread, mean)
        )
        np.testing.assert_allclose(out[name], expected, rtol=1e-12)


def test_the_spread_law_has_its_quantiles_exactly():
    """P(X + U − ½ ≤ q_τ) = τ for the spread law, by Monte Carlo; and the integer quantile is
    scipy's (computed without scipy's ppf, which on some means never returns)."""
    rng = np.random.default_rng(4)
    for mu in (0.2, 1.0, 3.7, 25.0):
        draws = rng.poisson(mu, 400_000) + rng.uniform(0, 1, 400_000) - 0.5
        for tau in (0.025, 0.1, 0.9, 0.975):
            q = poisson_mid_quantile(tau, np.array(mu))
            assert (draws <= q).mean() == pytest.approx(tau, abs=0.003)
    mus = rng.lognormal(0, 3, 20_000)
    for tau in (0.025, 0.1, 0.5, 0.9, 0.975):
        np.testing.assert_array_equal(poisson_quantile(tau, mus), stats.poisson.ppf(tau, mus))


@pytest.mark.parametrize("seed", range(5))
def test_floored_bands_nest_and_stay_non_negative(seed):
    rng = np.random.default_rng(seed)
    mean = rng.lognormal(0, 2, (50, 12))
    inner = np.abs(rng.normal(0, rng.uniform(0, 3), (12, 2, 50)))  # 80 % half-widths
    outer = inner + np.abs(rng.normal(0, 2, (12, 2, 50)))  # 95 % ones, wider
    q = np.stack([-inner[:, 0], inner[:, 1], -outer[:, 0], outer[:, 1]], axis=1)  # lo/hi 80, 95
    bounds = bounds_from_quantiles(mean, q, levels=LEVELS, counts=True)
    stacked = np.stack([bounds["lo_95"], bounds["lo_80"], mean, bounds["hi_80"], bounds["hi_95"]])
    assert np.all(np.diff(stacked, axis=0) >= -1e-9)
    assert np.all(bounds["lo_95"] >= 0)


def test_floor_covers_an_open_case_process_whose_history_hid_its_risk():
    """Series of open cases (arrivals Poisson, each case ending with probability 0.1 a month) that
    happened to stay constant through their history: a zero-width band would cover only the
    months nothing changed; the floor, centred on the last value (not the unknown steady state), covers within 5 points of
    nominal over the next 12 months."""
    rng = np.random.default_rng(1)
    n, horizon, stay = 4_000, 12, 0.9
    steady = rng.uniform(0.5, 5, n)
    open_now = rng.poisson(steady)
    path = np.empty((n, horizon))
    cases = open_now.copy()
    for h in range(horizon):
        cases = rng.binomial(cases, stay) + rng.poisson(steady * (1 - stay))
        path[:, h] = cases
    mean = np.repeat(open_now[:, None].astype(float), horizon, axis=1)
    residuals = np.zeros((n, 36))
    for counts, lowest in ((False, None), (True, {80: 0.75, 95: 0.90})):
        b = _bounds(mean, residuals, counts=counts)
        for level in LEVELS:
            inside = ((path >= b[f"lo_{level}"]) & (path <= b[f"hi_{level}"])).mean()
            if lowest is None:
                assert inside < 0.5  # the band of the history alone misses most changes
            else:
                assert inside >= lowest[level]


def test_count_floor_needs_only_the_mean():
    mean = np.array([[1.0]])
    same = {"lo_80": mean.copy(), "hi_80": mean.copy()}
    out = count_floor(mean, same, levels=(80,))
    assert out["lo_80"][0, 0] == 0.0 and 2.0 <= out["hi_80"][0, 0] < 3.0


@pytest.mark.parametrize("tau", [0.025, 0.1, 0.9, 0.975])
def test_integer_and_spread_quantiles_are_scipys_on_many_means(tau):
    """The search that only carries on with the counts still moving finds scipy's quantile, and the
    spread law's uses scipy's own cdf and pmf formulas: equal on every mean, small and large."""
    rng = np.random.default_rng(5)
    mu = np.concatenate([rng.gamma(0.5, 4.0, 2_000), rng.gamma(2.0, 500.0, 200), [0.0, 1e-9, 3.7]])
    k = poisson_quantile(tau, mu)
    assert np.array_equal(k, stats.poisson.ppf(tau, mu))
    below = stats.poisson.cdf(k - 1, mu)
    mass = stats.poisson.pmf(k, mu)
    expected = k - 0.5 + np.clip(np.where(mass > 0, (tau - below) / mass, 0.5), 0.0, 1.0)
    assert np.array_equal(poisson_mid_quantile(tau, mu), expected)
    assert poisson_quantile(tau, np.float64(2.5)).shape == ()  # a scalar stays a scalar
