"""Files next to the warehouse: per-run Parquet exports and the step cache, both written atomically.

Both are written into a hidden staging folder and renamed into place in one `rename(2)`, so a reader
sees a complete folder or none; single files (a run's `manifest.json`) are written to a temporary
name and renamed too, so a kill mid-write never leaves a 0-byte file. Staging folders left by a
killed run are cleared (or, for a committed run, finished) by the next run.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from engine.errors import os_errno_in

__all__ = [
    "REBUILD_PREFIX",
    "RunExports",
    "StepCache",
    "Writer",
    "recover_exports",
    "write_parquet",
    "write_text_atomic",
]

Writer = Callable[[pl.DataFrame, Path], None]
_STAGING = ".staging-"
REBUILD_PREFIX = ".rebuild-"  # a committed run's exports being rebuilt from the store
_META = "meta.json"


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """The default writer: zstd Parquet, statistics on (DuckDB and polars prune on them).

    polars reports a full disk as a `ComputeError` ("... (os error 28)"): it is raised here as the
    `OSError` it is, naming the file, so callers handle one kind of file-system fault.
    """
    try:
        frame.write_parquet(path, compression="zstd", statistics=True)
    except pl.exceptions.PolarsError as exc:
        code = os_errno_in(str(exc))
        if code is None:
            raise
        raise OSError(code, os.strerror(code), str(path)) from exc


def write_text_atomic(path: Path, text: str) -> Path:
    """Write `path` as a whole: a temporary name beside it, then one rename over it.

    An OS error names `path` even when the kernel reports it on `write`/`close` without a file name
    (a full disk), so the operator's one-line message says which file.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename is None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


class RunExports:
    """`<runs_dir>/<run_id>/`: one Parquet file per result table, the manifest and the report."""

    def __init__(self, runs_dir: Path, run_id: str, writer: Writer = write_parquet) -> None:
        self.final = runs_dir / run_id
        self.staging = runs_dir / f"{_STAGING}{run_id}"
        self.writer = writer
        self._writing: Future[None] | None = None  # `write_many`'s, until the folder goes

    def open(self) -> RunExports:
        if self.staging.exists():
            shutil.rmtree(self.staging)
        self.staging.mkdir(parents=True)
        return self

    def write(self, name: str, frame: pl.DataFrame, same_as: Path | None = None) -> Path:
        """Export `frame` as `<name>.parquet`; `same_as` is a Parquet file already holding exactly
        this frame (the step cache's), hard-linked instead of written again when possible."""
        path = self.staging / f"{name}.parquet"
        if same_as is not None and same_as.is_file():
            try:
                os.link(same_as, path)  # cache files are never modified, only replaced or deleted
                return path
            except OSError:
                pass  # another file system, or links not allowed: write it
        self.writer(frame, path)
        return path

    def write_many(
        self, frames: Mapping[str, pl.DataFrame], same_as: Mapping[str, Path]
    ) -> Future[None]:
        """`write` each frame on a thread of its own (the run's store is written meanwhile); the
        future's `result()` waits for all of them and raises the first failure. Each frame is
        written from its own clone (columns shared, not copied): polars must not see one frame
        object used from two threads at once (see `engine.pipeline._lineage.TableHashes`)."""
        clones = {name: frame.clone() for name, frame in frames.items()}
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mfr-exports")

        def write_all() -> None:
            for name, frame in clones.items():
                self.write(name, frame, same_as=same_as.get(name))

        future = pool.submit(write_all)
        pool.shutdown(wait=False)  # the thread ends with its one task
        self._writing = future
        return future

    def write_text(self, name: str, text: str) -> Path:
        return write_text_atomic(self.staging / name, text)

    def commit(self) -> Path:
        """Move the staged folder into place; call after the store's commit."""
        os.replace(self.staging, self.final)
        return self.final

    def discard(self) -> None:
        if self._writing is not None:  # a failed run: let the writing thread stop first
            self._writing.exception()
        shutil.rmtree(self.staging, ignore_errors=True)


