"""Scenario drivers: multiplicative adjustments of the forecast by territory, service and time.

A driver multiplies the reconciled *bottom-level* forecasts it selects (and their error paths); every
aggregate is then re-summed from the bottom, so the adjusted forecast stays coherent and an
adjustment reaches exactly the nodes above the series it selects. Three shapes:

- a step `factor` from a date (optionally to a date): e.g. an IDP inflow, `factor: 1.15` in three
  western oblasts from 2025-03;
- a compound `annual_rate` from a date: e.g. a population decline, `annual_rate: -0.02`, gives
  (1 − 0.02)^(months since the start / 12);
- a dated `series` (a CSV file, relative to the configuration): e.g. a population projection or an
  IDP inflow scenario per oblast and month; the level scales with the series relative to the last
  history month, `(value(f) / value(base)) ^ elasticity` (`elasticity` 1 by default: need in
  proportion; another value is a log-linear regressor with that coefficient). See
  `_driver_series` for the file and its checks, `models/forecast/population_projection.yaml` for
  an example.

`where` selects bottom series by key columns (`{oblast_code: [...], service_code: [...]}`); an
empty `where` selects all. Several drivers compose by multiplication.

>>> Driver(name="idp", factor=1.15, where={"oblast_code": ["UA46000000000026241"]})
Driver(name='idp', factor=1.15, annual_rate=None, where={'oblast_code': ('UA46000000000026241',)}, start=None, end=None, description='', series=None, elasticity=1.0)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from engine.dates import month_index, parse_date, parse_month
from engine.errors import ConfigError
from engine.forecasting._driver_series import DriverSeries, driver_factors, read_driver_series

__all__ = ["Driver", "driver_multipliers", "parse_drivers"]

_KEYS = {"name", "factor", "annual_rate", "series", "elasticity", "where", "from", "to"}
_KEYS |= {"description"}


@dataclass(frozen=True)
class Driver:
    name: str
    factor: float | None = None
    annual_rate: float | None = None
    where: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    start: dt.date | None = None
    end: dt.date | None = None
    description: str = ""
    series: DriverSeries | None = None
    elasticity: float = 1.0

    def __post_init__(self) -> None:
        shapes = [self.factor, self.annual_rate, self.series]
        if sum(x is not None for x in shapes) != 1:
            raise ConfigError(
                f"driver {self.name!r} needs exactly one of factor, annual_rate, series"
            )
        if self.factor is not None and not self.factor >= 0:
            raise ConfigError(f"driver {self.name!r}: factor must be ≥ 0, got {self.factor}")
        if self.annual_rate is not None and not self.annual_rate > -1:
            raise ConfigError(f"driver {self.name!r}: annual_rate must be > -1")
        if self.start and self.end and self.end < self.start:
            raise ConfigError(f"driver {self.name!r} ends before it starts")
        where = {
            k: (tuple(v) if isinstance(v, list | tuple) else (v,)) for k, v in self.where.items()
        }
        object.__setattr__(self, "where", where)


def _as_date(value: Any, name: str, source: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return parse_month(str(value)) if len(str(value)) == 7 else parse_date(str(value))
    except ValueError as exc:
        raise ConfigError(f"driver {name!r}: bad date {value!r} ({exc})", path=source) from None


def parse_drivers(items: Sequence[Mapping[str, Any]], *, source: str = "drivers") -> list[Driver]:
    """Drivers from config mappings (`name, factor | annual_rate, where, from, to, description`)."""
    drivers = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ConfigError(f"drivers[{i}] must be a mapping", path=source)
        unknown = set(item) - _KEYS
        name = str(item.get("name", f"driver {i + 1}"))
        if unknown:
            raise ConfigError(f"driver {name!r}: unknown key(s) {sorted(unknown)}", path=source)
        try:
            factor = None if item.get("factor") is None else float(item["factor"])
            rate = None if item.get("annual_rate") is None else float(item["annual_rate"])
            elasticity = float(item.get("elasticity", 1.0))
        except (TypeError, ValueError):
            raise ConfigError(
                f"driver {name!r}: factor/annual_rate/elasticity must be numbers", path=source
            ) from None
        series = None
        if item.get("series") is not None:
            folder = Path(source).parent if Path(source).suffix else Path.cwd()
            series = read_driver_series(folder / str(item["series"]))
        drivers.append(
            Driver(
                name=name,
                factor=factor,
                annual_rate=rate,
                series=series,
                elasticity=elasticity,
                where=dict(item.get("where") or {}),
                start=_as_date(item.get("from"), name, source),
                end=_as_date(item.get("to"), name, source),
                description=str(item.get("description", "")),
            )
        )
    return drivers


def driver_multipliers(
    drivers: Sequence[Driver],
    bottom: pl.DataFrame,
    dates: pl.Series,
) -> tuple[np.ndarray, pl.DataFrame]:
    """Multiplier of every bottom series × forecast period, and a summary per driver."""
    n, horizon = bottom.height, dates.len()
    total = np.ones((n, horizon))
    summary = []
    date_list = dates.to_list()
    for d in drivers:
        unknown = [c for c in d.where if c not in bottom.columns]
        if unknown:
            raise ConfigError(
                f"driver {d.name!r} selects on {unknown}, not a hierarchy column "
                f"({', '.join(bottom.columns)})"
            )
        mask = pl.lit(True)
        for column, values in d.where.items():
            mask = mask & pl.col(column).cast(pl.String).is_in([str(v) for v in values])
        rows = bottom.with_columns(mask.alias("_selected"))["_selected"].to_numpy()
        in_time = np.array(
            [(d.start is None or x >= d.start) and (d.end is None or x <= d.end) for x in date_list]
        )
        if d.series is not None:
            factors, covered = driver_factors(
                d.series, bottom, dates, elasticity=d.elasticity, name=d.name
            )
            rows &= covered
            factor = np.where(in_time[None, :], factors[rows], 1.0)
        elif d.factor is not None:
            factor = np.where(in_time, d.factor, 1.0)
        else:
            first = d.start or date_list[0]
            months = np.array([month_index(x) - month_index(first) for x in date_list])
            rate = d.annual_rate or 0.0  # a driver has either a factor or an annual rate
            factor = np.where(in_time, (1.0 + rate) ** (months / 12.0), 1.0)
        total[rows] *= factor if factor.ndim == 2 else factor[None, :]
        summary.append(
            {
                "driver": d.name,
                "series": int(rows.sum()),
                "periods": int(in_time.sum()),
                "min_factor": float(factor.min()) if factor.size else 1.0,
                "max_factor": float(factor.max()) if factor.size else 1.0,
                "description": d.description,
            }
        )
    schema = {
        "driver": pl.String,
        "series": pl.Int64,
        "periods": pl.Int64,
        "min_factor": pl.Float64,
        "max_factor": pl.Float64,
        "description": pl.String,
    }
    return total, pl.DataFrame(summary, schema=schema)
