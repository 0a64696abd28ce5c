"""Read a benefits extract the way the registry is read: files, privacy at the door, types, rules.

1. each table file (`income_declarations`, `disability_assessments`, `idp_certificates`,
   `assistance_paid`; CSV in any encoding the registry accepts, Parquet or XLSX) is read as raw
   values with its source lines (`engine.registry`'s `read_table_file`);
2. privacy first: the РНОКПП column (`rnokpp`, `рнокпп`, `ipn`, `inn`, `tax_id`, ...) becomes
   `person_key` = HMAC-SHA256(`$MFR_PSEUDONYM_KEY`, the 10 digits) and is dropped; a value that
   is not 10 digits is quarantined without being shown; every other personal column is dropped
   and identifiers inside text are masked, as in the registry;
3. columns are typed to the pandera models of `_models` by the registry's normaliser;
4. row rules (`_rules`) quarantine or warn; nothing is dropped silently.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from engine.benefits._models import BENEFITS_TABLES, END_DATES
from engine.errors import ConfigError, InputFileError
from engine.registry._contract import ColumnSpec, table_spec
from engine.registry._normalise import OPEN_END_FROM, OPEN_END_SENTINEL, Normalised, normalise
from engine.registry._privacy import (
    PII_DROPPED,
    PII_MASKED,
    PSEUDONYMISED,
    _mask_text,
    is_personal_column,
)
from engine.registry._quarantine import violations
from engine.registry._read import SOURCE_LINE, RawTable, read_table_file
from engine.schemas import QUARANTINE_SCHEMA

__all__ = [
    "PERSON_KEY",
    "PERSON_KEY_NAMES",
    "BenefitsExtract",
    "PersonKeys",
    "hash_person_keys",
    "hmac_sha256_hex",
    "person_key_column",
    "pseudonym_key",
    "read_benefits_extract",
]

PERSON_KEY = "person_key"
# how a РНОКПП column is named in the exports of ІАССЗН, "Соціальна громада" and the registry
PERSON_KEY_NAMES = ("rnokpp", "рнокпп", "ipn", "іпн", "inn", "tax_id", "tax_number", "drfo", "дрфо")
_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".xlsx")
_TEN_DIGITS = r"^\d{10}$"


@dataclass(frozen=True)
class BenefitsExtract:
    """A benefits extract as read: typed tables keyed by `person_key` (a pseudonym), with what was
    rejected (`quarantine`) and what was noted (`warnings`), both in the registry's schema."""

    tables: dict[str, pl.DataFrame]
    extract_date: dt.date
    quarantine: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=QUARANTINE_SCHEMA))
    warnings: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=QUARANTINE_SCHEMA))
    rows_read: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # table -> source file


def person_key_column(frame: pl.DataFrame, source: str) -> str:
    """The column holding the РНОКПП that persons are matched on; a file without one is refused."""
    for name in PERSON_KEY_NAMES:
        if name in frame.columns:
            return name
    raise InputFileError(
        f"no РНОКПП column to match persons on (one of: {', '.join(PERSON_KEY_NAMES)})",
        path=source,
        column="rnokpp",
        line=1,
    )


def _key(key_env: str) -> bytes:
    key = os.environ.get(key_env, "")
    if not key:
        raise ConfigError(
            f"joining a benefits extract to the registry needs the pseudonymisation key in "
            f"${key_env} (both extracts' РНОКПП are replaced by the same keyed hash before the "
            "join); set it, and keep it"
        )
    return key.encode("utf-8")


def _digits(values: pl.Series) -> pl.Series:
    """Each value as the integer of its 10 digits (spaces as typed removed), null otherwise."""
    text = values.cast(pl.String)
    ok = text.str.contains(_TEN_DIGITS)
    if not bool((ok | text.is_null()).all()):  # the usual file needs no cleaning: skip it
        text = text.str.replace_all(r"[\s\u00a0]", "")
        ok = text.str.contains(_TEN_DIGITS)
    # a digit that is not ASCII (the pattern's \d takes any) is no РНОКПП: left null
    return pl.select(pl.when(ok).then(text.cast(pl.Int64, strict=False))).to_series()


