"""Aligned error paths (`filled_errors(aligned=True)`): a period a series has no residual in is zero
error for it, so an aggregate's path is the sum of its children's errors in that same period; the
default still cycles a late starter's own residuals."""

from __future__ import annotations

import numpy as np

from engine.forecasting._intervals import filled_errors


def test_missing_periods_are_zero_error_and_empty_periods_dropped():
    r = np.array([[np.nan, 1.0, -2.0, 3.0], [np.nan, np.nan, 5.0, -1.0]])
    out = filled_errors(r, aligned=True)
    np.testing.assert_array_equal(out, [[1.0, -2.0, 3.0], [0.0, 5.0, -1.0]])


def test_a_late_starter_adds_no_error_to_periods_before_it_existed():
    """Two series whose errors cancel period by period (a case moving between them): their sum
    has no error; a third that started late adds only its own periods' errors."""
    rng = np.random.default_rng(0)
    a = rng.normal(0, 5, 40)
    late = np.full(40, np.nan)
    late[30:] = rng.normal(0, 5, 10)
    out = filled_errors(np.vstack([a, -a, late]), aligned=True)
    total = out.sum(axis=0)
    np.testing.assert_allclose(total[:30], 0.0, atol=1e-12)
    np.testing.assert_allclose(total[30:], late[30:])


def test_centring_uses_each_series_own_periods():
    r = np.array([[np.nan, 2.0, 4.0], [1.0, 1.0, 4.0]])
    out = filled_errors(r, centre=True, aligned=True)
    np.testing.assert_allclose(out, [[0.0, -1.0, 1.0], [-1.0, -1.0, 2.0]])


def test_the_default_still_cycles_a_late_starters_residuals():
    r = np.array([[np.nan, np.nan, 1.0, 2.0], [1.0, 1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(filled_errors(r)[0], [1.0, 2.0, 1.0, 2.0])
