"""Privacy at the door: personal identifiers never get past reading.

Runs on the raw frames, before anything else looks at the values:

1. a column whose *name* says it holds a personal identifier (РНОКПП / tax number, a person's names,
   passport, phone, e-mail, address, УНЗР) is dropped, unless it is a contract column of that table
   (`providers.name` is an organisation's name);
2. a column whose *content* is mostly 10-digit numbers is treated as РНОКПП and dropped, whatever its
   name; if it is an identifier column the contract needs (`recipient_id`, ...) the read stops and
   asks the operator to pseudonymise it;
3. an identifier column of the contract (`recipient_id`, `case_id`, `provider_id`) that holds a
   10-digit number or a phone number on even one row stops the read, unless it is pseudonymised;
4. columns asked for are replaced by HMAC-SHA256(key, value) in hex, the same mapping in every table
   that has the column, so joins still work;
5. individual providers (ФОП: an entrepreneur is a person, known by its name, its ownership or a
   10-digit code, which only an individual has) lose their name and their code, which is the
   owner's РНОКПП: the name becomes a neutral label with the provider's id, the code
   `WITHHELD_CODE`; legal entities keep both;
6. in every other text column a value's phone numbers, passport numbers, РНОКПП and e-mail
   addresses are replaced by labels (`_identifiers`).

What was dropped, hashed or masked is reported by column name and count only (never a value), as
warning rows.
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
from engine.registry._identifiers import (
    RNOKPP_LABEL,
    is_individual_provider,
    is_phone,
    is_rnokpp,
    mask_identifiers,
)
from engine.registry._read import SOURCE_LINE, RawTable
from engine.schemas import QUARANTINE_SCHEMA

__all__ = [
    "INDIVIDUAL_LABEL",
    "PII_DROPPED",
    "PII_MASKED",
    "PSEUDONYMISED",
    "WITHHELD_CODE",
    "drop_personal_data",
    "mask_personal_values",
    "pseudonym_key_id",
    "pseudonymise",
    "redact",
]

PII_DROPPED = "personal_data_dropped"
PII_MASKED = "personal_data_masked"
PSEUDONYMISED = "pseudonymised"
# An individual provider's name and code as every output shows them. The code must still be eight
# digits for the contract; no legal entity has the all-zero ЄДРПОУ.
INDIVIDUAL_LABEL = "ФОП (individual provider)"
WITHHELD_CODE = "00000000"
_LABEL_ID_CHARS = 16  # a pseudonymised provider_id is 64 hex characters: a prefix tells them apart

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
_INDIVIDUAL_CODE = r"^\s*\d{10}\s*$"  # a ФОП's code is its owner's РНОКПП; an ЄДРПОУ has 8 digits
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
            if column in ID_COLUMNS and column in contract:
                if column not in keep_hashed:
                    _refuse_tax_numbers(raw, column, key_env)
            elif column not in contract and is_personal_column(column):
                drop[column] = "column name denotes a personal identifier"
            elif column not in contract and _looks_like_rnokpp(raw.frame[column]):
                drop[column] = "most values are 10-digit numbers (РНОКПП)"
        notes += [
            _note(name, raw.source_file, PII_DROPPED, column, f"dropped: {why}")
            for column, why in drop.items()
        ]
        # nothing to drop (the usual case): the frame as it is (a drop copies it)
        frame = raw.frame.drop(list(drop)) if drop else raw.frame
        cleaned[name] = RawTable(name, raw.source_file, frame, raw.kind)
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


def mask_personal_values(tables: dict[str, RawTable]) -> tuple[dict[str, RawTable], pl.DataFrame]:
    """Hide individual providers and mask identifiers inside text values (after pseudonymising).

    Identifier columns are left to `drop_personal_data`, which refuses a tax number in them.
    """
    notes: list[dict[str, object]] = []
    cleaned: dict[str, RawTable] = {}
    for name, raw in tables.items():
        frame = raw.frame
        if name == "providers":
            frame, count = _hide_individuals(frame)
            if count:
                why = (
                    f"{count:,} individual providers (ФОП): name replaced by a label, code withheld"
                )
                notes += [
                    _note(name, raw.source_file, PII_MASKED, column, why)
                    for column in ("name", "edrpou")
                    if column in frame.columns
                ]
        # typed contract columns are parsed, not shown: a rejected value is masked at assembly
        typed = {c for c, spec in table_spec(name).items() if spec.dtype != pl.String}
        frame, counts = _mask_text(frame, skip={SOURCE_LINE, *ID_COLUMNS, *typed})
        notes += [
            _note(
                name,
                raw.source_file,
                PII_MASKED,
                column,
                f"{count:,} values held a phone, passport, РНОКПП or e-mail address: masked",
            )
            for column, count in counts.items()
        ]
        cleaned[name] = RawTable(name, raw.source_file, frame, raw.kind)
    return cleaned, _notes_frame(notes)


def pseudonym_key_id(key_env: str = "MFR_PSEUDONYM_KEY") -> str | None:
    """A short public id of the pseudonymisation key (an HMAC of a fixed text, not the key), so a
    run made with another key is recognised as another run; None when no key is set."""
    key = os.environ.get(key_env, "")
    if not key:
        return None
    return hmac.new(key.encode(), b"mfr pseudonym key id", hashlib.sha256).hexdigest()[:16]


def redact(value: pl.Expr) -> pl.Expr:
    """Mask a value that is a bare 10-digit number, so a stray РНОКПП never reaches an output."""
    return (
        pl.when(value.str.contains(r"^\s*\+?\d{10}\s*$"))
        .then(pl.lit(RNOKPP_LABEL))
        .otherwise(value)
    )


def _refuse_tax_numbers(raw: RawTable, column: str, key_env: str) -> None:
    """Stop the read when even one value of an identifier column is a 10-digit number or a phone."""
    frame = raw.frame
    personal = (is_rnokpp(pl.col(column)) | is_phone(pl.col(column))).fill_null(False)
    hits = frame.select(
        n=personal.sum(),
        line=pl.col(SOURCE_LINE).filter(personal).first()
        if SOURCE_LINE in frame.columns
        else pl.lit(None, pl.Int64),
    ).row(0, named=True)
    if hits["n"]:
        raise InputFileError(
            f"{hits['n']:,} of {frame.height:,} identifiers look like a 10-digit РНОКПП or a phone "
            f"number (the first here); pseudonymise the column: mfr validate --pseudonymise {column} (in a run "
            f"spec: pseudonymise: [{column}]), with the key in ${key_env}",
            path=raw.source_file,
            column=column,
            line=hits["line"],
        )


def _hide_individuals(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    if "name" not in frame.columns:
        return frame, 0
    name = pl.col("name").cast(pl.String)
    individual = is_individual_provider(name).fill_null(False)
    if "ownership" in frame.columns:
        ownership = pl.col("ownership").cast(pl.String).str.strip_chars().str.to_lowercase()
        individual = individual | (ownership == "individual").fill_null(False)
    if "edrpou" in frame.columns:
        code = pl.col("edrpou").cast(pl.String)
        individual = individual | code.str.contains(_INDIVIDUAL_CODE).fill_null(False)
    frame = frame.with_columns(_individual=individual)
    count = int(frame["_individual"].sum())
    if not count:
        return frame.drop("_individual"), 0
    label = pl.lit(INDIVIDUAL_LABEL)
    if "provider_id" in frame.columns:
        short = (
            pl.col("provider_id").cast(pl.String).str.strip_chars().str.slice(0, _LABEL_ID_CHARS)
        )
        label = pl.concat_str(label, pl.lit(" "), short, ignore_nulls=True)
    hidden = [pl.when(pl.col("_individual")).then(label).otherwise(pl.col("name")).alias("name")]
    if "edrpou" in frame.columns:
        hidden.append(
            pl.when(pl.col("_individual"))
            .then(pl.lit(WITHHELD_CODE))
            .otherwise(pl.col("edrpou").cast(pl.String))
            .alias("edrpou")
        )
    return frame.with_columns(hidden).drop("_individual"), count


def _mask_text(frame: pl.DataFrame, skip: set[str]) -> tuple[pl.DataFrame, dict[str, int]]:
    """Every text column with its identifiers masked, and how many values each had masked.

    Registry text columns repeat a few values (codes, statuses, names of providers), and every
    identifier pattern holds a digit or an `@`: the patterns run over the distinct values that
    could match, and the column is rewritten by lookup, not each row through every pattern.
    """
    counts: dict[str, int] = {}
    for column in (c for c, t in frame.schema.items() if t == pl.String and c not in skip):
        changed = (
            frame.select(pl.col(column).unique().drop_nulls().alias("value"))
            .filter(pl.col("value").str.contains(r"[\d@]"))
            .with_columns(masked=mask_identifiers(pl.col("value")))
            .filter(pl.col("masked") != pl.col("value"))
        )
        if changed.is_empty():
            continue
        counts[column] = int(
            frame.select(pl.col(column).is_in(changed["value"].implode()).sum()).item()
        )
        frame = frame.with_columns(pl.col(column).replace(changed["value"], changed["masked"]))
    return frame, counts


def _looks_like_rnokpp(series: pl.Series) -> bool:
    values = series.drop_nulls()
    if values.is_empty() or not (values.dtype.is_integer() or values.dtype == pl.String):
        return False
    if values.len() > _SAMPLE:  # an even stride sample: deterministic, spread over the file
        values = values.gather_every(values.len() // _SAMPLE)
    text = values.cast(pl.String).str.strip_chars()
    return bool(text.str.contains(_RNOKPP).to_numpy().mean() > 0.5)


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
