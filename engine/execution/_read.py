"""Read a budget-execution report the way treasury exports come, validate it, quarantine what is wrong.

The file is read by the registry's own readers (`engine.registry`): CSV in UTF-8, UTF-8 with BOM,
CP1251 or KOI8-U with `;`, `,` or tab separators and decimal commas, or a one-sheet XLSX, every
column as text, each row with its source line; malformed rows and blank lines handled as in an
extract. Headers may be the contract's names or the usual Ukrainian ones (`Період`, `Код КАТОТТГ`,
`КПКВК`, `Касові видатки, тис. грн`, `Кількість отримувачів`, `Кейс-місяці`); the amount's unit is
taken from a `unit` column, else the amount's header (`paid_thousand_uah`, `..., тис. грн`), else
the programme mapping.

Row-level problems go to quarantine (`QUARANTINE_SCHEMA`, table `execution`) with a rule:
`unparseable_value`, `missing_value`, `out_of_range` (a negative amount or count), `invalid_value`
(a bad period, an unknown unit, a unit contradicting the header), `unknown_code` (a territory not
in KATOTTG, a programme code not in the mapping or mapping to no service on that date),
`outside_run` (a period outside the run's months), `duplicate_key` (two rows for one period,
territory and programme: both), `overlapping_periods` (a month and its quarter both reported for
one territory and programme: all of them). File-level problems raise `InputFileError`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engine.columns import money_from_float, round_kopiyka
from engine.errors import InputFileError
from engine.execution._models import (
    EXECUTION_COLUMNS,
    EXECUTION_SCHEMA,
    REPORT_LEVELS,
    ExecutionInput,
)
from engine.execution._programmes import Programmes, unit_factor
from engine.intervals import value_at
from engine.registry._contract import table_spec
from engine.registry._normalise import normalise
from engine.registry._quarantine import Check, violations
from engine.registry._read import SOURCE_LINE, RawTable, read_table_file
from engine.schemas import QUARANTINE_SCHEMA

__all__ = ["TABLE", "Execution", "check_execution_threshold", "read_execution"]

TABLE = "execution"
_OPTIONAL = ("unit", "recipients", "case_months")
_ALIASES = {
    "period": ("period", "період", "звітний період", "місяць", "квартал"),
    "territory_code": (
        *("territory_code", "katottg", "код катоттг", "катоттг", "код території"),
        *("код територіальної громади", "hromada_code"),
    ),
    "programme_code": (
        *("programme_code", "program_code", "кпквк", "кпквкмб", "кпквк мб", "код програми"),
        "код програмної класифікації",
    ),
    "unit": ("unit", "одиниця", "одиниця виміру"),
    "recipients": ("recipients", "кількість отримувачів", "отримувачі", "отримувачів"),
    "case_months": ("case_months", "кейс-місяці", "кейс-місяців", "випадко-місяці"),
}
_NAMES = ("name", "programme_name", "назва програми", "назва", "найменування програми")
# the amount's header, with its unit after it: "paid_thousand_uah", "Касові видатки, тис. грн"
_AMOUNT = re.compile(r"^(paid|amount|касові видатки|сума|видатки)(?:\s*[,(_]\s*(.+?)\)?)?$")
_QUARTER_FIRST = {"1": 1, "2": 4, "3": 7, "4": 10}
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "і": "1", "іі": "2", "ііі": "3", "іv": "4"}


@dataclass(frozen=True)
class Execution:
    """A validated budget-execution report.

    `rows` satisfy `EXECUTION_SCHEMA` (amounts in UAH, exact: Decimal(18, 2)); `quarantine` holds
    every rejected row with its rule, `notes` the reading notes (columns dropped, blank lines,
    the unit), `rows_read` the data rows of the file.
    """

    rows: pl.DataFrame
    quarantine: pl.DataFrame
    notes: pl.DataFrame
    rows_read: int
    source_file: str
    unit: str  # how the amounts' unit was known: "thousand UAH (header)", "UAH (mapping)", ...

    @property
    def quarantined(self) -> int:
        """Distinct source rows quarantined."""
        return int(self.quarantine[SOURCE_LINE].n_unique()) if self.quarantine.height else 0


def read_execution(
    path: str | Path,
    programmes: Programmes,
    *,
    territories: pl.DataFrame | None = None,
    months: tuple[dt.date, dt.date] | None = None,
) -> Execution:
    """Read, type and validate the report at `path` (CSV or XLSX) against the programme mapping,
    the KATOTTG territories (default: the bundled ones) and the run's `months` (first days of the
    first and last month; None: any period).

    >>> from engine.execution import load_programmes
    >>> report = read_execution(
    ...     "data_samples/execution/execution.csv",
    ...     load_programmes("models/programmes/social-services.yaml"),
    ... )
    >>> report.unit, report.rows_read, report.quarantined
    ('thousand UAH (header)', 1729, 3)
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError("budget-execution report not found", path=path)
    raw = read_table_file(TABLE, path)
    raw, header_factor = _named(raw)
    spec = table_spec(TABLE, ExecutionInput)
    spec = {c: s for c, s in spec.items() if c in raw.frame.columns or c not in _OPTIONAL}
    typed = normalise(raw, spec)
    frame = typed.frame.with_columns(
        pl.lit(None, dtype=EXECUTION_COLUMNS[c] if c != "unit" else pl.String()).alias(c)
        for c in _OPTIONAL
        if c not in typed.frame.columns
    )
    if territories is None:
        from engine.reference import load_territories

        territories = load_territories()
    frame = _derived(frame, programmes, territories, header_factor)
    checks = _checks(frame, programmes, months, header_factor)
    quarantine = pl.concat([typed.quarantine, violations(frame, TABLE, raw.source_file, checks)])
    quarantine = quarantine.unique(
        [SOURCE_LINE, "rule", "column"], keep="first", maintain_order=True
    ).sort(SOURCE_LINE, "rule", "column")
    rejected = quarantine[SOURCE_LINE].unique().implode()
    valid = frame.filter(~pl.col(SOURCE_LINE).is_in(rejected))
    rows = _rows(valid)
    _check_contract(rows, raw.source_file)
    unit = _unit_label(raw.frame.columns, header_factor, programmes)
    return Execution(
        rows=rows,
        quarantine=quarantine.select(list(QUARANTINE_SCHEMA)),
        notes=typed.notes.with_columns(
            pl.col("reason").str.replace("the registry contract", "a budget-execution report")
        ),
        rows_read=typed.rows_read,
        source_file=raw.source_file,
        unit=unit,
    )


