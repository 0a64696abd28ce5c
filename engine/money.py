"""Hryvnias written for people, one way everywhere.

Compact, for sentences and chart labels (`bn` and `M` with the unit), or exact to the kopiyka with
thousands separators, for tables whose column names the unit. A missing amount is a dash.

    >>> format_uah(2_345_678_901.0), format_uah(26_500_000.0), format_uah(1234.5)
    ('2.35 bn UAH', '26.5 M UAH', '1,234 UAH')
    >>> format_uah(1234.5, exact=True), format_uah(Decimal("31096168.75"), exact=True)
    ('1,234.50', '31,096,168.75')
    >>> format_uah(Decimal("31096168.75")), format_uah(None)
    ('31.1 M UAH', '–')
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["format_uah"]

_MISSING = "–"


def format_uah(amount: float | Decimal | None, *, exact: bool = False) -> str:
    """`amount` in hryvnias (a float or an exact `Decimal`): compact with the unit (default) or
    exact to the kopiyka."""
    if amount is None:
        return _MISSING
    if exact:
        return f"{amount:,.2f}"
    amount = float(amount)
    if abs(amount) >= 1e9:
        return f"{amount / 1e9:,.2f} bn UAH"
    if abs(amount) >= 1e6:
        return f"{amount / 1e6:,.1f} M UAH"
    return f"{amount:,.0f} UAH"
