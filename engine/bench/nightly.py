"""Benchmark of the nightly run: `pipelines/nightly.yaml` end to end on a synthetic extract.

Setup (not timed) generates a registry of the requested number of recipients with
`engine.synth.generate_registry` and writes it as Parquet, as `mfr generate` does; the measured work
is the whole run — validation, entitlements, need, forecast, allocation, report, store and exports —
into a fresh store, exactly what `mfr run pipelines/nightly.yaml --extract DIR` does every night.
Target (DESIGN.md §9): 1,000,000 recipients in ≤ 2 minutes and ≤ 8 GB peak memory.

Beside it, at each size, the nightly with the benefits system's extract of the same persons
(`pipelines/nightly-benefits.yaml`; generated as `mfr generate --benefits` does: income
declarations renewed yearly, reassessments, IDP certificates, assistance): what reading, hashing
and joining the benefits extract and pricing with dated circumstances add. Its РНОКПП are hashed
with `$MFR_PSEUDONYM_KEY`, or a bench key when none is set.
"""

from __future__ import annotations

import gc
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import engine
from engine.bench import BenchResult, run_isolated

__all__ = ["BENEFITS_SPEC", "NIGHTLY_SPEC", "run", "setup_nightly", "setup_nightly_benefits"]

NIGHTLY_SPEC = Path(engine.__file__).resolve().parents[1] / "pipelines" / "nightly.yaml"
BENEFITS_SPEC = NIGHTLY_SPEC.with_name("nightly-benefits.yaml")


def setup_nightly(size: int, seed: int) -> Callable[[], str]:
    """Write a synthetic extract of `size` recipients; return the nightly run over it."""
    return _setup(size, seed, benefits=False)


def setup_nightly_benefits(size: int, seed: int) -> Callable[[], str]:
    """Write a synthetic extract of `size` recipients with their benefits extract; return the
    nightly-benefits run over both."""
    return _setup(size, seed, benefits=True)


def _setup(size: int, seed: int, *, benefits: bool) -> Callable[[], str]:
    import dataclasses
    import io
    import os

    from rich.console import Console

    from engine.pipeline import load_spec, run_pipeline
    from engine.synth import DEFAULT_EXTRACT_DATE, generate_registry
    from engine.synth.write import write_extract

    folder = Path(tempfile.mkdtemp(prefix="mfr-bench-nightly-"))
    tables = generate_registry(size, seed, extract_date=DEFAULT_EXTRACT_DATE)
    if benefits:  # one folder, as `mfr generate --benefits` writes it
        from engine.synth.benefits import add_benefits

        tables = add_benefits(tables, seed, extract_date=DEFAULT_EXTRACT_DATE)
        os.environ.setdefault("MFR_PSEUDONYM_KEY", "mfr bench key, not a secret")
    write_extract(
        tables, folder / "extract", "parquet", messy=False, extract_date=DEFAULT_EXTRACT_DATE
    )
    del tables
    gc.collect()
    spec = load_spec(BENEFITS_SPEC if benefits else NIGHTLY_SPEC).with_overrides(
        extract=folder / "extract", store=folder / "out" / "mfr.duckdb"
    )
    if benefits:
        spec = dataclasses.replace(spec, benefits=folder / "extract")

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
    """The nightly run at each size (default 100,000 and 1,000,000 recipients; 20,000 if quick),
    without and with the benefits extract."""
    chosen = sizes or ((20_000,) if quick else (100_000, 1_000_000))
    cases = (
        ("setup_nightly", "engine (mfr run nightly.yaml)"),
        ("setup_nightly_benefits", "engine with benefits (mfr run nightly-benefits.yaml)"),
    )
    return [
        run_isolated(
            f"engine.bench.nightly:{setup}",
            area="nightly",
            case=case,
            size=size,
            unit="recipients",
        )
        for size in chosen
        for setup, case in cases
    ]
