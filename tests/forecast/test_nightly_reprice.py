"""The nightly's priced forecast follows every dated change of the funding model, as the API's
`forecast_need(..., registry=)` does: golden nightly-style case where a territorial coefficient
change dated in the horizon moves the nightly's priced need exactly as it moves the API's."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import engine
from engine.demand import forecast_need
from engine.demand._reprice import FACTOR_COLUMNS
from engine.forecasting import load_forecast_config
from engine.pipeline import _pricing, load_spec, run_pipeline

REPO = Path(__file__).resolve().parents[2]
CHANGE = dt.date(2027, 3, 1)  # in the nightly's horizon (history to 2026-10, forecast to 2027-10)


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from engine.synth import generate_registry
    from engine.synth.write import write_extract

    folder = tmp_path_factory.mktemp("reprice") / "extract"
    write_extract(generate_registry(400, seed=5), folder, "parquet")
    return folder


def _model_with_change(folder: Path, coefficient: float) -> Path:
    """The baseline funding model with the frontline coefficient changed from `CHANGE` on."""
    shutil.copytree(REPO / "models" / "funding" / "baseline", folder)
    path = folder / "territory_coef.yaml"
    text = path.read_text(encoding="utf-8")
    old = "  frontline:               # territories of active or possible hostilities\n"
    old += "    2024-01-01: 1.20\n"
    assert old in text
    path.write_text(
        text.replace(old, f"{old}    {CHANGE.isoformat()}: {coefficient:.2f}\n"), encoding="utf-8"
    )
    return folder


def _with_factors(monkeypatch: pytest.MonkeyPatch) -> None:
    """The priced history keeps the entitlement factors (the columns `_reprice` reads); a no-op
    once `engine.pipeline._pricing.HISTORY_COLUMNS` holds them itself."""
    wanted = (*FACTOR_COLUMNS, "recipient_id")
    missing = tuple(c for c in wanted if c not in _pricing.HISTORY_COLUMNS)
    monkeypatch.setattr(_pricing, "HISTORY_COLUMNS", (*_pricing.HISTORY_COLUMNS, *missing))


def _nightly(extract: Path, model: Path, store: Path) -> tuple[pl.DataFrame, list[str]]:
    spec = load_spec(REPO / "pipelines" / "nightly.yaml").with_overrides(
        extract=extract, store=store
    )
    spec = dataclasses.replace(spec, funding_model=model)
    result = run_pipeline(spec, progress=False, accept_quarantine=True)
    assert result.manifest.status == "succeeded"
    forecast = result.outputs["forecast"]
    return forecast.frames["need"], forecast.meta["history"]


def _api(extract: Path, model_path: Path, history: list[str]) -> pl.DataFrame:
    registry = engine.read_registry(extract)
    model = engine.load_funding_model(model_path)
    reference = REPO / "data_samples" / "reference"
    territories = engine.load_territories(reference / "territories.csv")
    first, last = (dt.date.fromisoformat(d) for d in history)
    priced = engine.compute_entitlements(registry, model, territories, months=(first, last))
    config = dataclasses.replace(
        load_forecast_config(REPO / "models" / "forecast" / "default.yaml"),
        history_months=36,
        horizon=12,
        backtest_windows=0,
    )
    need = forecast_need(
        priced,
        config,
        extract_date=registry.extract_date,
        territories=territories,
        services=engine.load_services(reference / "services.csv"),
        model=model,
        registry=registry,
    ).need
    assert need is not None
    return need


def test_a_coefficient_change_in_the_horizon_moves_the_nightly_as_the_api(
    tmp_path: Path, extract: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_factors(monkeypatch)
    same = _model_with_change(tmp_path / "same", 1.20)  # dated, but no change of value
    moved = _model_with_change(tmp_path / "moved", 1.50)
    before, history = _nightly(extract, same, tmp_path / "a" / "mfr.duckdb")
    after, _ = _nightly(extract, moved, tmp_path / "b" / "mfr.duckdb")

    api = _api(extract, moved, history)
    assert after.columns == api.columns
    keys = [c for c in after.columns if c.endswith("_code")] + ["month"]
    # The same numbers, keys and case-months exactly; prices and priced need to 1e-12 relative:
    # the repricing sums float volumes in polars' parallel group-by, whose order of addition
    # follows the threads (seen: 22 of 3,084 prices 4.5e-13 UAH apart, in one run of three)
    assert_frame_equal(
        after.sort(keys), api.sort(keys), check_exact=False, rel_tol=1e-12, abs_tol=0
    )
    assert (
        after.select(*keys, "case_months_need")
        .sort(keys)
        .equals(api.select(*keys, "case_months_need").sort(keys))
    )  # the forecast itself bit for bit

    joined = before.join(after, on=keys, suffix="_new")
    ratio = joined.with_columns((pl.col("price_uah_new") / pl.col("price_uah")).alias("r"))
    priced = ratio.filter(pl.col("price_uah") > 0)
    earlier, later = (
        priced.filter(pl.col("month") < CHANGE),
        priced.filter(pl.col("month") >= CHANGE),
    )
    assert earlier.height and later.height
    assert (earlier["r"] == 1.0).all()  # nothing moves before the change is dated
    assert later["r"].max() > 1.0  # frontline hromadas' price rises from the change on
    assert later["r"].max() <= 1.50 / 1.20 + 1e-9  # by at most the coefficient's ratio