# --- headers ------------------------------------------------------------------------------------


def _named(raw: RawTable) -> tuple[RawTable, int | None]:
    """Rename the report's headers to the contract's names; the unit the amount's header states."""
    renames: dict[str, str] = {}
    header_factor: int | None = None
    for column in raw.frame.columns:
        words = " ".join(column.replace("_", " ").split()) if column != SOURCE_LINE else column
        target = next(
            (k for k, names in _ALIASES.items() if column in names or words in names), None
        )
        found = _AMOUNT.match(column) or _AMOUNT.match(words)
        if target is None and found:
            target = "paid"
            if found.group(2):
                header_factor = unit_factor(found.group(2).replace("_", " "))
                if header_factor is None:
                    raise InputFileError(
                        f"the amount's header names an unknown unit {found.group(2)!r}; "
                        "expected UAH or thousand UAH (грн, тис. грн)",
                        path=raw.source_file,
                        column=column,
                        line=1,
                    )
        if target is None:
            continue
        if target in renames.values():
            raise InputFileError(
                f"two columns mean '{target}'", path=raw.source_file, column=column, line=1
            )
        renames[column] = target
    # the programme's name is for people reading the file: known, not needed, dropped quietly
    names = [c for c in raw.frame.columns if c in _NAMES and c not in renames]
    frame = raw.frame.drop(names).rename(renames)
    return RawTable(raw.name, raw.source_file, frame, raw.kind), header_factor


def _unit_label(columns: list[str], header_factor: int | None, programmes: Programmes) -> str:
    if "unit" in columns:
        return "as each row's unit column states"
    if header_factor is not None:
        return f"{'thousand UAH' if header_factor == 1000 else 'UAH'} (header)"
    return f"{programmes.unit} (mapping)"


# --- derived columns and checks ---------------------------------------------------------------


