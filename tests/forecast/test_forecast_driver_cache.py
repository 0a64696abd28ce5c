"""A driver series file is an input of the forecast: changing its CSV gives the forecast a new
cache key, so a cached forecast is not reused (the configuration file itself is unchanged)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from engine.forecasting import driver_series_files
from engine.pipeline import load_spec, plan_run

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "models" / "forecast" / "population_projection.yaml"


def test_driver_series_files_lists_the_csvs_a_configuration_reads() -> None:
    files = driver_series_files(CONFIG)
    assert [p.name for p in files] == ["population_oblast.csv"]
    assert all(p.is_file() for p in files)
    assert driver_series_files(REPO / "models" / "forecast" / "default.yaml") == ()


def test_a_changed_driver_csv_invalidates_the_cached_forecast(tmp_path: Path) -> None:
    folder = tmp_path / "forecast"
    shutil.copytree(CONFIG.parent, folder)  # the configuration, what it extends, its drivers
    config = folder / CONFIG.name
    spec = load_spec(REPO / "pipelines" / "nightly.yaml").with_overrides(
        store=tmp_path / "mfr.duckdb"
    )
    spec = dataclasses.replace(spec, forecast=config)

    def keys() -> dict[str, str]:
        plan = plan_run(spec, accept_quarantine=True)
        return {n: plan.keys[n] for n in ("forecast_config", "forecast", "allocate")}

    before = keys()
    assert keys() == before  # the same files: the same keys
    (csv,) = driver_series_files(config)
    lines = csv.read_text(encoding="utf-8").splitlines(keepends=True)
    head, *rows = lines
    last = rows[-1].rstrip("\n").split(",")
    last[-1] = str(float(last[-1]) * 1.01)  # one value of the projection changed
    csv.write_text("".join([head, *rows[:-1], ",".join(last) + "\n"]), encoding="utf-8")
    after = keys()
    assert after["forecast"] != before["forecast"]
    assert after["forecast_config"] != before["forecast_config"]
