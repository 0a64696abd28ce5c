"""Fit base models once, reconcile many ways: the analyst API on statsforecast's and
hierarchicalforecast's conventions.

    >>> import datetime as dt
    >>> frame = pl.DataFrame({
    ...     "region": ["N"] * 24 + ["S"] * 24,
    ...     "ds": pl.date_range(dt.date(2023, 1, 1), dt.date(2024, 12, 1), "1mo", eager=True).extend(
    ...         pl.date_range(dt.date(2023, 1, 1), dt.date(2024, 12, 1), "1mo", eager=True)),
    ...     "y": [float(10 + i % 12) for i in range(24)] + [float(5 + i % 3) for i in range(24)],
    ... })
    >>> fitted = fit_hierarchy(frame, structure=[[], ["region"]], horizon=3,
    ...                        models=("seasonal_naive",))
    >>> table = fitted.reconcile(BottomUp(), MinTrace("ols"), levels=())
    >>> table.columns
    ['unique_id', 'ds', 'Base', 'Base/BottomUp', 'Base/MinTrace_method-ols']
    >>> # a year ago: north 10, 11 and south 20, 21
    >>> table.filter(pl.col("unique_id") == "total")["Base/BottomUp"].to_list()
    [15.0, 17.0, 19.0]

`fit_hierarchy` fits every node's base model (`_select`) once; `HierarchicalFit.reconcile` applies
any reconcilers (`_reconcilers`) to that one fit and returns hierarchicalforecast's wide frame
(`unique_id, ds, <alias>, <alias>/<reconciler>`, with `-lo-80`, `-hi-80`, ... for intervals);
`HierarchicalFit.reconciled` gives one method's full `ForecastResult`, the same as `forecast(...,
reconcile=method)`. `fitted_values()` and `residuals()` are statsforecast's in-sample frames.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from engine.errors import ConfigError
from engine.forecasting._api import ForecastResult, _forecast_frame, _model_report
from engine.forecasting._core import check_options, node_series, reconcile_and_bound
from engine.forecasting._drivers import Driver, driver_multipliers, parse_drivers
from engine.forecasting._hierarchy import TOTAL, Hierarchy
from engine.forecasting._panel import Panel, default_season_length, future_dates, to_panel
from engine.forecasting._reconcile import ReconcileInfo
from engine.forecasting._reconcilers import (
    BottomUp,
    MinTrace,
    Reconciler,
    TopDown,
    as_reconciler,
)
from engine.forecasting._select import BaseFit, fit_base, parse_models
from engine.forecasting._structure import Structure, as_structure, structure_hierarchy

__all__ = ["HierarchicalFit", "fit_hierarchy", "fit_on_panel", "prepare_structure"]


@dataclass(frozen=True, eq=False)
class HierarchicalFit:
    """Base models of every node of a structure, fitted once (see the module docstring).

    `y` is every node's history (nodes × periods, NaN before a node starts), `base` the base fits
    of every node in the hierarchy's node order, `dates` the forecast periods.
    """

    hierarchy: Hierarchy
    history_dates: pl.Series
    y: np.ndarray
    start: np.ndarray
    base: BaseFit
    dates: pl.Series
    season_length: int
    nonnegative: bool = True
    alias: str = "Base"

    @property
    def horizon(self) -> int:
        return self.dates.len()

    # -- in-sample frames (statsforecast's forecast_fitted_values) ---------------------------
    def _in_sample(self, values: np.ndarray, name: str, *, with_y: bool) -> pl.DataFrame:
        n, n_t = self.y.shape
        keep = (np.arange(n_t)[None, :] >= self.start[:, None]).ravel()
        columns: dict[str, Any] = {
            "unique_id": self.hierarchy.nodes["unique_id"].gather(np.repeat(np.arange(n), n_t)),
            "ds": np.tile(self.history_dates.to_numpy(), n),
        }
        if with_y:
            columns["y"] = self.y.ravel()
        columns[name] = values.ravel()
        return pl.DataFrame(columns).filter(pl.Series(keep)).fill_nan(None)

    def fitted_values(self) -> pl.DataFrame:
        """`unique_id, ds, y, <alias>`: each node's one-step in-sample forecast (null where none
        exists, e.g. a series' first period), every period from the node's start."""
        return self._in_sample(self.base.fitted, self.alias, with_y=True)

    def residuals(self) -> pl.DataFrame:
        """`unique_id, ds, <alias>`: y − fitted, the in-sample one-step errors that MinT's
        `wls_var` and `mint_shrink` weights and the interval paths are estimated from."""
        return self._in_sample(self.base.residuals, self.alias, with_y=False)

    # -- forecasts -----------------------------------------------------------------------------
    def _wide(self, name: str, mean: np.ndarray, bounds: Mapping[str, np.ndarray]) -> dict:
        out = {name: mean.ravel()}
        for key, b in bounds.items():
            side, level = key.split("_", 1)
            out[f"{name}-{side}-{level}"] = b.ravel()
        return out

    def reconcile(
        self,
        *reconcilers: Reconciler | str,
        levels: Sequence[float] = (80, 95),
        drivers: Sequence[Driver | Mapping[str, Any]] = (),
    ) -> pl.DataFrame:
        """Base and reconciled forecasts of every node, one column per reconciler, in
        hierarchicalforecast's shape: `unique_id, ds, <alias>[, -lo-80, -hi-80, ...],
        <alias>/<reconciler>[, -lo-80, ...]`. The base column is each node's own model (clipped
        at zero for counts), not coherent; `drivers` adjust the reconciled columns only."""
        n, horizon = self.hierarchy.n_nodes, self.horizon
        columns: dict[str, Any] = {
            "unique_id": self.hierarchy.nodes["unique_id"].gather(np.repeat(np.arange(n), horizon)),
            "ds": np.tile(self.dates.to_numpy(), n),
        }
        rows = np.arange(n)
        check_options(horizon=horizon, levels=levels, reconcile="none", season_length=None)
        base = reconcile_and_bound(
            rows, self.base, self.hierarchy, method="none", levels=levels,
            nonnegative=self.nonnegative,
        )  # fmt: skip
        columns |= self._wide(self.alias, base.mean, base.bounds)
        for item in reconcilers:
            reconciler = as_reconciler(item)
            result = self._outcome(reconciler, levels, drivers)[0]
            columns |= self._wide(f"{self.alias}/{reconciler.name}", *result)
        return pl.DataFrame(columns)

    def reconciled(
        self,
        reconciler: Reconciler | str = "mint_shrink",
        *,
        levels: Sequence[float] = (80, 95),
        drivers: Sequence[Driver | Mapping[str, Any]] = (),
    ) -> ForecastResult:
        """One reconciliation's full result, as `forecast(..., reconcile=method)` returns it."""
        reconciler = as_reconciler(reconciler)
        check_options(horizon=self.horizon, levels=levels, reconcile="none", season_length=None)
        (mean, bounds), rows, base, info, summary = self._outcome(reconciler, levels, drivers)
        hier = self.hierarchy
        report = _model_report(hier, rows, base, info.method)
        frame = _forecast_frame(
            hier, dates=self.dates, mean=mean, bounds=bounds, models=report, method=info.method
        )
        if self.nonnegative:
            from engine.contracts import check_forecast_output

            frame = check_forecast_output(frame)
        return ForecastResult(
            forecasts=frame,
            models=report,
            reconciliation=info,
            drivers=summary,
            hierarchy=hier,
            levels=tuple(levels),
        )

    def _outcome(
        self,
        reconciler: Reconciler,
        levels: Sequence[float],
        drivers: Sequence[Driver | Mapping[str, Any]],
    ) -> tuple[
        tuple[np.ndarray, dict[str, np.ndarray]], np.ndarray, BaseFit, ReconcileInfo, pl.DataFrame
    ]:
        hier = self.hierarchy
        parsed = [d if isinstance(d, Driver) else parse_drivers([d])[0] for d in drivers]
        multiplier, summary = driver_multipliers(parsed, hier.bottom, self.dates)
        method = reconciler.method if isinstance(reconciler, BottomUp | MinTrace) else "bottom_up"
        requested = method if not isinstance(reconciler, TopDown) else reconciler.name
        if not hier.n_aggregate:
            method = "bottom_up"
        bottom_rows = np.arange(hier.n_aggregate, hier.n_nodes)
        if method == "bottom_up":
            rows, base = bottom_rows, _subset(self.base, bottom_rows)
            if isinstance(reconciler, TopDown) and hier.n_aggregate:
                base = dataclasses.replace(base, mean=self._top_down(reconciler.method))
        else:
            rows, base = np.arange(hier.n_nodes), self.base
        outcome = reconcile_and_bound(
            rows, base, hier, method=method, levels=levels,
            multiplier=multiplier if parsed else None, nonnegative=self.nonnegative,
        )  # fmt: skip
        info = outcome.info
        if isinstance(reconciler, TopDown) and hier.n_aggregate:
            info = dataclasses.replace(info, requested=requested, method=reconciler.name)
        elif method != requested:
            info = dataclasses.replace(info, requested=requested, reason="no aggregate levels")
        return (outcome.mean, outcome.bounds), rows, base, info, summary

    def _top_down(self, method: str) -> np.ndarray:
        """Bottom forecasts: the total's base forecast × historical proportions (`TopDown`)."""
        hier = self.hierarchy
        counts = np.diff(hier.S.indptr)
        totals = np.flatnonzero(counts[: hier.n_aggregate] == hier.n_bottom)
        if not totals.size:
            raise ConfigError("TopDown needs a total: a level summing every bottom series")
        row = totals[0]
        total = np.nan_to_num(self.y[row])
        bottom = np.nan_to_num(self.y[hier.n_aggregate :])
        if method == "average_proportions":
            positive = total > 0
            with np.errstate(all="ignore"):
                shares = bottom[:, positive] / total[positive]
            share = shares.mean(axis=1) if positive.any() else np.zeros(hier.n_bottom)
        else:
            mean_total = total.mean()
            share = bottom.mean(axis=1) / mean_total if mean_total > 0 else bottom.mean(axis=1)
        return share[:, None] * self.base.mean[row][None, :]


def _subset(base: BaseFit, rows: np.ndarray) -> BaseFit:
    return BaseFit(
        mean=base.mean[rows],
        fitted=base.fitted[rows],
        residuals=base.residuals[rows],
        horizon_scale=base.horizon_scale[rows],
        report={k: v[rows] for k, v in base.report.items()},
        n_params=None if base.n_params is None else base.n_params[rows],
    )


def prepare_structure(
    frame: pl.DataFrame | pl.LazyFrame,
    structure: Structure,
    *,
    id_col: str,
    date_col: str,
    value_col: str,
    freq: str,
    fill_value: float,
    nonnegative: bool,
) -> tuple[Panel, Hierarchy]:
    """The bottom series as a panel and the structure's hierarchy over them."""
    frame = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    if structure.summing is not None:
        if id_col not in frame.columns:
            raise ConfigError(f"series frame lacks its id column '{id_col}'", column=id_col)
        bottom = set(structure.summing.bottom_ids)
        frame = frame.rename({id_col: "unique_id"} if id_col != "unique_id" else {})
        frame = frame.filter(pl.col("unique_id").cast(pl.String).is_in(list(bottom)))
        frame = frame.with_columns(pl.col("unique_id").cast(pl.String))
    panel = to_panel(
        frame,
        key_cols=structure.key_columns,
        date_col=date_col,
        value_col=value_col,
        freq=freq,
        fill_value=fill_value,
        nonnegative=nonnegative,
    )
    return panel, structure_hierarchy(structure, panel.keys)


def fit_on_panel(
    hierarchy: Hierarchy,
    y_bottom: np.ndarray,
    start_bottom: np.ndarray,
    history_dates: pl.Series,
    *,
    freq: str,
    horizon: int,
    season_length: int,
    models: Sequence[str],
    refine: bool,
    nonnegative: bool,
    alias: str,
) -> HierarchicalFit:
    """Fit every node's base model on bottom series (a panel, or a backtest's training part)."""
    y, start = node_series(hierarchy, y_bottom, start_bottom)
    base = fit_base(y, start, m=season_length, horizon=horizon, models=models, refine=refine)
    return HierarchicalFit(
        hierarchy=hierarchy,
        history_dates=history_dates,
        y=y,
        start=start,
        base=base,
        dates=future_dates(history_dates[-1], freq, horizon),
        season_length=season_length,
        nonnegative=nonnegative,
        alias=alias,
    )


def fit_hierarchy(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    structure: Any = None,
    S_df: Any = None,  # noqa: N803 (hierarchicalforecast's name)
    tags: Mapping[str, Sequence[str]] | None = None,
    id_col: str = "unique_id",
    date_col: str = "ds",
    value_col: str = "y",
    horizon: int = 12,
    freq: str = "1mo",
    season_length: int | None = None,
    models: Sequence[str] = ("auto",),
    nonnegative: bool = True,
    fill_value: float = 0.0,
    refine: bool = False,
    alias: str = "Base",
) -> HierarchicalFit:
    """Fit base models to every node of a structure, once (see `engine.forecasting._structure`
    for the structures: a hierarchy, level definitions, or `S_df` + `tags`).

    Arguments as for `forecast`; `alias` names the base model's column (statsforecast's alias).
    Reconcile the one fit by as many methods as wanted, without refitting:

    >>> import datetime as dt
    >>> from engine.forecasting import BottomUp, MinTrace
    >>> months = pl.date_range(dt.date(2023, 1, 1), dt.date(2024, 12, 1), "1mo", eager=True)
    >>> frame = pl.DataFrame({
    ...     "region": ["north"] * 24 + ["south"] * 24,
    ...     "ds": pl.concat([months, months]),
    ...     "y": [10.0 + i % 3 for i in range(24)] + [20.0 + i % 2 for i in range(24)],
    ... })
    >>> fit = fit_hierarchy(frame, structure=[[], ["region"]], horizon=2,
    ...                     models=("seasonal_naive",))
    >>> table = fit.reconcile(BottomUp(), MinTrace("ols"), levels=())
    >>> table.columns
    ['unique_id', 'ds', 'Base', 'Base/BottomUp', 'Base/MinTrace_method-ols']
    >>> # a year ago: north 10, 11 and south 20, 21
    >>> table.filter(pl.col("unique_id") == "total")["Base/BottomUp"].to_list()
    [30.0, 32.0]
    """
    check_options(horizon=horizon, levels=(), reconcile="none", season_length=season_length)
    parse_models(models)
    if alias == TOTAL or "/" in alias:
        raise ConfigError(f"alias {alias!r} cannot name a model column")
    panel, hierarchy = prepare_structure(
        frame,
        as_structure(structure, S_df=S_df, tags=tags, id_col=id_col),
        id_col=id_col,
        date_col=date_col,
        value_col=value_col,
        freq=freq,
        fill_value=fill_value,
        nonnegative=nonnegative,
    )
    return fit_on_panel(
        hierarchy,
        panel.y,
        panel.start,
        panel.dates,
        freq=freq,
        horizon=horizon,
        season_length=season_length or default_season_length(freq),
        models=models,
        refine=refine,
        nonnegative=nonnegative,
        alias=alias,
    )
