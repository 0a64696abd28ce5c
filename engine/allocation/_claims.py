"""Claims: what each row asks of the envelope, from entitlements or from a forecast of need."""

from __future__ import annotations

import polars as pl

from engine.columns import MONEY, money_from_float, round_kopiyka
from engine.contracts import check_claims
from engine.errors import InputFileError

__all__ = ["claims_from_case_months", "claims_from_forecast"]

_CASE_MONTH_COLUMNS = ("case_id", "month", "funded", "state_uah")


def claims_from_case_months(
    case_months: pl.DataFrame | pl.LazyFrame, *, include_unmet: bool = True
) -> pl.DataFrame:
    """Claims from `case_months` of the entitlement step: the claim is the state's share, `state_uah`.

    A row is identified by `(case_id, month, funded)`. Unfunded rows (waiting cases) are unmet
    need: `include_unmet=True` (the default) lets them claim too, as planning "who should be
    served" wants; `include_unmet=False` keeps only cases already served, as in paying providers.
    Every attribute column (territory, service, need level, disability group, age, ...) is kept so
    tier predicates can use it.

    >>> cm = pl.DataFrame({"case_id": ["c1", "c2"], "month": [None, None], "funded": [True, False],
    ...                    "state_uah": [1200.0, 800.0]})
    >>> claims_from_case_months(cm, include_unmet=False)["claim_uah"].to_list()
    [Decimal('1200.00')]
    """
    frame = case_months.collect() if isinstance(case_months, pl.LazyFrame) else case_months
    missing = [c for c in _CASE_MONTH_COLUMNS if c not in frame.columns]
    if missing:
        raise InputFileError(f"case_months lack column(s) {', '.join(missing)}", column=missing[0])
    if not include_unmet:
        frame = frame.filter(pl.col("funded"))
    return check_claims(frame.with_columns(claim_uah=pl.col("state_uah").cast(MONEY)))


def claims_from_forecast(
    forecast: pl.DataFrame | pl.LazyFrame, value_column: str = "need_uah"
) -> pl.DataFrame:
    """Claims from a forecast of need: territory × service × month rows with a money column.

    The money column becomes `claim_uah`; a negative forecast (which a coherent, non-negative
    reconciliation never produces) is an error rather than silently clipped.

    >>> fc = pl.DataFrame({"hromada_code": ["UA1", "UA2"], "service_code": ["015.1", "015.1"],
    ...                    "need_uah": [5000.0, 2500.0]})
    >>> claims_from_forecast(fc)["claim_uah"].sum()
    Decimal('7500.00')
    """
    frame = forecast.collect() if isinstance(forecast, pl.LazyFrame) else forecast
    if value_column not in frame.columns:
        raise InputFileError(
            f"the forecast has no column '{value_column}'; columns: {', '.join(frame.columns)}",
            column=value_column,
        )
    values = frame[value_column]
    negative = int((values < 0).sum())
    if negative:
        raise InputFileError(f"{negative} forecast rows are negative", column=value_column)
    if isinstance(values.dtype, pl.Decimal):
        return check_claims(frame.with_columns(claim_uah=values.cast(MONEY)))
    # a forecast is float money: rounded once to kopiyky, half away from zero, as allocation does
    amounts = values.cast(pl.Float64).to_numpy().copy()
    rounded = money_from_float(round_kopiyka(amounts, out=amounts), "claim_uah")
    return check_claims(frame.with_columns(rounded))
