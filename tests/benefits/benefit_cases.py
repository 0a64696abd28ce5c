"""Small registries with a benefits extract, for golden and property tests (no files needed).

Imported by name (`benefit_cases`): a module named `conftest` would clash with other suites'.

A spec is a tests/golden/entitlements.yaml case (built by that suite's `registry_from_cases`)
with a `benefits` mapping of rows per table; its recipient is the case's (R0000, ...)."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engine.benefits import Benefits, with_benefits
from engine.params import FundingModel, load_funding_model
from engine.reference import load_territories
from engine.schemas import Registry

REPO = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location(
    "_entitlement_builders", REPO / "tests" / "entitlements" / "conftest.py"
)
assert _SPEC is not None and _SPEC.loader is not None
builders = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(builders)
HROMADAS = builders.HROMADAS

SCHEMAS: dict[str, dict[str, Any]] = {
    "income_declarations": {
        "recipient_id": pl.String, "period_from": pl.Date, "period_to": pl.Date,
        "income_ratio": pl.Float64,
    },
    "disability_assessments": {
        "recipient_id": pl.String, "disability_group": pl.String, "valid_from": pl.Date,
        "valid_to": pl.Date,
    },
    "idp_certificates": {
        "recipient_id": pl.String, "issued": pl.Date, "cancelled": pl.Date,
        "hromada_code": pl.String, "origin_hromada": pl.String,
    },
    "assistance_paid": {
        "recipient_id": pl.String, "programme": pl.String, "month": pl.Date,
        "amount_uah": pl.Float64,
    },
}  # fmt: skip


def _row(table: str, recipient: str, spec: dict[str, Any]) -> dict[str, Any]:
    if table == "income_declarations":
        return {
            "recipient_id": recipient, "period_from": spec["from"], "period_to": spec["to"],
            "income_ratio": spec["ratio"],
        }  # fmt: skip
    if table == "disability_assessments":
        return {
            "recipient_id": recipient, "disability_group": spec["group"],
            "valid_from": spec["from"], "valid_to": spec.get("to"),
        }  # fmt: skip
    if table == "idp_certificates":
        origin = spec.get("origin")
        return {
            "recipient_id": recipient, "issued": spec["issued"], "cancelled": spec.get("cancelled"),
            "hromada_code": HROMADAS.get(spec["hromada"], spec["hromada"]),
            "origin_hromada": HROMADAS.get(origin, origin) if origin else None,
        }  # fmt: skip
    return {
        "recipient_id": recipient, "programme": spec["programme"], "month": spec["month"],
        "amount_uah": spec["amount"],
    }  # fmt: skip


def benefits_of(specs: list[dict[str, Any]], extract_date: dt.date) -> Benefits:
    """A `Benefits` bundle from the `benefits` rows of each spec (its recipient R0000, R0001...)."""
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in SCHEMAS}
    for i, spec in enumerate(specs):
        for table, items in spec.get("benefits", {}).items():
            rows[table] += [_row(table, f"R{i:04d}", item) for item in items]
    tables = {
        t: pl.DataFrame(r, schema=SCHEMAS[t])
        .with_row_index("source_line", offset=2)
        .with_columns(pl.col("source_line").cast(pl.Int64))
        for t, r in rows.items()
    }
    return Benefits(tables=tables, extract_date=extract_date)


def registry_with_benefits(specs: list[dict[str, Any]]) -> Registry:
    registry = builders.registry_from_cases(specs)
    return with_benefits(registry, benefits_of(specs, registry.extract_date))


@pytest.fixture(scope="session", name="baseline_model")
def baseline_model_fixture() -> FundingModel:
    return load_funding_model(REPO / "models" / "funding" / "baseline")


@pytest.fixture(scope="session", name="territories")
def territories_fixture() -> pl.DataFrame:
    return load_territories()
