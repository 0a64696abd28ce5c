"""The explanation of one case-month: its frames, and how it reads on a terminal and in JSON.

`Explanation.factors` is the main frame: one row per segment × factor (`FACTOR_SCHEMA`);
`segments` has one row per segment with its dates, hromada, provider, the causes of the cuts it
starts and ends at, and its amounts; `case_months` one row per (month, funded) with the unrounded
sums, the rounded amounts and whether the factors give the engine's amount to the kopiyka.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

__all__ = ["Explanation", "shown_path"]


def shown_path(source: str | None) -> str | None:
    """A parameter file's path as the reader knows it: relative to the working folder if inside."""
    if not source:
        return source
    path = Path(source)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: _jsonable(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


@dataclass(frozen=True, eq=False)
class Explanation:
    """Why one case-month's amount is what it is, computed by the engine's own pricing.

    `header` holds the case, recipient, hromadas, funding model (name, version, hash), engine version
    and where the inputs came from; `consistent` says the factors multiply and sum to the engine's
    rounded amounts on every case-month row.

    >>> from engine.explain import price_case
    >>> why = price_case(service="015.1", need_level=2, hromada="UA05020010000053508",
    ...                  start="2025-03-01", until="2025-03-31").explain("2025-03")
    >>> why.consistent, why.segments["start_codes"].to_list()[1]
    (True, ['parameter_change'])
    >>> why.frame.filter(pl.col("factor") == "tariff")["effective_from"].to_list()
    [datetime.date(2024, 1, 1), datetime.date(2025, 3, 10)]
    """

    header: dict[str, Any]
    segments: pl.DataFrame
    factors: pl.DataFrame
    case_months: pl.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)
    lang: str = "en"  # the language its sentences are in (`engine.explain._words`)

    @property
    def frame(self) -> pl.DataFrame:
        """One row per segment × factor: the explanation as a table."""
        return self.factors

    @property
    def consistent(self) -> bool:
        return bool(self.case_months["matches_engine"].all()) if self.case_months.height else True

    def to_dict(self) -> dict[str, Any]:
        segments = []
        for seg in _records(self.segments):
            own = self.factors.filter(pl.col("segment") == seg["segment"]).drop("segment", "funded")
            segments.append(seg | {"factors": _records(own)})
        return {
            **{k: _jsonable(v) for k, v in self.header.items()},
            "segments": segments,
            "case_months": _records(self.case_months),
            "consistent": self.consistent,
            "notes": list(self.notes),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, default=_jsonable)

    def renderables(self) -> list[Any]:
        """What `to_text` prints, as rich renderables (the CLI prints them in colour)."""
        from engine.explain._render import renderables

        return renderables(self)

    def to_text(self, width: int = 110) -> str:
        """The explanation as plain text (rich, without colour)."""
        from rich.console import Console

        buffer = io.StringIO()
        console = Console(file=buffer, width=width, color_system=None, highlight=False)
        for item in self.renderables():
            console.print(item)
        return buffer.getvalue()
