"""The validate_totals step of a run spec: published typed, in the report, strict in the spec."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import pytest
from execution_kit import REPO
from rich.console import Console

import engine
from engine.errors import ConfigError

SPEC = """name: execution-check
root: {root}
extract: data_samples/registry
funding_model: models/funding/baseline
months: current-year
{execution}
steps: [validate, entitle, {steps}]
outputs:
  store: {store}
"""


def _spec(
    tmp_path: Path, *, execution: str, steps: str = "validate_totals, ", report: bool = True
) -> Path:
    path = tmp_path / "spec.yaml"
    store = tmp_path / "out" / "mfr.duckdb"
    steps = steps + ("report" if report else "")
    path.write_text(SPEC.format(root=REPO, execution=execution, steps=steps, store=store))
    return path


def test_a_run_publishes_the_comparison_typed_and_reports_it(tmp_path: Path) -> None:
    spec = engine.load_spec(
        _spec(tmp_path, execution="execution: data_samples/execution/execution.csv")
    )
    result = engine.run_pipeline(spec, progress=False, console=Console(file=io.StringIO()))
    assert result.manifest.status == "succeeded"
    with duckdb.connect(str(spec.store), read_only=True) as con:
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' "
                "AND table_name = 'execution_totals'"
            ).fetchall()
        )
        flagged = con.execute(
            "SELECT count(*) FROM execution_totals WHERE flagged AND level = 'national'"
        ).fetchone()
        quarantined = con.execute("SELECT count(*) FROM execution_quarantine").fetchone()
    for column in ("level", "territory_code", "service_code", "grain", "basis", "dominant"):
        assert types[column].startswith("ENUM("), column
    for column in ("sim_uah", "paid_uah", "gap_uah", "people_uah", "volume_uah", "price_uah"):
        assert types[column] == "DECIMAL(18,2)", column
    assert flagged and flagged[0] > 0 and quarantined == (4,)
    report = (spec.runs_dir / result.run_id / "report.html").read_text(encoding="utf-8")
    assert "Виконання бюджету: розраховане поруч зі сплаченим" in report  # the report's language


def test_the_step_needs_an_execution_report(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="step 'validate_totals' needs 'execution' to be set"):
        engine.load_spec(_spec(tmp_path, execution=""))


def test_a_spec_without_the_step_keeps_its_parameters(tmp_path: Path) -> None:
    spec = engine.load_spec(_spec(tmp_path, execution="", steps=""))
    assert "execution" not in spec.parameters()


def test_a_changed_report_is_a_new_run_and_an_unchanged_one_is_up_to_date(tmp_path: Path) -> None:
    report = tmp_path / "execution.csv"
    report.write_bytes((REPO / "data_samples" / "execution" / "execution.csv").read_bytes())
    # no HTML report step: what is checked is which runs are new, not what they show
    spec = engine.load_spec(
        _spec(tmp_path, execution=f"execution: {report}", steps="validate_totals", report=False)
    )
    quiet = {"progress": False, "console": Console(file=io.StringIO())}
    first = engine.run_pipeline(spec, **quiet)
    assert not first.reused
    assert engine.run_pipeline(spec, **quiet).reused
    report.write_bytes(
        report.read_bytes().replace(
            b"I \xea\xe2\xe0\xf0\xf2\xe0\xeb 2027", b"I \xea\xe2\xe0\xf0\xf2\xe0\xeb 2026", 1
        )
    )
    again = engine.run_pipeline(spec, **quiet)
    assert not again.reused and again.run_id != first.run_id
