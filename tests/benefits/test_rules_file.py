"""The funding model's gap rules (circumstance_rules.yaml): dated, strict."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from benefit_cases import REPO, registry_with_benefits

import engine
from engine.errors import ConfigError
from engine.params._circumstances import load_circumstance_rules


def _rules(tmp_path: Path, values: str) -> Path:
    (tmp_path / "circumstance_rules.yaml").write_text(
        f"description: d\nunit: rule\nreference: null\nvalues:\n{values}", encoding="utf-8"
    )
    return tmp_path


def test_the_baseline_rules_and_the_defaults() -> None:
    rules = load_circumstance_rules(REPO / "models" / "funding" / "baseline")
    assert rules.timeline("income_gap")["value"].to_list() == ["unknown"]
    assert rules.timeline("disability_gap")["value"].to_list() == ["registry"]


@pytest.mark.parametrize(
    ("values", "words", "line"),
    [
        ("  income_gap: {2024-01-01: maybe}\n", "income_gap must be one of", 5),
        ("  income_grace_months: {2024-01-01: -1}\n", "whole number of months", 5),
        ("  income_gap: {2024-02-30: unknown}\n", "bad date", 5),
        ("  idp_rule: {2024-01-01: registry}\n", "unknown key 'idp_rule'", 5),
    ],
)
def test_a_bad_rules_file_names_its_line(
    tmp_path: Path, values: str, words: str, line: int
) -> None:
    with pytest.raises(ConfigError, match=words) as error:
        load_circumstance_rules(_rules(tmp_path, values))
    assert f"line {line}" in str(error.value)


def test_a_grace_rule_dated_from_2024_keeps_an_expired_declaration(tmp_path: Path) -> None:
    """Three months' grace from 2024: a declaration ending 2024-04-10 still holds in April."""
    folder = tmp_path / "model"
    folder.mkdir()
    for file in (REPO / "models" / "funding" / "baseline").iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    _rules(folder, "  income_grace_months: {2023-01-01: 0, 2024-01-01: 3}\n")
    model = engine.load_funding_model(folder)
    spec = {
        "recipient": {"income": 5.0},
        "case": {"service": "015.1", "need_level": 2, "start": dt.date(2024, 1, 1)},
        "locations": [{"hromada": "A", "provider": "P1", "from": dt.date(2024, 1, 1)}],
        "benefits": {
            "income_declarations": [
                {"from": dt.date(2023, 10, 11), "to": dt.date(2024, 4, 10), "ratio": 5.0}
            ]
        },
    }
    ent = engine.compute_entitlements(
        registry_with_benefits([spec]),
        model,
        engine.load_territories(),
        months=("2024-04", "2024-04"),
    )
    # the full cost all April (ratio 5 through the grace months): co-payment = gross = 2800.00
    assert ent.case_months["copay_uah"].to_list() == ent.case_months["gross_uah"].to_list()
