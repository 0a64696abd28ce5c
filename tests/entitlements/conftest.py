"""Builders of small registries for entitlement tests (no extract file needed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engine.params import FundingModel, load_funding_model
from engine.reference import load_services, load_territories
from engine.schemas import Registry

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "models" / "funding" / "baseline"
HROMADAS = {
    "A": "UA05020010000053508",  # Ahronomichna, Vinnytsia oblast
    "B": "UA63040010000010092",  # Balakliia, Kharkiv oblast
    "C": "UA21020050000065800",  # Velykoberezka, Zakarpattia oblast
}
PROVIDERS = {"P1": ("communal", "A"), "P2": ("nonstate", "B"), "P3": ("state", "C")}

_RECIPIENT = {
    "birth_date": dt.date(1950, 5, 3),
    "sex": "F",
    "disability_group": "none",
    "is_idp": False,
    "income_ratio": None,
}


def _hromada(code: str) -> str:
    return HROMADAS.get(code, code)


def registry_from_cases(
    cases: list[dict[str, Any]], extract_date: dt.date | None = None
) -> Registry:
    """A typed registry from case specs shaped like tests/golden/entitlements.yaml entries.

    Each spec may carry `recipient` (birth, disability, income, idp, registered), `case` (service,
    need_level, assessed, start, end, status), `locations` and `statuses`; `id` names the case.
    """
    recipients, case_rows, locations, statuses = [], [], [], []
    for i, spec in enumerate(cases):
        case_id = spec.get("id", f"C{i:04d}")
        rec = spec.get("recipient", {})
        recipient_id = f"R{i:04d}"
        recipients.append(
            {
                "recipient_id": recipient_id,
                "birth_date": rec.get("birth", _RECIPIENT["birth_date"]),
                "sex": "F",
                "disability_group": rec.get("disability", "none"),
                "is_idp": rec.get("idp", False),
                "registered_hromada": _hromada(rec.get("registered", "A")),
                "income_ratio": rec.get("income"),
            }
        )
        case = spec["case"]
        case_rows.append(
            {
                "case_id": case_id,
                "recipient_id": recipient_id,
                "service_code": case["service"],
                "need_level": case["need_level"],
                "assessed_units": case.get("assessed"),
                "start_date": case["start"],
                "end_date": case.get("end"),
                "status": case.get("status", "served"),
            }
        )
        for loc in spec.get("locations", []):
            locations.append(
                {
                    "case_id": case_id,
                    "hromada_code": _hromada(loc["hromada"]),
                    "provider_id": loc.get("provider"),
                    "valid_from": loc["from"],
                    "valid_to": loc.get("to"),
                }
            )
        for st in spec.get("statuses", []):
            statuses.append(
                {
                    "hromada_code": _hromada(st["hromada"]),
                    "status": st["status"],
                    "valid_from": st["from"],
                    "valid_to": st.get("to"),
                }
            )
    providers = [
        {
            "provider_id": pid,
            "edrpou": f"{10000000 + i}",
            "name": f"Provider {pid}",
            "ownership": ownership,
            "hromada_code": _hromada(h),
        }
        for i, (pid, (ownership, h)) in enumerate(PROVIDERS.items())
    ]
    schemas = {
        "recipients": {
            "recipient_id": pl.String, "birth_date": pl.Date, "sex": pl.String,
            "disability_group": pl.String, "is_idp": pl.Boolean, "registered_hromada": pl.String,
            "income_ratio": pl.Float64,
        },
        "cases": {
            "case_id": pl.String, "recipient_id": pl.String, "service_code": pl.String,
            "need_level": pl.Int64, "assessed_units": pl.Float64, "start_date": pl.Date,
            "end_date": pl.Date, "status": pl.String,
        },
        "case_locations": {
            "case_id": pl.String, "hromada_code": pl.String, "provider_id": pl.String,
            "valid_from": pl.Date, "valid_to": pl.Date,
        },
        "providers": {
            "provider_id": pl.String, "edrpou": pl.String, "name": pl.String,
            "ownership": pl.String, "hromada_code": pl.String,
        },
        "territory_status": {
            "hromada_code": pl.String, "status": pl.String, "valid_from": pl.Date,
            "valid_to": pl.Date,
        },
    }  # fmt: skip

    def frame(name: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
        return (
            pl.DataFrame(rows, schema=schemas[name])
            .with_row_index("source_line", offset=2)
            .with_columns(pl.col("source_line").cast(pl.Int64))
        )

    return Registry(
        recipients=frame("recipients", recipients),
        cases=frame("cases", case_rows),
        case_locations=frame("case_locations", locations),
        providers=frame("providers", providers),
        services=load_services(),
        territory_status=frame("territory_status", statuses),
        extract_date=extract_date or dt.date(2026, 10, 31),
    )


@pytest.fixture(scope="session")
def baseline_model() -> FundingModel:
    return load_funding_model(BASELINE, services=load_services())


@pytest.fixture(scope="session")
def territories() -> pl.DataFrame:
    return load_territories()


@pytest.fixture(scope="session")
def build_registry() -> Callable[..., Registry]:
    return registry_from_cases
