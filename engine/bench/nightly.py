"""Benchmark of the nightly run: `pipelines/nightly.yaml` end to end on a synthetic extract.

Setup (not timed) generates a registry of the requested number of recipients with
`engine.synth.generate_registry` and writes it as Parquet, as `mfr generate` does; the measured work
is the whole run — validation, entitlements, need, forecast, allocation, report, store and exports —
into a fresh store, exactly what `mfr run pipelines/nightly.yaml --extract DIR` does every night.
Target (DESIGN.md §9): 1,000,000 recipients in ≤ 2 minutes and ≤ 8 GB peak memory.
"""

from __future__ import annotations

import gc
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import engine
from engine.bench import BenchResult, run_isolated

__all__ = ["NIGHTLY_SPEC", "run", "setup_nightly"]

NIGHTLY_SPEC = Path(engine.__file__).resolve().parents[1] / "pipelines" / "nightly.yaml"


def setup_nightly(size: int, seed: int) -> Callable[[], str]:
    """Write a synthetic extract of `size` recipients; return the nightly run over it."""
    import io

    from rich.console import Console

    from engine.pipeline import load_spec, run_pipeline
    from engine.synth import DEFAULT_EXTRACT_DATE, generate_registry
    from engine.synth.write import write_extract

    folder = Path(tempfile.mkdtemp(prefix="mfr-bench-nightly-"))
    tables = generate_registry(size, seed, extract_date=DEFAULT_EXTRACT_DATE)
    write_extract(
        tables, folder / "extract", "parquet", messy=False, extract_date=DEFAULT_EXTRACT_DATE
    )
    del tables
    gc.collect()
    spec = load_spec(NIGHTLY_SPEC).with_overrides(
        extract=folder / "extract", store=folder / "out" / "mfr.duckdb"
    )

    def work() -> str:
        try:
            result = run_pipeline(
                spec, progress=False, console=Console(file=io.StringIO()), accept_quarantine=True
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        steps = ", ".join(f"{s.name} {s.seconds:.1f}s" for s in result.manifest.steps)
        rows = result.manifest.outputs.get("tables", {})
        return f"{rows.get('case_months', 0):,} case-months; {steps}"

    return work


def run(quick: bool = False, sizes: tuple[int, ...] | None = None) -> list[BenchResult]:
    """The nightly run at each size (default 100,000 and 1,000,000 recipients; 20,000 if quick)."""
    chosen = sizes or ((20_000,) if quick else (100_000, 1_000_000))
    return [
        run_isolated(
            "engine.bench.nightly:setup_nightly",
            area="nightly",
            case="engine (mfr run nightly.yaml)",
            size=size,
            unit="recipients",
        )
        for size in chosen
    ]
