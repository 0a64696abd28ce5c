"""Sweep benchmark: a 50-point scenario sweep on 1 and 2 local Dask workers.

Workload: the nightly spec on the bundled sample extract (3,000 recipients, this year's months),
a grid of 2 scenarios (today's rules, the co-payment threshold reform) × 25 envelopes (52% to
100% of the claims, 2 points apart): each point priced and allocated on a worker, recorded in a
fresh store. Measured: the sweep's wall time and points per second, and each worker process's
peak memory (VmHWM: its whole life, imports and the broadcast registry included). The closing
lines estimate what a 16-node cluster needs from these figures (see `ratio_lines`).
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from engine.bench import BenchResult

__all__ = ["ratio_lines", "run"]

_REPO = Path(__file__).resolve().parents[2]
_PROBE_RECIPIENTS = 30_000
_SCENARIOS = ("none", "models/scenarios/copay-threshold-3.yaml")


def _worker_memory_mb() -> dict[str, float]:
    """Run on a worker: its resident and peak memory (MB)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0]) / 1024
    return out


def _warm_worker_mb() -> float:
    """Run on a worker: import what a point uses, then its resident memory (MB)."""
    import engine.allocation
    import engine.entitlements
    import engine.pipeline._nodes_plan  # noqa: F401

    return _worker_memory_mb()["VmRSS"]


