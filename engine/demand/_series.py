"""Monthly demand series per hromada × service from priced segments, on a complete month grid.

`demand_series(segments)` turns priced segments (the entitlement contract) into one row per
month × hromada × service — the bottom level of the forecasting hierarchy oblast > raion > hromada
crossed with service group > service:

- `case_months_served`: Σ days / days in month over funded segments (a case served all month = 1);
- `case_months_waiting`: the same over unfunded segments (assessed, not yet served: unmet need);
- `case_months_need`: served + waiting, the assessed need; "need" means this and nothing else;
- `new_cases`: cases whose first segment starts in the month, counted where that segment is. The
  first month of the series is null: a case open before the window looks new there (left-censored);
- `state_uah`, `unmet_state_uah`: the state's share of the entitlement, served and waiting.

Case-months are summed as whole days per cell and divided once by the days of the month, and money
as whole micro-hryvnias, so every sum is an exact integer sum that does not depend on the order of
the rows: identical runs give identical series, bit for bit, on any number of threads.

**Completion, one rule.** Every hromada × service gets every month from its first segment in the
window to the window's last month, with zeros where nothing happened. The window ends at the last
month the extract saw in full (`last_complete_month`): the extract date's month when the extract
date is that month's last day, else the month before — a partly observed month would look like a
drop in demand.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from engine.dates import add_months
from engine.errors import InputFileError

__all__ = [
    "CASE_MONTH_TARGETS",
    "CASE_MONTH_UNITS",
    "DEMAND_TARGETS",
    "TERRITORY_KEYS",
    "demand_series",
    "last_complete_month",
]

TERRITORY_KEYS = ("oblast_code", "raion_code", "hromada_code", "service_group", "service_code")
CASE_MONTH_TARGETS = ("case_months_need", "case_months_served", "case_months_waiting")
DEMAND_TARGETS = (*CASE_MONTH_TARGETS, "new_cases", "state_uah", "unmet_state_uah")
_MICRO = 1_000_000
# days × (CASE_MONTH_UNITS // days in month) counts case-months in whole units: every month length
# (28–31) divides it, so sums of case-months over months are exact integer sums
CASE_MONTH_UNITS = 28 * 29 * 3 * 5 * 31 * 2  # lcm(28, 29, 30, 31) = 377,580
_SEGMENT_COLUMNS = (
    *("case_id", "service_code", "service_group", "month", "segment_from", "days"),
    *("days_in_month", "hromada_code", "raion_code", "oblast_code", "state_uah", "funded"),
)


def last_complete_month(extract_date: dt.date) -> dt.date:
    """The last month an extract of `extract_date` saw in full (its first day).

    >>> last_complete_month(dt.date(2026, 11, 30)), last_complete_month(dt.date(2026, 11, 29))
    (datetime.date(2026, 11, 1), datetime.date(2026, 10, 1))
    """
    month = extract_date.replace(day=1)
    if add_months(month, 1) - dt.timedelta(days=1) == extract_date:
        return month
    return add_months(month, -1)


def demand_series(
    segments: pl.DataFrame | pl.LazyFrame,
    *,
    months: tuple[dt.date, dt.date] | None = None,
) -> pl.DataFrame:
    """Monthly need per hromada × service from priced segments (see the module docstring).

    `months` (first, last) is the window: segments outside it are left out and every series is
    completed to its last month; default: the months of the segments.

    >>> import engine
    >>> registry = engine.read_registry("data_samples/registry")
    >>> model = engine.load_funding_model("models/funding/baseline")
    >>> priced = engine.compute_entitlements(registry, model, months=("2026-01", "2026-01"))
    >>> series = demand_series(priced.segments)
    >>> series.height, round(float(series["case_months_need"].sum()), 1)
    (484, 539.6)
    """
    seg = segments.lazy()
    missing = [c for c in _SEGMENT_COLUMNS if c not in seg.collect_schema().names()]
    if missing:
        raise InputFileError(f"segments lack column(s) {missing}", column=missing[0])
    seg = seg.select(_SEGMENT_COLUMNS).with_columns(pl.col("month").cast(pl.Date))
    if months is not None:
        seg = seg.filter(pl.col("month").is_between(months[0], months[1]))
    served = pl.col("funded")
    days = pl.col("days").cast(pl.Int64)
    # money in whole micro-hryvnias: integer sums are exact, so the same whatever the row order
    money = (pl.col("state_uah").cast(pl.Float64) * _MICRO).round().cast(pl.Int64)
    cells = seg.group_by("month", "hromada_code", "service_code").agg(
        days.filter(served).sum().alias("_served_days"),
        days.filter(~served).sum().alias("_waiting_days"),
        pl.col("days_in_month").first().cast(pl.Float64).alias("_dim"),
        money.filter(served).sum().alias("_served_micro"),
        money.filter(~served).sum().alias("_waiting_micro"),
    )
    cells = cells.with_columns(
        (pl.col("_served_days") / pl.col("_dim")).alias("case_months_served"),
        (pl.col("_waiting_days") / pl.col("_dim")).alias("case_months_waiting"),
        ((pl.col("_served_days") + pl.col("_waiting_days")) / pl.col("_dim")).alias(
            "case_months_need"
        ),
        (pl.col("_served_micro") / _MICRO).alias("state_uah"),
        (pl.col("_waiting_micro") / _MICRO).alias("unmet_state_uah"),
    ).drop("_served_days", "_waiting_days", "_dim", "_served_micro", "_waiting_micro")
    first = (
        seg.sort("segment_from", "case_id")
        .group_by("case_id")
        .agg(pl.col("month", "hromada_code", "service_code").first())
        .group_by("month", "hromada_code", "service_code")
        .agg(pl.len().cast(pl.Float64).alias("new_cases"))
    )
    pairs = seg.group_by("hromada_code", "service_code").agg(
        pl.col("raion_code", "oblast_code", "service_group").first(),
        pl.col("month").min().alias("_first"),
    )
    if months is not None:
        lo, hi = months
        if seg.select(pl.len()).collect().item() == 0:
            return _empty()
    else:
        span = seg.select(
            pl.col("month").min().alias("lo"), pl.col("month").max().alias("hi")
        ).collect()
        lo, hi = span["lo"][0], span["hi"][0]
        if lo is None:
            return _empty()
    grid = pl.LazyFrame({"month": pl.date_range(lo, hi, "1mo", eager=True)})
    keys = ["month", "hromada_code", "service_code"]
    out = (
        pairs.join(grid, how="cross")
        .filter(pl.col("month") >= pl.col("_first"))
        .join(cells, on=keys, how="left")
        .join(first, on=keys, how="left")
        .with_columns(pl.col(*DEMAND_TARGETS).fill_null(0.0))
        .with_columns(
            pl.when(pl.col("month") == lo)
            .then(None)
            .otherwise(pl.col("new_cases"))
            .alias("new_cases")
        )
        .select("month", *TERRITORY_KEYS, *DEMAND_TARGETS)
    )
    # codes leave as text (the segments may hold them as Enum), sorted as text
    return (
        out.with_columns(pl.col(TERRITORY_KEYS).cast(pl.String))
        .sort("hromada_code", "service_code", "month")
        .collect()
    )


def _empty() -> pl.DataFrame:
    schema = {"month": pl.Date, **dict.fromkeys(TERRITORY_KEYS, pl.String)}
    schema |= dict.fromkeys(DEMAND_TARGETS, pl.Float64)
    return pl.DataFrame(schema=schema)