def hmac_sha256_hex(key: bytes, digits: pl.Series) -> pl.DataFrame:
    """`digits` (distinct 10-digit integers) and `hash`: HMAC-SHA256 hex of each as its 10-digit
    text, keyed with `key` — RFC 2104 spelled out in DuckDB's vectorised `sha256` on binary
    concatenations, H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)), over all values at once and on every
    core: the same value `hmac.digest(key, m, "sha256").hex()` gives (the tests compare them)."""
    import duckdb

    block = 64  # SHA-256's block: a longer key is hashed first, a shorter one padded with zeros
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner = bytes(b ^ 0x36 for b in padded)
    outer = bytes(b ^ 0x5C for b in padded)
    frame = pl.DataFrame({"digits": digits})
    with duckdb.connect() as con:
        con.register("person_digits", frame)
        result = con.sql(
            "SELECT digits, sha256($outer || unhex(sha256($inner || "
            "encode(lpad(CAST(digits AS VARCHAR), 10, '0'))))) AS hash FROM person_digits",
            params={"inner": inner, "outer": outer},
        ).pl()
    return result.select(pl.col("digits").cast(pl.Int64), pl.col("hash").cast(pl.String))


class PersonKeys:
    """The keyed pseudonyms of 10-digit РНОКПП values (spaces removed): HMAC-SHA256 hex keyed with
    the operator's key, numbered within this instance; null where a value is not 10 digits.

    `codes` gives each value the number of its pseudonym (UInt32: what tables carry as
    `person_key` and are joined on, integers rather than 64-character text), `hashes` the
    pseudonyms by number, `hash` the pseudonym of each value. Each distinct value is hashed once,
    over every table hashed through one instance (the registry's recipients and each benefits
    table name mostly the same persons), all at once (`hmac_sha256_hex`): no Python loop. Numbers
    follow the pseudonyms' order within each batch, so they say nothing of the digits, which never
    leave the instance."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._known = pl.DataFrame(schema={"digits": pl.Int64, "hash": pl.String})

    @property
    def hashes(self) -> pl.Series:
        """The pseudonyms (HMAC-SHA256 hex) by number."""
        return self._known["hash"]

    def codes(self, values: pl.Series) -> pl.Series:
        """The number of each value's pseudonym (`person_key`, UInt32), null where not a РНОКПП."""
        digits = _digits(values).rename("digits")
        new = digits.drop_nulls().unique()
        if self._known.height:
            new = new.filter(~new.is_in(self._known["digits"].implode()))
        if len(new):
            added = hmac_sha256_hex(self._key, new).sort("hash")
            self._known = pl.concat([self._known, added])
        lookup = self._known.select(
            "digits", pl.int_range(pl.len(), dtype=pl.UInt32).alias(PERSON_KEY)
        )
        joined = digits.to_frame().join(lookup, on="digits", how="left", maintain_order="left")
        return joined[PERSON_KEY]

    def hash(self, values: pl.Series) -> pl.Series:
        """The pseudonym (HMAC-SHA256 hex) of each value, null where not a РНОКПП."""
        codes = self.codes(values)
        if not self._known.height:
            return pl.Series(PERSON_KEY, [None] * len(codes), dtype=pl.String)
        hashes = self.hashes.gather(codes.fill_null(0))
        return pl.select(pl.when(codes.is_not_null()).then(hashes)).to_series().rename(PERSON_KEY)


def hash_person_keys(values: pl.Series, key: bytes) -> pl.Series:
    """`PersonKeys(key).hash(values)`: the pseudonym of each 10-digit value, null otherwise."""
    return PersonKeys(key).hash(values)


def _note(table: str, source: str, rule: str, column: str, reason: str) -> dict[str, object]:
    return {
        "table": table,
        "source_file": source,
        "source_line": None,
        "rule": rule,
        "column": column,
        "value": None,
        "reason": reason,
    }


