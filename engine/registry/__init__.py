"""Read a registry extract the way it really arrives, validate it, quarantine what is wrong.

    >>> registry = read_registry("data_samples/registry")          # doctest: +SKIP
    >>> quarantine_summary(registry)                                # table, rule, rows
    >>> check_quarantine_threshold(registry, threshold=0.01)        # raises past 1 %

Steps, each vectorised over whole tables:

1. read each table file (CSV in any of the usual encodings and separators, Parquet, XLSX) as raw
   values with the line each row came from (`_read`);
2. privacy at the door: personal identifiers are dropped, identifiers asked for are replaced by a
   keyed hash, individual providers are hidden and identifiers inside text values masked, before
   anything else touches the data (`_privacy`);
3. type every column to the contract of `engine.schemas` (`_normalise`);
4. rules across rows and tables (`_rules`); every rejected row goes to `Registry.quarantine` with
   its rule, column, value and reason; valid rows go on, in the contract's types;
5. the quarantine and the notes are masked once more as a whole (`mask_report`): a value rejected
   because it is not what its column expects (a name shifted into `income_ratio`) is often exactly
   what must not be shown.

Row-level problems never raise. File-level problems raise `InputFileError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path

import polars as pl
import yaml

from engine.dates import parse_date
from engine.errors import InputFileError, QuarantineThresholdError
from engine.registry._contract import REGISTRY_SPECS, REGISTRY_TABLE_NAMES
from engine.registry._identifiers import mask_identifiers, mask_value
from engine.registry._normalise import EXTRA_COLUMN, normalise
from engine.registry._privacy import (
    INDIVIDUAL_LABEL,
    PII_DROPPED,
    PII_MASKED,
    PSEUDONYMISED,
    WITHHELD_CODE,
    drop_personal_data,
    mask_personal_values,
    pseudonym_key_id,
)
from engine.registry._privacy import pseudonymise as _pseudonymise
from engine.registry._read import SOURCE_LINE, read_tables
from engine.registry._rules import (
    MAX_UNITS_PER_MONTH,
    location_rules,
    relational_rules,
    row_rules,
)
from engine.schemas import QUARANTINE_SCHEMA, Registry

__all__ = [
    "EXTRA_COLUMN",
    "INDIVIDUAL_LABEL",
    "MAX_UNITS_PER_MONTH",
    "PII_DROPPED",
    "PII_MASKED",
    "PSEUDONYMISED",
    "REGISTRY_TABLE_NAMES",
    "WITHHELD_CODE",
    "check_quarantine_threshold",
    "pseudonym_key_id",
    "quarantine_shares",
    "quarantine_summary",
    "quarantined_share",
    "read_registry",
    "stop_above_threshold",
]

_TABLE_ORDER = {name: i for i, name in enumerate(REGISTRY_TABLE_NAMES)}
_EXTRACT_META = "extract.yaml"


def read_registry(
    path: str | Path,
    *,
    extract_date: dt.date | None = None,
    territories: pl.DataFrame | None = None,
    services_catalogue: pl.DataFrame | None = None,
    pseudonymise: Iterable[str] = (),
    key_env: str = "MFR_PSEUDONYM_KEY",
) -> Registry:
    """Read, type and validate the extract at `path` (a folder of table files or one workbook).

    `territories` (needs `hromada_code`) and `services_catalogue` (needs `service_code`, `unit`)
    default to the bundled reference data. `extract_date` defaults to `extract.yaml`'s, else to
    the latest start / valid_from date in the extract. Columns named in `pseudonymise` are
    replaced by HMAC-SHA256 with the key in the environment variable `key_env`.

    >>> registry = read_registry("data_samples/registry")
    >>> registry.extract_date, registry.cases.height, registry.quarantine.height
    (datetime.date(2026, 10, 31), 3737, 45)
    """
    path = Path(path)
    hashed = tuple(pseudonymise)
    raw = read_tables(path)
    raw, pii_notes = drop_personal_data(raw, hashed, key_env)
    raw, hash_notes = _pseudonymise(raw, hashed, key_env)
    raw, mask_notes = mask_personal_values(raw)
    normalised = {name: normalise(raw[name]) for name in REGISTRY_TABLE_NAMES}
    tables = {name: n.frame for name, n in normalised.items()}
    files = {name: n.source_file for name, n in normalised.items()}
    if territories is None or services_catalogue is None:
        from engine import reference

        territories = reference.load_territories() if territories is None else territories
        if services_catalogue is None:
            services_catalogue = reference.load_services()
    when = extract_date or _meta_extract_date(path) or _latest_event_date(tables, path)

    quarantine = pl.concat(
        [
            *(n.quarantine for n in normalised.values()),
            row_rules(
                tables,
                files,
                hromadas=territories["hromada_code"],
                catalogue=services_catalogue,
                extract_date=when,
            ),
        ]
    )
    # parents before children, so a rejected parent takes its children with it
    quarantine = pl.concat(
        [quarantine, relational_rules(tables, files, quarantine, services_catalogue)]
    )
    valid = _without(tables, quarantine)
    located, gaps = location_rules(valid["case_locations"], valid["cases"], files, when)
    quarantine = pl.concat([quarantine, located])
    valid = _without(tables, quarantine)

    notes = pl.concat([n.notes for n in normalised.values()])
    for name, frame in valid.items():
        _check_contract(name, frame)
    return Registry(
        **valid,
        extract_date=when,
        quarantine=mask_report(_ordered(quarantine)),
        rows_read={name: n.rows_read for name, n in normalised.items()},
        warnings=mask_report(pl.concat([pii_notes, hash_notes, mask_notes, notes, gaps])),
    )


def mask_report(frame: pl.DataFrame) -> pl.DataFrame:
    """A quarantine or notes frame with no personal identifier in any cell an input could fill.

    One vectorised pass at assembly, so the store, the Parquet exports, the report and the
    terminal's examples all show the same masked value. `table`, `rule` and `source_file` are the
    engine's own words (and the operator's path), and are kept as they are.
    """
    return frame.with_columns(
        mask_value(pl.col("value")).alias("value"),
        mask_identifiers(pl.col("column")).alias("column"),
        mask_identifiers(pl.col("reason")).alias("reason"),
    ).select(list(QUARANTINE_SCHEMA))


def quarantine_shares(
    quarantine: pl.DataFrame, rows_read: Mapping[str, int], valid: Mapping[str, int]
) -> pl.DataFrame:
    """Per table of `valid` (in its order): rows read, valid rows, rows quarantined (distinct
    source rows) and the quarantined share — of a registry or any extract read like one."""
    counts = (
        quarantine.group_by("table")
        .agg(quarantined=pl.col(SOURCE_LINE).n_unique())
        .with_columns(pl.col("quarantined").cast(pl.Int64))
    )
    return (
        pl.DataFrame(
            {
                "table": list(valid),
                "rows_read": [rows_read.get(t, 0) for t in valid],
                "valid": list(valid.values()),
            },
            schema={"table": pl.String, "rows_read": pl.Int64, "valid": pl.Int64},
        )
        .join(counts, on="table", how="left")
        .with_columns(pl.col("quarantined").fill_null(0))
        .with_columns(
            share=pl.when(pl.col("rows_read") > 0)
            .then(pl.col("quarantined") / pl.col("rows_read"))
            .otherwise(0.0)
        )
        .select("table", "rows_read", "valid", "quarantined", "share")
    )


def stop_above_threshold(
    shares: pl.DataFrame, threshold: float, *, accept: bool, what: str = "table"
) -> bool:
    """The accept-or-stop rule on `quarantine_shares`: whether a table's share exceeds
    `threshold`; above it `QuarantineThresholdError` (naming the worst `what`) unless `accept`."""
    over = shares.filter(pl.col("share") > threshold)
    if over.height and not accept:
        worst = over.sort("share", descending=True).row(0, named=True)
        raise QuarantineThresholdError(
            f"{what} '{worst['table']}': {worst['quarantined']} of {worst['rows_read']} rows "
            f"quarantined ({worst['share']:.2%}), above the threshold {threshold:.2%}; "
            "fix the extract or accept the quarantine explicitly (--accept-quarantine)"
        )
    return bool(over.height)


def quarantined_share(registry: Registry) -> pl.DataFrame:
    """Per table: rows read, rows quarantined (distinct source rows), valid rows and the share."""
    valid = {t: registry.table(t).height for t in REGISTRY_TABLE_NAMES}
    return quarantine_shares(registry.quarantine, registry.rows_read, valid)


def check_quarantine_threshold(
    registry: Registry, threshold: float = 0.01, *, accept: bool = False
) -> bool:
    """The accept-or-stop rule: whether any table's quarantined share exceeds `threshold`; above
    it, raise `QuarantineThresholdError` unless the operator `accept`ed the quarantine.

    >>> check_quarantine_threshold(read_registry("data_samples/registry"), 0.5)
    False
    """
    return stop_above_threshold(quarantined_share(registry), threshold, accept=accept)


def quarantine_summary(registry: Registry) -> pl.DataFrame:
    """Quarantined rows per table and rule (a row failing two rules counts under each).

    >>> summary = quarantine_summary(read_registry("data_samples/registry"))
    >>> summary.columns, int(summary["rows"].sum())
    (['table', 'rule', 'rows'], 45)
    """
    return (
        registry.quarantine.group_by("table", "rule")
        .agg(rows=pl.col(SOURCE_LINE).n_unique().cast(pl.Int64))
        .with_columns(_order=pl.col("table").replace_strict(_TABLE_ORDER, default=99))
        .sort("_order", "rule")
        .drop("_order")
    )


# --- helpers -----------------------------------------------------------------------------------


def _without(tables: dict[str, pl.DataFrame], quarantine: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The rows of each table that no rule has rejected, in file order."""
    valid = {}
    for name, frame in tables.items():
        lines = quarantine.filter(pl.col("table") == name)[SOURCE_LINE]
        valid[name] = (
            frame.filter(~pl.col(SOURCE_LINE).is_in(lines.implode())) if len(lines) else frame
        )
    return valid


