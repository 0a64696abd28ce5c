"""`reconcile="auto"` fits the bottom series while its backtest runs and, for a method that
reconciles every node, adds the aggregates' fit to it: the forecast is bit for bit the one a
named method gives (which fits every node at once after no backtest)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import pytest

from engine.forecasting import _api, forecast

HIERARCHY = {"nested": ["region", "town"], "crossed": [["service"]]}


def _frame(seed: int, trend: float, amplitude: float = 0.3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    months = pl.date_range(dt.date(2022, 1, 1), dt.date(2025, 12, 1), "1mo", eager=True)
    t = np.arange(months.len())
    rows = []
    for r in range(3):
        for k in range(4):
            town = f"T{r}{k}"
            for s, service in enumerate(("care", "day", "home")):
                level = rng.uniform(5, 60)
                season = 1 + amplitude * np.sin(2 * np.pi * (t + s) / 12)
                y = level * season * (1 + trend * t) * rng.gamma(30, 1 / 30, size=t.size)
                if (r + k + s) % 4 == 0:  # an intermittent one
                    y = y * (rng.random(t.size) < 0.35)
                rows.append(pl.DataFrame({
                    "region": f"R{r}", "town": town, "service": service, "ds": months,
                    "y": np.round(y, 1),
                }))  # fmt: skip
    return pl.concat(rows)


@pytest.mark.parametrize(
    ("seed", "trend", "amplitude", "refit"),
    [(1, 0.0, 0.0, False), (2, 0.02, 0.0, False), (7, -0.01, 0.3, True), (2, 0.02, 0.3, True)],
)
def test_auto_gives_the_named_methods_forecast(
    seed: int, trend: float, amplitude: float, refit: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _frame(seed, trend, amplitude)
    calls: list[bool] = []
    fit_nodes = _api.fit_nodes

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["all_nodes"])
        return fit_nodes(*args, **kwargs)

    monkeypatch.setattr(_api, "fit_nodes", counted)
    auto = forecast(frame, hierarchy=HIERARCHY, horizon=6, reconcile="auto")
    monkeypatch.undo()
    # the bottom series fitted once; all nodes again only where a simulated model is in both parts
    assert calls == [False, True] if refit else calls == [False]
    method = auto.reconciliation.method
    # auto's bands are calibrated on its backtest; the named method's, asked to, on its own
    # two-origin backtest of that one method: the same origins, fits and bands
    named = forecast(frame, hierarchy=HIERARCHY, horizon=6, reconcile=method, calibrate=True)
    assert auto.reconciliation.requested == "auto"
    assert method != "bottom_up"  # a method reconciling every node's own fit
    assert auto.forecasts.equals(named.forecasts)
    assert auto.models.equals(named.models)
