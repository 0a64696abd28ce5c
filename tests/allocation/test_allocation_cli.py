"""`mfr allocate` end to end on a small case_months file."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from engine.cli import main
from engine.errors import ExitCode

HERE = Path(__file__).parent
CLAIMS = HERE / "data" / "case_months.csv"
POLICY = HERE / "policies" / "good.yaml"
# 10 case-months inside 2026 (C009 is in December 2025); C005's 16,185.16 is capped at 5,000
CAPPED_CLAIMS = 25_560.45


def test_allocate_writes_every_table_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "allocation"
    code = main(["allocate", str(CLAIMS), "--policy", str(POLICY), "--out", str(out)])
    printed = capsys.readouterr()
    assert code == ExitCode.OK, printed.err
    names = {p.name for p in out.iterdir()}
    assert names == {
        "rows.parquet",
        "by_group.parquet",
        "by_tier.parquet",
        "by_territory.parquet",
        "by_service.parquet",
        "equity.parquet",
        "summary.json",
        ".mfr-output.json",  # the marker listing the files mfr wrote
    }
    rows = pl.read_parquet(out / "rows.parquet")
    assert rows.height == 10
    assert rows["allocated_uah"].sum() == Decimal("20000.00")  # exact decimals
    assert float(rows["capped_claim_uah"].sum()) == CAPPED_CLAIMS
    territory = pl.read_parquet(out / "by_territory.parquet")
    assert territory["population"].null_count() == 0  # joined from the reference territories
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["allocated_uah"] == 20_000.00
    assert summary["unspent_uah"] == 0
    assert summary["warnings"] == [
        "1 claim rows lie outside the policy period 2026-01-01 – 2026-12-31 and were left out"
    ]
    assert "Allocated 20,000.00 of 20,000.00 UAH" in printed.out
    assert "Unspent" not in printed.out
    assert not list(tmp_path.glob(".allocation*"))  # no staging folder left behind


def test_a_larger_envelope_says_how_much_is_left_unspent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rich"
    args = ["allocate", str(CLAIMS), "--policy", str(POLICY), "--out", str(out)]
    assert main([*args, "--envelope", "1000000", "--mode", "optimise"]) == ExitCode.OK
    printed = capsys.readouterr().out
    assert f"Unspent: {1_000_000 - CAPPED_CLAIMS:,.2f} UAH" in printed
    assert "Constraints" in printed
    assert (out / "binding.parquet").is_file()
    # a second run replaces the first one's output whole
    assert main([*args, "--funded-only"]) == ExitCode.OK
    rows = pl.read_parquet(out / "rows.parquet")
    assert rows["funded"].all()
    assert not (out / "binding.parquet").exists()


@pytest.mark.parametrize(
    "policy",
    sorted(p.name for p in (HERE / "policies").glob("bad_*.yaml")),
)
def test_bad_policies_fail_with_one_line_and_no_output(
    policy: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "never"
    path = HERE / "policies" / policy
    code = main(["allocate", str(CLAIMS), "--policy", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == ExitCode.BAD_CONFIG
    assert err.startswith(f"error: {path}")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert not out.exists()


def test_a_claims_file_without_the_claim_column_is_a_bad_input_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = tmp_path / "claims.csv"
    claims.write_text("id,age\n1,5\n")
    code = main(["allocate", str(claims), "--policy", str(POLICY), "--out", str(tmp_path / "o")])
    assert code == ExitCode.BAD_INPUT_FILE
    assert "no column 'claim_uah'" in capsys.readouterr().err


def test_a_forecast_file_allocates_on_its_money_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    need = tmp_path / "need.csv"
    need.write_text(
        "hromada_code,oblast_code,service_code,month,disability_group,age,need_level,need_uah\n"
        "UA46020010000073886,UA46000000000026241,015.1,2026-03-01,none,70,2,12000.50\n"
        "UA63020090000096294,UA63000000000041885,022.0,2026-03-01,child,3,3,30000.00\n"
    )
    out = tmp_path / "out"
    args = ["allocate", str(need), "--policy", str(POLICY), "--out", str(out)]
    assert main([*args, "--claim-column", "need_uah"]) == ExitCode.OK, capsys.readouterr().err
    rows = pl.read_parquet(out / "rows.parquet")
    assert rows["service_code"].to_list() == ["015.1", "022.0"]  # codes stay text
    # caps 5,000 per row: 10,000 of capped claims, all paid from the 20,000 envelope
    assert rows["allocated_uah"].to_list() == [5000.0, 5000.0]
