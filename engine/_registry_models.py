"""The pandera (polars backend) models of the registry tables: the typed contract after ingestion.

Kept apart from `engine.schemas` so that pricing and reports, which only need its constants and the
`Registry` bundle, never import pandera; `engine.schemas` re-exports these names on first use.
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa

from engine._codes import (
    DISABILITY_GROUPS,
    OWNERSHIPS,
    SERVICE_UNITS,
    STATUSES,
    TERRITORY_STATUSES,
)

__all__ = [
    "REGISTRY_TABLES",
    "CaseLocations",
    "Cases",
    "Providers",
    "Recipients",
    "Services",
    "TerritoryStatus",
]

_KATOTTG = r"^UA\d{17}$"


class Recipients(pa.DataFrameModel):
    recipient_id: str = pa.Field(unique=True)
    birth_date: dt.date
    sex: str = pa.Field(isin=["F", "M"])
    disability_group: str = pa.Field(isin=list(DISABILITY_GROUPS))
    is_idp: bool
    registered_hromada: str = pa.Field(str_matches=_KATOTTG)
    income_ratio: float = pa.Field(nullable=True, ge=0)


class Cases(pa.DataFrameModel):
    case_id: str = pa.Field(unique=True)
    recipient_id: str
    service_code: str
    need_level: int = pa.Field(isin=[1, 2, 3])
    assessed_units: float = pa.Field(nullable=True, ge=0)
    start_date: dt.date
    end_date: dt.date = pa.Field(nullable=True)
    status: str = pa.Field(isin=list(STATUSES))


class CaseLocations(pa.DataFrameModel):
    case_id: str
    hromada_code: str = pa.Field(str_matches=_KATOTTG)
    provider_id: str = pa.Field(nullable=True)
    valid_from: dt.date
    valid_to: dt.date = pa.Field(nullable=True)


class Providers(pa.DataFrameModel):
    provider_id: str = pa.Field(unique=True)
    edrpou: str = pa.Field(str_matches=r"^\d{8}$")
    name: str
    ownership: str = pa.Field(isin=list(OWNERSHIPS))
    hromada_code: str = pa.Field(str_matches=_KATOTTG)


class Services(pa.DataFrameModel):
    service_code: str = pa.Field(unique=True, str_matches=r"^\d{3}(\.\d+)?$")
    name_uk: str
    name_en: str
    unit: str = pa.Field(isin=list(SERVICE_UNITS))
    group: str


class TerritoryStatus(pa.DataFrameModel):
    hromada_code: str = pa.Field(str_matches=_KATOTTG)
    status: str = pa.Field(isin=list(TERRITORY_STATUSES))
    valid_from: dt.date
    valid_to: dt.date = pa.Field(nullable=True)


REGISTRY_TABLES: dict[str, type[pa.DataFrameModel]] = {
    "recipients": Recipients,
    "cases": Cases,
    "case_locations": CaseLocations,
    "providers": Providers,
    "services": Services,
    "territory_status": TerritoryStatus,
}
