"""Files next to the warehouse: per-run Parquet exports and the step cache, both written atomically.

Both are written into a hidden staging folder and renamed into place in one `rename(2)`, so a reader
sees a complete folder or none. Staging folders left by a killed run are cleared by the next run.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

__all__ = ["RunExports", "StepCache", "Writer", "recover_exports", "write_parquet"]

Writer = Callable[[pl.DataFrame, Path], None]
_STAGING = ".staging-"
_META = "meta.json"


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """The default writer: zstd Parquet, statistics on (DuckDB and polars prune on them)."""
    frame.write_parquet(path, compression="zstd", statistics=True)


class RunExports:
    """`<runs_dir>/<run_id>/`: one Parquet file per result table, the manifest and the report."""

    def __init__(self, runs_dir: Path, run_id: str, writer: Writer = write_parquet) -> None:
        self.final = runs_dir / run_id
        self.staging = runs_dir / f"{_STAGING}{run_id}"
        self.writer = writer

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

    def write_text(self, name: str, text: str) -> Path:
        path = self.staging / name
        path.write_text(text, encoding="utf-8")
        return path

    def commit(self) -> Path:
        """Move the staged folder into place; call after the store's commit."""
        os.replace(self.staging, self.final)
        return self.final

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def recover_exports(runs_dir: Path, succeeded: Iterable[str]) -> list[str]:
    """Finish or drop staging folders a killed run left: kept only if the store committed the run."""
    done = set(succeeded)
    recovered = []
    if not runs_dir.is_dir():
        return recovered
    for staging in runs_dir.glob(f"{_STAGING}*"):
        run_id = staging.name.removeprefix(_STAGING)
        final = runs_dir / run_id
        if run_id in done and not final.exists():
            os.replace(staging, final)
        else:
            shutil.rmtree(staging, ignore_errors=True)
        recovered.append(run_id)
    return recovered


class StepCache:
    """`<root>/<step>/<key>/`: a step's output frames as Parquet plus `meta.json`, reused by key.

    The key hashes everything the step's result depends on (see the runner), so a hit is a result
    this code would compute again from the same inputs. The newest `keep` entries per step are kept.
    """

    def __init__(self, root: Path, writer: Writer = write_parquet, keep: int = 3) -> None:
        self.root = root
        self.writer = writer
        self.keep = keep

    def _dir(self, step: str, key: str) -> Path:
        return self.root / step / key[:24]

    def file(self, step: str, key: str, frame: str) -> Path:
        """Where a cached frame's Parquet file is (it may not exist)."""
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
        folder = self._dir(step, key)
        staging = folder.with_name(f"{_STAGING}{folder.name}-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            for name, frame in frames.items():
                self.writer(frame, staging / f"{name}.parquet")
            payload = {"key": key, "step": step, "frames": list(frames), "meta": dict(meta)}
            (staging / _META).write_text(json.dumps(payload, default=str), encoding="utf-8")
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(staging, folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._prune(folder.parent)

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