def _sweep_file(folder: Path, points: int) -> Path:
    envelopes = [f"{100 - 2 * i}%" for i in range(points // len(_SCENARIOS))]
    path = folder / "pipelines" / "sweep-bench.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "name: sweep-bench\n"
        f"base: {_REPO / 'pipelines' / 'nightly.yaml'}\n"
        "grid:\n"
        f"  scenario: [{', '.join(_SCENARIOS)}]\n"
        f"  envelope: [{', '.join(repr(e) for e in envelopes)}]\n"
    )
    return path


def _registry_mb() -> tuple[float, int, float]:
    """The sample registry in memory (MB), its recipients, and its Parquet bytes per recipient
    (one partition: what a partitioned run writes for workers to read)."""
    import engine
    from engine.distributed._partition import write_partitions

    registry = engine.read_registry(_REPO / "data_samples" / "registry")
    tables = ("recipients", "cases", "case_locations", "providers", "services", "territory_status")
    in_memory = sum(registry.table(t).estimated_size() for t in tables) / 1e6
    with tempfile.TemporaryDirectory() as folder:
        (part,) = write_partitions(registry, 1, Path(folder))
        written = sum(f.stat().st_size for f in part.iterdir())
    return in_memory, registry.recipients.height, written / registry.recipients.height


def _extract(folder: Path, recipients: int) -> Path:
    """A synthetic extract of `recipients` (Parquet, as `mfr generate` writes it)."""
    from engine.synth import DEFAULT_EXTRACT_DATE, generate_registry
    from engine.synth.write import write_extract

    tables = generate_registry(recipients, 0, extract_date=DEFAULT_EXTRACT_DATE)
    out = folder / f"extract-{recipients}"
    write_extract(tables, out, "parquet", messy=False, extract_date=DEFAULT_EXTRACT_DATE)
    return out


def _one(
    points: int, workers: int, folder: Path, *, extract: Path | None = None, recipients: int = 0
) -> BenchResult:
    from engine.distributed._cluster import open_client
    from engine.distributed._context import Scheduler
    from engine.distributed._sweep import run_sweep
    from engine.distributed._sweep_spec import load_sweep

    sweep = load_sweep(_sweep_file(folder, points))
    if extract is not None:  # the same grid on another extract
        sweep = dataclasses.replace(
            sweep,
            base=sweep.base.with_overrides(extract=extract),
            points=tuple(
                dataclasses.replace(p, spec=p.spec.with_overrides(extract=extract))
                for p in sweep.points
            ),
        )
    with open_client(Scheduler("local", workers=workers)) as client:
        client.wait_for_workers(workers)
        warm = client.run(_warm_worker_mb)  # imports done: what a point adds is measured
        start = time.perf_counter()
        store = folder / f"w{workers}-{recipients}" / "mfr.duckdb"
        result = run_sweep(sweep, client=client, store=store, accept_quarantine=True)
        seconds = time.perf_counter() - start
        memory = client.run(_worker_memory_mb)
    peaks = [m["VmHWM"] for m in memory.values()]
    warm_rss = max(warm.values())
    return BenchResult(
        area="sweep",
        case=f"engine ({workers} local worker{'s' if workers > 1 else ''}"
        + (f", {recipients:,} recipients)" if extract is not None else ")"),
        size=len(result.computed),
        unit="points",
        seconds=seconds,
        peak_mb=max(peaks),
        peak_includes_setup=True,
        note=(
            f"peak per worker {', '.join(f'{p:,.0f}' for p in sorted(peaks))} MB "
            f"(after imports {warm_rss:,.0f} MB); {len(result.computed) / seconds:.2f} points/s"
        ),
    )


def run(quick: bool = False, points: int | None = None) -> list[BenchResult]:
    """The sweep on 1 then 2 local workers (50 points; 10 if quick)."""
    from engine.distributed._context import require_dask

    require_dask("mfr bench --only sweep")
    chosen = points or (10 if quick else 50)
    with tempfile.TemporaryDirectory(prefix="mfr-bench-sweep-") as name:
        folder = Path(name)
        results = [_one(chosen, workers, folder) for workers in (1, 2)]
        # memory and time per recipient: 4 points on a ten times larger synthetic extract
        probe = _extract(folder, _PROBE_RECIPIENTS)
        results.append(_one(4, 1, folder, extract=probe, recipients=_PROBE_RECIPIENTS))
    return results


def ratio_lines(results: Sequence[BenchResult]) -> list[str]:
    """Speed-up of 2 workers over 1, and what a 16-node cluster would need, estimated linearly
    between the sample (3,000 recipients) and the probe (30,000): a worker's peak memory and a
    point's time per recipient."""
    if len(results) < 3:
        return []
    one, two, probe = results[0], results[1], results[2]
    registry_mb, recipients, parquet_per_recipient = _registry_mb()
    national, workers, partitions = 1_000_000, 128, 128
    slope_mb = max(probe.peak_mb - one.peak_mb, 0.0) / (_PROBE_RECIPIENTS - recipients)
    worker_gb = (one.peak_mb + slope_mb * (national - recipients)) / 1e3
    small_s, large_s = one.seconds / one.size, probe.seconds / probe.size  # one point
    point_s = small_s + (large_s - small_s) / (_PROBE_RECIPIENTS - recipients) * (
        national - recipients
    )
    partition_gb = (one.peak_mb + slope_mb * (national / partitions - recipients)) / 1e3
    return [
        f"2 workers / 1 worker: {one.seconds / two.seconds:.2f}× the points per second "
        f"({one.throughput:.2f} → {two.throughput:.2f} points/s; the 2 cores are shared)",
        f"sample: {recipients:,} recipients, registry {registry_mb:.1f} MB in memory, "
        f"{parquet_per_recipient:,.0f} bytes of Parquet per recipient; a worker's peak "
        f"{one.peak_mb:,.0f} MB at {recipients:,} recipients, {probe.peak_mb:,.0f} MB at "
        f"{_PROBE_RECIPIENTS:,} ({slope_mb * 1e3:.2f} MB per 1,000 recipients)",
        f"16 nodes × 8 workers, a national extract of {national:,} recipients (linear estimate): "
        f"a sweep needs ~{worker_gb:.1f} GB per worker and ~{point_s:.0f} s per point, "
        f"~{workers / point_s:.1f} points/s on {workers} workers; a partitioned run in "
        f"{partitions} partitions writes ~{parquet_per_recipient * national / partitions / 1e3:,.0f}"
        f" KB of Parquet per partition ({national // partitions:,} recipients a task, "
        f"~{partition_gb:.2f} GB per worker)",
    ]
