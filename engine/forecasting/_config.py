"""Forecast configurations (`models/forecast/*.yaml`), read strictly.

A configuration names what to forecast and how: the target series, horizon, frequency, candidate
models, interval levels, reconciliation method, the hierarchy, the backtest and any scenario
drivers. `extends: other.yaml` starts from another configuration (relative to this file) and
overrides its top-level keys, so a scenario is a short file naming only what it changes. An unknown
key or a value of the wrong type fails with the file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.forecasting._api import check_options
from engine.forecasting._drivers import Driver, parse_drivers
from engine.forecasting._hierarchy import HierarchySpec
from engine.forecasting._select import parse_models
from engine.yamlio import Lined, load_yaml, plain

__all__ = [
    "COUNT_TARGETS",
    "PACKAGED_DEFAULT",
    "ForecastConfig",
    "default_config_path",
    "driver_series_files",
    "load_forecast_config",
]

# targets that count something (cases, case-months): their intervals get the Poisson floor
COUNT_TARGETS = ("case_months_need", "case_months_served", "case_months_waiting", "new_cases")

PACKAGED_DEFAULT = Path(__file__).with_name("default.yaml")

_TOP = {
    "description",
    "extends",
    "target",
    "history_months",
    "horizon",
    "freq",
    "season_length",
    "models",
    "levels",
    "reconcile",
    "refine",
    "hierarchy",
    "drivers",
    "backtest",
}
_BACKTEST = {"windows", "step", "methods", "benchmarks"}


@dataclass(frozen=True)
class ForecastConfig:
    """Everything `forecast` and `backtest` need besides the data."""

    name: str = "default"
    description: str = ""
    target: str = "case_months_served"
    history_months: int | None = None  # forecast from the last N months only (None: all)
    horizon: int = 12
    freq: str = "1mo"
    season_length: int | None = None
    models: tuple[str, ...] = ("auto",)
    levels: tuple[float, ...] = (80, 95)
    reconcile: str = "mint_shrink"
    refine: bool = False
    hierarchy: HierarchySpec | None = None
    drivers: tuple[Driver, ...] = ()
    backtest_windows: int = 3
    backtest_step: int | None = None
    backtest_methods: tuple[str, ...] = ("base", "bottom_up", "ols", "wls_struct", "mint_shrink")
    backtest_benchmarks: tuple[str, ...] = ("naive", "seasonal_naive")
    source: str = field(default="", compare=False)

    def forecast_kwargs(self) -> dict[str, Any]:
        return {
            "hierarchy": self.hierarchy,
            "horizon": self.horizon,
            "freq": self.freq,
            "season_length": self.season_length,
            "models": self.models,
            "levels": self.levels,
            "reconcile": self.reconcile,
            "drivers": self.drivers,
            "refine": self.refine,
            "counts": self.target in COUNT_TARGETS,
        }

    def backtest_kwargs(self) -> dict[str, Any]:
        kwargs = self.forecast_kwargs()
        del kwargs["reconcile"], kwargs["drivers"]
        return {
            **kwargs,
            "methods": self.backtest_methods,
            "benchmarks": self.backtest_benchmarks,
            "n_windows": self.backtest_windows,
            "step": self.backtest_step,
        }


def _read(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    data = plain(load_yaml(path, what="forecast configuration"), path)
    if not isinstance(data, Lined):
        raise ConfigError("a forecast configuration must be a mapping", path=path)
    return data, dict(data.lines)


def default_config_path(cwd: Path | None = None) -> Path:
    """The default forecast configuration: the project's, else the copy shipped with the engine.

    The project's is `models/forecast/default.yaml` in the nearest folder, from `cwd` (default:
    the current folder) upwards, that has one; outside a project (an installed engine) it is
    `PACKAGED_DEFAULT`, a copy of the repository's `models/forecast/default.yaml` (a test keeps
    them equal).
    """
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "models" / "forecast" / "default.yaml"
        if candidate.is_file():
            return candidate
    return PACKAGED_DEFAULT


def _merged(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], dict[str, int]]:
    data, lines = _read(path)
    for key in data:
        if key not in _TOP:
            raise ConfigError(f"unknown key '{key}'", path=path, line=lines.get(key))
    parent = data.pop("extends", None)
    if parent is None:
        return data, lines
    parent_path = (path.parent / str(parent)).resolve()
    if parent_path in seen:
        raise ConfigError(f"'extends' loops back to {parent_path.name}", path=path)
    base, _ = _merged(parent_path, (*seen, path.resolve()))
    return {**base, **data}, lines


def _typed(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], path: Path, lines):
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(
            f"'{key}' has the wrong type ({type(value).__name__})", path=path, line=lines.get(key)
        )
    return value


def _backtest_section(bt: dict[str, Any], path: Path, lines: dict[str, int]) -> dict[str, Any]:
    unknown = set(bt) - _BACKTEST
    if unknown:
        raise ConfigError(
            f"unknown backtest key(s) {sorted(unknown)}", path=path, line=lines.get("backtest")
        )
    kwargs: dict[str, Any] = {}
    for key, target in (("windows", "backtest_windows"), ("step", "backtest_step")):
        if bt.get(key) is not None:
            kwargs[target] = _typed(bt, key, int, path, lines)
    for key, target in (("methods", "backtest_methods"), ("benchmarks", "backtest_benchmarks")):
        if bt.get(key) is not None:
            kwargs[target] = tuple(_typed(bt, key, list, path, lines))
    return kwargs


def load_forecast_config(path: str | Path) -> ForecastConfig:
    """Read a configuration; missing keys take `ForecastConfig`'s defaults.

    >>> config = load_forecast_config("models/forecast/default.yaml")
    >>> config.target, config.horizon
    ('case_months_need', 12)
    """
    path = Path(path)
    data, lines = _merged(path)
    kwargs: dict[str, Any] = {"name": path.stem, "source": str(path)}
    simple = {
        "description": str,
        "target": str,
        "horizon": int,
        "freq": str,
        "reconcile": str,
        "refine": bool,
    }
    for key, kind in simple.items():
        if key in data:
            kwargs[key] = _typed(data, key, kind, path, lines)
    if data.get("history_months") is not None:
        kwargs["history_months"] = _typed(data, "history_months", int, path, lines)
    if data.get("season_length") is not None:
        kwargs["season_length"] = _typed(data, "season_length", int, path, lines)
    if "models" in data:
        models = data["models"]
        kwargs["models"] = (models,) if isinstance(models, str) else tuple(models)
        try:
            parse_models(kwargs["models"])
        except ConfigError as exc:
            raise ConfigError(exc.message, path=path, line=lines.get("models")) from None
    if "levels" in data:
        levels = _typed(data, "levels", list, path, lines)
        if not all(isinstance(v, int | float) and 0 < v < 100 for v in levels):
            raise ConfigError(
                "levels must be numbers in (0, 100)", path=path, line=lines.get("levels")
            )
        kwargs["levels"] = tuple(levels)
    if data.get("hierarchy") is not None:
        hierarchy = _typed(data, "hierarchy", dict, path, lines)
        kwargs["hierarchy"] = HierarchySpec.from_mapping(hierarchy, source=str(path))
    if data.get("drivers"):
        items = _typed(data, "drivers", list, path, lines)
        kwargs["drivers"] = tuple(parse_drivers(items, source=str(path)))
    if data.get("backtest") is not None:
        kwargs.update(_backtest_section(_typed(data, "backtest", dict, path, lines), path, lines))
    config = ForecastConfig(**kwargs)
    try:
        check_options(
            horizon=config.horizon,
            levels=config.levels,
            reconcile=config.reconcile,
            season_length=config.season_length,
        )
    except ConfigError as exc:
        raise ConfigError(exc.message, path=path) from None
    return config


def driver_series_files(path: str | Path) -> tuple[Path, ...]:
    """The driver series files a configuration reads (its drivers with a `series`), each once, in
    the configuration's order: inputs of a forecast as much as the configuration itself (a run
    hashes them into the forecast's cache key and keeps them with its inputs).

    >>> [p.name for p in driver_series_files("models/forecast/population_projection.yaml")]
    ['population_oblast.csv']
    """
    config = load_forecast_config(path)
    files = (Path(d.series.path) for d in config.drivers if d.series is not None)
    return tuple(dict.fromkeys(files))
