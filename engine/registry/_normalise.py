"""Type the raw values of one table to its contract, vectorised, and quarantine what does not fit.

Each contract column is trimmed, parsed to its type (dates ISO or dd.mm.yyyy; numbers with a decimal
point or comma; booleans true/false/1/0/так/ні/yes/no) and canonicalised (codes upper-cased, enum
values lower-cased, Ukrainian spellings mapped). The checks the pandera model declares (nullable,
isin, str_matches, bounds, unique) are compiled to polars expressions here, so each failure names its
source line (`read_registry` checks the valid rows' types at the end).

Quarantine values are the raw text from the file (bare 10-digit numbers redacted).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import polars as pl

from engine.errors import InputFileError
from engine.registry._contract import ColumnSpec, table_spec
from engine.registry._quarantine import Check, violations
from engine.registry._read import BLANK_LINE, SOURCE_LINE, SOURCE_PROBLEM, RawTable
from engine.schemas import QUARANTINE_SCHEMA

__all__ = [
    "BLANK_LINES",
    "EXTRA_COLUMN",
    "MALFORMED_ROW",
    "OPEN_END_FROM",
    "OPEN_END_SENTINEL",
    "Normalised",
    "normalise",
]

EXTRA_COLUMN = "unknown_column_dropped"
BLANK_LINES = "blank_lines"  # warning: blank records are not rows
MALFORMED_ROW = "malformed_row"  # quarantine: a record whose structure is broken (see `_csv`)
OPEN_END_SENTINEL = "open_end_sentinel"  # warning: far-future end dates read as open
# Registries mark an open end with a far-future date (9999-12-31, 9000-01-01, ...). Any end date
# from OPEN_END_FROM on is such a marker and is read as null (open); start and birth dates are
# not, they are left to the future_date rule. Nearer dates (2099-12-31) are taken as planned ends.
OPEN_END_FROM = dt.date(9000, 1, 1)
_END_DATES = {"cases": "end_date", "case_locations": "valid_to", "territory_status": "valid_to"}
_ROW = "(row)"  # the column of a quarantine row about the whole row
_FULL_YEAR_DATE = r"^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\.\d{1,2}\.\d{4})([ T].*)?$"
_TWO_DIGIT_YEAR = r"^\d{1,2}[./-]\d{1,2}[./-]\d{2}$"
_LOG = logging.getLogger("engine.registry")
_RAW = "__raw__"
_TEXT = "__text__"
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # day 0 of Excel's 1900 date system (after its leap-year bug)
_NULL_WORDS = ("", "null", "NULL", "Null")
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y")

_BOOLEANS = {
    **dict.fromkeys(("true", "t", "1", "1.0", "yes", "y", "так", "т", "істина"), True),
    **dict.fromkeys(("false", "f", "0", "0.0", "no", "n", "ні", "н", "хибність"), False),
}
_SPELLINGS: dict[str, dict[str, str]] = {
    "sex": {"f": "F", "m": "M", "ж": "F", "ч": "M"},
    "disability_group": {
        **{"none": "none", "немає": "none", "ні": "none", "child": "child", "дитина": "child"},
        **{"i": "I", "1": "I", "ii": "II", "2": "II", "iii": "III", "3": "III"},
        **{"і": "I", "іі": "II", "ііі": "III"},  # Cyrillic "і" typed for the Roman numeral
    },
}
# every spelling in lower, UPPER and Capitalised case (mixed case like "cHiLd" stays invalid)
_CANONICAL = {
    column: {
        variant: value
        for spelling, value in spellings.items()
        for variant in (spelling, spelling.upper(), spelling.capitalize())
    }
    for column, spellings in _SPELLINGS.items()
}
_LOWER = {"status", "ownership", "unit"}
_UPPER = {"registered_hromada", "hromada_code"}


@dataclass(frozen=True)
class Normalised:
    """One typed table: contract columns + `source_line`; plus its quarantine and notes."""

    name: str
    source_file: str
    frame: pl.DataFrame
    quarantine: pl.DataFrame
    notes: pl.DataFrame
    rows_read: int


def normalise(raw: RawTable, spec: dict[str, ColumnSpec] | None = None) -> Normalised:
    """Type `raw` to its table's contract (or to `spec`, the column specs of another table read
    the same way); raises `InputFileError` if a contract column is absent."""
    spec = table_spec(raw.name) if spec is None else spec
    present = set(raw.frame.columns)
    for column in spec:
        if column not in present:
            raise InputFileError(
                "missing required column", path=raw.source_file, column=column, line=1
            )
    extra = [
        c for c in raw.frame.columns if c not in spec and c not in (SOURCE_LINE, SOURCE_PROBLEM)
    ]
    if extra:
        _LOG.warning("%s: unknown columns dropped: %s", raw.source_file, ", ".join(extra))
    notes = pl.DataFrame(
        [
            {
                "table": raw.name,
                "source_file": raw.source_file,
                "rule": EXTRA_COLUMN,
                "column": c,
                "reason": "column not in the registry contract: dropped",
            }
            for c in extra
        ],
        schema=QUARANTINE_SCHEMA,
    )
    raw, blank_notes, malformed = _structure(raw)
    frame = _typed_frame(raw, spec)
    frame, open_notes = _open_ends(frame, raw)
    sources = {c: raw.frame.schema[c] for c in spec}
    checks = [
        check
        for c, s in spec.items()
        for check in _column_checks(s, sources[c], distinct=s.unique and _increasing(frame[c]))
    ]
    if malformed is not None:  # a malformed row is quarantined for that alone, not value by value
        checks = [(~malformed & m, rule, c, v, why) for m, rule, c, v, why in checks]
        checks.append(
            (malformed, MALFORMED_ROW, _ROW, pl.lit(None, pl.String), pl.col(SOURCE_PROBLEM))
        )
    quarantine = violations(frame, raw.name, raw.source_file, checks)
    return Normalised(
        name=raw.name,
        source_file=raw.source_file,
        frame=frame.select(*spec, SOURCE_LINE),
        quarantine=quarantine,
        notes=pl.concat([notes, blank_notes, open_notes]),
        rows_read=frame.height,
    )


def _structure(raw: RawTable) -> tuple[RawTable, pl.DataFrame, pl.Expr | None]:
    """Drop blank records (with a warning naming how many and where) and find malformed rows.

    A blank record (a blank or whitespace-only line, a line of separators, an empty sheet row)
    holds no value: it is not a row, so it is neither valid nor quarantined. It is counted and
    reported, one warning per table, so rows read + blank lines = the records of the file.
    """
    if SOURCE_PROBLEM not in raw.frame.columns:
        return raw, _empty_notes(), None
    problem = pl.col(SOURCE_PROBLEM)
    blank_lines = raw.frame.filter(problem == BLANK_LINE)[SOURCE_LINE]
    frame = raw.frame.filter((problem != BLANK_LINE) | problem.is_null())
    notes = _empty_notes()
    if blank_lines.len():
        first = int(blank_lines.min())  # type: ignore[arg-type]
        _LOG.warning("%s: %d blank lines skipped", raw.source_file, blank_lines.len())
        notes = pl.DataFrame(
            [
                {
                    "table": raw.name,
                    "source_file": raw.source_file,
                    "source_line": first,
                    "rule": BLANK_LINES,
                    "column": _ROW,
                    "value": str(blank_lines.len()),
                    "reason": f"{blank_lines.len()} blank or whitespace-only lines (the first "
                    f"at line {first}) hold no value: not rows, skipped",
                }
            ],
            schema=QUARANTINE_SCHEMA,
        )
    raw = RawTable(raw.name, raw.source_file, frame, raw.kind)
    return raw, notes, problem.is_not_null()


def _open_ends(frame: pl.DataFrame, raw: RawTable) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read far-future end dates (from OPEN_END_FROM on) as an open end, with one warning."""
    column = _END_DATES.get(raw.name)
    if column is None or frame.schema.get(column) != pl.Date:
        return frame, _empty_notes()
    sentinel = pl.col(column) >= OPEN_END_FROM
    count = int(frame.select(sentinel.sum()).item() or 0)
    if not count:
        return frame, _empty_notes()
    note = {
        "table": raw.name,
        "source_file": raw.source_file,
        "source_line": frame.filter(sentinel)[SOURCE_LINE].min(),
        "rule": OPEN_END_SENTINEL,
        "column": column,
        "value": str(count),
        "reason": f"{count} end dates on or after {OPEN_END_FROM.isoformat()} (an open-end "
        "marker such as 9999-12-31) read as open",
    }
    # the text goes too, or the null would read as a value that did not parse
    kept = [c for c in (column, _TEXT + column) if c in frame.columns]
    frame = frame.with_columns(pl.when(~sentinel).then(pl.col(c)).alias(c) for c in kept)
    return frame, pl.DataFrame([note], schema=QUARANTINE_SCHEMA)


