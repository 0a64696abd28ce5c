"""The nightly's forecast backtests once: `reconcile: auto` takes its method from the
configuration's own backtest (the same origins and candidate methods) instead of running a
second one inside `forecast`, and the forecast is exactly what `forecast(reconcile="auto")` makes.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def priced(tmp_path_factory: pytest.TempPathFactory):
    import engine
    from engine.synth import generate_registry
    from engine.synth.write import write_extract

    folder = tmp_path_factory.mktemp("backtest_once") / "extract"
    write_extract(generate_registry(300, seed=5), folder, "parquet")
    registry = engine.read_registry(folder)
    model = engine.load_funding_model(REPO / "models/funding/baseline")
    return registry, model, engine.compute_entitlements(registry, model, engine.load_territories())


def _config(**changes):
    import engine

    config = engine.load_forecast_config(REPO / "models/forecast/default.yaml")
    return dataclasses.replace(config, history_months=36, horizon=12, **changes)


def _counted_backtests(monkeypatch: pytest.MonkeyPatch) -> Counter:
    import engine.forecasting
    import engine.forecasting._backtest as module

    calls: Counter = Counter()
    original = module.backtest

    def counted(*args, **kwargs):
        calls["backtest"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "backtest", counted)
    monkeypatch.setattr(engine.forecasting, "backtest", counted)
    return calls


def test_auto_reconciliation_reuses_the_configurations_backtest(
    priced, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.demand import forecast_need
    from engine.forecasting import forecast

    registry, model, result = priced
    config = _config()
    assert config.reconcile == "auto" and config.backtest_windows == 2
    calls = _counted_backtests(monkeypatch)
    need = forecast_need(result, config, extract_date=registry.extract_date, model=model)
    assert calls["backtest"] == 1  # two before: the configuration's and auto's own
    # the same forecast as forecast()'s own auto backtest gives, to the bit
    alone = forecast(
        need.history, **config.forecast_kwargs(), date_col="month", value_col=config.target
    )
    assert calls["backtest"] == 2
    assert_frame_equal(
        need.forecasts.drop("target"), alone.forecasts, check_exact=True, check_dtypes=True
    )
    assert_frame_equal(need.models, alone.models, check_exact=True)
    assert need.result.reconciliation == alone.reconciliation
    assert need.result.reconciliation.requested == "auto"
    assert str(need.result.reconciliation.reason).startswith("auto: lowest backtest")


@pytest.mark.parametrize(
    "changes",
    [{"backtest_windows": 3}, {"backtest_methods": ("base", "bottom_up")}],
    ids=["other origins", "candidates missing"],
)
def test_a_backtest_unlike_autos_leaves_auto_its_own(
    priced, monkeypatch: pytest.MonkeyPatch, changes: dict
) -> None:
    from engine.demand import forecast_need

    registry, _model, result = priced
    calls = _counted_backtests(monkeypatch)
    need = forecast_need(result, _config(**changes), extract_date=registry.extract_date)
    assert calls["backtest"] == 2
    assert need.result.reconciliation.requested == "auto"
