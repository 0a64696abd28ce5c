"""`mfr run pipelines/nightly.yaml` on the bundled sample, as the README runs it, with the engine's
real steps: a store, exports and a report; then the exit code of each kind of failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from _pipeline_fakes import run_mfr as _mfr

from engine.cli import main
from engine.errors import ExitCode
from engine.pipeline import StepDef
from engine.store import Store

REPO = Path(__file__).resolve().parents[2]
NIGHTLY = REPO / "pipelines" / "nightly.yaml"


@pytest.fixture(scope="module")
def tiny_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300-recipient synthetic extract: enough for every step, quick to forecast."""
    from engine.synth import generate_registry
    from engine.synth.write import write_extract

    folder = tmp_path_factory.mktemp("tiny") / "extract"
    write_extract(generate_registry(300, seed=7), folder, "parquet")
    return folder


@pytest.fixture(scope="module")
def nightly(sample_nightly) -> tuple[Path, tuple[int, str, str]]:
    """The sample nightly run as a scheduled job runs it, in a copy of the project (shared, read
    only: tests/conftest.py); its store, exit code and output."""
    run = sample_nightly
    return run.store, (run.code, run.out, run.err)


def test_the_nightly_run_produces_a_store_exports_and_a_report(nightly) -> None:
    store_path, (code, out, err) = nightly
    assert code == 0, err
    assert err == "" and "\x1b[" not in out  # a scheduled job gets no progress bars, no colours
    assert "succeeded" in out and "Report:" in out
    store = Store(store_path)
    manifest = store.manifest("latest")
    assert manifest.status == "succeeded"
    assert [s.name for s in manifest.steps] == list(manifest.parameters["steps"])
    assert all(s.status == "succeeded" for s in manifest.steps)
    tables = set(store.table_names())
    assert {"quarantine", "case_months", "rollups", "flows", "need", "allocations"} <= tables
    assert (
        store.table("quarantine", run_id=manifest.run_id).height
        == manifest.step("validate").rows_quarantined
    )
    report = Path(manifest.outputs["report"])
    assert report.is_file() and report.parent == store_path.parent / "runs" / manifest.run_id
    assert "plotly" in report.read_text(encoding="utf-8")[:2_000_000].lower()
    need = store.table("need", run_id=manifest.run_id)
    assert set(need["level"].unique()) == {"hromada", "raion", "oblast", "national"}


def test_the_nightly_store_shows_names_to_bi_tools(nightly) -> None:
    """The bi views join the names of the run's own reference tables (no re-read of the CSVs)."""
    import duckdb

    store_path, (code, _, err) = nightly
    assert code == 0, err
    with duckdb.connect(str(store_path), read_only=True) as con:
        rows = con.execute(
            "SELECT oblast_code, oblast_code_name, service_name_en, sum(state_uah) "
            "FROM bi.case_months GROUP BY ALL"
        ).fetchall()
    assert rows
    assert all(isinstance(code, str) and code.startswith("UA") for code, *_ in rows)
    assert all(name and service for _, name, service, _ in rows)  # every code has its name


def test_the_second_night_on_the_same_extract_is_recognised(
    nightly, sample_nightly, tmp_path: Path
) -> None:
    _, (first, _, _) = nightly
    assert first == 0
    own = sample_nightly.copy(tmp_path / "project")  # the second night writes to its store
    store_path = own.store
    code, out, err = _mfr("run", str(own.spec), "--store", str(store_path))
    assert code == 0, err
    assert "Up to date" in out
    assert Store(store_path).runs().height == 1


def test_quarantine_beyond_the_threshold(tmp_path: Path, capsys) -> None:
    strict = tmp_path / "pipelines" / "strict.yaml"
    strict.parent.mkdir()
    text = NIGHTLY.read_text().replace("quarantine_threshold: 0.01", "quarantine_threshold: 0.001")
    steps = text[text.index("steps: [") : text.index("]", text.index("steps: [")) + 1]
    strict.write_text(text.replace(steps, f"root: {REPO}\nsteps: [validate]"))
    store = tmp_path / "mfr.duckdb"
    assert main(["run", str(strict), "--store", str(store)]) == ExitCode.QUARANTINE_OVER_THRESHOLD
    err = capsys.readouterr().err
    assert "above the threshold 0.10%" in err and "--accept-quarantine" in err
    assert Store(store).runs()["status"].to_list() == ["failed"]
    assert main(["run", str(strict), "--store", str(store), "--accept-quarantine"]) == 0
    assert "accepted by the operator" in capsys.readouterr().out


def test_a_missing_extract(tmp_path: Path, capsys) -> None:
    code = main(
        ["run", str(NIGHTLY), "--store", str(tmp_path / "s.duckdb"), "--extract", "nowhere"]
    )
    err = capsys.readouterr().err.strip()
    assert code == ExitCode.BAD_INPUT_FILE
    assert err.splitlines()[-1].startswith("error: ") and "extract not found" in err


def test_an_internal_error_is_one_line_and_recorded(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.pipeline import _steps

    def broken(ctx):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setitem(_steps.STEPS, "entitle", StepDef("entitle", broken, needs=("validate",)))
    store = tmp_path / "s.duckdb"
    assert main(["run", str(NIGHTLY), "--store", str(store)]) == ExitCode.INTERNAL_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("internal error: ZeroDivisionError: division by zero")
    assert "failed in step 'entitle'" in err[0]
    run = Store(store).manifest("latest-failed")  # `latest` alone is the newest success
    assert run.status == "failed" and run.step("entitle").status == "failed"
    assert run.step("validate").status == "succeeded"
    assert run.step("need").status == "pending"  # never started


def test_planning_allocates_the_priced_forecast(tmp_path: Path, tiny_extract: Path, capsys) -> None:
    """The planning spec, lightened for a test (two years of history, no backtest, no report)."""
    spec = tmp_path / "pipelines" / "planning.yaml"
    spec.parent.mkdir()
    text = (REPO / "pipelines" / "planning-2027.yaml").read_text()
    text = text.replace("history_months: 36", "history_months: 24")
    text = text.replace("backtest_windows: 2", "backtest_windows: 0")
    text = text.replace(
        "[validate, compare, forecast, price, allocate, report]",
        "[validate, forecast, price, allocate]",
    )
    spec.write_text(f"root: {REPO}\n" + text)
    store = tmp_path / "mfr.duckdb"
    args = ["run", str(spec), "--store", str(store), "--extract", str(tiny_extract)]
    assert main(args) == 0, capsys.readouterr().err
    out = Store(store)
    run = out.manifest("latest", spec="planning-2027")
    need = out.table("forecast_need", run_id=run.run_id)
    assert need["month"].min().isoformat() == "2027-01-01"
    assert need["month"].max().isoformat() == "2027-12-01"
    assert set(need["need_level"].unique()) <= {1, 2, 3}
    allocations = out.table("allocations", run_id=run.run_id)
    # claims are the need rounded once to kopiyky, as the store keeps the need: exactly equal
    assert allocations["claim_uah"].sum() == need["need_uah"].sum()
    assert (allocations["allocated_uah"] <= allocations["claim_uah"] + 0.005).all()
    assert "priced by funding model 2025.1+home-care-frontline-plus10" in capsys.readouterr().out
