"""The analyst API: one fit, many reconcilers; any structure; fitted values, residuals, wls_var."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from forecast_helpers import HIERARCHY, panel
from polars.testing import assert_frame_equal

from engine.errors import ConfigError
from engine.forecasting import ETS_MODELS, forecast
from engine.forecasting._fit import fit_hierarchy
from engine.forecasting._reconcile import reconcile_bottom
from engine.forecasting._reconcilers import BottomUp, MinTrace, TopDown
from engine.forecasting._structure import aggregate

KW = {"date_col": "month", "value_col": "y", "horizon": 6, "models": ("ets",)}
METHODS = ("bottom_up", "ols", "wls_struct", "wls_var", "mint_shrink")
CUSTOM = [[], ["oblast"], ["service"], ["oblast", "hromada", "service"]]


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return panel(36)


@pytest.fixture(scope="module")
def one_fit(frame):
    return fit_hierarchy(frame, structure=HIERARCHY, **KW)


ADDITIVE = tuple(m.name for m in ETS_MODELS if m.name.startswith("ETS(A,"))


@pytest.mark.parametrize("method", METHODS)
def test_a_reconciler_on_one_fit_is_forecast_with_that_method(frame, one_fit, method):
    """Bit for bit. forecast(reconcile="bottom_up") fits the bottom series only; the
    multiplicative-error ETS spreads are simulated with paths drawn per fitting batch, so for
    bottom-up the comparison uses the additive-error models (exact variance formulas)."""
    if method == "bottom_up":
        kw = {**KW, "models": ADDITIVE}
        one_fit = fit_hierarchy(frame, structure=HIERARCHY, **kw)
    else:
        kw = KW
    expected = forecast(frame, hierarchy=HIERARCHY, reconcile=method, **kw)
    got = one_fit.reconciled(method)
    assert_frame_equal(got.forecasts, expected.forecasts)
    assert got.reconciliation == expected.reconciliation
    assert_frame_equal(got.models, expected.models)


def test_the_wide_frame_holds_every_reconciler_of_the_one_fit(one_fit):
    table = one_fit.reconcile(BottomUp(), MinTrace("ols"), MinTrace("mint_shrink"), levels=(80,))
    assert table.columns == [
        "unique_id", "ds", "Base", "Base-lo-80", "Base-hi-80",
        "Base/BottomUp", "Base/BottomUp-lo-80", "Base/BottomUp-hi-80",
        "Base/MinTrace_method-ols", "Base/MinTrace_method-ols-lo-80", "Base/MinTrace_method-ols-hi-80",
        "Base/MinTrace_method-mint_shrink", "Base/MinTrace_method-mint_shrink-lo-80",
        "Base/MinTrace_method-mint_shrink-hi-80",
    ]  # fmt: skip
    assert table.height == one_fit.hierarchy.n_nodes * 6
    ols = one_fit.reconciled(MinTrace("ols"), levels=(80,)).forecasts
    assert table["Base/MinTrace_method-ols"].to_list() == ols["mean"].to_list()
    assert table["Base/MinTrace_method-ols-hi-80"].to_list() == ols["hi_80"].to_list()


def _coherent(result, structure_levels) -> None:
    """Every aggregate equals the sum of its bottom series, for the mean and for each bound."""
    fc = result.forecasts
    bottom_level = result.hierarchy.levels[-1]
    bottom = fc.filter(pl.col("level") == bottom_level)
    for level, columns in structure_levels:
        nodes = fc.filter(pl.col("level") == level)
        sums = (
            bottom.group_by([*columns, "ds"]).agg(pl.col("mean").sum().alias("sum"))
            if columns
            else bottom.group_by("ds").agg(pl.col("mean").sum().alias("sum"))
        )
        joined = nodes.join(sums, on=[*columns, "ds"])
        assert joined.height == nodes.height > 0
        np.testing.assert_allclose(joined["mean"], joined["sum"], rtol=1e-9, atol=1e-9)


def test_a_custom_structure_has_its_levels_and_is_coherent(frame):
    fitted = fit_hierarchy(frame, structure=CUSTOM, **KW)
    hier = fitted.hierarchy
    assert hier.levels == ("total", "oblast", "service", "oblast/hromada/service")
    assert "oblast/hromada" not in hier.levels and "oblast/service" not in hier.levels
    sizes = hier.nodes.group_by("level").len().sort("level")
    assert dict(sizes.iter_rows()) == {
        "total": 1, "oblast": 2, "service": 3, "oblast/hromada/service": 18,
    }  # fmt: skip
    for method in ("bottom_up", "wls_struct", "mint_shrink"):
        result = fitted.reconciled(method, levels=(80, 95))
        _coherent(result, [("total", []), ("oblast", ["oblast"]), ("service", ["service"])])
        fc = result.forecasts
        # intervals from coherent sample paths: every band nests at every level
        assert (fc["lo_95"] <= fc["lo_80"]).all() and (fc["lo_80"] <= fc["mean"]).all()
        assert (fc["mean"] <= fc["hi_80"]).all() and (fc["hi_80"] <= fc["hi_95"]).all()


def test_sample_path_quantiles_are_coherent_quantiles_of_sums(frame):
    """A total's band is the quantile of the summed paths, not the sum of the bottom quantiles."""
    fitted = fit_hierarchy(frame, structure=CUSTOM, **KW)
    fc = fitted.reconciled("bottom_up", levels=(80,)).forecasts
    total = fc.filter(pl.col("level") == "total").sort("ds")
    bottom = fc.filter(pl.col("level") == "oblast/hromada/service")
    summed_hi = bottom.group_by("ds").agg(pl.col("hi_80").sum()).sort("ds")["hi_80"]
    assert (total["hi_80"] < summed_hi).all()  # sums of quantiles overstate the total's band


