"""Demand forecasting for hierarchies of count series: coherent, non-negative, with honest intervals.

    >>> from engine.forecasting import forecast
    >>> result = forecast(frame, hierarchy={"nested": ["oblast_code", "raion_code", "hromada_code"],
    ...                                     "crossed": [["service_group", "service_code"]]},
    ...                   date_col="month", value_col="case_months_served")  # doctest: +SKIP

Pipeline (every step vectorised across series; see each module's docstring for the exact method):

1. `_panel`: long frame → matrix (series × periods) on a calendar grid; `_hierarchy`: the nodes
   of nested levels crossed with factors and the sparse summing matrix S.
2. `_select`: per node, Syntetos–Boylan classification; the ETS family by AICc (`_ets`,
   `_ets_core`; initial states estimated with the parameters, `_ets_states`) for smooth and
   erratic series, Croston/SBA/TSB/SES by in-sample MSE
   (`_intermittent`) for intermittent ones; reported fallbacks to zero/naive (`_baselines`).
3. `_reconcile`: bottom-up or MinT (ols, wls_struct, wls_var, mint_shrink) by conjugate
   gradients on S, falling back and saying so on degenerate inputs; negative bottom values held
   at zero.
4. `_drivers`: scenario multipliers on the bottom level (a step, a rate, or a dated series per
   territory, `_driver_series`), re-summed so coherence holds.
5. `_intervals`: coherent error paths (residual vectors through S) → per node the wider of the
   empirical and Student-t quantiles of its own paths (never sums of quantiles); for counts, no
   band narrower than the Poisson law of the node's mean.
6. `_backtest`: rolling-origin MASE, RMSSE, interval coverage and scaled quantile loss per level
   and method; `reconcile="auto"` takes the method with the lowest loss on the run's data, and
   `_calibration` scales the chosen method's bands per level and horizon so that they would have
   covered their level on that backtest (split-conformal).
7. `_core` runs 2–5 on matrices for `_api.forecast` and `_backtest.backtest`; `_config` reads
   `models/forecast/*.yaml`.

The analyst API on statsforecast's and hierarchicalforecast's conventions: `_structure` (any
structure: level definitions, or `S_df` + `tags` as `aggregate` returns them), `_fit`
(`fit_hierarchy`: base models fitted once, `fitted_values`, `residuals`, and `reconcile` by any
number of `_reconcilers` — `BottomUp()`, `TopDown(...)`, `MinTrace("ols" | "wls_struct" |
"wls_var" | "mint_shrink")` — on that one fit) and `_cross_validation` (the long frame
`unique_id, ds, cutoff, y, <model>...`).

    >>> from engine.forecasting import BottomUp, MinTrace, fit_hierarchy
    >>> fitted = fit_hierarchy(frame, structure=[[], ["oblast_code"], ["service_code"],
    ...                                          ["oblast_code", "hromada_code", "service_code"]],
    ...                        date_col="month", value_col="case_months_need")  # doctest: +SKIP
    >>> fitted.reconcile(BottomUp(), MinTrace("mint_shrink"))  # doctest: +SKIP
"""

from __future__ import annotations

from engine.forecasting._api import ForecastResult, forecast
from engine.forecasting._backtest import backtest, summarise_backtest
from engine.forecasting._config import (
    PACKAGED_DEFAULT,
    ForecastConfig,
    default_config_path,
    driver_series_files,
    load_forecast_config,
)
from engine.forecasting._cross_validation import cross_validation
from engine.forecasting._drivers import Driver
from engine.forecasting._ets import ETS_MODELS
from engine.forecasting._fit import HierarchicalFit, fit_hierarchy
from engine.forecasting._hierarchy import Hierarchy, HierarchySpec, build_hierarchy
from engine.forecasting._reconcile import RECONCILE_METHODS, ReconcileInfo
from engine.forecasting._reconcilers import BottomUp, MinTrace, TopDown
from engine.forecasting._select import MODEL_NAMES
from engine.forecasting._structure import aggregate

__all__ = [
    "ETS_MODELS",
    "MODEL_NAMES",
    "PACKAGED_DEFAULT",
    "RECONCILE_METHODS",
    "BottomUp",
    "Driver",
    "ForecastConfig",
    "ForecastResult",
    "HierarchicalFit",
    "Hierarchy",
    "HierarchySpec",
    "MinTrace",
    "ReconcileInfo",
    "TopDown",
    "aggregate",
    "backtest",
    "build_hierarchy",
    "cross_validation",
    "default_config_path",
    "driver_series_files",
    "fit_hierarchy",
    "forecast",
    "load_forecast_config",
    "summarise_backtest",
]
