"""Output contracts: what every frame leaving the engine holds (issue 11, item 5).

One contract per output — segments, case-months, claims, allocations, forecasts — states its columns
and their types; each is checked where the frame leaves the engine (the end of
`compute_entitlements`, `allocate`, and, through `check_forecast_output`, the forecast).

A check is cheap: the columns and dtypes are compared on the frame's schema only (no data is
read), then one vectorised polars pass tests a few invariants —
amounts never negative, gross = co-payment + state exactly, 0 ≤ allocated ≤ capped claim, a
forecast's intervals around its mean. A dimension column must be a `pl.Enum` (its categories are
the run's: see `engine.columns`). No pandera: a schema comparison needs none, and importing it
(with pandas) would cost every `mfr entitle` about a second.

A broken contract is a bug, not bad input: `OutputContractError` (exit 1, internal error).

>>> import datetime as dt
>>> check_forecast_output(
...     pl.DataFrame({"unique_id": ["a"], "ds": [dt.date(2027, 1, 1)], "mean": [-1.0]})
... )
Traceback (most recent call last):
...
engine.contracts.OutputContractError: forecast: 1 rows break 'mean >= 0'
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from engine.columns import MONEY, PART_MONEY
from engine.errors import EngineError

__all__ = [
    "CASE_MONTHS",
    "CLAIMS",
    "ENUM",
    "FORECASTS",
    "SEGMENTS",
    "OutputContractError",
    "check_allocation_rows",
    "check_case_months",
    "check_claims",
    "check_forecast_output",
    "check_segments",
]


class OutputContractError(EngineError):
    """A frame leaving the engine breaks its contract: a bug (exit 1)."""


ENUM = "enum"  # the column is a pl.Enum (of the run's categories)
_Kind = pl.DataType | str

_DIMENSIONS = (
    "service_code", "service_group", "unit", "hromada_code", "raion_code", "oblast_code",
    "registered_hromada", "registered_oblast_code", "provider_id", "ownership", "disability_group",
)  # fmt: skip
_CASE_KEYS: dict[str, _Kind] = {
    "case_id": pl.String(),
    "recipient_id": pl.String(),
    "need_level": pl.Int64(),
    "month": pl.Date(),
    "age": pl.Int32(),
    "is_idp": pl.Boolean(),
    "funded": pl.Boolean(),
}
SEGMENTS: dict[str, _Kind] = {
    **_CASE_KEYS,
    **dict.fromkeys(_DIMENSIONS, ENUM),
    "segment_from": pl.Date(),
    "segment_to": pl.Date(),
    "days": pl.Int32(),
    "days_in_month": pl.Int32(),
    **dict.fromkeys(
        ("units", "tariff", "coef", "modifier", "cap_factor", "copay_share"), pl.Float64()
    ),
    **dict.fromkeys(("gross_uah", "copay_uah", "state_uah"), PART_MONEY),
    "model_version": pl.Categorical(),
}
CASE_MONTHS: dict[str, _Kind] = {
    **_CASE_KEYS,
    **dict.fromkeys(_DIMENSIONS, ENUM),
    **dict.fromkeys(("gross_uah", "copay_uah", "state_uah"), MONEY),
    "case_months": pl.Float64(),
    "days": pl.Int64(),
}
CLAIMS: dict[str, _Kind] = {"claim_uah": MONEY}
_ALLOCATION_ROWS: dict[str, _Kind] = {
    **dict.fromkeys(("claim_uah", "capped_claim_uah", "allocated_uah"), MONEY),
    "coverage": pl.Float64(),
    "tier_rank": pl.Int64(),
}
FORECASTS: dict[str, _Kind] = {"unique_id": pl.String(), "ds": pl.Date(), "mean": pl.Float64()}


def _schema_problem(frame: pl.DataFrame, contract: Mapping[str, _Kind], where: str) -> str:
    """'' when every contract column has its type (an Enum column: any Enum, its categories are
    the run's), else what is wrong with the first column that has not."""
    for name, kind in contract.items():
        dtype = frame.schema.get(name)
        if kind == ENUM:
            if not isinstance(dtype, pl.Enum):
                return f"{where}: column {name!r} is {dtype}, not an Enum"
        elif dtype != kind:
            return f"{where}: column {name!r} is {dtype}, expected {kind}"
    return ""


def _check(
    frame: pl.DataFrame,
    contract: Mapping[str, _Kind],
    where: str,
    invariants: Mapping[str, pl.Expr] | None = None,
) -> pl.DataFrame:
    missing = [c for c in contract if c not in frame.columns]
    if missing:
        raise OutputContractError(f"{where}: column(s) {', '.join(missing)} missing")
    problem = _schema_problem(frame, contract, where)  # the schema only: no data read
    if problem:
        raise OutputContractError(problem)
    if invariants and frame.height:  # one pass over the data for every rule
        broken = frame.select(
            (~expr).fill_null(False).sum().alias(rule) for rule, expr in invariants.items()
        ).row(0, named=True)
        for rule, count in broken.items():
            if count:
                raise OutputContractError(f"{where}: {count} rows break {rule!r}")
    return frame


def _money_rules() -> dict[str, pl.Expr]:
    gross, copay, state = pl.col("gross_uah"), pl.col("copay_uah"), pl.col("state_uah")
    return {
        "gross_uah >= 0": gross >= 0,
        "copay_uah >= 0": copay >= 0,
        "gross_uah = copay_uah + state_uah": gross == copay + state,
    }


def check_segments(frame: pl.DataFrame) -> pl.DataFrame:
    """The segments frame of `compute_entitlements` (`SEGMENTS`); an empty frame without columns
    (segments not asked for) passes."""
    if not frame.columns:
        return frame
    return _check(frame, SEGMENTS, "segments", _money_rules())


def check_case_months(frame: pl.DataFrame) -> pl.DataFrame:
    """The case-months of `compute_entitlements` (`CASE_MONTHS`)."""
    rules = _money_rules() | {"days >= 1": pl.col("days") >= 1}
    return _check(frame, CASE_MONTHS, "case_months", rules)


def check_claims(frame: pl.DataFrame) -> pl.DataFrame:
    """Claims for `allocate` as the claims builders make them (`CLAIMS`)."""
    return _check(frame, CLAIMS, "claims", {"claim_uah >= 0": pl.col("claim_uah") >= 0})


def check_allocation_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """`Allocation.rows`: 0 ≤ allocated ≤ capped claim ≤ claim, exact decimals."""
    capped, allocated = pl.col("capped_claim_uah"), pl.col("allocated_uah")
    rules = {
        "allocated_uah >= 0": allocated >= 0,
        "allocated_uah <= capped_claim_uah": allocated <= capped,
        "capped_claim_uah <= claim_uah": capped <= pl.col("claim_uah"),
    }
    contract = {**_ALLOCATION_ROWS, "tier_rank": frame.schema.get("tier_rank", pl.Int64())}
    if not frame.schema.get("tier_rank", pl.Int64()).is_integer():
        raise OutputContractError("allocations: tier_rank is not an integer")
    return _check(frame, contract, "allocations", rules)


def check_forecast_output(frame: pl.DataFrame) -> pl.DataFrame:
    """A forecast frame (`FORECASTS`: `unique_id, ds, mean`, optional `lo_*`/`hi_*` intervals):
    means finite and non-negative (a coherent, non-negative reconciliation), every interval around
    its mean. Returns the frame, so `return check_forecast_output(frame)` ends a forecast."""
    mean = pl.col("mean")
    rules = {"mean >= 0": mean.is_finite() & (mean >= 0)}
    for name in frame.columns:
        if name.startswith("lo_") and f"hi_{name[3:]}" in frame.columns:
            lo, hi = pl.col(name), pl.col(f"hi_{name[3:]}")
            rules[f"{name} <= mean <= hi_{name[3:]}"] = (lo <= mean + 1e-9) & (mean <= hi + 1e-9)
    return _check(frame, FORECASTS, "forecast", rules)
