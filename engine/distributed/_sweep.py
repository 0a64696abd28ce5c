"""Run a sweep: every point priced and allocated on a Dask worker, gathered into the store.

The driver reads the reference data and the extract once (validated, the base spec's quarantine
threshold applies) and broadcasts them to the workers; each point is one task, named by the sweep
and the point (`key=`), so the scheduler never runs the same point twice at once. As each point
finishes, the driver commits its rows to the store (`_sweep_store`): a sweep that stops — a failed
worker beyond Dask's retries, Ctrl-C, a killed driver — keeps every point it finished, and the
same sweep run again (same spec, inputs and code: the same fingerprint) computes only the others.
A worker that dies mid-point is replaced by Dask and its point recomputed elsewhere; a point that
finished is never computed again.

>>> from engine.distributed import load_sweep, run_sweep
>>> result = run_sweep(load_sweep("pipelines/sweep-copay.yaml"), scheduler="local")  # doctest: +SKIP
>>> result.totals.select("point", "allocated_uah", "coverage")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl

from engine.columns import MONEY
from engine.distributed._cluster import open_client
from engine.distributed._context import Scheduler
from engine.distributed._sweep_point import price_point
from engine.distributed._sweep_spec import SweepPoint, SweepSpec
from engine.distributed._sweep_store import (
    StoredSweep,
    find_sweep,
    finished_points,
    read_sweep_table,
    record_changes,
    record_point,
    stored_sweep,
    write_sweep_row,
)
from engine.pipeline._inputs import hash_inputs
from engine.pipeline._nodes import Reference
from engine.store import Store, StoreLock, code_hash, code_version, hash_json, hash_path, utc_now

__all__ = ["PointDone", "SweepResult", "run_sweep", "sweep_changes"]


@dataclass(frozen=True)
class PointDone:
    """Progress: a point finished and recorded (`done` of `total`)."""

    point: str
    label: str
    seconds: float
    worker: str
    done: int
    total: int

    def line(self) -> str:
        return (
            f"point {self.done}/{self.total} {self.point} ({self.label}) recorded: "
            f"{self.seconds:.1f} s on {self.worker}"
        )


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: what was computed now, what an earlier attempt had already recorded,
    and the stored tables."""

    sweep_id: str
    computed: tuple[str, ...]
    reused: tuple[str, ...]
    seconds: float
    stored: StoredSweep
    up_to_date: bool = False

    @property
    def totals(self) -> pl.DataFrame:
        return self.stored.totals

    @property
    def territories(self) -> pl.DataFrame:
        return self.stored.territories

    @property
    def changes(self) -> pl.DataFrame:
        return self.stored.changes


def _fingerprint(sweep: SweepSpec) -> tuple[str, list[dict[str, Any]]]:
    inputs = hash_inputs(sweep.base)
    files = {
        str(p): hash_path(p)["hash"]
        for point in sweep.points
        for p in (point.spec.scenario, point.spec.policy)
        if p is not None
    }
    value = {
        "sweep": hash_path(sweep.path)["hash"],
        "points": [p.settings() | {"name": p.name} for p in sweep.points],
        "base": sweep.base.parameters(),
        "inputs": {i["role"]: i["hash"] for i in inputs},
        "files": files,
        "code": code_hash(),
    }
    return hash_json(value), inputs


def sweep_changes(territories: pl.DataFrame, baseline: str) -> pl.DataFrame:
    """Per point and oblast: allocated and shortfall against the baseline point; an oblast
    `wins` (more money), `loses` or is `unchanged` (to the kopiyka)."""
    base = territories.filter(pl.col("point") == baseline).select(
        "oblast_code",
        base_allocated_uah="allocated_uah",
        base_shortfall_uah="shortfall_uah",
    )
    return (
        territories.join(base, on="oblast_code", how="left")
        .with_columns(
            allocated_change_uah=(
                pl.col("allocated_uah") - pl.col("base_allocated_uah").fill_null(0)
            ).cast(MONEY),
            shortfall_change_uah=(
                pl.col("shortfall_uah") - pl.col("base_shortfall_uah").fill_null(0)
            ).cast(MONEY),
        )
        .with_columns(
            outcome=pl.when(pl.col("allocated_change_uah") > 0)
            .then(pl.lit("wins"))
            .when(pl.col("allocated_change_uah") < 0)
            .then(pl.lit("loses"))
            .otherwise(pl.lit("unchanged")),
            baseline=pl.lit(baseline),
        )
        .select(
            "point",
            "baseline",
            "oblast_code",
            "allocated_uah",
            "allocated_change_uah",
            "shortfall_uah",
            "shortfall_change_uah",
            "outcome",
        )
        .sort("point", "oblast_code")
    )


