"""Running a plan's nodes: each once, in order, read back or computed, freed when done with.

The manifest records the spec's products (its `steps:`); the nodes computed first for a product
count in its time (the registry in `validate`'s, the pricing in `entitle`'s). Every node's own
time, action and the process's peak memory so far go to the log (`node_finished`) and to the
manifest's `outputs.nodes`.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import EngineError
from engine.pipeline._codecs import decode, encode
from engine.pipeline._graph import PRODUCTS, Graph
from engine.pipeline._plan import LOAD, Plan
from engine.pipeline._step import StepOutput
from engine.store import RunManifest, StepCache, StepRecord, utc_now

__all__ = ["Execution", "RunFacts", "one_line"]


@dataclass(frozen=True)
class RunFacts:
    """What a node may know of the run (`run`): its id, its export folder, the operator's choices
    and the facts a report names (run id, spec, code, inputs)."""

    run_id: str
    workdir: Any  # Path: the run's staging export folder; files here appear with its results
    accept_quarantine: bool = False
    facts: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, manifest: RunManifest, workdir: Any, accept_quarantine: bool) -> RunFacts:
        """A run's facts from its manifest: what a reader of its report should know about where
        its numbers come from."""
        facts = {
            "run_id": manifest.run_id,
            "spec": manifest.spec_name,
            "started (UTC)": f"{manifest.started_at:%Y-%m-%d %H:%M:%S}",
            "code version": manifest.code_version,
        }
        for item in manifest.inputs:
            facts[f"input: {item['role']}"] = f"{item['path']} (sha256 {item['hash'][:12]})"
        return cls(manifest.run_id, workdir, accept_quarantine, facts)


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


@dataclass
class Execution:
    """The values of one run's nodes while it runs; products stay until they are published."""

    plan: Plan
    cache: StepCache
    roots: Mapping[str, Any]
    log: Any  # RunLog
    set_step: Callable[[str | None], None]  # which product is running (for interrupt messages)
    values: dict[str, Any] = field(default_factory=dict)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    # values kept past their last consumer: the store's dimension tables come from the reference
    retain: frozenset[str] = frozenset({"reference"})

    @property
    def graph(self) -> Graph:
        return self.plan.graph

    def products(self) -> dict[str, StepOutput]:
        return {p: self.values[p] for p in self.graph.products if p in self.values}

    def groups(self) -> list[tuple[str, list[str]]]:
        """Each product with the nodes first run for it, in the order they run."""
        groups: list[tuple[str, list[str]]] = []
        pending: list[str] = []
        for name in self.plan.steps:
            pending.append(name)
            if name in self.graph.products:
                groups.append((name, pending))
                pending = []
        return groups

    def run(self, records: Mapping[str, StepRecord]) -> None:
        remaining = self._consumers()
        for name, members in self.groups():
            self._run_group(records[name], members, remaining)

    def _consumers(self) -> dict[str, int]:
        counts = dict.fromkeys(self.plan.steps, 0)
        for name in self.plan.steps:
            if not self.plan.computes(name):
                continue
            for dep in self.graph.deps[name]:
                counts[dep] += 1
        return counts

    def _run_group(self, record: StepRecord, members: list[str], remaining: dict[str, int]) -> None:
        item = self.graph.nodes[record.name]
        record.status = "running"
        record.started_at = utc_now().isoformat()
        record.cache_key = self.plan.keys[record.name]
        self.log.step_started(record.name, item.title)
        self.set_step(record.name)
        start = time.perf_counter()
        try:
            actions = [self._run_node(name, remaining) for name in members]
        except BaseException as exc:
            record.status = "failed"
            record.seconds = round(time.perf_counter() - start, 3)
            record.error = one_line(exc)
            self.log.step_finished(record)
            raise
        output = self.values[record.name]
        if not isinstance(output, StepOutput):
            raise EngineError(f"product '{record.name}' did not return a StepOutput")
        record.status = "succeeded"
        record.seconds = round(time.perf_counter() - start, 3)
        # reused: nothing cacheable had to be computed for it (its results came back by key)
        loaded = [a == LOAD for n, a in zip(members, actions, strict=True)]
        computed_cacheable = any(
            not was_loaded and self.graph.nodes[n].cache
            for n, was_loaded in zip(members, loaded, strict=True)
        )
        record.cached = any(loaded) and not computed_cacheable
        record.rows_read = output.rows_read
        record.rows_quarantined = output.rows_quarantined
        record.rows_written = output.rows_written
        record.notes = list(output.notes)
        self.log.step_finished(record)
        self.set_step(None)

    def _run_node(self, name: str, remaining: dict[str, int]) -> str:
        item = self.graph.nodes[name]
        key = self.plan.keys[name]
        action = self.plan.actions[name]
        start = time.perf_counter()
        if action == LOAD:
            hit = self.cache.load(name, key)
            if hit is None:
                raise EngineError(f"the step cache entry of '{name}' vanished during the run")
            value = decode(item.returns, *hit)
        else:
            value = item.fn(**self._arguments(name))
            self.cache.check()  # an earlier node's entry failed to write (a full disk): stop now
            if item.cache:
                self.cache.save(name, key, *encode(value))
            for dep in self.graph.deps[name]:  # free what no later node takes
                remaining[dep] -= 1
                if (
                    remaining[dep] == 0
                    and dep not in self.graph.products
                    and dep not in self.retain
                ):
                    self.values.pop(dep, None)
        self.values[name] = value
        entry = {
            "node": name,
            "action": "cached" if action == LOAD else "computed",
            "seconds": round(time.perf_counter() - start, 3),
            "peak_rss_mb": _peak_mb(),
        }
        self.nodes.append(entry)
        self.log.event("node_finished", **entry)
        return action

    def _arguments(self, name: str) -> dict[str, Any]:
        item = self.graph.nodes[name]
        deps = self.graph.deps[name]
        args: dict[str, Any] = {}
        for param in item.inputs:
            if param in self.roots:
                args[param] = self.roots[param]
            elif param == PRODUCTS:
                args[param] = {p: self.values[p] for p in deps if p in self.graph.products}
            elif param in deps:
                args[param] = self.values[param]
        return args


def one_line(exc: BaseException) -> str:
    from engine.errors import Interrupted

    if isinstance(exc, EngineError | Interrupted):
        return str(exc)
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
