"""SIGTERM and SIGINT: a scheduler must never read an interrupted command as a success.

An interrupted `mfr run` exits 143 (SIGTERM) or 130 (SIGINT) with one line, records the same exit
code in its manifest, releases the lock and publishes nothing; other commands exit the same way
without a traceback or a half-written output folder. Typer's non-standalone mode once turned all
of this into exit 0.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from _fault_helpers import (
    NIGHTLY,
    REPO,
    assert_consistent,
    child_env,
    events,
    pinned_command,
)
from _pipeline_fakes import child_run, make_project

from engine.cli import main
from engine.errors import ExitCode
from engine.store import StoreLock


def _wait_for_step(child: subprocess.Popen, logs: Path, step: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(e["event"] == "step_started" and e.get("step") == step for e in events(logs)):
            return
        if child.poll() is not None:
            raise AssertionError(f"the run ended before step {step}: {child.communicate()}")
        time.sleep(0.01)
    raise AssertionError(f"step {step} never started")


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGTERM, ExitCode.TERMINATED), (signal.SIGINT, ExitCode.INTERRUPTED)],
)
def test_an_interrupted_run_exits_128_plus_the_signal(
    tmp_path: Path, signum: signal.Signals, code: ExitCode, sample_nightly
) -> None:
    """Interrupted in its forecast step. The run starts with the sample nightly's step cache
    (and its code identity) but for the forecast, so it gets there without computing the steps
    before it again."""
    store = tmp_path / "mfr.duckdb"
    shutil.copytree(
        sample_nightly.root / "out" / "cache",
        tmp_path / "cache",
        ignore=lambda folder, names: ["forecast"] if Path(folder).name == "cache" else [],
    )
    child = subprocess.Popen(
        pinned_command("run", NIGHTLY, "--store", store),
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_step(child, tmp_path / "logs", "forecast")
    child.send_signal(signum)
    _, err = child.communicate(timeout=120)

    assert child.returncode == code == 128 + signum
    (line,) = err.strip().splitlines()  # one line, no traceback
    assert line.startswith("error: run ") and f"interrupted by {signum.name}" in line
    assert "in step 'forecast'; nothing was published; log: " in line
    (run,) = assert_consistent(store)  # nothing of it is visible
    assert run["status"] == "failed" and run["exit_code"] == code
    assert run["run_id"] in line
    assert not any((tmp_path / "runs").iterdir()) if (tmp_path / "runs").exists() else True
    lock = StoreLock(store, "probe").acquire()  # released, and released cleanly
    assert lock.stale_holder is None
    lock.release()


def test_a_signal_during_the_commit_waits_for_it(tmp_path: Path) -> None:
    """SIGTERM while the results are being committed: the commit and the folder rename finish,
    the run stands as succeeded (and exits 0), and the log says the signal came too late."""
    spec_path = make_project(tmp_path)
    marker = tmp_path / "marker"
    with child_run(spec_path, marker, hang_on_publish=1.0) as child:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=60) == 0
    (run,) = assert_consistent(tmp_path / "out" / "mfr.duckdb")
    assert run["status"] == "succeeded"
    assert (tmp_path / "out" / "runs" / run["run_id"] / "scaled.parquet").is_file()
    logged = [e["event"] for e in events(tmp_path / "out" / "logs")]
    assert "signal_deferred" in logged and "signal_after_outcome" in logged
    assert logged[-1] == "run_succeeded"


_HANG_ON_WRITE = """
import sys, time
from pathlib import Path
import polars as pl

marker = Path(sys.argv[1])
write = pl.DataFrame.write_parquet

def write_then_hang(self, *args, **kwargs):
    write(self, *args, **kwargs)
    marker.write_text("writing")
    deadline = time.monotonic() + 60  # bounded: the test interrupts it long before
    while time.monotonic() < deadline:
        time.sleep(0.05)

