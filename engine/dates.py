"""Dates and months, one way everywhere: strict parsing, month arithmetic, day numbers, month ranges.

A month is the date of its first day. Day numbers (`epoch_days`) are days since 1970-01-01, the
int32 the array code and polars' `Date` use. Parsing is strict: `YYYY-MM-DD` and `YYYY-MM` only,
and a real calendar day; a bad value raises `ValueError` with a sentence the caller puts next to
the file and line.

    >>> add_months(dt.date(2025, 11, 1), 3)
    datetime.date(2026, 2, 1)
    >>> month_range("2025-11", "2026-01")
    [datetime.date(2025, 11, 1), datetime.date(2025, 12, 1), datetime.date(2026, 1, 1)]
"""

from __future__ import annotations

import datetime as dt
import re

from engine.errors import ConfigError

__all__ = [
    "DATE_TEXT",
    "EPOCH",
    "MONTH_RANGE",
    "MONTH_TOKENS",
    "add_months",
    "epoch_days",
    "month_index",
    "month_range",
    "month_start",
    "parse_date",
    "parse_month",
    "resolve_months",
]

EPOCH = dt.date(1970, 1, 1)
MONTH_TOKENS = ("current-year", "next-year", "year-to-date")
MONTH_RANGE = re.compile(r"^(\d{4})-(\d{2}):(\d{4})-(\d{2})$")
DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # the one spelling of a date
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def epoch_days(date: dt.date) -> int:
    """Days since 1970-01-01.

    >>> epoch_days(dt.date(1970, 1, 2)), epoch_days(dt.date(2024, 1, 1))
    (1, 19723)
    """
    return (date - EPOCH).days


def parse_date(text: str) -> dt.date:
    """A `YYYY-MM-DD` text as a date: no other spelling, and a real calendar day.

    >>> parse_date("2024-02-29")
    datetime.date(2024, 2, 29)
    >>> parse_date("2026-02-30")
    Traceback (most recent call last):
    ValueError: 2026-02-30 is not a date (day is out of range for month)
    """
    if not DATE_TEXT.match(text):
        raise ValueError(f"expected YYYY-MM-DD, got {text!r}")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text} is not a date ({exc})") from None


def parse_month(text: str) -> dt.date:
    """A `YYYY-MM` text as the first day of that month.

    >>> parse_month("2025-03")
    datetime.date(2025, 3, 1)
    """
    found = _MONTH.match(text.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise ValueError(f"bad month {text!r}: expected YYYY-MM")
    return dt.date(int(found.group(1)), int(found.group(2)), 1)


def month_start(value: str | dt.date) -> dt.date:
    """The month of a date (its first day), or of a `YYYY-MM` text."""
    return value.replace(day=1) if isinstance(value, dt.date) else parse_month(value)


def month_index(month: dt.date) -> int:
    """year × 12 + month − 1: months as consecutive integers.

    >>> month_index(dt.date(2025, 1, 31)) - month_index(dt.date(2024, 12, 1))
    1
    """
    return month.year * 12 + month.month - 1


def add_months(month: dt.date, n: int) -> dt.date:
    """The first day of the month `n` months after (or, for negative `n`, before) `month`'s."""
    index = month_index(month) + n
    return dt.date(index // 12, index % 12 + 1, 1)


def month_range(first: str | dt.date, last: str | dt.date) -> list[dt.date]:
    """First days of every month from `first` to `last` inclusive ("YYYY-MM" or any date in it)."""
    start, end = month_start(first), month_start(last)
    if end < start:
        raise ValueError(f"empty month range {first}:{last}")
    return [add_months(start, k) for k in range(month_index(end) - month_index(start) + 1)]


def resolve_months(
    months: str | tuple[str | dt.date, str | dt.date] | None,
    extract_date: dt.date,
    *,
    earliest: dt.date | None = None,
) -> tuple[dt.date, dt.date]:
    """The first and last month that `months` means for an extract dated `extract_date`.

    `months` is a run spec's word (`current-year`, `next-year`, `year-to-date`), a range
    `YYYY-MM:YYYY-MM`, a pair of months or dates, or None: from `earliest` (default: the extract
    date) to the extract's month.

    >>> resolve_months("current-year", dt.date(2025, 6, 14))
    (datetime.date(2025, 1, 1), datetime.date(2025, 12, 1))
    >>> resolve_months("2026-07:2027-06", dt.date(2025, 6, 14))
    (datetime.date(2026, 7, 1), datetime.date(2027, 6, 1))
    >>> resolve_months(None, dt.date(2025, 6, 14), earliest=dt.date(2024, 3, 9))
    (datetime.date(2024, 3, 1), datetime.date(2025, 6, 1))
    """
    year = extract_date.year
    if months is None:
        return month_start(earliest or extract_date), month_start(extract_date)
    if not isinstance(months, str):
        first, last = months
        return month_start(first), month_start(last)
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
