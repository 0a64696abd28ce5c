"""Dated driver series: a value per territory (or service) and month, read strictly from CSV.

A driver series file (e.g. `models/forecast/drivers/population_oblast.csv`) has a `month` column
(`YYYY-MM` or a date; the month it falls in), a `value` column (a positive number: a population,
a count of IDPs, an index) and key columns naming what each row is about — hierarchy columns such
as `oblast_code`, `hromada_code` or `service_code`; none for a national series. Every key's months
run without a gap. Territory and service codes are checked against the KATOTTG and the services
catalogue. Any bad cell is a one-line error naming the file, its line and its column.

At forecast time (`driver_factors`) the series scales the level of the bottom series it covers:

    factor(f) = (value(f) / value(base)) ^ elasticity

with `base` the last history month (the month before the first forecast month): `elasticity` 1
makes need proportional to the driver (a population projection), another value is a log-linear
regressor with that coefficient. The series must hold the base month and every forecast month the
driver applies to, for every key it lists; a bottom series under no listed key keeps factor 1.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from engine.dates import add_months
from engine.errors import ConfigError, InputFileError

__all__ = ["DriverSeries", "driver_factors", "read_driver_series"]

_TERRITORY = ("oblast_code", "raion_code", "hromada_code")


@dataclass(frozen=True)
class DriverSeries:
    """A driver series: `frame` holds the key columns, `month`, `value` and `_line` (the file
    line of each row); configurations compare by the file's content (`digest`)."""

    path: str
    keys: tuple[str, ...]
    digest: str
    frame: pl.DataFrame = field(compare=False, repr=False)


def _fail(path: Path | str, line: int | None, column: str | None, message: str) -> ConfigError:
    return ConfigError(message, path=path, line=line, column=column)


def _check_codes(frame: pl.DataFrame, keys: tuple[str, ...], path: Path) -> None:
    """Territory and service codes must exist in the reference tables."""
    from engine.reference import load_services, load_territories

    reference: dict[str, set[str]] = {}
    if any(k in _TERRITORY for k in keys):
        territories = load_territories()
        reference |= {k: set(territories[k].cast(pl.String)) for k in _TERRITORY if k in keys}
    if "service_code" in keys:
        reference["service_code"] = set(load_services()["service_code"].cast(pl.String))
    for column, known in reference.items():
        bad = frame.filter(~pl.col(column).is_in(list(known)))
        if bad.height:
            row = bad.row(0, named=True)
            raise _fail(
                path, row["_line"], column, f"unknown {column} {row[column]!r} in a driver series"
            )