def _private(raw: RawTable, keys: PersonKeys) -> tuple[RawTable, pl.DataFrame, pl.DataFrame]:
    """Privacy at the door for one table: hash the person key, drop personal columns, mask text.

    Returns the cleaned table, its quarantine (keys that are not a РНОКПП; the value is never
    shown) and notes."""
    frame, source = raw.frame, raw.source_file
    column = person_key_column(frame, source)
    hashed = keys.codes(frame[column])  # the pseudonym's number: joined on as an integer
    bad = hashed.is_null() & frame[column].is_not_null()
    quarantine = frame.filter(bad).select(
        pl.lit(raw.name).alias("table"),
        pl.lit(source).alias("source_file"),
        pl.col(SOURCE_LINE).cast(pl.Int64),
        pl.lit("invalid_value").alias("rule"),
        pl.lit(column).alias("column"),
        pl.lit(None, pl.String).alias("value"),
        pl.lit("not a 10-digit РНОКПП: the person cannot be matched (value not shown)").alias(
            "reason"
        ),
    )
    frame = frame.with_columns(hashed).drop(column)
    contract = table_spec(raw.name, BENEFITS_TABLES[raw.name])
    notes = [_note(raw.name, source, PSEUDONYMISED, column, f"HMAC-SHA256 hex as {PERSON_KEY}")]
    drop = [
        c
        for c in frame.columns
        if c not in contract and c != SOURCE_LINE and (is_personal_column(c) or _tax_like(frame[c]))
    ]
    notes += [
        _note(raw.name, source, PII_DROPPED, c, "dropped: a personal identifier") for c in drop
    ]
    frame = frame.drop(drop)
    typed = {c for c, s in contract.items() if s.dtype != pl.String} | {PERSON_KEY, SOURCE_LINE}
    frame, counts = _mask_text(frame, skip=typed)  # the registry's: by distinct values
    notes += [
        _note(raw.name, source, PII_MASKED, c, f"{count:,} values held an identifier: masked")
        for c, count in counts.items()
    ]
    cleaned = RawTable(raw.name, source, frame, raw.kind)
    return cleaned, quarantine.select(list(QUARANTINE_SCHEMA)), _frame(notes)


def _tax_like(series: pl.Series) -> bool:
    values = series.drop_nulls()
    if values.is_empty() or not (values.dtype.is_integer() or values.dtype == pl.String):
        return False
    sample = values.head(10_000).cast(pl.String).str.strip_chars()
    return bool(sample.str.contains(_TEN_DIGITS).mean() > 0.5)  # type: ignore[operator]


def _frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=QUARANTINE_SCHEMA)


