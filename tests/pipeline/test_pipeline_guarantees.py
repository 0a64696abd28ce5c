"""The nightly job's guarantees, proven with the tests' own small steps through the real runner:
atomic (failure, SIGTERM, SIGKILL mid-step and mid-publish), idempotent, concurrent (lock),
incremental (step cache), and a full disk, each leaving earlier runs intact."""

from __future__ import annotations

import errno
import json
import os
import signal
import time
from pathlib import Path

import polars as pl
import pytest
from _pipeline_fakes import child_run, make_project, make_steps

from engine.errors import RunLockedError
from engine.pipeline import load_spec, run_pipeline
from engine.store import Store, StoreLock, StoreWriteError


def _run(spec_path: Path, calls: list[str] | None = None, **kwargs):
    steps = make_steps(calls)
    spec = load_spec(spec_path, steps=steps)
    return spec, run_pipeline(spec, steps=steps, progress=False, **kwargs)


def _wait_for(marker: Path, child, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists():
            return marker.read_text()
        if child.poll() is not None:
            raise AssertionError(f"child ended early with code {child.returncode}")
        time.sleep(0.02)
    raise AssertionError("child never reached the marker")


def _visible_results(store: Store, run_id: str) -> int:
    """Rows of a run in every result table (the run's own manifest row excluded)."""
    total = 0
    for table in store.table_names():
        frame = store.table(table)
        if "run_id" in frame.columns:
            total += frame.filter(pl.col("run_id") == run_id).height
    return total


def test_a_run_publishes_results_manifest_exports_and_log(spec_path: Path) -> None:
    spec, result = _run(spec_path)
    store = Store(spec.store)
    manifest = store.manifest(result.run_id)
    assert manifest.status == "succeeded"
    assert [s.name for s in manifest.steps] == ["produce", "scale"]
    assert manifest.step("produce").rows_read == 3
    assert manifest.step("scale").rows_written == 3
    assert {i["role"] for i in manifest.inputs} >= {"extract", "funding_model", "policy"}
    assert all(len(i["hash"]) == 64 for i in manifest.inputs)
    assert store.table("scaled", run_id=result.run_id)["scaled"].to_list() == [2, 4, 6]

    folder = spec.runs_dir / result.run_id
    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json",
        "numbers.parquet",
        "report.html",
        "scaled.parquet",
    ]
    assert json.loads((folder / "manifest.json").read_text())["status"] == "succeeded"
    events = [
        json.loads(line)["event"] for line in Path(manifest.outputs["log"]).read_text().splitlines()
    ]
    assert events[0] == "run_requested" and events[-1] == "run_succeeded"
    assert "step_finished" in events


def test_a_failing_step_publishes_nothing_and_the_next_run_succeeds(spec_path: Path) -> None:
    spec, first = _run(spec_path)
    broken = make_project(spec_path.parent, steps="produce, scale, boom", name="broken")
    steps = make_steps()
    with pytest.raises(RuntimeError, match="boom"):
        run_pipeline(load_spec(broken, steps=steps), steps=steps, progress=False)

    store = Store(spec.store)
    runs = store.runs()
    failed = runs.filter(pl.col("status") == "failed").row(0, named=True)
    assert "boom" in failed["error"]
    assert _visible_results(store, failed["run_id"]) == 0  # produce and scale ran, nothing shows
    assert not (spec.runs_dir / failed["run_id"]).exists()
    assert not list(spec.runs_dir.glob(".staging-*"))
    assert store.manifest(failed["run_id"]).step("boom").status == "failed"
    # the earlier run is intact and a new run still succeeds
    assert store.table("scaled", run_id=first.run_id).height == 3
    (spec_path.parent / "policy.yaml").write_text("factor: 5\n")
    _, again = _run(spec_path)
    assert again.manifest.status == "succeeded"