def _empty_notes() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def _increasing(values: pl.Series) -> bool:
    """Whether the non-null values strictly increase: then no two are equal, which one comparison
    pass shows (a key column exported in key order, as most are), cheaper than hashing them all."""
    present = values.drop_nulls()
    if present.len() < 2:
        return True
    return bool((present.slice(1) > present.slice(0, present.len() - 1)).all())


def _column_checks(spec: ColumnSpec, source: pl.DataType, *, distinct: bool = False) -> list[Check]:
    """The checks of one column; `distinct`: its values are known to hold no duplicate."""
    col, raw = pl.col(spec.name), pl.col(_RAW + spec.name)
    # only parsing can fail: text kept as text, or a typed column taken or cast, cannot
    parsed = _parsed_from_text(source, spec)
    if parsed:
        present = pl.col(_TEXT + spec.name).is_not_null()
    else:  # text keeps every non-empty value, and a typed column is taken as it is
        present = (col if spec.dtype == pl.String else raw).is_not_null()
    shown = raw.cast(pl.String)
    checks: list[Check] = []
    if not spec.nullable:
        checks.append((~present, "missing_value", spec.name, shown, "required value is empty"))
    if parsed:
        reason: pl.Expr | str = _expected(spec)
        if spec.dtype == pl.Date:  # say why a short date is refused rather than guessed
            reason = (
                pl.when(pl.col(_TEXT + spec.name).str.contains(_TWO_DIGIT_YEAR))
                .then(pl.lit("two-digit year is ambiguous (1924 or 2024?): write it in full"))
                .otherwise(pl.lit(reason))
            )
        checks.append((present & col.is_null(), "unparseable_value", spec.name, shown, reason))
    if spec.isin is not None:
        allowed = ", ".join(str(v) for v in spec.isin)
        checks.append(
            (
                col.is_not_null() & ~col.is_in(list(spec.isin)),
                "invalid_value",
                spec.name,
                shown,
                f"not one of: {allowed}",
            )
        )
    if spec.pattern is not None:
        checks.append(
            (
                col.is_not_null() & ~col.str.contains(spec.pattern),
                "invalid_value",
                spec.name,
                shown,
                f"does not match the code format {spec.pattern}",
            )
        )
    for check, bound in spec.bounds.items():
        symbol, fails = {
            "greater_than_or_equal_to": ("≥", col < bound),
            "greater_than": (">", col <= bound),
            "less_than_or_equal_to": ("≤", col > bound),
            "less_than": ("<", col >= bound),
        }[check]
        checks.append((fails, "out_of_range", spec.name, shown, f"must be {symbol} {bound:g}"))
    if spec.unique and not distinct:
        checks.append(
            (
                col.is_not_null() & col.is_duplicated(),
                "duplicate_key",
                spec.name,
                shown,
                "duplicate key: every row with this key is quarantined",
            )
        )
    return checks


