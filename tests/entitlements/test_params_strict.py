"""Parameters that must never load: non-finite or negative amounts, shares outside [0, 1],
coefficients of 0 or less, dates that are no calendar day. Each is a `ConfigError` naming the file
and the line; and no NaN or infinity reaches a money column (`engine.invariants`)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polars as pl
import pytest

from engine.cli import main
from engine.errors import ConfigError, ExitCode
from engine.invariants import NonFiniteMoneyError, assert_finite_money, money_columns
from engine.params import load_funding_model
from engine.reference import load_services

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "models" / "funding" / "baseline"


@pytest.fixture(scope="module")
def services() -> pl.DataFrame:
    return load_services()


def _line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def _mutated(tmp_path: Path, file: str, old: str, new: str) -> tuple[Path, int]:
    """A copy of the baseline model with `old` replaced by `new` once in `file`; and its line."""
    folder = tmp_path / "model"
    shutil.copytree(BASELINE, folder)
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not unique in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return folder, _line_of(text, old)


# (file, text as written, replacement, fragment of the message)
REFUSED = {
    "tariff_inf": ("tariff.yaml", "2024-01-01: 70.00", "2024-01-01: .inf", "finite"),
    "tariff_minus_inf": ("tariff.yaml", "2024-01-01: 70.00", "2024-01-01: -.inf", "finite"),
    "tariff_nan": ("tariff.yaml", "2024-01-01: 70.00", "2024-01-01: .nan", "finite"),
    "tariff_huge": ("tariff.yaml", "2024-01-01: 70.00", "2024-01-01: 1.0e+308", "implausibly"),
    "tariff_negative": ("tariff.yaml", "2024-01-01: 70.00", "2024-01-01: -1", "non-negative"),
    "tariff_text": ("tariff.yaml", "2024-01-01: 70.00", "2024-01-01: abc", "wrong type"),
    "coef_zero": ("territory_coef.yaml", "2024-01-01: 1.20", "2024-01-01: 0", "greater than 0"),
    "coef_huge": ("territory_coef.yaml", "2024-01-01: 1.20", "2024-01-01: 1000", "above 100"),
    "cap_zero": ("territory_coef_cap.yaml", "2024-01-01: 1.30", "2024-01-01: 0.0", "than 0"),
    "modifier_zero": ("modifier.yaml", "{2024-01-01: 1.25}", "{2024-01-01: 0}", "than 0"),
    "copay_share": ("copay_bands.yaml", "{2024-01-01: 0.30}", "{2024-01-01: 1.5}", "share"),
    "copay_negative": ("copay_bands.yaml", "{2024-01-01: 0.30}", "{2024-01-01: -0.1}", "non-neg"),
    "band_inf": ("copay_bands.yaml", "  4: {", "  .inf: {", "income_ratio_from"),
    "band_nan": ("copay_bands.yaml", "  4: {", "  nan: {", "finite ratio"),
    "bad_day": ("tariff.yaml", "2024-01-01: 70.00", "2026-02-30: 70.00", "is not a date"),
    "bad_month": ("tariff.yaml", "2024-01-01: 70.00", "2026-13-01: 70.00", "is not a date"),
    "not_a_date": ("tariff.yaml", "2024-01-01: 70.00", "soon: 70.00", "expected YYYY-MM-DD"),
    "unknown_service": ("tariff.yaml", '"015.1":', '"999.9":', "unknown service_code '999.9'"),
}


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_a_bad_parameter_is_a_config_error_with_file_and_line(
    kind: str, tmp_path: Path, services: pl.DataFrame
) -> None:
    file, old, new, fragment = REFUSED[kind]
    folder, line = _mutated(tmp_path, file, old, new)
    with pytest.raises(ConfigError) as caught:
        load_funding_model(folder, services=services)
    message = str(caught.value)
    assert fragment in message
    assert caught.value.path is not None and Path(caught.value.path).name == file
    assert caught.value.line == line, message
    assert "\n" not in message


def test_occupied_territory_may_have_a_zero_coefficient(services: pl.DataFrame) -> None:
    """Occupied territory is financed with 0 on purpose; that stays legal."""
    model = load_funding_model(BASELINE, services=services)
    occupied = model.table("territory_coef").filter(pl.col("status") == "occupied")
    assert occupied["value"].to_list() == [0.0]


def test_a_bad_date_names_the_day(tmp_path: Path, services: pl.DataFrame) -> None:
    folder, line = _mutated(tmp_path, "tariff.yaml", "2024-01-01: 70.00", "2026-02-30: 70.00")
    with pytest.raises(ConfigError, match=r"2026-02-30 is not a date") as caught:
        load_funding_model(folder, services=services)
    assert f"tariff.yaml, line {line}:" in str(caught.value)


def test_mfr_entitle_refuses_an_infinite_tariff(tmp_path: Path, capsys) -> None:
    """The issue's reproduction: `.inf` in tariff.yaml once gave exit 0 with `gross_uah = inf`."""
    folder, line = _mutated(tmp_path, "tariff.yaml", "2024-01-01: 70.00", "2024-01-01: .inf")
    args = ["entitle", str(REPO / "data_samples" / "registry"), "--model", str(folder)]
    code = main([*args, "--months", "2025-01:2025-03", "--out", str(tmp_path / "out")])
    assert code == ExitCode.BAD_CONFIG
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"tariff.yaml, line {line}" in err[0] and "finite" in err[0]
    assert not (tmp_path / "out").exists()


