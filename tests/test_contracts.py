"""Output contracts (engine.contracts): real outputs pass, each kind of breakage is caught."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from engine.allocation import allocate, claims_from_case_months, policy_from_dict
from engine.columns import MONEY
from engine.contracts import (
    OutputContractError,
    check_allocation_rows,
    check_case_months,
    check_claims,
    check_forecast_output,
    check_segments,
)
from engine.entitlements import compute_entitlements
from engine.params import load_funding_model
from engine.reference import load_territories
from engine.registry import read_registry

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ent():
    territories = load_territories()
    registry = read_registry(REPO / "data_samples" / "registry", territories=territories)
    model = load_funding_model(REPO / "models" / "funding" / "baseline")
    return compute_entitlements(registry, model, territories, months=("2026-05", "2026-05"))


def test_real_outputs_pass(ent) -> None:
    check_segments(ent.segments)
    check_case_months(ent.case_months)
    claims = check_claims(claims_from_case_months(ent.case_months))
    policy = policy_from_dict(
        {
            "name": "p",
            "envelope": {"national_uah": 1000},
            "tiers": [{"name": "a", "otherwise": True}],
        }
    )
    check_allocation_rows(allocate(claims, policy).rows)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (pl.col("oblast_code").cast(pl.String), "not an Enum"),
        (pl.col("state_uah").cast(pl.Float64), "state_uah"),
        (pl.col("state_uah") + pl.lit(Decimal("0.01"), dtype=MONEY), "gross_uah = copay_uah"),
        (pl.col("days").cast(pl.Int32), "days"),
    ],
    ids=["text dimension", "float money", "state off by a kopiyka", "wrong dtype"],
)
def test_a_broken_case_month_frame_is_refused(ent, change: pl.Expr, message: str) -> None:
    name = change.meta.output_name()
    broken = ent.case_months.with_columns(change.alias(name))
    if name == "state_uah" and broken.schema[name] == pl.Decimal(38, 2):
        broken = broken.with_columns(pl.col(name).cast(MONEY))
    with pytest.raises(OutputContractError, match=message):
        check_case_months(broken)


def test_missing_columns_and_bad_allocations_and_forecasts_are_refused(ent) -> None:
    with pytest.raises(OutputContractError, match="missing"):
        check_segments(ent.segments.drop("coef"))
    rows = pl.DataFrame(
        {"claim_uah": [1.0], "capped_claim_uah": [1.0], "allocated_uah": [2.0], "coverage": [2.0]}
    ).with_columns(pl.col("^.*_uah$").cast(MONEY), tier_rank=pl.lit(1))
    with pytest.raises(OutputContractError, match="allocated_uah <= capped_claim_uah"):
        check_allocation_rows(rows)
    forecast = pl.DataFrame(
        {
            "unique_id": ["a"],
            "ds": [dt.date(2027, 1, 1)],
            "mean": [5.0],
            "lo_80": [6.0],
            "hi_80": [7.0],
        }
    )
    with pytest.raises(OutputContractError, match="lo_80 <= mean"):
        check_forecast_output(forecast)
    assert check_forecast_output(forecast.with_columns(lo_80=pl.lit(4.0))).height == 1


def test_pandera_is_not_imported_with_the_contracts() -> None:
    code = "import sys, engine.contracts; print('pandera' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.strip() == "False"


def test_forecast_checks_its_output_where_it_leaves(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.contracts
    from engine.forecasting import forecast

    seen: list[int] = []

    def counting(frame: pl.DataFrame) -> pl.DataFrame:
        seen.append(frame.height)
        return frame

    monkeypatch.setattr(engine.contracts, "check_forecast_output", counting)
    months = pl.date_range(dt.date(2022, 1, 1), dt.date(2024, 12, 1), "1mo", eager=True)
    series = pl.DataFrame(
        {"unique_id": "a", "ds": months, "y": [float(10 + i % 12) for i in range(len(months))]}
    )
    result = forecast(series, horizon=3)
    assert seen == [result.forecasts.height] == [3]
