"""The manifest of one run: what went in (with content hashes), what code ran, what each step did."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["RunManifest", "StepRecord", "utc_now"]


def utc_now() -> dt.datetime:
    """Naive UTC timestamp, as stored in the warehouse (DuckDB TIMESTAMP)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class StepRecord:
    """What one step did: status, time, rows, and whether its result came from the step cache."""

    name: str
    status: str = "pending"  # pending / running / succeeded / failed / skipped
    started_at: str | None = None
    seconds: float | None = None
    rows_read: int | None = None
    rows_quarantined: int | None = None
    rows_written: int | None = None
    cached: bool = False
    cache_key: str | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class RunManifest:
    """Everything needed to tell what a run was and to recognise an identical one.

    `fingerprint` hashes the spec, every input's content, the code and the effective parameters: two
    runs with the same fingerprint would produce the same results.
    """

    run_id: str
    spec_name: str
    spec_path: str
    spec_hash: str
    fingerprint: str
    code_version: str
    code_hash: str
    inputs: list[dict[str, Any]]
    parameters: dict[str, Any]
    started_at: dt.datetime
    status: str = "running"  # running / succeeded / failed
    finished_at: dt.datetime | None = None
    steps: list[StepRecord] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    error: str | None = None
    exit_code: int | None = None
    pid: int | None = None
    host: str | None = None
    forced: bool = False

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def step(self, name: str) -> StepRecord:
        for record in self.steps:
            if record.name == name:
                return record
        raise KeyError(name)

    def input(self, role: str) -> dict[str, Any] | None:
        return next((i for i in self.inputs if i.get("role") == role), None)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat()
        out["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        out["seconds"] = self.seconds
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunManifest:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("started_at", "finished_at"):
            if isinstance(values.get(key), str):
                values[key] = dt.datetime.fromisoformat(values[key])
        values["steps"] = [StepRecord(**s) for s in values.get("steps") or []]
        return cls(**values)
