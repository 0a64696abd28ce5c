"""One case as a registry of its own: what the engine's pricing is run on to explain or try it.

`case_registry` cuts one case out of a validated registry (its recipient, locations, providers and
the statuses of the hromadas that serve it); pricing never lets cases influence each other, so the
engine prices that registry exactly as it priced the case inside the whole extract (a property
test says so). `stored_case_registry` rebuilds the same registry from what a run kept in the store
(`engine.explain._stored`), without the extract.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import polars as pl

from engine.errors import ConfigError
from engine.schemas import Registry

__all__ = ["TABLE_SCHEMAS", "case_registry", "frame_of", "registry_of"]

# The typed columns of the registry tables pricing reads (the contract of `engine.schemas`).
TABLE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "recipients": {
        "recipient_id": pl.String(), "birth_date": pl.Date(), "sex": pl.String(),
        "disability_group": pl.String(), "is_idp": pl.Boolean(),
        "registered_hromada": pl.String(), "income_ratio": pl.Float64(),
    },
    "cases": {
        "case_id": pl.String(), "recipient_id": pl.String(), "service_code": pl.String(),
        "need_level": pl.Int64(), "assessed_units": pl.Float64(), "start_date": pl.Date(),
        "end_date": pl.Date(), "status": pl.String(),
    },
    "case_locations": {
        "case_id": pl.String(), "hromada_code": pl.String(), "provider_id": pl.String(),
        "valid_from": pl.Date(), "valid_to": pl.Date(),
    },
    "providers": {
        "provider_id": pl.String(), "edrpou": pl.String(), "name": pl.String(),
        "ownership": pl.String(), "hromada_code": pl.String(),
    },
    "territory_status": {
        "hromada_code": pl.String(), "status": pl.String(), "valid_from": pl.Date(),
        "valid_to": pl.Date(),
    },
}  # fmt: skip


def frame_of(name: str, rows: list[dict[str, Any]] | pl.DataFrame) -> pl.DataFrame:
    """A registry table with its contract's columns and types, and a `source_line` per row."""
    schema = TABLE_SCHEMAS[name]
    if isinstance(rows, pl.DataFrame):
        frame = rows.select(
            pl.col(c).cast(t) if c in rows.columns else pl.lit(None, dtype=t).alias(c)
            for c, t in schema.items()
        )
    else:
        frame = pl.DataFrame(rows, schema=schema)
    return frame.with_row_index("source_line", offset=2).with_columns(
        pl.col("source_line").cast(pl.Int64)
    )


def registry_of(
    tables: dict[str, pl.DataFrame], services: pl.DataFrame, extract_date: dt.date
) -> Registry:
    """A `Registry` of typed tables (`frame_of`), the services catalogue and an extract date."""
    return Registry(
        recipients=tables["recipients"],
        cases=tables["cases"],
        case_locations=tables["case_locations"],
        providers=tables["providers"],
        services=services,
        territory_status=tables["territory_status"],
        extract_date=extract_date,
    )


def case_registry(registry: Registry, case_id: str) -> Registry:
    """The registry of one case: its row, its recipient, its locations and their providers, and
    the territory statuses of every hromada serving it. Unknown case: `ConfigError`.

    >>> import engine
    >>> one = case_registry(engine.read_registry("data_samples/registry"), "C000000001")
    >>> one.cases.height, one.recipients.height
    (1, 1)
    """
    cases = registry.cases.filter(pl.col("case_id") == case_id)
    if cases.is_empty():
        raise ConfigError(f"case {case_id!r} is not in the extract (or was quarantined)")
    locations = registry.case_locations.filter(pl.col("case_id") == case_id)
    hromadas = locations["hromada_code"].unique().to_list()
    providers = locations["provider_id"].drop_nulls().unique().to_list()
    recipient = cases["recipient_id"][0]
    benefits = registry.benefits
    if benefits is not None:  # the dated circumstances of this recipient only
        tables = {
            name: frame.filter(pl.col("recipient_id") == recipient)
            if "recipient_id" in frame.columns
            else frame
            for name, frame in benefits.tables.items()
        }
        benefits = replace(benefits, tables=tables)
    return replace(  # anything else the registry carries goes along
        registry,
        benefits=benefits,
        recipients=registry.recipients.filter(pl.col("recipient_id") == recipient),
        cases=cases,
        case_locations=locations,
        providers=registry.providers.filter(pl.col("provider_id").is_in(providers)),
        territory_status=registry.territory_status.filter(pl.col("hromada_code").is_in(hromadas)),
    )
