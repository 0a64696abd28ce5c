"""Held-out interval coverage on 20k-recipient synthetic registries (slow: `pytest -m slow`).

The production path: `forecast()` with its defaults (reconcile="auto", whose two-origin backtest
on the training months also calibrates the bands) of case-months need from origins 45 and 48 of
60 months, scored on the 12 months after each (`engine.bench._forecast_reconciled.
heldout_coverage`); three registries (seeds 12, 13, 14: not among those the calibration's rules
were chosen on), so 6 forecasts a level. The figures are printed per level. Every level with at
least 100 nodes must cover within 5 points of nominal; the same bands without calibration
over-cover the bottom level's 80 % band by more than that. The four top levels (1 to 27 nodes)
are printed, not asserted: on two origins their factors rest on few, correlated errors, and on
these registries the national total's 80 % band under-covered (see `_calibration`).
"""

from __future__ import annotations

import polars as pl
import pytest

from engine.bench._forecast_reconciled import heldout_coverage
from engine.demand._need import DEFAULT_HIERARCHY

pytestmark = pytest.mark.slow

TARGET = "case_months_need"


def _history(recipients: int, seed: int, tmp_path) -> pl.DataFrame:
    import engine
    from engine.demand._need import _segments, _window, _with_reference
    from engine.demand._series import demand_series
    from engine.reference import load_services, load_territories
    from engine.synth import generate_registry, write_extract

    root = tmp_path / f"registry_{seed}"
    write_extract(generate_registry(recipients, seed), root, "parquet", messy=False)
    territories = load_territories()
    registry = engine.read_registry(root, territories=territories)
    model = engine.load_funding_model("models/funding/baseline")
    priced = engine.compute_entitlements(registry, model, territories)
    config = engine.load_forecast_config("models/forecast/default.yaml")
    seg = _segments(priced)
    first, last = _window(priced, seg, config, registry.extract_date)
    history = demand_series(seg, months=(first, last))
    return _with_reference(history, territories, load_services())


def _coverage(tmp_path, **options) -> pl.DataFrame:
    tables = []
    for seed in (12, 13, 14):
        frame = _history(20_000, seed, tmp_path)
        assert frame["month"].n_unique() == 60
        tables.append(
            heldout_coverage(
                frame, DEFAULT_HIERARCHY, cuts=(45, 48), date_col="month", value_col=TARGET,
                counts=True, **options,
            ).with_columns(seed=pl.lit(seed))
        )  # fmt: skip
    return (
        pl.concat(tables)
        .group_by("level", maintain_order=True)
        .agg(pl.col("series").max(), pl.col("coverage_80").mean(), pl.col("coverage_95").mean())
    )


def test_calibrated_intervals_cover_within_5_points_at_every_level_of_100_nodes(tmp_path):
    table = _coverage(tmp_path)
    with pl.Config(tbl_rows=20):
        print(table)
    for row in table.iter_rows(named=True):
        if row["series"] < 100:
            continue
        assert row["coverage_80"] == pytest.approx(0.80, abs=0.05), row
        assert row["coverage_95"] == pytest.approx(0.95, abs=0.05), row
    off = _coverage(tmp_path, calibrate=False)
    with pl.Config(tbl_rows=20):
        print(off)
    bottom = off.filter(pl.col("level") == "hromada_code/service_code").row(0, named=True)
    assert bottom["coverage_80"] > 0.85  # the Poisson floor alone is too wide at 80 %
