"""Invariants checked at the output edges: what no published table may ever hold.

Loaders refuse non-finite parameters, but money is computed from many of them (tariffs × units ×
coefficients × shares, scenario overlays, forecasts). A NaN or an infinity that slipped through
would otherwise be summed into every total and published with exit 0. One vectorised pass per frame
stops it where it would leave the engine.

>>> import polars as pl
>>> assert_finite_money(pl.DataFrame({"state_uah": [1.0, None]}), ["state_uah"], "case_months")
>>> try:
...     assert_finite_money(pl.DataFrame({"gross_uah": [float("inf")]}), None, "case_months")
... except NonFiniteMoneyError as exc:
...     print(str(exc).split(":")[0])
case_months, column 'gross_uah'
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from engine.errors import EngineError

__all__ = ["NonFiniteMoneyError", "assert_finite_money", "money_columns"]


class NonFiniteMoneyError(EngineError):
    """A money column holds NaN or ±infinity: a bug or a parameter no loader caught (exit 1)."""


def money_columns(frame: pl.DataFrame) -> list[str]:
    """The float columns named as money (`*_uah`), the engine's naming convention for amounts."""
    return [
        name
        for name, dtype in frame.schema.items()
        if name.endswith("_uah") and dtype in (pl.Float32, pl.Float64)
    ]


def assert_finite_money(
    frame: pl.DataFrame, columns: Iterable[str] | None = None, where: str = "output"
) -> None:
    """Raise `NonFiniteMoneyError` if any of `columns` (default: every `*_uah` float column) holds
    NaN or ±infinity. Nulls are allowed: they mean "no amount", never a wrong one."""
    names = money_columns(frame) if columns is None else list(columns)
    floats = [c for c in names if frame.schema[c] in (pl.Float32, pl.Float64)]
    if not floats or frame.is_empty():
        return
    bad = frame.select(pl.col(c).is_finite().not_().sum().alias(c) for c in floats).row(0)
    for column, count in zip(floats, bad, strict=True):
        if count:
            first = frame.filter(~pl.col(column).is_finite())[column][0]
            plural = "row holds" if count == 1 else "rows hold"
            raise NonFiniteMoneyError(
                f"{count:,} {plural} a non-finite amount ({first}): a parameter or an overlay "
                "produced it; nothing was published",
                path=where,
                column=column,
            )
