"""`mfr report RUN --store FILE --out FILE`: a run's report rebuilt from the store."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import report_kit

from engine.cli import main
from engine.errors import ExitCode
from engine.report import REPORT_TABLES, report_data_from_store, report_data_from_tables
from engine.schemas import QUARANTINE_SCHEMA
from engine.store import RunManifest, Store


def _tables() -> dict[str, pl.DataFrame]:
    """What a run publishes, under the store's table names (`REPORT_TABLES`)."""
    data = report_kit.make_report_data()
    fields = {v: k for k, v in REPORT_TABLES.items()}
    tables = {
        fields[f.name]: getattr(data, f.name)
        for f in dataclasses.fields(data)
        if f.name in fields and getattr(data, f.name) is not None
    }
    tables["quarantine"] = pl.DataFrame(
        {
            "table": ["cases", "cases", "recipients"],
            "source_file": ["cases.csv", "cases.csv", "recipients.csv"],
            "source_line": [7, 9, 3],
            "rule": ["orphan_key", "orphan_key", "invalid_value"],
            "column": ["recipient_id", "recipient_id", "sex"],
            "value": ["R9", "R8", "X"],
            "reason": ["no such recipient", "no such recipient", "sex must be F or M"],
        },
        schema=QUARANTINE_SCHEMA,
    )
    return tables


def _publish(store: Store, run_id: str, started: dt.datetime, status: str = "succeeded") -> None:
    manifest = RunManifest(
        run_id=run_id,
        spec_name="test",
        spec_path="pipelines/test.yaml",
        spec_hash="s",
        fingerprint=run_id,
        code_version="0.1.0",
        code_hash="c",
        inputs=[],
        parameters={},
        started_at=started,
    )
    store.begin_run(manifest)
    manifest.status = status
    manifest.finished_at = started + dt.timedelta(seconds=5)
    if status == "succeeded":
        store.publish(manifest, _tables())
    else:
        store.finish_failed(manifest)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("store") / "mfr.duckdb")
    _publish(store, "20260101-000000-test-aaaa", dt.datetime(2026, 1, 1))
    _publish(store, "20260102-000000-test-bbbb", dt.datetime(2026, 1, 2))
    _publish(store, "20260103-000000-test-cccc", dt.datetime(2026, 1, 3), status="failed")
    return store


def test_tables_become_report_data() -> None:
    data = report_data_from_tables(_tables(), run={"run_id": "x"})
    assert data.case_months is not None and data.case_months.height > 0
    assert data.scenario_territories is not None
    assert data.quarantine_summary is not None
    assert data.quarantine_summary.to_dicts() == [
        {"table": "cases", "rule": "orphan_key", "rows": 2},
        {"table": "recipients", "rule": "invalid_value", "rows": 1},
    ]


def test_latest_is_the_newest_run_that_succeeded(store: Store) -> None:
    data = report_data_from_store(store, "latest", spec="test")
    assert data.run["run_id"] == "20260102-000000-test-bbbb"
    assert "run_id" not in data.case_months.columns
    assert data.case_months.height == report_kit.make_case_months().height  # one run's rows
    assert data.territories is not None and data.territories.height > 1000  # bundled reference


def test_cli_writes_the_report(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "r" / "report.html"
    code = main(["report", "20260101", "--store", str(store.path), "--out", str(out)])
    assert code == ExitCode.OK
    doc = out.read_text(encoding="utf-8")
    assert "Звіт запуску 20260101-000000-test-aaaa" in doc  # Ukrainian by default
    assert "<h2>Перевірка й карантин</h2>" in doc
    assert '<script src="http' not in doc
    english = tmp_path / "en.html"
    args = ["report", "20260101", "--store", str(store.path), "--out", str(english)]
    assert main([*args, "--lang", "en"]) == ExitCode.OK
    assert "<h2>Validation and quarantine</h2>" in english.read_text(encoding="utf-8")
    assert main([*args, "--lang", "de"]) == ExitCode.BAD_CONFIG


def test_cli_refuses_a_failed_or_unknown_run(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    args = ["--store", str(store.path), "--out", str(out)]
    assert main(["report", "20260103", *args]) == ExitCode.BAD_CONFIG
    assert main(["report", "nope", *args]) == ExitCode.BAD_CONFIG
    assert not out.exists()


def test_cli_without_a_store_says_so(tmp_path: Path) -> None:
    code = main(
        ["report", "--store", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "r.html")]
    )
    assert code == ExitCode.BAD_INPUT_FILE


def test_one_page_summary_names_the_changes_since_the_previous_run(
    store: Store, tmp_path: Path
) -> None:
    from engine.report import previous_run_id

    assert previous_run_id(store, "20260102-000000-test-bbbb") == "20260101-000000-test-aaaa"
    assert previous_run_id(store, "20260101-000000-test-aaaa") is None
    out = tmp_path / "summary.html"
    args = ["report", "latest", "--spec", "test", "--store", str(store.path), "--out", str(out)]
    assert main([*args, "--summary"]) == ExitCode.OK
    doc = out.read_text(encoding="utf-8")
    assert "(20260101-000000-test-aaaa)" in doc  # the previous run of the same spec
    assert (
        doc.count('class="change">без змін<') == 3
    )  # the same tables: claims, allocated, shortfall
    assert doc.count("Plotly.newPlot") == 2  # one map, one chart
    assert '<script src="http' not in doc and "@page" in doc  # offline, printable


def test_summary_numbers_and_their_changes() -> None:
    from engine.report import summary_numbers
    from engine.report._summary import _change

    data = report_kit.make_report_data()
    numbers = summary_numbers(data)
    # by tier, two envelope groups: claims 319,200, allocated 281,600, shortfall the rest
    assert numbers == {
        "claim_uah": 319_200.0,
        "allocated_uah": 281_600.0,
        "shortfall_uah": 37_600.0,
    }
    assert _change("allocated_uah", 300_000.0, 281_600.0, "en") == "+18,400 UAH (+6.5%)"
    assert _change("coverage", 0.9, 0.85, "uk") == "+5.0 п. п."
    no_plan = dataclasses.replace(data, allocation_by_tier=None)
    assert list(summary_numbers(no_plan)) == [
        "entitled_uah",
        "unmet_uah",
        "coverage",
        "cases_served",
        "people_served",
    ]
