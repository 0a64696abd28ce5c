"""Errors the engine raises on purpose, each with the exit code the CLI returns for it.

Every message is one line that names the file, the column and the line where they are known, so an
operator reading a nightly job's log knows what to fix without a traceback.
"""

from __future__ import annotations

import errno
import os
import re
import signal
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

__all__ = [
    "ConfigError",
    "EngineError",
    "ExitCode",
    "FileSystemError",
    "InputFileError",
    "Interrupted",
    "QuarantineThresholdError",
    "RunLockedError",
    "describe_os_error",
    "file_system_error",
    "machine_fault_in",
    "os_errno_in",
]


class ExitCode(IntEnum):
    """Process exit codes; a scheduler can branch on them."""

    OK = 0
    INTERNAL_ERROR = 1
    BAD_CONFIG = 2
    BAD_INPUT_FILE = 3
    QUARANTINE_OVER_THRESHOLD = 4
    RUN_LOCKED = 5
    INTERRUPTED = 130  # SIGINT (Ctrl-C): 128 + 2, as a shell reports it
    TERMINATED = 143  # SIGTERM (systemd stop, a scheduler's timeout): 128 + 15


@dataclass(eq=False)
class EngineError(Exception):
    """Base of every deliberate error: a message plus where it happened."""

    message: str
    path: str | Path | None = None
    column: str | None = None
    line: int | None = None

    exit_code = ExitCode.INTERNAL_ERROR

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        where = []
        if self.path is not None:
            where.append(str(self.path))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class ConfigError(EngineError):
    """A spec, funding model, scenario or policy file is wrong (unknown key, bad date, bad type)."""

    exit_code = ExitCode.BAD_CONFIG


class InputFileError(EngineError):
    """An input file cannot be used at all: missing, undecodable, missing column, wrong type."""

    exit_code = ExitCode.BAD_INPUT_FILE


class QuarantineThresholdError(EngineError):
    """The quarantined share of a table exceeds the accepted threshold."""

    exit_code = ExitCode.QUARANTINE_OVER_THRESHOLD


class RunLockedError(EngineError):
    """Another run holds the store's lock."""

    exit_code = ExitCode.RUN_LOCKED


class FileSystemError(EngineError):
    """The file system refused a write: disk full, quota, read-only, no permission, a file where a
    folder should be. Nothing half-written is left visible; freeing space or fixing the folder and
    running again is enough."""

    exit_code = ExitCode.BAD_INPUT_FILE


# errno -> what an operator should read; these are faults of the machine, not of the engine
_OS_CAUSES = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a parent of this path is a file, not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.ENOENT: "no such file or folder",
    errno.EMFILE: "too many open files",
    errno.ENAMETOOLONG: "file name too long",
}
_WRITE_FAULTS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def describe_os_error(exc: OSError) -> str | None:
    """A short cause for an OS error the operator can fix (disk full, read-only, ...), else None."""
    return _OS_CAUSES.get(exc.errno) if exc.errno is not None else None


# How libraries that do not raise OSError (DuckDB, polars) word the same faults in their messages.
_FAULT_WORDS = tuple(
    (os.strerror(code), cause)
    for code, cause in _OS_CAUSES.items()
    if code in {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES}
)
_OS_ERROR_NUMBER = re.compile(r"\(os error (\d+)\)")


def machine_fault_in(text: str) -> str | None:
    """The disk-full / quota / read-only / permission fault a library's error message reports
    (DuckDB: "No space left on device", polars: "(os error 28)"), else None."""
    for words, cause in _FAULT_WORDS:
        if words.lower() in text.lower():
            return cause
    code = os_errno_in(text)
    return _OS_CAUSES.get(code) if code is not None else None


def os_errno_in(text: str) -> int | None:
    """The errno a Rust library's message carries ("... (os error 28)"), if any."""
    found = _OS_ERROR_NUMBER.search(text)
    return int(found.group(1)) if found else None


def file_system_error(
    exc: OSError, *, path: str | Path | None = None, consequence: str = ""
) -> FileSystemError:
    """One `FileSystemError` line for `exc`, naming the file it concerns (`exc.filename`, else
    `path`) and, after a semicolon, what that means for the user's data (`consequence`)."""
    where = exc.filename if exc.filename is not None else path
    cause = describe_os_error(exc) or (exc.strerror or str(exc) or type(exc).__name__).lower()
    message = f"could not write ({cause})" if exc.errno in _WRITE_FAULTS else cause
    if consequence:
        message += f"; {consequence}"
    return FileSystemError(message, path=where)


class Interrupted(BaseException):
    """SIGINT or SIGTERM reached the process; it unwinds (cleanup runs) and exits 130 or 143.

    A `BaseException` like `KeyboardInterrupt`, so no `except Exception` in a step swallows it; not
    a `KeyboardInterrupt`, because typer turns those into a silent return value (exit 0 with
    `standalone_mode=False`), which is how an interrupted run once reported success.
    """

    def __init__(self, signum: int, message: str | None = None) -> None:
        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        super().__init__(message or f"interrupted by {self.signal_name}")

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.INTERRUPTED if self.signum == signal.SIGINT else ExitCode.TERMINATED

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else f"interrupted by {self.signal_name}"
