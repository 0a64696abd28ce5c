"""Which store a command uses: one rule for `mfr run`, `runs`, `show`, `report`, `prune`, ...

1. `--store FILE` (relative to the current folder);
2. else `$MFR_STORE` (relative to the current folder);
3. else, for a command given a spec, the spec's own `outputs.store` (relative to its project root);
4. else the project's default `out/mfr.duckdb`, the project being the nearest folder, from the
   current one upwards, that holds `pipelines/` (so `mfr runs` finds the store `mfr run
   pipelines/nightly.yaml` wrote from anywhere inside the project);
5. else `out/mfr.duckdb` in the current folder.

Every command prints the result (`store: /abs/path/mfr.duckdb (from $MFR_STORE)`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["STORE_ENV", "StoreLocation", "find_project_root", "locate_store"]

STORE_ENV = "MFR_STORE"
_DEFAULT = Path("out") / "mfr.duckdb"


@dataclass(frozen=True)
class StoreLocation:
    """An absolute store path and the rule that chose it (`--store`, `$MFR_STORE`, ...)."""

    path: Path
    source: str

    def describe(self) -> str:
        return f"store: {self.path} (from {self.source})"


def find_project_root(start: Path) -> Path | None:
    """The nearest folder from `start` upwards that holds a `pipelines/` folder, if any."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / "pipelines").is_dir():
            return folder
    return None


def locate_store(
    option: Path | None = None,
    *,
    spec_store: Path | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> StoreLocation:
    """The store a command uses, by the rule in this module's docstring.

    >>> locate_store(Path("/srv/mfr/store.duckdb")).describe()
    'store: /srv/mfr/store.duckdb (from --store)'
    """
    here = (cwd or Path.cwd()).resolve()
    env = os.environ if environ is None else environ
    if option is not None:
        return StoreLocation((here / option).resolve(), "--store")
    if env.get(STORE_ENV, "").strip():
        return StoreLocation((here / env[STORE_ENV].strip()).resolve(), f"${STORE_ENV}")
    if spec_store is not None:
        return StoreLocation(Path(spec_store).resolve(), "the spec's outputs.store")
    root = find_project_root(here)
    if root is not None:
        return StoreLocation(root / _DEFAULT, f"the project default, project {root}")
    return StoreLocation(here / _DEFAULT, "the default out/mfr.duckdb in the current folder")
