"""Need series from segments, and forecast case-months priced with the tariff, by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from engine.allocation import claims_from_forecast
from engine.demand import demand_series, price_forecast

D = dt.date


def _segment(case, month, start, end, *, hromada="H1", service="015.1", funded=True, state=0.0):
    days_in_month = {1: 31, 2: 29, 3: 31}[month.month]
    return {
        "case_id": case,
        "service_code": service,
        "service_group": "care",
        "month": month,
        "segment_from": start,
        "segment_to": end,
        "days": (end - start).days + 1,
        "days_in_month": days_in_month,
        "hromada_code": hromada,
        "raion_code": "R1",
        "oblast_code": "O1",
        "state_uah": state,
        "funded": funded,
    }


SEGMENTS = pl.DataFrame(
    [
        # c1 served in H1 from 10 January to the end of February 2024
        _segment("c1", D(2024, 1, 1), D(2024, 1, 10), D(2024, 1, 31), state=220.0),
        _segment("c1", D(2024, 2, 1), D(2024, 2, 1), D(2024, 2, 29), state=290.0),
        # c2 waits in H1 from 15 February, served from March
        _segment("c2", D(2024, 2, 1), D(2024, 2, 15), D(2024, 2, 29), funded=False, state=150.0),
        _segment("c2", D(2024, 3, 1), D(2024, 3, 1), D(2024, 3, 31), state=310.0),
        # c3 starts in H2 in March (a pair first seen in March)
        _segment("c3", D(2024, 3, 1), D(2024, 3, 16), D(2024, 3, 31), hromada="H2", state=160.0),
    ]
)


def test_demand_series_by_hand():
    d = demand_series(SEGMENTS)
    h1 = d.filter(pl.col("hromada_code") == "H1").sort("month")
    assert h1["month"].to_list() == [D(2024, 1, 1), D(2024, 2, 1), D(2024, 3, 1)]
    # January 22/31 of a case-month; February c1 all month; March c2 all month
    assert h1["case_months_served"].to_list() == pytest.approx([22 / 31, 1.0, 1.0])
    assert h1["case_months_waiting"].to_list() == pytest.approx([0.0, 15 / 29, 0.0])
    assert h1["state_uah"].to_list() == [220.0, 290.0, 310.0]
    assert h1["unmet_state_uah"].to_list() == [0.0, 150.0, 0.0]
    # the first month is left-censored; c2 is new in February (its first segment), none in March
    assert h1["new_cases"].to_list() == [None, 1.0, 0.0]
    h2 = d.filter(pl.col("hromada_code") == "H2")
    assert h2["month"].to_list() == [D(2024, 3, 1)]  # the series starts with its first segment
    assert h2["new_cases"].to_list() == [1.0]
    assert h2.select("raion_code", "oblast_code", "service_group").row(0) == ("R1", "O1", "care")


class _Tariffs:
    """The one table `price_forecast` reads from a funding model (engine.params.FundingModel)."""

    def __init__(self, table: pl.DataFrame) -> None:
        self._table = table

    def table(self, name: str) -> pl.DataFrame:
        assert name == "tariff"
        return self._table


TARIFF = pl.DataFrame(
    {
        "service_code": ["015.1", "015.1", "020.0"],
        "valid_from": [D(2024, 1, 1), D(2024, 2, 1), D(2024, 1, 1)],
        "valid_to": [D(2024, 1, 31), None, D(2024, 3, 31)],
        "value": [100.0, 120.0, 50.0],
    }
)


def test_price_forecast_by_hand():
    history = pl.DataFrame(
        {
            "month": [D(2024, 1, 1), D(2024, 2, 1), D(2024, 1, 1), D(2024, 2, 1)] * 1,
            "oblast_code": ["O1"] * 4,
            "raion_code": ["R1"] * 4,
            "hromada_code": ["H1", "H1", "H2", "H2"],
            "service_group": ["care"] * 4,
            "service_code": ["015.1"] * 4,
            "case_months_served": [1.0, 1.5, 0.0, 0.0],
            "case_months_waiting": [0.0, 0.5, 0.0, 0.0],
            "state_uah": [100.0, 180.0, 0.0, 0.0],
            "unmet_state_uah": [0.0, 60.0, 0.0, 0.0],
        }
    )
    # H1: January 100 UAH / tariff 100 = 1 unit; February (180 + 60) / 120 = 2 units; over
    # 1 + 2 = 3 case-months → 1 tariff unit per case-month. March tariff 120 → 120 UAH.
    # H2 had no case-months: the service's mean, also 1 unit → 120 UAH.
    # 020.0's tariff ends on 31 March: April is not financed.
    forecast = pl.DataFrame(
        {
            "oblast_code": ["O1"] * 3,
            "raion_code": ["R1"] * 3,
            "hromada_code": ["H1", "H2", "H1"],
            "service_group": ["care"] * 3,
            "service_code": ["015.1", "015.1", "020.0"],
            "ds": [D(2024, 3, 1), D(2024, 3, 1), D(2024, 4, 1)],
            "mean": [2.0, 0.5, 3.0],
            "lo_80": [1.0, 0.0, 2.0],
            "hi_80": [3.0, 1.0, 4.0],
        }
    )
    priced = price_forecast(forecast, history, _Tariffs(TARIFF)).sort(
        "service_code", "hromada_code"
    )
    assert priced["price_uah"].to_list() == pytest.approx([120.0, 120.0, 0.0])
    assert priced["price_basis"].to_list() == ["hromada", "service mean", "not financed"]
    assert priced["need_uah"].to_list() == pytest.approx([240.0, 60.0, 0.0])
    assert priced["need_uah_hi_80"].to_list() == pytest.approx([360.0, 120.0, 0.0])
    assert priced["case_months_need"].to_list() == [2.0, 0.5, 3.0]  # named by what was forecast
    served = price_forecast(forecast, history, _Tariffs(TARIFF), target="case_months_served")
    # served only: H1's served money 100/100 + 180/120 = 2.5 units over 2.5 served case-months
    assert {"case_months_served", "served_uah"} <= set(served.columns)
    assert "need_uah" not in served.columns
    claims = claims_from_forecast(priced)
    assert claims["claim_uah"].sum() == pytest.approx(300.0)
    assert {"hromada_code", "service_code", "month"} <= set(claims.columns)


def test_a_service_without_case_months_has_no_price_rather_than_nan():
    history = pl.DataFrame(
        {
            "month": [D(2024, 1, 1), D(2024, 2, 1)],
            "hromada_code": ["H1", "H1"],
            "service_code": ["015.1", "015.1"],
            "case_months_served": [0.0, 0.0],
            "case_months_waiting": [0.0, 0.0],
            "state_uah": [0.0, 0.0],
            "unmet_state_uah": [0.0, 0.0],
        }
    )
    forecast = pl.DataFrame(
        {"hromada_code": ["H1"], "service_code": ["015.1"], "ds": [D(2024, 3, 1)], "mean": [0.4]}
    )
    priced = price_forecast(forecast, history, _Tariffs(TARIFF))
    assert priced["price_basis"].to_list() == ["no history"]
    assert priced["price_uah"].to_list() == [0.0] and priced["need_uah"].to_list() == [0.0]
