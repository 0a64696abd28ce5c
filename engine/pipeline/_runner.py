"""Run a spec's steps with the guarantees a scheduled job needs.

- atomic: steps compute in memory (and the step cache); results reach the store in ONE transaction
  with the run's `succeeded` status, and the Parquet exports appear by one folder rename after it.
  A failure, SIGTERM or SIGKILL before that commit leaves nothing of the run visible; a kill after
  it is finished by the next run, which rebuilds a committed run's missing exports from the store;
- interruptible: SIGTERM/SIGINT stop the run (exit 143/130, recorded in its manifest) except inside
  the commit, which they let finish; disk-full and read-only faults are one-line errors (exit 3);
- idempotent: a run whose fingerprint (spec, input contents, models, code) matches a succeeded run
  is recognised and not repeated (unless forced);
- concurrent: one run per store at a time (`StoreLock`); the second gets `RunLockedError`;
- incremental: a node whose cache key (its inputs' hashes, parameters, code and upstream keys) has
  been computed before is read back from the step cache instead of recomputed, and what only it
  needed is not computed at all (`_plan`).

Nodes are plain typed functions (`_graph`); each runs at most once per run (`_execute`). The
runner owns all I/O around them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console

from engine.errors import EngineError, ExitCode, Interrupted
from engine.pipeline._execute import Execution, RunFacts, one_line
from engine.pipeline._exports import complete_exports
from engine.pipeline._graph import Graph
from engine.pipeline._inputs import hash_inputs, record_inputs
from engine.pipeline._interrupts import (
    RunInterruptedError,
    RunSignals,
    as_machine_fault,
    exit_code_of,
    fault_hook,
    guarded_writer,
)
from engine.pipeline._lineage import TableHashes, lineage_outputs
from engine.pipeline._logging import EventHook, RunLog
from engine.pipeline._nodes import Reference
from engine.pipeline._plan import Catalogue, Plan, plan_of, recompute_set
from engine.pipeline._spec import RunSpec
from engine.pipeline._step import RunResult, StepOutput
from engine.store import (
    RunExports,
    RunManifest,
    StepCache,
    StepRecord,
    Store,
    StoreLock,
    Writer,
    code_hash,
    code_version,
    hash_json,
    hash_path,
    recover_exports,
    utc_now,
    write_parquet,
)

__all__ = ["RunInterruptedError", "plan_run", "run_pipeline"]


def _new_run_id(name: str) -> str:
    now = dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%d-%H%M%S}-{name}-{secrets.token_hex(2)}"


def run_graph(spec: RunSpec, steps: Catalogue | None) -> Graph:
    """The graph of `spec`'s steps over `steps` (default: the engine's catalogue, imported here:
    the catalogue's nodes import the plan)."""
    if steps is None:
        from engine.pipeline._steps import STEPS

        steps = STEPS
    return Graph(steps, spec.steps, spec, path=spec.path)


def plan_run(
    spec: RunSpec,
    *,
    steps: Catalogue | None = None,
    force: bool = False,
    accept_quarantine: bool = False,
    only: str | None = None,
) -> Plan:
    """What `run_pipeline` would do now, without doing it (`mfr run --dry-run`): every node in
    order, read back from the step cache or computed, and what is published. Reads the inputs to
    hash them; writes nothing, takes no lock."""
    graph = run_graph(spec, steps)
    return plan_of(
        graph,
        StepCache(spec.cache_dir, keep=spec.cache_keep),
        code=code_hash(),
        parameters={**spec.parameters(), "accept_quarantine": accept_quarantine},
        inputs=hash_inputs(spec),
        accept_quarantine=accept_quarantine,
        force=force,
        recompute=recompute_set(graph, only),
    )


