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
    from engine.dates import month_range
    from engine.entitlements import price_core
    from engine.params import load_funding_model
    from engine.segments import index_registry

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


def test_the_sql_rival_gives_the_engines_case_months_on_a_messy_extract(tmp_path) -> None:
    """A correctness test of the benchmark's DuckDB SQL (not a timing): `mfr entitle` and the SQL
    on the same generated CP1251 extract agree on every (case, month, funded) to the kopiyka."""
    from engine.bench.cli_path import run_pair

    engine, sql = run_pair(1_500, seed=4, fmt="csv", cache=tmp_path)
    assert engine.size > 10_000  # segments priced over the extract's history
    assert sql.ok, sql.note
    assert "identical to the engine" in sql.note


def test_the_sql_check_fails_on_one_kopiyka_or_a_missing_row(tmp_path) -> None:
    import datetime as dt

    import polars as pl

    from engine.bench.cli_path import compare_outputs

    rows = {
        "case_id": ["C1", "C1", "C2"],
        "month": [dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 1, 1)],
        "funded": [True, True, False],
        "gross_uah": [100.25, 50.0, 12.0],
        "copay_uah": [30.07, 0.0, 0.0],
        "state_uah": [70.18, 50.0, 12.0],
        "days": [31, 28, 31],
    }
    (tmp_path / "engine").mkdir()
    pl.DataFrame(rows).write_parquet(tmp_path / "engine" / "case_months.parquet")
    for name, change in {
        "same": {},
        "kopiyka": {"copay_uah": [30.08, 0.0, 0.0]},
        "missing": {k: v[:2] for k, v in rows.items()},
    }.items():
        (tmp_path / name).mkdir()
        other = pl.DataFrame(rows | change).with_columns(
            pl.col(c).cast(pl.Decimal(18, 2)) for c in ("gross_uah", "copay_uah", "state_uah")
        )
        other.write_parquet(tmp_path / name / "case_months.parquet")
    assert compare_outputs(tmp_path / "engine", tmp_path / "same") == ""
    assert "differ in copay" in compare_outputs(tmp_path / "engine", tmp_path / "kopiyka")
    assert "1 rows only in the engine" in compare_outputs(tmp_path / "engine", tmp_path / "missing")
