"""Reconciliation of one fit against hierarchicalforecast's dense solves (skipped without it).

The same base forecasts and in-sample residuals go to both. The panel leaves out the all-zero and
the late-starting series: this engine floors a zero residual variance at the smallest positive one
(hierarchicalforecast adds a 2e-8 ridge) and takes a late starter's proportions over the periods
it existed as zeros (hierarchicalforecast's nanmean skips them); residuals are scaled by 1e3 so
that ridge is below 1e-10. `mint_shrink` is not compared: this engine estimates the shrinkage on
uncentred residuals (Wickramasuriya et al. 2019, as R's hts), hierarchicalforecast on centred ones.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from forecast_helpers import HIERARCHY, panel

from engine.forecasting._fit import fit_hierarchy
from engine.forecasting._reconcile import reconcile_bottom

hm = pytest.importorskip("hierarchicalforecast.methods")

TREE = [[], ["oblast"], ["oblast", "hromada"], ["oblast", "hromada", "service"]]


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    odd = ((pl.col("hromada") == "A0") & (pl.col("service") == "020.0")) | (
        (pl.col("hromada") == "B2") & (pl.col("service") == "016.0")
    )
    return panel(36).filter(~odd)


def _fit(frame, structure):
    return fit_hierarchy(
        frame, structure=structure, date_col="month", value_col="y", horizon=6,
        models=("ets",), nonnegative=False,
    )  # fmt: skip


@pytest.mark.parametrize("method", ["bottom_up", "ols", "wls_struct", "wls_var"])
def test_minimum_trace_and_bottom_up_equal_hierarchicalforecast(frame, method):
    fitted = _fit(frame, HIERARCHY)
    summing = fitted.hierarchy.S
    residuals = np.nan_to_num(fitted.base.residuals) * 1e3
    base = fitted.base.mean
    ours, info = reconcile_bottom(base, summing, method=method, residuals=residuals, tol=1e-13)
    assert info.method == method
    if method == "bottom_up":
        theirs = hm.BottomUp().fit_predict(S=summing.toarray(), y_hat=base)
    else:
        theirs = hm.MinTrace(method=method).fit_predict(
            S=summing.toarray(), y_hat=base, y_insample=residuals,
            y_hat_insample=np.zeros_like(residuals),
        )  # fmt: skip
    theirs = theirs["mean"] if isinstance(theirs, dict) else theirs
    np.testing.assert_allclose(summing @ ours, theirs, rtol=1e-10, atol=1e-10)


def test_the_production_tolerance_is_within_1e_6(frame):
    """The default conjugate-gradient stop (1e-7) is what `reconcile` uses: within 1e-6 of the
    largest forecast."""
    fitted = _fit(frame, HIERARCHY)
    table = fitted.reconcile("wls_struct", levels=())
    base = fitted.base.mean
    theirs = hm.MinTrace(method="wls_struct").fit_predict(
        S=fitted.hierarchy.S.toarray(), y_hat=base
    )
    theirs = theirs["mean"] if isinstance(theirs, dict) else theirs
    ours = table["Base/MinTrace_method-wls_struct"].to_numpy().reshape(theirs.shape)
    assert np.abs(ours - theirs).max() <= 1e-6 * np.abs(theirs).max()


@pytest.mark.parametrize("method", ["average_proportions", "proportion_averages"])
def test_top_down_equals_hierarchicalforecast_on_a_tree(frame, method):
    fitted = _fit(frame, TREE)
    hier = fitted.hierarchy
    level = hier.nodes["level"].to_numpy()
    tags = {name: np.flatnonzero(level == name) for name in hier.levels}  # rows, as HF passes them
    theirs = hm.TopDown(method=method).fit_predict(
        S=hier.S.toarray(), y_hat=fitted.base.mean, tags=tags, y_insample=fitted.y
    )
    theirs = theirs["mean"] if isinstance(theirs, dict) else theirs
    ours = fitted.reconcile(method, levels=())[f"Base/TopDown_method-{method}"].to_numpy()
    np.testing.assert_allclose(ours.reshape(theirs.shape), theirs, rtol=1e-10, atol=1e-10)


def test_aggregate_feeds_hierarchicalforecast_and_the_columns_are_its_own(frame):
    """Y_df, S_df, tags from `aggregate` go straight into HierarchicalReconciliation; its output
    has the same columns as `reconcile`'s and the same values (our default solver stop)."""
    from hierarchicalforecast.core import HierarchicalReconciliation

    from engine.forecasting import aggregate

    levels = [[], ["oblast"], ["service"], ["oblast", "hromada", "service"]]
    y_df, s_df, tags = aggregate(frame, levels, date_col="month", value_col="y")
    fitted = fit_hierarchy(
        y_df, S_df=s_df, tags=tags, horizon=6, models=("ets",), nonnegative=False
    )
    ours = fitted.reconcile("bottom_up", "ols", "wls_struct", levels=())
    reconcilers = [hm.BottomUp(), hm.MinTrace("ols"), hm.MinTrace("wls_struct")]
    theirs = HierarchicalReconciliation(reconcilers=reconcilers).reconcile(
        Y_hat_df=ours.select("unique_id", "ds", "Base"), S_df=s_df, tags=tags,
        Y_df=fitted.fitted_values().fill_null(0.0),
    )  # fmt: skip
    assert list(theirs.columns) == ours.columns
    joined = ours.join(pl.DataFrame(theirs), on=["unique_id", "ds"], suffix="_hf")
    assert joined.height == ours.height
    for column in ours.columns[2:]:
        gap = (joined[column] - joined[f"{column}_hf"]).abs().max()
        assert gap <= 1e-6 * joined[column].abs().max()
