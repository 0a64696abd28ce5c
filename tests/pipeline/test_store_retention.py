"""Retention: `mfr prune --keep N` and the spec's `outputs.keep_runs`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from _pipeline_fakes import make_project, make_steps

from engine.cli import main
from engine.errors import ExitCode, RunLockedError
from engine.pipeline import load_spec, run_pipeline
from engine.store import Store, StoreLock


def _run(spec_path: Path, n: int, *, steps: str | None = None) -> str:
    """A run on an extract of `n` numbers (so each run has its own step-cache entry)."""
    extract = spec_path.parent / "extract" / "numbers.csv"
    extract.write_text("n\n" + "\n".join(str(i * n) for i in range(2_000)) + "\n")
    fakes = make_steps()
    spec = load_spec(spec_path, steps=fakes)
    return run_pipeline(spec, steps=fakes, progress=False, force=True).run_id


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, list[str], str, str]:
    """Four nightly runs, then one failed nightly run, and one run of another spec."""
    nightly = make_project(tmp_path, name="nightly")
    succeeded = [_run(nightly, n) for n in (1, 2, 3, 4)]
    broken = nightly.with_name("broken.yaml")
    broken.write_text(nightly.read_text().replace("produce, scale", "produce, boom"))
    with pytest.raises(RuntimeError):
        _run(broken, 5)
    other = make_project(tmp_path, name="other")
    other_run = _run(other, 6)
    store = Store(tmp_path / "out" / "mfr.duckdb")
    failed = store.runs(status="failed")["run_id"][0]
    return tmp_path, succeeded, failed, other_run


def _cache_entries(root: Path) -> set[str]:
    return {p.name for p in (root / "out" / "cache" / "produce").iterdir() if p.is_dir()}


def test_prune_keeps_the_newest_and_every_specs_latest_success(
    history: tuple[Path, list[str], str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, succeeded, failed, other_run = history
    store_path = root / "out" / "mfr.duckdb"
    store = Store(store_path)
    before = store_path.read_bytes()
    cache_before = _cache_entries(root)
    assert main(["prune", "--keep", "1", "--dry-run", "--store", str(store_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("would remove run") == 3 and "would remove 3 run(s)" in out
    assert store_path.read_bytes() == before  # a dry run changes nothing

    assert main(["prune", "--keep", "1", "--store", str(store_path)]) == 0
    kept = set(store.runs()["run_id"])
    # the newest nightly run is the failed one; the latest success is kept all the same
    assert kept == {failed, succeeded[-1], other_run}
    for table in ("numbers", "scaled", "numbers_latest"):
        assert set(store.table(table.removesuffix("_latest"))["run_id"]) <= kept
    with store.connect(read_only=True) as con:
        assert con.sql(
            "SELECT count(*) FROM run_steps WHERE run_id NOT IN (SELECT run_id FROM runs)"
        ).fetchall() == [(0,)]
        assert con.sql("SELECT DISTINCT run_id FROM numbers_latest").fetchall() == [
            (succeeded[-1],)
        ]
        assert con.sql("SELECT DISTINCT run_id FROM latest_other.numbers").fetchall() == [
            (other_run,)
        ]
    runs_dir, logs_dir = root / "out" / "runs", root / "out" / "logs"
    for run_id in succeeded[:-1]:
        assert not (runs_dir / run_id).exists() and not (logs_dir / f"{run_id}.jsonl").exists()
    assert (runs_dir / succeeded[-1] / "scaled.parquet").is_file()
    assert (logs_dir / f"{failed}.jsonl").is_file()
    # the removed runs' own cache entries are gone, the kept runs' are not
    kept_keys = {
        s.cache_key[:24] for r in kept for s in store.manifest(r).steps if s.name == "produce"
    }
    assert _cache_entries(root) == cache_before & kept_keys != set()
    assert store_path.stat().st_size < len(before)  # compacted: the file shrinks
    Store(store_path).check()


def test_prune_removes_settled_logs_of_runs_never_recorded(
    history: tuple[Path, list[str], str, str],
) -> None:
    """A run that failed before the store recorded it (a missing extract) leaves only its log."""
    root, *_ = history
    logs = root / "out" / "logs"
    settled = logs / "20250101-000000-nightly-abcd.jsonl"
    fresh = logs / "20250101-000001-nightly-abce.jsonl"  # a run may still be starting
    other = logs / "20250101-000000-other-abcd.jsonl"
    mine = logs / "notes.jsonl"  # not a run's log: never touched
    for log in (settled, fresh, other, mine):
        log.write_text("{}\n")
    for log in (settled, other, mine):
        os.utime(log, (1_700_000_000, 1_700_000_000))
    report = Store(root / "out" / "mfr.duckdb").prune(10, spec="nightly", dry_run=True)
    assert report.paths == (settled,) and settled.exists()
    Store(root / "out" / "mfr.duckdb").prune(10, spec="nightly")
    assert not settled.exists() and fresh.exists() and other.exists() and mine.exists()


def test_prune_one_spec_only_and_while_a_run_holds_the_store(
    history: tuple[Path, list[str], str, str],
) -> None:
    root, succeeded, failed, other_run = history
    store = Store(root / "out" / "mfr.duckdb")
    report = store.prune(2, spec="other")
    assert report.removed == ()  # `other` has a single run
    with StoreLock(store.path, "a-run"), pytest.raises(RunLockedError):
        store.prune(1, spec="nightly")
    report = store.prune(2, spec="nightly", compact=False)
    assert set(report.removed) == set(succeeded[:-1])
    assert set(store.runs()["run_id"]) == {failed, succeeded[-1], other_run}


def test_keep_runs_in_the_spec_prunes_after_each_successful_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.pipeline import _steps

    for name, step in make_steps().items():  # `mfr run` uses the engine's catalogue: add ours
        monkeypatch.setitem(_steps.STEPS, name, step)
    spec = make_project(tmp_path, name="nightly")
    spec.write_text(spec.read_text() + "outputs:\n  keep_runs: 2\n")
    assert load_spec(spec, steps=make_steps()).keep_runs == 2
    for n in range(4):
        (tmp_path / "policy.yaml").write_text(f"factor: {n + 2}\n")
        assert main(["run", str(spec)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "Retention (outputs.keep_runs: 2): removed 1 run(s)" in out
    store = tmp_path / "out" / "mfr.duckdb"
    assert main(["runs", "--json", "--store", str(store)]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    assert len(list((tmp_path / "out" / "runs").iterdir())) == 2


def test_keep_runs_must_be_a_positive_number(tmp_path: Path) -> None:
    from engine.errors import ConfigError

    spec = make_project(tmp_path)
    spec.write_text(spec.read_text() + "outputs:\n  keep_runs: 0\n")
    with pytest.raises(ConfigError, match=r"outputs\.keep_runs") as caught:
        load_spec(spec, steps=make_steps())
    assert caught.value.line == 9
    assert main(["prune", "--keep", "0", "--store", str(tmp_path / "x.duckdb")]) == (
        ExitCode.BAD_CONFIG
    )