def _ordered(quarantine: pl.DataFrame) -> pl.DataFrame:
    cell = ["table", SOURCE_LINE, "column"]
    # a malformed code is invalid_value; that it is also unknown to the reference adds nothing
    malformed = quarantine.filter(pl.col("rule") == "invalid_value").select(cell).unique()
    quarantine = quarantine.join(
        malformed.with_columns(_malformed=pl.lit(True)), on=cell, how="left"
    ).filter(~((pl.col("rule") == "unknown_code") & pl.col("_malformed").fill_null(False)))
    # a row failing one rule twice (e.g. a model bound and a range rule) is reported once
    return (
        quarantine.unique(
            ["table", SOURCE_LINE, "rule", "column"], keep="first", maintain_order=True
        )
        .with_columns(_order=pl.col("table").replace_strict(_TABLE_ORDER, default=99))
        .sort("_order", SOURCE_LINE, "rule", "column")
        .drop("_order")
        .select(list(QUARANTINE_SCHEMA))
    )


def _meta_extract_date(path: Path) -> dt.date | None:
    meta = path / _EXTRACT_META if path.is_dir() else path.with_name(_EXTRACT_META)
    if not meta.is_file():
        return None
    try:
        content = yaml.safe_load(meta.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputFileError(f"unreadable YAML: {str(exc).splitlines()[0]}", path=meta) from None
    value = content.get("extract_date") if isinstance(content, dict) else None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return parse_date(value)
        except ValueError:
            pass
    raise InputFileError("extract_date must be a date YYYY-MM-DD", path=meta, column="extract_date")


def _latest_event_date(tables: dict[str, pl.DataFrame], path: Path) -> dt.date:
    latest = [
        tables["cases"]["start_date"].max(),
        tables["case_locations"]["valid_from"].max(),
        tables["territory_status"]["valid_from"].max(),
    ]
    dates = [d for d in latest if isinstance(d, dt.date)]
    if not dates:
        raise InputFileError(
            "no extract date: no extract.yaml and no start dates; pass --extract-date", path=path
        )
    return max(dates)


def _check_contract(name: str, frame: pl.DataFrame) -> None:
    """The valid rows have every contract column in its type (`REGISTRY_SPECS`).

    Every row-level rule of the models (null, isin, pattern, bounds, unique) has been applied by
    the compiled checks above, which quarantined what broke them; re-running them all (pandera)
    would cost a second pass over the data on every read. tests/registry/test_contract_specs.py
    validates the valid rows of messy extracts with the pandera models themselves. A wrong type
    here is a bug in the readers, not bad data."""
    for column, spec in REGISTRY_SPECS[name].items():
        dtype = frame.schema.get(column)
        if dtype != spec.dtype:
            raise RuntimeError(
                f"valid rows of '{name}' break the contract: {column} is {dtype}, not {spec.dtype}"
            )
