"""Base fits in threads: every series' result is the one a single thread gives, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from engine.forecasting import _ets, _threads
from engine.forecasting._select import fit_base
from engine.forecasting._threads import MIN_ROWS_PER_THREAD, fit_workers


def _panel(n: int, n_t: int = 36, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Smooth, trending, seasonal, multiplicative-looking and intermittent series, with late
    starts (NaN before them)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_t)
    level = rng.uniform(2, 50, size=(n, 1))
    season = 1 + rng.uniform(0, 0.4, size=(n, 1)) * np.sin(2 * np.pi * t / 12)[None, :]
    trend = 1 + rng.uniform(-0.01, 0.02, size=(n, 1)) * t[None, :]
    y = level * season * trend * rng.gamma(20, 1 / 20, size=(n, n_t))
    sparse = rng.random(n) < 0.3
    y[sparse] *= rng.random((int(sparse.sum()), n_t)) < 0.3
    y = np.round(y, 2)
    start = np.where(rng.random(n) < 0.25, rng.integers(1, n_t - 3, size=n), 0)
    y[t[None, :] < start[:, None]] = np.nan
    return y, start


def test_fit_workers_reads_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MFR_FORECAST_THREADS", "3")
    assert fit_workers(10 * MIN_ROWS_PER_THREAD) == 3
    assert fit_workers(MIN_ROWS_PER_THREAD + 1) == 1  # too few series to split
    monkeypatch.setenv("MFR_FORECAST_THREADS", "1")
    assert fit_workers(10 * MIN_ROWS_PER_THREAD) == 1


def test_threads_give_the_single_thread_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "MIN_ROWS_PER_THREAD", 300)
    y, start = _panel(2_000)
    blocks: list[int] = []
    choose = _ets._choose
    monkeypatch.setattr(
        _ets, "_choose", lambda y, *a, **k: blocks.append(len(y)) or choose(y, *a, **k)
    )
    fits = {}
    for threads in ("1", "2"):
        monkeypatch.setenv("MFR_FORECAST_THREADS", threads)
        fits[threads] = fit_base(y, start, m=12, horizon=12)
    assert len(blocks) == 3  # one block, then two: the threads did split the series
    one, two = fits["1"], fits["2"]
    models = set(one.report["model"])
    assert {"ETS(A,N,N)", "SES"} <= models and any(",M)" in m or ",A)" in m for m in models)
    for name in ("mean", "fitted", "residuals", "horizon_scale", "n_params"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name), err_msg=name)
    for key, values in one.report.items():
        np.testing.assert_array_equal(values, two.report[key], err_msg=key)
