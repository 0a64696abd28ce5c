"""Row rules that need more than one value: reference codes, ranges, dates, keys across tables.

Applied in dependency order, each step as joins and window functions over whole tables:

1. `row_rules` — per table: codes against the reference data (`unknown_code`), value ranges
   (`out_of_range`), `end_before_start`, `future_date`, `implausible_date` (a birth before
   EARLIEST_BIRTH, a case, location or status date before REGISTRY_START);
2. `relational_rules` — foreign keys in parent → child order: a reference to a key that does not exist
   is `orphan_key`, to a key whose row was quarantined is `parent_quarantined` (so a quarantined
   recipient takes its cases with it, and a quarantined case its locations);
3. `location_rules` — on the locations still standing: `location_outside_case`,
   `overlapping_locations` (every row of an overlapping pair); then the warnings `location_gap`:
   days of a valid case covered by no valid location.

Keys are checked with the safe choice: every row of a duplicated key is quarantined (see
`_normalise`), since nothing says which copy is right; their children follow as parent_quarantined.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import polars as pl

from engine.registry._quarantine import Check, empty, violations
from engine.registry._read import SOURCE_LINE

__all__ = [
    "EARLIEST_BIRTH",
    "MAX_INCOME_RATIO",
    "MAX_UNITS_PER_MONTH",
    "REGISTRY_START",
    "location_rules",
    "relational_rules",
    "row_rules",
]

# Largest plausible assessed volume per month, by the service's unit: every hour of a 31-day month;
# four visits a day; every day; one month. Above that the figure is a typing error, not a need.
MAX_UNITS_PER_MONTH = {"hour": 744.0, "visit": 124.0, "day": 31.0, "month": 1.0}
# Income ÷ subsistence minimum above 100 is not a recipient of means-tested social services.
MAX_INCOME_RATIO = 100.0

_HROMADA_COLUMNS = {
    "recipients": "registered_hromada",
    "case_locations": "hromada_code",
    "providers": "hromada_code",
    "territory_status": "hromada_code",
}
_EVENT_DATES = {
    "recipients": "birth_date",
    "cases": "start_date",
    "case_locations": "valid_from",
    "territory_status": "valid_from",
}
_PERIODS = {
    "cases": ("start_date", "end_date"),
    "case_locations": ("valid_from", "valid_to"),
    "territory_status": ("valid_from", "valid_to"),
}
# Plausibility (`implausible_date`): nobody served was born before EARLIEST_BIRTH, and no case,
# location or territory status predates REGISTRY_START, before any electronic registry of social
# services. Earlier dates are typing errors (01.01.0001, 1800) or placeholders, not facts.
EARLIEST_BIRTH = dt.date(1900, 1, 1)
REGISTRY_START = dt.date(2000, 1, 1)
_PLAUSIBLE_FROM = {
    "recipients": {"birth_date": EARLIEST_BIRTH},
    "cases": {"start_date": REGISTRY_START, "end_date": REGISTRY_START},
    "case_locations": {"valid_from": REGISTRY_START, "valid_to": REGISTRY_START},
    "territory_status": {"valid_from": REGISTRY_START, "valid_to": REGISTRY_START},
}
_FAR_FUTURE = dt.date(9999, 12, 31)
# running maxima of dates per case in one pass: case index × stride + day number (days < 2**23)
_CASE_STRIDE = 1 << 23

Tables = dict[str, pl.DataFrame]


def row_rules(
    tables: Tables,
    files: dict[str, str],
    *,
    hromadas: pl.Series,
    catalogue: pl.DataFrame,
    extract_date: dt.date,
) -> pl.DataFrame:
    """Quarantine rows for reference codes, ranges and date logic within each row."""
    known_hromadas = hromadas.unique().implode()
    known_services = catalogue["service_code"].unique().implode()
    checks: dict[str, list[Check]] = {name: [] for name in tables}
    # a malformed code is already invalid_value; read_registry keeps one of the two per cell
    for table, column in _HROMADA_COLUMNS.items():
        code = pl.col(column)
        checks[table].append(
            (
                ~code.is_in(known_hromadas),
                "unknown_code",
                column,
                code,
                "hromada code not in the KATOTTG territories",
            )
        )
    for table in ("services", "cases"):
        code = pl.col("service_code")
        checks[table].append(
            (
                ~code.is_in(known_services),
                "unknown_code",
                "service_code",
                code,
                "service code not in the services catalogue",
            )
        )
    unit_of = dict(zip(catalogue["service_code"], catalogue["unit"], strict=True))
    code = pl.col("service_code")
    unit = code.replace_strict(unit_of, default=None, return_dtype=pl.String)
    unit_max = code.replace_strict(
        {c: MAX_UNITS_PER_MONTH.get(u) for c, u in unit_of.items()},
        default=None,
        return_dtype=pl.Float64,
    )
    units = pl.col("assessed_units")
    checks["cases"].append(
        (
            (units <= 0) | (units > unit_max),
            "out_of_range",
            "assessed_units",
            units,
            pl.format("assessed units per month must be > 0 and ≤ {} per {}", unit_max, unit),
        )
    )
    income = pl.col("income_ratio")
    checks["recipients"].append(
        (
            (income < 0) | (income > MAX_INCOME_RATIO),
            "out_of_range",
            "income_ratio",
            income,
            f"income ratio must lie between 0 and {MAX_INCOME_RATIO:g}",
        )
    )
    for table, (start, end) in _PERIODS.items():
        checks[table].append(
            (
                pl.col(end) < pl.col(start),
                "end_before_start",
                end,
                pl.col(end),
                pl.format("ends before it starts ({} = {})", pl.lit(start), pl.col(start)),
            )
        )
    for table, columns in _PLAUSIBLE_FROM.items():
        checks[table] += [
            (
                pl.col(column) < earliest,
                "implausible_date",
                column,
                pl.col(column),
                f"before {earliest.isoformat()}: not a plausible "
                + ("birth date" if column == "birth_date" else "date for the registry"),
            )
            for column, earliest in columns.items()
        ]
    for table, column in _EVENT_DATES.items():
        checks[table].append(
            (
                pl.col(column) > extract_date,
                "future_date",
                column,
                pl.col(column),
                f"after the extract date {extract_date.isoformat()}",
            )
        )
    return _concat(
        violations(tables[name], name, files[name], table_checks)
        for name, table_checks in checks.items()
        if table_checks
    )


def relational_rules(
    tables: Tables, files: dict[str, str], quarantine: pl.DataFrame, catalogue: pl.DataFrame
) -> pl.DataFrame:
    """Foreign keys, parents first; `quarantine` holds what is already rejected."""
    found = [quarantine]

    def keys(table: str, key: str) -> tuple[pl.Series, pl.Series]:
        """All keys of a parent table, and the keys of its rejected rows."""
        frame = tables[table]
        lines = pl.concat(found).filter(pl.col("table") == table)[SOURCE_LINE]
        rejected = frame.filter(pl.col(SOURCE_LINE).is_in(lines.implode()))[key]
        return frame[key], rejected

    cases = tables["cases"].with_columns(
        _fk_status("recipient_id", *keys("recipients", "recipient_id"))
    )
    cases_checks = _fk_checks("recipient_id", "recipient")
    # a service outside the catalogue is already unknown_code; only catalogue codes are checked here
    services, bad_services = keys("services", "service_code")
    code = pl.col("service_code")
    in_catalogue = code.is_in(catalogue["service_code"].implode())
    cases_checks += [
        (
            in_catalogue & code.is_in(bad_services.implode()),
            "parent_quarantined",
            "service_code",
            code,
            "the service's row in the services table was quarantined",
        ),
        (
            in_catalogue & ~code.is_in(services.implode()),
            "unknown_code",
            "service_code",
            code,
            "service code not in the extract's services table",
        ),
    ]
    found.append(violations(cases, "cases", files["cases"], cases_checks))
    located = tables["case_locations"]
    locations = located.with_columns(
        _fk_status("case_id", *keys("cases", "case_id"), values=located["case_id"]),
        _fk_status("provider_id", *keys("providers", "provider_id")),
    )
    location_checks = [*_fk_checks("case_id", "case"), *_fk_checks("provider_id", "provider")]
    found.append(violations(locations, "case_locations", files["case_locations"], location_checks))
    return _concat(found[1:])


def location_rules(
    locations: pl.DataFrame, cases: pl.DataFrame, files: dict[str, str], extract_date: dt.date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Quarantine for the locations of valid cases, and the location gaps left afterwards.

    Quarantine: `location_outside_case` and `overlapping_locations` (every row of an overlapping
    pair). Warnings (`location_gap`): one row per stretch of days of a case covered by no location;
    an open case is looked at up to the extract date. A location left open while its case has
    ended is taken to end with the case (the registry rarely closes both), so it is not outside.
    """
    frame = _sorted_locations(locations, cases)
    # locations are sorted by case, then start: a running maximum of the ends of the earlier
    # locations of the same case finds every overlap, not only the one with the previous row
    same_prev, same_next = _same_case(1), _same_case(-1)
    to = _days(pl.col("valid_to").fill_null(_FAR_FUTURE))
    case_key = pl.col("_case") * _CASE_STRIDE
    running_end = (case_key + to).cum_max().shift(1) - case_key
    starts = _days(pl.col("valid_from"))
    overlaps = (same_prev & (starts <= running_end)) | (same_next & (starts.shift(-1) <= to))
    outside = (pl.col("valid_from") < pl.col("start_date")) | (
        pl.col("valid_to") > pl.col("end_date")
    )
    frame = frame.with_columns(_overlaps=overlaps, _outside=outside.fill_null(False))
    period = pl.format("{}..{}", pl.col("valid_from"), _or_open(pl.col("valid_to")))
    checks: list[Check] = [
        (
            pl.col("_outside"),
            "location_outside_case",
            "valid_from",
            period,
            pl.format(
                "location lies outside its case's period {}..{}",
                pl.col("start_date"),
                _or_open(pl.col("end_date")),
            ),
        ),
        (
            pl.col("_overlaps"),
            "overlapping_locations",
            "valid_from",
            period,
            pl.format("overlaps another location of case {}", pl.col("case_id")),
        ),
    ]
    quarantine = violations(frame, "case_locations", files["case_locations"], checks)
    kept = frame.filter(~pl.col("_overlaps") & ~pl.col("_outside"))
    return quarantine, _gaps(kept, cases, files["cases"], extract_date)


