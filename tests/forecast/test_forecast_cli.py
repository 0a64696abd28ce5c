"""`mfr forecast` end to end: a long-format file, and the sample registry extract."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from forecast_helpers import panel
from test_forecast_reconcile import assert_coherent

from engine.cli import main
from engine.errors import ExitCode

DATA = Path(__file__).parent / "data"


def test_series_file_end_to_end(tmp_path):
    source = tmp_path / "series.csv"
    panel().write_csv(source)
    out = tmp_path / "out"
    code = main(
        [
            "forecast", "--series", str(source), "--date-col", "month", "--value-col", "y",
            "--nested", "oblast,hromada", "--crossed", "group,service", "--horizon", "6",
            "--reconcile", "wls_struct", "--out", str(out),
        ]
    )  # fmt: skip
    assert code == ExitCode.OK
    names = {p.name for p in out.iterdir()}
    assert {"forecasts.parquet", "models.parquet", "backtest.parquet", "forecast.json"} <= names
    forecasts = pl.read_parquet(out / "forecasts.parquet")
    assert forecasts["service"].drop_nulls().unique().sort().to_list() == [
        "015.1",
        "016.0",
        "020.0",
    ]
    assert_coherent(forecasts)
    meta = json.loads((out / "forecast.json").read_text())
    assert meta["reconciliation"]["method"] == "wls_struct" and meta["horizon"] == 6
    assert not list(tmp_path.glob(".out.*"))  # no staging folder left behind


def test_bad_options_exit_with_bad_config(tmp_path, capsys):
    code = main(["forecast", "--series", "nowhere.csv", "--model", "x", "data", "--out", "o"])
    assert code == ExitCode.BAD_CONFIG
    assert "not both" in capsys.readouterr().err
    source = tmp_path / "s.csv"
    panel().write_csv(source)
    code = main(["forecast", "--series", str(source), "--reconcile", "magic", "--out", "o"])
    assert code == ExitCode.BAD_CONFIG


def test_sample_registry_end_to_end(tmp_path, sample_extract, repo_root):
    out = tmp_path / "forecast"
    code = main(
        [
            "forecast", str(sample_extract), "--model", str(repo_root / "models/funding/baseline"),
            "--config", str(DATA / "fast.yaml"), "--out", str(out),
        ]
    )  # fmt: skip
    assert code == ExitCode.OK
    forecasts = pl.read_parquet(out / "forecasts.parquet")
    assert forecasts["level"].n_unique() == 12
    assert forecasts["ds"].n_unique() == 6
    assert forecasts.select(pl.col("mean", "lo_95").min()).row(0) >= (0.0, 0.0)
    keys = ("oblast_code", "raion_code", "hromada_code", "service_group", "service_code")
    assert_coherent(forecasts)
    need = pl.read_parquet(out / "need.parquet")
    assert set(keys) | {"month", "need_uah", "price_uah"} <= set(need.columns)
    assert need["need_uah"].sum() > 0
    bottom = forecasts.filter(pl.col("level") == "hromada_code/service_code")
    assert need.height == bottom.height
    meta = json.loads((out / "forecast.json").read_text())
    assert meta["funding_model"]["name"] == "baseline"
    summary = pl.read_parquet(out / "backtest_summary.parquet")
    assert set(summary["method"]) == {"bottom_up", "mint_shrink", "naive"}


def test_a_bad_value_in_a_series_file_names_the_file_line_and_column(tmp_path, capsys):
    source = tmp_path / "series.csv"
    source.write_text("unique_id,ds,y\na,2024-01-01,1\na,2024-02-01,x\n", encoding="utf-8")
    code = main(["forecast", "--series", str(source), "--out", str(tmp_path / "o")])
    assert code == ExitCode.BAD_INPUT_FILE
    err = capsys.readouterr().err
    assert "series.csv, line 3, column 'y'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_a_series_file_is_no_count_unless_told(tmp_path):
    """A series file's values are the user's (visitor nights, amounts): no Poisson floor, even
    though the default configuration's target is a count; `--counts` asks for it."""
    source = tmp_path / "series.csv"
    # smooth small values: their residual bands are far narrower than Poisson's
    frame = panel().with_columns((pl.col("y") / 100).round(2))
    frame.write_csv(source)
    widths = {}
    for flag in ([], ["--counts"]):
        out = tmp_path / f"out{len(flag)}"
        code = main(
            [
                "forecast", "--series", str(source), "--date-col", "month", "--value-col", "y",
                "--nested", "oblast,hromada", "--horizon", "3", "--reconcile", "bottom_up",
                "--backtest-windows", "0", "--out", str(out), *flag,
            ]
        )  # fmt: skip
        assert code == ExitCode.OK
        bands = pl.read_parquet(out / "forecasts.parquet")
        widths[bool(flag)] = float((bands["hi_80"] - bands["lo_80"]).sum())
    assert widths[True] > widths[False] > 0
