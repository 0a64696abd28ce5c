"""The edges of reading found by the fault campaign, one test each (issues 10.7-10.10, 19.6-19.7).

Encodings (KOI8-U read right, nonsense refused, a UTF-8 line in a CP1251 file named), a CSV named
.xlsx, open-end sentinel dates, CR-only line ends, stray quotes, bare CRs, whitespace lines, and
dates that parse but cannot be true.
"""

from __future__ import annotations

import csv
import datetime as dt

import polars as pl
import pytest
from registry_kit import base_tables, only, read, set_cell

from engine.cli import main
from engine.errors import ExitCode, InputFileError

D = dt.date


def _no_guillemets(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    # KOI8-U has no « »: a KOI8-U export writes plain quotes
    providers = tables["providers"].with_columns(pl.col("name").str.replace_all("[«»]", "'"))
    return {**tables, "providers": providers}


def _recode(folder, source: str, target: str) -> None:
    for file in folder.glob("*.csv"):
        file.write_bytes(file.read_bytes().decode(source).encode(target))


# --- encodings (10.7, 19.7) --------------------------------------------------------------------


def test_koi8u_is_read_as_koi8u_not_as_cp1251_garbage(extract):
    tables = _no_guillemets(base_tables())
    folder = extract(tables, encoding="cp1251", separator=";")
    _recode(folder, "cp1251", "koi8_u")
    registry = read(folder)
    assert registry.quarantine.height == 0, registry.quarantine
    assert registry.providers["name"].to_list() == tables["providers"]["name"].to_list()
    services = registry.services["name_uk"].to_list()
    assert services == tables["services"]["name_uk"].to_list()


def _copy_sample(sample_extract, folder):
    folder.mkdir()
    for file in sample_extract.iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    return folder


@pytest.mark.parametrize("encoding", ["cp1125", "cp866", "iso8859_5", "mac_cyrillic"])
def test_text_that_reads_as_nonsense_is_refused_naming_the_encodings(
    tmp_path, sample_extract, encoding
):
    folder = _copy_sample(sample_extract, tmp_path / "extract")
    path = folder / "providers.csv"
    path.write_bytes(path.read_bytes().decode("cp1251").encode(encoding, errors="replace"))
    with pytest.raises(InputFileError) as err:
        read(folder)
    message = str(err.value)
    assert str(path) in message and "CP1251" in message and "KOI8-U" in message
    assert "\n" not in message


def test_a_small_file_in_a_dos_code_page_is_refused_too(extract):
    folder = extract(_no_guillemets(base_tables()), encoding="cp1251", separator=";")
    _recode(folder, "cp1251", "cp1125")
    with pytest.raises(InputFileError, match="KOI8-U"):
        read(folder)


def test_utf8_line_in_a_cp1251_file_is_refused_naming_its_line(tmp_path, sample_extract):
    folder = _copy_sample(sample_extract, tmp_path / "extract")
    path = folder / "providers.csv"
    lines = path.read_bytes().split(b"\n")
    lines[9] = lines[9].decode("cp1251").encode("utf-8")  # line 10 pasted from a UTF-8 source
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InputFileError, match=r"UTF-8.*CP1251") as err:
        read(folder)
    assert (err.value.path, err.value.line) == (path, 10)


def test_utf8_line_in_a_small_cp1251_file_is_named_too(extract):
    folder = extract(encoding="cp1251", separator=";")
    path = folder / "providers.csv"
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].decode("cp1251").encode("utf-8")
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InputFileError, match=r"UTF-8.*CP1251") as err:
        read(folder)
    assert (err.value.path, err.value.line) == (path, 3)


def test_cp1251_utf8_bom_and_utf16_still_read_the_same_names(extract):
    expected = base_tables()["providers"]["name"].to_list()
    for encoding in ("cp1251", "utf-8-sig", "utf-16", "utf-8"):
        registry = read(extract(encoding=encoding, separator=";"))
        assert registry.providers["name"].to_list() == expected, encoding


# --- a CSV named .xlsx (10.8a) -----------------------------------------------------------------


