"""Faults during a run: signals, and the machine refusing a write.

SIGTERM/SIGINT stop a run cleanly, except inside its critical sections.

A signal handler raises `RunInterruptedError` in the main thread, so the run unwinds through its
own failure path (recorded as failed with exit code 143 or 130, staging removed, lock released).
Inside a critical section — writing the run's first row, the final commit with its folder rename,
recording a failure — the signal is held until the section ends, so no record is ever half-made.

A full disk, a read-only folder or a file where a folder should be is an operator's problem, not
an engine bug: it becomes one line naming the path, with exit code 3.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from engine.errors import (
    EngineError,
    ExitCode,
    Interrupted,
    describe_os_error,
    file_system_error,
)
from engine.pipeline._logging import RunLog
from engine.store import StoreWriteError, Writer

__all__ = [
    "RunInterruptedError",
    "RunSignals",
    "as_machine_fault",
    "exit_code_of",
    "fault_hook",
    "guarded_writer",
]


_RESEND_SECONDS = 0.02


def _in_polars(frame: Any) -> bool:
    """Whether the innermost Python frame is polars' own code."""
    name = getattr(frame, "f_globals", {}).get("__name__", "") if frame is not None else ""
    return isinstance(name, str) and name.partition(".")[0] == "polars"


class RunInterruptedError(Interrupted):
    """SIGTERM or SIGINT reached a run; it stops, publishes nothing and exits 143 or 130."""


class RunSignals:
    """SIGTERM/SIGINT stop a computing run; inside a critical section (recording the run's start,
    the final commit, recording its failure) they wait for it to finish."""

    def __init__(self, log: RunLog, run_id: str) -> None:
        self.log = log
        self.run_id = run_id
        self.deferred = False
        self.pending: int | None = None
        # the last signal that reached the run: a library that catches the handler's exception
        # and raises its own (polars wraps errors raised in callbacks) must not turn it into exit 1
        self.received: int | None = None
        self.step: str | None = None  # the step running, named in the message
        self._previous: dict[int, Any] = {}

    def interrupted(self, signum: int) -> RunInterruptedError:
        name = signal.Signals(signum).name
        where = f" in step '{self.step}'" if self.step else ""
        log = f"; log: {self.log.path}" if self.log.path is not None else ""
        return RunInterruptedError(
            signum, f"run {self.run_id} interrupted by {name}{where}; nothing was published{log}"
        )

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signum
        if self.deferred:
            self.pending = signum
            self.log.event("signal_deferred", level="warning", signal=signal.Signals(signum).name)
            return
        if _in_polars(frame):
            # polars is running Python code on its own behalf (building a dtype, a callback):
            # raising here unwinds through its Rust code, which panics and prints a Rust
            # backtrace on stderr; the signal is sent again in a moment, when it is out
            threading.Timer(_RESEND_SECONDS, os.kill, (os.getpid(), signum)).start()
            return
        raise self.interrupted(signum)

    def __enter__(self) -> RunSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    @contextlib.contextmanager
    def critical(self, *, deliver: bool = True) -> Iterator[None]:
        """Defer signals over the block; then raise a deferred one if `deliver` (the block's work
        is consistent and the run can stop), else only log it: the block decided the run's outcome
        (committed, or recorded as failed) and that outcome stands."""
        was_deferred, self.deferred = self.deferred, True
        try:
            yield
        finally:
            self.deferred = was_deferred
        if self.pending is not None and not was_deferred:
            signum, self.pending = self.pending, None
            if deliver:
                raise self.interrupted(signum)
            name = signal.Signals(signum).name
            self.log.event("signal_after_outcome", level="warning", signal=name)


def exit_code_of(exc: BaseException) -> int:
    """The exit code a failed run records: its error's own, 130 for Ctrl-C, else 1 (a bug)."""
    if isinstance(exc, EngineError | Interrupted):
        return int(exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        return int(ExitCode.INTERRUPTED)
    return int(ExitCode.INTERNAL_ERROR)


_FAULT_ENV = "MFR_FAULT_KILL_AT"


def fault_hook(point: str) -> None:
    """Fault-campaign hook: SIGKILL this process at a named point of the commit window when the
    environment asks for it (`MFR_FAULT_KILL_AT=after_commit`). Tests use it to prove that a kill
    no signal handler can defer is still finished by the next run; nothing sets it in production."""
    if os.environ.get(_FAULT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


def as_machine_fault(exc: BaseException, consequence: str, folder: Path) -> BaseException:
    """A disk-full, read-only or permission fault as one `FileSystemError` line; others as they are.

    A full disk is often reported on `write`/`close` with no file name: `folder` (where the run
    writes) is named instead.
    """
    if isinstance(exc, OSError) and (exc.filename is not None or describe_os_error(exc)):
        return file_system_error(exc, path=folder, consequence=consequence)
    return exc


def guarded_writer(writer: Writer, run_id: str) -> Writer:
    """A writer whose OS errors (disk full, read-only folder) become one clear `StoreWriteError`."""

    def write(frame: pl.DataFrame, path: Path) -> None:
        try:
            writer(frame, path)
        except OSError as exc:
            cause = describe_os_error(exc) or (os.strerror(exc.errno) if exc.errno else str(exc))
            raise StoreWriteError(
                f"could not write {path.name} ({cause}); run {run_id} published nothing and "
                "earlier runs are intact",
                path=path.parent,
            ) from None

    return write
