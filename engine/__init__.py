"""Money follows the recipient: an analytics engine for per-case financing of social services.

`import engine` stays light: public names are resolved on first use from their stage modules.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_PUBLIC: dict[str, str] = {
    "ConfigError": "engine.errors",
    "EngineError": "engine.errors",
    "ExitCode": "engine.errors",
    "InputFileError": "engine.errors",
    "QuarantineThresholdError": "engine.errors",
    "Registry": "engine.schemas",
    "load_territories": "engine.reference",
    "load_services": "engine.reference",
    "generate_registry": "engine.synth",
    "write_extract": "engine.synth",
    "add_personal_identifiers": "engine.synth",
    "read_registry": "engine.registry",
    "check_quarantine_threshold": "engine.registry",
    "quarantine_summary": "engine.registry",
    "quarantined_share": "engine.registry",
    "forecast": "engine.forecasting",
    "backtest": "engine.forecasting",
    "summarise_backtest": "engine.forecasting",
    "ForecastResult": "engine.forecasting",
    "HierarchySpec": "engine.forecasting",
    "Driver": "engine.forecasting",
    "load_forecast_config": "engine.forecasting",
    "ForecastConfig": "engine.forecasting",
    "demand_series": "engine.demand",
    "price_forecast": "engine.demand",
    "need_claims": "engine.demand",
    "load_spec": "engine.pipeline",
    "run_pipeline": "engine.pipeline",
    "Store": "engine.store",
    "need_indicators": "engine.need",
    "allocate": "engine.allocation",
    "Allocation": "engine.allocation",
    "Policy": "engine.allocation",
    "load_policy": "engine.allocation",
    "policy_from_dict": "engine.allocation",
    "claims_from_case_months": "engine.allocation",
    "claims_from_forecast": "engine.allocation",
    "load_funding_model": "engine.params",
    "FundingModel": "engine.params",
    "compute_entitlements": "engine.entitlements",
    "Entitlements": "engine.entitlements",
    "scenario_diff": "engine.scenarios",
    "ScenarioDiff": "engine.scenarios",
    "build_report": "engine.report",
    "ReportData": "engine.report",
    "report_data_from_store": "engine.report",
}

__all__ = [  # noqa: RUF022 - grouped by stage, kept in step with _PUBLIC by a test
    "__version__",
    "ConfigError",
    "EngineError",
    "ExitCode",
    "InputFileError",
    "QuarantineThresholdError",
    "Registry",
    # reference data and synthetic extracts
    "load_territories",
    "load_services",
    "generate_registry",
    "write_extract",
    "add_personal_identifiers",
    # ingestion
    "read_registry",
    "check_quarantine_threshold",
    "quarantine_summary",
    "quarantined_share",
    # funding models and entitlements
    "load_funding_model",
    "FundingModel",
    "compute_entitlements",
    "Entitlements",
    "scenario_diff",
    "ScenarioDiff",
    # demand forecasting
    "forecast",
    "backtest",
    "summarise_backtest",
    "ForecastResult",
    "HierarchySpec",
    "Driver",
    "load_forecast_config",
    "ForecastConfig",
    "demand_series",
    "price_forecast",
    "need_claims",
    # allocation
    "allocate",
    "Allocation",
    "Policy",
    "load_policy",
    "policy_from_dict",
    "claims_from_case_months",
    "claims_from_forecast",
    # nightly runs and the warehouse
    "load_spec",
    "run_pipeline",
    "Store",
    "need_indicators",
    # reports
    "build_report",
    "ReportData",
    "report_data_from_store",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return list(__all__)