def _open_ends(table: str, frame: pl.DataFrame, source: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """An end date from 9000-01-01 on (9999-12-31) marks an open end: read as open, one warning."""
    column = END_DATES.get(table)
    if column is None or table == "income_declarations":  # a declaration always has a period
        return frame, _frame([])
    sentinel = (pl.col(column) >= OPEN_END_FROM).fill_null(False)
    count = int(frame.select(sentinel.sum()).item() or 0)
    if not count:
        return frame, _frame([])
    note = _note(
        table, source, OPEN_END_SENTINEL, column, f"{count} far-future end dates read as open"
    )
    return frame.with_columns(pl.when(~sentinel).then(pl.col(column)).alias(column)), _frame([note])


def _files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise InputFileError("benefits extract not found (a folder of table files)", path=folder)
    found: dict[str, Path] = {}
    for file in sorted(folder.iterdir()):
        name = file.stem.lower()
        if name in BENEFITS_TABLES and file.suffix.lower() in _SUFFIXES and file.is_file():
            if name in found:
                raise InputFileError(f"two files for table '{name}'; keep one", path=folder)
            found[name] = file
    if not found:
        raise InputFileError(
            f"no table of a benefits extract (expected one of: {', '.join(BENEFITS_TABLES)})",
            path=folder,
        )
    return found


def _empty(table: str) -> pl.DataFrame:
    spec = table_spec(table, BENEFITS_TABLES[table])
    types = {c: pl.UInt32 if c == PERSON_KEY else s.dtype for c, s in spec.items()}
    return pl.DataFrame(schema={**types, SOURCE_LINE: pl.Int64})


def _typed(raw: RawTable, spec: dict[str, ColumnSpec]) -> Normalised:
    """`normalise` of every column but the pseudonym's number, which is put back as it was (the
    contract's text pseudonym is what `PersonKeys.hashes` holds for it; no need to check it)."""
    keys = raw.frame.select(SOURCE_LINE, PERSON_KEY)
    rest = RawTable(raw.name, raw.source_file, raw.frame.drop(PERSON_KEY), raw.kind)
    typed = normalise(rest, {c: s for c, s in spec.items() if c != PERSON_KEY})
    frame = typed.frame
    if frame.height == keys.height and frame[SOURCE_LINE].equals(keys[SOURCE_LINE]):
        frame = frame.with_columns(keys[PERSON_KEY])
    else:  # rows the normaliser set aside (blank lines): by source line
        frame = frame.join(keys, on=SOURCE_LINE, how="left", maintain_order="left")
    columns = [c for c in spec if c != PERSON_KEY]
    # as the normaliser said of the text pseudonym: no key (empty, or no РНОКПП) is a missing value
    missing = violations(
        frame,
        raw.name,
        raw.source_file,
        [(pl.col(PERSON_KEY).is_null(), "missing_value", PERSON_KEY, pl.lit(None, pl.String),
          "required value is empty")],
    )  # fmt: skip
    return dataclasses.replace(
        typed,
        frame=frame.select(PERSON_KEY, *columns, SOURCE_LINE),
        quarantine=pl.concat([typed.quarantine, missing]),
    )


def pseudonym_key(key_env: str = "MFR_PSEUDONYM_KEY") -> PersonKeys:
    """The hasher of РНОКПП under the key in `$key_env` (a configuration error without it)."""
    return PersonKeys(_key(key_env))


def read_benefits_extract(
    path: str | Path, *, extract_date: dt.date, keys: PersonKeys
) -> BenefitsExtract:
    """Read and type every table of the benefits extract at `path` (a folder); a table the
    extract does not have is empty. Row rules are `_rules`'; this is the door and the types."""
    folder = Path(path)
    files = _files(folder)
    tables: dict[str, pl.DataFrame] = {}
    quarantine: list[pl.DataFrame] = []
    notes: list[pl.DataFrame] = []
    rows_read: dict[str, int] = {}
    for table in BENEFITS_TABLES:
        if table not in files:
            tables[table] = _empty(table)
            rows_read[table] = 0
            continue
        raw = read_table_file(table, files[table])
        if table == "idp_certificates":  # codes are upper case, as the registry's
            raw = RawTable(
                raw.name,
                raw.source_file,
                raw.frame.with_columns(
                    pl.col(c).cast(pl.String).str.strip_chars().str.to_uppercase()
                    for c in ("hromada_code", "origin_hromada")
                    if c in raw.frame.columns
                ),
                raw.kind,
            )
        raw, door_quarantine, door_notes = _private(raw, keys)
        spec = table_spec(table, BENEFITS_TABLES[table])
        absent = [c for c, s in spec.items() if s.nullable and c not in raw.frame.columns]
        if absent:  # a column that may be empty may also be left out (income or ratio, origin)
            frame = raw.frame.with_columns(pl.lit(None, pl.String).alias(c) for c in absent)
            raw = RawTable(raw.name, raw.source_file, frame, raw.kind)
        typed = _typed(raw, spec)
        frame, open_notes = _open_ends(table, typed.frame, typed.source_file)
        if table == "assistance_paid":  # a month is its first day
            frame = frame.with_columns(pl.col("month").dt.month_start())
        tables[table] = frame
        rows_read[table] = typed.rows_read
        quarantine += [door_quarantine, typed.quarantine]
        notes += [door_notes, typed.notes, open_notes]
    return BenefitsExtract(
        tables=tables,
        extract_date=extract_date,
        quarantine=pl.concat([_frame([]), *quarantine]),
        warnings=pl.concat([_frame([]), *notes]),
        rows_read=rows_read,
        files={t: str(f) for t, f in files.items()},
    )