def test_sigkill_mid_step_leaves_nothing_and_the_store_opens(tmp_path: Path) -> None:
    good = make_project(tmp_path)
    spec, first = _run(good)
    killme = make_project(tmp_path, steps="produce, hang", name="killme")
    marker = tmp_path / "marker"
    with child_run(killme, marker) as child:
        _wait_for(marker, child)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)

    store = Store(spec.store)
    killed = store.runs().filter(pl.col("spec_name") == "killme").row(0, named=True)
    assert killed["status"] == "running"  # nobody could record its end...
    assert _visible_results(store, killed["run_id"]) == 0  # ...and none of its results show
    assert store.table("numbers", run_id=first.run_id).height == 3

    (tmp_path / "policy.yaml").write_text("factor: 3\n")
    _, after = _run(good)  # takes over the stale lock, marks the killed run failed
    assert after.manifest.status == "succeeded"
    killed_now = store.manifest(killed["run_id"])
    assert killed_now.status == "failed" and "interrupted" in (killed_now.error or "")
    assert not list(spec.runs_dir.glob(".staging-*"))
    log = Path(after.manifest.outputs["log"]).read_text()
    assert "stale_lock_taken_over" in log and "interrupted_run_marked_failed" in log


def test_sigkill_mid_publish_rolls_the_transaction_back(tmp_path: Path) -> None:
    spec_path = make_project(tmp_path)
    marker = tmp_path / "marker"
    with child_run(spec_path, marker, hang_on_publish=60) as child:
        assert _wait_for(marker, child) == "publishing"  # one table written inside the transaction
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    spec = load_spec(spec_path, steps=make_steps())
    store = Store(spec.store)
    run = store.runs().row(0, named=True)
    assert run["status"] == "running"
    assert _visible_results(store, run["run_id"]) == 0
    assert not (spec.runs_dir / run["run_id"]).exists()

    _, after = _run(spec_path)  # same inputs: not "identical", the killed run never succeeded
    assert after.reused is False and after.manifest.status == "succeeded"
    assert store.table("numbers").height == 3


def test_sigterm_stops_the_run_and_records_why(tmp_path: Path) -> None:
    killme = make_project(tmp_path, steps="produce, hang", name="killme")
    marker = tmp_path / "marker"
    with child_run(killme, marker) as child:
        _wait_for(marker, child)
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=30)
    assert child.returncode != 0
    store = Store(load_spec(killme, steps=make_steps()).store)
    run = store.runs().row(0, named=True)
    assert run["status"] == "failed" and "SIGTERM" in run["error"]
    assert _visible_results(store, run["run_id"]) == 0


def test_identical_rerun_is_recognised_and_force_reruns(spec_path: Path) -> None:
    calls: list[str] = []
    spec, first = _run(spec_path, calls)
    _, second = _run(spec_path, calls)
    assert second.reused and second.run_id == first.run_id
    assert calls == ["produce", "scale"]  # nothing ran the second time
    store = Store(spec.store)
    assert store.runs().height == 1
    assert store.table("numbers").height == 3  # not duplicated

    _, forced = _run(spec_path, calls, force=True)
    assert not forced.reused and forced.run_id != first.run_id
    assert calls == ["produce", "scale", "produce", "scale"]  # recomputed, cache ignored
    assert store.manifest(forced.run_id).forced
    assert store.table("numbers", run_id=forced.run_id).height == 3


