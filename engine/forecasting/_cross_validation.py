"""`cross_validation`: statsforecast's long frame of rolling-origin forecasts, reconciled.

    unique_id, ds, cutoff, y, <alias>[, <alias>-lo-80, ...], <alias>/<reconciler>[, ...]

one row per cutoff × node × forecast period. `cutoff` is the last training period; `y` what
happened (0 for a node with no observation yet: counts, as the backtest scores them). The origins
are the backtest's (`engine.forecasting.backtest`): stepping back from the end by `step_size`
periods (default: the horizon, so test windows do not overlap), keeping those with at least
`min_train` training periods (default: two seasons, at least `MIN_OBS`). For each cutoff the base
models are fitted once and every reconciler is applied to that fit, so the frame holds exactly
the forecasts the backtest scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from engine.errors import ConfigError
from engine.forecasting._core import check_options, node_series
from engine.forecasting._fit import fit_on_panel, prepare_structure
from engine.forecasting._panel import default_season_length
from engine.forecasting._reconcilers import Reconciler, as_reconciler
from engine.forecasting._select import MIN_OBS, parse_models
from engine.forecasting._structure import as_structure

__all__ = ["cross_validation", "cutoff_positions"]


def cutoff_positions(
    n_periods: int, *, h: int, n_windows: int, step_size: int, min_train: int
) -> list[int]:
    """Training lengths of the rolling origins, oldest first (the backtest's rule).

    >>> cutoff_positions(36, h=6, n_windows=3, step_size=6, min_train=24)
    [24, 30]
    """
    cuts = [n_periods - h - k * step_size for k in range(n_windows)]
    return sorted(c for c in cuts if c >= min_train)


def cross_validation(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    structure: Any = None,
    S_df: Any = None,  # noqa: N803 (hierarchicalforecast's name)
    tags: Mapping[str, Sequence[str]] | None = None,
    reconcilers: Sequence[Reconciler | str] = (),
    h: int = 12,
    n_windows: int = 3,
    step_size: int | None = None,
    min_train: int | None = None,
    levels: Sequence[float] = (),
    id_col: str = "unique_id",
    date_col: str = "ds",
    value_col: str = "y",
    freq: str = "1mo",
    season_length: int | None = None,
    models: Sequence[str] = ("auto",),
    nonnegative: bool = True,
    fill_value: float = 0.0,
    refine: bool = False,
    alias: str = "Base",
) -> pl.DataFrame:
    """Rolling-origin forecasts of every node, base and reconciled (see the module docstring).

    >>> import datetime as dt
    >>> frame = pl.DataFrame({
    ...     "unique_id": ["a"] * 36,
    ...     "ds": pl.date_range(dt.date(2022, 1, 1), dt.date(2024, 12, 1), "1mo", eager=True),
    ...     "y": [float(i % 12) for i in range(36)],
    ... })
    >>> cv = cross_validation(frame, h=3, n_windows=2, models=("seasonal_naive",))
    >>> cv.columns, cv["cutoff"].unique().sort().to_list()
    (['unique_id', 'ds', 'cutoff', 'y', 'Base'], [datetime.date(2024, 6, 1), datetime.date(2024, 9, 1)])
    >>> cv.filter(pl.col("cutoff") == dt.date(2024, 9, 1))["Base"].to_list()
    [9.0, 10.0, 11.0]
    """
    check_options(horizon=h, levels=levels, reconcile="none", season_length=season_length)
    parse_models(models)
    chosen = [as_reconciler(r) for r in reconcilers]
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
    m = season_length or default_season_length(freq)
    min_train = min_train or max(MIN_OBS, 2 * m if m > 1 else MIN_OBS)
    cuts = cutoff_positions(
        panel.n_periods, h=h, n_windows=n_windows, step_size=step_size or h, min_train=min_train
    )
    if not cuts:
        raise ConfigError(
            f"{panel.n_periods} periods are too few for a {h}-period cross-validation with at "
            f"least {min_train} training periods"
        )
    y_all, _ = node_series(hierarchy, panel.y, panel.start)
    frames = []
    for cut in cuts:  # one fit per origin, every reconciler on it
        fitted = fit_on_panel(
            hierarchy,
            panel.y[:, :cut],
            np.minimum(panel.start, cut),
            panel.dates[:cut],
            freq=freq,
            horizon=h,
            season_length=m,
            models=models,
            refine=refine,
            nonnegative=nonnegative,
            alias=alias,
        )
        wide = fitted.reconcile(*chosen, levels=levels)
        actual = np.nan_to_num(y_all[:, cut : cut + h])
        frames.append(
            wide.with_columns(
                pl.lit(panel.dates[cut - 1]).alias("cutoff"), pl.Series("y", actual.ravel())
            )
        )
    out = pl.concat(frames)
    models_out = [c for c in out.columns if c not in ("unique_id", "ds", "cutoff", "y")]
    return out.select("unique_id", "ds", "cutoff", "y", *models_out)