def _gaps(
    kept: pl.DataFrame, cases: pl.DataFrame, source_file: str, extract_date: dt.date
) -> pl.DataFrame:
    same_prev, same_next = _same_case(1), _same_case(-1)
    horizon = pl.coalesce(pl.col("end_date"), pl.lit(extract_date))
    day = pl.duration(days=1)
    keep = [SOURCE_LINE, "case_id", "gap_from", "gap_to"]
    before = kept.select(
        pl.col("_case_line").alias(SOURCE_LINE),
        "case_id",
        gap_from=pl.when(same_prev)
        .then(pl.col("valid_to").shift(1) + day)
        .otherwise(pl.col("start_date")),
        gap_to=pl.col("valid_from") - day,
    )
    after = kept.filter(~same_next).select(
        pl.col("_case_line").alias(SOURCE_LINE),
        "case_id",
        gap_from=pl.col("valid_to") + day,
        gap_to=horizon,
    )
    # `_case` is the case's row number in `cases`: integers are far cheaper to look up than ids
    covered = kept["_case"].unique().implode()
    uncovered = cases.filter(~pl.int_range(pl.len(), dtype=pl.Int64).is_in(covered)).select(
        SOURCE_LINE, "case_id", gap_from=pl.col("start_date"), gap_to=horizon
    )
    gaps = pl.concat([before.select(keep), after.select(keep), uncovered.select(keep)]).filter(
        pl.col("gap_from") <= pl.col("gap_to")
    )
    days = (pl.col("gap_to") - pl.col("gap_from")).dt.total_days() + 1
    checks: list[Check] = [
        (
            pl.lit(True),
            "location_gap",
            "case_id",
            pl.format("{}..{}", pl.col("gap_from"), pl.col("gap_to")),
            pl.format("{} days of case {} covered by no location", days, pl.col("case_id")),
        )
    ]
    return violations(gaps.sort(SOURCE_LINE, "gap_from"), "cases", source_file, checks)