def _read_inputs(sweep: SweepSpec, accept_quarantine: bool) -> tuple[Any, Reference]:
    """The extract and reference data, read and validated once (as the run's registry node)."""
    from engine.reference import load_services, load_territories
    from engine.registry import check_quarantine_threshold, read_registry

    base = sweep.base
    reference = Reference(
        load_territories(base.reference / "territories.csv"),
        load_services(base.reference / "services.csv"),
    )
    registry = read_registry(
        base.extract,
        extract_date=base.extract_date,
        territories=reference.territories,
        services_catalogue=reference.services,
        pseudonymise=base.pseudonymise,
    )
    check_quarantine_threshold(registry, base.quarantine_threshold, accept=accept_quarantine)
    return registry, reference


@contextlib.contextmanager
def _client(scheduler: Scheduler | str | None, client: Any) -> Iterator[Any]:
    if client is not None:
        yield client
        return
    chosen = scheduler if isinstance(scheduler, Scheduler) else Scheduler(scheduler or "local")
    with open_client(chosen) as opened:
        yield opened


def run_sweep(
    sweep: SweepSpec,
    *,
    scheduler: Scheduler | str | None = None,
    client: Any = None,
    store: Path | str | None = None,
    scratch: Path | str | None = None,
    force: bool = False,
    accept_quarantine: bool = False,
    on_point: Callable[[PointDone], None] | None = None,
) -> SweepResult:
    """Price and allocate every point of `sweep` on Dask (`scheduler`: "local", an address, or a
    `Scheduler`; or an open `client`), into the base spec's store (or `store`). A sweep already
    finished on the same inputs and code is not run again unless `force`; one that stopped is
    resumed. `on_point` hears of each point as it is recorded (progress). (Not run as a doctest:
    it starts a cluster; tests/distributed/ does.)

    >>> from engine.distributed import load_sweep
    >>> result = run_sweep(load_sweep("pipelines/sweep-copay.yaml"), scheduler="local")  # doctest: +SKIP
    >>> result.totals.height, result.computed[:2]  # doctest: +SKIP
    (10, ('p000', 'p001'))
    """
    if store is not None:
        sweep = sweep.with_store(Path(store))
    started = time.perf_counter()
    target = Store(sweep.base.store)
    fingerprint, inputs = _fingerprint(sweep)
    earlier = None if force else find_sweep(target, fingerprint)
    if earlier is not None and earlier["status"] == "succeeded":
        stored = stored_sweep(target, earlier["sweep_id"])
        return SweepResult(
            earlier["sweep_id"], (), tuple(stored.totals["point"]), 0.0, stored, True
        )
    sweep_id = earlier["sweep_id"] if earlier is not None else _new_id(sweep.name)
    lock = StoreLock(target.path, sweep_id).acquire()
    try:
        return _run_locked(
            sweep,
            sweep_id,
            fingerprint,
            inputs,
            target,
            scheduler=scheduler,
            client=client,
            scratch=scratch,
            started=started,
            accept_quarantine=accept_quarantine,
            on_point=on_point,
            earlier=earlier,
        )
    finally:
        lock.release()


def _new_id(name: str) -> str:
    now = dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%d-%H%M%S}-{name}-{secrets.token_hex(2)}"


