"""`cross_validation`: statsforecast's long frame, holding exactly the forecasts the backtest scores."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from forecast_helpers import HIERARCHY, panel

from engine.forecasting import backtest
from engine.forecasting._backtest import scaled_errors, scaled_quantile_loss
from engine.forecasting._cross_validation import cross_validation
from engine.forecasting._fit import fit_hierarchy
from engine.forecasting._reconcilers import BottomUp, MinTrace

KW = {"date_col": "month", "value_col": "y", "models": ("ets",)}
H, WINDOWS = 6, 2
COLUMNS = {
    "base": "Base",
    "bottom_up": "Base/BottomUp",
    "mint_shrink": "Base/MinTrace_method-mint_shrink",
}


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return panel(40)


@pytest.fixture(scope="module")
def cv(frame) -> pl.DataFrame:
    return cross_validation(
        frame, structure=HIERARCHY, reconcilers=[BottomUp(), MinTrace("mint_shrink")],
        h=H, n_windows=WINDOWS, levels=(80, 95), **KW,
    )  # fmt: skip


def test_the_frame_has_statsforecasts_shape(cv, frame):
    nodes = fit_hierarchy(frame, structure=HIERARCHY, horizon=H, **KW).hierarchy.n_nodes
    assert cv.columns[:5] == ["unique_id", "ds", "cutoff", "y", "Base"]
    assert "Base/MinTrace_method-mint_shrink-hi-95" in cv.columns
    assert cv.height == WINDOWS * nodes * H
    cutoffs = cv["cutoff"].unique().sort().to_list()
    months = frame["month"].unique().sort().to_list()
    assert cutoffs == [months[-1 - H - H], months[-1 - H]]  # the last window ends the data
    assert (cv.group_by("unique_id", "cutoff").len()["len"] == H).all()
    assert (cv["ds"] > cv["cutoff"]).all()


def test_the_actuals_are_the_aggregated_history(cv, frame):
    total = cv.filter(pl.col("unique_id") == "total").select("ds", "y").unique().sort("ds")
    truth = frame.group_by("month").agg(pl.col("y").sum()).rename({"month": "ds"})
    joined = total.join(truth, on="ds", suffix="_true")
    assert joined.height == total.height
    assert joined["y"].to_list() == joined["y_true"].to_list()


def test_scores_of_the_frame_are_the_backtests(cv, frame):
    table = backtest(
        frame, hierarchy=HIERARCHY, horizon=H, n_windows=WINDOWS, levels=(80, 95),
        methods=tuple(COLUMNS), benchmarks=(), **KW,
    )  # fmt: skip
    fitted = fit_hierarchy(frame, structure=HIERARCHY, horizon=H, **KW)
    nodes = fitted.hierarchy.nodes.select("unique_id", "level").with_row_index("_node")
    months = fitted.history_dates.to_list()
    checked = 0
    for cutoff in cv["cutoff"].unique().sort().to_list():
        cut = months.index(cutoff) + 1
        train = fitted.y[:, :cut]
        part = cv.filter(pl.col("cutoff") == cutoff).join(nodes, on="unique_id").sort("_node", "ds")

        def matrix(column: str, part: pl.DataFrame = part) -> np.ndarray:
            return part[column].to_numpy().reshape(-1, H)

        actual = matrix("y")
        for method, column in COLUMNS.items():
            mase, _ = scaled_errors(actual, matrix(column), train, 12)
            bounds = {
                f"{side}_{lv}": matrix(f"{column}-{side}-{lv}")
                for lv in (80, 95)
                for side in ("lo", "hi")
            }
            sql = scaled_quantile_loss(actual, matrix(column), bounds, train, m=12, levels=(80, 95))
            inside = (actual >= bounds["lo_95"] - 1e-9) & (actual <= bounds["hi_95"] + 1e-9)
            per_level = (
                pl.DataFrame(
                    {
                        "level": part["level"].gather_every(H),
                        "mase": mase,
                        "sql": sql,
                        "coverage_95": inside.mean(axis=1),
                    }
                )
                .group_by("level")
                .agg(
                    pl.col("mase").filter(pl.col("mase").is_not_nan()).mean(),
                    pl.col("sql").filter(pl.col("sql").is_not_nan()).mean(),
                    pl.col("coverage_95").mean(),
                )
            )
            expected = table.filter((pl.col("origin") == cutoff) & (pl.col("method") == method))
            joined = expected.join(per_level, on="level", suffix="_cv")
            assert joined.height == expected.height == len(fitted.hierarchy.levels)
            for metric in ("mase", "sql", "coverage_95"):
                np.testing.assert_allclose(joined[metric], joined[f"{metric}_cv"], rtol=1e-12)
            checked += 1
    assert checked == WINDOWS * len(COLUMNS)
