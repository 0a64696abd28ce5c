"""Errors the engine raises on purpose, each with the exit code the CLI returns for it.

Every message is one line that names the file, the column and the line where they are known, so an
operator reading a nightly job's log knows what to fix without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

__all__ = [
    "ConfigError",
    "EngineError",
    "ExitCode",
    "InputFileError",
    "QuarantineThresholdError",
    "RunLockedError",
]


class ExitCode(IntEnum):
    """Process exit codes; a scheduler can branch on them."""

    OK = 0
    INTERNAL_ERROR = 1
    BAD_CONFIG = 2
    BAD_INPUT_FILE = 3
    QUARANTINE_OVER_THRESHOLD = 4
    RUN_LOCKED = 5


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
