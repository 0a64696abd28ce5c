"""The shortcuts the fast forecast path takes give the numbers of the long way round.

- class-2 ETS (multiplicative error, no multiplicative season): the exact h-step variance of
  Hyndman et al. (2008) §6.3 agrees with simulated sample paths of the same fitted model;
- a bottom series' interval quantiles, taken once and scaled per horizon, equal the quantiles of
  its scaled paths at every horizon (and so do the aggregates', always taken per horizon);
- a backtest's candidate methods sharing their error-path quantiles give the table that each
  method backtested on its own gives;
- `backtest(prepared=...)` equals building the node series again;
- ETS initial states of additive linear models by the shared least-squares operator equal the
  per-series solve;
- `forecast()` and the forecast configuration default to the same reconciliation (`auto`).
"""

from __future__ import annotations

import inspect

import numpy as np
import polars as pl
import pytest
from forecast_helpers import HIERARCHY, panel
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from engine.forecasting import backtest, forecast, load_forecast_config
from engine.forecasting._core import as_spec, prepare
from engine.forecasting._ets_core import (
    EtsModel,
    class2_horizon_scale,
    initial_states,
    point_forecast,
    recursion,
    simulated_horizon_scale,
)
from engine.forecasting._ets_states import _jacobian, _solve_step, _step
from engine.forecasting._hierarchy import HierarchySpec
from engine.forecasting._intervals import (
    _quantiles,
    coherent_error_paths,
    error_quantiles,
    path_quantiles,
)

CLASS2 = [
    (EtsModel("M", "N", "N"), [0.4, 0.0, 0.0, 1.0]),
    (EtsModel("M", "A", "N"), [0.3, 0.05, 0.0, 1.0]),
    (EtsModel("M", "Ad", "N"), [0.3, 0.1, 0.0, 0.9]),
    (EtsModel("M", "N", "A"), [0.3, 0.0, 0.4, 1.0]),
    (EtsModel("M", "A", "A"), [0.2, 0.02, 0.3, 1.0]),
]


@pytest.mark.parametrize(("model", "params"), CLASS2, ids=[m.name for m, _ in CLASS2])
def test_class2_variance_is_what_simulated_paths_of_the_model_give(model, params):
    rng = np.random.default_rng(0)
    n, n_t, m, horizon = 200, 48, 12, 12
    y = 100 + 10 * np.sin(np.arange(n_t) * 2 * np.pi / 12)[None] + rng.normal(0, 5, (n, n_t))
    p = np.tile(params, (n, 1)).astype(float)
    start = np.zeros(n, dtype=int)
    init = initial_states(y, start, m=m, trend=model.trend != "N", season=model.season)
    pp = p[:, :, None]
    run = recursion(
        y, start, m=m, trend=model.trend != "N", season=model.season,
        params=(pp[:, 0], pp[:, 1], pp[:, 2], pp[:, 3]), init=init, want_mult=True,
    )  # fmt: skip
    mean = point_forecast(run, model, p, n_t=n_t, m=m, horizon=horizon)
    sigma = np.full(n, 0.3)
    exact = class2_horizon_scale(model, p, mean, sigma, m)
    simulated = simulated_horizon_scale(run, model, p, sigma, n_t=n_t, m=m, horizon=horizon)
    assert exact[:, 0] == pytest.approx(1.0)
    if model.season == "N":  # without a season (μ_h² scales the variance) it never narrows
        assert np.all(np.diff(exact, axis=1) >= -1e-12)
    # 400 paths: the simulated sd is within a few percent of the exact one
    np.testing.assert_allclose(np.median(exact / simulated, axis=0), 1.0, atol=0.02)


