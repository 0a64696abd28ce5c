"""A funding model read as of a date of decision (`load_funding_model(..., as_of=)`): the golden
cases of `as_of_golden.yaml`, the rule for values without a decision date, and strict reading of
the new spellings. Existing files keep their meaning."""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from pathlib import Path

import polars as pl
import pytest
import yaml

from engine.errors import ConfigError
from engine.params import load_funding_model

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BASELINE = REPO / "models" / "funding" / "baseline"
GOLDEN = yaml.safe_load((HERE / "as_of_golden.yaml").read_text(encoding="utf-8"))
_HOME_CARE = (
    '  "015.1":                 # home care, per hour\n'
    "    2024-01-01: 70.00\n"
    "    2025-03-10: 78.00      # takes effect mid-month: segments split on the 10th\n"
)


def _tariff(model) -> list[list]:
    rows = model.table("tariff").filter(pl.col("service_code") == "015.1").sort("valid_from")
    return [list(r) for r in rows.select("valid_from", "valid_to", "value").iter_rows()]


@pytest.fixture(scope="module")
def decided_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The baseline with the golden file's decision dates in tariff.yaml."""
    folder = tmp_path_factory.mktemp("decided") / "baseline"
    shutil.copytree(BASELINE, folder)
    tariff = folder / "tariff.yaml"
    text = tariff.read_text(encoding="utf-8")
    assert _HOME_CARE in text
    text = text.replace(_HOME_CARE, textwrap.indent(GOLDEN["home_care"], "  "))
    text = text.replace("\ndimensions:", f"\ndecided: {GOLDEN['file_decided']}\ndimensions:", 1)
    tariff.write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=[c["name"] for c in GOLDEN["cases"]])
def test_golden_a_value_decided_after_the_as_of_date_is_ignored(
    decided_model: Path, case: dict
) -> None:
    model = load_funding_model(decided_model, as_of=case["as_of"])
    assert _tariff(model) == [[a, b, float(v)] for a, b, v in case["expect"]]
    assert model.as_of == case["as_of"]


def test_nothing_decided_yet_is_an_error_naming_the_file(decided_model: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"\.yaml, line \d+: .*\(as of 2023-12-06: values decided"
    ):
        load_funding_model(decided_model, as_of=dt.date(2023, 12, 6))


def test_a_value_without_a_decision_date_counts_as_decided_when_it_takes_effect() -> None:
    """The baseline writes no decision dates: as of the last day of 2024, its 2025 tariffs were not
    known yet, and its 2024 ones stay in force."""
    model = load_funding_model(BASELINE, as_of="2024-12-31")
    info = model.table("tariff").filter(pl.col("service_code") == "001.0")
    assert info.select("valid_from", "valid_to", "value").rows() == [
        (dt.date(2024, 1, 1), None, 120.0)
    ]
    full = load_funding_model(BASELINE)
    assert full.table("tariff").filter(pl.col("service_code") == "001.0").height == 2


def test_existing_files_keep_their_meaning_and_decision_dates_change_nothing_without_as_of(
    decided_model: Path,
) -> None:
    baseline = load_funding_model(BASELINE)
    assert baseline.as_of is None
    decided = load_funding_model(decided_model)
    for name in baseline.parameters:
        if name != "tariff":
            assert decided.table(name).equals(baseline.table(name)), name
    others = pl.col("service_code") != "015.1"
    assert decided.table("tariff").filter(others).equals(baseline.table("tariff").filter(others))


def test_a_model_read_as_of_a_date_is_another_model(decided_model: Path) -> None:
    then = load_funding_model(decided_model, as_of="2025-02-13")
    now = load_funding_model(decided_model)
    assert then.content_hash != now.content_hash
    again = load_funding_model(decided_model, as_of=dt.date(2025, 2, 13))
    assert again.content_hash == then.content_hash
    scenario = REPO / "models" / "scenarios" / "home-care-frontline-plus10.yaml"
    assert load_funding_model(decided_model, scenario, as_of="2025-02-13").as_of == dt.date(
        2025, 2, 13
    )


