"""The months a run spec's `months` key names (`current-year`, `next-year`, `year-to-date` or
`YYYY-MM:YYYY-MM`), resolved against the extract date."""

from __future__ import annotations

import datetime as dt
import re

from engine.errors import ConfigError

__all__ = ["MONTH_RANGE", "resolve_months"]

MONTH_RANGE = re.compile(r"^(\d{4})-(\d{2}):(\d{4})-(\d{2})$")


def resolve_months(months: str, extract_date: dt.date) -> tuple[dt.date, dt.date]:
    """First days of the first and last month a spec's `months` means for an extract date.

    >>> resolve_months("current-year", dt.date(2025, 6, 14))
    (datetime.date(2025, 1, 1), datetime.date(2025, 12, 1))
    >>> resolve_months("2026-07:2027-06", dt.date(2025, 6, 14))
    (datetime.date(2026, 7, 1), datetime.date(2027, 6, 1))
    """
    year = extract_date.year
    if months == "current-year":
        return dt.date(year, 1, 1), dt.date(year, 12, 1)
    if months == "next-year":
        return dt.date(year + 1, 1, 1), dt.date(year + 1, 12, 1)
    if months == "year-to-date":
        return dt.date(year, 1, 1), extract_date.replace(day=1)
    found = MONTH_RANGE.match(months)
    if found is None:
        raise ConfigError(f"months: cannot read {months!r}")
    y1, m1, y2, m2 = (int(g) for g in found.groups())
    return dt.date(y1, m1, 1), dt.date(y2, m2, 1)
