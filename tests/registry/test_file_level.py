"""File-level problems stop the read with one line naming the file, the column and the line."""

from __future__ import annotations

import polars as pl
import pytest
from registry_kit import base_tables, read

from engine.errors import InputFileError


def test_missing_table_file(extract):
    folder = extract()
    (folder / "providers.csv").unlink()
    with pytest.raises(InputFileError, match=r"missing table file providers\.") as err:
        read(folder)
    assert str(err.value).startswith(str(folder))


def test_missing_extract_folder(tmp_path):
    with pytest.raises(InputFileError, match="extract not found"):
        read(tmp_path / "nowhere")


def test_two_files_for_one_table(extract):
    folder = extract()
    base_tables()["cases"].write_parquet(folder / "cases.parquet")
    with pytest.raises(InputFileError, match="two files for table 'cases'"):
        read(folder)


def test_missing_required_column(extract):
    tables = base_tables()
    folder = extract({**tables, "cases": tables["cases"].drop("status")})
    with pytest.raises(InputFileError) as err:
        read(folder)
    assert err.value.column == "status"
    assert err.value.line == 1
    assert (
        str(err.value)
        == f"{folder / 'cases.csv'}, line 1, column 'status': missing required column"
    )


def test_undecodable_bytes_name_line_and_byte(extract):
    folder = extract()
    path = folder / "recipients.csv"
    lines = path.read_bytes().split(b"\n")
    # line 3 is UTF-8 Cyrillic (so the file is UTF-8), line 4 carries a byte no UTF-8 allows
    lines[2] = lines[2].replace(b"R2", "R2Ж".encode())
    lines[3] = lines[3].replace(b"R3", b"R3\xff")
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InputFileError) as err:
        read(folder)
    assert err.value.line == 4
    assert err.value.path == path
    assert "undecodable byte 0xff at byte offset" in str(err.value)


def test_corrupt_byte_before_any_cyrillic_is_still_utf8(extract):
    folder = extract()
    path = folder / "providers.csv"
    # the bad byte comes first, the file's UTF-8 Cyrillic after it: not mistaken for CP1251
    path.write_bytes(path.read_bytes().replace(b"12345678", b"1234\xe95678"))
    with pytest.raises(InputFileError, match=r"undecodable byte 0xe9 .*read as utf-8") as err:
        read(folder)
    assert err.value.line == 2


def test_cp1251_undefined_byte_is_undecodable(extract):
    folder = extract(encoding="cp1251", separator=";")
    path = folder / "providers.csv"
    # not UTF-8, so the file is read as CP1251, where byte 0x98 is undefined
    path.write_bytes(path.read_bytes().replace("Турбота".encode("cp1251"), b"\x98"))
    with pytest.raises(InputFileError, match=r"undecodable byte 0x98.*cp1251") as err:
        read(folder)
    assert err.value.line == 3


def test_empty_file(extract):
    folder = extract()
    (folder / "services.csv").write_bytes(b"")
    with pytest.raises(InputFileError, match="file is empty") as err:
        read(folder)
    assert err.value.path == folder / "services.csv"


def test_header_only_is_an_empty_table_not_an_error(extract):
    tables = base_tables()
    registry = read(extract({**tables, "territory_status": tables["territory_status"].head(0)}))
    assert registry.territory_status.height == 0
    assert registry.rows_read["territory_status"] == 0


def test_unreadable_parquet(extract):
    folder = extract(fmt="parquet")
    (folder / "cases.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputFileError, match="unreadable Parquet file") as err:
        read(folder)
    assert err.value.path == folder / "cases.parquet"


def test_unreadable_xlsx(extract):
    folder = extract(fmt="xlsx")
    (folder / "cases.xlsx").write_bytes(b"PK not a zip")
    with pytest.raises(InputFileError, match="unreadable XLSX"):
        read(folder)


def test_workbook_without_a_sheet(extract):
    tables = base_tables()
    del tables["services"]
    folder = extract(tables, fmt="workbook")
    with pytest.raises(InputFileError, match="workbook has no sheet 'services'"):
        read(folder)


def test_row_with_too_many_fields_is_quarantined_with_its_line(extract):
    # a ragged row is a row-level problem: its line is quarantined, the other rows go on
    folder = extract()
    path = folder / "cases.csv"
    lines = path.read_text().split("\n")
    lines[3] += ",surplus"
    path.write_text("\n".join(lines))
    registry = read(folder)
    rows = registry.quarantine.filter(pl.col("table") == "cases").to_dicts()
    assert [(r["source_line"], r["rule"]) for r in rows] == [(4, "malformed_row")]
    assert rows[0]["reason"] == "row has 9 fields but the header has 8"


def test_duplicate_column_in_header(extract):
    folder = extract()
    path = folder / "services.csv"
    path.write_text(path.read_text().replace("name_en", "name_uk", 1))
    with pytest.raises(InputFileError, match="duplicate column") as err:
        read(folder)
    assert err.value.column == "name_uk"


def test_unknown_columns_are_dropped_and_noted(extract):
    tables = base_tables()
    tables["cases"] = tables["cases"].with_columns(comment=pl.lit("called twice"))
    registry = read(extract(tables))
    assert "comment" not in registry.cases.columns
    notes = registry.warnings.filter(pl.col("rule") == "unknown_column_dropped")
    assert notes.select("table", "column").rows() == [("cases", "comment")]
    assert registry.quarantine.height == 0


def test_extract_date_defaults_to_the_latest_start(extract):
    # no extract.yaml: the latest start / valid_from is C3's, 2024-01-10
    registry = read(extract(extract_date=None))
    assert registry.extract_date.isoformat() == "2024-01-10"
    assert registry.quarantine.height == 0


def test_unreadable_extract_yaml(extract):
    folder = extract()
    (folder / "extract.yaml").write_text("extract_date: last tuesday\n")
    with pytest.raises(InputFileError, match="extract_date must be a date") as err:
        read(folder)
    assert err.value.path == folder / "extract.yaml"
