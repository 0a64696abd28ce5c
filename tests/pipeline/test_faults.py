"""The fault campaign as bounded tests: real `mfr run` processes on the bundled sample, killed at
points spread over the whole run, two runs started together, a kill inside the commit window.

Every time, the store opens, no run is recorded as succeeded that did not finish, nothing partial
is visible, and the next run succeeds with the same results as an undisturbed one.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from _fault_helpers import (
    NIGHTLY,
    REPO,
    assert_consistent,
    assert_same_results,
    child_env,
    events,
    pinned_command,
    run_mfr,
    run_tables,
    start_nightly,
    wait_for_event,
)
from _pipeline_fakes import run_mfr as run_in_process

from engine.store import Store

SEED = 20261202


@pytest.fixture(scope="module")
def undisturbed(sample_nightly) -> tuple[float, dict]:
    """One undisturbed nightly run, the session's sample nightly: how long it took, and its
    results read back from the store. It read its own copy of the sample extract: the file names
    it recorded (quarantine's source_file) are given as the repository's, which the runs here
    read, so nothing else may differ."""
    (run,) = assert_consistent(sample_nightly.store)
    copy, here = str(sample_nightly.root), str(REPO)
    tables = {
        name: frame.with_columns(
            pl.col(c).str.replace(copy, here, literal=True)
            for c, t in frame.schema.items()
            if t == pl.String
        )
        for name, frame in run_tables(sample_nightly.store, run["run_id"]).items()
    }
    return sample_nightly.seconds, tables


def _reported_run(logs_dir: Path) -> str:
    """The run the latest `mfr run` stands for: the one it ran, or the identical one it found."""
    newest = max(logs_dir.glob("*.jsonl"), key=lambda p: p.stat().st_mtime_ns)
    for event in reversed(events(newest.parent)):
        if event["run_id"] != newest.stem:
            continue
        if event["event"] == "up_to_date":
            return event["same_as"]
        if event["event"] == "run_succeeded":
            return event["run_id"]
    raise AssertionError(f"{newest} records no success")


def _campaign(tmp_path: Path, undisturbed: tuple[float, dict], plan: list[signal.Signals]) -> None:
    seconds, expected = undisturbed
    store = tmp_path / "mfr.duckdb"
    logs = tmp_path / "logs"
    rng = random.Random(SEED)
    expected_code = {signal.SIGTERM: 143, signal.SIGINT: 130}
    seen: set[str] = set()
    for trial, signum in enumerate(plan):
        before = len(events(logs))
        child = start_nightly(store, "--force")
        if signum == signal.SIGKILL:
            # stratified over the measured duration: every part of the run gets its kills
            delay = (trial + rng.random()) / len(plan) * seconds
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline and child.poll() is None:
                time.sleep(0.005)
        else:  # at a logged event, so the process has its signal handlers (not mid-import)
            wait_for_event(child, logs, before, nth=rng.randint(2, 16))
        if child.poll() is None:
            child.send_signal(signum)
        _, err = child.communicate(timeout=120)
        where = f"trial {trial} ({signum.name}): rc {child.returncode}, {err.strip()[-300:]}"

        runs = assert_consistent(store)
        new = [r for r in runs if r["run_id"] not in seen]  # the run this child started, if any
        seen.update(r["run_id"] for r in runs)
        if child.returncode == 0:  # it finished before the signal (or the signal hit the commit)
            assert [r["status"] for r in new] == ["succeeded"], where
        elif signum == signal.SIGKILL:
            assert child.returncode == -signal.SIGKILL, where
        else:
            assert child.returncode == expected_code[signum], where
            assert "Traceback" not in err and len(err.strip().splitlines()) == 1, where
            assert f"interrupted by {signum.name}" in err, where
            # recorded (if it got that far) as failed, with the exit code the process returned
            assert all(r["status"] == "failed" for r in new), where
            assert all(r["exit_code"] == child.returncode for r in new), where

        nxt = run_mfr("run", NIGHTLY, "--store", store)
        assert nxt.returncode == 0, f"{where}; next run: {nxt.stderr}"
        seen.update(r["run_id"] for r in assert_consistent(store))
        reported = _reported_run(logs)
        assert (tmp_path / "runs" / reported / "manifest.json").is_file(), where
        assert_same_results(run_tables(store, reported), expected)
        assert not list((tmp_path / "runs").glob(".*")), where  # recovery left nothing behind

    if len(plan) > 2:  # (the quick variant's last next run is already a run after every fault)
        final = run_mfr("run", NIGHTLY, "--store", store, "--force")
        assert final.returncode == 0, final.stderr
        assert_same_results(run_tables(store, _reported_run(logs)), expected)


@pytest.mark.parametrize(
    "plan",
    [
        pytest.param([signal.SIGKILL, signal.SIGTERM], id="kill-term"),
        pytest.param(
            [signal.SIGKILL, signal.SIGTERM, signal.SIGKILL, signal.SIGINT, signal.SIGKILL],
            id="three-kills-term-int",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_kills_spread_over_a_run_never_leave_partial_results(
    tmp_path: Path, undisturbed: tuple[float, dict], plan: list[signal.Signals]
) -> None:
    """The quick variants: by default one SIGKILL (in the first half of the run) and one SIGTERM
    (what a scheduler sends; SIGINT is test_interrupts'); under -m slow three SIGKILLs, one
    SIGTERM, one SIGINT (and the 25-kill campaign below)."""
    _campaign(tmp_path, undisturbed, plan)


@pytest.mark.slow
def test_the_fault_campaign_25_kills_and_signals(
    tmp_path: Path, undisturbed: tuple[float, dict]
) -> None:
    """25 SIGKILLs spread over the whole run, three SIGTERMs and two SIGINTs."""
    plan = [signal.SIGKILL] * 25
    for position, signum in ((3, signal.SIGTERM), (9, signal.SIGINT), (15, signal.SIGTERM)):
        plan.insert(position, signum)
    plan.insert(21, signal.SIGINT)
    plan.insert(27, signal.SIGTERM)
    _campaign(tmp_path, undisturbed, plan)


# -- a kill inside the commit window -----------------------------------------------------------------


def test_a_kill_between_commit_and_rename_is_finished_by_the_next_run(
    tmp_path: Path, sample_nightly
) -> None:
    """The child starts with the sample nightly's step cache (and its code identity), so it gets
    to the commit window without computing every step again: the kill there is the point."""
    store = tmp_path / "mfr.duckdb"
    shutil.copytree(sample_nightly.root / "out" / "cache", tmp_path / "cache")
    child = subprocess.Popen(
        pinned_command("run", NIGHTLY, "--store", store),
        cwd=REPO,
        env=child_env(MFR_FAULT_KILL_AT="after_commit"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    child.communicate(timeout=300)
    assert child.returncode == -signal.SIGKILL
    (run,) = assert_consistent(store)
    assert run["status"] == "succeeded"  # committed: the store is the truth...
    run_id = run["run_id"]
    assert not (tmp_path / "runs" / run_id).exists()  # ...but the folder was never renamed
    assert (tmp_path / "runs" / f".staging-{run_id}").is_dir()

    code, out, err = run_in_process("run", str(NIGHTLY), "--store", str(store))
    assert code == 0, err
    assert f"Up to date: run {run_id}" in " ".join(out.split())
    folder = tmp_path / "runs" / run_id
    assert (folder / "manifest.json").is_file() and (folder / "report.html").is_file()
    assert not list((tmp_path / "runs").glob(".*"))
    assert_consistent(store)
    # its steps came from the sample nightly's cache, file names recorded there included
    assert_same_results(
        run_tables(store, run_id), run_tables(sample_nightly.store, sample_nightly.run_id)
    )


def test_lost_exports_are_rebuilt_from_the_store(tmp_path: Path, sample_nightly) -> None:
    """`rm -rf out/runs` after a run: the next (up-to-date) run rebuilds the folder, report
    included, and says so; a 0-byte manifest.json and a cut Parquet file are rebuilt too.

    The runs are in-process with the sample nightly's code identity, the first one from its step
    cache: what is lost and rebuilt is this run's own export folder, which is the point."""
    store = tmp_path / "mfr.duckdb"
    shutil.copytree(sample_nightly.root / "out" / "cache", tmp_path / "cache")
    code, _, err = run_in_process("run", str(NIGHTLY), "--store", str(store))
    assert code == 0, err
    (run,) = assert_consistent(store)
    folder = tmp_path / "runs" / run["run_id"]
    listing = sorted(p.name for p in folder.iterdir())
    shutil.rmtree(tmp_path / "runs")

    def rerun() -> str:
        code, out, err = run_in_process("run", str(NIGHTLY), "--store", str(store))
        assert code == 0, err
        return " ".join(out.split())

    said = rerun()
    assert "Up to date" in said and "rebuilt from the store" in said
    assert sorted(p.name for p in folder.iterdir()) == listing
    assert (folder / "report.html").stat().st_size > 10_000  # the real report, from the store
    assert_consistent(store)

    (folder / "manifest.json").write_bytes(b"")  # as a kill mid-write once left it
    need = folder / "need.parquet"
    need.write_bytes(need.read_bytes()[:100])
    said = rerun()
    assert "rebuilt from the store (need.parquet, manifest.json)" in said
    assert_consistent(store)
    assert "rebuilt from the store" not in rerun()  # complete now: nothing more to do


# -- two runs at once ------------------------------------------------------------------------------

_HOLDING = """
import sys, time
from pathlib import Path
sys.path.insert(0, {here!r})
from _pipeline_fakes import make_steps
from engine.pipeline import StepDef, StepOutput, _steps

release = Path({release!r})

def hold(ctx):
    deadline = time.monotonic() + 60  # bounded: the test releases it once the other has ended
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return StepOutput()

_steps.STEPS.update(make_steps())
_steps.STEPS["hold"] = StepDef("hold", hold, needs=("produce",), cacheable=False)
from engine.cli import main
sys.exit(main(["run", {spec!r}, "--force"]))
"""


@pytest.mark.parametrize("trials", [3, pytest.param(10, marks=pytest.mark.slow)])
def test_two_runs_started_together_one_runs_the_other_exits_5(tmp_path: Path, trials: int) -> None:
    """Trials (3 by default, 10 under -m slow) of two `mfr run` processes on one store started at
    the same moment: one holds the store (its `hold` step waits until the other has ended), the
    other is refused with 5."""
    from _pipeline_fakes import HERE, make_project

    spec = make_project(tmp_path, steps="produce, hold, scale")
    release = tmp_path / "release"
    for trial in range(trials):
        release.unlink(missing_ok=True)
        code = _HOLDING.format(here=str(HERE), release=str(release), spec=str(spec))
        children = [
            subprocess.Popen(
                [sys.executable, "-c", code],
                cwd=REPO,
                env=child_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        deadline = time.monotonic() + 120
        while all(c.poll() is None for c in children) and time.monotonic() < deadline:
            time.sleep(0.01)
        loser = next(c for c in children if c.poll() is not None)
        _, err = loser.communicate(timeout=30)
        assert loser.returncode == 5, f"trial {trial}: {err}"
        assert "is in use by run" in err and len(err.strip().splitlines()) == 1
        release.write_text("go")
        winner = next(c for c in children if c is not loser)
        _, err = winner.communicate(timeout=120)
        assert winner.returncode == 0, f"trial {trial}: {err}"
        runs = assert_consistent(tmp_path / "out" / "mfr.duckdb")
        assert len(runs) == trial + 1  # the refused run left no record at all
        assert all(r["status"] == "succeeded" for r in runs)


def test_a_rebuilt_folder_holds_the_runs_own_columns_and_names_what_it_could_not_rebuild(
    tmp_path: Path,
) -> None:
    """In-process, with the tests' own steps: the store's `numbers` table gained a column from a
    later run; the rebuilt export of the first run has the first run's columns only. Its report
    cannot be rebuilt (this project has no reference tables): the summary says so, and how."""
    from _pipeline_fakes import make_project, make_steps

    from engine.pipeline import load_spec, run_pipeline

    spec_path = make_project(tmp_path)
    steps = make_steps()
    spec = load_spec(spec_path, steps=steps)
    first = run_pipeline(spec, steps=steps, progress=False)
    numbers = tmp_path / "extract" / "numbers.csv"
    original = numbers.read_text()
    numbers.write_text("n,m\n1,7\n2,8\n")
    run_pipeline(spec, steps=steps, progress=False)  # adds column m to the store's table
    numbers.write_text(original)
    shutil.rmtree(spec.runs_dir / first.run_id)

    again = run_pipeline(spec, steps=steps, progress=False)
    assert again.reused and again.run_id == first.run_id
    note = again.manifest.outputs["exports_rebuilt"]
    assert "numbers.parquet" in note and "scaled.parquet" in note and "manifest.json" in note
    assert f"mfr report {first.run_id} --out FILE" in note
    folder = spec.runs_dir / first.run_id
    assert pl.read_parquet(folder / "numbers.parquet").columns == ["n"]
    assert pl.read_parquet(folder / "scaled.parquet")["scaled"].to_list() == [2, 4, 6]
    assert not (folder / "report.html").exists()
    assert "exports_rebuilt" not in Store(spec.store).manifest(first.run_id).outputs  # not stored
