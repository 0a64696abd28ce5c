"""One forecast path: `mfr forecast`, `forecast_need` and notebook 03 give identical numbers.

Each runs in its own process on the sample extract with `models/forecast/default.yaml`; the
forecasts (means and every interval bound), the priced need and the backtest must be equal bit for
bit — no tolerance. (The nightly's forecast node calls the same function; see
tests/pipeline for its own comparison.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import engine

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "models" / "forecast" / "default.yaml"
FRAMES = ("forecasts", "need", "backtest", "backtest_summary", "models", "demand")


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        args,
        check=False,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def three_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, pl.DataFrame]]:
    out = tmp_path_factory.mktemp("one_path")
    cli, notebook = out / "cli", out / "notebook"
    _run(
        [
            sys.executable, "-m", "engine", "forecast", str(REPO / "data_samples" / "registry"),
            "--model", str(REPO / "models" / "funding" / "baseline"), "--out", str(cli),
        ],
        cwd=out,  # outside the project: the CLI takes the default configuration shipped with it
    )  # fmt: skip
    _run(
        [sys.executable, "03_forecasting_need.py"],
        cwd=REPO / "notebooks",
        env={"MFR_NOTEBOOK_OUT": str(notebook)},
    )
    territories, services = engine.load_territories(), engine.load_services()
    registry = engine.read_registry(
        REPO / "data_samples" / "registry", territories=territories, services_catalogue=services
    )
    model = engine.load_funding_model(REPO / "models" / "funding" / "baseline", services=services)
    need = engine.forecast_need(
        engine.compute_entitlements(registry, model, territories),
        engine.load_forecast_config(CONFIG),
        extract_date=registry.extract_date,
        territories=territories,
        services=services,
        model=model,
    )
    return {
        "function": need.frames(),
        "cli": {name: pl.read_parquet(cli / f"{name}.parquet") for name in FRAMES},
        "notebook": {name: pl.read_parquet(notebook / f"03_{name}.parquet") for name in FRAMES},
    }


@pytest.mark.parametrize("name", FRAMES)
@pytest.mark.parametrize("path", ["cli", "notebook"])
def test_the_same_config_gives_the_same_numbers(three_paths, path, name):
    expected = three_paths["function"][name]
    assert_frame_equal(three_paths[path][name], expected, check_exact=True)


def test_what_was_forecast_is_need(three_paths):
    forecasts = three_paths["function"]["forecasts"]
    assert set(forecasts["target"]) == {"case_months_need"}
    need = three_paths["function"]["need"]
    assert {"case_months_need", "need_uah", "need_uah_lo_95", "need_uah_hi_95"} <= set(need.columns)
    assert need["need_uah"].sum() > 0
