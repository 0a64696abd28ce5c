"""What a pipeline step is: a plain function from a `StepContext` to a `StepOutput`, declared with
what its result depends on in a `StepDef`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from engine.pipeline._spec import RunSpec
from engine.store import RunManifest

__all__ = ["RunResult", "StepContext", "StepDef", "StepOutput"]


@dataclass(frozen=True)
class StepOutput:
    """What a step hands on: frames (some published to the store), facts, counts, summary lines.

    `publish` maps a frame name to the warehouse table it is appended to. `meta` holds small
    JSON-ready facts later steps and the summary read (e.g. the extract date). `notes` are the
    lines the step adds to the planner's summary.
    """

    frames: Mapping[str, pl.DataFrame] = field(default_factory=dict)
    publish: Mapping[str, str] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)
    rows_read: int | None = None
    rows_quarantined: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def rows_written(self) -> int | None:
        if not self.publish:
            return None
        return sum(self.frames[name].height for name in self.publish)

    def _cache_meta(self) -> dict[str, Any]:
        return {
            "publish": dict(self.publish),
            "meta": dict(self.meta),
            "rows_read": self.rows_read,
            "rows_quarantined": self.rows_quarantined,
            "notes": list(self.notes),
        }

    @classmethod
    def _from_cache(cls, frames: dict[str, pl.DataFrame], meta: dict[str, Any]) -> StepOutput:
        return cls(
            frames=frames,
            publish=meta["publish"],
            meta=meta["meta"],
            rows_read=meta["rows_read"],
            rows_quarantined=meta["rows_quarantined"],
            notes=tuple(meta["notes"]),
        )


@dataclass(frozen=True)
class StepContext:
    """What a step may look at: the spec, earlier steps' outputs, and a folder for files it makes."""

    spec: RunSpec
    run_id: str
    upstream: Mapping[str, StepOutput]
    workdir: Path  # the run's staging export folder: files here appear with the run's results
    accept_quarantine: bool = False
    facts: Mapping[str, str] = field(
        default_factory=dict
    )  # run id, spec, code, inputs: for reports

    def frame(self, step: str, name: str) -> pl.DataFrame:
        return self.upstream[step].frames[name]

    def meta(self, step: str, key: str) -> Any:
        return self.upstream[step].meta[key]


@dataclass(frozen=True)
class StepDef:
    """A step: its function and what its result depends on (which keys its cache entry)."""

    name: str
    run: Callable[[StepContext], StepOutput]
    title: str = ""
    needs: tuple[str, ...] = ()  # steps that must run before it; their results are its inputs
    after: tuple[str, ...] = ()  # steps whose results it uses when they ran
    inputs: tuple[str, ...] = ()  # input roles whose content it reads (extract, funding_model...)
    params: tuple[str, ...] = ()  # spec parameters that change its result
    requires: tuple[str, ...] = ()  # spec keys that must be set for it
    cacheable: bool = True


@dataclass(frozen=True)
class RunResult:
    manifest: RunManifest
    reused: bool  # an identical earlier run was found; nothing ran
    outputs: Mapping[str, StepOutput] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.manifest.run_id