pl.DataFrame.write_parquet = write_then_hang
from engine.cli import main
sys.exit(main(sys.argv[2:]))
"""


_ENTITLE = [
    *("entitle", "data_samples/registry", "--model", "models/funding/baseline"),
    *("--months", "2026-01:2026-12"),
]
_FORECAST = [  # a light forecast: the point is the interruption, not the models
    *("forecast", "data_samples/registry", "--model", "models/funding/baseline"),
    *("--backtest-windows", "0", "--reconcile", "bottom_up", "--horizon", "3"),
]


@pytest.mark.parametrize("command", [_ENTITLE, _FORECAST], ids=["entitle", "forecast"])
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_other_commands_interrupted_exit_the_same_way(
    tmp_path: Path, command: list[str], signum: signal.Signals, code: int
) -> None:
    """Interrupted while writing its output folder: one line, 143/130, no folder, no leftovers."""
    marker, out = tmp_path / "marker", tmp_path / "work" / "result"
    child = subprocess.Popen(
        [sys.executable, "-c", _HANG_ON_WRITE, str(marker), *command, "--out", str(out)],
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert child.poll() is None, child.communicate()
    child.send_signal(signum)
    _, err = child.communicate(timeout=60)
    assert child.returncode == code
    assert err.strip().splitlines() == [f"error: interrupted by {signum.name}"]
    assert not out.exists()
    assert list(out.parent.iterdir()) == []  # the staging folder went with it


# -- the CLI's last line of defence -------------------------------------------------------------


def _app_raising(exc: BaseException) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def boom() -> None:
        raise exc

    @app.command()
    def fine() -> None:
        """A second command, so `boom` is addressed by name as real commands are."""

    return app


@pytest.mark.parametrize(
    ("exc", "code", "says"),
    [
        (typer.Exit(4), 4, None),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED, "error: interrupted"),
        (
            OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/data/out/need.parquet"),
            ExitCode.BAD_INPUT_FILE,
            "error: /data/out/need.parquet: could not write (no space left on device)",
        ),
        (
            OSError(errno.EROFS, os.strerror(errno.EROFS), "/mnt/ro/mfr.duckdb"),
            ExitCode.BAD_INPUT_FILE,
            "error: /mnt/ro/mfr.duckdb: could not write (read-only file system)",
        ),
        (
            NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), "/srv/a-file/logs"),
            ExitCode.BAD_INPUT_FILE,
            "error: /srv/a-file/logs: a parent of this path is a file, not a folder",
        ),
        (OSError(errno.ENOSPC, "No space left on device"), ExitCode.BAD_INPUT_FILE, "error: "),
        (RuntimeError("a bug"), ExitCode.INTERNAL_ERROR, "internal error: RuntimeError: a bug"),
    ],
    ids=["exit", "ctrl-c", "disk-full", "read-only", "not-a-folder", "no-name", "bug"],
)
def test_main_turns_every_ending_into_its_exit_code(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    exc: BaseException,
    code: int,
    says: str | None,
) -> None:
    monkeypatch.setattr("engine.cli.app", _app_raising(exc))
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert main(["boom"]) == code
    err = capsys.readouterr().err.strip().splitlines()
    if says is None:
        assert err == []
    else:
        (line,) = err
        assert line.startswith(says)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers


def test_a_store_whose_parent_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be\n")
    nightly = REPO / "pipelines" / "nightly.yaml"
    assert main(["run", str(nightly), "--store", str(blocker / "mfr.duckdb")]) == 3
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {blocker}/") and "is a file, not a folder" in line
    assert blocker.read_text() == "a file where a folder should be\n"


def test_a_signal_a_library_rewraps_still_stops_the_run_as_interrupted(tmp_path: Path) -> None:
    """polars turns an exception raised inside a callback into its own error; the signal that
    caused it must still make the run exit 130, not 1 (an internal error)."""
    import polars as pl

    from engine.errors import Interrupted
    from engine.pipeline import load_spec, run_pipeline
    from engine.pipeline._step import StepContext, StepDef, StepOutput

    spec_path = make_project(tmp_path, steps="produce, wrapped")

    def produce(ctx: StepContext) -> StepOutput:
        return StepOutput(frames={"numbers": pl.DataFrame({"n": [1, 2]})})

    def wrapped(ctx: StepContext) -> StepOutput:
        try:
            signal.raise_signal(signal.SIGINT)
        except Interrupted as exc:
            raise RuntimeError("a library's own error") from exc
        raise AssertionError("the signal handler did not run")

    steps = {
        "produce": StepDef("produce", produce, inputs=("extract",), cacheable=False),
        "wrapped": StepDef("wrapped", wrapped, needs=("produce",), cacheable=False),
    }
    with pytest.raises(Interrupted) as raised:
        run_pipeline(load_spec(spec_path, steps=steps), steps=steps, progress=False)
    assert int(raised.value.exit_code) == ExitCode.INTERRUPTED == 130
    assert "interrupted by SIGINT in step 'wrapped'" in str(raised.value)
    (run,) = assert_consistent(tmp_path / "out" / "mfr.duckdb")
    assert run["status"] == "failed" and run["exit_code"] == 130


def test_a_signal_inside_polars_code_is_sent_again_not_raised_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Raising in polars' own Python code (run from its Rust code) makes Rust panic and print a
    backtrace: the handler sends the signal again a moment later instead; elsewhere it raises."""
    import types

    from engine.pipeline._interrupts import RunInterruptedError, RunSignals
    from engine.pipeline._logging import RunLog

    resent: list[tuple[object, tuple[object, ...]]] = []

    class _Timer:
        def __init__(self, _delay: float, function: object, args: tuple[object, ...]) -> None:
            resent.append((function, args))

        def start(self) -> None:
            pass

    monkeypatch.setattr("engine.pipeline._interrupts.threading.Timer", _Timer)
    signals = RunSignals(RunLog(None, "r1"), "r1")
    in_polars = types.SimpleNamespace(f_globals={"__name__": "polars.datatypes.classes"})
    signals._handle(signal.SIGTERM, in_polars)
    assert resent == [(os.kill, (os.getpid(), signal.SIGTERM))]
    elsewhere = types.SimpleNamespace(f_globals={"__name__": "engine.forecasting._ets"})
    with pytest.raises(RunInterruptedError, match="interrupted by SIGTERM"):
        signals._handle(signal.SIGTERM, elsewhere)
