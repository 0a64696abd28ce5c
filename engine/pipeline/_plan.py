"""What a run will do before it does it: each node's cache key and whether it is computed, read
back from the step cache, or not needed; `mfr run --dry-run` prints this plan.

A node is needed when a product the spec asks for takes it, directly or through nodes that are
computed. A needed node with a cache entry under its key is read back (its own inputs are then not
needed); otherwise it is computed. `--force` computes every needed node, `--only NODE` that node
and what depends on it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from engine.pipeline._graph import Graph, Node
from engine.pipeline._step import StepDef
from engine.store import StepCache, hash_json

__all__ = [
    "COMPUTE",
    "LOAD",
    "Catalogue",
    "Plan",
    "cache_keys",
    "has_entry",
    "make_plan",
    "plan_of",
    "recompute_set",
    "render_plan",
]

COMPUTE, LOAD = "compute", "load"


@dataclass(frozen=True)
class Plan:
    """Each needed node's action (`compute` or `load`) and key, in the graph's order."""

    graph: Graph
    actions: Mapping[str, str]
    keys: Mapping[str, str]

    def computes(self, name: str) -> bool:
        """Whether this run computes node `name` (a node may size its work by its consumers)."""
        return self.actions.get(name) == COMPUTE

    @property
    def steps(self) -> list[str]:
        return [n for n in self.graph.order if n in self.actions]


def cache_keys(
    graph: Graph,
    *,
    code: str,
    parameters: Mapping[str, Any],
    input_hashes: Mapping[str, str | None],
    accept_quarantine: bool,
) -> dict[str, str]:
    """Every node's cache key: its name, the code, its declared parameters and input files, and
    its inputs' keys (so a change upstream is a new key downstream)."""
    keys: dict[str, str] = {}
    for name in graph.order:
        item = graph.nodes[name]
        keys[name] = hash_json(
            {
                "step": name,
                "code": code,
                "params": {p: parameters.get(p) for p in item.params},
                "accept_quarantine": (
                    accept_quarantine if "quarantine_threshold" in item.params else None
                ),
                "inputs": _read_hashes(item.reads, input_hashes),
                "upstream": {u: keys[u] for u in graph.deps[name]},
            }
        )
    return keys


def _read_hashes(reads: tuple[str, ...], input_hashes: Mapping[str, str | None]) -> dict[str, Any]:
    """The hashes of the input roles a node reads; `prefix*` names every role starting so."""
    out: dict[str, Any] = {}
    for role in reads:
        if role.endswith("*"):
            out |= {r: h for r, h in sorted(input_hashes.items()) if r.startswith(role[:-1])}
        else:
            out[role] = input_hashes.get(role)
    return out


def has_entry(cache: StepCache, name: str, key: str) -> bool:
    """Whether the step cache holds node `name` under `key` (without reading its frames)."""
    meta = cache.file(name, key, "meta").with_name("meta.json")
    try:
        return bool(json.loads(meta.read_text(encoding="utf-8")).get("key") == key)
    except (OSError, ValueError):
        return False


def plan_of(
    graph: Graph,
    cache: StepCache,
    *,
    code: str,
    parameters: Mapping[str, Any],
    inputs: list[dict[str, Any]],
    accept_quarantine: bool,
    force: bool = False,
    recompute: Collection[str] = (),
) -> Plan:
    """The plan of a run from what identifies it: code hash, parameters and input hashes (the
    same keys for `mfr run --dry-run` and the run itself)."""
    keys = cache_keys(
        graph,
        code=code,
        parameters=parameters,
        input_hashes={i["role"]: i["hash"] for i in inputs},
        accept_quarantine=accept_quarantine,
    )
    return make_plan(graph, keys, cache, force=force, recompute=recompute)


def make_plan(
    graph: Graph,
    keys: Mapping[str, str],
    cache: StepCache,
    *,
    force: bool = False,
    recompute: Collection[str] = (),
) -> Plan:
    """Which needed node is computed and which read from the cache (see the module docstring)."""
    actions: dict[str, str] = {}
    wanted = set(graph.products)
    for name in reversed(graph.order):  # every node before the nodes it takes
        if name not in wanted:
            continue
        item = graph.nodes[name]
        fresh = force or name in recompute or not item.cache
        if not fresh and has_entry(cache, name, keys[name]):
            actions[name] = LOAD
        else:
            actions[name] = COMPUTE
            wanted.update(graph.deps[name])
    return Plan(graph, {n: actions[n] for n in graph.order if n in actions}, dict(keys))


def render_plan(plan: Plan) -> list[str]:
    """The plan as lines for a person: each node, what happens to it, what is published."""
    graph = plan.graph
    width = max(len(n) for n in plan.steps)
    lines = [f"Plan: {len(plan.steps)} nodes, in order ('*' = a product the spec asks for)"]
    for name in plan.steps:
        item = graph.nodes[name]
        action = plan.actions[name]
        what = "cached: read back" if action == LOAD else "compute"
        if action == COMPUTE and item.cache:
            what += " (then cached)"
        mark = "*" if name in graph.products else " "
        title = f"  {item.title}" if item.title else ""
        lines.append(f"  {mark} {name:<{width}}  {what:<24}{title}")
    published = []
    for name in graph.products:
        tables = graph.nodes[name].publishes
        shown = "tables known when it has run" if tables is None else ", ".join(tables) or "-"
        published.append(f"{name}: {shown}")
    skipped = [n for n in graph.order if n not in plan.actions]
    if skipped:
        lines.append(f"Not needed (inputs of cached nodes): {', '.join(skipped)}")
    lines.append("Would publish: " + ("; ".join(published) if published else "nothing"))
    lines.append("Nothing was run or written (--dry-run).")
    return lines


Catalogue = Mapping[str, Node | StepDef]


def recompute_set(graph: Graph, only: str | None) -> set[str]:
    """The nodes `--only NODE` recomputes: it and its descendants (none without `--only`)."""
    return graph.descendants(only) if only is not None else set()
