"""The public API: formats, frequencies, intervals, drivers, configuration files."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from forecast_helpers import HIERARCHY, months, panel
from test_forecast_reconcile import assert_coherent

from engine.errors import ConfigError, InputFileError
from engine.forecasting import Driver, forecast, load_forecast_config
from engine.forecasting._hierarchy import HierarchySpec, build_hierarchy
from engine.forecasting._intervals import coherent_error_paths, filled_errors

BOUNDS = ["lo_80", "hi_80", "lo_95", "hi_95"]


def test_statsforecast_long_format():
    rng = np.random.default_rng(0)
    frame = pl.DataFrame(
        {
            "unique_id": np.repeat(["a", "b", "c"], 30),
            "ds": pl.concat([months(30)] * 3),
            "y": rng.poisson(5, 90).astype(float),
        }
    )
    result = forecast(frame, horizon=6)
    f = result.forecasts
    assert f.columns == ["unique_id", "level", "ds", "mean", *BOUNDS, "model", "method"]
    assert f.height == 18 and set(f["unique_id"]) == {"a", "b", "c"}
    assert f["ds"].min() == dt.date(2023, 7, 1) and f["ds"].max() == dt.date(2023, 12, 1)
    assert result.reconciliation.method == "bottom_up"  # independent series: nothing to reconcile
    assert set(result.models.columns) >= {"unique_id", "model", "fallback", "reason", "aicc"}


def test_statsforecast_ids_with_a_total():
    rng = np.random.default_rng(1)
    frame = pl.DataFrame(
        {
            "unique_id": np.repeat(["a", "b"], 24),
            "ds": pl.concat([months(24)] * 2),
            "y": rng.poisson(5, 48).astype(float),
        }
    )
    result = forecast(frame, hierarchy={"crossed": [["unique_id"]]}, horizon=3)
    f = result.forecasts
    assert set(f["unique_id"]) == {"total", "a", "b"}
    total = f.filter(pl.col("unique_id") == "total")["mean"].to_numpy()
    parts = f.filter(pl.col("unique_id") != "total").group_by("ds").agg(pl.col("mean").sum())
    np.testing.assert_allclose(np.sort(total), np.sort(parts["mean"].to_numpy()))


def test_quarterly_frequency():
    frame = panel(n_months=36).with_columns(pl.col("month").dt.truncate("1q"))
    result = forecast(frame, hierarchy=HIERARCHY, date_col="month", freq="1q", horizon=4)
    dates = result.forecasts["ds"].unique().sort().to_list()
    assert dates == [dt.date(2024, 1, 1), dt.date(2024, 4, 1), dt.date(2024, 7, 1),
                     dt.date(2024, 10, 1)]  # fmt: skip
    assert_coherent(result.forecasts)


def test_quarterly_seasonal_naive_repeats_the_last_year():
    frame = pl.DataFrame(
        {
            "unique_id": ["x"] * 8,
            "ds": pl.date_range(dt.date(2022, 1, 1), dt.date(2023, 10, 1), "1q", eager=True),
            "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        }
    )
    f = forecast(frame, freq="1q", horizon=4, models=("seasonal_naive",)).forecasts
    assert f["mean"].to_list() == [5.0, 6.0, 7.0, 8.0]


def test_interval_error_paths_are_coherent():
    keys = pl.DataFrame({"o": ["a", "a", "b"], "h": ["1", "2", "3"]})
    hier = build_hierarchy(keys, HierarchySpec(nested=("o", "h")))
    rng = np.random.default_rng(2)
    residuals = rng.normal(0, 1, (3, 10))
    residuals[2, :4] = np.nan  # a series that started late
    errors = filled_errors(residuals)
    scale = np.ones((3, 2)) * [1.0, 1.5]
    paths = coherent_error_paths(errors, scale, hier.S, 1)
    np.testing.assert_allclose(paths[0], paths[-3:].sum(axis=0))  # total = all hromadas
    np.testing.assert_allclose(paths[1], paths[-3] + paths[-2])  # oblast a
    assert not np.isnan(errors).any()


def test_drivers_multiply_the_intended_nodes_only_and_keep_coherence():
    frame = panel()
    plain = forecast(frame, hierarchy=HIERARCHY, date_col="month").forecasts
    driver = Driver(name="idp", factor=1.15, where={"oblast": ["B"]}, start=dt.date(2024, 3, 1))
    decline = Driver(name="decline", annual_rate=-0.12, where={"service": ["020.0"]})
    result = forecast(frame, hierarchy=HIERARCHY, date_col="month", drivers=[driver, decline])
    scenario = result.forecasts
    assert_coherent(scenario, ("mean", *BOUNDS)[:1])
    joined = plain.join(scenario, on=["unique_id", "ds"], suffix="_s")
    bottom = joined.filter(pl.col("level") == "hromada/service")
    ratio = (bottom["mean_s"] / bottom["mean"]).fill_nan(1.0).to_numpy()
    month_index = (bottom["ds"].dt.month() - 1).to_numpy()  # forecast periods are Jan..Dec 2024
    expected = np.where(
        (bottom["oblast"] == "B").to_numpy() & (bottom["ds"] >= dt.date(2024, 3, 1)).to_numpy(),
        1.15,
        1.0,
    ) * np.where((bottom["service"] == "020.0").to_numpy(), 0.88 ** (month_index / 12), 1.0)
    ok = bottom["mean"].to_numpy() > 0
    np.testing.assert_allclose(ratio[ok], expected[ok], rtol=1e-9)
    untouched = joined.filter(
        (pl.col("level") == "oblast") & (pl.col("oblast") == "A") & (pl.col("group").is_null())
    )
    assert untouched.height == 12
    summary = result.drivers
    assert summary["driver"].to_list() == ["idp", "decline"]
    assert summary["series"].to_list() == [9, 6]


def test_driver_on_an_unknown_column_is_a_config_error():
    bad = Driver(name="x", factor=2.0, where={"region": ["A"]})
    with pytest.raises(ConfigError, match="region"):
        forecast(panel(), hierarchy=HIERARCHY, date_col="month", drivers=[bad])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"models": ("prophet",)}, ConfigError, "unknown forecast model"),
        ({"reconcile": "magic"}, ConfigError, "reconciliation"),
        ({"horizon": 0}, ConfigError, "horizon"),
        ({"levels": (80, 120)}, ConfigError, "interval level"),
        ({"value_col": "cases"}, InputFileError, "cases"),
        ({"freq": "fortnight"}, ConfigError, "frequency"),
    ],
)
def test_bad_arguments_fail_clearly(kwargs, error, match):
    with pytest.raises(error, match=match):
        forecast(panel(), **{"hierarchy": HIERARCHY, "date_col": "month", **kwargs})


def test_negative_counts_are_refused():
    frame = panel().with_columns(pl.when(pl.col("y") > 3).then(-1.0).otherwise("y").alias("y"))
    with pytest.raises(ConfigError, match="negative"):
        forecast(frame, hierarchy=HIERARCHY, date_col="month")


def test_forecast_configurations_load(repo_root):
    base = load_forecast_config(repo_root / "models/forecast/default.yaml")
    scenario = load_forecast_config(repo_root / "models/forecast/idp_west.yaml")
    assert base.reconcile == "auto" and base.horizon == 12 and not base.drivers
    assert scenario.hierarchy == base.hierarchy
    assert [d.name for d in scenario.drivers] == ["idp_inflow_west", "population_decline"]
    assert scenario.drivers[0].factor == 1.15


def test_unknown_config_key_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("horizon: 12\nreconsile: ols\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_forecast_config(path)
    assert "line 2" in str(info.value) and "reconsile" in str(info.value)


def test_a_driver_without_where_reaches_every_series():
    decline = Driver(name="decline", annual_rate=-0.5, start=dt.date(2024, 1, 1))
    result = forecast(panel(), hierarchy=HIERARCHY, date_col="month", drivers=[decline])
    assert result.drivers["series"].to_list() == [18]
    assert result.drivers["min_factor"][0] == pytest.approx(0.5 ** (11 / 12))
    assert_coherent(result.forecasts)
