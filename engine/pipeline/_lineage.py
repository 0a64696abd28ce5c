"""Where each published table came from: the step that published it, the nodes it was computed
from, the inputs those read, and the hashes of each (`mfr show RUN --lineage`).

A run records in its manifest (`outputs.table_hashes`, `outputs.lineage`) each published table's
content hash (`engine.store.table_hash`: row order does not matter), which product published it,
and every node of its graph with the nodes it takes, the inputs it reads and its key (the hash of
its code, parameters, input files and upstream keys: the same key, the same result).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import polars as pl

from engine.pipeline._graph import Graph
from engine.pipeline._plan import Plan
from engine.pipeline._step import StepOutput
from engine.store import RunManifest, table_hash
from engine.store._tablehash import TABLE_HASH_METHOD

__all__ = ["TableHashes", "lineage_outputs", "render_lineage", "table_lineage"]


class TableHashes:
    """The published tables' content hashes, computed on a thread of their own while the caller
    writes the exports and the store (numpy, polars and DuckDB release the GIL, so the two share
    the machine's cores); `result()` waits for them. `close()` stops after the table being hashed
    (a failed or interrupted run does not wait for the rest) and joins the thread."""

    def __init__(self, tables: Mapping[str, pl.DataFrame]) -> None:
        # Each its own clone (the columns are shared, not copied): polars deadlocks when one
        # thread reads a frame's schema while another converts the same frame object to Arrow
        # (`to_arrow` holds the frame's lock across a GIL release), which the store's append does.
        self._tables = {name: frame.clone() for name, frame in tables.items()}
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mfr-table-hash")
        self._future: Future[dict[str, str]] = self._pool.submit(self._hash_all)

    def _hash_all(self) -> dict[str, str]:
        hashes: dict[str, str] = {}
        # the largest first: what is left when the store's appends end is then small
        for name in sorted(self._tables, key=lambda t: -self._tables[t].height):
            if self._stop.is_set():
                break
            hashes[name] = table_hash(self._tables[name])
        return dict(sorted(hashes.items()))

    def result(self) -> dict[str, str]:
        return self._future.result()

    def close(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> TableHashes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def lineage_outputs(
    graph: Graph,
    plan: Plan | None,
    outputs: Mapping[str, StepOutput],
    tables: Mapping[str, pl.DataFrame],
    hashes: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What a run's manifest keeps of its tables' lineage: `table_hashes` and `lineage`
    (`hashes`: the tables' hashes if already computed, e.g. by `TableHashes`)."""
    keys: Mapping[str, str] = plan.keys if plan is not None else {}
    actions: Mapping[str, str] = plan.actions if plan is not None else {}
    published_by = {
        table: name
        for name in graph.products
        if name in outputs
        for table in outputs[name].publish.values()
    }
    nodes = {
        name: {
            "deps": list(graph.deps[name]),
            "reads": list(graph.nodes[name].reads),
            "params": list(graph.nodes[name].params),
            "key": keys.get(name),
            "action": actions.get(name, "not needed"),
        }
        for name in graph.order
    }
    return {
        "table_hashes": (
            {t: hashes[t] for t in sorted(tables)}
            if hashes is not None
            else {t: table_hash(tables[t]) for t in sorted(tables)}
        ),
        "table_hash_method": TABLE_HASH_METHOD,
        "lineage": {"tables": dict(sorted(published_by.items())), "nodes": nodes},
    }


def _upstream(nodes: Mapping[str, Any], name: str) -> list[str]:
    """`name` and every node it was computed from, inputs first (the graph's order)."""
    found: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current in found or current not in nodes:
            continue
        found.add(current)
        pending.extend(nodes[current]["deps"])
    return [n for n in nodes if n in found]


def table_lineage(manifest: RunManifest) -> list[dict[str, Any]]:
    """Each published table of a run: its rows and hash, the step that published it, the nodes it
    came from (with their keys) and the inputs they read (with their hashes). Empty for a run
    recorded before lineage was kept."""
    lineage = manifest.outputs.get("lineage") or {}
    nodes: Mapping[str, Any] = lineage.get("nodes", {})
    hashes = manifest.outputs.get("table_hashes", {})
    rows = manifest.outputs.get("tables", {})
    inputs = {i["role"]: i for i in manifest.inputs}
    found = []
    for table, product in lineage.get("tables", {}).items():
        upstream = _upstream(nodes, product)
        roles = sorted({r for n in upstream for r in nodes[n]["reads"] if r in inputs})
        found.append(
            {
                "table": table,
                "rows": rows.get(table),
                "sha256": hashes.get(table),
                "step": product,
                "nodes": [{"node": n, "key": nodes[n]["key"]} for n in upstream],
                "inputs": [
                    {"role": r, "path": inputs[r]["path"], "sha256": inputs[r]["hash"]}
                    for r in roles
                ],
            }
        )
    return found


def render_lineage(manifest: RunManifest) -> list[str]:
    """`mfr show RUN --lineage` as lines: per table its hash, step, nodes and inputs."""
    found = table_lineage(manifest)
    if not found:
        return [f"run {manifest.run_id} has no recorded lineage (it ran before lineage was kept)"]
    lines = [
        f"Lineage of run {manifest.run_id} ({len(found)} tables; hashes are sha256, "
        "a node's is its cache key)"
    ]
    for item in found:
        count = item["rows"]
        rows = "rows unknown" if count is None else f"{count:,} row{'' if count == 1 else 's'}"
        lines.append(f"{item['table']}  {rows}  sha256 {(item['sha256'] or '?')[:16]}")
        lines.append(f"  step    {item['step']}")
        chain = ", ".join(f"{n['node']} {(n['key'] or '?')[:12]}" for n in item["nodes"])
        lines.append(f"  nodes   {chain}")
        shown = ", ".join(f"{i['role']} {i['sha256'][:12]}" for i in item["inputs"]) or "-"
        lines.append(f"  inputs  {shown}")
    return lines
