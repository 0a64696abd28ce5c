"""Small hand-built frames in the shapes the engine's stages produce, for the report tests."""

from __future__ import annotations

import datetime as dt

import polars as pl

from engine.report import ReportData

KYIV_CITY = "UA80000000000093317"
LVIV = "UA46000000000026241"
KHARKIV = "UA63000000000041885"
# hromadas: two in Lviv oblast (one with only 3 people), one in Kharkiv oblast, Kyiv city itself
LVIV_BIG = "UA46060250000025047"
LVIV_SMALL = "UA46060370000065109"
KHARKIV_H = "UA63120010000065387"


def make_territories() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "oblast_code": [LVIV, LVIV, KHARKIV, KYIV_CITY],
            "oblast_name": ["Львівська", "Львівська", "Харківська", "Київ"],
            "oblast_name_en": ["Lviv", "Lviv", "Kharkiv", "Kyiv"],
            "raion_code": [
                "UA46060000000042587",
                "UA46060000000042587",
                "UA63120000000022158",
                KYIV_CITY,
            ],
            "raion_name": ["Львівський", "Львівський", "Харківський", "Київ"],
            "hromada_code": [LVIV_BIG, LVIV_SMALL, KHARKIV_H, KYIV_CITY],
            "hromada_name": ["Львівська", "Оброшинська", "Харківська", "Київ"],
            "population": [900_000, 12_000, 1_400_000, 2_950_000],
        },
        schema_overrides={"population": pl.Int64},
    )


def make_case_months() -> pl.DataFrame:
    rows = []
    months = [dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)]
    # (hromada, oblast, registered hromada, number of people, funded, is_idp)
    groups = [
        (LVIV_BIG, LVIV, KHARKIV_H, 8, True, True),  # IDPs from Kharkiv served in Lviv
        (LVIV_BIG, LVIV, LVIV_BIG, 6, True, False),
        (LVIV_SMALL, LVIV, LVIV_SMALL, 3, True, False),  # a small hromada: 3 people
        (KHARKIV_H, KHARKIV, KHARKIV_H, 10, True, False),
        (KHARKIV_H, KHARKIV, KHARKIV_H, 4, False, False),  # waiting
        (KYIV_CITY, KYIV_CITY, KYIV_CITY, 7, True, False),
    ]
    n = 0
    for hromada, oblast, registered, people, funded, idp in groups:
        for _ in range(people):
            n += 1
            for month in months:
                gross = 2800.0
                rows.append(
                    {
                        "case_id": f"C{n:04d}",
                        "month": month,
                        "funded": funded,
                        "gross_uah": gross,
                        "copay_uah": 0.0,
                        "state_uah": gross,
                        "case_months": 1.0,
                        "days": 30,
                        "recipient_id": f"R{n:04d}",
                        "service_code": "015.1",
                        "service_group": "care",
                        "need_level": 2,
                        "disability_group": "none",
                        "age": 70,
                        "is_idp": idp,
                        "hromada_code": hromada,
                        "raion_code": hromada[:7] + "0000000000",
                        "oblast_code": oblast,
                        "registered_hromada": registered,
                        "ownership": "communal" if funded else None,
                    }
                )
    return pl.DataFrame(rows)


def make_forecast() -> pl.DataFrame:
    ds = [dt.date(2024, m, 1) for m in (4, 5, 6)]
    mean = [40.0, 41.0, 42.0]
    return pl.DataFrame(
        {
            "unique_id": ["total"] * 3,
            "level": ["total"] * 3,
            "ds": ds,
            "mean": mean,
            "lo_80": [m - 3 for m in mean],
            "hi_80": [m + 3 for m in mean],
            "lo_95": [m - 6 for m in mean],
            "hi_95": [m + 6 for m in mean],
            "model": ["ets"] * 3,
        }
    )


def make_history() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "unique_id": ["total"] * 3,
            "ds": [dt.date(2024, m, 1) for m in (1, 2, 3)],
            "y": [38.0, 38.0, 38.0],
        }
    )


