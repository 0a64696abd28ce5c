"""Split a validated registry by a hash of the recipient, and write and read its partitions.

A recipient's row, cases and case locations (so every move) fall in one partition: a case is
priced from its own rows only, so pricing the partitions one by one and putting the case-months
together gives every case-month of the whole registry. The tables that are not about a person
(providers, services, territory status) are the same in every partition and written once.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from engine.schemas import Registry

__all__ = ["PERSON_TABLES", "SHARED_TABLES", "read_partition", "split_registry", "write_partitions"]

PERSON_TABLES = ("recipients", "cases", "case_locations")
SHARED_TABLES = ("providers", "services", "territory_status")
_SEED = 20_240_117  # fixed: a recipient lands in the same partition in every run of one engine
_PART = "_partition"


def _bucket(column: str, parts: int) -> pl.Expr:
    return (pl.col(column).hash(seed=_SEED) % parts).cast(pl.Int64).alias(_PART)


def _by_part(frame: pl.DataFrame, parts: int) -> list[pl.DataFrame]:
    """The frame's rows per partition (in their order), an empty frame for a partition with none."""
    found = frame.partition_by(_PART, as_dict=True, maintain_order=True, include_key=False)
    empty = frame.drop(_PART).clear()
    return [found.get((i,), empty) for i in range(parts)]


def split_registry(registry: Registry, parts: int) -> list[dict[str, pl.DataFrame]]:
    """The person tables of `registry` in `parts` partitions by a hash of `recipient_id`.

    A case location goes with its case (one without a case of the extract, which pricing skips,
    goes to partition 0). Each row keeps its order within its table.

    >>> import engine
    >>> registry = engine.read_registry("data_samples/registry")
    >>> split = split_registry(registry, 3)
    >>> sum(p["cases"].height for p in split) == registry.cases.height
    True
    """
    if parts < 1:
        raise ValueError(f"partitions must be at least 1, not {parts}")
    cases = registry.cases.with_columns(_bucket("recipient_id", parts))
    locations = registry.case_locations.join(
        cases.select("case_id", _PART).unique("case_id", keep="first"),
        on="case_id",
        how="left",
        maintain_order="left",
    ).with_columns(pl.col(_PART).fill_null(0))
    recipients = registry.recipients.with_columns(_bucket("recipient_id", parts))
    split = {
        "recipients": _by_part(recipients, parts),
        "cases": _by_part(cases, parts),
        "case_locations": _by_part(locations, parts),
    }
    return [{name: split[name][i] for name in PERSON_TABLES} for i in range(parts)]


def write_partitions(registry: Registry, parts: int, folder: Path) -> list[Path]:
    """Write the partitions (`part-00000/`, ...) and the shared tables (`shared/`) under `folder`
    as Parquet; return each partition's folder."""
    shared = folder / "shared"
    shared.mkdir(parents=True, exist_ok=True)
    for name in SHARED_TABLES:
        registry.table(name).write_parquet(shared / f"{name}.parquet")
    out = []
    for i, tables in enumerate(split_registry(registry, parts)):
        part = folder / f"part-{i:05d}"
        part.mkdir(exist_ok=True)
        for name, frame in tables.items():
            frame.write_parquet(part / f"{name}.parquet")
        out.append(part)
    return out


def read_partition(part: Path, extract_date: dt.date) -> Registry:
    """One partition as a `Registry` (what a worker prices): its person tables, the shared ones."""
    shared = part.parent / "shared"

    def read(folder: Path, name: str) -> pl.DataFrame:
        return pl.read_parquet(folder / f"{name}.parquet")

    return Registry(
        recipients=read(part, "recipients"),
        cases=read(part, "cases"),
        case_locations=read(part, "case_locations"),
        providers=read(shared, "providers"),
        services=read(shared, "services"),
        territory_status=read(shared, "territory_status"),
        extract_date=extract_date,
    )
