"""Baselines for many series at once: naive, seasonal naive and the zero forecast.

Each returns point forecasts (n × H), one-step fitted values (n × T; NaN where undefined) and the
sd of the h-step error relative to the one-step error (a random walk's grows like √h; the seasonal
naive's like √(1 + ⌊(h−1)/m⌋)).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["BaselineFit", "naive", "seasonal_naive", "zero"]


class BaselineFit(NamedTuple):
    mean: np.ndarray
    fitted: np.ndarray
    horizon_scale: np.ndarray


def _before_start(n_t: int, start: np.ndarray, lag: int) -> np.ndarray:
    return np.arange(n_t)[None, :] < (start + lag)[:, None]


def naive(y: np.ndarray, start: np.ndarray, *, horizon: int) -> BaselineFit:
    """The last observation, repeated."""
    n, n_t = y.shape
    fitted = np.full((n, n_t), np.nan)
    fitted[:, 1:] = y[:, :-1]
    fitted[_before_start(n_t, start, 1)] = np.nan
    mean = np.repeat(y[:, -1:], horizon, axis=1)
    scale = np.broadcast_to(np.sqrt(np.arange(1, horizon + 1.0)), (n, horizon)).copy()
    return BaselineFit(mean, fitted, scale)


def seasonal_naive(y: np.ndarray, start: np.ndarray, *, m: int, horizon: int) -> BaselineFit:
    """The value one season earlier: the forecast repeats the last observed season.

    Rows need at least `m` observations.
    """
    n, n_t = y.shape
    fitted = np.full((n, n_t), np.nan)
    fitted[:, m:] = y[:, :-m]
    fitted[_before_start(n_t, start, m)] = np.nan
    last_season = y[:, n_t - m :]
    mean = last_season[:, np.arange(horizon) % m]
    h = np.arange(horizon)
    scale = np.broadcast_to(np.sqrt(1.0 + h // m), (n, horizon)).astype(float)
    return BaselineFit(mean, fitted, scale)


def zero(y: np.ndarray, start: np.ndarray, *, horizon: int) -> BaselineFit:
    """Zero, for series that never had a non-zero value."""
    n, n_t = y.shape
    fitted = np.zeros((n, n_t))
    fitted[_before_start(n_t, start, 0)] = np.nan
    return BaselineFit(np.zeros((n, horizon)), fitted, np.ones((n, horizon)))