# -- the output edge ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_no_non_finite_amount_passes_the_output_edge(bad: float) -> None:
    frame = pl.DataFrame(
        {"case_id": ["a", "b", "c"], "gross_uah": [1.0, bad, bad], "state_uah": [1.0, 2.0, 3.0]}
    )
    with pytest.raises(NonFiniteMoneyError) as caught:
        assert_finite_money(frame, ["state_uah", "gross_uah"], "case_months")
    assert caught.value.column == "gross_uah"
    assert str(caught.value).startswith("case_months, column 'gross_uah': 2 rows hold")


def test_nulls_and_finite_amounts_pass_the_output_edge() -> None:
    frame = pl.DataFrame(
        {"state_uah": [1.0, None, 0.0], "n": [1, 2, 3], "note_uah": ["x", "y", "z"]}
    )
    assert money_columns(frame) == ["state_uah"]  # only float columns are amounts
    assert_finite_money(frame, None, "case_months")
    assert_finite_money(frame.clear(), None, "case_months")
    # the default looks at every *_uah float column, so a new money column is never forgotten
    with pytest.raises(NonFiniteMoneyError, match="copay_uah"):
        assert_finite_money(frame.with_columns(copay_uah=pl.lit(float("nan"))), None, "x")


def test_the_check_is_vectorised_and_names_the_first_bad_value() -> None:
    n = 200_000
    values = pl.Series("state_uah", [1.0] * n).scatter([n - 1], float("inf"))
    with pytest.raises(
        NonFiniteMoneyError, match=re.escape("1 row holds a non-finite amount (inf)")
    ):
        assert_finite_money(values.to_frame(), ["state_uah"], "case_months")


@pytest.mark.parametrize(
    ("old", "new"),
    [("set: 0.30", "set: .nan"), ("set: 0.30", "set: .inf"), ("set: 0.0", "set: -1")],
)
def test_a_scenario_overlay_with_a_non_finite_value_is_refused(
    old: str, new: str, tmp_path: Path, services: pl.DataFrame
) -> None:
    """`.nan` once passed the overlay's range check (NaN compares false with every bound)."""
    source = REPO / "models" / "scenarios" / "copay-threshold-3.yaml"
    text = source.read_text(encoding="utf-8")
    line = _line_of(text, old)
    scenario = tmp_path / source.name
    scenario.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="out of range") as caught:
        load_funding_model(BASELINE, scenario, services=services)
    assert caught.value.line == line and Path(caught.value.path or "").name == source.name
