"""Helpers shared by the pipeline's nodes: month arithmetic, money labels, stage modules."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

from engine.dates import add_months
from engine.errors import EngineError
from engine.money import format_uah

__all__ = ["add_months", "format_uah", "month_label", "stage_module"]


def month_label(first: dt.date, last: dt.date) -> str:
    return f"{first:%Y-%m}..{last:%Y-%m}"


def stage_module(module: str) -> Any:
    """A stage module, imported when a node runs (loading a spec imports none of them)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            raise EngineError(f"this engine has no module {module}: the step cannot run") from None
        raise
