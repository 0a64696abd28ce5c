"""Every row-level rule: one broken cell (or row) in a valid extract, and exactly what is quarantined.

Lines of the base extract (header = line 1):
  recipients      R1 2, R2 3, R3 4
  cases           C1 2 (R1, 015.1 hours), C2 3 (R2, 017.2 days, ends 2024-02-29),
                  C3 4 (R3, 002.0 visits, from 2024-01-10), C4 5 (R1, 006.0 month, from 2023-03-01)
  case_locations  C1 2 (to 2023-08-16, P1), C1 3 (from 2023-08-17, P2), C2 4 (P2), C3 5 (no provider),
                  C4 6 (P1)
  providers       P1 2, P2 3;  services 015.1 2, 017.2 3, 002.0 4, 006.0 5;  territory_status 2, 3
The extract date is 2024-03-31. Expected rows are (table, source_line, rule, column); a quarantined
parent takes its children with it as parent_quarantined.
"""

from __future__ import annotations

import polars as pl
import pytest
from registry_kit import add_row, base_tables, read, set_cell

CASE = dict(service_code="015.1", need_level="1", start_date="2024-01-01", status="waiting")


def _cell(table, row, column, value):
    return lambda t: set_cell(t, table, row, column, value)


RULES = [
    # --- values that cannot be read ---------------------------------------------------------
    pytest.param(
        _cell("territory_status", 0, "valid_from", "24/02/2022"),
        [("territory_status", 2, "unparseable_value", "valid_from")],
        id="unparseable_value-date",
    ),
    pytest.param(
        _cell("cases", 0, "assessed_units", "forty"),
        [
            ("cases", 2, "unparseable_value", "assessed_units"),
            ("case_locations", 2, "parent_quarantined", "case_id"),
            ("case_locations", 3, "parent_quarantined", "case_id"),
        ],
        id="unparseable_value-number",
    ),
    pytest.param(
        _cell("cases", 3, "need_level", "1.5"),
        [
            ("cases", 5, "unparseable_value", "need_level"),
            ("case_locations", 6, "parent_quarantined", "case_id"),
        ],
        id="unparseable_value-whole-number",
    ),
    pytest.param(
        _cell("recipients", 2, "is_idp", "maybe"),
        [
            ("recipients", 4, "unparseable_value", "is_idp"),
            ("cases", 4, "parent_quarantined", "recipient_id"),
            ("case_locations", 5, "parent_quarantined", "case_id"),
        ],
        id="unparseable_value-boolean",
    ),
    pytest.param(
        _cell("recipients", 1, "sex", "  "),
        [
            ("recipients", 3, "missing_value", "sex"),
            ("cases", 3, "parent_quarantined", "recipient_id"),
            ("case_locations", 4, "parent_quarantined", "case_id"),
        ],
        id="missing_value",
    ),
    # --- values outside the allowed set or range ---------------------------------------------
    pytest.param(
        _cell("providers", 1, "ownership", "private"),
        [
            ("providers", 3, "invalid_value", "ownership"),
            ("case_locations", 3, "parent_quarantined", "provider_id"),
            ("case_locations", 4, "parent_quarantined", "provider_id"),
        ],
        id="invalid_value-isin",
    ),
    pytest.param(
        _cell("territory_status", 1, "hromada_code", "UA4606"),
        [("territory_status", 3, "invalid_value", "hromada_code")],
        id="invalid_value-code-format",
    ),
    pytest.param(
        _cell("cases", 3, "need_level", "4"),
        [
            ("cases", 5, "invalid_value", "need_level"),
            ("case_locations", 6, "parent_quarantined", "case_id"),
        ],
        id="invalid_value-need-level",
    ),
    pytest.param(
        _cell("cases", 0, "assessed_units", "800"),  # hours a month: at most 31 × 24 = 744
        [
            ("cases", 2, "out_of_range", "assessed_units"),
            ("case_locations", 2, "parent_quarantined", "case_id"),
            ("case_locations", 3, "parent_quarantined", "case_id"),
        ],
        id="out_of_range-units",
    ),
    pytest.param(
        _cell("cases", 2, "assessed_units", "0"),
        [
            ("cases", 4, "out_of_range", "assessed_units"),
            ("case_locations", 5, "parent_quarantined", "case_id"),
        ],
        id="out_of_range-zero-units",
    ),
    pytest.param(
        _cell("recipients", 2, "income_ratio", "-0,5"),
        [
            ("recipients", 4, "out_of_range", "income_ratio"),
            ("cases", 4, "parent_quarantined", "recipient_id"),
            ("case_locations", 5, "parent_quarantined", "case_id"),
        ],
        id="out_of_range-income",
    ),
    # --- codes the reference data does not know -------------------------------------------------
    pytest.param(
        _cell("territory_status", 0, "hromada_code", "UA99999999999999999"),
        [("territory_status", 2, "unknown_code", "hromada_code")],
        id="unknown_code-hromada",
    ),
    pytest.param(
        _cell("cases", 2, "service_code", "099.9"),
        [
            ("cases", 4, "unknown_code", "service_code"),
            ("case_locations", 5, "parent_quarantined", "case_id"),
        ],
        id="unknown_code-service",
    ),
    pytest.param(
        _cell("services", 2, "service_code", "011.0"),  # 002.0 then missing from the extract
        [
            ("services", 4, "unknown_code", "service_code"),
            ("cases", 4, "unknown_code", "service_code"),
            ("case_locations", 5, "parent_quarantined", "case_id"),
        ],
        id="unknown_code-services-table",
    ),
    # --- keys -------------------------------------------------------------------------------------
    pytest.param(
        lambda t: add_row(
            t, "recipients", **base_tables()["recipients"].cast(pl.String).row(1, named=True)
        ),
        [
            ("recipients", 3, "duplicate_key", "recipient_id"),
            ("recipients", 5, "duplicate_key", "recipient_id"),
            ("cases", 3, "parent_quarantined", "recipient_id"),
            ("case_locations", 4, "parent_quarantined", "case_id"),
        ],
        id="duplicate_key",
    ),
    pytest.param(
        _cell("cases", 1, "recipient_id", "R404"),
        [
            ("cases", 3, "orphan_key", "recipient_id"),
            ("case_locations", 4, "parent_quarantined", "case_id"),
        ],
        id="orphan_key-recipient",
    ),
    pytest.param(
        lambda t: add_row(
            t,
            "case_locations",
            case_id="C404",
            hromada_code="UA80000000000093317",
            valid_from="2024-01-01",
        ),
        [("case_locations", 7, "orphan_key", "case_id")],
        id="orphan_key-case",
    ),
    pytest.param(
        _cell("case_locations", 3, "provider_id", "P404"),
        [("case_locations", 5, "orphan_key", "provider_id")],
        id="orphan_key-provider",
    ),
    pytest.param(
        _cell("services", 1, "unit", "bed"),
        [
            ("services", 3, "invalid_value", "unit"),
            ("cases", 3, "parent_quarantined", "service_code"),
            ("case_locations", 4, "parent_quarantined", "case_id"),
        ],
        id="parent_quarantined-service",
    ),
    # --- dates --------------------------------------------------------------------------------
    pytest.param(
        _cell("cases", 1, "end_date", "2023-06-14"),
        [
            ("cases", 3, "end_before_start", "end_date"),
            ("case_locations", 4, "parent_quarantined", "case_id"),
        ],
        id="end_before_start-case",
    ),
    pytest.param(
        _cell("case_locations", 0, "valid_to", "2022-12-31"),
        [("case_locations", 2, "end_before_start", "valid_to")],
        id="end_before_start-location",
    ),
    pytest.param(
        _cell("case_locations", 1, "valid_from", "2023-08-10"),  # C1's first runs to 08-16
        [
            ("case_locations", 2, "overlapping_locations", "valid_from"),
            ("case_locations", 3, "overlapping_locations", "valid_from"),
        ],
        id="overlapping_locations",
    ),
    pytest.param(
        lambda t: add_row(
            t,
            "case_locations",
            case_id="C1",
            hromada_code="UA80000000000093317",
            valid_from="2023-02-01",
            valid_to="2023-02-28",
        ),  # inside the first location of C1, and overlapping nothing else
        [
            ("case_locations", 2, "overlapping_locations", "valid_from"),
            ("case_locations", 7, "overlapping_locations", "valid_from"),
        ],
        id="overlapping_locations-nested",
    ),
    pytest.param(
        _cell("case_locations", 2, "valid_to", "2024-03-15"),  # C2 ends 2024-02-29
        [("case_locations", 4, "location_outside_case", "valid_from")],
        id="location_outside_case-after",
    ),
    pytest.param(
        _cell("case_locations", 4, "valid_from", "2023-02-01"),  # C4 starts 2023-03-01
        [("case_locations", 6, "location_outside_case", "valid_from")],
        id="location_outside_case-before",
    ),
    pytest.param(
        _cell("cases", 2, "start_date", "05.04.2024"),
        [
            ("cases", 4, "future_date", "start_date"),
            ("case_locations", 5, "parent_quarantined", "case_id"),
        ],
        id="future_date",
    ),
    pytest.param(
        _cell("recipients", 0, "birth_date", "2025-01-01"),
        [
            ("recipients", 2, "future_date", "birth_date"),
            ("cases", 2, "parent_quarantined", "recipient_id"),
            ("cases", 5, "parent_quarantined", "recipient_id"),
            ("case_locations", 2, "parent_quarantined", "case_id"),
            ("case_locations", 3, "parent_quarantined", "case_id"),
            ("case_locations", 6, "parent_quarantined", "case_id"),
        ],
        id="future_date-birth-cascades",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), RULES)
