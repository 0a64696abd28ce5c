"""Scenario sweeps on a LocalCluster: each point is what a single run of its spec gives; a
worker killed mid-sweep loses no point and computes none twice; a stopped sweep resumes with
only the points it had not recorded."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import engine
from engine.distributed import load_sweep, run_sweep
from engine.distributed._sweep import PointDone
from engine.distributed._sweep_point import price_point
from engine.pipeline._nodes import Reference
from engine.reference import load_services, load_territories

REPO = Path(__file__).resolve().parents[2]
SWEEP = REPO / "pipelines" / "sweep-copay.yaml"
_TIMING = ["seconds"]  # what differs between two computations of the same point


@pytest.fixture(scope="module")
def reference_sweep(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The sweep of pipelines/sweep-copay.yaml (10 points), uninterrupted."""
    store = tmp_path_factory.mktemp("sweep") / "mfr.duckdb"
    return run_sweep(load_sweep(SWEEP), client=client, store=store)


def _attempts(store: Path, sweep_id: str) -> Counter[str]:
    lines = (store.parent / "sweeps" / sweep_id / "attempts.jsonl").read_text().splitlines()
    return Counter(json.loads(line)["point"] for line in lines)


def test_the_sweep_spec_names_its_mistakes(tmp_path: Path) -> None:
    bad = tmp_path / "pipelines" / "sweep-bad.yaml"
    bad.parent.mkdir()
    bad.write_text(
        f"name: bad\nbase: {REPO / 'pipelines' / 'nightly.yaml'}\n"
        "grid:\n  envelope: ['85%']\n  tariff: [1.1]\n"
    )
    with pytest.raises(engine.ConfigError, match=r"sweep-bad.yaml, line 5: unknown key 'tariff'"):
        load_sweep(bad)


def test_every_point_is_recorded_once_with_its_results(reference_sweep: Any) -> None:
    totals = reference_sweep.totals
    assert totals["point"].to_list() == [f"p{i:03d}" for i in range(10)]
    assert reference_sweep.stored.points["point"].is_unique().all()
    assert reference_sweep.stored.manifest["status"] == "succeeded"
    # more envelope, more coverage; the allocation is exact: never more than the envelope
    for scenario in (None, "models/scenarios/copay-threshold-3.yaml"):
        same = totals.filter(pl.col("scenario").eq_missing(scenario)).sort("envelope_uah")
        assert same["coverage"].is_sorted()
        assert (same["allocated_uah"] <= same["envelope_uah"]).all()
    changes = reference_sweep.changes
    assert changes.filter(pl.col("point") == "p000")["outcome"].unique().to_list() == ["unchanged"]
    assert set(changes.filter(pl.col("point") == "p009")["outcome"]) == {"wins"}


def test_ten_points_equal_ten_single_computations(reference_sweep: Any) -> None:
    """Each point computed in this process from the same registry gives the same rows."""
    sweep = load_sweep(SWEEP)
    base = sweep.base
    reference = Reference(
        load_territories(base.reference / "territories.csv"),
        load_services(base.reference / "services.csv"),
    )
    registry = engine.read_registry(
        base.extract, territories=reference.territories, services_catalogue=reference.services
    )
    for point in sweep.points:
        single = price_point(point, registry, reference)
        stored = reference_sweep.totals.filter(pl.col("point") == point.name)
        assert_frame_equal(
            stored.drop("sweep_id", *_TIMING), single["totals"].drop(*_TIMING), check_dtypes=False
        )
        territories = reference_sweep.territories.filter(pl.col("point") == point.name)
        assert_frame_equal(
            territories.drop("sweep_id"),
            single["territories"].with_columns(pl.col("oblast_code").cast(pl.String)),
            check_dtypes=False,
        )


