"""Beyond one machine: partitioned runs and scenario sweeps on Dask (`dask.distributed`).

The `distributed` extra (`pip install 'mfr-engine[distributed]'`) brings Dask; without it the
engine works as always and `mfr run --scheduler` / `mfr sweep` say in one line what to install.
Importing this package imports no Dask: names load on first use.

- `partitioned(scheduler, workers=, partitions=, scratch=)`: runs started inside price the
  registry in partitions (by a hash of the recipient) on the cluster's workers; the results are
  those of one process to the kopiyka (`_partitioned`).
- `load_sweep(path)` / `run_sweep(sweep, scheduler=...)`: a grid or list of scenario points, each
  priced and allocated on a worker, gathered into the store as one sweep, resumable (`_sweep`).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "INSTALL_HINT",
    "Scheduler",
    "SweepResult",
    "SweepSpec",
    "load_sweep",
    "partitioned",
    "require_dask",
    "run_sweep",
    "stored_sweep",
]

_HOMES = {
    "INSTALL_HINT": "engine.distributed._context",
    "Scheduler": "engine.distributed._context",
    "require_dask": "engine.distributed._context",
    "partitioned": "engine.distributed._partitioned",
    "SweepSpec": "engine.distributed._sweep_spec",
    "load_sweep": "engine.distributed._sweep_spec",
    "SweepResult": "engine.distributed._sweep",
    "run_sweep": "engine.distributed._sweep",
    "stored_sweep": "engine.distributed._sweep_store",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'engine.distributed' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