def _sorted_locations(locations: pl.DataFrame, cases: pl.DataFrame) -> pl.DataFrame:
    """Locations of valid cases with their case's period, sorted by case (an integer) and start."""
    case_columns = cases.select(
        "case_id",
        "start_date",
        "end_date",
        pl.col(SOURCE_LINE).alias("_case_line"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_case"),
    )
    run = _runs(locations["case_id"], cases["case_id"])
    if run is not None:  # locations by case, every case located: each run is its case's row
        gathered = case_columns.drop("case_id").select(pl.all().gather(run))
        joined = pl.concat([locations, gathered], how="horizontal")
    else:
        joined = locations.join(case_columns, on="case_id", how="inner")
    return joined.sort(
        "_case", "valid_from", pl.col("valid_to").fill_null(_FAR_FUTURE), SOURCE_LINE
    )


def _or_open(end: pl.Expr) -> pl.Expr:
    return end.cast(pl.String).fill_null("open")


def _same_case(offset: int) -> pl.Expr:
    return (pl.col("_case") == pl.col("_case").shift(offset)).fill_null(False)


def _days(date: pl.Expr) -> pl.Expr:
    return date.cast(pl.Int64)


def _fk_status(
    column: str, keys: pl.Series, rejected: pl.Series, values: pl.Series | None = None
) -> pl.Expr:
    """`_fk_<column>`: null when empty, else "ok", "orphan" or "rejected" (the parent row was).
    `values`: the column itself, when every value is known to be among `keys` by its runs
    (`_runs`), so no value is looked up."""
    value = pl.col(column)
    known = (
        pl.lit(True)
        if values is not None and _runs(values, keys) is not None
        else value.is_in(keys.implode())
    )
    return (
        pl.when(value.is_null())
        .then(None)
        .when(value.is_in(rejected.implode()))  # few; and a rejected key always exists
        .then(pl.lit("rejected"))
        .when(known)
        .then(pl.lit("ok"))
        .otherwise(pl.lit("orphan"))
        .alias(f"_fk_{column}")
    )


def _runs(values: pl.Series, keys: pl.Series) -> pl.Series | None:
    """The position in `keys` of each value, when `values` list every key in the keys' order,
    each as one run of equal values (a child table exported by its parent's key, every parent
    with a child: the usual extract); None otherwise. Checked on the first value of each run, so
    no string is hashed or looked up."""
    if len(values) == 0 or values.null_count() or not values.is_sorted():
        return None
    run = values.rle_id()
    ids = run.to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    if len(starts) != len(keys) or not bool((values.gather(starts) == keys).all()):
        return None
    return run.cast(pl.UInt32)


def _fk_checks(column: str, parent: str) -> list[Check]:
    status, value = pl.col(f"_fk_{column}"), pl.col(column)
    return [
        (
            status == "orphan",
            "orphan_key",
            column,
            value,
            f"no {parent} with this id in the extract",
        ),
        (
            status == "rejected",
            "parent_quarantined",
            column,
            value,
            f"the {parent} was quarantined",
        ),
    ]


def _concat(frames: Iterable[pl.DataFrame]) -> pl.DataFrame:
    parts = [f for f in frames if f.height]
    return pl.concat(parts) if parts else empty()