def _run_locked(
    sweep: SweepSpec,
    sweep_id: str,
    fingerprint: str,
    inputs: list[dict[str, Any]],
    target: Store,
    *,
    scheduler: Scheduler | str | None,
    client: Any,
    scratch: Path | str | None,
    started: float,
    accept_quarantine: bool,
    on_point: Callable[[PointDone], None] | None,
    earlier: dict[str, Any] | None,
) -> SweepResult:
    manifest: dict[str, Any] = {
        "sweep_id": sweep_id,
        "name": sweep.name,
        "spec_path": str(sweep.path),
        "fingerprint": fingerprint,
        "status": "running",
        "started_at": earlier["started_at"] if earlier else str(utc_now()),
        "points": len(sweep.points),
        "baseline": sweep.baseline,
        "base_spec": str(sweep.base.path),
        "inputs": inputs,
        "code_version": code_version(),
        "settings": {p.name: p.settings() for p in sweep.points},
        "attempts": (earlier or {}).get("attempts", 0) + 1,
    }
    write_sweep_row(target, manifest)
    done = finished_points(target, sweep_id)
    pending = [p for p in sweep.points if p.name not in done]
    folder = Path(scratch) if scratch is not None else target.path.parent / "sweeps" / sweep_id
    folder.mkdir(parents=True, exist_ok=True)
    computed: list[str] = []
    try:
        if pending:
            with _client(scheduler, client) as dask_client:
                computed = _compute(
                    dask_client,
                    sweep=sweep,
                    sweep_id=sweep_id,
                    pending=pending,
                    target=target,
                    folder=folder,
                    accept_quarantine=accept_quarantine,
                    on_point=on_point,
                    already=len(done),
                )
        territories = read_sweep_table(target, sweep_id, "sweep_territories")
        record_changes(target, sweep_id, sweep_changes(territories, sweep.baseline))
    except BaseException as exc:
        manifest |= {
            "status": "failed",
            "error": str(exc).splitlines()[0] if str(exc) else repr(exc),
        }
        manifest |= {"finished": len(finished_points(target, sweep_id))}
        with contextlib.suppress(Exception):
            write_sweep_row(target, manifest)
        raise
    manifest |= {"status": "succeeded", "finished": len(sweep.points)}
    manifest |= {"finished_at": str(utc_now()), "seconds": round(time.perf_counter() - started, 3)}
    manifest["computed_now"] = computed
    write_sweep_row(target, manifest)
    return SweepResult(
        sweep_id=sweep_id,
        computed=tuple(computed),
        reused=tuple(sorted(done)),
        seconds=time.perf_counter() - started,
        stored=stored_sweep(target, sweep_id),
    )


def _compute(
    client: Any,
    *,
    sweep: SweepSpec,
    sweep_id: str,
    pending: list[SweepPoint],
    target: Store,
    folder: Path,
    accept_quarantine: bool,
    on_point: Callable[[PointDone], None] | None,
    already: int,
) -> list[str]:
    """Submit the pending points, record each as it finishes; the names computed, in order."""
    from distributed import as_completed

    registry, reference = _read_inputs(sweep, accept_quarantine)
    shared_registry, shared_reference = client.scatter([registry, reference], broadcast=True)
    del registry
    futures = {
        client.submit(
            _task,
            replace(point, spec=replace(point.spec, store=target.path)),
            shared_registry,
            shared_reference,
            folder,
            key=f"mfr-sweep-{sweep_id}-{point.name}",
            retries=2,
        ): point
        for point in pending
    }
    computed: list[str] = []
    try:
        _gather(
            futures,
            as_completed(futures, with_results=True),
            target,
            sweep_id,
            computed=computed,
            already=already,
            total=len(sweep.points),
            on_point=on_point,
        )
    finally:  # stopped (a failure, Ctrl-C): points not started yet are not started at all
        client.cancel([f for f in futures if not f.done()])
    return computed


def _gather(
    futures: dict[Any, SweepPoint],
    arriving: Any,
    target: Store,
    sweep_id: str,
    *,
    computed: list[str],
    already: int,
    total: int,
    on_point: Callable[[PointDone], None] | None,
) -> None:
    """Record each point as it arrives (one commit each), then tell `on_point`."""
    done = already
    for future, frames in arriving:
        point = futures[future]
        info = frames.pop("info")
        record = {"point": point.name, "label": point.label(), **point.settings(), **info}
        record_point(target, sweep_id, record, frames)
        done += 1
        computed.append(point.name)
        future.release()
        if on_point is not None:
            on_point(
                PointDone(point.name, point.label(), info["seconds"], info["worker"], done, total)
            )


def _task(point: SweepPoint, registry: Any, reference: Reference, folder: Path) -> dict[str, Any]:
    """On a worker: one point, and where it ran."""
    import os
    import socket

    started = time.perf_counter()
    frames: dict[str, Any] = dict(price_point(point, registry, reference, attempts=folder))
    frames["info"] = {
        "seconds": round(time.perf_counter() - started, 3),
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }
    return frames
