"""Dated driver series: a known scaling series moves the forecast exactly; bad files are one-line
errors naming file, line and column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from forecast_helpers import HIERARCHY, panel

from engine.errors import ConfigError
from engine.forecasting import forecast, load_forecast_config
from engine.forecasting._driver_series import driver_factors, read_driver_series
from engine.forecasting._drivers import parse_drivers

REPO = Path(__file__).resolve().parents[2]
KW = {"date_col": "month", "value_col": "y", "horizon": 4, "models": ("ets",)}
BASE = dt.date(2023, 12, 1)  # the panel's last month


def _csv(tmp_path: Path, text: str, name: str = "series.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


SERIES = """oblast,month,value
A,2023-11,90
A,2023-12,100
A,2024-01,110
A,2024-02,121
A,2024-03,125
A,2024-04,80
"""


def test_a_scaling_series_moves_the_forecast_exactly(tmp_path):
    frame = panel(36)
    path = _csv(tmp_path, SERIES)
    drivers = parse_drivers([{"name": "pop", "series": str(path)}])
    plain = forecast(frame, hierarchy=HIERARCHY, reconcile="bottom_up", **KW).forecasts
    scaled = forecast(frame, hierarchy=HIERARCHY, reconcile="bottom_up", drivers=drivers, **KW)
    factor = {dt.date(2024, 1, 1): 1.1, dt.date(2024, 2, 1): 1.21, dt.date(2024, 3, 1): 1.25,
              dt.date(2024, 4, 1): 0.8}  # fmt: skip
    bottom = "hromada/service"
    joined = plain.join(scaled.forecasts, on=["unique_id", "ds"], suffix="_s").filter(
        pl.col("level") == bottom
    )
    expected = joined.with_columns(
        pl.when(pl.col("oblast") == "A")
        .then(pl.col("ds").replace_strict(factor, return_dtype=pl.Float64))
        .otherwise(1.0)
        .alias("_f")
    )
    np.testing.assert_allclose(expected["mean_s"], expected["mean"] * expected["_f"], rtol=1e-12)
    np.testing.assert_allclose(expected["hi_80_s"], expected["hi_80"] * expected["_f"], rtol=1e-12)
    # aggregates are re-summed: the total moves by A's share exactly
    fc = scaled.forecasts
    total = fc.filter(pl.col("level") == "total").sort("ds")["mean"]
    summed = fc.filter(pl.col("level") == bottom).group_by("ds").agg(pl.col("mean").sum())
    np.testing.assert_allclose(total, summed.sort("ds")["mean"], rtol=1e-12)
    summary = scaled.drivers.row(0, named=True)
    assert summary["series"] == 9 and summary["min_factor"] == 0.8
    assert summary["max_factor"] == 1.25


def test_an_elasticity_is_a_log_linear_regressor(tmp_path):
    path = _csv(tmp_path, SERIES)
    series = read_driver_series(path)
    bottom = pl.DataFrame({"oblast": ["A", "B"], "service": ["s", "s"]})
    dates = pl.Series([dt.date(2024, 1, 1), dt.date(2024, 2, 1)])
    factors, covered = driver_factors(series, bottom, dates, elasticity=0.5)
    np.testing.assert_allclose(factors, [[1.1**0.5, 1.21**0.5], [1.0, 1.0]], rtol=1e-12)
    assert covered.tolist() == [True, False]


def _error(call) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        call()
    assert "\n" not in str(info.value)
    return info.value


def test_a_missing_month_names_file_line_and_column(tmp_path):
    path = _csv(tmp_path, SERIES.replace("A,2024-02,121\n", ""))
    error = _error(lambda: read_driver_series(path))
    assert (error.path, error.line, error.column) == (path, 5, "month")
    assert "2024-02 is missing for oblast=A" in str(error)
    assert str(error).startswith(f"{path}, line 5, column 'month': ")


def test_an_unknown_territory_names_file_line_and_column(tmp_path):
    lviv = "UA46000000000026241"
    text = f"oblast_code,month,value\n{lviv},2026-10,1\n{lviv},2026-11,1\nUA99999999999999999,2026-10,2\n"
    error = _error(lambda: read_driver_series(_csv(tmp_path, text)))
    assert (error.line, error.column) == (4, "oblast_code")
    assert "unknown oblast_code 'UA99999999999999999'" in str(error)


def test_a_bad_value_names_its_line(tmp_path):
    error = _error(lambda: read_driver_series(_csv(tmp_path, SERIES.replace("110", "-3"))))
    assert (error.line, error.column) == (4, "value")


def test_a_series_short_of_the_horizon_names_its_last_line(tmp_path):
    series = read_driver_series(_csv(tmp_path, SERIES))
    bottom = pl.DataFrame({"oblast": ["A"], "service": ["s"]})
    dates = pl.Series([dt.date(2024, m, 1) for m in range(1, 6)])
    error = _error(lambda: driver_factors(series, bottom, dates, name="pop"))
    assert (error.line, error.column) == (7, "month")
    assert "ends 2024-04" in str(error) and "to 2024-05" in str(error)


def test_a_series_column_outside_the_hierarchy_is_named(tmp_path):
    series = read_driver_series(_csv(tmp_path, SERIES.replace("oblast,", "region,")))
    bottom = pl.DataFrame({"oblast": ["A"], "service": ["s"]})
    error = _error(lambda: driver_factors(series, bottom, pl.Series([dt.date(2024, 1, 1)])))
    assert error.column == "region"


def test_the_example_configuration_scales_its_oblasts_by_its_table():
    config = load_forecast_config(REPO / "models" / "forecast" / "population_projection.yaml")
    (driver,) = config.drivers
    assert driver.series is not None and driver.series.keys == ("oblast_code",)
    table = pl.read_csv(REPO / "models" / "forecast" / "drivers" / "population_oblast.csv")
    lviv = "UA46000000000026241"
    values = dict(table.filter(pl.col("oblast_code") == lviv).select("month", "value").iter_rows())
    bottom = pl.DataFrame(
        {"oblast_code": [lviv, "UA05000000000010236"], "service_code": ["015.1"] * 2}
    )
    dates = pl.Series([dt.date(2026, 11, 1), dt.date(2027, 10, 1)])
    factors, _ = driver_factors(driver.series, bottom, dates)
    expected = [values["2026-11"] / values["2026-10"], values["2027-10"] / values["2026-10"]]
    np.testing.assert_allclose(factors[0], expected, rtol=1e-12)
    assert factors[1].tolist() == [1.0, 1.0]  # Vinnytsia is not in the table