def test_summing_matrix_and_tags_give_the_structure_of_the_level_definitions(frame):
    y_df, s_df, tags = aggregate(frame, CUSTOM, date_col="month", value_col="y")
    assert list(tags) == ["total", "oblast", "service", "oblast/hromada/service"]
    assert s_df.width == 1 + 18 and s_df.height == 24
    by_levels = fit_hierarchy(frame, structure=CUSTOM, **KW).reconciled("wls_struct")
    by_matrix = fit_hierarchy(y_df, S_df=s_df, tags=tags, **{**KW, "date_col": "ds"}).reconciled(
        "wls_struct"
    )
    a = by_levels.forecasts.select("unique_id", "level", "ds", "mean", "lo_80", "hi_95")
    b = by_matrix.forecasts.select("unique_id", "level", "ds", "mean", "lo_80", "hi_95")
    assert_frame_equal(a, b)


def test_a_summing_matrix_as_an_array_with_tags_is_the_same_structure(frame):
    y_df, s_df, tags = aggregate(frame, CUSTOM, date_col="month", value_col="y")
    as_frame = fit_hierarchy(y_df, S_df=s_df, tags=tags, **{**KW, "date_col": "ds"})
    as_array = fit_hierarchy(
        y_df, S_df=s_df.drop("unique_id").to_numpy(), tags=tags, **{**KW, "date_col": "ds"}
    )
    a = as_frame.reconcile("ols", levels=(80,))
    b = as_array.reconcile("ols", levels=(80,))
    assert_frame_equal(a, b)


def test_aggregate_sums_every_node(frame):
    y_df, _, tags = aggregate(frame, CUSTOM, date_col="month", value_col="y")
    total = y_df.filter(pl.col("unique_id") == "total").sort("ds")["y"]
    by_month = frame.group_by("month").agg(pl.col("y").sum()).sort("month")["y"]
    assert total.to_list() == by_month.to_list()
    assert set(tags["oblast"]) == {"A", "B"}


def test_residuals_are_y_minus_fitted(one_fit):
    fitted = one_fit.fitted_values()
    resid = one_fit.residuals()
    assert fitted.columns == ["unique_id", "ds", "y", "Base"]
    assert resid.columns == ["unique_id", "ds", "Base"]
    joined = fitted.join(resid, on=["unique_id", "ds"], suffix="_resid")
    assert joined.height == fitted.height == resid.height
    ok = joined.filter(pl.col("Base").is_not_null())
    assert ok.height > 0.9 * joined.height
    np.testing.assert_array_equal(ok["Base_resid"], ok["y"] - ok["Base"])
    total = fitted.filter(pl.col("unique_id") == "total")
    assert total.height == 36


def test_wls_var_by_hand():
    """Two bottom series and their total; W = diag of each node's mean squared residual.

    S = [[1, 1], [1, 0], [0, 1]], residuals total (2, −2) → σ² 4, a (1, 1) → 1, b (0, 3, NaN) →
    4.5 over its two periods. GLS: b̃ = (S'W⁻¹S)⁻¹ S'W⁻¹ ŷ with ŷ = (10, 4, 5):
    S'W⁻¹S = [[1/4 + 1, 1/4], [1/4, 1/4 + 1/4.5]], S'W⁻¹ŷ = [10/4 + 4, 10/4 + 5/4.5].
    """
    from scipy import sparse

    summing = sparse.csr_matrix(np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]))
    residuals = np.array([[2.0, -2.0, np.nan], [1.0, -1.0, np.nan], [0.0, 3.0, np.nan]])
    residuals = np.repeat(residuals, 2, axis=1)  # four periods: enough for a variance method
    base = np.array([[10.0], [4.0], [5.0]])
    got, info = reconcile_bottom(base, summing, method="wls_var", residuals=residuals)
    a = np.array([[1 / 4 + 1, 1 / 4], [1 / 4, 1 / 4 + 1 / 4.5]])
    rhs = np.array([10 / 4 + 4, 10 / 4 + 5 / 4.5])
    assert info.method == "wls_var"
    np.testing.assert_allclose(got[:, 0], np.linalg.solve(a, rhs), rtol=1e-12)


def test_top_down_shares_the_total_by_historical_proportions(frame):
    fitted = fit_hierarchy(frame, structure=CUSTOM, **KW)
    result = fitted.reconciled(TopDown("proportion_averages"), levels=(80,))
    fc = result.forecasts
    total = fc.filter(pl.col("level") == "total").sort("ds")["mean"].to_numpy()
    base_total = fitted.base.mean[0]
    np.testing.assert_allclose(total, np.maximum(base_total, 0), rtol=1e-12)
    assert result.reconciliation.method == "TopDown_method-proportion_averages"


def test_unknown_structures_and_methods_are_one_line_errors(frame):
    with pytest.raises(ConfigError, match="bottom level"):
        fit_hierarchy(frame, structure=[["oblast"], ["service"]], **KW)
    with pytest.raises(ConfigError, match="MinTrace method"):
        MinTrace("mint_cov")
