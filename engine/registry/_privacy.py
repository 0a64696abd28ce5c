"""Privacy at the door: personal identifiers never get past reading.

Runs on the raw frames, before anything else looks at the values:

1. a column whose *name* says it holds a personal identifier (РНОКПП / tax number, a person's names,
   passport, phone, e-mail, address, УНЗР) is dropped, unless it is a contract column of that table
   (`providers.name` is an organisation's name);
2. a column whose *content* is mostly 10-digit numbers is treated as РНОКПП and dropped, whatever its
   name; if it is an identifier column the contract needs (`recipient_id`, ...) the read stops and
   asks the operator to pseudonymise it;
3. columns asked for are replaced by HMAC-SHA256(key, value) in hex, the same mapping in every table
   that has the column, so joins still work.

What was dropped or hashed is reported by column name only (never a value), as warning rows.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable

import polars as pl

from engine.errors import ConfigError, InputFileError
from engine.registry._contract import ID_COLUMNS, table_spec
from engine.registry._read import SOURCE_LINE, RawTable
from engine.schemas import QUARANTINE_SCHEMA

__all__ = ["PII_DROPPED", "PSEUDONYMISED", "drop_personal_data", "pseudonymise", "redact"]

PII_DROPPED = "personal_data_dropped"
PSEUDONYMISED = "pseudonymised"

# Matched against the column name lower-cased with every non-letter/digit run turned into "_".
# Short tokens must be a whole "_"-separated word ("inn" must not match "inner").
_PII_WORDS = (
    "inn|ipn|іпн|ипн|tin|drfo|дрфо|unzr|унзр|pib|піб|фіо|fio|tel|тел|phone|mobile|email|e_mail"
    "|mail|пошта|адреса|address|passport|паспорт"
)
_PII_SUBSTRINGS = (
    "rnokpp|рнокпп|tax_id|taxid|tax_number|taxpayer|ідентифікаційн|реєстраційн_номер_облік"
    "|first_name|last_name|full_name|middle_name|given_name|family_name|surname|patronymic"
    "|прізвище|по_батькові|phone|телефон|email|passport|паспорт|address|адрес|street|вулиц"
    "|birth_cert|свідоцтв"
)
# a bare "name" in a table of people is a person's name ("service_name" is not)
_PII_NAME = re.compile(rf"^(name|names|імя|ім_я)$|(^|_)({_PII_WORDS})(_|$)|{_PII_SUBSTRINGS}")
_RNOKPP = r"^\d{10}$"
_SAMPLE = 10_000  # values inspected per column for the content test


def is_personal_column(name: str) -> bool:
    """True when a column's name says it holds a personal identifier (Ukrainian or English)."""
    normalised = re.sub(r"[^\w]+", "_", name.lower().replace("'", "").replace("’", ""))
    return bool(_PII_NAME.search(normalised))


def drop_personal_data(
    tables: dict[str, RawTable],
    pseudonymised: Iterable[str] = (),
    key_env: str = "MFR_PSEUDONYM_KEY",
) -> tuple[dict[str, RawTable], pl.DataFrame]:
    """Drop personal-identifier columns; returns the cleaned tables and one note row per column."""
    keep_hashed = set(pseudonymised)
    notes: list[dict[str, object]] = []
    cleaned: dict[str, RawTable] = {}
    for name, raw in tables.items():
        contract = table_spec(name)
        drop: dict[str, str] = {}
        for column in raw.frame.columns:
            if column == SOURCE_LINE:
                continue
            if column not in contract and is_personal_column(column):
                drop[column] = "column name denotes a personal identifier"
            elif _looks_like_rnokpp(raw.frame[column]):
                if column in ID_COLUMNS and column not in keep_hashed:
                    raise InputFileError(
                        "identifier looks like a 10-digit РНОКПП; pass --pseudonymise "
                        f"{column} (key in ${key_env}) to replace it by a keyed hash",
                        path=raw.source_file,
                        column=column,
                    )
                if column not in contract:
                    drop[column] = "most values are 10-digit numbers (РНОКПП)"
        notes += [
            _note(name, raw.source_file, PII_DROPPED, column, f"dropped: {why}")
            for column, why in drop.items()
        ]
        cleaned[name] = RawTable(name, raw.source_file, raw.frame.drop(list(drop)), raw.kind)
    return cleaned, _notes_frame(notes)