def test_a_files_decision_date_is_the_default_of_its_values(decided_model: Path) -> None:
    """tariff.yaml says it was decided on 2023-12-07: as of mid-2024 its 2025 values were known
    (the baseline, which says nothing, had them decided the day they take effect)."""
    info = pl.col("service_code") == "001.0"
    decided = load_funding_model(decided_model, as_of="2024-06-30").table("tariff").filter(info)
    assert decided["value"].to_list() == [120.0, 132.0]
    baseline = load_funding_model(BASELINE, as_of="2024-06-30").table("tariff").filter(info)
    assert baseline["value"].to_list() == [120.0]


_LINE = 1 + next(  # the line of home care's 2025 tariff in the baseline's tariff.yaml
    i
    for i, line in enumerate((BASELINE / "tariff.yaml").read_text(encoding="utf-8").splitlines())
    if line.strip().startswith("2025-03-10: 78.00")
)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("{value: 78.00, decided: 2025-02-30}", "bad decided date '2025-02-30'"),
        ("{value: 78.00, decidd: 2025-02-14}", "unknown key 'decidd'"),
        ("{decided: 2025-02-14}", "a value written as a mapping needs 'value'"),
        ("{value: -1, decided: 2025-02-14}", "value on 2025-03-10 must be a non-negative"),
    ],
)
def test_a_bad_dated_value_is_one_line_naming_file_and_line(
    tmp_path: Path, written: str, message: str
) -> None:
    folder = tmp_path / "baseline"
    shutil.copytree(BASELINE, folder)
    tariff = folder / "tariff.yaml"
    text = tariff.read_text(encoding="utf-8")
    tariff.write_text(text.replace("2025-03-10: 78.00", f"2025-03-10: {written}", 1))
    with pytest.raises(ConfigError) as raised:
        load_funding_model(folder)
    assert str(raised.value).startswith(f"{tariff}, line {_LINE}: {message}")


def test_a_bad_as_of_date_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="as_of: 2025-02-30 is not a date"):
        load_funding_model(BASELINE, as_of="2025-02-30")


def _mfr(*args: str) -> tuple[int, str, str]:
    import contextlib
    import io

    from engine.cli import main

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CI", "true")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_a_run_as_of_a_date_prices_with_the_rules_known_then_and_reproduces(
    tmp_path: Path,
) -> None:
    """`mfr run --as-of`: 2025 priced with the rules known at the end of 2024 (no 2025 tariffs);
    its stored model is read as of that date too, and it reproduces identical although its spec
    (kept outside the project) does not say as_of."""
    from engine.store import Store, load_run_model

    spec = tmp_path / "as-of.yaml"
    spec.write_text(f"name: as-of\nroot: {REPO}\nmonths: 2025\nsteps: [validate, entitle]\n")
    store = tmp_path / "mfr.duckdb"
    code, _, err = _mfr("run", str(spec), "--store", str(store), "--as-of", "2024-12-31")
    assert code == 0, err
    then = Store(store).manifest("latest", spec="as-of")
    assert then.parameters["as_of"] == "2024-12-31"
    model = load_run_model(store, then.run_id)
    assert model.as_of == dt.date(2024, 12, 31)
    assert model.table("tariff").filter(pl.col("service_code") == "001.0")["value"].to_list() == [
        120.0
    ]
    code, _, err = _mfr("run", str(spec), "--store", str(store))
    assert code == 0, err
    now = Store(store).manifest("latest", spec="as-of")
    assert "as_of" not in now.parameters
    hashes = then.outputs["table_hashes"], now.outputs["table_hashes"]
    assert hashes[0]["case_months"] != hashes[1]["case_months"]  # 2025 tariffs priced now
    assert hashes[0]["quarantine"] == hashes[1]["quarantine"]
    code, out, err = _mfr("reproduce", then.run_id, "--store", str(store))
    assert code == 0, out + err
    assert out.strip().splitlines()[-1].startswith("identical: ")
    code, _, err = _mfr("run", str(spec), "--store", str(store), "--as-of", "2024-13-01")
    assert code == 2 and "--as-of: 2024-13-01 is not a date" in err
