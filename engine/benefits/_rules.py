"""Rules across the rows of a benefits extract, vectorised: what is quarantined, what is warned.

Quarantined (the row does not enter the circumstances):
- `end_before_start`: a period, assessment or certificate that ends before it starts;
- `future_date`: a start after the extract date;
- `implausible_date`: a start before 1900-01-01;
- `missing_value`: a declaration with neither a ratio nor both income and subsistence minimum;
- `contradictory_values`: a ratio that disagrees with income ÷ subsistence minimum (by > 0.01);
- `unknown_code`: a hromada not in KATOTTG;
- `contradictory_periods`: two records of one person that overlap and say different things
  (both rows; the days they cover fall back on the funding model's gap rules).

Warned (the rows stand): `overlapping_periods` (overlapping records that agree: merged),
`stale_declaration` (a person's latest declaration ended more than `max_declaration_age_months`
before the extract date).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from engine.benefits._models import PERIODS
from engine.dates import add_months
from engine.registry._quarantine import Check, violations
from engine.registry._read import SOURCE_LINE
from engine.schemas import QUARANTINE_SCHEMA

__all__ = ["RATIO_TOLERANCE", "benefit_rules", "with_ratio"]

RATIO_TOLERANCE = 0.01
_PLAUSIBLE_FROM = dt.date(1900, 1, 1)
_OPEN = dt.date(9999, 12, 31)
# what a record says: two overlapping records saying the same are merged, else contradictory
_SAYS = {
    "income_declarations": ("income_ratio",),
    "disability_assessments": ("disability_group",),
    "idp_certificates": ("hromada_code",),
}


def with_ratio(declarations: pl.DataFrame) -> pl.DataFrame:
    """The income ratio of every declaration: as declared, else income ÷ subsistence minimum."""
    derived = pl.col("average_income_uah") / pl.col("subsistence_minimum_uah")
    return declarations.with_columns(pl.coalesce("income_ratio", derived).alias("income_ratio"))


def _shown(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String)


def _row_checks(table: str, extract_date: dt.date, hromadas: pl.Series) -> list[Check]:
    checks: list[Check] = []
    if table in PERIODS:
        start, end = PERIODS[table]
        checks += [
            (pl.col(end) < pl.col(start), "end_before_start", end, _shown(end),
             f"{end} is before {start}"),
            (pl.col(start) > extract_date, "future_date", start, _shown(start),
             f"after the extract date {extract_date.isoformat()}"),
            (pl.col(start) < _PLAUSIBLE_FROM, "implausible_date", start, _shown(start),
             "before 1900-01-01"),
        ]  # fmt: skip
    if table == "income_declarations":
        neither = pl.col("income_ratio").is_null() & (
            pl.col("average_income_uah").is_null() | pl.col("subsistence_minimum_uah").is_null()
        )
        derived = pl.col("average_income_uah") / pl.col("subsistence_minimum_uah")
        checks += [
            (neither, "missing_value", "income_ratio", pl.lit(None, pl.String),
             "neither income_ratio nor average_income_uah and subsistence_minimum_uah"),
            ((pl.col("income_ratio") - derived).abs() > RATIO_TOLERANCE, "contradictory_values",
             "income_ratio", _shown("income_ratio"),
             pl.format("income ÷ subsistence minimum is {}", derived.round(3).cast(pl.String))),
        ]  # fmt: skip
    if table == "idp_certificates":
        for column in ("hromada_code", "origin_hromada"):
            unknown = pl.col(column).is_not_null() & ~pl.col(column).is_in(hromadas.implode())
            checks.append(
                (unknown, "unknown_code", column, _shown(column), "hromada not in KATOTTG")
            )
    return checks


def _overlaps(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Each row with `_overlap` (overlaps the previous record of its person) and `_differs`
    (and says something else), for both rows of every such pair."""
    start, end = PERIODS[table]
    says = _SAYS[table]
    # persons by the number of their pseudonym (grouping, not order, matters); text keys (a
    # frame built elsewhere) numbered by a categorical: no sort of 64-character keys
    key = pl.col("person_key")
    person = (
        key.cast(pl.Categorical).to_physical() if frame.schema["person_key"] == pl.String else key
    )
    ordered = frame.with_columns(_person=person)
    ordered = ordered.sort("_person", start, SOURCE_LINE)
    same = pl.col("_person") == pl.col("_person").shift(1)
    reach = pl.col(end).fill_null(_OPEN).shift(1)
    differs = pl.any_horizontal((pl.col(c) != pl.col(c).shift(1)).fill_null(False) for c in says)
    marked = ordered.with_columns(
        _overlap=(same & (pl.col(start) <= reach)).fill_null(False),
    ).with_columns(_differs=pl.col("_overlap") & differs)
    # the earlier row of a pair is flagged too
    return marked.with_columns(
        _overlap=pl.col("_overlap") | pl.col("_overlap").shift(-1).fill_null(False),
        _differs=pl.col("_differs") | pl.col("_differs").shift(-1).fill_null(False),
    )


def benefit_rules(
    tables: dict[str, pl.DataFrame],
    files: dict[str, str],
    *,
    extract_date: dt.date,
    hromadas: pl.Series,
    max_declaration_age_months: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Quarantine and warning rows of every table (the registry's quarantine schema)."""
    quarantine: list[pl.DataFrame] = [pl.DataFrame(schema=QUARANTINE_SCHEMA)]
    warnings: list[pl.DataFrame] = [pl.DataFrame(schema=QUARANTINE_SCHEMA)]
    for table, frame in tables.items():
        source = files.get(table, table)
        quarantine.append(
            violations(frame, table, source, _row_checks(table, extract_date, hromadas))
        )
    rejected = pl.concat(quarantine)
    for table in _SAYS:
        frame = tables[table]
        lines = rejected.filter(pl.col("table") == table)[SOURCE_LINE].implode()
        valid = frame.filter(~pl.col(SOURCE_LINE).is_in(lines))
        if table == "income_declarations":
            valid = with_ratio(valid)
        if valid.is_empty():
            continue
        marked = _overlaps(table, valid)
        start = PERIODS[table][0]
        source = files.get(table, table)
        quarantine.append(
            violations(marked, table, source, [
                (pl.col("_differs"), "contradictory_periods", start, _shown(start),
                 "overlaps another record of the same person that says otherwise"),
            ])
        )  # fmt: skip
        warnings.append(
            violations(marked, table, source, [
                (pl.col("_overlap") & ~pl.col("_differs"), "overlapping_periods", start,
                 _shown(start), "overlaps another record of the same person that agrees: merged"),
            ])
        )  # fmt: skip
    declarations = tables["income_declarations"]
    if declarations.height:
        oldest = add_months(extract_date.replace(day=1), -max_declaration_age_months)
        latest = pl.col("period_to") == pl.col("period_to").max().over("person_key")
        warnings.append(
            violations(declarations, "income_declarations", files.get("income_declarations", ""), [
                (latest & (pl.col("period_to") < oldest), "stale_declaration", "period_to",
                 _shown("period_to"),
                 f"the person's latest declaration ended more than {max_declaration_age_months} "
                 "months before the extract date: income unknown since (gap rules apply)"),
            ])
        )  # fmt: skip
    return pl.concat(quarantine), pl.concat(warnings)
