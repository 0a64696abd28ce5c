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
        registry=registry,
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


def _spec_copy(
    tmp: Path, name: str, steps: str, *, replace: tuple[tuple[str, str], ...] = ()
) -> Path:
    """A copy of a spec of `pipelines/` that runs only `steps` (paths stay the project's)."""
    text = (REPO / "pipelines" / f"{name}.yaml").read_text(encoding="utf-8")
    lines = [f"steps: {steps}" if line.startswith("steps:") else line for line in text.splitlines()]
    text = "\n".join(lines) + "\n"
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp / "pipelines" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"root: {REPO}\n{text}", encoding="utf-8")
    return path


def _published(store: Path, spec: str, table: str) -> pl.DataFrame:
    from engine.store import Store

    out = Store(store)
    return out.table(table, run_id=out.manifest("latest", spec=spec).run_id).drop("run_id")


def test_the_nightly_forecast_is_forecast_need_with_the_specs_config(tmp_path):
    import dataclasses

    from engine.cli import main
    from engine.dates import add_months
    from engine.demand import last_complete_month

    spec_path = _spec_copy(tmp_path, "nightly", "[validate, forecast]")
    store = tmp_path / "mfr.duckdb"
    assert main(["run", str(spec_path), "--store", str(store)]) == 0
    published = _published(store, "nightly", "forecast")

    spec = engine.load_spec(spec_path)
    territories, services = engine.load_territories(), engine.load_services()
    registry = engine.read_registry(
        spec.extract, territories=territories, services_catalogue=services
    )
    model = engine.load_funding_model(spec.funding_model, spec.scenario, services=services)
    last = last_complete_month(registry.extract_date)
    window = (add_months(last, 1 - spec.history_months), last)
    assert spec.forecast is not None
    config = dataclasses.replace(
        engine.load_forecast_config(spec.forecast),
        history_months=spec.history_months,
        horizon=spec.horizon,
        backtest_windows=spec.backtest_windows,
    )
    need = engine.forecast_need(
        engine.compute_entitlements(registry, model, territories, months=window),
        config,
        extract_date=registry.extract_date,
        territories=territories,
        services=services,
        model=model,
    )
    keys = ["unique_id", "ds"]
    assert_frame_equal(
        published.select(need.forecasts.columns).sort(keys),
        need.forecasts.sort(keys),
        check_exact=True,
        check_dtypes=False,
    )


def _planning_cells(out: Path) -> Path:
    """Notebook 04's set-up cell and its planning section, as a script (the other sections are
    the entitlement-year allocation and the scenario, not the plan)."""
    text = (REPO / "notebooks" / "04_allocation_and_scenario.py").read_text(encoding="utf-8")
    setup = text[: text.index("# %% [markdown]\n# ## Claims and the policy")]
    start = text.index("# %% [markdown]\n# ## Planning 2027")
    end = text.index("# %% [markdown]\n# ## The report")
    script = out / "04_planning.py"
    script.write_text(setup + text[start:end], encoding="utf-8")
    return script


def test_notebook_04_rebuilds_the_planning_allocation(tmp_path):
    from engine.cli import main

    spec_path = _spec_copy(tmp_path, "planning-2027", "[validate, forecast, price, allocate]")
    store = tmp_path / "mfr.duckdb"
    assert main(["run", str(spec_path), "--store", str(store)]) == 0
    notebook = tmp_path / "notebook"
    _run(
        [sys.executable, str(_planning_cells(tmp_path))],
        cwd=REPO / "notebooks",
        env={"MFR_NOTEBOOK_OUT": str(notebook)},
    )
    keys = ["hromada_code", "service_code", "month", "need_level"]
    for table, file in (
        ("forecast_need", "04_planning_need"),
        ("allocations", "04_planning_allocations"),
    ):
        rebuilt = pl.read_parquet(notebook / f"{file}.parquet")
        published = _published(store, "planning-2027", table)
        common = [c for c in rebuilt.columns if c in published.columns]
        assert {"need_uah", "need_level"} <= set(common), table
        if table == "allocations":
            assert "allocated_uah" in common
        # the store keeps money exact: a float amount is rounded once to kopiyky, half away from zero
        money = [c for c in common if isinstance(published.schema[c], pl.Decimal)]
        rebuilt = rebuilt.with_columns(
            pl.col(c).round(2, mode="half_away_from_zero").cast(published.schema[c]) for c in money
        )
        assert_frame_equal(
            published.select(common).sort(keys),
            rebuilt.select(common).sort(keys),
            check_exact=True,
            check_dtypes=False,
        )
