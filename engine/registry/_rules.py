"""Row rules that need more than one value: reference codes, ranges, dates, keys across tables.

Applied in dependency order, each step as joins and window functions over whole tables:

1. `row_rules` — per table: codes against the reference data (`unknown_code`), value ranges
   (`out_of_range`), `end_before_start`, `future_date`;
2. `relational_rules` — foreign keys in parent → child order: a reference to a key that does not exist
   is `orphan_key`, to a key whose row was quarantined is `parent_quarantined` (so a quarantined
   recipient takes its cases with it, and a quarantined case its locations);
3. `location_rules` — on the locations still standing: `location_outside_case`,
   `overlapping_locations` (every row of an overlapping pair);
4. `location_gaps` — warnings: days of a valid case covered by no valid location.

Keys are checked with the safe choice: every row of a duplicated key is quarantined (see
`_normalise`), since nothing says which copy is right; their children follow as parent_quarantined.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from engine.registry._normalise import Check, violations
from engine.registry._read import SOURCE_LINE
from engine.schemas import QUARANTINE_SCHEMA

__all__ = [
    "MAX_INCOME_RATIO",
    "MAX_UNITS_PER_MONTH",
    "location_gaps",
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
_KATOTTG = r"^UA\d{17}$"
_FAR_FUTURE = dt.date(9999, 12, 31)

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
    cases = tables["cases"].join(
        catalogue.select("service_code", pl.col("unit").alias("_unit")),
        on="service_code",
        how="left",
    )
    checked = {**tables, "cases": cases}
    checks: dict[str, list[Check]] = {name: [] for name in tables}
    for table, column in _HROMADA_COLUMNS.items():
        code = pl.col(column)
        checks[table].append(
            (
                code.str.contains(_KATOTTG) & ~code.is_in(known_hromadas),
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
                code.is_not_null() & ~code.is_in(known_services),
                "unknown_code",
                "service_code",
                code,
                "service code not in the services catalogue",
            )
        )
    units, unit_max = (
        pl.col("assessed_units"),
        pl.col("_unit").replace_strict(MAX_UNITS_PER_MONTH, default=None, return_dtype=pl.Float64),
    )
    checks["cases"].append(
        (
            (units <= 0) | (units > unit_max),
            "out_of_range",
            "assessed_units",
            units,
            pl.format("assessed units per month must be > 0 and ≤ {} per {}", unit_max, "_unit"),
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
        violations(checked[name], name, files[name], table_checks)
        for name, table_checks in checks.items()
        if table_checks
    )


def relational_rules(
    tables: Tables, files: dict[str, str], quarantine: pl.DataFrame, catalogue: pl.DataFrame
) -> pl.DataFrame:
    """Foreign keys, parents first; `quarantine` holds what is already rejected."""
    found: list[pl.DataFrame] = []

    def rejected(table: str) -> pl.DataFrame:
        lines = [quarantine, *found]
        return pl.concat(lines).filter(pl.col("table") == table).select(SOURCE_LINE).unique()

    cases, services = tables["cases"], tables["services"]
    found.append(
        violations(
            cases.join(
                _key_status(tables["recipients"], "recipient_id", rejected("recipients")),
                on="recipient_id",
                how="left",
            ),
            "cases",
            files["cases"],
            _fk_checks("recipient_id", "recipient"),
        )
    )
    # a service outside the catalogue is already unknown_code; only catalogue codes are checked here
    service_status = _key_status(services, "service_code", rejected("services"))
    in_catalogue = pl.col("service_code").is_in(catalogue["service_code"].implode())
    found.append(
        violations(
            cases.join(service_status, on="service_code", how="left"),
            "cases",
            files["cases"],
            [
                (
                    in_catalogue & pl.col("_parent_ok").not_(),
                    "parent_quarantined",
                    "service_code",
                    pl.col("service_code"),
                    "the service's row in the services table was quarantined",
                ),
                (
                    in_catalogue & pl.col("_parent_ok").is_null(),
                    "unknown_code",
                    "service_code",
                    pl.col("service_code"),
                    "service code not in the extract's services table",
                ),
            ],
        )
    )
    locations = (
        tables["case_locations"]
        .join(_key_status(cases, "case_id", rejected("cases")), on="case_id", how="left")
        .rename({"_parent_ok": "_case_ok"})
        .join(
            _key_status(tables["providers"], "provider_id", rejected("providers")),
            on="provider_id",
            how="left",
        )
        .rename({"_parent_ok": "_provider_ok"})
    )
    location_checks = [
        *_fk_checks("case_id", "case", status="_case_ok"),
        *_fk_checks("provider_id", "provider", status="_provider_ok"),
    ]
    found.append(violations(locations, "case_locations", files["case_locations"], location_checks))
    return _concat(found)


def location_rules(locations: pl.DataFrame, cases: pl.DataFrame, source_file: str) -> pl.DataFrame:
    """`location_outside_case` and `overlapping_locations` over valid locations of valid cases."""
    frame = _sorted_locations(locations, cases)
    to = pl.col("valid_to").fill_null(_FAR_FUTURE)
    earlier_end = to.cum_max().shift(1).over("case_id")
    next_from = pl.col("valid_from").shift(-1).over("case_id")
    outside = (pl.col("valid_from") < pl.col("start_date")) | (
        pl.col("valid_to") > pl.col("end_date")
    )
    checks: list[Check] = [
        (
            outside,
            "location_outside_case",
            "valid_from",
            pl.format("{}..{}", pl.col("valid_from"), pl.col("valid_to")),
            pl.format(
                "location lies outside its case's period {}..{}",
                pl.col("start_date"),
                pl.col("end_date"),
            ),
        ),
        (
            (pl.col("valid_from") <= earlier_end) | (next_from <= to),
            "overlapping_locations",
            "valid_from",
            pl.format("{}..{}", pl.col("valid_from"), pl.col("valid_to")),
            pl.format("overlaps another location of case {}", pl.col("case_id")),
        ),
    ]
    return violations(frame, "case_locations", source_file, checks)


def location_gaps(
    locations: pl.DataFrame, cases: pl.DataFrame, source_file: str, extract_date: dt.date
) -> pl.DataFrame:
    """Warnings: one row per stretch of days of a case covered by no location.

    An open case is looked at up to the extract date. A location left open while its case has ended
    is taken to end with the case (not an error: the registry rarely closes both).
    """
    horizon = pl.coalesce(pl.col("end_date"), pl.lit(extract_date))
    frame = _sorted_locations(locations, cases)
    prev_end = pl.col("valid_to").shift(1).over("case_id")
    is_first = pl.int_range(pl.len()).over("case_id") == 0
    is_last = pl.int_range(pl.len()).over("case_id") == pl.len().over("case_id") - 1
    gap_from = (
        pl.when(is_first).then(pl.col("start_date")).otherwise(prev_end + pl.duration(days=1))
    )
    before = frame.with_columns(
        gap_from=gap_from, gap_to=pl.col("valid_from") - pl.duration(days=1)
    )
    after = frame.filter(is_last).with_columns(
        gap_from=pl.col("valid_to") + pl.duration(days=1), gap_to=horizon
    )
    uncovered = cases.join(locations, on="case_id", how="anti").with_columns(
        gap_from=pl.col("start_date"), gap_to=horizon
    )
    keep = ["case_id", "gap_from", "gap_to"]
    gaps = pl.concat([before.select(keep), after.select(keep), uncovered.select(keep)]).filter(
        pl.col("gap_from") <= pl.col("gap_to")
    )
    gaps = gaps.join(cases.select("case_id", SOURCE_LINE), on="case_id", how="inner")
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
    return locations.join(
        cases.select("case_id", "start_date", "end_date"), on="case_id", how="inner"
    ).sort(
        "case_id",
        "valid_from",
        pl.col("valid_to").fill_null(_FAR_FUTURE),
        SOURCE_LINE,
    )


def _key_status(parent: pl.DataFrame, key: str, rejected_lines: pl.DataFrame) -> pl.DataFrame:
    """One row per key of `parent`: `_parent_ok` is false when any row with that key was rejected."""
    return (
        parent.select(key, SOURCE_LINE)
        .filter(pl.col(key).is_not_null())
        .join(rejected_lines.with_columns(_bad=pl.lit(True)), on=SOURCE_LINE, how="left")
        .group_by(key)
        .agg(_parent_ok=pl.col("_bad").is_null().all())
    )


def _fk_checks(column: str, parent: str, status: str = "_parent_ok") -> list[Check]:
    ok, value = pl.col(status), pl.col(column)
    return [
        (
            value.is_not_null() & ok.is_null(),
            "orphan_key",
            column,
            value,
            f"no {parent} with this id in the extract",
        ),
        (
            value.is_not_null() & ok.not_(),
            "parent_quarantined",
            column,
            value,
            f"the {parent} was quarantined",
        ),
    ]


def _concat(frames: object) -> pl.DataFrame:
    parts = [f for f in frames if f.height]  # type: ignore[attr-defined]
    return pl.concat(parts) if parts else pl.DataFrame(schema=QUARANTINE_SCHEMA)