@pytest.mark.parametrize("name", ["p000", "p007"])
def test_a_point_equals_the_single_run_of_its_spec(
    reference_sweep: Any, name: str, tmp_path: Path
) -> None:
    """`mfr run` of the point's spec (scenario, envelope) allocates the same money per oblast."""
    point = next(p for p in load_sweep(SWEEP).points if p.name == name)
    spec = dataclasses.replace(
        point.spec.with_overrides(store=tmp_path / "mfr.duckdb"),
        steps=("validate", "entitle", "allocate"),
    )
    run = engine.run_pipeline(spec, progress=False)
    store = engine.Store(spec.store)
    group = store.table("allocation_by_group", run.manifest.run_id)
    totals = reference_sweep.totals.filter(pl.col("point") == name).row(0, named=True)
    assert group["allocated_uah"].sum() == totals["allocated_uah"]
    assert group["envelope_uah"].sum() == totals["envelope_uah"]
    by_oblast = (
        store.table("allocation_by_territory", run.manifest.run_id)
        .group_by("oblast_code")
        .agg(pl.col("allocated_uah").sum())
        .sort("oblast_code")
    )
    swept = reference_sweep.territories.filter(pl.col("point") == name).sort("oblast_code")
    assert by_oblast["allocated_uah"].to_list() == swept["allocated_uah"].to_list()


def test_a_worker_killed_mid_sweep_loses_no_point_and_computes_none_twice(
    client: Any, reference_sweep: Any, tmp_path: Path
) -> None:
    store = tmp_path / "mfr.duckdb"
    recorded_before_kill: list[str] = []

    def kill_a_worker(done: PointDone) -> None:
        if done.done == 3:
            pids = client.run(os.getpid)
            os.kill(sorted(pids.values())[0], signal.SIGKILL)
        if done.done <= 3:
            recorded_before_kill.append(done.point)

    result = run_sweep(load_sweep(SWEEP), client=client, store=store, on_point=kill_a_worker)
    assert sorted(result.computed) == [f"p{i:03d}" for i in range(10)]
    assert result.stored.points["point"].to_list() == [f"p{i:03d}" for i in range(10)]
    assert_frame_equal(
        result.totals.drop("sweep_id", *_TIMING),
        reference_sweep.totals.drop("sweep_id", *_TIMING),
    )
    attempts = _attempts(store, result.sweep_id)
    assert all(attempts[p] == 1 for p in recorded_before_kill)  # finished: never computed again
    # Dask recomputes what died with the worker: the point it was running and a point it had
    # finished whose result had not reached the client yet (one thread per worker: at most one
    # of each). Nothing the client recorded runs again, and nothing is recorded twice.
    assert sum(attempts.values()) <= 10 + 2


def test_a_stopped_sweep_resumes_with_the_points_it_had_not_recorded(
    client: Any, reference_sweep: Any, tmp_path: Path
) -> None:
    store = tmp_path / "mfr.duckdb"
    sweep = load_sweep(SWEEP)

    def stop_after_four(done: PointDone) -> None:
        if done.done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, client=client, store=store, on_point=stop_after_four)
    stopped = engine.Store(store)
    with stopped.connect(read_only=True) as con:
        status, finished = con.execute("SELECT status, finished FROM sweeps").fetchone()
    assert (status, finished) == ("failed", 4)

    resumed = run_sweep(sweep, client=client, store=store)
    assert len(resumed.reused) == 4 and len(resumed.computed) == 6
    assert set(resumed.reused).isdisjoint(resumed.computed)
    assert_frame_equal(
        resumed.totals.drop("sweep_id", *_TIMING),
        reference_sweep.totals.drop("sweep_id", *_TIMING),
    )
    attempts = _attempts(store, resumed.sweep_id)
    assert all(attempts[p] == 1 for p in resumed.reused)  # recorded: never computed again
    # a point under way when the sweep stopped (or started before the cancel reached its
    # worker) finished unrecorded, and is computed once more by the resumed sweep
    assert max(attempts.values()) <= 2
    again = run_sweep(sweep, client=client, store=store)
    assert again.up_to_date and again.computed == ()


def test_the_report_compares_the_points(reference_sweep: Any, tmp_path: Path) -> None:
    from engine.report import ReportData, build_report
    from engine.report._section_sweep import frontier, sweep_sections

    (section,) = sweep_sections(reference_sweep.stored, lang="en")
    assert section.title == "Scenario sweep" and len(section.figures) == 2
    assert list(section.table) == [f"p{i:03d}" for i in range(10)]
    best = frontier(reference_sweep.totals)
    # along the frontier more money always buys more coverage
    assert best["coverage"].is_sorted() and best["allocated_uah"].is_sorted()
    html = build_report(ReportData(sweep=reference_sweep.stored), tmp_path / "r.html", lang="en")
    assert "Scenario sweep" in html and "frontier" in html