def read_driver_series(path: str | Path) -> DriverSeries:
    """Read and check a driver series file (see the module docstring)."""
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read driver series: {exc.strerror}", path=path) from None
    try:
        raw = pl.read_csv(content, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise InputFileError(f"not a CSV file ({str(exc).splitlines()[0]})", path=path) from None
    for column in ("month", "value"):
        if column not in raw.columns:
            raise _fail(path, 1, column, f"a driver series needs a '{column}' column")
    keys = tuple(c for c in raw.columns if c not in ("month", "value"))
    raw = raw.with_row_index("_line", offset=2).with_columns(pl.col("_line").cast(pl.Int64))
    text = pl.col("month").str.strip_chars()
    parsed = raw.with_columns(
        pl.coalesce(
            (text + "-01").str.to_date("%Y-%m-%d", strict=False),
            text.str.to_date("%Y-%m-%d", strict=False),
        )
        .dt.truncate("1mo")
        .alias("_month"),
        pl.col("value").str.strip_chars().cast(pl.Float64, strict=False).alias("_value"),
    )
    bad = parsed.filter(pl.col("_month").is_null())
    if bad.height:
        row = bad.row(0, named=True)
        raise _fail(path, row["_line"], "month", f"bad month {row['month']!r} (YYYY-MM)")
    bad = parsed.filter(~(pl.col("_value") > 0) | pl.col("_value").is_null())
    bad = bad.vstack(parsed.filter(pl.col("_value").is_infinite())).sort("_line")
    if bad.height:
        row = bad.row(0, named=True)
        raise _fail(
            path, row["_line"], "value", f"value must be a positive number, got {row['value']!r}"
        )
    frame = parsed.select(
        *[pl.col(k).str.strip_chars() for k in keys],
        pl.col("_month").alias("month"),
        pl.col("_value").alias("value"),
        "_line",
    )
    for key in keys:
        empty = frame.filter(pl.col(key).is_null() | (pl.col(key) == ""))
        if empty.height:
            raise _fail(path, empty["_line"][0], key, f"empty {key}")
    duplicated = frame.filter(pl.struct(*keys, "month").is_duplicated())
    if duplicated.height:
        raise _fail(path, duplicated["_line"][1], "month", "a month is given twice for one key")
    _check_codes(frame, keys, path)
    ordered = frame.with_columns(
        pl.col("month").dt.year().cast(pl.Int64).mul(12).add(pl.col("month").dt.month()).alias("_m")
    ).sort([*keys, "_m"])
    step = ordered.select(
        (pl.col("_m") - pl.col("_m").shift(1).over(keys if keys else None)).alias("_step"),
        "_line",
        "month",
        *keys,
    )
    gap = step.filter(pl.col("_step").is_not_null() & (pl.col("_step") != 1))
    if gap.height:
        row = gap.row(0, named=True)
        missing = add_months(row["month"], -int(row["_step"]) + 1)
        where = ", ".join(f"{k}={row[k]}" for k in keys) or "the series"
        raise _fail(
            path,
            row["_line"],
            "month",
            f"{missing:%Y-%m} is missing for {where} (months must not skip)",
        )
    digest = hashlib.sha256(content).hexdigest()
    return DriverSeries(path=str(path), keys=keys, digest=digest, frame=frame)


def driver_factors(
    series: DriverSeries,
    bottom: pl.DataFrame,
    dates: pl.Series,
    *,
    elasticity: float = 1.0,
    name: str = "driver",
) -> tuple[np.ndarray, np.ndarray]:
    """Factor of every bottom series × forecast period (1 where the series lists no key of the
    bottom series), and which bottom series it covers."""
    unknown = [k for k in series.keys if k not in bottom.columns]
    if unknown:
        raise ConfigError(
            f"driver {name!r}: column '{unknown[0]}' of its series is not a hierarchy column "
            f"({', '.join(bottom.columns)})",
            path=series.path,
            line=1,
            column=unknown[0],
        )
    date_list = [d.replace(day=1) for d in dates.to_list()]
    base = add_months(date_list[0], -1)
    keys = list(series.keys)
    frame = series.frame.with_columns(pl.col(keys).cast(pl.String)) if keys else series.frame
    spans = [
        pl.col("month").min().alias("_first"),
        pl.col("month").max().alias("_last"),
        pl.col("_line").first().alias("_first_line"),
        pl.col("_line").last().alias("_last_line"),
    ]
    groups = frame.group_by(keys, maintain_order=True).agg(spans) if keys else frame.select(spans)
    short = groups.filter((pl.col("_first") > base) | (pl.col("_last") < date_list[-1]))
    if short.height:
        row = short.row(0, named=True)
        where = ", ".join(f"{k}={row[k]}" for k in keys) or "the series"
        late = row["_first"] > base
        span = f"starts {row['_first']:%Y-%m}" if late else f"ends {row['_last']:%Y-%m}"
        raise ConfigError(
            f"driver {name!r}: the series for {where} {span}; the forecast needs "
            f"{base:%Y-%m} (the last history month) to {date_list[-1]:%Y-%m}",
            path=series.path,
            line=row["_first_line"] if late else row["_last_line"],
            column="month",
        )
    base_values = frame.filter(pl.col("month") == base).select(
        *keys, pl.col("value").alias("_base")
    )
    horizon = pl.DataFrame(
        {"month": date_list, "_h": list(range(len(date_list)))},
        schema={"month": pl.Date, "_h": pl.Int64},
    )
    ahead = frame.join(horizon, on="month")
    ratio = (
        ahead.join(base_values, on=keys) if keys else ahead.join(base_values, how="cross")
    ).with_columns(((pl.col("value") / pl.col("_base")) ** elasticity).alias("_factor"))
    rows = bottom.with_row_index("_row").select("_row", *[pl.col(k).cast(pl.String) for k in keys])
    hits = rows.join(ratio, on=keys) if keys else rows.join(ratio, how="cross")
    factors = np.ones((bottom.height, len(date_list)))
    factors[hits["_row"].to_numpy(), hits["_h"].to_numpy()] = hits["_factor"].to_numpy()
    covered = np.zeros(bottom.height, dtype=bool)
    covered[hits["_row"].to_numpy()] = True
    return factors, covered
