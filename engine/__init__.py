"""Money follows the recipient: an analytics engine for per-case financing of social services.

The public API is `__all__` below; the imports under `TYPE_CHECKING` say where each name lives.
`import engine` stays light (no polars, pandera, plotly, scipy or duckdb): a public name is imported
from its stage module on first use, so `engine.compute_entitlements` costs what entitlements need.

    >>> import engine
    >>> callable(engine.compute_entitlements), callable(engine.forecast), callable(engine.allocate)
    (True, True, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the home of every public name; read at run time by `_homes`
    from engine.allocation import (
        Allocation,
        Policy,
        allocate,
        claims_from_case_months,
        claims_from_forecast,
        load_policy,
    )
    from engine.benefits import read_benefits
    from engine.demand import (
        NeedForecast,
        demand_series,
        forecast_need,
        split_claims_by_need_level,
    )
    from engine.distributed import run_sweep
    from engine.entitlements import Entitlements, compute_entitlements
    from engine.errors import ConfigError, EngineError
    from engine.execution import compare_totals, read_execution
    from engine.explain import explain_amount, price_case
    from engine.forecasting import (
        ForecastConfig,
        ForecastResult,
        backtest,
        cross_validation,
        fit_hierarchy,
        forecast,
        load_forecast_config,
        summarise_backtest,
    )
    from engine.need import need_indicators
    from engine.params import FundingModel, load_funding_model
    from engine.pipeline import load_spec, reproduce_run, run_pipeline
    from engine.reference import load_services, load_territories
    from engine.registry import quarantine_summary, read_registry
    from engine.report import ReportData, build_report, report_data_from_store
    from engine.scenarios import ScenarioDiff, scenario_diff
    from engine.schemas import Registry
    from engine.store import Store

from engine._version import __version__

__all__ = [  # noqa: RUF022 - in the order of the stages
    "__version__",
    "EngineError",
    "ConfigError",
    # reference data and the registry extract
    "load_territories",
    "load_services",
    "read_registry",
    "Registry",
    "quarantine_summary",
    "read_benefits",
    # funding models, scenarios and entitlements
    "load_funding_model",
    "FundingModel",
    "compute_entitlements",
    "Entitlements",
    "need_indicators",
    "scenario_diff",
    "ScenarioDiff",
    "explain_amount",
    "price_case",
    # demand and its forecast
    "demand_series",
    "forecast_need",
    "NeedForecast",
    "split_claims_by_need_level",
    "forecast",
    "backtest",
    "summarise_backtest",
    "fit_hierarchy",
    "cross_validation",
    "ForecastResult",
    "load_forecast_config",
    "ForecastConfig",
    # budget execution beside the simulation
    "read_execution",
    "compare_totals",
    # allocation
    "allocate",
    "Allocation",
    "load_policy",
    "Policy",
    "claims_from_case_months",
    "claims_from_forecast",
    # nightly runs, the warehouse and the report
    "load_spec",
    "run_pipeline",
    "reproduce_run",
    "run_sweep",
    "Store",
    "build_report",
    "ReportData",
    "report_data_from_store",
]

_HOMES: dict[str, str] = {}


def _homes() -> dict[str, str]:
    """Public name -> its module, read once from the `TYPE_CHECKING` imports of this file."""
    if not _HOMES:
        import ast
        from pathlib import Path

        tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
        block = next(
            n
            for n in tree.body
            if isinstance(n, ast.If)
            and isinstance(n.test, ast.Name)
            and n.test.id == "TYPE_CHECKING"
        )
        for node in block.body:
            if isinstance(node, ast.ImportFrom) and node.module is not None:
                _HOMES.update({alias.name: node.module for alias in node.names})
    return _HOMES


def __getattr__(name: str) -> Any:
    module = _homes().get(name) if name in __all__ else None
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
