"""The run store: a DuckDB warehouse of every run's manifest and results, with its lock and files.

- `Store` — the DuckDB file: `runs` (manifests), `run_steps`, and one table per result kind
  (`case_months`, `need`, `allocations`, ...) keyed by `run_id`, each with a `<table>_latest` view.
- `StoreLock` — one run at a time per store.
- `RunExports`, `StepCache` — Parquet exports per run and the step cache, written atomically.
- `RunManifest`, `StepRecord` — what a run was; `hash_path`, `code_hash` — content hashes.
"""

from __future__ import annotations

from engine.store._files import RunExports, StepCache, Writer, recover_exports, write_parquet
from engine.store._hashing import code_hash, code_version, hash_json, hash_path
from engine.store._lock import StoreLock, lock_path
from engine.store._manifest import RunManifest, StepRecord, utc_now
from engine.store._warehouse import SCHEMA_VERSION, Store, StoreError, StoreWriteError

__all__ = [
    "SCHEMA_VERSION",
    "RunExports",
    "RunManifest",
    "StepCache",
    "StepRecord",
    "Store",
    "StoreError",
    "StoreLock",
    "StoreWriteError",
    "Writer",
    "code_hash",
    "code_version",
    "hash_json",
    "hash_path",
    "lock_path",
    "recover_exports",
    "utc_now",
    "write_parquet",
]