def _expected(spec: ColumnSpec) -> str:
    if spec.dtype == pl.Date:
        return "not a date (expected YYYY-MM-DD or DD.MM.YYYY)"
    if spec.dtype == pl.Boolean:
        return "not a yes/no value (true/false, 1/0, так/ні, yes/no)"
    if spec.dtype == pl.Int64:
        return "not a whole number"
    if spec.dtype.is_numeric():
        return "not a number"
    return "cannot be read as text"


# --- parsing -----------------------------------------------------------------------------------


def _typed_frame(raw: RawTable, spec: dict[str, ColumnSpec]) -> pl.DataFrame:
    """Raw columns (`__raw__<c>`), trimmed text of parsed columns (`__text__<c>`), typed columns.

    Each parsed column is read in one pass in the form most of its values take (`_fast`); only
    the values that pass fails on go through every accepted form (`_full`), so a clean column
    costs one parse and a messy one little more.
    """
    sources = {c: raw.frame.schema[c] for c in spec}
    sources_all = raw.frame.columns
    parsed = [c for c, s in spec.items() if _parsed_from_text(sources[c], s)]
    dates = {c: _date_formats(raw.frame[c]) for c in parsed if spec[c].dtype == pl.Date}
    frame = (
        raw.frame.lazy()
        .select(
            SOURCE_LINE,
            *([SOURCE_PROBLEM] if SOURCE_PROBLEM in sources_all else []),
            *(pl.col(c).alias(_RAW + c) for c in spec),
        )
        .with_columns(_text(pl.col(_RAW + c)).alias(_TEXT + c) for c in parsed)
        .with_columns(
            _fast(pl.col(_TEXT + c), s.dtype, dates.get(c)).alias(c)
            if c in parsed
            else _typed(pl.col(_RAW + c), sources[c], s).alias(c)
            for c, s in spec.items()
        )
        .collect()
    )
    excel = raw.kind == "xlsx"
    for c in parsed:
        missed = (frame[c].is_null() & frame[_TEXT + c].is_not_null()).arg_true()
        if len(missed):
            text = frame[_TEXT + c].gather(missed)
            values = pl.select(_full(pl.lit(text), spec[c].dtype, excel=excel)).to_series()
            frame = frame.with_columns(frame[c].scatter(missed, values))
    return frame