def _hierarchy():
    data = prepare(
        panel(24), HierarchySpec.from_mapping(HIERARCHY), date_col="month", value_col="y",
        freq="1mo", fill_value=0.0, nonnegative=True,
    )  # fmt: skip
    return data.hierarchy


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), periods=st.integers(1, 30), drivers=st.booleans())
def test_bottom_quantiles_scaled_once_equal_the_quantiles_at_every_horizon(seed, periods, drivers):
    hier = _hierarchy()
    rng = np.random.default_rng(seed)
    e = rng.standard_t(3, (hier.n_bottom, periods))
    e[0, : periods // 2] = np.nan  # a late starter
    scale = rng.uniform(0.5, 3.0, (hier.n_bottom, 4))
    multiplier = rng.uniform(0.0, 2.0, (hier.n_bottom, 4)) if drivers else None
    fast = error_quantiles(e, scale, hier.S, levels=(80, 95), multiplier=multiplier)
    qs = _quantiles((80, 95))
    slow = np.stack(
        [
            path_quantiles(coherent_error_paths(e, scale, hier.S, h, multiplier), qs)
            for h in range(4)
        ]
    )
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)


def test_methods_sharing_path_quantiles_give_the_tables_of_separate_backtests():
    kwargs = {"hierarchy": HIERARCHY, "date_col": "month", "horizon": 6, "n_windows": 2}
    kwargs |= {"step": 6, "benchmarks": ()}
    methods = ("base", "bottom_up", "wls_struct", "mint_shrink")
    together = backtest(panel(48), methods=methods, **kwargs)
    alone = pl.concat([backtest(panel(48), methods=(m,), **kwargs) for m in methods])
    order = ["origin", "method", "level"]
    assert_frame_equal(together.sort(order), alone.sort(order))


def test_backtest_on_prepared_node_series_equals_building_them_again():
    frame = panel(48)
    data = prepare(
        frame, as_spec(HIERARCHY, "unique_id"), date_col="month", value_col="y", freq="1mo",
        fill_value=0.0, nonnegative=True,
    )  # fmt: skip
    kwargs = {"hierarchy": HIERARCHY, "date_col": "month", "horizon": 6, "n_windows": 2}
    assert_frame_equal(backtest(frame, **kwargs), backtest(frame, **kwargs, prepared=data))


@pytest.mark.parametrize("name", ["ETS(A,N,N)", "ETS(A,Ad,N)", "ETS(A,A,A)", "ETS(M,A,N)"])
def test_shared_least_squares_step_equals_the_per_series_solve(name):
    """Rows share a grid point and start in groups; the shared operator gives each row the step
    its own normal equations give."""
    error, trend, season = name[4:-1].split(",")
    model = EtsModel(error, trend, season)
    rng = np.random.default_rng(5)
    n, n_t, m = 60, 40, 12
    y = 50 + 5 * np.sin(np.arange(n_t) * 2 * np.pi / 12)[None] + rng.normal(0, 2, (n, n_t))
    start = rng.choice([0, 3], n)
    y[np.arange(n_t)[None, :] < start[:, None]] = np.nan
    grid = np.array([[0.2, 0.02, 0.1, 0.95], [0.5, 0.1, 0.2, 0.9]])
    params = grid[rng.integers(0, 2, n)]
    if trend == "N":
        params[:, 1] = 0.0
    if trend != "Ad":
        params[:, 3] = 1.0
    if season == "N":
        params[:, 2] = 0.0
    init = initial_states(y, start, m=m, trend=trend != "N", season=season)
    step = _step(y, start, m=m, model=model, params=params, init=init)
    r, yhat, jac = _jacobian(y, start, m=m, model=model, params=params, init=init)
    np.testing.assert_allclose(step, _solve_step(y, r, yhat, jac, model), rtol=1e-6, atol=1e-8)


def test_forecast_and_the_configuration_default_to_the_same_reconciliation():
    default = inspect.signature(forecast).parameters["reconcile"].default
    assert default == load_forecast_config("models/forecast/default.yaml").reconcile == "auto"
    result = forecast(panel(48), hierarchy=HIERARCHY, date_col="month", horizon=6)
    assert result.reconciliation.requested == "auto"
    assert result.reconciliation.reason.startswith("auto: lowest backtest")
    chosen = forecast(
        panel(48), hierarchy=HIERARCHY, date_col="month", horizon=6, reconcile="auto"
    )  # fmt: skip
    assert_frame_equal(result.forecasts, chosen.forecasts)
