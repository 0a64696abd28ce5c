"""Forecast benchmark: a hromada × service sized panel, fitted, forecast and reconciled at once,
beside statsforecast's AutoETS on a sample of the same series.

The panel imitates the registry's case-months: per hromada × service, the number of open cases
follows a birth–death process (cases persist for months, new ones arrive with a yearly cycle and a
drift), and most series are small counts, many of them intermittent. Territories are synthetic codes
shaped like KATOTTG (27 regions, ~5 raions each), 25 services in 8 groups.

Workloads (each run by `engine.bench.run_isolated` in a fresh process):

- `setup_engine`: `forecast()` of the whole panel — every node of oblast > raion > hromada crossed
  with service group > service, 12 months, MinT-shrink, intervals;
- `setup_autoets`: statsforecast's AutoETS (season 12) on `size` series sampled from the panel;
  the note scales its time to the whole panel;
- `setup_accuracy`: the last 12 months held out, on the same sample: MASE of the engine's base
  forecasts (each series on its own, `models=("auto",)`) and of AutoETS.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from engine.bench import BenchResult, run_isolated

__all__ = [
    "HIERARCHY",
    "run",
    "setup_accuracy",
    "setup_autoets",
    "setup_engine",
    "synthetic_panel",
]

HIERARCHY = {
    "nested": ["oblast_code", "raion_code", "hromada_code"],
    "crossed": [["service_group", "service_code"]],
}
PANEL_SERIES = 40_000
MONTHS = 60
HOLDOUT = 12
_SERVICES = 25
_GROUPS = 8


def synthetic_panel(n_series: int = PANEL_SERIES, n_months: int = MONTHS, seed: int = 0) -> pl.DataFrame:
    """Monthly case-months per hromada × service (long format, bottom level only)."""
    rng = np.random.default_rng(seed)
    n_hromadas = max(1, n_series // _SERVICES)
    oblast = rng.integers(0, 27, n_hromadas)
    raion = oblast * 10 + rng.integers(0, 5, n_hromadas)
    size = rng.lognormal(0.0, 1.0, n_hromadas)  # hromada population, relative
    popularity = rng.lognormal(-0.5, 1.0, _SERVICES)  # service take-up, relative
    h = np.repeat(np.arange(n_hromadas), _SERVICES)
    s = np.tile(np.arange(_SERVICES), n_hromadas)
    n = h.size
    steady = size[h] * popularity[s] * rng.gamma(1.0, 1.0, n)  # mean open cases
    exit_rate = rng.uniform(0.05, 0.3, n)
    phase = rng.uniform(0, 2 * np.pi, _SERVICES)[s]
    amplitude = rng.uniform(0.0, 0.4, n)
    drift = rng.normal(0.0, 0.01, n)
    t = np.arange(n_months)
    arrivals = (
        steady[:, None] * exit_rate[:, None]
        * (1.0 + amplitude[:, None] * np.sin(2 * np.pi * t[None, :] / 12 + phase[:, None]))
        * np.exp(drift[:, None] * t[None, :])
    )  # fmt: skip
    open_cases = rng.poisson(steady)
    y = np.empty((n, n_months))
    for k in range(n_months):  # a month's case-months: cases staying all month, new ones part of it
        stay = rng.binomial(open_cases, 1.0 - exit_rate)
        new = rng.poisson(arrivals[:, k])
        y[:, k] = stay + 0.5 * (open_cases - stay) + new * rng.uniform(0.2, 1.0, n)
        open_cases = stay + new
    series = pl.DataFrame({"h": h, "s": s, "o": oblast[h], "r": raion[h]}).select(
        pl.format("UA{}", pl.col("o").cast(pl.String).str.zfill(2)).alias("oblast_code"),
        pl.format("UA{}", pl.col("r").cast(pl.String).str.zfill(4)).alias("raion_code"),
        pl.format("UA{}", pl.col("h").cast(pl.String).str.zfill(6)).alias("hromada_code"),
        pl.format("G{}", (pl.col("s") % _GROUPS).cast(pl.String)).alias("service_group"),
        pl.format("{}.1", pl.col("s").cast(pl.String).str.zfill(3)).alias("service_code"),
    )
    months = pl.DataFrame(
        {"month": pl.date_range(dt.date(2021, 1, 1), dt.date(2021, 1, 1), "1mo", eager=True)}
    ).select(pl.col("month").dt.offset_by(pl.Series([f"{k}mo" for k in range(n_months)])))
    return series.join(months, how="cross").with_columns(
        case_months=pl.Series(np.round(y, 2).ravel())
    )