def make_report_data() -> ReportData:
    """A run with every section filled: entitlements, forecast, allocation, scenario, quarantine."""
    territories = make_territories()
    case_months = make_case_months()
    forecast = make_forecast()
    oblast_forecast = forecast.with_columns(
        unique_id=pl.lit(LVIV), level=pl.lit("oblast_code"), oblast_code=pl.lit(LVIV)
    )
    pair = forecast.with_columns(
        unique_id=pl.lit(f"{LVIV}/015.1"),
        level=pl.lit("oblast_code/service_code"),
        oblast_code=pl.lit(LVIV),
        service_code=pl.lit("015.1"),
    )
    forecast = pl.concat([forecast, oblast_forecast, pair], how="diagonal")
    return ReportData(
        case_months=case_months,
        forecast=forecast,
        history=make_history(),
        backtest=pl.DataFrame(
            {"level": ["total", "oblast_code"], "model": ["ets", "ets"], "mase": [0.8, 1.1]}
        ),
        allocation_by_territory=pl.DataFrame(
            {  # Allocation.by_territory: per oblast and hromada, shortfall against capped claim
                "oblast_code": [LVIV, LVIV, KHARKIV, KYIV_CITY],
                "hromada_code": [LVIV_BIG, LVIV_SMALL, KHARKIV_H, KYIV_CITY],
                "claim_uah": [117600.0, 25200.0, 117600.0, 58800.0],
                "capped_claim_uah": [117600.0, 25200.0, 100000.0, 58800.0],
                "allocated_uah": [117600.0, 25200.0, 80000.0, 58800.0],
            }
        ),
        allocation_by_tier=pl.DataFrame(
            {  # Allocation.by_tier with two envelope groups
                "envelope_group": ["national"] * 3 + ["other"] * 3,
                "tier_rank": [1, 2, 3, 1, 2, 3],
                "tier": ["children and group I", "need level 3", "everyone else"] * 2,
                "claim_uah": [30000.0, 60000.0, 100000.0, 20000.0, 40000.0, 69200.0],
                "allocated_uah": [30000.0, 60000.0, 80000.0, 20000.0, 40000.0, 51600.0],
            }
        ),
        allocation_rows=pl.DataFrame(
            {
                "oblast_code": [LVIV, LVIV, KHARKIV, KHARKIV, KYIV_CITY],
                "tier": [
                    "need level 3",
                    "everyone else",
                    "need level 3",
                    "everyone else",
                    "everyone else",
                ],
                "tier_rank": [2, 3, 2, 3, 3],
                "claim_uah": [50000.0, 92800.0, 50000.0, 67600.0, 58800.0],
                "allocated_uah": [50000.0, 80000.0, 50000.0, 30000.0, 58800.0],
            }
        ),
        scenario_territories=pl.DataFrame(
            {  # ScenarioDiff.territories: long, every level, served and waiting
                "level": ["oblast", "oblast", "oblast", "oblast", "hromada"],
                "territory_code": [LVIV, KHARKIV, KHARKIV, KYIV_CITY, LVIV_SMALL],
                "funded": [True, True, False, True, True],
                "baseline_state_uah": [142800.0, 84000.0, 33600.0, 58800.0, 25200.0],
                "scenario_state_uah": [147000.0, 92400.0, 36960.0, 57600.0, 26100.0],
                "diff_state_uah": [4200.0, 8400.0, 3360.0, -1200.0, 900.0],
            }
        ),
        scenario_cases=pl.DataFrame(
            {
                "case_id": ["C0001", "C0002", "C0003"],
                "diff_state_uah": [300.0, -120.0, 0.0],
                "outcome": ["winner", "loser", "unchanged"],
            }
        ),
        quarantine_summary=pl.DataFrame(
            {
                "table": ["cases", "recipients"],
                "rule": ["orphan_key", "invalid_value"],
                "rows": [3, 1],
            }
        ),
        rows_read={"recipients": 42, "cases": 45},
        run={"run_id": "20240401T000000-test", "spec": "test"},
        territories=territories,
    )
