"""The months a run spec's `months` key names (`current-year`, `next-year`, `year-to-date` or
`YYYY-MM:YYYY-MM`), resolved against the extract date: `engine.dates.resolve_months`."""

from __future__ import annotations

from engine.dates import MONTH_RANGE, resolve_months

__all__ = ["MONTH_RANGE", "resolve_months"]