def _parsed_from_text(source: pl.DataType, spec: ColumnSpec) -> bool:
    """Whether the column is parsed from its text (else taken as it is, or cast)."""
    target = spec.dtype
    if target == pl.String or _taken_as_is(source, target):
        return False
    if target == pl.Date and source in (pl.Datetime, pl.Date):
        return False
    # a float that should be a whole number is checked through its text ("1.5" fails)
    return not (target.is_numeric() and source.is_numeric() and target != pl.Int64)


def _taken_as_is(source: pl.DataType, target: pl.DataType) -> bool:
    return source == target and target != pl.String


def _typed(raw: pl.Expr, source: pl.DataType, spec: ColumnSpec) -> pl.Expr:
    """A column that needs no parsing: text kept as text, or a typed Parquet column."""
    target = spec.dtype
    if _taken_as_is(source, target):
        return raw
    if target == pl.Date and source in (pl.Datetime, pl.Date):
        return raw.cast(pl.Datetime).dt.date()
    if target.is_numeric() and source.is_numeric() and target != pl.Int64:
        return raw.cast(target)
    return _canonical(_text(raw), spec.name)


def _text(raw: pl.Expr) -> pl.Expr:
    """Trimmed text; empty or the word NULL is a missing value."""
    text = raw.cast(pl.String).str.strip_chars()
    return pl.when(~text.is_in(_NULL_WORDS)).then(text)


def _fast(text: pl.Expr, dtype: pl.DataType, dates: tuple[str, ...] | None) -> pl.Expr:
    """One parse in the column's usual form; null where the value takes another form."""
    if dtype == pl.Date:  # "1.1.24" would be the year 24: a year is written with four digits
        parsed = text.str.to_date((dates or _DATE_FORMATS)[0], strict=False)
        # cheaper than a pattern: a year under 100 in fewer than 10 characters had two digits
        return pl.when((parsed.dt.year() >= 100) | (text.str.len_bytes() >= 10)).then(parsed)
    if dtype == pl.Int64:
        return text.cast(pl.Int64, strict=False)
    if dtype == pl.Boolean:
        return _parse_boolean(text)
    number = text.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
    return pl.when(number.is_finite()).then(number)


def _full(text: pl.Expr, dtype: pl.DataType, *, excel: bool) -> pl.Expr:
    """Every accepted form, in order; null where none fits (the value is unparseable)."""
    if dtype == pl.Date:
        return _parse_date(text, excel=excel)
    if dtype == pl.Int64:
        number = _parse_number(text)
        return pl.when(number == number.round(0)).then(number).cast(pl.Int64, strict=False)
    if dtype == pl.Boolean:
        return _parse_boolean(text)
    return _parse_number(text)


def _date_formats(values: pl.Series) -> tuple[str, ...]:
    """The accepted date formats, the one most of the first values use first."""
    sample = values.drop_nulls().head(1000).cast(pl.String).str.strip_chars()
    dotted = int(sample.str.contains(r"^\d{1,2}\.\d{1,2}\.\d{4}$").sum())
    return _DATE_FORMATS[::-1] if 2 * dotted > sample.len() else _DATE_FORMATS


def _parse_date(text: pl.Expr, *, excel: bool) -> pl.Expr:
    # Excel and database exports append a midnight time to dates
    day = text.str.replace(r"[ T]00:00(:00(\.0+)?)?$", "")
    parsed = pl.coalesce(day.str.to_date(fmt, strict=False) for fmt in _DATE_FORMATS)
    parsed = pl.when(day.str.contains(_FULL_YEAR_DATE)).then(parsed)
    if excel:  # a date cell without a date format arrives as its serial day number
        serial = text.str.extract(r"^(\d{4,5})(?:\.0+)?$").cast(pl.Int64)
        parsed = pl.coalesce(parsed, pl.lit(_EXCEL_EPOCH) + pl.duration(days=serial))
    return parsed


def _parse_number(text: pl.Expr) -> pl.Expr:
    # spaces (incl. no-break) group thousands; a comma is the decimal mark
    number = (
        text.str.replace_all(r"[\s\u00a0\u202f]", "")
        .str.replace(",", ".", literal=True)
        .cast(pl.Float64, strict=False)
    )
    return pl.when(number.is_finite()).then(number)


def _parse_boolean(text: pl.Expr) -> pl.Expr:
    return text.str.to_lowercase().replace_strict(_BOOLEANS, default=None, return_dtype=pl.Boolean)


def _canonical(text: pl.Expr, column: str) -> pl.Expr:
    if column in _CANONICAL:  # one hash lookup; lower-casing every value costs 5x more
        return text.replace(_CANONICAL[column])
    if column in _LOWER:
        return text.str.to_lowercase()
    if column in _UPPER:
        return text.str.to_uppercase()
    if column == "edrpou":  # Excel drops the leading zeros of a numeric code
        return pl.when(text.str.contains(r"^\d{5,7}$")).then(text.str.zfill(8)).otherwise(text)
    return text
