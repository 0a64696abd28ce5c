"""Reading hardening: code pages, mixed encodings, non-workbooks, CSV structure, implausible dates.

Each test fails on the reader as it was before (garbage accepted, a traceback, or a silent change
of the row count) and ends with a bounded fuzz run through `mfr validate` (fixed seed).
"""

from __future__ import annotations

import random
import shutil

import polars as pl
import pytest
from registry_kit import base_tables, read, set_cell, write_extract

from engine.cli import main
from engine.errors import InputFileError
from engine.registry import quarantined_share


def _rules(registry, table: str) -> list[tuple[int, str]]:
    rows = registry.quarantine.filter(pl.col("table") == table)
    return list(zip(rows["source_line"], rows["rule"], strict=True))


def _accounted(registry) -> None:
    for row in quarantined_share(registry).iter_rows(named=True):
        assert row["rows_read"] == row["valid"] + row["quarantined"], row


def test_koi8u_is_decoded_right(extract):
    folder = extract()
    path = folder / "providers.csv"
    text = path.read_text(encoding="utf-8").replace("«", "").replace("»", "")  # not in KOI8-U
    path.write_bytes(text.encode("koi8_u"))
    registry = read(folder)
    assert registry.providers["name"].to_list() == [
        "КУ Центр надання соціальних послуг",
        "ГО Турбота; Київ",
    ]


def test_text_that_reads_as_no_ukrainian_is_refused(extract):
    folder = extract()
    path = folder / "providers.csv"
    names = "Центр надання соціальних послуг Київської громади; Турбота; Відродження "
    text = path.read_text(encoding="utf-8").replace("ГО Турбота; Київ", names * 3)
    path.write_bytes(text.replace("«", "").replace("»", "").encode("iso8859_5"))
    with pytest.raises(InputFileError, match=r"does not read as Ukrainian.*KOI8-U") as err:
        read(folder)
    assert err.value.path == path


def test_cp1251_still_read(extract):
    registry = read(extract(encoding="cp1251", separator=";"))
    assert registry.providers["name"][1] == "ГО Турбота; Київ"


def test_utf8_line_in_a_cp1251_file_names_the_line(extract):
    folder = extract(encoding="cp1251", separator=";")
    path = folder / "providers.csv"
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].decode("cp1251").encode("utf-8")
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InputFileError, match="this line is UTF-8") as err:
        read(folder)
    assert err.value.line == 3


def test_csv_named_xlsx_is_not_a_workbook(extract):
    folder = extract(fmt="xlsx")
    (folder / "cases.xlsx").write_text("case_id,recipient_id\nC1,R1\n")
    with pytest.raises(InputFileError, match=r"not an Excel workbook \(it looks like a text/CSV"):
        read(folder)


def test_cr_only_line_ends_are_read(extract):
    folder = extract()
    path = folder / "cases.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    registry = read(folder)
    assert registry.cases.height == 4 and registry.quarantine.height == 0


def test_stray_quote_quarantines_its_line_only(extract):
    folder = extract()
    path = folder / "cases.csv"
    lines = path.read_text().split("\n")
    lines[2] = lines[2].replace("C2", 'C"2', 1)
    path.write_text("\n".join(lines))
    registry = read(folder)
    assert _rules(registry, "cases") == [(3, "malformed_row")]
    assert registry.rows_read["cases"] == 4
    _accounted(registry)


def test_unclosed_quote_does_not_swallow_later_lines(extract):
    folder = extract()
    path = folder / "cases.csv"
    lines = path.read_text().split("\n")
    lines[1] = lines[1].replace("C1,", 'C1,"', 1)
    path.write_text("\n".join(lines))
    registry = read(folder)
    assert registry.rows_read["cases"] == 4
    assert (2, "malformed_row") in _rules(registry, "cases")
    _accounted(registry)


def test_bare_cr_in_a_field_is_quarantined(extract):
    folder = extract()
    path = folder / "cases.csv"
    path.write_bytes(path.read_bytes().replace(b"served", b"ser\rved", 1))
    registry = read(folder)
    assert _rules(registry, "cases") == [(2, "malformed_row")]
    _accounted(registry)