def test_rule(extract, mutate, expected):
    registry = read(extract(mutate(base_tables())))
    got = registry.quarantine.select("table", "source_line", "rule", "column").rows()
    assert sorted(got) == sorted(expected)


def test_every_rule_code_is_covered():
    codes = {rule for param in RULES for _, _, rule, _ in param.values[1]}
    assert codes == {
        "unparseable_value",
        "missing_value",
        "invalid_value",
        "out_of_range",
        "unknown_code",
        "duplicate_key",
        "orphan_key",
        "parent_quarantined",
        "end_before_start",
        "overlapping_locations",
        "location_outside_case",
        "future_date",
    }


def test_quarantine_row_carries_value_and_reason(extract):
    registry = read(extract(set_cell(base_tables(), "cases", 0, "assessed_units", "800,5")))
    row = registry.quarantine.row(0, named=True)
    assert row["value"] == "800.5"  # rules after typing show the typed value
    assert row["reason"] == "assessed units per month must be > 0 and ≤ 744.0 per hour"
    assert row["source_file"].endswith("cases.csv")
    raw = read(extract(set_cell(base_tables(), "cases", 0, "assessed_units", "40,5 h")))
    assert (
        raw.quarantine.row(0, named=True)["value"] == "40,5 h"
    )  # parse failures show the raw text


