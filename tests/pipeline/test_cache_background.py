"""The step cache written on a thread of its own, and the exports staged beside the store's writes:
an entry appears whole or not at all, a failed write is raised (never an entry a later run trusts)."""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from engine.store._files import RunExports, StepCache, write_parquet

KEY = "k" * 64


def _frames() -> dict[str, pl.DataFrame]:
    return {"a": pl.DataFrame({"x": [1, 2, 3]}), "b": pl.DataFrame({"y": ["p", "q"]})}


def test_a_background_entry_is_whole_once_flushed(tmp_path: Path) -> None:
    release = threading.Event()

    def slow(frame: pl.DataFrame, path: Path) -> None:
        release.wait(5)
        write_parquet(frame, path)

    cache = StepCache(tmp_path, slow, background=True)
    meta = {"rows": 3}
    cache.save("step", KEY, _frames(), meta)
    meta["rows"] = 99  # the entry keeps what was saved
    assert cache.load("step", KEY) is None  # still being written: nothing to trust yet
    release.set()
    cache.flush()
    hit = cache.load("step", KEY)
    assert hit is not None
    frames, got = hit
    assert got == {"rows": 3}
    assert frames["a"].equals(_frames()["a"]) and frames["b"].equals(_frames()["b"])
    assert not list(tmp_path.glob("*/.staging-*"))


def test_a_failed_background_write_is_raised_and_leaves_no_entry(tmp_path: Path) -> None:
    def full_disk(frame: pl.DataFrame, path: Path) -> None:
        if path.name == "b.parquet":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        write_parquet(frame, path)

    cache = StepCache(tmp_path, full_disk, background=True)
    cache.save("step", KEY, _frames(), {})
    with pytest.raises(OSError, match="No space left"):
        cache.flush()
    assert cache.load("step", KEY) is None
    assert not any(p.is_dir() for p in (tmp_path / "step").iterdir())
    cache.flush()  # raised once: the cache is usable again


def test_check_raises_a_failure_seen_before_the_next_save(tmp_path: Path) -> None:
    def broken(frame: pl.DataFrame, path: Path) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    cache = StepCache(tmp_path, broken, background=True)
    cache.save("first", KEY, _frames(), {})
    with pytest.raises(OSError):
        cache.flush(raise_errors=True)
    cache.save("second", KEY, _frames(), {})
    deadline = time.monotonic() + 10
    with pytest.raises(OSError):
        while time.monotonic() < deadline:  # the failure shows once the thread is done with it
            cache.check()
    cache.flush(raise_errors=False)
    assert cache.load("second", KEY) is None


def test_a_synchronous_cache_writes_before_returning(tmp_path: Path) -> None:
    cache = StepCache(tmp_path)
    cache.save("step", KEY, _frames(), {"n": 1})
    assert cache.load("step", KEY) is not None


def test_exports_staged_on_a_thread(tmp_path: Path) -> None:
    exports = RunExports(tmp_path, "r1").open()
    cached = tmp_path / "cached.parquet"
    write_parquet(_frames()["a"], cached)
    exports.write_many(_frames(), {"a": cached}).result()
    assert sorted(p.name for p in exports.staging.iterdir()) == ["a.parquet", "b.parquet"]
    assert (exports.staging / "a.parquet").stat().st_ino == cached.stat().st_ino  # linked
    assert pl.read_parquet(exports.staging / "b.parquet").equals(_frames()["b"])
    exports.commit()


def test_a_failed_export_is_raised_and_the_folder_discarded(tmp_path: Path) -> None:
    def full_disk(frame: pl.DataFrame, path: Path) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    exports = RunExports(tmp_path, "r1", full_disk).open()
    future = exports.write_many(_frames(), {})
    with pytest.raises(OSError):
        future.result()
    exports.discard()
    assert not exports.staging.exists() and not exports.final.exists()
