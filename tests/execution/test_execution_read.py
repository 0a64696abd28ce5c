"""Reading a budget-execution report the way they come; every bad row quarantined with its line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from execution_kit import EXECUTION, RUN_MONTHS

from engine.errors import ConfigError, InputFileError
from engine.execution import EXECUTION_SCHEMA, load_programmes, read_execution

HEADER = "Період;Код КАТОТТГ;КПКВК;Касові видатки, тис. грн;Кількість отримувачів;Кейс-місяці"
HROMADA = "UA05020010000053508"  # a hromada of Vinnytsia oblast
OBLAST = "UA05000000000010236"  # Vinnytsia oblast
HOME_CARE = "0813104.03"


def _report(tmp_path: Path, lines: list[str], header: str = HEADER, name: str = "e.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(("\r\n".join([header, *lines]) + "\r\n").encode("cp1251"))
    return path


def _read(path: Path, programmes, months=RUN_MONTHS):
    return read_execution(path, programmes, months=months)


def test_the_sample_reads_with_exactly_its_planted_bad_rows(programmes, planted) -> None:
    report = _read(EXECUTION, programmes)
    found = {
        (r["source_line"], r["rule"], r["column"]) for r in report.quarantine.iter_rows(named=True)
    }
    expected = {(b["line"], b["rule"], b["column"]) for b in planted["bad_rows"]}
    assert found == expected
    assert report.rows_read == report.rows.height + len(expected)
    assert report.unit == "thousand UAH (header)"
    EXECUTION_SCHEMA.validate(report.rows)
    assert report.rows.schema["paid_uah"] == pl.Decimal(18, 2)


def test_thousands_decimal_commas_and_ukrainian_periods(tmp_path: Path, programmes) -> None:
    path = _report(
        tmp_path,
        [
            f"I квартал 2026;{HROMADA};{HOME_CARE};12,34567;3;9",
            f"05.2026;{HROMADA};{HOME_CARE};0,5;1;1",
            f"2026-Q3;{OBLAST};{HOME_CARE};1 234,5;;",
        ],
    )
    rows = _read(path, programmes).rows.sort("source_line")
    assert rows["paid_uah"].to_list() == [
        Decimal("12345.67"),
        Decimal("500.00"),
        Decimal("1234500.00"),
    ]
    assert rows["period"].to_list() == ["2026-Q1", "2026-05", "2026-Q3"]
    assert rows["level"].cast(pl.String).to_list() == ["hromada", "hromada", "oblast"]
    assert rows["service_code"].to_list() == ["015.1"] * 3
    assert rows["recipients"].to_list() == [3, 1, None]


def test_the_unit_from_the_header_a_unit_column_or_the_mapping(tmp_path: Path, programmes) -> None:
    uah = _report(
        tmp_path,
        [f"2026-01;{HROMADA};{HOME_CARE};1500,50"],
        "period;territory_code;programme_code;paid_uah",
        "a.csv",
    )
    assert _read(uah, programmes).rows["paid_uah"].to_list() == [Decimal("1500.50")]
    plain = _report(
        tmp_path,
        [f"2026-01;{HROMADA};{HOME_CARE};1,5"],
        "period;territory_code;programme_code;paid",
        "b.csv",
    )
    report = _read(plain, programmes)  # the mapping says thousand UAH
    assert report.unit == "thousand UAH (mapping)"
    assert report.rows["paid_uah"].to_list() == [Decimal("1500.00")]
    column = _report(
        tmp_path,
        [f"2026-01;{HROMADA};{HOME_CARE};1,5;грн", f"2026-02;{HROMADA};{HOME_CARE};1,5;тис. грн"],
        "period;territory_code;programme_code;paid;unit",
        "c.csv",
    )
    assert _read(column, programmes).rows.sort("period")["paid_uah"].to_list() == [
        Decimal("1.50"),
        Decimal("1500.00"),
    ]


@pytest.mark.parametrize(
    ("line", "rule", "column"),
    [
        (f"2026-Q1;{HROMADA};0819999.01;1;1;1", "unknown_code", "programme_code"),
        ("2026-Q1;UA99000000000000000;0813104.03;1;1;1", "unknown_code", "territory_code"),
        (f"2026-Q1;UA0502;{HOME_CARE};1;1;1", "invalid_value", "territory_code"),
        (f"2027-Q1;{HROMADA};{HOME_CARE};1;1;1", "outside_run", "period"),
        (f"2025-12;{HROMADA};{HOME_CARE};1;1;1", "outside_run", "period"),
        (f"весна 2026;{HROMADA};{HOME_CARE};1;1;1", "invalid_value", "period"),
        (f"2026-Q1;{HROMADA};{HOME_CARE};-1;1;1", "out_of_range", "paid"),
        (f"2026-Q1;{HROMADA};{HOME_CARE};12,5 тис;1;1", "unparseable_value", "paid"),
        (f"2026-Q1;{HROMADA};{HOME_CARE};1;два;1", "unparseable_value", "recipients"),
        (f"2026-Q1;{HROMADA};{HOME_CARE};1;1", "malformed_row", "(row)"),
    ],
)
def test_a_bad_row_is_quarantined_with_its_line(
    tmp_path: Path, programmes, line: str, rule: str, column: str
) -> None:
    good = f"2026-Q2;{HROMADA};{HOME_CARE};1;1;1"
    report = _read(_report(tmp_path, [good, line]), programmes)
    assert report.rows["source_line"].to_list() == [2]
    found = report.quarantine.select("source_line", "rule", "column").rows()
    assert (3, rule, column) in found


def test_unknown_and_contradicting_units_are_quarantined(tmp_path: Path, programmes) -> None:
    path = _report(
        tmp_path,
        [f"2026-01;{HROMADA};{HOME_CARE};1;USD", f"2026-02;{HROMADA};{HOME_CARE};1;грн"],
        "period;territory_code;programme_code;paid, тис. грн;unit",
    )
    rules = _read(path, programmes).quarantine.select("source_line", "rule", "column").rows()
    assert (2, "invalid_value", "unit") in rules and (3, "invalid_value", "unit") in rules


def test_duplicates_and_a_month_inside_a_reported_quarter(tmp_path: Path, programmes) -> None:
    path = _report(
        tmp_path,
        [
            f"2026-Q1;{HROMADA};{HOME_CARE};1;1;1",
            f"2026-03;{HROMADA};{HOME_CARE};1;1;1",
            f"2026-Q2;{HROMADA};{HOME_CARE};1;1;1",
            f"II квартал 2026;{HROMADA};{HOME_CARE};2;1;1",
        ],
    )
    report = _read(path, programmes)
    assert report.rows.is_empty()
    rules = dict(report.quarantine.select("source_line", "rule").rows())
    assert rules == {
        2: "overlapping_periods",
        3: "overlapping_periods",
        4: "duplicate_key",
        5: "duplicate_key",
    }


def test_a_code_mapped_no_longer_is_unknown_on_that_date(tmp_path: Path) -> None:
    mapping = tmp_path / "programmes.yaml"
    mapping.write_text(
        'description: test\nunit: UAH\nreference: test\ncodes:\n  "0813104.03":\n'
        '    service_code:\n      2024-01-01: "015.1"\n      2026-04-01: null\n',
        encoding="utf-8",
    )
    path = _report(
        tmp_path,
        [f"2026-Q1;{HROMADA};{HOME_CARE};1;1;1", f"2026-Q2;{HROMADA};{HOME_CARE};1;1;1"],
        "period;territory_code;programme_code;paid;recipients;case_months",
    )
    report = _read(path, load_programmes(mapping))
    assert report.rows["period"].to_list() == ["2026-Q1"]
    reason = report.quarantine.filter(pl.col("source_line") == 3)["reason"].item()
    assert "maps to no service on 2026-04-01" in reason


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("unit: USD\n", "unit: unknown unit"),
        (
            "unit: UAH\ncodes:\n  X:\n    service_code:\n      2024-01-01: '999.9'\n",
            "not in the services catalogue",
        ),
        (
            "unit: UAH\ncodes:\n  X:\n    service_code:\n      2024-02-30: '015.1'\n",
            "is not a date",
        ),
        ("unit: UAH\ncodes:\n  X:\n    colour: red\n", "unknown key 'colour'"),
    ],
)
def test_a_bad_mapping_names_its_file_and_line(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "description: d\nreference: r\n" + text + ("codes: {}\n" if "codes" not in text else ""),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_programmes(path)
    assert str(path) in str(caught.value) and "line" in str(caught.value)
    assert words in str(caught.value)


def test_a_missing_column_is_one_line_naming_file_column_and_line(
    tmp_path: Path, programmes
) -> None:
    path = _report(tmp_path, [f"2026-Q1;{HROMADA};1"], "period;territory_code;paid")
    with pytest.raises(InputFileError) as caught:
        _read(path, programmes)
    assert str(caught.value) == f"{path}, line 1, column 'programme_code': missing required column"
