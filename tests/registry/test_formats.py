"""The same data read from any encoding, separator, number and date style or file format is the same."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from registry_kit import add_row, base_tables, only, read, set_cell

from engine.schemas import REGISTRY_TABLES


def _tables(registry) -> dict[str, pl.DataFrame]:
    return {name: registry.table(name) for name in REGISTRY_TABLES}


@pytest.mark.parametrize(
    ("encoding", "separator", "decimal_comma", "date_format"),
    [
        ("utf-8-sig", ",", False, "%Y-%m-%d"),
        ("utf-8", ";", True, "%d.%m.%Y"),
        ("cp1251", ";", True, "%d.%m.%Y"),  # what Excel in a Ukrainian locale writes
        ("cp1251", "\t", False, "%Y-%m-%d"),
        ("utf-8-sig", "\t", True, "%d.%m.%Y"),
        ("utf-16", "\t", False, "%d.%m.%Y"),  # Excel's "Unicode text"
        ("utf-8", ",", True, "%d.%m.%Y"),  # decimal commas quoted inside a comma file
    ],
)
def test_csv_styles_give_identical_typed_frames(
    extract, encoding, separator, decimal_comma, date_format
):
    expected = read(extract())
    got = read(
        extract(
            encoding=encoding,
            separator=separator,
            decimal_comma=decimal_comma,
            date_format=date_format,
        )
    )
    assert got.quarantine.height == 0, got.quarantine
    for name, frame in _tables(expected).items():
        assert_frame_equal(got.table(name), frame)


def _with_bad_rows() -> dict[str, pl.DataFrame]:
    tables = set_cell(base_tables(), "recipients", 1, "birth_date", "31.02.1942")
    return add_row(
        tables,
        "cases",
        case_id="C9",
        recipient_id="R404",
        service_code="015.1",
        need_level="2",
        start_date="2024-01-01",
        status="waiting",
    )


@pytest.mark.parametrize("fmt", ["parquet", "xlsx", "workbook"])
def test_parquet_xlsx_and_csv_agree(extract, fmt):
    as_csv = read(extract(_with_bad_rows()))
    other = read(extract(_with_bad_rows(), fmt=fmt))
    # R2's impossible birth date, its case C2 and C2's location cascading, the orphan case C9
    assert as_csv.quarantine["rule"].to_list() == [
        "unparseable_value",
        "parent_quarantined",
        "orphan_key",
        "parent_quarantined",
    ]
    for name, frame in _tables(as_csv).items():
        assert_frame_equal(other.table(name), frame)
    assert_frame_equal(other.quarantine.drop("source_file"), as_csv.quarantine.drop("source_file"))
    assert other.rows_read == as_csv.rows_read


def test_typed_parquet_columns_are_taken_as_they_are(extract):
    tables = base_tables()
    tables["cases"] = tables["cases"].with_columns(pl.col("start_date").cast(pl.Datetime("ms")))
    registry = read(extract(tables, fmt="parquet"))
    assert registry.quarantine.height == 0
    assert registry.cases["start_date"].dtype == pl.Date
    assert_frame_equal(registry.cases, read(extract()).cases)


def test_values_are_trimmed_and_canonicalised(extract):
    tables = set_cell(base_tables(), "recipients", 0, "sex", " ж ")
    tables = set_cell(tables, "recipients", 0, "is_idp", "ТАК")
    tables = set_cell(tables, "recipients", 0, "registered_hromada", "ua32020010000093088 ")
    tables = set_cell(tables, "recipients", 1, "disability_group", "ii")
    tables = set_cell(tables, "cases", 0, "status", "Served")
    tables = set_cell(tables, "providers", 1, "edrpou", "123456")  # Excel ate the leading zeros
    registry = read(extract(tables))
    assert registry.quarantine.height == 0, registry.quarantine
    first = registry.recipients.row(0, named=True)
    assert (first["sex"], first["is_idp"], first["registered_hromada"]) == (
        "F",
        True,
        "UA32020010000093088",
    )
    assert registry.recipients["disability_group"][1] == "II"
    assert registry.cases["status"][0] == "served"
    assert registry.providers["edrpou"][1] == "00123456"


def test_quoted_newlines_keep_true_line_numbers(extract):
    tables = set_cell(base_tables(), "providers", 0, "name", "Центр\nсоціальних\nпослуг")
    tables = add_row(
        tables,
        "providers",
        provider_id="P3",
        edrpou="1234",
        name="x",
        ownership="communal",
        hromada_code="UA32020010000093088",
    )
    folder = extract(tables)
    # header, P1 over three lines (2-4), P2 on 5, P3 on 6
    row = only(read(folder))
    assert (row["table"], row["source_line"], row["column"]) == ("providers", 6, "edrpou")
    assert (folder / "providers.csv").read_text().split("\n")[5].startswith("P3,")


def test_blank_lines_are_skipped_but_counted(extract):
    tables = set_cell(base_tables(), "cases", 2, "need_level", "7")
    folder = extract(tables)
    path = folder / "cases.csv"
    lines = path.read_text().split("\n")
    path.write_text("\n".join([*lines[:2], "", *lines[2:]]))
    registry = read(folder)
    assert registry.rows_read["cases"] == 4
    row = only(registry, "cases")
    assert (row["source_line"], row["rule"], row["value"]) == (5, "invalid_value", "7")


def test_excel_date_cells_without_a_format_are_serial_days(extract, tmp_path):
    tables = base_tables()
    folder = extract(tables, fmt="xlsx")
    serial = (dt.date(1950, 3, 1) - dt.date(1899, 12, 30)).days
    recipients = tables["recipients"].with_columns(
        pl.Series("birth_date", [serial, 15665, 42185], dtype=pl.Int64)
    )
    recipients.write_excel(folder / "recipients.xlsx", worksheet="recipients", autofit=False)
    registry = read(folder)
    assert registry.quarantine.height == 0
    assert registry.recipients["birth_date"].to_list() == [
        dt.date(1950, 3, 1),
        dt.date(1942, 11, 20),
        dt.date(2015, 6, 30),
    ]