def test_a_csv_named_xlsx_is_said_to_be_no_workbook(extract, tmp_path, capsys):
    folder = extract()
    (folder / "cases.csv").rename(folder / "cases.xlsx")
    code = main(["validate", str(folder), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == ExitCode.BAD_INPUT_FILE
    assert err == [
        f"error: {folder / 'cases.xlsx'}: not an Excel workbook "
        "(it looks like a text/CSV file; rename it to .csv)"
    ]


# --- structure of the file (10.10) -------------------------------------------------------------


def _csv_records(path) -> int:
    """Records after the header as Python's csv.reader counts them (a blank line is one, [])."""
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def test_cr_only_line_ends_read_like_lf(extract):
    expected = read(extract())
    folder = extract()
    for file in folder.glob("*.csv"):
        file.write_bytes(file.read_bytes().replace(b"\n", b"\r"))
    got = read(folder)
    assert got.quarantine.height == 0
    assert got.rows_read == expected.rows_read
    assert got.cases.equals(expected.cases)


@pytest.mark.parametrize("broken", ['"C2', 'C"2', 'C2"'])
def test_a_stray_quote_quarantines_its_row_and_only_it(extract, broken):
    folder = extract()
    path = folder / "cases.csv"
    path.write_text(path.read_text().replace("C2,", f"{broken},", 1))
    registry = read(folder)
    row = only(registry, "cases")
    assert (row["source_line"], row["rule"]) == (3, "malformed_row")
    assert "stray quote" in row["reason"]
    assert registry.rows_read["cases"] == 4
    assert registry.cases["case_id"].to_list() == ["C1", "C3", "C4"]


def test_a_bare_cr_in_a_field_is_a_quarantined_row_not_two(extract):
    folder = extract()
    path = folder / "providers.csv"
    path.write_bytes(path.read_bytes().replace("Турбота".encode(), "Тур\rбота".encode()))
    registry = read(folder)
    row = only(registry, "providers")
    assert (row["source_line"], row["rule"]) == (3, "malformed_row")
    assert "carriage return" in row["reason"]
    assert registry.rows_read["providers"] == 2


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n"])
def test_a_bare_cr_in_the_header_is_a_one_line_error(extract, tmp_path, capsys, line_end):
    folder = extract()
    path = folder / "cases.csv"
    data = path.read_bytes().replace(b"\n", line_end)
    path.write_bytes(data.replace(b"need_level", b"need\r_level", 1))
    code = main(["validate", str(folder), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == ExitCode.BAD_INPUT_FILE, err
    assert len(err) == 1 and str(path) in err[0]


@pytest.mark.parametrize("filler", ["", "   ", "\t ", ",,,,,,,"])
def test_blank_lines_are_not_rows_and_are_reported(extract, filler):
    folder = extract()
    path = folder / "cases.csv"
    lines = path.read_text().split("\n")
    path.write_text("\n".join([*lines[:2], filler, *lines[2:]]))
    registry = read(folder)
    assert registry.rows_read["cases"] == 4 and registry.cases.height == 4
    assert registry.quarantine.filter(pl.col("table") == "cases").height == 0
    note = registry.warnings.filter(pl.col("rule") == "blank_lines").to_dicts()
    assert [(n["table"], n["source_line"], n["value"]) for n in note] == [("cases", 3, "1")]
    # the accounting agrees with Python's csv module: rows read + blank lines = its records
    assert _csv_records(path) == registry.rows_read["cases"] + int(note[0]["value"])


# --- open-end sentinel dates (10.10) -----------------------------------------------------------


@pytest.mark.parametrize("sentinel", ["9999-12-31", "9999-01-01", "31.12.9999"])
def test_a_far_future_end_is_an_open_end(extract, tmp_path, capsys, sentinel):
    tables = set_cell(base_tables(), "case_locations", 1, "valid_to", sentinel)
    folder = extract(tables)
    registry = read(folder)
    assert registry.quarantine.height == 0, registry.quarantine
    assert registry.case_locations["valid_to"][1] is None
    notes = registry.warnings.filter(pl.col("rule") == "open_end_sentinel")
    assert notes.select("table", "column", "source_line").rows() == [
        ("case_locations", "valid_to", 3)
    ]
    code = main(["validate", str(folder), "--out", str(tmp_path / "out")])
    assert code == ExitCode.OK, capsys.readouterr().err


def test_a_far_future_end_in_typed_parquet_is_an_open_end(extract):
    tables = base_tables()
    locations = tables["case_locations"].with_columns(
        pl.when(pl.int_range(pl.len()) == 1)
        .then(pl.lit(D(9999, 12, 31)))
        .otherwise(pl.col("valid_to"))
        .alias("valid_to")
    )
    registry = read(extract({**tables, "case_locations": locations}, fmt="parquet"))
    assert registry.quarantine.height == 0, registry.quarantine
    assert registry.case_locations["valid_to"][1] is None


def test_a_planned_end_in_2099_is_kept_as_a_date(extract):
    tables = set_cell(base_tables(), "case_locations", 1, "valid_to", "2099-12-31")
    registry = read(extract(tables))
    assert registry.quarantine.height == 0, registry.quarantine
    assert registry.case_locations["valid_to"][1] == D(2099, 12, 31)


# --- dates that parse but cannot be true (19.6) ------------------------------------------------


@pytest.mark.parametrize("birth", ["01.01.1800", "01.01.0001", "1899-12-31"])
def test_an_implausible_birth_date_is_quarantined(extract, birth):
    registry = read(extract(set_cell(base_tables(), "recipients", 0, "birth_date", birth)))
    row = only(registry, "recipients")
    assert (row["source_line"], row["rule"], row["column"]) == (2, "implausible_date", "birth_date")
    assert "1900-01-01" in row["reason"]


def test_a_birth_on_the_floor_is_plausible(extract):
    registry = read(extract(set_cell(base_tables(), "recipients", 0, "birth_date", "1900-01-01")))
    assert registry.quarantine.height == 0, registry.quarantine


def test_a_case_starting_in_the_year_one_is_quarantined(extract):
    registry = read(extract(set_cell(base_tables(), "cases", 3, "start_date", "0001-01-01")))
    rows = registry.quarantine.filter(pl.col("table") == "cases").to_dicts()
    assert ("start_date", "implausible_date", 5) in {
        (r["column"], r["rule"], r["source_line"]) for r in rows
    }


@pytest.mark.parametrize("short", ["1.1.24", "01.01.24", "24-01-01"])
def test_a_two_digit_year_is_refused_not_guessed(extract, short):
    registry = read(extract(set_cell(base_tables(), "recipients", 2, "birth_date", short)))
    row = only(registry, "recipients")
    assert (row["source_line"], row["rule"]) == (4, "unparseable_value")
    assert "two-digit year" in row["reason"]