def run_pipeline(
    spec: RunSpec,
    *,
    steps: Catalogue | None = None,
    force: bool = False,
    accept_quarantine: bool = False,
    only: str | None = None,
    writer: Writer = write_parquet,
    console: Console | None = None,
    progress: bool | None = None,
    on_event: EventHook | None = None,
) -> RunResult:
    """Run a spec end to end into its store; raise the run's error after recording it as failed.

    `steps` replaces the engine's node catalogue (tests inject their own); `only` recomputes that
    node and every node depending on it, the rest coming from the step cache where it can (the
    run still publishes every product of the spec); `writer` writes every Parquet file (tests
    inject a failing one to simulate a full disk).

    >>> import io, tempfile
    >>> from rich.console import Console
    >>> import engine
    >>> store = f"{tempfile.mkdtemp()}/mfr.duckdb"
    >>> spec = engine.load_spec("pipelines/nightly.yaml").with_overrides(store=store)
    >>> result = run_pipeline(spec, progress=False, console=Console(file=io.StringIO()))
    >>> result.manifest.status, result.reused
    ('succeeded', False)
    """
    graph = run_graph(spec, steps)
    recompute = recompute_set(graph, only)
    run_id = _new_run_id(spec.name)
    log_path = spec.logs_dir / f"{run_id}.jsonl"
    try:
        with RunLog(log_path, run_id, console=console, progress=progress, on_event=on_event) as log:
            return _run_logged(
                spec,
                graph,
                run_id,
                log,
                force=force,
                recompute=recompute,
                accept_quarantine=accept_quarantine,
                writer=writer,
            )
    except OSError as exc:  # the log, the lock, the run folders, before the run was recorded
        raise as_machine_fault(
            exc, f"run {run_id} did not start and earlier runs are intact", spec.store.parent
        ) from None


def _run_logged(
    spec: RunSpec,
    graph: Graph,
    run_id: str,
    log: RunLog,
    *,
    force: bool,
    recompute: set[str],
    accept_quarantine: bool,
    writer: Writer,
) -> RunResult:
    with RunSignals(log, run_id) as signals:
        log.event(
            "run_requested",
            spec=str(spec.path),
            store=str(spec.store),
            force=force,
            only=sorted(recompute) or None,
        )
        try:
            inputs = hash_inputs(spec)
        except EngineError as exc:
            log.event("run_failed", level="error", error=str(exc), exit_code=int(exc.exit_code))
            raise
        parameters = {**spec.parameters(), "accept_quarantine": accept_quarantine}
        code = code_hash()
        fingerprint = hash_json(
            {
                "parameters": parameters,
                "inputs": {i["role"]: i["hash"] for i in inputs},
                "code": code,
            }
        )
        manifest = RunManifest(
            run_id=run_id,
            spec_name=spec.name,
            spec_path=str(spec.path),
            spec_hash=hash_path(spec.path)["hash"],
            fingerprint=fingerprint,
            code_version=code_version(),
            code_hash=code,
            inputs=inputs,
            parameters=parameters,
            started_at=utc_now(),
            steps=[StepRecord(name=name) for name in graph.products],
            pid=os.getpid(),
            host=socket.gethostname(),
            forced=force,
        )
        run = _Run(
            spec=spec,
            graph=graph,
            recompute=recompute,
            manifest=manifest,
            store=Store(spec.store),
            cache=StepCache(
                spec.cache_dir,
                guarded_writer(writer, run_id),
                keep=spec.cache_keep,
                background=True,  # written while the next steps run; flushed before publishing
            ),
            exports=RunExports(spec.runs_dir, run_id, guarded_writer(writer, run_id)),
            log=log,
            force=force,
            accept_quarantine=accept_quarantine,
            signals=signals,
            writer=guarded_writer(writer, run_id),
        )
        try:
            lock = StoreLock(spec.store, run_id).acquire()
        except EngineError as exc:
            log.event("run_locked", level="error", error=str(exc))
            raise
        try:
            if lock.stale_holder:
                log.event("stale_lock_taken_over", level="warning", previous=lock.stale_holder)
            return run.execute()
        except Interrupted as exc:
            if not run.recorded:  # stopped before the run was recorded: still say so in the log
                log.event("run_failed", level="error", error=str(exc), exit_code=int(exc.exit_code))
            raise
        finally:
            lock.release()