def pseudonymise(
    tables: dict[str, RawTable], columns: Iterable[str], key_env: str = "MFR_PSEUDONYM_KEY"
) -> tuple[dict[str, RawTable], pl.DataFrame]:
    """Replace each of `columns` by HMAC-SHA256(key, trimmed value) in hex, in every table."""
    columns = tuple(dict.fromkeys(columns))
    if not columns:
        return tables, _notes_frame([])
    key = os.environ.get(key_env, "")
    if not key:
        raise ConfigError(
            f"pseudonymisation of {', '.join(columns)} needs a secret key in the environment "
            f"variable {key_env}; set it (and keep it: the same key gives the same pseudonyms)"
        )
    contract_columns = {c for t in tables for c in table_spec(t)}
    notes: list[dict[str, object]] = []
    for column in columns:
        if column not in contract_columns:
            raise ConfigError(
                f"cannot pseudonymise '{column}': not a column of the registry contract",
                column=column,
            )
        holders = [name for name, raw in tables.items() if column in raw.frame.columns]
        if not holders:
            continue
        values = [_trimmed(tables[name].frame[column]) for name in holders]
        mapping = _hmac_mapping(pl.concat(values).unique().drop_nulls(), key.encode("utf-8"))
        for name, value in zip(holders, values, strict=True):
            raw = tables[name]
            hashed = value.replace_strict(mapping["value"], mapping["hash"], default=None)
            frame = raw.frame.with_columns(hashed.alias(column))
            tables = {**tables, name: RawTable(name, raw.source_file, frame, raw.kind)}
            notes.append(_note(name, raw.source_file, PSEUDONYMISED, column, "HMAC-SHA256 hex"))
    return tables, _notes_frame(notes)


def redact(value: pl.Expr) -> pl.Expr:
    """Mask a value that is a bare 10-digit number, so a stray РНОКПП never reaches an output."""
    return (
        pl.when(value.str.contains(r"^\s*\+?\d{10}\s*$"))
        .then(pl.lit("<redacted: 10-digit number>"))
        .otherwise(value)
    )


def _looks_like_rnokpp(series: pl.Series) -> bool:
    values = series.drop_nulls()
    if values.is_empty() or not (values.dtype.is_integer() or values.dtype == pl.String):
        return False
    if values.len() > _SAMPLE:  # an even stride sample: deterministic, spread over the file
        values = values.gather_every(values.len() // _SAMPLE)
    text = values.cast(pl.String).str.strip_chars()
    return bool(text.str.contains(_RNOKPP).mean() > 0.5)


def _trimmed(series: pl.Series) -> pl.Series:
    text = series.cast(pl.String).str.strip_chars()
    return pl.select(pl.when(text != "").then(text)).to_series().alias(series.name)


def _hmac_mapping(unique_values: pl.Series, key: bytes) -> pl.DataFrame:
    # One HMAC per distinct value (not per row), in C via hmac.digest: ~2 s per million values.
    # This edge is the one place a Python loop is acceptable: hashlib has no vectorised form.
    hashes = [
        hmac.digest(key, v.encode("utf-8"), hashlib.sha256).hex() for v in unique_values.to_list()
    ]
    return pl.DataFrame({"value": unique_values, "hash": pl.Series(hashes, dtype=pl.String)})


def _note(table: str, source_file: str, rule: str, column: str, reason: str) -> dict[str, object]:
    return {
        "table": table,
        "source_file": source_file,
        "source_line": None,
        "rule": rule,
        "column": column,
        "value": None,
        "reason": reason,
    }


def _notes_frame(notes: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(notes, schema=QUARANTINE_SCHEMA)
