"""`mfr entitle` end to end on the bundled sample extract."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from engine.cli import main
from engine.entitlements import compute_entitlements
from engine.errors import ExitCode
from engine.params import load_funding_model
from engine.registry import read_registry
from engine.schemas import REGISTRY_TABLES

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data_samples" / "registry"
BASELINE = REPO / "models" / "funding" / "baseline"
SCENARIO = REPO / "models" / "scenarios" / "home-care-frontline-plus10.yaml"
MONTHS = ("2026-05", "2026-08")


@pytest.fixture(scope="module")
def sample_registry():
    return read_registry(SAMPLE)


def test_entitle_writes_outputs_and_summary(
    tmp_path: Path, capsys, sample_registry, territories
) -> None:
    out = tmp_path / "run"
    code = main(
        [
            "entitle",
            str(SAMPLE),
            "--model",
            str(BASELINE),
            "--months",
            ":".join(MONTHS),
            "--out",
            str(out),
            "--segments",
        ]
    )
    assert code == ExitCode.OK
    written = {p.name for p in out.iterdir()}
    assert {
        "segments.parquet",
        "case_months.parquet",
        "rollups.parquet",
        "flows.parquet",
    } <= written
    assert "entitlements.json" in written and not any(n.startswith("scenario") for n in written)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging folder left behind
    printed = capsys.readouterr().out
    assert "Totals" in printed and "Top 10 oblasts" in printed and "quarantine:" in printed
    model = load_funding_model(BASELINE)
    expected = compute_entitlements(sample_registry, model, territories, months=MONTHS)
    assert pl.read_parquet(out / "case_months.parquet").equals(expected.case_months)
    assert pl.read_parquet(out / "rollups.parquet").equals(expected.rollups)
    manifest = json.loads((out / "entitlements.json").read_text())
    assert manifest["model_version"] == "2025.1"
    assert manifest["rows_quarantined"] == sample_registry.quarantine.height > 0
    assert manifest["totals"]["state_uah"] == expected.totals()["state_uah"]
    assert manifest["segments"] == expected.segments.height


def test_entitle_with_scenario_writes_the_diff(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    code = main(
        ["entitle", str(SAMPLE), "--model", str(BASELINE), "--scenario", str(SCENARIO),
         "--months", ":".join(MONTHS), "--out", str(out)]
    )  # fmt: skip
    assert code == ExitCode.OK
    diff = pl.read_parquet(out / "scenario_diff_case_months.parquet")
    base = pl.read_parquet(out / "case_months.parquet")
    alt = pl.read_parquet(out / "scenario_case_months.parquet")
    assert diff["diff_gross_uah"].sum() == alt["gross_uah"].sum() - base["gross_uah"].sum()
    assert (diff.filter(pl.col("month") < pl.date(2026, 7, 1))["diff_gross_uah"] == 0).all()
    assert diff["diff_gross_uah"].min() >= 0 and diff["diff_gross_uah"].max() > 0
    cases = pl.read_parquet(out / "scenario_diff_cases.parquet")
    assert set(cases["outcome"]) <= {"winner", "unchanged"}
    assert (out / "scenario_diff_territories.parquet").exists()
    assert "Scenario vs baseline" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--months", "2026-13:2026-14"], ExitCode.BAD_CONFIG),
        (["--months", "2026-05"], ExitCode.BAD_CONFIG),
        (["--months", "2026-05:2026-06", "--scenario", "nope.yaml"], ExitCode.BAD_CONFIG),
        (
            ["--months", "2026-05:2026-06", "--threshold", "0.0001"],
            ExitCode.QUARANTINE_OVER_THRESHOLD,
        ),
    ],
)
def test_entitle_failures_write_nothing(tmp_path: Path, args: list[str], code: int) -> None:
    out = tmp_path / "run"
    assert (
        main(["entitle", str(SAMPLE), "--model", str(BASELINE), "--out", str(out), *args]) == code
    )
    assert list(tmp_path.iterdir()) == []


def test_accepting_the_quarantine_goes_on(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code = main(
        ["entitle", str(SAMPLE), "--model", str(BASELINE), "--months", "2026-05:2026-05", "--out", str(out),
         "--threshold", "0.0001", "--accept-quarantine"]
    )  # fmt: skip
    assert code == ExitCode.OK and (out / "case_months.parquet").exists()


def test_a_rerun_replaces_only_the_files_entitle_wrote(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = [
        "entitle",
        str(SAMPLE),
        "--model",
        str(BASELINE),
        "--months",
        "2026-05:2026-05",
        "--out",
        str(out),
    ]
    assert main(args) == ExitCode.OK
    (out / "stale.txt").write_text("the user's, added to mfr's folder")
    assert main(args) == ExitCode.OK
    assert (out / "stale.txt").exists()  # not mfr's: never removed
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_csv_and_parquet_extracts_give_identical_results(
    tmp_path: Path, sample_registry, baseline_model, territories
) -> None:
    """The same rows as Parquet files price exactly as the CSV extract does."""
    folder = tmp_path / "parquet"
    folder.mkdir()
    for name in REGISTRY_TABLES:
        sample_registry.table(name).drop("source_line").write_parquet(folder / f"{name}.parquet")
    (folder / "extract.yaml").write_text(f"extract_date: {sample_registry.extract_date}\n")
    again = read_registry(folder)
    assert again.quarantine.is_empty()
    from_csv = compute_entitlements(sample_registry, baseline_model, territories, months=MONTHS)
    from_parquet = compute_entitlements(again, baseline_model, territories, months=MONTHS)
    for name in ("segments", "case_months", "rollups", "flows"):
        assert getattr(from_csv, name).equals(getattr(from_parquet, name)), name
