"""A full disk, a read-only file system, a file where a folder should be: each is one line naming
the path, exit code 3, and a store that is intact once the fault is gone.

The full and read-only disks are small tmpfs mounts the test makes; where the machine does not let
it (not root, no mount permission in a container) those tests are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import polars as pl
import pytest
from _fault_helpers import (
    NIGHTLY,
    assert_consistent,
    assert_same_results,
    run_mfr,
    run_tables,
)
from _pipeline_fakes import make_project, make_steps

from engine.errors import ExitCode, FileSystemError
from engine.pipeline import load_spec, run_pipeline
from engine.pipeline._logging import RunLog
from engine.store import StoreLock, StoreWriteError, write_text_atomic


@contextlib.contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {made.stderr.strip() or 'not permitted'}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def _fill(disk: Path, leave_bytes: int) -> Path:
    """A filler file that leaves about `leave_bytes` free on `disk`."""
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    filler = disk / "filler.bin"
    with filler.open("wb") as handle:
        handle.truncate(0)
        remaining = max(free - leave_bytes, 0)
        block = b"\0" * (1 << 20)
        while remaining > 0:
            handle.write(block[: min(len(block), remaining)])
            remaining -= len(block)
    return filler


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("run ")]
    assert len(lines) == 1, stderr  # (a "run ... failed in step" line may come before it)
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    return lines[0]


@pytest.mark.parametrize("leaves", [(1,), pytest.param((1, 8), marks=pytest.mark.slow)])
def test_a_full_disk_is_one_line_exit_3_and_the_store_survives(
    tmp_path: Path, leaves: tuple[int, ...], sample_nightly
) -> None:
    """Full at one point of a run by default (1 MB left), at several under -m slow (1 and 8 MB
    left: the step cache, the store's commit): each time exit 3 naming a path on the disk, never
    "restore it from a backup"; once space is freed the store holds its earlier run intact and
    the next run succeeds. The earlier run is the session's sample nightly, copied onto the disk
    (running it again here would prove nothing the fault does not)."""
    with _tmpfs(tmp_path / "disk", "48m") as disk:
        store = sample_nightly.seed(disk)
        (good,) = assert_consistent(store)
        before = run_tables(store, good["run_id"])
        for leave_mb in leaves:
            filler = _fill(disk, leave_mb << 20)
            full = run_mfr("run", NIGHTLY, "--store", store, "--force")
            filler.unlink()
            assert full.returncode == ExitCode.BAD_INPUT_FILE, (leave_mb, full.stderr)
            line = _one_error_line(full.stderr)
            assert line.startswith(f"error: {disk}") and "no space left on device" in line.lower()
            assert "restore" not in line
            runs = assert_consistent(store)
            assert [r["status"] for r in runs].count("succeeded") == 1
            assert_same_results(run_tables(store, good["run_id"]), before)
        again = run_mfr("run", NIGHTLY, "--store", store, "--force")
        assert again.returncode == 0, again.stderr
        assert_consistent(store)


def test_a_read_only_file_system(tmp_path: Path, sample_nightly) -> None:
    """A store holding a good run (the sample nightly's, copied) on a file system remounted
    read-only: the next run is one line naming a path on it, exit 3, and the store is as it was."""
    with _tmpfs(tmp_path / "disk", "48m") as disk:
        store = sample_nightly.seed(disk)
        (good,) = assert_consistent(store)
        remount = ["mount", "-o", "remount,ro", str(disk)]
        if subprocess.run(remount, capture_output=True, check=False).returncode != 0:
            pytest.skip("cannot remount the tmpfs read-only here")
        try:
            refused = run_mfr("run", NIGHTLY, "--store", store, "--force")
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        assert refused.returncode == ExitCode.BAD_INPUT_FILE
        line = _one_error_line(refused.stderr)
        assert line.startswith(f"error: {disk}/") and "read-only file system" in line
        assert [r["run_id"] for r in assert_consistent(store)] == [good["run_id"]]


def test_a_read_only_folder(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes through permission bits: see test_a_read_only_file_system")
    spec_path = make_project(tmp_path)
    steps = make_steps()
    spec = load_spec(spec_path, steps=steps)
    run_pipeline(spec, steps=steps, progress=False)
    (tmp_path / "policy.yaml").write_text("factor: 3\n")
    folders = [spec.store.parent, *(p for p in spec.store.parent.rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(0o555)
    try:
        with pytest.raises(FileSystemError, match="permission denied") as caught:
            run_pipeline(spec, steps=steps, progress=False)
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert caught.value.exit_code == ExitCode.BAD_INPUT_FILE
    assert str(spec.store.parent) in str(caught.value)


def test_an_injected_full_disk_is_exit_3(tmp_path: Path) -> None:
    spec_path = make_project(tmp_path)
    steps = make_steps()

    def full_disk(frame: pl.DataFrame, path: Path) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as write(2) reports it: no name

    spec = load_spec(spec_path, steps=steps)
    with pytest.raises(StoreWriteError) as caught:
        run_pipeline(spec, steps=steps, progress=False, writer=full_disk)
    assert caught.value.exit_code == ExitCode.BAD_INPUT_FILE
    message = str(caught.value)
    assert "no space left on device" in message and str(spec.cache_dir) in message
    (run,) = assert_consistent(spec.store)
    assert run["status"] == "failed" and run["exit_code"] == ExitCode.BAD_INPUT_FILE


def test_a_full_disk_at_the_lock_file_lets_go_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "mfr.duckdb"

    def no_space(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr("engine.store._lock.os.write", no_space)
        with pytest.raises(FileSystemError, match="no space left on device") as caught:
            StoreLock(store, "r1").acquire()
    assert str(caught.value).startswith(f"{store}.lock: ")
    StoreLock(store, "r2").acquire().release()  # the failed attempt did not keep the lock


def test_a_text_file_is_replaced_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """manifest.json is written to a temporary name and renamed: a failure (or a kill) mid-write
    leaves the previous file as it was, never a 0-byte one, and no temporary file behind."""
    target = tmp_path / "manifest.json"
    write_text_atomic(target, '{"run_id": "old"}')

    def refuse(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("engine.store._files.os.replace", refuse)
    with pytest.raises(OSError, match="No space left") as caught:
        write_text_atomic(target, '{"run_id": "new"}')
    assert caught.value.filename == str(target)
    assert target.read_text() == '{"run_id": "old"}'
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_a_full_disk_under_the_log_before_the_run(tmp_path: Path) -> None:
    """The log's folder is full: one error naming the log file, exit 3, the run never starts."""
    spec_path = make_project(tmp_path)
    steps = make_steps()
    spec = load_spec(spec_path, steps=steps)
    first = run_pipeline(spec, steps=steps, progress=False)
    (tmp_path / "policy.yaml").write_text("factor: 3\n")
    with _tmpfs(spec.logs_dir, "64k") as logs:
        _fill(logs, 0)
        with pytest.raises(FileSystemError, match="no space left on device") as caught:
            run_pipeline(spec, steps=steps, progress=False)
    assert caught.value.exit_code == ExitCode.BAD_INPUT_FILE
    assert str(caught.value).startswith(f"{spec.logs_dir}/") and ".jsonl: " in str(caught.value)
    assert [r["run_id"] for r in assert_consistent(spec.store)] == [first.run_id]


class _FillingFile:
    """A log file on a disk that fills up when told: every write after that fails as write(2)
    reports it (no file name)."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self.full = False

    def write(self, text: str) -> int:
        if self.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.inner.write(text)

    def flush(self) -> None:
        self.inner.flush()

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("full_at", ["run_started", "table_published", "run_committed"])
def test_a_full_disk_under_the_log_during_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_at: str
) -> None:
    """The log's disk fills while the run computes, inside its commit, or right after it: one
    error naming the log file (never a second one from the failure's own log lines), exit 3, no
    half-published run. A run that had committed stays succeeded; the next run finishes its
    export folder."""
    spec_path = make_project(tmp_path)
    steps = make_steps()
    spec = load_spec(spec_path, steps=steps)
    first = run_pipeline(spec, steps=steps, progress=False)
    (tmp_path / "policy.yaml").write_text("factor: 3\n")

    files: list[_FillingFile] = []
    enter = RunLog.__enter__

    def filling_enter(self: RunLog) -> RunLog:
        enter(self)
        files.append(_FillingFile(self._file))  # type: ignore[arg-type]
        self._file = files[-1]  # type: ignore[assignment]
        return self

    def fill_at(event: dict) -> None:
        if event["event"] == full_at:
            files[-1].full = True

    with monkeypatch.context() as patch:
        patch.setattr(RunLog, "__enter__", filling_enter)
        with pytest.raises(FileSystemError, match="no space left on device") as caught:
            run_pipeline(spec, steps=steps, progress=False, on_event=fill_at)
    assert caught.value.exit_code == ExitCode.BAD_INPUT_FILE
    assert str(caught.value).startswith(f"{spec.logs_dir}/") and ".jsonl: " in str(caught.value)
    runs = assert_consistent(spec.store)
    succeeded = [r["run_id"] for r in runs if r["status"] == "succeeded"]
    if full_at == "run_committed":
        assert "is committed to the store" in str(caught.value)
        assert len(succeeded) == 2
        again = run_pipeline(spec, steps=steps, progress=False)  # the same inputs: up to date
        assert again.reused and (spec.runs_dir / again.run_id / "scaled.parquet").is_file()
        assert not list(spec.runs_dir.glob(".*"))
    else:
        assert succeeded == [first.run_id]
        (failed,) = (r for r in runs if r["status"] != "succeeded")
        assert failed["status"] == "failed" and failed["exit_code"] == ExitCode.BAD_INPUT_FILE