@dataclass
class _Run:
    """One run, holding the lock: recover, check for an identical run, run steps, publish."""

    spec: RunSpec
    graph: Graph
    recompute: set[str]  # --only: these nodes are computed again, whatever the cache holds
    manifest: RunManifest
    store: Store
    cache: StepCache
    exports: RunExports
    log: RunLog
    force: bool
    accept_quarantine: bool
    signals: RunSignals
    writer: Writer
    outputs: dict[str, StepOutput] = field(default_factory=dict)
    plan: Plan | None = None
    nodes: list[dict[str, Any]] = field(default_factory=list)
    _dimensions: tuple[pl.DataFrame, pl.DataFrame] | None = None  # the run's reference tables
    recorded: bool = False  # the run's row is in the store: a failure must update it
    committed: bool = False  # its results are committed: it stands as succeeded, come what may

    def execute(self) -> RunResult:
        self._recover()
        if not self.force and not self.recompute:
            identical = self.store.find_identical(self.manifest.fingerprint)
            if identical is not None:
                self.log.event("up_to_date", same_as=identical.run_id)
                self.store.mark_current(identical.run_id)  # it is its spec's latest again
                return RunResult(manifest=self._with_exports(identical), reused=True)
        try:
            with self.signals.critical():  # the row is written whole, then a signal may stop us
                self.store.begin_run(self.manifest)
                self.recorded = True
            record_inputs(self.store, self.spec, self.manifest)  # what it read, for `reproduce`
            self.log.event(
                "run_started", fingerprint=self.manifest.fingerprint, inputs=self.manifest.inputs
            )
            self.exports.open()
            self._run_nodes()
            self._finish()
        except BaseException as raised:
            exc = raised
            if self.committed:
                raise self._unfinished_exports(exc) from None
            received = self.signals.received
            if received is not None and not isinstance(exc, Interrupted):
                exc = self.signals.interrupted(received)  # a library re-raised it as its own error
            where = f"step '{self.signals.step}' stopped; " if self.signals.step else ""
            failure = as_machine_fault(
                exc,
                f"{where}run {self.manifest.run_id} published nothing and earlier runs are intact",
                self.spec.store.parent,
            )
            with self.signals.critical(deliver=False):  # a second Ctrl-C must not skip the record
                self._fail(failure)
            if failure is raised:
                raise
            raise failure from None
        return RunResult(manifest=self.manifest, reused=False, outputs=self.outputs)

    def _recover(self) -> None:
        """Clean up after runs that were killed: we hold the lock, so nothing else is running."""
        store, log, runs_dir = self.store, self.log, self.spec.runs_dir
        store.check()
        for run_id in store.mark_interrupted():
            log.event("interrupted_run_marked_failed", level="warning", interrupted_run=run_id)

        def committed(run_id: str) -> RunManifest | None:
            try:
                manifest = store.manifest(run_id)
            except EngineError:
                return None
            return manifest if manifest.status == "succeeded" else None

        staged = (
            [p.name.removeprefix(".staging-") for p in runs_dir.glob(".staging-*")]
            if runs_dir.is_dir()
            else []
        )
        found = {r: committed(r) for r in staged}
        done = {r: m for r, m in found.items() if m is not None}
        for run_id in recover_exports(runs_dir, done):
            log.event("staged_exports_recovered", level="warning", staged_run=run_id)
        for manifest in done.values():  # finished by the rename: complete unless damaged since
            self._with_exports(manifest)
        self.cache.clear_staging()

    def _with_exports(self, manifest: RunManifest) -> RunManifest:
        """A committed run whose exports are complete: rebuilt from the store where they are not."""
        return complete_exports(self.store, manifest, self.spec, self.writer, self.log)

    def _run_nodes(self) -> None:
        manifest = self.manifest
        self.plan = plan_of(
            self.graph,
            self.cache,
            code=manifest.code_hash,
            parameters=manifest.parameters,
            inputs=manifest.inputs,
            accept_quarantine=self.accept_quarantine,
            force=self.force,
            recompute=self.recompute,
        )
        self.log.event("run_planned", nodes=dict(self.plan.actions))
        run = RunFacts.of(manifest, self.exports.staging, self.accept_quarantine)
        execution = Execution(
            self.plan,
            self.cache,
            {"spec": self.spec, "run": run, "plan": self.plan},
            self.log,
            self._set_step,
        )
        try:
            try:
                execution.run({r.name: r for r in manifest.steps})
            except BaseException:
                # the entries of the nodes that finished are good: let them land (or fail) whole
                self.cache.flush(raise_errors=False)
                raise
            # every entry written before anything is published (exports hard-link cache files)
            self.cache.flush()
        finally:
            self.outputs = execution.products()
            self.nodes = execution.nodes
            reference = execution.values.get("reference")
            if isinstance(reference, Reference):  # the store's dimension tables come from it
                self._dimensions = (reference.territories, reference.services)

    def _set_step(self, name: str | None) -> None:
        self.signals.step = name

    def _tables(self) -> tuple[dict[str, pl.DataFrame], dict[str, Path]]:
        """Published tables, and for each the step-cache file already holding it (if cached)."""
        assert self.plan is not None
        tables: dict[str, pl.DataFrame] = {}
        cached: dict[str, Path] = {}
        for name in self.graph.products:
            output = self.outputs[name]
            for frame_name, table in output.publish.items():
                if table in tables:
                    raise EngineError(f"two steps publish the same table '{table}'")
                tables[table] = output.frames[frame_name]
                if self.graph.nodes[name].cache:
                    cached[table] = self.cache.file(name, self.plan.keys[name], frame_name)
        return tables, cached

    def _finish(self) -> None:
        spec, manifest, exports, log = self.spec, self.manifest, self.exports, self.log
        tables, cached = self._tables()
        wanted = set(tables) if spec.exports is None else set(spec.exports) & set(tables)
        # The tables' hashes and the exports are written on threads of their own while the store
        # is written; the manifest takes the hashes, and waits for the exports, before the commit.
        with TableHashes(tables) as hashes:
            staged = exports.write_many({t: tables[t] for t in sorted(wanted)}, cached)

            manifest.status = "succeeded"
            manifest.finished_at = utc_now()
            manifest.exit_code = int(ExitCode.OK)
            manifest.summary = [
                note for name in self.graph.products for note in self.outputs[name].notes
            ]
            manifest.outputs = {
                "store": str(spec.store),
                "exports": str(exports.final),
                "log": str(log.path),
                "tables": {t: f.height for t, f in tables.items()},
                # what the export folder holds, so it can be checked and rebuilt from the store
                "exported": {t: tables[t].columns for t in sorted(wanted)},
                "nodes": self.nodes,  # every node's action, time and the peak memory so far
            }
            for output in self.outputs.values():
                if "rows_read" in output.meta:
                    manifest.outputs["rows_read"] = dict(output.meta["rows_read"])
                if "report" in output.meta:  # a file the step wrote into the run's folder
                    manifest.outputs["report"] = str(exports.final / output.meta["report"])

            def hashed() -> None:
                """The manifest with the tables' hashes and lineage, staged with the exports
                before the store commits (a kill after the commit finds it complete)."""
                staged.result()  # every export written (a failure rolls the store back)
                log.event("exports_staged", tables=sorted(wanted))
                lineage = lineage_outputs(
                    self.graph, self.plan, self.outputs, tables, hashes.result()
                )
                found = manifest.outputs
                later: dict[str, Any] = {
                    k: found.pop(k) for k in ("rows_read", "report") if k in found
                }
                manifest.outputs = {**found, **lineage, **later}  # in the order it always had
                exports.write_text("manifest.json", manifest.to_json())

            def published(table: str, rows: int) -> None:
                log.event("table_published", table=table, rows=rows)

            # The store's commit makes the run visible; the folder rename follows. A signal now
            # waits for both rather than leave a committed run without its exports (a kill cannot
            # wait: the next run finishes the rename or rebuilds the folder from the store).
            with self.signals.critical(deliver=False):
                self.store.publish(
                    manifest,
                    tables,
                    on_table=published,
                    reference=self._dimensions,
                    before_commit=hashed,
                )
                self.committed = True
                log.event("run_committed")
                fault_hook("after_commit")
                exports.write_text("manifest.json", manifest.to_json())  # with its final end time
                exports.commit()
        log.event("run_succeeded", seconds=manifest.seconds, tables=manifest.outputs["tables"])

    def _unfinished_exports(self, exc: BaseException) -> BaseException:
        """A fault after the commit (the disk filled while the folder was finished): the run is
        in the store and stays succeeded; its staged folder is completed by the next run."""
        with contextlib.suppress(OSError):  # the log may be what failed
            self.log.event("exports_not_finished", level="error", error=one_line(exc))
        return as_machine_fault(
            exc,
            f"run {self.manifest.run_id} is committed to the store, but its export folder could "
            "not be finished; the next mfr run completes it",
            self.exports.final,
        )

    def _fail(self, exc: BaseException) -> None:
        manifest, log = self.manifest, self.log
        manifest.status = "failed"
        manifest.finished_at = utc_now()
        manifest.error = one_line(exc)
        manifest.exit_code = exit_code_of(exc)
        for record in manifest.steps:
            if record.status == "running":
                record.status = "failed"
        self.exports.discard()
        try:
            if self.recorded:
                self.store.finish_failed(manifest)
        except Exception as store_exc:  # e.g. the disk is still full: the log keeps the story
            log.event("failed_run_not_recorded", level="error", error=one_line(store_exc))
        failed_step = next((s.name for s in manifest.steps if s.status == "failed"), None)
        log.event(
            "run_failed",
            level="error",
            error=manifest.error,
            exit_code=manifest.exit_code,
            step=failed_step,
            seconds=manifest.seconds,
            log=str(log.path),
        )
