"""Run a spec from `pipelines/` end to end: extract → entitlements → need → forecast → allocation.

>>> from engine.pipeline import load_spec, run_pipeline
>>> result = run_pipeline(load_spec("pipelines/nightly.yaml"))  # doctest: +SKIP
>>> result.manifest.status, result.run_id  # doctest: +SKIP

- `load_spec` — strict loader of run specs (`ConfigError` with file and line).
- `run_pipeline` — the runner: atomic, idempotent, locked, incremental (see `_runner`);
  `only=NODE` recomputes a node and what depends on it.
- `plan_run` — what a run would do (`mfr run --dry-run`): each node, cached or computed.
- `reproduce_run` — rerun a past run from the inputs its store kept and compare every table
  (`mfr reproduce`); `table_lineage` — where each published table came from (`mfr show --lineage`).
- `STEPS` — the engine's node catalogue: plain typed functions whose parameter names are their
  inputs (`node`, `product`; see `_graph`). A test or a notebook can run its own nodes, or steps
  written as `StepContext -> StepOutput` (`StepDef`), through the same runner.
"""

from __future__ import annotations

from engine.pipeline._graph import Graph, Node, node, product
from engine.pipeline._lineage import table_lineage
from engine.pipeline._load import load_spec
from engine.pipeline._logging import RunLog, render_manifest, render_runs, render_summary
from engine.pipeline._plan import Plan, render_plan
from engine.pipeline._reproduce import Reproduction, reproduce_run
from engine.pipeline._runner import RunInterruptedError, plan_run, run_pipeline
from engine.pipeline._spec import DEFAULT_STORE, RunSpec, resolve_months
from engine.pipeline._step import RunResult, StepContext, StepDef, StepOutput
from engine.pipeline._steps import STEPS

__all__ = [
    "DEFAULT_STORE",
    "STEPS",
    "Graph",
    "Node",
    "Plan",
    "Reproduction",
    "RunInterruptedError",
    "RunLog",
    "RunResult",
    "RunSpec",
    "StepContext",
    "StepDef",
    "StepOutput",
    "load_spec",
    "node",
    "plan_run",
    "product",
    "render_manifest",
    "render_plan",
    "render_runs",
    "render_summary",
    "reproduce_run",
    "resolve_months",
    "run_pipeline",
    "table_lineage",
]
