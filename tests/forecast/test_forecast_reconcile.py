"""Reconciliation: coherence and non-negativity at every level for every method, on random
hierarchies with all-zero and single-point series; MinT against the dense textbook formula;
fallbacks reported on degenerate inputs."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from forecast_helpers import HIERARCHY, months, panel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.forecasting import HierarchySpec, build_hierarchy, forecast
from engine.forecasting._reconcile import _shrink_weights, reconcile_bottom, shrinkage_intensity

METHODS = ("bottom_up", "ols", "wls_struct", "mint_shrink")
BOUNDS = ("lo_80", "hi_80", "lo_95", "hi_95")


def assert_coherent(forecasts: pl.DataFrame, columns: tuple[str, ...] = ("mean",)) -> None:
    """Every node equals the sum of the bottom series under it, period by period."""
    columns_in_order = forecasts.columns
    all_keys = columns_in_order[columns_in_order.index("level") + 1 : columns_in_order.index("ds")]
    bottom_level = forecasts["level"].to_list()[-1]
    bottom = forecasts.filter(pl.col("level") == bottom_level)
    for level in forecasts["level"].unique().to_list():
        rows = forecasts.filter(pl.col("level") == level)
        keys = [k for k in all_keys if rows[k].null_count() == 0]
        sums = bottom.group_by(*keys, "ds").agg(pl.col(c).sum().alias(f"_{c}") for c in columns)
        joined = rows.join(sums, on=[*keys, "ds"], how="left")
        for c in columns:
            np.testing.assert_allclose(joined[c], joined[f"_{c}"], rtol=1e-9, atol=1e-9)


def random_panel(shape: dict, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    dates = months(shape["months"])
    frames = []
    for o in range(shape["oblasts"]):
        for h in range(shape["hromadas"]):
            for s in range(shape["services"]):
                kind = rng.choice(["zero", "single", "sparse", "counts"], p=[0.15, 0.15, 0.3, 0.4])
                n = shape["months"]
                y = {
                    "zero": np.zeros(n),
                    "single": np.zeros(n),
                    "sparse": rng.poisson(0.3, n) * 1.0,
                    "counts": rng.poisson(rng.uniform(1, 20), n) * 1.0,
                }[kind]
                first = n - 1 if kind == "single" else 0  # one observation only
                if kind == "single":
                    y[-1] = rng.uniform(0, 5)
                frames.append(
                    pl.DataFrame(
                        {
                            "oblast": f"O{o}",
                            "hromada": f"O{o}H{h}",
                            "group": f"G{s % 2}",
                            "service": f"S{s}",
                            "month": dates[first:],
                            "y": y[first:],
                        }
                    )
                )
    return pl.concat(frames)


shapes = st.fixed_dictionaries(
    {
        "oblasts": st.integers(1, 3),
        "hromadas": st.integers(1, 3),
        "services": st.integers(1, 3),
        "months": st.sampled_from([3, 8, 26]),
    }
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes, seed=st.integers(0, 10_000), method=st.sampled_from(METHODS))
def test_coherent_and_non_negative_at_every_level(shape, seed, method):
    frame = random_panel(shape, seed)
    result = forecast(
        frame, hierarchy=HIERARCHY, date_col="month", horizon=4, reconcile=method, refine=False
    )
    f = result.forecasts
    assert_coherent(f)
    assert f.select(pl.min_horizontal(pl.col("mean", *BOUNDS)).min()).item() >= 0
    assert (f["lo_95"] <= f["lo_80"] + 1e-12).all() and (f["lo_80"] <= f["mean"] + 1e-12).all()
    assert (f["mean"] <= f["hi_80"] + 1e-12).all() and (f["hi_80"] <= f["hi_95"] + 1e-12).all()
    assert f.height == result.hierarchy.n_nodes * 4


@pytest.mark.parametrize("method", METHODS)
def test_every_method_on_a_seasonal_panel(method):
    result = forecast(panel(), hierarchy=HIERARCHY, date_col="month", reconcile=method)
    assert result.reconciliation.method == method
    assert_coherent(result.forecasts)


def test_bottom_up_equals_the_sum_of_the_bottom_base_forecasts():
    frame = panel()
    base = forecast(frame, hierarchy=HIERARCHY, date_col="month", reconcile="none")
    up = forecast(frame, hierarchy=HIERARCHY, date_col="month", reconcile="bottom_up")
    level = up.hierarchy.levels[-1]
    b_base = base.forecasts.filter(pl.col("level") == level).sort("unique_id", "ds")
    b_up = up.forecasts.filter(pl.col("level") == level).sort("unique_id", "ds")
    # every series is fitted on its own (grid parameters), whatever else is fitted beside it
    np.testing.assert_allclose(b_up["mean"], b_base["mean"], rtol=1e-12)
    total = up.forecasts.filter(pl.col("level") == "total").sort("ds")["mean"]
    summed = b_up.group_by("ds").agg(pl.col("mean").sum()).sort("ds")["mean"]
    np.testing.assert_allclose(total, summed)


def test_gls_matches_the_dense_formula():
    rng = np.random.default_rng(0)
    keys = pl.DataFrame({"o": ["a", "a", "b"], "h": ["a1", "a2", "b1"]}).join(
        pl.DataFrame({"s": ["x", "y"]}), how="cross"
    )
    hier = build_hierarchy(keys, HierarchySpec(nested=("o", "h"), crossed=(("s",),)))
    S = hier.S.toarray()  # noqa: N806 - the textbook's name
    n = S.shape[0]
    base = rng.normal(10, 3, (n, 3))
    common = rng.normal(0, 1, (1, 30))
    residuals = rng.normal(0, 1, (n, 30)) + 0.8 * common  # correlated: shrinkage below 1
    for method in ("ols", "wls_struct", "mint_shrink"):
        got, info = reconcile_bottom(base, hier.S, method=method, residuals=residuals)
        if method == "ols":
            W = np.eye(n)  # noqa: N806
        elif method == "wls_struct":
            W = np.diag(S.sum(axis=1))  # noqa: N806
        else:
            cov = residuals @ residuals.T / residuals.shape[1]
            lam = info.shrinkage
            W = lam * np.diag(np.diag(cov)) + (1 - lam) * cov  # noqa: N806
            assert 0 < lam < 1
        Wi = np.linalg.inv(W)  # noqa: N806
        P = np.linalg.solve(S.T @ Wi @ S, S.T @ Wi)  # noqa: N806
        np.testing.assert_allclose(got, P @ base, rtol=1e-6, atol=1e-6)


def test_shrinkage_intensity_matches_the_pairwise_definition():
    rng = np.random.default_rng(1)
    e = rng.normal(0, 1, (6, 15)) + rng.normal(0, 1, (1, 15))
    x = e / np.sqrt((e * e).mean(axis=1, keepdims=True))
    n = x.shape[1]
    num = den = 0.0
    for i in range(6):
        for j in range(6):
            if i != j:
                w = x[i] * x[j]
                num += ((w - w.mean()) ** 2).sum() * n / (n - 1) ** 3 * (n - 1) ** 2 / n**2
                den += (w.mean()) ** 2
    # Schäfer–Strimmer with r_ij = mean(w) (uncentred, as MinT uses), Var(r_ij) = Σ(w − w̄)²/(n(n−1))
    assert shrinkage_intensity(x) == pytest.approx(min(num / den, 1.0), rel=1e-9)
    _, lam, floored = _shrink_weights(e)
    assert lam == pytest.approx(shrinkage_intensity(x)) and floored == 0


def test_mint_falls_back_and_says_so_on_too_short_series():
    frame = panel(n_months=3)
    result = forecast(frame, hierarchy=HIERARCHY, date_col="month", reconcile="mint_shrink")
    info = result.reconciliation
    assert (info.requested, info.method) == ("mint_shrink", "wls_struct")
    assert "residuals" in info.reason
    assert_coherent(result.forecasts)


def test_mint_falls_back_on_zero_variance():
    frame = panel().with_columns(y=pl.lit(0.0))
    result = forecast(frame, hierarchy=HIERARCHY, date_col="month", reconcile="mint_shrink")
    assert result.reconciliation.method == "wls_struct"
    assert "non-zero" in result.reconciliation.reason
    assert result.forecasts["mean"].abs().max() == 0


def test_zero_variance_nodes_are_floored_and_counted():
    frame = panel()  # holds one all-zero series: its residuals are all zero
    result = forecast(frame, hierarchy=HIERARCHY, date_col="month", reconcile="mint_shrink")
    assert result.reconciliation.method == "mint_shrink"
    assert result.reconciliation.floored_variances >= 1


def test_negative_bottom_values_are_held_at_zero_and_reported():
    keys = pl.DataFrame({"h": ["a", "b", "c"]})
    hier = build_hierarchy(keys, HierarchySpec(nested=("h",)))
    base = np.array([[1.0], [5.0], [0.0], [0.0]])  # total 1 but children sum to 5: OLS pushes < 0
    got, info = reconcile_bottom(base, hier.S, method="ols", nonnegative=True)
    assert (got >= 0).all() and info.clipped_negative >= 1
    plain, _ = reconcile_bottom(base, hier.S, method="ols")
    assert (plain < 0).any()
