"""Data contracts: pandera (polars backend) models of every registry table, and the `Registry` bundle.

The models state the typed contract after ingestion (DESIGN.md §4). Readers coerce raw text into these
types; rows that break a rule go to quarantine, so the frames in a `Registry` always satisfy them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandera.polars as pa
import polars as pl

__all__ = [
    "DISABILITY_GROUPS",
    "OWNERSHIPS",
    "QUARANTINE_SCHEMA",
    "REGISTRY_TABLES",
    "SERVICE_UNITS",
    "STATUSES",
    "TERRITORY_STATUSES",
    "CaseLocations",
    "Cases",
    "Providers",
    "Recipients",
    "Registry",
    "Services",
    "TerritoryStatus",
    "empty_quarantine",
]

DISABILITY_GROUPS = ("none", "I", "II", "III", "child")
STATUSES = ("served", "waiting", "closed")
OWNERSHIPS = ("state", "communal", "nonstate", "individual")
SERVICE_UNITS = ("hour", "visit", "day", "month")
TERRITORY_STATUSES = ("frontline", "occupied", "mountain", "rural")
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

# One row per rejected source row and rule: enough to find the row in the file and fix it.
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "table": pl.String(),
    "source_file": pl.String(),
    "source_line": pl.Int64(),  # 1-based line in the source file, header = line 1
    "rule": pl.String(),  # stable reason code, e.g. "orphan_key", "end_before_start"
    "column": pl.String(),
    "value": pl.String(),
    "reason": pl.String(),  # human sentence
}


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


@dataclass(frozen=True)
class Registry:
    """A validated registry extract: typed tables that satisfy the models above, plus what was rejected.

    Every table carries a `source_line` column (Int64) so derived rows can point back at the file.
    `rows_read` counts data rows per table before validation.
    """

    recipients: pl.DataFrame
    cases: pl.DataFrame
    case_locations: pl.DataFrame
    providers: pl.DataFrame
    services: pl.DataFrame
    territory_status: pl.DataFrame
    extract_date: dt.date
    quarantine: pl.DataFrame = field(default_factory=empty_quarantine)
    rows_read: dict[str, int] = field(default_factory=dict)
    warnings: pl.DataFrame = field(default_factory=empty_quarantine)

    def table(self, name: str) -> pl.DataFrame:
        return getattr(self, name)
