"""The typed contract of each table, read from the pandera models in `engine.schemas`.

The models are the single statement of the contract: which columns, which types, which may be null,
which are unique, which values are allowed. This module turns them into plain column specs that the
normaliser compiles to vectorised polars expressions (so a failure points at a source line), and
pandera itself checks the valid rows at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from engine.schemas import REGISTRY_TABLES

__all__ = ["ID_COLUMNS", "ColumnSpec", "table_spec"]

# Identifier columns: the ones an operator may need to pseudonymise.
ID_COLUMNS = ("recipient_id", "case_id", "provider_id")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    dtype: pl.DataType
    nullable: bool
    unique: bool
    isin: tuple[Any, ...] | None = None
    pattern: str | None = None
    bounds: dict[str, float] = field(default_factory=dict)  # pandera check name -> bound


_BOUND_CHECKS = {
    "greater_than_or_equal_to": "min_value",
    "greater_than": "min_value",
    "less_than_or_equal_to": "max_value",
    "less_than": "max_value",
}


def table_spec(table: str, model: Any = None) -> dict[str, ColumnSpec]:
    """Column specs of `table`, in model order (`model`: another pandera model of that name,
    e.g. a budget-execution report's, read by the same normaliser)."""
    schema = (model or REGISTRY_TABLES[table]).to_schema()
    specs: dict[str, ColumnSpec] = {}
    for name, column in schema.columns.items():
        isin = pattern = None
        bounds: dict[str, float] = {}
        for check in column.checks:
            stats = check.statistics or {}
            if check.name == "isin":
                isin = tuple(stats["allowed_values"])
            elif check.name == "str_matches":
                pattern = str(stats["pattern"])
            elif check.name in _BOUND_CHECKS:
                bounds[check.name] = float(stats[_BOUND_CHECKS[check.name]])
            else:  # a new kind of check in the models must be compiled here too
                raise NotImplementedError(f"{table}.{name}: check '{check.name}' not compiled")
        specs[name] = ColumnSpec(
            name=name,
            dtype=_instance(column.dtype.type),
            nullable=bool(column.nullable),
            unique=bool(column.unique),
            isin=isin,
            pattern=pattern,
            bounds=bounds,
        )
    return specs


def _instance(dtype: pl.DataType | type[pl.DataType]) -> pl.DataType:
    return dtype() if isinstance(dtype, type) else dtype
