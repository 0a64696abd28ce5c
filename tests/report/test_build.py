"""The HTML report: one self-contained file, every section, small cells suppressed."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
import report_kit

from engine.report import ReportData, build_report, report_sections

SECTIONS = (
    "Headline numbers",
    "The plan's budget",
    "Entitlement, need and coverage by oblast",
    "Hromadas",
    "Money following the recipient",
    "Monthly trend",
    "Forecasts",
    "Allocation",
    "Who wins, who loses",
    "Equity across hromadas",
    "Validation and quarantine",
    "About the run",
)


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("report") / "run.html"
    doc = build_report(report_kit.make_report_data(), out, lang="en")
    return out, doc


def _figure_json(doc: str) -> list[dict]:
    """The data of every figure as plotly serialised it into `Plotly.newPlot(id, data, ...)`."""
    decoder = json.JSONDecoder()
    out = []
    for match in re.finditer(r'Plotly\.newPlot\(\s*"fig-[\d-]+",\s*', doc):
        data, _ = decoder.raw_decode(doc, match.end())
        out.append(data)
    return out


def test_file_is_written_and_self_contained(report_html: tuple[Path, str]) -> None:
    path, doc = report_html
    assert path.read_text(encoding="utf-8") == doc
    assert '<script src="http' not in doc
    assert not re.search(r"<script[^>]+src=", doc), "every script must be inline"
    assert not re.search(r"<link[^>]+href=", doc), "no external stylesheet or font"
    assert doc.count("plotly.js v") >= 1  # the library itself is in the file, once
    assert doc.count("window.PlotlyConfig") == 1


def test_every_section_and_figure_is_there(report_html: tuple[Path, str]) -> None:
    _, doc = report_html
    assert re.findall(r"<h2>(.*?)</h2>", doc) == [t.replace("'", "&#x27;") for t in SECTIONS]
    figures = _figure_json(doc)
    # headline, plan, bars, 1 tile map, hromada table, Sankey, trend, 3 fans + backtest,
    # 3 allocation (territory, tier, oblast × tier), 2 scenario (territory, case), Lorenz,
    # quarantine
    assert len(figures) == 18
    assert all(data for data in figures), "a figure without traces"


def test_one_language_per_report(report_html: tuple[Path, str]) -> None:
    _, english = report_html
    text = json.dumps(_figure_json(english), ensure_ascii=False)
    assert '<html lang="en">' in english
    for name in ("Lviv", "Kharkiv", "Kyiv"):
        assert name in text, name
    assert not re.search("[а-яіїєґ]", text.lower()), "a Ukrainian word in the English report"
    ukrainian = build_report(report_kit.make_report_data())  # Ukrainian by default
    assert '<html lang="uk">' in ukrainian
    text = json.dumps(_figure_json(ukrainian), ensure_ascii=False)
    for name in ("Львівська", "Харківська", "Київ"):
        assert name in text, name
    for word in ("Allocated", "Shortfall", "Forecast", "Coverage", "winners"):
        assert word not in text, word


def test_small_hromada_is_suppressed_in_the_published_report(
    report_html: tuple[Path, str],
) -> None:
    _, doc = report_html
    tables = [d for data in _figure_json(doc) for d in data if d.get("type") == "table"]
    (table,) = tables
    columns = dict(zip(table["header"]["values"], table["cells"]["values"], strict=True))
    # Obroshynska (3 people) is suppressed, and Lviv's other hromada with it (the oblast total
    # is published): neither is padded into the table, the note counts them
    assert columns["Hromada"] == ["Kharkivska", "Kyiv"]
    assert "2 of 4 hromadas are suppressed" in doc


def test_scenario_section_shows_oblasts_and_cases() -> None:
    sections = {s.title: s for s in report_sections(report_kit.make_report_data(), lang="en")}
    by_oblast, per_case = sections["Who wins, who loses"].figures
    # served money per oblast only: Kharkiv's waiting-case change and the hromada row stay out
    assert dict(zip(by_oblast.data[0].y, by_oblast.data[0].x, strict=True)) == {
        "Kyiv": -1200.0,
        "Lviv": 4200.0,
        "Kharkiv": 8400.0,
    }
    assert per_case.layout.title.text == "Per case: 1 winners, 1 losers, 1 unchanged"


def test_allocation_section_measures_shortfall_against_capped_claims() -> None:
    sections = {s.title: s for s in report_sections(report_kit.make_report_data(), lang="en")}
    by_territory, by_tier, matrix = sections["Allocation"].figures
    shortfall = next(t for t in by_territory.data if t.name == "Shortfall")
    # Kharkiv: capped claim 100 000, allocated 80 000 -> shortfall 20 000 (not 37 600)
    assert dict(zip(shortfall.y, shortfall.x, strict=True))["Kharkiv"] == 20000.0
    # two envelope groups summed per tier; top priority drawn last (on top)
    allocated = next(t for t in by_tier.data if t.name == "Allocated")
    assert list(allocated.y) == ["everyone else", "need level 3", "children and group I"]
    assert list(allocated.x) == [131600.0, 100000.0, 50000.0]
    assert list(matrix.data[0].x) == ["need level 3", "everyone else"]


def test_what_a_run_did_not_compute_is_left_out() -> None:
    assert report_sections(ReportData(), lang="en") == []
    base = report_kit.make_report_data()
    planning = replace(base, case_months=None)  # a planning run: no entitlements
    titles = [s.title for s in report_sections(planning, lang="en")]
    assert titles[0] == "The plan's budget"
    assert "Headline numbers" not in titles and "Hromadas" not in titles


def test_min_count_reaches_the_table() -> None:
    sections = report_sections(report_kit.make_report_data(), min_count=2, lang="en")
    (table,) = next(s for s in sections if s.title == "Hromadas").figures
    columns = dict(zip(table.data[0].header.values, table.data[0].cells.values, strict=True))
    row = columns["Hromada"].index("Obroshynska")
    assert columns["Served people"][row] == "3"


def test_chosen_oblast_and_service_drive_the_fan_charts() -> None:
    data = report_kit.make_report_data()
    sections = report_sections(data, oblast=report_kit.LVIV, service="015.1", lang="en")
    forecast = next(s for s in sections if s.title == "Forecasts")
    titles = [f.layout.title.text for f in forecast.figures]
    assert titles[:3] == [
        "Forecast: Ukraine, all services",
        "Forecast: Lviv",
        "Forecast: Lviv, 015.1",
    ]
    assert pl.__version__  # polars stays importable alongside plotly


def test_tiles_show_the_latest_observed_month_of_need() -> None:
    from engine.need import need_indicators

    base = report_kit.make_report_data()
    need = need_indicators(base.case_months, base.territories)
    sections = report_sections(replace(base, need=need), lang="en")
    section = next(s for s in sections if s.title.startswith("Entitlement"))
    _, coverage, per_10k = section.figures
    assert coverage.layout.title.text == "Coverage of assessed need, 2024-03"
    values = [v for row in coverage.data[1].z for v in row if v is not None]
    # Харківська: 10 served, 4 waiting in March -> 10/14; Львівська and Київ fully served
    assert sorted(values) == pytest.approx([10 / 14, 1.0, 1.0])
    # the colour scale is the data's own (70-100 %), and the note says so and names the blanks
    assert (coverage.data[1].zmin, coverage.data[1].zmax) == (0.7, 1.0)
    assert "(70%–100%)" in section.note and "UA05" in section.note  # no Vinnytsia in the kit
    assert "per 10,000 residents" in per_10k.layout.title.text
    assert "5,262,000 in all" in section.note  # the population the rate is per


def test_each_compared_scenario_gets_its_own_figures() -> None:
    base = report_kit.make_report_data()
    two = pl.concat(
        [
            base.scenario_territories.with_columns(scenario=pl.lit("plus10")),
            base.scenario_territories.with_columns(
                scenario=pl.lit("copay3"), diff_state_uah=-pl.col("diff_state_uah")
            ),
        ]
    )
    cases = pl.concat(
        [base.scenario_cases.with_columns(scenario=pl.lit(n)) for n in ("plus10", "copay3")]
    )
    sections = report_sections(
        replace(base, scenario_territories=two, scenario_cases=cases), lang="en"
    )
    figures = next(s for s in sections if s.title == "Who wins, who loses").figures
    titles = [f.layout.title.text for f in figures]
    assert titles == [
        "Scenario copay3: the state's money by oblast (1 gain, 2 lose)",
        "Scenario plus10: the state's money by oblast (2 gain, 1 lose)",
        "Scenario copay3, per case: 1 winners, 1 losers, 1 unchanged",
        "Scenario plus10, per case: 1 winners, 1 losers, 1 unchanged",
    ]
    assert max(figures[0].data[0].x) == 1200.0  # copay3 mirrors plus10: Київ gains


def test_fan_charts_fall_back_to_service_groups() -> None:
    base = report_kit.make_report_data()
    grouped = base.forecast.filter(pl.col("level") != "oblast_code/service_code")
    pair = base.forecast.filter(pl.col("level") == "oblast_code/service_code").with_columns(
        unique_id=pl.lit(f"{report_kit.LVIV}/care"),
        level=pl.lit("oblast_code/service_group"),
        service_group=pl.lit("care"),
        service_code=pl.lit(None, pl.String),
    )
    data = replace(base, forecast=pl.concat([grouped, pair], how="diagonal"))
    forecast = next(s for s in report_sections(data, lang="en") if s.title == "Forecasts")
    assert forecast.figures[2].layout.title.text == "Forecast: Lviv, care"


def test_stored_allocation_rows_find_their_oblast_in_the_case_months() -> None:
    base = report_kit.make_report_data()
    cm = base.case_months
    # rows as the store keeps them: the claim's key, tier and amounts, no territory
    rows = cm.select("case_id", "month", "funded").with_columns(
        tier=pl.lit("everyone else"),
        tier_rank=pl.lit(1),
        claim_uah=pl.lit(100.0),
        allocated_uah=pl.when(pl.col("case_id") < "C0010").then(100.0).otherwise(50.0),
    )
    sections = report_sections(replace(base, allocation_rows=rows), lang="en")
    matrix = next(s for s in sections if s.title == "Allocation").figures[-1]
    coverage = dict(zip(matrix.data[0].y, [row[0] for row in matrix.data[0].z], strict=True))
    # C0001–C0009 (Lviv, fully paid) and the rest at half: Lviv 9 of 17 cases full
    assert coverage["Lviv"] == pytest.approx((9 * 100 + 8 * 50) / (17 * 100))
    assert coverage["Kyiv"] == pytest.approx(0.5)
