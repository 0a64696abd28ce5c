"""The run store: a DuckDB warehouse of every run's manifest and results, with its lock and files.

- `Store` — the DuckDB file: `runs` (manifests), `run_steps`, and one table per result kind
  (`case_months`, `need`, `allocations`, ...) keyed by `run_id`; `latest_runs` and the views
  `latest_<spec>.<table>` show each spec's latest succeeded run, `<table>_latest` the production
  spec's (see `_views`); `Store.prune` is retention.
- `locate_store` — the one rule every command uses to find the store.
- `StoreLock` — one run at a time per store.
- `RunExports`, `StepCache` — Parquet exports per run and the step cache, written atomically.
- `RunManifest`, `StepRecord` — what a run was; `hash_path`, `code_hash` — content hashes.
- `run_inputs`, `load_run_model` — the files a run read, kept content-addressed in the store, given
  back as a folder, and the funding model it used (`_inputs`); `table_hash` — a published table's.
"""

from __future__ import annotations

from engine.store._files import (
    REBUILD_PREFIX,
    RunExports,
    StepCache,
    Writer,
    recover_exports,
    write_parquet,
    write_text_atomic,
)
from engine.store._hashing import code_hash, code_version, hash_json, hash_path
from engine.store._inputs import InputFile, RunInputs, load_run_model, run_inputs
from engine.store._locate import STORE_ENV, StoreLocation, find_project_root, locate_store
from engine.store._lock import StoreLock, lock_path
from engine.store._manifest import RunManifest, StepRecord, utc_now
from engine.store._prune import PruneReport
from engine.store._tablehash import table_hash
from engine.store._views import DEFAULT_PRODUCTION_SPEC
from engine.store._warehouse import (
    RUN_STATUSES,
    SCHEMA_VERSION,
    Store,
    StoreError,
    StoreWriteError,
)

__all__ = [
    "DEFAULT_PRODUCTION_SPEC",
    "REBUILD_PREFIX",
    "RUN_STATUSES",
    "SCHEMA_VERSION",
    "STORE_ENV",
    "InputFile",
    "PruneReport",
    "RunExports",
    "RunInputs",
    "RunManifest",
    "StepCache",
    "StepRecord",
    "Store",
    "StoreError",
    "StoreLocation",
    "StoreLock",
    "StoreWriteError",
    "Writer",
    "code_hash",
    "code_version",
    "find_project_root",
    "hash_json",
    "hash_path",
    "load_run_model",
    "locate_store",
    "lock_path",
    "recover_exports",
    "run_inputs",
    "table_hash",
    "utc_now",
    "write_parquet",
    "write_text_atomic",
]