def recover_exports(runs_dir: Path, succeeded: Iterable[str]) -> list[str]:
    """Finish or drop staging folders a killed run left: kept only if the store committed the run.

    A committed run's `.staging-<id>` is always complete (it is filled before the commit, or
    renamed to that name by a rebuild only once complete), so it replaces whatever `<id>/` holds.
    Half-built rebuild folders (`.rebuild-<id>`) are dropped.
    """
    done = set(succeeded)
    recovered: list[str] = []
    if not runs_dir.is_dir():
        return recovered
    for staging in runs_dir.glob(f"{_STAGING}*"):
        run_id = staging.name.removeprefix(_STAGING)
        final = runs_dir / run_id
        if run_id in done:
            if final.exists():
                shutil.rmtree(final)
            os.replace(staging, final)
        else:
            shutil.rmtree(staging, ignore_errors=True)
        recovered.append(run_id)
    for partial in runs_dir.glob(f"{REBUILD_PREFIX}*"):
        shutil.rmtree(partial, ignore_errors=True)
    return recovered


class StepCache:
    """`<root>/<step>/<key>/`: a step's output frames as Parquet plus `meta.json`, reused by key.

    The key hashes everything the step's result depends on (see the runner), so a hit is a result
    this code would compute again from the same inputs. The newest `keep` entries per step are kept.

    With `background=True` (a run's cache) `save` returns at once and one thread of its own writes
    the entries in order while the run goes on (the 1 M nightly's registry, entitlements and
    forecast are ~2.5 s of zstd Parquet); `flush` waits for them and raises the first failure,
    `check` raises one already seen. An entry is written as always: into a staging folder renamed
    into place once whole, so a run killed mid-write leaves only a staging folder, which no run
    loads and the next one clears.
    """

    def __init__(
        self, root: Path, writer: Writer = write_parquet, keep: int = 3, *, background: bool = False
    ) -> None:
        self.root = root
        self.writer = writer
        self.keep = keep
        self.background = background
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []
        self._lock = threading.Lock()

    def _dir(self, step: str, key: str) -> Path:
        return self.root / step / key[:24]

    def file(self, step: str, key: str, frame: str) -> Path:
        """Where a cached frame's Parquet file is (it may not exist, or not yet: see `flush`)."""
        return self._dir(step, key) / f"{frame}.parquet"

    def load(self, step: str, key: str) -> tuple[dict[str, pl.DataFrame], dict[str, Any]] | None:
        folder = self._dir(step, key)
        meta_path = folder / _META
        if not meta_path.is_file():
            return None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("key") != key:
            return None
        frames = {name: pl.read_parquet(folder / f"{name}.parquet") for name in meta["frames"]}
        now = time.time()
        os.utime(folder, (now, now))  # most recently used, for pruning
        return frames, meta["meta"]

    def save(
        self, step: str, key: str, frames: Mapping[str, pl.DataFrame], meta: Mapping[str, Any]
    ) -> None:
        payload = {"key": key, "step": step, "frames": list(frames), "meta": dict(meta)}
        text = json.dumps(payload, default=str)  # now: the caller may change `meta` later
        if not self.background:
            self._save(step, key, dict(frames), text)
            return
        self.check()
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mfr-step-cache")
            # clones (columns shared, not copied): the run goes on using the same frames, and
            # polars must not see one frame object used from two threads at once (`write_many`)
            clones = {name: frame.clone() for name, frame in frames.items()}
            self._pending.append(self._pool.submit(self._save, step, key, clones, text))

    def _save(self, step: str, key: str, frames: Mapping[str, pl.DataFrame], text: str) -> None:
        folder = self._dir(step, key)
        staging = folder.with_name(f"{_STAGING}{folder.name}-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            for name, frame in frames.items():
                self.writer(frame, staging / f"{name}.parquet")
            write_text_atomic(staging / _META, text)
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(staging, folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._prune(folder.parent)

    def check(self) -> None:
        """Raise the error of a background save that already failed (a full disk), if any."""
        with self._lock:
            done = [f for f in self._pending if f.done()]
        for future in done:
            future.result()

    def flush(self, *, raise_errors: bool = True) -> None:
        """Wait until every background save is written (or failed); raise the first failure."""
        with self._lock:
            pending, self._pending = self._pending, []
            pool, self._pool = self._pool, None
        first: BaseException | None = None
        for future in pending:
            error = future.exception()
            if error is not None and first is None:
                first = error
        if pool is not None:
            pool.shutdown(wait=True)
        if first is not None and raise_errors:
            raise first

    def _prune(self, step_dir: Path) -> None:
        entries = sorted(
            (p for p in step_dir.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in entries[self.keep :]:
            shutil.rmtree(old, ignore_errors=True)

    def clear_staging(self) -> None:
        """Drop half-written entries a killed run left behind."""
        if self.root.is_dir():
            for staging in self.root.glob(f"*/{_STAGING}*"):
                shutil.rmtree(staging, ignore_errors=True)