def _period(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """First day and grain (`month` / `quarter`) of a period as reports write it; null if none."""
    t = text.str.strip_chars().str.to_lowercase()
    patterns_month = [
        (r"^(\d{4})-(\d{1,2})(?:-01)?$", 1, 2),
        (r"^(?:01\.)?(\d{1,2})[./](\d{4})$", 2, 1),
    ]
    patterns_quarter = [
        (r"^(\d{4})\s*[- ]?\s*q([1-4])$", 1, 2),
        (r"^q([1-4])\s*[- .]?\s*(\d{4})$", 2, 1),
        (
            r"^([1-4]|i{1,3}|iv|і{1,3}|іv)\s*(?:-?й\s*)?(?:кв\.?|квартал)\s*(\d{4})(?:\s*р\.?)?$",
            2,
            1,
        ),
    ]
    month_y = pl.coalesce(t.str.extract(p, y) for p, y, _ in patterns_month).cast(pl.Int32)
    month_m = pl.coalesce(t.str.extract(p, m) for p, _, m in patterns_month).cast(pl.Int32)
    q_y = pl.coalesce(t.str.extract(p, y) for p, y, _ in patterns_quarter).cast(pl.Int32)
    q_n = pl.coalesce(t.str.extract(p, q) for p, _, q in patterns_quarter).replace(_ROMAN)
    q_m = q_n.replace_strict(_QUARTER_FIRST, default=None, return_dtype=pl.Int32)
    month_ok = month_m.is_between(1, 12) & month_y.is_between(2000, 2100)
    quarter_ok = q_m.is_not_null() & q_y.is_between(2000, 2100)
    start = (
        pl.when(month_ok)
        .then(pl.date(month_y, month_m, 1))
        .when(quarter_ok)
        .then(pl.date(q_y, q_m, 1))
    )
    grain = pl.when(month_ok).then(pl.lit("month")).when(quarter_ok).then(pl.lit("quarter"))
    return start, grain


def _territory_lookup(territories: pl.DataFrame) -> pl.DataFrame:
    """Every KATOTTG code of a report's levels with its level and oblast (a city of special
    status, its own oblast, raion and hromada, is a hromada: the finest level names it)."""
    frames = [
        territories.select(
            territory_code=pl.col(f"{level}_code"), level=pl.lit(level), oblast_code="oblast_code"
        )
        for level in REPORT_LEVELS
    ]
    return pl.concat(frames).unique("territory_code", keep="first", maintain_order=True)


def _derived(
    frame: pl.DataFrame, programmes: Programmes, territories: pl.DataFrame, header: int | None
) -> pl.DataFrame:
    # a report has a handful of distinct periods: each is parsed once (the patterns are many)
    start, grain = _period(pl.col("period"))
    periods = (
        frame.select(pl.col("period").unique())
        .with_columns(_start=start, _grain=grain)
        .filter(pl.col("period").is_not_null())
    )
    frame = frame.join(periods, on="period", how="left", maintain_order="left").with_columns(
        territory_code=pl.col("territory_code").str.to_uppercase(),
        programme_code=pl.col("programme_code").str.strip_chars(),
        _unit_factor=pl.col("unit").replace_strict(
            {u: unit_factor(u) for u in frame["unit"].drop_nulls().unique().to_list()},
            default=None,
            return_dtype=pl.Int64,
        ),
    )
    frame = frame.join(_territory_lookup(territories), on="territory_code", how="left")
    mapping = programmes.table.select(
        programme_code="code", valid_from="valid_from", valid_to="valid_to", value="service_code"
    )
    service = value_at(
        frame.select("programme_code", date="_start"), mapping, ["programme_code"]
    ).alias("service_code")
    factor = pl.coalesce(
        pl.col("_unit_factor"), pl.lit(header, pl.Int64), pl.lit(programmes.factor, pl.Int64)
    )
    return frame.with_columns(service, _factor=factor)


def _checks(
    frame: pl.DataFrame,
    programmes: Programmes,
    months: tuple[dt.date, dt.date] | None,
    header: int | None,
) -> list[Check]:
    start, grain = pl.col("_start"), pl.col("_grain")
    end = (
        pl.when(grain == "quarter")
        .then(start.dt.offset_by("3mo"))
        .otherwise(start.dt.offset_by("1mo"))
        .dt.offset_by("-1d")
    )
    code = pl.col("programme_code")
    known = programmes.table["code"].unique().implode()
    period = pl.col("period")
    checks: list[Check] = [
        (
            period.is_not_null() & start.is_null(),
            "invalid_value",
            "period",
            period,
            "not a period: expected a month (2026-03, 03.2026) or a quarter (2026-Q1, I квартал 2026)",
        ),
        (
            pl.col("territory_code").str.contains(r"^UA\d{17}$") & pl.col("level").is_null(),
            "unknown_code",
            "territory_code",
            pl.col("territory_code"),
            "not a hromada, raion or oblast code of the KATOTTG codifier",
        ),
        (
            code.is_not_null() & ~code.is_in(known),
            "unknown_code",
            "programme_code",
            code,
            f"programme code not in the mapping {programmes.path.name}",
        ),
        (
            code.is_in(known) & start.is_not_null() & pl.col("service_code").is_null(),
            "unknown_code",
            "programme_code",
            code,
            pl.format("the programme code maps to no service on {}", start.cast(pl.String)),
        ),
    ]
    if frame["unit"].drop_nulls().len():
        unit = pl.col("unit")
        checks.append(
            (
                unit.is_not_null() & pl.col("_unit_factor").is_null(),
                "invalid_value",
                "unit",
                unit,
                "unknown unit: expected UAH or thousand UAH (грн, тис. грн)",
            )
        )
        if header is not None:
            checks.append(
                (
                    pl.col("_unit_factor").is_not_null() & (pl.col("_unit_factor") != header),
                    "invalid_value",
                    "unit",
                    unit,
                    "this unit contradicts the amount's header",
                )
            )
    if months is not None:
        first, last = months
        last_day = (pl.lit(last).dt.offset_by("1mo").dt.offset_by("-1d")).first()
        checks.append(
            (
                start.is_not_null() & ((start < first) | (end > last_day)),
                "outside_run",
                "period",
                period,
                f"period outside the run's months {first:%Y-%m}..{last:%Y-%m}",
            )
        )
    key = [start, pl.col("territory_code"), code]
    keyed = pl.all_horizontal(k.is_not_null() for k in key)
    checks.append(
        (
            keyed & pl.struct(key).is_duplicated(),
            "duplicate_key",
            "(row)",
            pl.format("{} {} {}", period, pl.col("territory_code"), code),
            "two rows for one period, territory and programme: every such row is quarantined",
        )
    )
    quarter = start.dt.truncate("3mo")
    checks.append(
        (
            keyed & (grain.n_unique().over(quarter, "territory_code", "programme_code") > 1),
            "overlapping_periods",
            "period",
            period,
            "a quarter and a month in it are both reported for this territory and programme",
        )
    )
    return checks


def _rows(valid: pl.DataFrame) -> pl.DataFrame:
    """The typed table: amounts in UAH as exact money, periods as first and last day."""
    uah = valid.select(pl.col("paid") * pl.col("_factor"))["paid"].to_numpy()
    grain = pl.col("_grain")
    end = (
        pl.when(grain == "quarter")
        .then(pl.col("_start").dt.offset_by("3mo"))
        .otherwise(pl.col("_start").dt.offset_by("1mo"))
        .dt.offset_by("-1d")
    )
    label = (
        pl.when(grain == "quarter")
        .then(pl.format("{}-Q{}", pl.col("_start").dt.year(), pl.col("_start").dt.quarter()))
        .otherwise(pl.col("_start").dt.strftime("%Y-%m"))
    )
    rows = valid.with_columns(
        money_from_float(round_kopiyka(uah.astype("float64")), "paid_uah"),
    ).select(
        period=label,
        grain=grain.cast(EXECUTION_COLUMNS["grain"]),
        period_start=pl.col("_start"),
        period_end=end,
        territory_code="territory_code",
        level=pl.col("level").cast(EXECUTION_COLUMNS["level"]),
        oblast_code="oblast_code",
        programme_code="programme_code",
        service_code="service_code",
        paid_uah="paid_uah",
        recipients=pl.col("recipients").cast(pl.Int64),
        case_months=pl.col("case_months").cast(pl.Float64),
        source_line=SOURCE_LINE,
    )
    return rows.select(list(EXECUTION_COLUMNS))


def _check_contract(rows: pl.DataFrame, source_file: str) -> None:
    """pandera re-checks the valid rows; a failure is a bug in the rules above, not bad data."""
    import pandera.errors

    try:
        EXECUTION_SCHEMA.validate(rows, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        raise RuntimeError(f"valid rows of {source_file} break the contract: {exc}") from exc


def check_execution_threshold(
    execution: Execution, threshold: float = 0.01, *, accept: bool = False
) -> bool:
    """Whether the report's quarantined share exceeds `threshold`; above it, raise
    `QuarantineThresholdError` (exit 4) unless the operator `accept`ed it (the registry's rule)."""
    from engine.errors import QuarantineThresholdError

    share = execution.quarantined / execution.rows_read if execution.rows_read else 0.0
    if share > threshold and not accept:
        raise QuarantineThresholdError(
            f"budget-execution report: {execution.quarantined} of {execution.rows_read} rows "
            f"quarantined ({share:.2%}), above the threshold {threshold:.2%}; fix the report or "
            "accept the quarantine explicitly (--accept-quarantine)",
            path=execution.source_file,
        )
    return share > threshold
