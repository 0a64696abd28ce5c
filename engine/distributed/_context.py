"""Where a run prices: the scheduler an operator named, and the pricing hook of the run.

This module imports neither dask nor the pipeline: the pipeline's `priced` node asks it whether a
partitioned pricing was asked for (`pricing_hook`), and `require_dask` says in one line what to
install when the `distributed` extra is missing.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ConfigError

__all__ = ["INSTALL_HINT", "Scheduler", "pricing_hook", "require_dask", "using_pricing"]

INSTALL_HINT = "pip install 'mfr-engine[distributed]' (or: pip install 'dask[distributed]')"

# the partitioned pricing of the run in progress (set by `using_pricing`, read by `priced`)
_HOOK: ContextVar[Callable[..., Any] | None] = ContextVar("mfr_pricing_hook", default=None)


@dataclass(frozen=True)
class Scheduler:
    """Where work runs: `address` of a Dask scheduler (`tcp://host:8786`) or "local" (a
    `LocalCluster` of `workers` processes, one thread each, started and stopped by the engine).

    >>> Scheduler("local", workers=2).describe()
    'a local cluster of 2 worker processes'
    """

    address: str = "local"
    workers: int = 2
    scratch: Path | None = None  # a folder every worker sees; default: beside the store

    def __post_init__(self) -> None:
        if not self.address:
            raise ConfigError("--scheduler: give a scheduler address (tcp://host:8786) or 'local'")
        if self.workers < 1:
            raise ConfigError(f"--workers must be at least 1, not {self.workers}")

    @property
    def is_local(self) -> bool:
        return self.address == "local"

    def describe(self) -> str:
        if self.is_local:
            return f"a local cluster of {self.workers} worker processes"
        return f"the Dask scheduler at {self.address}"


def require_dask(option: str = "--scheduler") -> None:
    """Raise a one-line `ConfigError` (exit 2) naming what to install when dask is missing."""
    try:
        importlib.import_module("distributed")  # dask.distributed (it imports dask)
    except ImportError:
        raise ConfigError(f"{option} needs Dask, which is not installed: {INSTALL_HINT}") from None


def pricing_hook() -> Callable[..., Any] | None:
    """The partitioned pricing asked for by the caller of this run, or None (price in process)."""
    return _HOOK.get()


@contextlib.contextmanager
def using_pricing(hook: Callable[..., Any] | None) -> Iterator[None]:
    """Runs started inside this block price through `hook` (None: in process, as always)."""
    token = _HOOK.set(hook)
    try:
        yield
    finally:
        _HOOK.reset(token)
