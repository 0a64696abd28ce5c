"""Simulated beside paid: planted gaps found and attributed, an exact report finds none."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from execution_kit import EXECUTION, RUN_MONTHS

from engine.errors import InputFileError
from engine.execution import compare_totals, read_execution
from engine.synth.execution import synthetic_execution, write_execution

KOPIYKA = Decimal("0.01")
PARTS = ("people_uah", "volume_uah", "price_uah")


@pytest.fixture(scope="module")
def sample_table(entitlements, programmes, territories) -> pl.DataFrame:
    report = read_execution(EXECUTION, programmes, territories=territories, months=RUN_MONTHS)
    return compare_totals(entitlements.case_months, report, territories)


def _cells(table: pl.DataFrame, **where: str) -> pl.DataFrame:
    return table.filter(pl.all_horizontal(pl.col(k).cast(pl.String) == v for k, v in where.items()))


def _exact(table: pl.DataFrame, tmp_path: Path, programmes, territories, entitlements, **kw):
    months = entitlements.case_months.filter(pl.col("month") <= pl.date(2026, 9, 1))
    report, record = synthetic_execution(months, pl.DataFrame(), plant=False, **kw)
    write_execution(report, record, tmp_path)
    read = read_execution(tmp_path / "execution.csv", programmes, months=RUN_MONTHS)
    return compare_totals(entitlements.case_months, read, territories), read


def test_every_cell_splits_exactly(sample_table: pl.DataFrame) -> None:
    split = sample_table.filter(pl.col("people_uah").is_not_null())
    assert split.height == sample_table.height  # the sample counts people and case-months
    total = split.select(sum(pl.col(p) for p in PARTS) - pl.col("gap_uah")).to_series()
    assert (total == 0).all()
    assert (sample_table["gap_uah"] == sample_table["paid_uah"] - sample_table["sim_uah"]).all()


def test_the_hromada_that_under_reports_recipients_is_people(sample_table, planted) -> None:
    gap = next(g for g in planted["gaps"] if g["kind"] == "people")
    hromada = _cells(sample_table, level="hromada", territory_code=gap["territory_code"])
    # per service and quarter the whole gap is people (a kopiyka of rounding aside)
    cells = hromada.filter((pl.col("service_code") != "all") & (pl.col("grain") == "quarter"))
    # (a cell of one or two people stays as it is: 30% more of them rounds to as many)
    grown = cells.filter(pl.col("paid_recipients") > pl.col("sim_recipients"))
    assert grown.height > 0 and (grown["gap_uah"] > 0).all()
    assert (
        cells.filter(pl.col("paid_recipients") == pl.col("sim_recipients"))["gap_uah"] == 0
    ).all()
    assert (cells["volume_uah"].abs() + cells["price_uah"].abs() <= 2 * KOPIYKA).all()
    year = _cells(hromada, service_code="all", grain="year").row(0, named=True)
    assert year["flagged"] and year["dominant"] == "people"
    assert year["paid_recipients"] > year["sim_recipients"]
    assert abs(year["gap_pct"] - 0.25) < 0.05  # 30% more people, rounded per cell


def test_the_service_paid_at_its_old_tariff_is_price(sample_table, planted) -> None:
    gap = next(g for g in planted["gaps"] if g["kind"] == "price")
    ratio = gap["tariff_paid"] / gap["tariff_in_force"] - 1
    rows = _cells(sample_table, level="national", service_code=gap["service_code"])
    assert rows.height == 4  # three quarters and the year
    for row in rows.iter_rows(named=True):
        assert row["flagged"] and row["dominant"] == "price" and not row["timing"]
        assert row["people_uah"] == 0 and abs(row["volume_uah"]) <= 2 * KOPIYKA
        assert abs(row["gap_pct"] - ratio) < 1e-4
    oblasts = _cells(sample_table, level="oblast", service_code=gap["service_code"], grain="year")
    assert (oblasts.filter(pl.col("flagged"))["dominant"].cast(pl.String) == "price").all()


def test_the_quarter_paid_late_is_volume_and_timing(sample_table, planted) -> None:
    gap = next(g for g in planted["gaps"] if g["kind"] == "timing")
    rows = _cells(sample_table, level="national", service_code=gap["service_code"])
    late = _cells(rows, period=gap["period"]).row(0, named=True)
    assert late["flagged"] and late["timing"] and late["dominant"] == "volume"
    assert abs(late["gap_pct"] + gap["deferred_share"]) < 1e-3
    assert late["people_uah"] == 0 and abs(late["price_uah"]) <= 2 * KOPIYKA
    year = _cells(rows, grain="year").row(0, named=True)
    assert year["gap_uah"] == 0 and not year["flagged"]
    later = rows.filter((pl.col("grain") == "quarter") & (pl.col("period") > gap["period"]))
    assert later.height == 1 and later.row(0, named=True)["gap_uah"] == -late["gap_uah"]


def test_an_execution_report_equal_to_the_simulation_has_no_gap_anywhere(
    tmp_path: Path, programmes, territories, entitlements
) -> None:
    table, report = _exact(None, tmp_path, programmes, territories, entitlements)
    assert report.quarantine.is_empty()
    levels = set(zip(table["level"].cast(pl.String), table["grain"].cast(pl.String), strict=True))
    assert levels == {
        (lv, g) for lv in ("hromada", "raion", "oblast", "national") for g in ("quarter", "year")
    }
    assert (table["gap_uah"] == 0).all() and not table["flagged"].any()
    for part in PARTS:
        assert (table[part] == 0).all(), part
    assert (table["sim_recipients"] == table["paid_recipients"]).all()


def test_monthly_reports_have_month_cells(tmp_path, programmes, territories, entitlements) -> None:
    table, _ = _exact(None, tmp_path, programmes, territories, entitlements, grain="month")
    assert set(table["grain"].cast(pl.String)) == {"month", "quarter", "year"}
    assert (table["gap_uah"] == 0).all()


def test_an_oblast_reported_as_a_whole_has_no_hromada_cells(
    tmp_path: Path, programmes, territories, entitlements
) -> None:
    months = entitlements.case_months.filter(pl.col("month") <= pl.date(2026, 9, 1))
    report, record = synthetic_execution(months, pl.DataFrame(), plant=False)
    oblast_of = territories.select(territory_code="hromada_code", oblast="oblast_code")
    report = report.join(oblast_of, on="territory_code")
    vinnytsia = "UA05000000000010236"
    inside = report.filter(pl.col("oblast") == vinnytsia)
    whole = (
        inside.group_by("period", "programme_code", "name")
        .agg(pl.col("paid_uah", "recipients", "case_months").sum())
        .with_columns(territory_code=pl.lit(vinnytsia))
    )
    report = pl.concat(
        [
            report.filter(pl.col("oblast") != vinnytsia).drop("oblast"),
            whole.select(report.drop("oblast").columns),
        ]
    )
    write_execution(report, record, tmp_path)
    read = read_execution(tmp_path / "execution.csv", programmes, months=RUN_MONTHS)
    table = compare_totals(entitlements.case_months, read, territories)
    codes = set(territories.filter(pl.col("oblast_code") == vinnytsia)["hromada_code"])
    hromadas = table.filter(pl.col("level") == "hromada")["territory_code"].cast(pl.String)
    assert not set(hromadas) & codes
    assert _cells(table, level="oblast", territory_code=vinnytsia).height > 0
    assert (table["gap_uah"] == 0).all()


def test_amounts_in_the_wrong_unit_stop_with_one_line(
    tmp_path: Path, programmes, territories, entitlements
) -> None:
    months = entitlements.case_months.filter(pl.col("month") <= pl.date(2026, 9, 1))
    report, record = synthetic_execution(months, pl.DataFrame(), plant=False)
    # UAH written under a header that says thousands: every amount 1000 times too large
    report = report.with_columns(pl.col("paid_uah") * 1000)
    write_execution(report, record, tmp_path)
    read = read_execution(tmp_path / "execution.csv", programmes, months=RUN_MONTHS)
    with pytest.raises(InputFileError) as caught:
        compare_totals(entitlements.case_months, read, territories)
    message = str(caught.value)
    assert "1,000 times the simulated total" in message and "look like UAH" in message
    assert "\n" not in message