def test_whitespace_line_is_a_blank_line_warning(extract):
    folder = extract()
    path = folder / "cases.csv"
    lines = path.read_text().split("\n")
    path.write_text("\n".join([*lines[:2], "    ", ",,,", *lines[2:]]))
    registry = read(folder)
    assert registry.rows_read["cases"] == 4 and registry.quarantine.height == 0
    note = registry.warnings.filter(pl.col("rule") == "blank_lines").row(0, named=True)
    assert (note["source_line"], note["value"]) == (3, "2")


@pytest.mark.parametrize("sentinel", ["9999-12-31", "9000-01-01"])
def test_far_future_end_is_open(extract, sentinel):
    registry = read(extract(set_cell(base_tables(), "case_locations", 1, "valid_to", sentinel)))
    assert registry.quarantine.height == 0
    assert registry.case_locations["valid_to"][1] is None
    assert "open_end_sentinel" in registry.warnings["rule"].to_list()


@pytest.mark.parametrize(
    ("table", "column", "value", "rule"),
    [
        ("recipients", "birth_date", "1800-01-01", "implausible_date"),
        ("recipients", "birth_date", "0001-01-01", "implausible_date"),
        ("cases", "start_date", "0001-01-01", "implausible_date"),
        ("recipients", "birth_date", "1.1.24", "unparseable_value"),
    ],
)
def test_implausible_and_two_digit_dates(extract, table, column, value, rule):
    registry = read(extract(set_cell(base_tables(), table, 0, column, value)))
    rows = registry.quarantine.filter((pl.col("table") == table) & (pl.col("column") == column))
    assert rows["rule"].to_list() == [rule]
    if value == "1.1.24":
        assert "two-digit year" in rows["reason"][0]


def _mutate(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    i = rng.randrange(1, max(len(lines) - 1, 2))
    kind = rng.randrange(8)
    if kind == 0 and data:
        pos = rng.randrange(len(data))
        return data[:pos] + bytes([rng.randrange(256)]) + data[pos + 1 :]
    if kind == 1:
        lines[i] = lines[i].replace(b",", b"", 1)
    elif kind == 2:
        lines[i] = lines[i][: len(lines[i]) // 2] + b'"' + lines[i][len(lines[i]) // 2 :]
    elif kind == 3:
        return data.replace(b"\n", b"\r")
    elif kind == 4:
        lines[i] = lines[i].replace(b",", b",x\ry", 1)
    elif kind == 5:
        lines.insert(i, b"   ")
    elif kind == 6:
        lines[i] = lines[i] + b"," + b"x" * 5000
    else:
        lines[i] = lines[i].replace(b"2023-", b"9999-", 1)
    return b"\n".join(lines)


def test_fuzzed_extracts_never_crash_and_every_row_is_counted(tmp_path, capsys):
    """60 mutants read and accounted for row by row; every third also through `mfr validate`
    (exit 0 or 3, no traceback): the CLI on mutants is test_reading_fuzz's own campaign, whose
    byte-level damage covers the kinds made here (and more)."""
    clean = write_extract(tmp_path / "clean")
    rng = random.Random(20261202)
    for case in range(60):
        folder = tmp_path / f"case{case}"
        shutil.copytree(clean, folder)
        for file in rng.sample(sorted(folder.glob("*.csv")), 2):
            file.write_bytes(_mutate(file.read_bytes(), rng))
        try:
            registry = read(folder)
        except InputFileError:
            pass
        else:
            _accounted(registry)
        if case % 3:
            continue
        out = tmp_path / f"out{case}"
        code = main(["validate", str(folder), "--out", str(out), "--accept-quarantine"])
        err = capsys.readouterr().err
        assert code in (0, 3), (case, err)
        assert "Traceback" not in err, (case, err)


def test_mfr_validate_prints_blank_lines_and_open_ends(extract, capsys):
    folder = extract(set_cell(base_tables(), "case_locations", 1, "valid_to", "9999-12-31"))
    path = folder / "cases.csv"
    lines = path.read_text().split("\n")
    path.write_text("\n".join([*lines[:2], "    ", *lines[2:]]))
    assert main(["validate", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert "warning: cases: 1 blank" in printed
    assert "warning: case_locations.valid_to:" in printed
