"""A benefits extract: dated circumstances per person, joined to the registry on a pseudonym.

    >>> benefits = read_benefits("data_samples/benefits", registry, "data_samples/registry")  # doctest: +SKIP
    >>> registry = with_benefits(registry, benefits)                                       # doctest: +SKIP
    >>> engine.compute_entitlements(registry, model, territories)   # dated circumstances  # doctest: +SKIP

The benefits system (ІАССЗН, a hromada's "Соціальна громада") knows what the registry holds as
single values: income declarations with the period they cover, disability assessments from and
to, IDP certificates issued and cancelled, and assistance paid. `read_benefits` reads such an
extract as the registry is read (`_read`: CSV in any usual encoding with `;` and decimal commas,
Parquet, XLSX; privacy at the door), applies its row rules (`_rules`), and matches its persons to
the registry's recipients on the keyed hash of their РНОКПП (`_join`). `with_benefits` hands the
result to pricing, which cuts segments on the days circumstances change (`_timeline`, with the
funding model's gap rules). Without a benefits extract nothing changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from engine.benefits._join import match_persons, registry_person_keys
from engine.benefits._models import BENEFITS_TABLES
from engine.benefits._read import PERSON_KEY, pseudonym_key, read_benefits_extract
from engine.benefits._rules import benefit_rules, with_ratio
from engine.benefits._timeline import BenefitTables
from engine.registry import quarantine_shares, stop_above_threshold
from engine.registry._read import SOURCE_LINE
from engine.schemas import QUARANTINE_SCHEMA, Registry

__all__ = [
    "BENEFITS_TABLES",
    "Benefits",
    "benefits_shares",
    "benefits_summary",
    "check_benefits_threshold",
    "read_benefits",
    "with_benefits",
]

_COLUMNS = {
    "income_declarations": ("recipient_id", "period_from", "period_to", "income_ratio"),
    "disability_assessments": ("recipient_id", "disability_group", "valid_from", "valid_to"),
    "idp_certificates": ("recipient_id", "issued", "cancelled", "hromada_code", "origin_hromada"),
    "assistance_paid": ("recipient_id", "programme", "month", "amount_uah"),
}


def _empty_report() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


@dataclass(frozen=True)
class Benefits:
    """A validated benefits extract keyed by the registry's `recipient_id`.

    `tables`: `income_declarations` (recipient_id, period_from, period_to, income_ratio — declared
    or income ÷ subsistence minimum), `disability_assessments` (recipient_id, disability_group,
    valid_from, valid_to), `idp_certificates` (recipient_id, issued, cancelled, hromada_code,
    origin_hromada), `assistance_paid` (recipient_id, programme, month, amount_uah), each with its
    `source_line`. `quarantine` and `warnings` are in the registry's quarantine schema.
    """

    tables: dict[str, pl.DataFrame]
    extract_date: dt.date
    quarantine: pl.DataFrame = field(default_factory=_empty_report)
    warnings: pl.DataFrame = field(default_factory=_empty_report)
    rows_read: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.tables, BenefitTables):  # the timeline is built once per run
            object.__setattr__(self, "tables", BenefitTables(self.tables))

    def table(self, name: str) -> pl.DataFrame:
        return self.tables[name]


def _without(frame: pl.DataFrame, table: str, quarantine: pl.DataFrame) -> pl.DataFrame:
    lines = quarantine.filter(pl.col("table") == table)[SOURCE_LINE].unique()
    return frame.filter(~pl.col(SOURCE_LINE).is_in(lines.implode())) if len(lines) else frame


def _ordered(frame: pl.DataFrame) -> pl.DataFrame:
    order = {name: i for i, name in enumerate(BENEFITS_TABLES)}
    return (
        frame.unique(["table", SOURCE_LINE, "rule", "column"], keep="first", maintain_order=True)
        .with_columns(_order=pl.col("table").replace_strict(order, default=99))
        .sort("_order", SOURCE_LINE, "rule", "column", nulls_last=True)
        .drop("_order")
    )


def read_benefits(
    path: str | Path,
    registry: Registry,
    registry_extract: str | Path,
    *,
    extract_date: dt.date | None = None,
    territories: pl.DataFrame | None = None,
    pseudonymise: Iterable[str] = (),
    max_declaration_age_months: int = 18,
    key_env: str = "MFR_PSEUDONYM_KEY",
) -> Benefits:
    """Read, validate and match the benefits extract at `path` to `registry`, read from
    `registry_extract` (whose recipients file holds the РНОКПП persons are matched on;
    `pseudonymise`: the columns the registry was read with pseudonymised).

    Both extracts' РНОКПП become HMAC-SHA256 with the key in `$MFR_PSEUDONYM_KEY` before the
    join (without the key: a configuration error). Rejected rows go to `quarantine` with a rule
    and reason, notes to `warnings` (`benefits_summary` counts them per rule); nothing is
    dropped silently. `extract_date` defaults to the registry's.

    >>> import os, engine
    >>> key = os.environ.setdefault("MFR_PSEUDONYM_KEY", "an example key, not a secret")
    >>> registry = engine.read_registry("data_samples/registry")
    >>> benefits = read_benefits("data_samples/benefits", registry, "data_samples/registry")
    >>> sorted(benefits.tables), benefits.quarantine.height  # the sample's 10 planted bad rows
    (['assistance_paid', 'disability_assessments', 'idp_certificates', 'income_declarations'], 10)
    >>> "rnokpp" in benefits.tables["income_declarations"].columns  # only its keyed pseudonym
    False
    >>> if key == "an example key, not a secret":  # leave the environment as it was
    ...     del os.environ["MFR_PSEUDONYM_KEY"]
    """
    when = extract_date or registry.extract_date
    hasher = pseudonym_key(key_env)  # one HMAC per person, whichever extract names them
    extract = read_benefits_extract(path, extract_date=when, keys=hasher)
    files = extract.files
    if territories is None:
        from engine.reference import load_territories

        territories = load_territories()
    # the door's quarantine (a key that is no РНОКПП) makes the normaliser's "missing" redundant
    door = extract.quarantine.filter(pl.col("rule") == "invalid_value")
    door = door.filter(pl.col("column") != PERSON_KEY).select("table", SOURCE_LINE)
    typed = extract.quarantine.join(
        door.with_columns(_door=pl.lit(True)), on=["table", SOURCE_LINE], how="left"
    ).filter(~(pl.col("_door").fill_null(False) & (pl.col("column") == PERSON_KEY)))
    typed = typed.drop("_door")
    valid = {t: _without(f, t, typed) for t, f in extract.tables.items()}
    rejected, warned = benefit_rules(
        valid,
        files,
        extract_date=when,
        hromadas=territories["hromada_code"],
        max_declaration_age_months=max_declaration_age_months,
    )
    valid = {t: _without(f, t, rejected) for t, f in valid.items()}
    keys = registry_person_keys(
        registry_extract, hasher, pseudonymise=pseudonymise, key_env=key_env
    )
    matched, unmatched, no_record = match_persons(
        valid, files, keys, registry.recipients["recipient_id"]
    )
    matched["income_declarations"] = with_ratio(matched["income_declarations"])
    tables = {
        t: frame.select(*_COLUMNS[t], SOURCE_LINE)  # in file order: nothing depends on it
        for t, frame in matched.items()
    }
    from engine.registry import mask_report

    return Benefits(
        tables=tables,
        extract_date=when,
        quarantine=mask_report(_ordered(pl.concat([typed, rejected, unmatched]))),
        warnings=mask_report(pl.concat([extract.warnings, warned, no_record])),
        rows_read=extract.rows_read,
    )


def benefits_summary(benefits: Benefits) -> pl.DataFrame:
    """Rows per table, rule and kind (`quarantine` or `warning`): what was rejected or noted."""
    counted = [
        frame.group_by("table", "rule")
        .agg(rows=pl.len().cast(pl.Int64))
        .with_columns(kind=pl.lit(kind))
        for kind, frame in (("quarantine", benefits.quarantine), ("warning", benefits.warnings))
    ]
    return pl.concat(counted).select("kind", "table", "rule", "rows").sort("kind", "table", "rule")


def benefits_shares(benefits: Benefits) -> pl.DataFrame:
    """Per table: rows read, valid, quarantined (distinct source rows) and the quarantined share."""
    valid = {t: benefits.table(t).height for t in BENEFITS_TABLES}
    return quarantine_shares(benefits.quarantine, benefits.rows_read, valid)


def check_benefits_threshold(
    benefits: Benefits, threshold: float = 0.01, *, accept: bool = False
) -> bool:
    """The registry's accept-or-stop rule for a benefits extract: whether a table's quarantined
    share exceeds `threshold`; above it, `QuarantineThresholdError` unless `accept`."""
    shares = benefits_shares(benefits)
    return stop_above_threshold(shares, threshold, accept=accept, what="benefits table")


def with_benefits(registry: Registry, benefits: Benefits | None) -> Registry:
    """The registry with a benefits extract's dated circumstances for pricing (`None`: as it is).

    `engine.compute_entitlements` then cuts segments on the days a recipient's income band,
    disability group or IDP status changes."""
    return dataclasses.replace(registry, benefits=benefits)
