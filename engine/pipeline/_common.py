"""Helpers shared by the pipeline's steps: reference data, the registry, dates and money labels."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import polars as pl

from engine.errors import EngineError
from engine.pipeline._months import resolve_months
from engine.pipeline._step import StepContext
from engine.schemas import REGISTRY_TABLES, Registry

__all__ = [
    "add_months",
    "extract_date_of",
    "format_uah",
    "month_label",
    "months_of",
    "reference_tables",
    "stage_module",
    "validated_registry",
]


def reference_tables(ctx: StepContext) -> tuple[pl.DataFrame, pl.DataFrame]:
    from engine.reference import load_services, load_territories

    folder = ctx.spec.reference
    return load_territories(folder / "territories.csv"), load_services(folder / "services.csv")


def validated_registry(ctx: StepContext) -> Registry:
    """The validated registry, rebuilt from the validate step's frames (which may come from cache)."""
    out = ctx.upstream["validate"]
    return Registry(
        **{name: out.frames[name] for name in REGISTRY_TABLES},
        extract_date=dt.date.fromisoformat(out.meta["extract_date"]),
        quarantine=out.frames["quarantine"],
        rows_read=dict(out.meta["rows_read"]),
        warnings=out.frames["warnings"],
    )


def extract_date_of(ctx: StepContext) -> dt.date:
    return dt.date.fromisoformat(ctx.meta("validate", "extract_date"))


def months_of(ctx: StepContext) -> tuple[dt.date, dt.date]:
    return resolve_months(ctx.spec.months, extract_date_of(ctx))


def month_label(first: dt.date, last: dt.date) -> str:
    return f"{first:%Y-%m}..{last:%Y-%m}"


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def format_uah(amount: float) -> str:
    """Money for a planner: billions or millions with one decimal, whole hryvnias below that."""
    if abs(amount) >= 1e9:
        return f"{amount / 1e9:,.2f} bn UAH"
    if abs(amount) >= 1e6:
        return f"{amount / 1e6:,.1f} M UAH"
    return f"{amount:,.0f} UAH"


def stage_module(module: str) -> Any:

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            raise EngineError(f"this engine has no module {module}: the step cannot run") from None
        raise


# -- validate --------------------------------------------------------------------------------------
