"""Data contracts of the registry: its codes, the `Registry` bundle and (loaded on first use) pandera models.

The models state the typed contract after ingestion (DESIGN.md §4). Readers coerce raw text into these
types; rows that break a rule go to quarantine, so the frames in a `Registry` always satisfy them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from engine._codes import (
    DISABILITY_GROUPS,
    OWNERSHIPS,
    SERVICE_UNITS,
    STATUSES,
    TERRITORY_STATUSES,
)

if TYPE_CHECKING:
    from engine._registry_models import (
        REGISTRY_TABLES,
        CaseLocations,
        Cases,
        Providers,
        Recipients,
        Services,
        TerritoryStatus,
    )

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
    benefits: Any = (
        None  # an `engine.benefits.Benefits`: dated circumstances (None: the registry's)
    )

    def table(self, name: str) -> pl.DataFrame:
        return getattr(self, name)


def __getattr__(name: str) -> Any:
    # The pandera models load on first use: pricing needs only the code lists and `Registry`.
    if not name.startswith("__"):
        from engine import _registry_models

        if name in _registry_models.__all__:
            return getattr(_registry_models, name)
    raise AttributeError(f"module 'engine.schemas' has no attribute {name!r}")
