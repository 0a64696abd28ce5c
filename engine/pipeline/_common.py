"""Helpers shared by the pipeline's nodes: month arithmetic, money labels, stage modules."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

from engine.errors import EngineError

__all__ = ["add_months", "format_uah", "month_label", "stage_module"]


def month_label(first: dt.date, last: dt.date) -> str:
    return f"{first:%Y-%m}..{last:%Y-%m}"


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def format_uah(amount: Any) -> str:
    """Money for a planner: billions or millions with one decimal, whole hryvnias below that."""
    amount = float(amount)  # a Decimal sum reads the same
    if abs(amount) >= 1e9:
        return f"{amount / 1e9:,.2f} bn UAH"
    if abs(amount) >= 1e6:
        return f"{amount / 1e6:,.1f} M UAH"
    return f"{amount:,.0f} UAH"


def stage_module(module: str) -> Any:
    """A stage module, imported when a node runs (loading a spec imports none of them)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            raise EngineError(f"this engine has no module {module}: the step cannot run") from None
        raise
