"""The typed contract of each registry table as plain column specs, the normaliser's input.

The pandera models (`engine._registry_models`, re-exported by `engine.schemas`) are the statement
of the contract: which columns, which types, which may be null, which are unique, which values are
allowed. `specs_from_model` turns a model into column specs that the normaliser compiles to
vectorised polars expressions (so a failure points at a source line). The registry's own six tables
are also written out here (`REGISTRY_SPECS`), so reading an extract never imports pandera (and
pandas: about a second of every `mfr entitle`); tests/registry/test_contract_specs.py checks that
they are exactly what `specs_from_model` makes of the models, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from engine._codes import DISABILITY_GROUPS, OWNERSHIPS, SERVICE_UNITS, STATUSES, TERRITORY_STATUSES

__all__ = [
    "ID_COLUMNS",
    "REGISTRY_SPECS",
    "REGISTRY_TABLE_NAMES",
    "ColumnSpec",
    "specs_from_model",
    "table_spec",
]

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


def _specs(*columns: ColumnSpec) -> dict[str, ColumnSpec]:
    return {c.name: c for c in columns}


def _col(name: str, dtype: pl.DataType, *, null: bool = False, **checks: Any) -> ColumnSpec:
    return ColumnSpec(name, dtype, nullable=null, unique=checks.pop("unique", False), **checks)


_S, _D, _F, _B, _I = pl.String(), pl.Date(), pl.Float64(), pl.Boolean(), pl.Int64()
_KATOTTG = r"^UA\d{17}$"

# The registry's tables in their order (parents before children where it matters for reading).
REGISTRY_SPECS: dict[str, dict[str, ColumnSpec]] = {
    "recipients": _specs(
        _col("recipient_id", _S, unique=True),
        _col("birth_date", _D),
        _col("sex", _S, isin=("F", "M")),
        _col("disability_group", _S, isin=DISABILITY_GROUPS),
        _col("is_idp", _B),
        _col("registered_hromada", _S, pattern=_KATOTTG),
        _col("income_ratio", _F, null=True, bounds={"greater_than_or_equal_to": 0.0}),
    ),
    "cases": _specs(
        _col("case_id", _S, unique=True),
        _col("recipient_id", _S),
        _col("service_code", _S),
        _col("need_level", _I, isin=(1, 2, 3)),
        _col("assessed_units", _F, null=True, bounds={"greater_than_or_equal_to": 0.0}),
        _col("start_date", _D),
        _col("end_date", _D, null=True),
        _col("status", _S, isin=STATUSES),
    ),
    "case_locations": _specs(
        _col("case_id", _S),
        _col("hromada_code", _S, pattern=_KATOTTG),
        _col("provider_id", _S, null=True),
        _col("valid_from", _D),
        _col("valid_to", _D, null=True),
    ),
    "providers": _specs(
        _col("provider_id", _S, unique=True),
        _col("edrpou", _S, pattern=r"^\d{8}$"),
        _col("name", _S),
        _col("ownership", _S, isin=OWNERSHIPS),
        _col("hromada_code", _S, pattern=_KATOTTG),
    ),
    "services": _specs(
        _col("service_code", _S, unique=True, pattern=r"^\d{3}(\.\d+)?$"),
        _col("name_uk", _S),
        _col("name_en", _S),
        _col("unit", _S, isin=SERVICE_UNITS),
        _col("group", _S),
    ),
    "territory_status": _specs(
        _col("hromada_code", _S, pattern=_KATOTTG),
        _col("status", _S, isin=TERRITORY_STATUSES),
        _col("valid_from", _D),
        _col("valid_to", _D, null=True),
    ),
}
REGISTRY_TABLE_NAMES = tuple(REGISTRY_SPECS)

_BOUND_CHECKS = {
    "greater_than_or_equal_to": "min_value",
    "greater_than": "min_value",
    "less_than_or_equal_to": "max_value",
    "less_than": "max_value",
}


def table_spec(table: str, model: Any = None) -> dict[str, ColumnSpec]:
    """Column specs of `table`, in model order: the registry's own (`REGISTRY_SPECS`), or with
    `model` those of another pandera model of that name (e.g. a budget-execution report's, read by
    the same normaliser)."""
    if model is None:
        return dict(REGISTRY_SPECS[table])
    return specs_from_model(model, table)


def specs_from_model(model: Any, table: str = "") -> dict[str, ColumnSpec]:
    """Column specs of a pandera `DataFrameModel`, in its column order."""
    schema = model.to_schema()
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
