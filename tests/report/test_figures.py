"""Every figure function returns a plotly figure holding data, from small constructed frames."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import polars as pl
import pytest
from report_kit import KHARKIV, KHARKIV_H, KYIV_CITY, LVIV, LVIV_BIG, LVIV_SMALL

from engine import report
from engine.report import (
    allocation_figure,
    allocation_matrix_figure,
    allocation_tiers_figure,
    backtest_figure,
    fan_chart_figure,
    flows_sankey_figure,
    headline_figure,
    headline_numbers,
    hromada_summary,
    hromada_table_figure,
    monthly_summary,
    node_history,
    oblast_bars_figure,
    oblast_summary,
    oblast_tiles_figure,
    quarantine_figure,
    region_flows,
    scenario_cases_figure,
    scenario_figure,
    trend_figure,
)


def _has_data(fig: go.Figure) -> bool:
    assert isinstance(fig, go.Figure)
    assert fig.data, "figure has no traces"
    return True


def test_headline_numbers_add_up(case_months: pl.DataFrame) -> None:
    numbers = headline_numbers(case_months)
    # 34 people served 3 months at 2800 UAH; 4 waiting in Kharkiv for 3 months
    assert numbers["recipients"] == 34
    assert numbers["waiting_recipients"] == 4
    assert numbers["entitled_uah"] == pytest.approx(34 * 3 * 2800.0)
    assert numbers["unmet_uah"] == pytest.approx(4 * 3 * 2800.0)
    assert numbers["coverage"] == pytest.approx(102 / 114)
    assert numbers["idp_share"] == pytest.approx(8 / 34)
    assert numbers["first_month"] == "2024-01"
    fig = headline_figure(numbers, lang="en")
    assert _has_data(fig)
    assert {t.value for t in fig.data} >= {34 * 3 * 2800.0, 34.0, 4.0}


def test_oblast_summary_totals_match_case_months(case_months: pl.DataFrame, territories) -> None:
    summary = oblast_summary(case_months, territories)
    assert summary["entitled_uah"].sum() == pytest.approx(
        case_months.filter("funded")["state_uah"].sum()
    )
    kharkiv = summary.filter(pl.col("oblast_code") == KHARKIV).row(0, named=True)
    assert kharkiv["coverage"] == pytest.approx(30 / 42)
    assert kharkiv["population"] == 1_400_000


def test_oblast_bars_show_every_oblast_in_ukrainian(case_months, territories) -> None:
    fig = oblast_bars_figure(oblast_summary(case_months, territories), territories, lang="uk")
    assert _has_data(fig)
    assert set(fig.data[0].y) == {"Львівська", "Харківська", "Київ"}
    assert sum(fig.data[0].x) == pytest.approx(34 * 3 * 2800.0)


def test_tile_grid_places_all_27_regions(case_months, territories) -> None:
    fig = oblast_tiles_figure(
        oblast_summary(case_months, territories), "coverage", territories, lang="uk"
    )
    assert _has_data(fig)
    background, values = fig.data
    filled = sum(v is not None for row in values.z for v in row)
    empty = sum(v is not None for row in background.z for v in row)
    assert filled == 3
    assert filled + empty == 27
    # Zakarpattia (UA21) sits bottom-left of the west, Luhansk (UA44) is the easternmost column
    assert report.REGION_TILES["21"][1] == 0
    assert report.REGION_TILES["44"][1] == max(c for _, c in report.REGION_TILES.values())
    assert any("Харківська" in t for row in values.text for t in row)


def test_tile_positions_are_distinct() -> None:
    assert len(set(report.REGION_TILES.values())) == len(report.REGION_TILES) == 27


def test_hromada_table_never_shows_small_cells(case_months, territories) -> None:
    fig = hromada_table_figure(hromada_summary(case_months), territories, min_count=5, lang="en")
    assert _has_data(fig)
    columns = dict(zip(fig.data[0].header.values, fig.data[0].cells.values, strict=True))
    # Obroshynska (3 people) and, with it, Lviv's other hromada are left out, not padded in
    assert columns["Hromada"] == ["Kharkivska", "Kyiv"]
    assert "3" not in columns["Served people"]
    # Kharkiv's 4 waiting people are few: their count and money are blanked in its row
    assert columns["Waiting people"][0] == "< 5"
    assert columns["Unmet need, UAH"][0] == "·"


def test_trend(case_months) -> None:
    fig = trend_figure(monthly_summary(case_months), lang="en")
    assert _has_data(fig)
    served = next(t for t in fig.data if t.name == "served" and t.yaxis == "y")
    assert list(served.y) == [34.0, 34.0, 34.0]


def test_sankey_moves_money_from_registered_to_serving_region(case_months, territories) -> None:
    flows = region_flows(case_months, territories)
    fig = flows_sankey_figure(flows, territories, lang="en")
    assert _has_data(fig)
    link = fig.data[0].link
    # only the IDPs registered in Kharkiv and served in Lviv moved: 8 people × 3 × 2800
    assert list(link.value) == [pytest.approx(8 * 3 * 2800.0)]
    labels = fig.data[0].node.label
    assert labels[link.source[0]] == "Kharkiv (registered)"
    assert labels[link.target[0]] == "Lviv (served)"
    with_stayers = flows_sankey_figure(flows, territories, include_stayers=True, lang="en")
    assert sum(with_stayers.data[0].link.value) == pytest.approx(flows["state_uah"].sum())


def test_fan_chart_has_bands_history_and_mean(forecast, history) -> None:
    fig = fan_chart_figure(forecast, "total", history, lang="en")
    assert _has_data(fig)
    names = [t.name for t in fig.data]
    assert names[:2] == ["95 % interval", "80 % interval"]
    assert "actual" in names
    assert list(fig.data[-1].y) == [40.0, 41.0, 42.0]
    with pytest.raises(ValueError, match="no forecast"):
        fan_chart_figure(forecast, "nowhere", lang="en")


def test_backtest_figure() -> None:
    table = pl.DataFrame(
        {
            "level": ["total", "total", "oblast_code", "oblast_code"],
            "model": ["ets", "naive", "ets", "naive"],
            "mase": [0.7, 1.0, 0.9, 1.0],
        }
    )
    fig = backtest_figure(table, lang="en")
    assert _has_data(fig)
    assert len(fig.data) == 2


def test_allocation_figures() -> None:
    by_territory = pl.DataFrame(
        {
            "oblast_code": [LVIV, KHARKIV, KYIV_CITY],
            "claim_uah": [100.0, 200.0, 50.0],
            "allocated_uah": [100.0, 150.0, 50.0],
        }
    )
    fig = allocation_figure(by_territory, lang="en")
    assert _has_data(fig)
    shortfall = next(t for t in fig.data if t.name == "Shortfall")
    assert sum(shortfall.x) == pytest.approx(50.0)
    by_tier = pl.DataFrame(
        {"tier": [1, 2, 3], "claim_uah": [10.0, 20.0, 30.0], "allocated_uah": [10.0, 20.0, 6.0]}
    )
    fig = allocation_tiers_figure(by_tier, lang="en")
    assert _has_data(fig)
    assert list(fig.data[0].y) == ["3", "2", "1"]  # tier 1 drawn on top


def test_scenario_winners_and_losers(territories) -> None:
    diff = pl.DataFrame(
        {"oblast_code": [LVIV, KHARKIV, KYIV_CITY], "diff_state_uah": [-500.0, 1200.0, 0.0]}
    )
    fig = scenario_figure(diff, territories, lang="en")
    assert _has_data(fig)
    assert list(fig.data[0].y) == ["Lviv", "Kharkiv"]
    assert "(1 gain, 1 lose)" in fig.layout.title.text


def test_hromada_level_scenario_is_suppressed(territories) -> None:
    diff = pl.DataFrame(
        {
            "oblast_code": [LVIV, LVIV, KHARKIV, KYIV_CITY],
            "hromada_code": [LVIV_BIG, LVIV_SMALL, KHARKIV_H, KYIV_CITY],
            "recipients": [14, 3, 10, 7],
            "diff_state_uah": [4200.0, 900.0, 8400.0, -1200.0],
        }
    )
    fig = scenario_figure(diff, territories, level="hromada", lang="en")
    # Оброшинська has 3 people; Львівська is blanked with it (the only other hromada of the
    # oblast, whose total is published); Харківська (10) and Київ (7) are shown
    assert set(fig.data[0].y) == {"Kharkivska", "Kyiv"}
    with pytest.raises(ValueError, match="recipients"):
        scenario_figure(diff.drop("recipients"), territories, lang="en")


def test_scenario_cases_histogram() -> None:
    cases = pl.DataFrame({"diff_state_uah": [10.0, 25.0, -3.0, 0.0, 0.004]})
    fig = scenario_cases_figure(cases, lang="en")
    assert _has_data(fig)
    assert list(fig.data[0].x) == [10.0, 25.0]
    assert fig.layout.title.text == "Per case: 2 winners, 1 losers, 2 unchanged"


def test_allocation_matrix(territories) -> None:
    rows = pl.DataFrame(
        {
            "oblast_code": [LVIV, LVIV, KHARKIV],
            "tier": ["b", "a", "a"],
            "tier_rank": [2, 1, 1],
            "claim_uah": [100.0, 50.0, 80.0],
            "allocated_uah": [25.0, 50.0, 80.0],
        }
    )
    fig = allocation_matrix_figure(rows, territories, lang="en")
    assert _has_data(fig)
    heat = fig.data[0]
    assert list(heat.x) == ["a", "b"]
    z = dict(zip(heat.y, heat.z, strict=True))
    assert z["Lviv"] == [1.0, 0.25]
    assert z["Kharkiv"] == [1.0, None]


def test_quarantine_figure() -> None:
    summary = pl.DataFrame(
        {
            "table": ["cases", "cases", "recipients"],
            "rule": ["orphan_key", "end_before_start", "invalid_value"],
            "rows": [3, 1, 2],
        }
    )
    fig = quarantine_figure(summary, lang="en")
    assert _has_data(fig)
    assert "6 rows quarantined" in fig.layout.title.text


def test_figures_name_missing_columns() -> None:
    with pytest.raises(ValueError, match="coverage"):
        oblast_bars_figure(pl.DataFrame({"oblast_code": [LVIV]}), lang="en")
    with pytest.raises(ValueError, match="allocated_uah"):
        allocation_figure(pl.DataFrame({"oblast_code": [LVIV], "claim_uah": [1.0]}), lang="en")


def test_the_fixture_small_hromada_really_is_small(case_months) -> None:
    # guard against a regression in the fixture: the small hromada really is small
    people = case_months.filter(pl.col("hromada_code") == LVIV_SMALL)["recipient_id"].n_unique()
    assert people == 3
    assert dt.date(2024, 1, 1) in case_months["month"].to_list()


def test_history_of_an_aggregate_node_sums_its_members(forecast) -> None:
    # bottom-level actuals (oblast × service); the Lviv node aggregates over services
    bottom = pl.DataFrame(
        {
            "oblast_code": [LVIV, LVIV, KHARKIV, LVIV],
            "service_code": ["015.1", "010.0", "015.1", "015.1"],
            "ds": [dt.date(2024, 1, 1)] * 3 + [dt.date(2024, 2, 1)],
            "y": [2.0, 3.0, 7.0, 4.0],
        }
    )
    lviv = forecast.with_columns(
        unique_id=pl.lit(LVIV), oblast_code=pl.lit(LVIV), service_code=pl.lit(None, pl.String)
    )
    history = node_history(bottom, lviv, LVIV)
    assert history.to_dicts() == [
        {"ds": dt.date(2024, 1, 1), "y": 5.0},
        {"ds": dt.date(2024, 2, 1), "y": 4.0},
    ]
    fig = fan_chart_figure(lviv, LVIV, bottom, lang="en")
    actual = next(t for t in fig.data if t.name == "actual")
    assert list(actual.y) == [5.0, 4.0]


def test_tile_grid_covers_exactly_the_regions_of_the_reference() -> None:
    from engine.reference import load_territories

    codes = load_territories()["oblast_code"].unique().to_list()
    assert {code[2:4] for code in codes} == set(report.REGION_TILES)
