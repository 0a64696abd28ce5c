"""A nightly run prices each case-month once, and loads the reference data, the funding model and
the registry once: counted by wrapping the engine's own functions while the real nightly runs."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from engine.pipeline import load_spec, run_pipeline

REPO = Path(__file__).resolve().parents[2]


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    return pl.date_range(first, last, "1mo", eager=True).to_list()


@pytest.fixture(scope="module")
def tiny_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from engine.synth import generate_registry
    from engine.synth.write import write_extract

    folder = tmp_path_factory.mktemp("once") / "extract"
    write_extract(generate_registry(300, seed=11), folder, "parquet")
    return folder


def _counting(monkeypatch: pytest.MonkeyPatch, calls: Counter, priced: list) -> None:
    import engine.entitlements
    import engine.params
    import engine.reference
    import engine.registry

    def wrap(module, name: str, record=None) -> None:
        original = getattr(module, name)

        def counted(*args, **kwargs):
            calls[name] += 1
            result = original(*args, **kwargs)
            if record is not None:
                record(args, kwargs, result)
            return result

        monkeypatch.setattr(module, name, counted)

    def months_priced(args, kwargs, result) -> None:
        priced.extend(result.core.months)

    # every pricing, by the nightly's prepared registry or by compute_entitlements, is one call
    wrap(engine.entitlements, "price_months", months_priced)
    wrap(engine.params, "load_funding_model")
    wrap(engine.reference, "load_territories")
    wrap(engine.registry, "read_registry")


def test_the_nightly_prices_each_case_month_once(
    tmp_path: Path, tiny_extract: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: Counter = Counter()
    priced: list[dt.date] = []
    _counting(monkeypatch, calls, priced)
    spec = load_spec(REPO / "pipelines" / "nightly.yaml").with_overrides(
        extract=tiny_extract, store=tmp_path / "mfr.duckdb"
    )
    result = run_pipeline(spec, progress=False, accept_quarantine=True)
    assert result.manifest.status == "succeeded"

    extract = dt.date.fromisoformat(result.outputs["validate"].meta["extract_date"])
    history = result.outputs["forecast"].meta["history"]
    first_history, last_history = (dt.date.fromisoformat(d) for d in history)
    year = _months(dt.date(extract.year, 1, 1), dt.date(extract.year, 12, 1))
    needed = set(year) | set(_months(first_history, last_history))
    assert len(priced) == len(set(priced))  # no month priced twice
    assert set(priced) == needed  # and every month the run needs: the year and the history
    earlier = len(needed - set(year))  # history months before this year: a year at a time
    assert calls["price_months"] == 1 + -(-earlier // 12)
    assert calls["load_funding_model"] == 1
    assert calls["load_territories"] == 1
    assert calls["read_registry"] == 1

    # the published case-months are this year's only; the forecast learned from the history
    case_months = result.outputs["entitle"].frames["case_months"]
    assert case_months["month"].min() == year[0] and case_months["month"].max() == year[-1]
    forecast_history = result.outputs["forecast"].frames["history"]
    assert forecast_history["ds"].min() == first_history
    assert forecast_history["ds"].max() == last_history

    # a second night on a new policy: only the allocation (and the report) run, nothing is priced
    calls.clear()
    priced.clear()
    policy = tmp_path / "policy.yaml"
    policy.write_text(spec.policy.read_text() + "\n# tweaked\n")
    again = run_pipeline(replace(spec, policy=policy), progress=False, accept_quarantine=True)
    assert again.manifest.status == "succeeded" and not again.reused
    assert priced == [] and calls["read_registry"] == 0
    nodes = {n["node"]: n["action"] for n in again.manifest.outputs["nodes"]}
    assert nodes["entitle"] == nodes["forecast"] == nodes["need"] == "cached"
    assert nodes["allocate"] == "computed" and "priced" not in nodes

    # --only forecast: the forecast is made again from a pricing of the history alone
    calls.clear()
    priced.clear()
    only = run_pipeline(spec, progress=False, accept_quarantine=True, only="forecast")
    assert only.manifest.status == "succeeded" and not only.reused
    assert sorted(priced) == _months(first_history, last_history)
    nodes = {n["node"]: n["action"] for n in only.manifest.outputs["nodes"]}
    assert nodes["priced"] == nodes["forecast"] == "computed"
    assert nodes["entitle"] == nodes["need"] == nodes["allocate"] == "cached"


def test_dry_run_of_the_nightly_lists_its_nodes(tmp_path: Path) -> None:
    from _pipeline_fakes import run_mfr

    store = tmp_path / "mfr.duckdb"
    code, out, err = run_mfr(
        "run", str(REPO / "pipelines" / "nightly.yaml"), "--store", str(store), "--dry-run"
    )
    assert code == 0, err
    for name in (
        "reference",
        "registry",
        "model",
        "priced",
        "entitle",
        "forecast_config",
        "claims",
    ):
        assert f" {name} " in out
    assert (
        "Would publish: validate: quarantine, case_inputs, territory_status; "
        "entitle: case_months, rollups, flows, explained_amounts" in out
    )
    assert not tmp_path.joinpath("logs").exists() and not store.exists()


def test_the_nightly_forecast_is_forecast_need_with_the_specs_config(
    tmp_path: Path, tiny_extract: Path
) -> None:
    """The nightly's forecast node, from its one pricing, gives bit for bit what the public path
    (`engine.forecast_need` on `compute_entitlements` over the history months) gives with the
    spec's configuration and window."""
    from polars.testing import assert_frame_equal

    from engine.demand import forecast_need
    from engine.entitlements import compute_entitlements
    from engine.forecasting import load_forecast_config
    from engine.params import load_funding_model
    from engine.reference import load_services, load_territories
    from engine.registry import read_registry

    spec = load_spec(REPO / "pipelines" / "nightly.yaml").with_overrides(
        extract=tiny_extract, store=tmp_path / "mfr.duckdb"
    )
    run = run_pipeline(spec, progress=False, accept_quarantine=True).outputs["forecast"]

    territories, services = load_territories(), load_services()
    registry = read_registry(tiny_extract, territories=territories, services_catalogue=services)
    model = load_funding_model(spec.funding_model, services=services)
    first, last = (dt.date.fromisoformat(d) for d in run.meta["history"])
    assert spec.forecast is not None
    config = replace(
        load_forecast_config(spec.forecast),
        history_months=spec.history_months,
        horizon=spec.horizon,
        backtest_windows=spec.backtest_windows,
    )
    need = forecast_need(
        compute_entitlements(registry, model, territories, months=(first, last)),
        config,
        extract_date=registry.extract_date,
        territories=territories,
        services=services,
        model=model,
    )
    assert_frame_equal(run.frames["forecast"], need.forecasts, check_exact=True)
    assert_frame_equal(run.frames["models"], need.models, check_exact=True)
    assert need.need is not None
    assert_frame_equal(run.frames["need"], need.need, check_exact=True)
    history = run.frames["history"].rename({"ds": "month"}).drop("y")
    assert_frame_equal(history, need.history, check_exact=True)
