"""Money follows every dated change: the priced forecast reads tariff, coefficient, modifier and
co-payment on each forecast month (golden: golden/price_dated_changes.yaml, computed by hand)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from forecast_helpers import golden

from engine.demand import demand_series, price_forecast
from engine.params import FundingModel, Parameter

CASE = golden("price_dated_changes.yaml")
DIMS = {
    "tariff": ("service_code",),
    "territory_coef": ("status",),
    "territory_coef_cap": (),
    "modifier": ("disability_group", "service_group"),
    "copay_bands": ("income_ratio_from",),
    "unknown_income_band": (),
}


def _intervals(rows: list[dict], dims: tuple[str, ...]) -> pl.DataFrame:
    schema = {d: pl.Float64 if d == "income_ratio_from" else pl.String for d in dims}
    schema |= {"valid_from": pl.Date, "valid_to": pl.Date, "value": pl.Float64}
    data = [
        {
            **{d: r[d] for d in dims},
            "valid_from": r["from"],
            "valid_to": r["to"],
            "value": r["value"],
        }
        for r in rows
    ]
    return pl.DataFrame(data, schema=schema)


def _model(changes: dict | None = None) -> FundingModel:
    spec = {**CASE["model"], **(changes or {})}
    parameters = {
        name: Parameter(
            name,
            "",
            "",
            None,
            dims,
            spec["modifier_default"] if name == "modifier" else None,
            _intervals(spec[name], dims),
            "golden",
        )
        for name, dims in DIMS.items()
    }
    return FundingModel("golden", "1", "", "", parameters)


def _segments() -> pl.DataFrame:
    rows = []
    for month in CASE["history_months"]:
        days = ((month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - month).days
        for k, case in enumerate(CASE["cases"]):
            gross = 70.0 * case["units"] * case["coef"] * case["modifier"]
            rows.append(
                {
                    "case_id": f"C{k}",
                    "recipient_id": case["recipient"],
                    "service_code": "015.1",
                    "service_group": "care",
                    "unit": "hour",
                    "need_level": 2,
                    "month": month,
                    "segment_from": month,
                    "days": days,
                    "days_in_month": days,
                    "hromada_code": case["hromada"],
                    "raion_code": "R1",
                    "oblast_code": "O1",
                    "disability_group": case["disability"],
                    "units": float(case["units"]),
                    "tariff": 70.0,
                    "coef": case["coef"],
                    "modifier": case["modifier"],
                    "cap_factor": 1.0,
                    "copay_share": case["share"],
                    "state_uah": gross * (1.0 - case["share"]),
                    "funded": True,
                }
            )
    return pl.DataFrame(rows)


def _registry_tables() -> tuple[pl.DataFrame, pl.DataFrame]:
    status = pl.DataFrame(
        [
            {
                "hromada_code": s["hromada"],
                "status": s["status"],
                "valid_from": s["from"],
                "valid_to": s["to"],
            }
            for s in CASE["territory_status"]
        ],
        schema={
            "hromada_code": pl.String,
            "status": pl.String,
            "valid_from": pl.Date,
            "valid_to": pl.Date,
        },
    )
    recipients = pl.DataFrame(
        {
            "recipient_id": [c["recipient"] for c in CASE["cases"]],
            "income_ratio": [c["income"] for c in CASE["cases"]],
        }
    )
    return status, recipients


def _forecast() -> pl.DataFrame:
    rows = [
        {
            "oblast_code": "O1",
            "raion_code": "R1",
            "hromada_code": h,
            "service_group": "care",
            "service_code": "015.1",
            "ds": month,
            "mean": 2.0,
            "hi_95": 3.0,
        }
        for h in ("H1", "H2")
        for month in CASE["forecast_months"]
    ]
    return pl.DataFrame(rows)


def _prices(priced: pl.DataFrame) -> dict[str, list[float]]:
    out = priced.sort("hromada_code", "month").group_by("hromada_code", maintain_order=True)
    return {h: prices for h, prices in out.agg(pl.col("price_uah")).iter_rows()}


def test_a_coefficient_and_a_copay_change_move_the_price_from_their_month():
    segments = _segments()
    status, recipients = _registry_tables()
    priced = price_forecast(
        _forecast(), demand_series(segments), _model(), segments=segments,
        territory_status=status, recipients=recipients,
    )  # fmt: skip
    got = _prices(priced)
    for hromada, expected in CASE["expected_price"].items():
        assert got[hromada] == pytest.approx(expected, rel=1e-12)
    assert set(priced["price_basis"]) == {"hromada"}
    h1_march = priced.filter((pl.col("hromada_code") == "H1") & (pl.col("month").dt.month() == 3))
    assert h1_march["need_uah"].item() == pytest.approx(2.0 * 1547.0, rel=1e-12)
    assert h1_march["need_uah_hi_95"].item() == pytest.approx(3.0 * 1547.0, rel=1e-12)


def test_following_the_tariff_only_keeps_the_base_windows_price():
    segments = _segments()
    history = demand_series(segments)
    tariff_only = _prices(price_forecast(_forecast(), history, _model()))
    for hromada, expected in CASE["expected_price_tariff_only"].items():
        assert tariff_only[hromada] == pytest.approx(expected, rel=1e-12)


def test_without_statuses_and_incomes_each_segment_keeps_its_coefficient_and_share():
    segments = _segments()
    priced = price_forecast(_forecast(), demand_series(segments), _model(), segments=segments)
    for hromada, expected in CASE["expected_price_tariff_only"].items():
        assert _prices(priced)[hromada] == pytest.approx(expected, rel=1e-12)


def test_a_tariff_and_a_modifier_change_are_followed_too():
    """Tariff 70 → 77 and modifier (I, care) 1.5 → 2.0 from 2027-01: H1 in January is
    (20·77·1.3 + 40·77·1.3·2.0·0.7) / 4 = (2002 + 5605.6) / 4 = 1901.9."""
    changes = {
        "tariff": [
            {"service_code": "015.1", "from": dt.date(2024, 1, 1), "to": dt.date(2026, 12, 31),
             "value": 70.0},
            {"service_code": "015.1", "from": dt.date(2027, 1, 1), "to": None, "value": 77.0},
        ],
        "modifier": [
            {"disability_group": "I", "service_group": "care", "from": dt.date(2024, 1, 1),
             "to": dt.date(2026, 12, 31), "value": 1.5},
            {"disability_group": "I", "service_group": "care", "from": dt.date(2027, 1, 1),
             "to": None, "value": 2.0},
        ],
    }  # fmt: skip
    segments = _segments()
    status, recipients = _registry_tables()
    priced = price_forecast(
        _forecast(), demand_series(segments), _model(changes), segments=segments,
        territory_status=status, recipients=recipients,
    )  # fmt: skip
    assert _prices(priced)["H1"][:2] == pytest.approx([1302.0, 1901.9], rel=1e-12)


def test_segments_without_the_entitlement_factors_price_by_the_tariff():
    segments = _segments()
    narrow = segments.drop("units", "coef", "cap_factor", "copay_share", "unit")
    priced = price_forecast(_forecast(), demand_series(segments), _model(), segments=narrow)
    assert _prices(priced)["H1"] == pytest.approx([1302.0] * 3, rel=1e-12)
