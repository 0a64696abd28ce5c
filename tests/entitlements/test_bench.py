"""The entitlement benchmark's workloads run, and its pandas version agrees with the engine."""

from __future__ import annotations

from engine.bench.entitlements import (
    setup_engine,
    setup_engine_full,
    setup_pandas,
    synthetic_registry,
)


def test_synthetic_registry_has_about_the_requested_segments() -> None:
    from engine.bench.entitlements import MONTHS, _model_path
    from engine.entitlements import price_core
    from engine.params import load_funding_model
    from engine.segments import index_registry, month_range

    registry, territories = synthetic_registry(20_000, seed=3)
    core = price_core(
        index_registry(registry, territories),
        load_funding_model(_model_path()),
        month_range(*MONTHS),
    )
    assert 14_000 < core.n_segments < 26_000


def test_engine_workload_runs() -> None:
    note = setup_engine(3_000, seed=1)()
    assert "segments" in note and "case-months" in note


def test_pandas_workload_matches_the_engine() -> None:
    note = setup_pandas(1_500, seed=2)()  # raises if any case-month differs
    assert "identical to the engine" in note


def test_the_full_api_workload_builds_every_output_frame() -> None:
    note = setup_engine_full(3_000, seed=1)()
    assert "segments" in note
