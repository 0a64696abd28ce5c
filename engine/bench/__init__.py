"""Benchmark harness: time and peak memory of one workload, each in a fresh process.

A workload is a *setup* function `setup(size, seed) -> work` that builds its inputs and returns a
zero-argument callable doing the measured work. The harness runs it in a spawned process so that
peak memory is that workload's alone: it builds the inputs, resets the kernel's peak-RSS counter
(Linux `/proc/self/clear_refs`), times `work()` and reads the peak back (`VmHWM`). On systems
without that counter the peak includes the setup, which the result says.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["BenchResult", "run_isolated"]


@dataclass(frozen=True)
class BenchResult:
    area: str  # "entitlements", "allocation", "forecast", "nightly", ...
    case: str  # "engine" or the straightforward alternative, e.g. "pandas rows"
    size: int  # rows / segments / series / recipients
    unit: str  # what `size` counts
    seconds: float
    peak_mb: float
    peak_includes_setup: bool
    note: str = ""
    ok: bool = True  # False when a check made in the run (e.g. SQL vs engine case-months) failed

    @property
    def throughput(self) -> float:
        return self.size / self.seconds if self.seconds > 0 else float("inf")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "throughput": self.throughput}


def _read_status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _child(
    target: str, size: int, seed: int, queue: mp.Queue
) -> None:  # pragma: no cover - subprocess
    try:
        module_name, func_name = target.split(":")
        setup = getattr(importlib.import_module(module_name), func_name)
        work: Callable[[], object] = setup(size, seed)
        reset = _reset_peak()
        start = time.perf_counter()
        note = work()
        seconds = time.perf_counter() - start
        peak_kb = _read_status_kb("VmHWM")
        if peak_kb is None:
            import resource

            peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            reset = False
        queue.put(("ok", seconds, peak_kb / 1024, not reset, str(note or "")))
    except BaseException as exc:
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


def run_isolated(
    target: str, *, area: str, case: str, size: int, unit: str, seed: int = 0
) -> BenchResult:
    """Run `module:setup` in a fresh process and measure its work.

    `setup(size, seed)` returns the measured callable; whatever that callable returns (a short string)
    becomes the result's note.
    """
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    process = ctx.Process(target=_child, args=(target, size, seed, queue))
    process.start()
    message = queue.get()
    process.join()
    if message[0] == "error":
        raise RuntimeError(f"benchmark {area}/{case} at size {size} failed: {message[1]}")
    _, seconds, peak_mb, includes_setup, note = message
    return BenchResult(area, case, size, unit, seconds, peak_mb, includes_setup, note)