def test_a_code_change_reruns_and_recomputes(
    spec_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    _, first = _run(spec_path, calls)
    monkeypatch.setattr("engine.pipeline._runner.code_hash", lambda: "a-newer-engine")
    _, second = _run(spec_path, calls)
    assert not second.reused and second.run_id != first.run_id
    assert calls == ["produce", "scale", "produce", "scale"]
    assert second.manifest.code_hash == "a-newer-engine"


def test_unchanged_steps_are_reused_from_the_step_cache(spec_path: Path) -> None:
    calls: list[str] = []
    spec, _ = _run(spec_path, calls)
    (spec_path.parent / "policy.yaml").write_text("factor: 10\n")  # only `scale` reads the policy
    _, second = _run(spec_path, calls)
    assert calls == ["produce", "scale", "scale"]
    assert second.manifest.step("produce").cached
    assert not second.manifest.step("scale").cached
    store = Store(spec.store)
    assert store.table("scaled", run_id=second.run_id)["scaled"].to_list() == [10, 20, 30]
    assert store.table("numbers", run_id=second.run_id).height == 3  # reused, still published

    (spec_path.parent / "extract" / "numbers.csv").write_text("n\n1\n2\n3\n4\n")  # new extract
    _, third = _run(spec_path, calls)
    assert calls[-2:] == ["produce", "scale"]
    assert not third.manifest.step("produce").cached
    assert store.table("numbers", run_id=third.run_id).height == 4


def test_a_second_run_on_a_locked_store_is_refused_clearly(spec_path: Path) -> None:
    spec = load_spec(spec_path, steps=make_steps())
    with StoreLock(spec.store, run_id="night-1"), pytest.raises(RunLockedError) as caught:
        _run(spec_path)
    message = str(caught.value)
    assert "in use by run night-1" in message and f"pid {os.getpid()}" in message
    assert not spec.store.exists() or Store(spec.store).runs().height == 0
    _, result = _run(spec_path)  # lock released: runs
    assert result.manifest.status == "succeeded"


def test_two_runs_at_once_never_interleave(tmp_path: Path) -> None:
    """A run in another process holds the store while it publishes: a second run is refused with
    a clear message, and the first completes whole."""
    spec_path = make_project(tmp_path)
    marker = tmp_path / "marker"
    with child_run(spec_path, marker, hang_on_publish=1.5) as child:
        _wait_for(marker, child)
        with pytest.raises(RunLockedError, match="in use by run"):
            _run(spec_path)
        assert child.wait(timeout=60) == 0
    store = Store(load_spec(spec_path, steps=make_steps()).store)
    runs = store.runs()
    assert runs["status"].to_list() == ["succeeded"]
    assert store.table("numbers").height == 3 and store.table("scaled").height == 3
    _, again = _run(spec_path)
    assert again.manifest.status == "succeeded"


def test_a_full_disk_fails_cleanly_and_keeps_earlier_runs(spec_path: Path) -> None:
    spec, first = _run(spec_path)
    (spec_path.parent / "policy.yaml").write_text("factor: 7\n")

    def full_disk(frame: pl.DataFrame, path: Path) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    with pytest.raises(StoreWriteError, match="no space left on device") as caught:
        _run(spec_path, writer=full_disk)
    assert "earlier runs are intact" in str(caught.value)
    store = Store(spec.store)
    failed = store.runs().filter(pl.col("status") == "failed").row(0, named=True)
    assert _visible_results(store, failed["run_id"]) == 0
    assert store.table("scaled", run_id=first.run_id)["scaled"].to_list() == [2, 4, 6]
    assert (spec.runs_dir / first.run_id / "scaled.parquet").exists()
    assert not list(spec.runs_dir.glob(".staging-*"))
    _, after = _run(spec_path)
    assert after.manifest.status == "succeeded"


def test_exports_of_a_run_killed_between_commit_and_rename_are_finished(spec_path: Path) -> None:
    spec, first = _run(spec_path)
    final = spec.runs_dir / first.run_id
    final.rename(spec.runs_dir / f".staging-{first.run_id}")  # as if killed right after commit
    orphan = spec.runs_dir / ".staging-20000101-000000-test-dead"  # a run that never committed
    orphan.mkdir()
    (spec_path.parent / "policy.yaml").write_text("factor: 6\n")
    _, second = _run(spec_path)
    assert (final / "scaled.parquet").exists()  # the committed run got its exports
    assert not orphan.exists()
    assert sorted(p.name for p in spec.runs_dir.iterdir()) == sorted([first.run_id, second.run_id])
    log = Path(second.manifest.outputs["log"]).read_text()
    assert log.count("staged_exports_recovered") == 2
