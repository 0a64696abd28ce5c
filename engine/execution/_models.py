"""The contracts of a budget-execution report (pandera, polars backend).

`ExecutionInput` is the report as it arrives, after its headers are named (see `_read`): the
registry's normaliser compiles it to vectorised checks, so a value that does not fit sends its row
to quarantine with its source line. `EXECUTION_SCHEMA` is the typed table `read_execution` returns.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from engine.columns import MONEY

__all__ = ["EXECUTION_COLUMNS", "EXECUTION_SCHEMA", "GRAINS", "REPORT_LEVELS", "ExecutionInput"]

_KATOTTG = r"^UA\d{17}$"
GRAINS = ("month", "quarter", "year")  # the periods of a comparison, finest first
REPORT_LEVELS = ("hromada", "raion", "oblast")  # the territories a report row may name


class ExecutionInput(pa.DataFrameModel):
    """One row of a report: what was paid under a programme code, for a period and a territory."""

    period: str
    territory_code: str = pa.Field(str_matches=_KATOTTG)
    programme_code: str
    paid: float = pa.Field(ge=0)
    unit: str = pa.Field(nullable=True)
    recipients: int = pa.Field(nullable=True, ge=0)
    case_months: float = pa.Field(nullable=True, ge=0)


EXECUTION_COLUMNS: dict[str, pl.DataType] = {
    "period": pl.String(),  # 2026-03 or 2026-Q1
    "grain": pl.Enum(list(GRAINS[:2])),
    "period_start": pl.Date(),
    "period_end": pl.Date(),
    "territory_code": pl.String(),
    "level": pl.Enum(list(REPORT_LEVELS)),
    "oblast_code": pl.String(),
    "programme_code": pl.String(),
    "service_code": pl.String(),
    "paid_uah": MONEY,
    "recipients": pl.Int64(),
    "case_months": pl.Float64(),
    "source_line": pl.Int64(),
}

EXECUTION_SCHEMA = pa.DataFrameSchema(
    {
        "period": pa.Column(pl.String),
        "grain": pa.Column(EXECUTION_COLUMNS["grain"]),
        "period_start": pa.Column(pl.Date),
        "period_end": pa.Column(pl.Date),
        "territory_code": pa.Column(pl.String, pa.Check.str_matches(_KATOTTG)),
        "level": pa.Column(EXECUTION_COLUMNS["level"]),
        "oblast_code": pa.Column(pl.String),
        "programme_code": pa.Column(pl.String),
        "service_code": pa.Column(pl.String),
        "paid_uah": pa.Column(MONEY, pa.Check.ge(0)),
        "recipients": pa.Column(pl.Int64, pa.Check.ge(0), nullable=True),
        "case_months": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
        "source_line": pa.Column(pl.Int64),
    },
    strict=True,
    unique=["period", "territory_code", "programme_code"],
    name="execution",
)