def test_open_periods_are_shown_as_open(extract):
    registry = read(extract(_cell("case_locations", 1, "valid_from", "2023-08-10")(base_tables())))
    assert registry.quarantine["value"].to_list() == ["2023-01-01..2023-08-16", "2023-08-10..open"]


def test_valid_rows_go_on(extract):
    registry = read(extract(_cell("cases", 1, "recipient_id", "R404")(base_tables())))
    assert registry.cases["case_id"].to_list() == ["C1", "C3", "C4"]
    assert registry.rows_read["cases"] == 4
    assert registry.case_locations["source_line"].to_list() == [2, 3, 5, 6]


GAPS = [
    pytest.param(
        _cell("case_locations", 1, "valid_from", "2023-08-20"),
        [(2, "2023-08-17..2023-08-19", "3 days of case C1 covered by no location")],
        id="between-locations",
    ),
    pytest.param(
        _cell("case_locations", 2, "valid_to", "2024-02-20"),
        [(3, "2024-02-21..2024-02-29", "9 days of case C2 covered by no location")],
        id="after-last-location",
    ),
    pytest.param(
        # C3 open from 2024-01-10 to the extract date: 22 + 29 + 31 days
        lambda t: {**t, "case_locations": t["case_locations"].filter(pl.col("case_id") != "C3")},
        [(4, "2024-01-10..2024-03-31", "82 days of case C3 covered by no location")],
        id="no-location-at-all",
    ),
    pytest.param(
        _cell("case_locations", 4, "valid_from", "2023-03-05"),
        [(5, "2023-03-01..2023-03-04", "4 days of case C4 covered by no location")],
        id="before-first-location",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), GAPS)
def test_location_gap_is_a_warning_not_quarantine(extract, mutate, expected):
    registry = read(extract(mutate(base_tables())))
    assert registry.quarantine.height == 0
    gaps = registry.warnings.filter(pl.col("rule") == "location_gap")
    assert gaps.select("source_line", "value", "reason").rows() == expected
    assert set(gaps["table"]) == {"cases"}
