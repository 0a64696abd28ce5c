"""Forecast benchmark: a hromada × service sized panel, fitted, forecast and reconciled at once,
beside statsforecast's AutoETS on a sample of the same series.

The panel imitates the registry's case-months: per hromada × service, the number of open cases
follows a birth–death process (cases persist for months, new ones arrive with a yearly cycle and a
drift), and most series are small counts, many of them intermittent. Territories are synthetic codes
shaped like KATOTTG (27 regions, ~5 raions each), 25 services in 8 groups.

Workloads (each run by `engine.bench.run_isolated` in a fresh process):

- `setup_engine`: `forecast()` of the whole panel — every node of oblast > raion > hromada crossed
  with service group > service, 12 months, MinT-shrink, intervals;
- `setup_autoets`: statsforecast's AutoETS (season 12) on `size` series sampled from the panel,
  the last 12 months held out; the note gives both its and the engine's holdout MASE on that
  sample (the engine's base models, each series on its own), and `run` scales its time to the
  whole panel.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from engine.bench import BenchResult, run_isolated

__all__ = [
    "HIERARCHY",
    "run",
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


def synthetic_panel(
    n_series: int = PANEL_SERIES, n_months: int = MONTHS, seed: int = 0
) -> pl.DataFrame:
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
        steady[:, None]
        * exit_rate[:, None]
        * (1.0 + amplitude[:, None] * np.sin(2 * np.pi * t[None, :] / 12 + phase[:, None]))
        * np.exp(drift[:, None] * t[None, :])
    )
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
    ).select(pl.col("month").dt.offset_by(pl.lit(pl.Series([f"{k}mo" for k in range(n_months)]))))
    return series.join(months, how="cross").with_columns(
        case_months=pl.Series(np.round(y, 2).ravel())
    )


def _sample_ids(panel: pl.DataFrame, size: int, seed: int) -> pl.DataFrame:
    keys = (
        panel.select("hromada_code", "service_code").unique().sort("hromada_code", "service_code")
    )
    return keys.sample(n=min(size, keys.height), seed=seed, shuffle=True)


def _long(panel: pl.DataFrame) -> pl.DataFrame:
    """statsforecast's long format: unique_id, ds, y."""
    return panel.select(
        pl.format("{}/{}", "hromada_code", "service_code").alias("unique_id"),
        pl.col("month").alias("ds"),
        pl.col("case_months").alias("y"),
    )


def setup_engine(size: int, seed: int) -> Callable[[], str]:
    """The whole panel: fit every node, forecast 12 months, reconcile (MinT-shrink), intervals."""
    from engine.forecasting import forecast

    panel = synthetic_panel(size, MONTHS, seed)

    def work() -> str:
        result = forecast(
            panel, hierarchy=HIERARCHY, date_col="month", value_col="case_months", horizon=12
        )
        info = result.reconciliation
        nodes = result.hierarchy.n_nodes
        return (
            f"{nodes} nodes ({result.hierarchy.n_bottom} bottom) × {MONTHS} months; "
            f"{info.method}, λ={info.shrinkage or 0:.2f}, {info.iterations} CG iterations, "
            f"{info.clipped_negative} bottom values held at 0"
        )

    return work


def _holdout_mase(forecasts: np.ndarray, actual: np.ndarray) -> tuple[float, int]:
    from engine.forecasting._backtest import scaled_errors

    mase, _ = scaled_errors(actual[:, -HOLDOUT:], forecasts, actual[:, :-HOLDOUT], 12)
    return float(np.nanmean(mase)), int(np.isnan(mase).sum())


def setup_autoets(size: int, seed: int) -> Callable[[], str]:
    """statsforecast AutoETS (season 12) on `size` series sampled from the panel, fitted on all but
    the last 12 months and forecasting them; the note compares its holdout MASE with the engine's
    (base models, each series on its own, computed here in the setup, untimed)."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    from engine.forecasting import forecast

    panel = synthetic_panel(PANEL_SERIES, MONTHS, seed)
    sample = _long(panel.join(_sample_ids(panel, size, seed), on=["hromada_code", "service_code"]))
    sample = sample.sort("unique_id", "ds")
    cutoff = sample["ds"].unique().sort()[MONTHS - HOLDOUT - 1]
    train = sample.filter(pl.col("ds") <= cutoff)
    n_series = sample["unique_id"].n_unique()
    actual = sample["y"].to_numpy().reshape(n_series, MONTHS)
    ours = forecast(train, horizon=HOLDOUT).forecasts.sort("unique_id", "ds")
    ours_mase, unscaled = _holdout_mase(ours["mean"].to_numpy().reshape(n_series, HOLDOUT), actual)
    frame = train.to_pandas()

    def work() -> str:
        sf = StatsForecast(models=[AutoETS(season_length=12)], freq="MS", n_jobs=1)
        theirs = pl.from_pandas(sf.forecast(df=frame, h=HOLDOUT)).sort("unique_id", "ds")
        theirs_mase, _ = _holdout_mase(
            theirs["AutoETS"].to_numpy().reshape(n_series, HOLDOUT), actual
        )
        return (
            f"{n_series} series × {MONTHS - HOLDOUT} months; holdout MASE (12 months, "
            f"{n_series - unscaled} series with a scale): AutoETS {theirs_mase:.3f}, "
            f"engine {ours_mase:.3f}"
        )

    return work


def run(
    sizes: Sequence[int] | None = None, *, quick: bool = False, seed: int = 0, sample: int = 200
) -> list[BenchResult]:
    """Engine on each panel size; AutoETS on a sample with its time scaled to the largest panel
    and the holdout accuracy of both on that sample. `quick`: 2,000 series, a 50-series sample."""
    if sizes is None:
        sizes = (2_000,) if quick else (PANEL_SERIES // 10, PANEL_SERIES)
    if quick:
        sample = min(sample, 50)
    results = [
        run_isolated(
            "engine.bench.forecast:setup_engine",
            area="forecast",
            case="engine",
            size=size,
            unit="series",
            seed=seed,
        )
        for size in sizes
    ]
    panel = max(sizes)
    theirs = run_isolated(
        "engine.bench.forecast:setup_autoets",
        area="forecast",
        case="statsforecast AutoETS",
        size=sample,
        unit="series",
        seed=seed,
    )
    scaled = theirs.seconds * panel / sample
    note = f"{theirs.note}; time scaled to {panel:,} series: {scaled:,.0f} s, no reconciliation"
    results.append(dataclasses.replace(theirs, note=note))
    return results
