"""What `mfr run --scheduler` and `mfr sweep --scheduler` turn into (no Dask imported without one)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from engine.distributed._context import Scheduler, require_dask
from engine.errors import ConfigError

__all__ = ["run_context", "scheduler_of"]


def scheduler_of(address: str | None, workers: int | None) -> Scheduler | None:
    """The `--scheduler` / `--workers` options as a `Scheduler` (None: in this process)."""
    if address is None:
        if workers is not None:
            raise ConfigError("--workers needs --scheduler (an address, or 'local')")
        return None
    require_dask()
    return Scheduler(address, workers=2 if workers is None else workers)


def run_context(
    address: str | None,
    *,
    workers: int | None,
    partitions: int | None,
    scratch: Path | None,
    store: Path,
) -> contextlib.AbstractContextManager[Any]:
    """`mfr run`'s pricing: partitioned on the scheduler, or (no `--scheduler`) in process."""
    scheduler = scheduler_of(address, workers)
    if scheduler is None:
        if partitions is not None or scratch is not None:
            raise ConfigError(
                "--partitions and --scratch need --scheduler (an address, or 'local')"
            )
        return contextlib.nullcontext()
    from engine.distributed._partitioned import partitioned

    folder = scratch if scratch is not None else store.parent / "scratch"
    folder.mkdir(parents=True, exist_ok=True)
    return partitioned(scheduler, partitions=partitions, scratch=folder)
