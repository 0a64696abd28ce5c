"""Partitioned pricing equals pricing in one process, to the kopiyka, whatever the partitions.

The registry is split by a hash of the recipient, each partition priced on a LocalCluster worker
from its own Parquet, and the results put together: case-months, rollups (whose case-months are
rounded per cell, so not plain sums), flows and the forecast's history segments must equal the
in-process `priced` node frame for frame, dtypes (the registry-wide Enums) included.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import engine
from engine.distributed._partition import split_registry
from engine.distributed._partitioned import PartitionedPricing, partitioned
from engine.pipeline._nodes import HistoryWindow, Months, Reference
from engine.pipeline._pricing import Priced, _blocks, priced
from engine.reference import load_services, load_territories

REPO = Path(__file__).resolve().parents[2]


class _Everything:
    """The plan of a run that computes every node (what `priced` asks of its plan)."""

    def computes(self, name: str) -> bool:
        return True


@pytest.fixture(scope="module")
def inputs() -> dict[str, Any]:
    territories = load_territories()
    registry = engine.read_registry(REPO / "data_samples" / "registry", territories=territories)
    return {
        "registry": registry,
        "model": engine.load_funding_model(REPO / "models" / "funding" / "baseline"),
        "reference": Reference(territories, load_services()),
        "months": Months(dt.date(2026, 1, 1), dt.date(2026, 12, 1)),
        # the nightly's 36 months of history: three blocks besides the spec's months
        "history": HistoryWindow(dt.date(2023, 10, 1), dt.date(2026, 9, 1)),
    }


@pytest.fixture(scope="module")
def in_process(inputs: dict[str, Any]) -> Priced:
    return priced.fn(**inputs, plan=_Everything())


def _assert_same(expected: Priced, got: Priced) -> None:
    for name in ("case_months", "rollups", "flows", "history_segments"):
        want, have = getattr(expected, name), getattr(got, name)
        assert want is not None and have is not None, name
        assert_frame_equal(have, want, categorical_as_str=True)
    assert got.blocks == expected.blocks and got.cases == expected.cases


def test_split_keeps_each_person_whole(inputs: dict[str, Any]) -> None:
    registry = inputs["registry"]
    parts = split_registry(registry, 5)
    for name in ("recipients", "cases", "case_locations"):
        assert sum(p[name].height for p in parts) == registry.table(name).height
    people = [set(p["cases"]["recipient_id"]) for p in parts]
    assert sum(len(s) for s in people) == len(set().union(*people))  # no one in two partitions
    for part in parts:  # a case's locations (its moves) travel with it
        assert set(part["case_locations"]["case_id"]) <= set(part["cases"]["case_id"])


@pytest.mark.parametrize("partitions", [1, 2, 5])
def test_partitioned_pricing_equals_one_process(
    client: Any, inputs: dict[str, Any], in_process: Priced, partitions: int, tmp_path: Path
) -> None:
    hook = PartitionedPricing(client, partitions, tmp_path)
    blocks = _blocks(inputs["months"], inputs["history"])
    got = hook(
        inputs["registry"],
        inputs["model"],
        inputs["reference"].territories,
        blocks=blocks,
        spec_months=inputs["months"],
        window=inputs["history"],
    )
    _assert_same(in_process, got)
    assert list(tmp_path.iterdir()) == []  # the partitions' Parquet is removed afterwards


def test_a_partitioned_run_publishes_the_same_tables(client: Any, tmp_path: Path) -> None:
    spec = engine.load_spec(REPO / "pipelines" / "nightly.yaml").with_overrides(
        store=tmp_path / "mfr.duckdb"
    )
    spec = dataclasses.replace(spec, steps=("validate", "entitle", "need", "allocate"))
    first = engine.run_pipeline(spec, progress=False)
    with partitioned(client=client, partitions=3, scratch=tmp_path / "scratch"):
        second = engine.run_pipeline(spec, progress=False, force=True)
    assert second.manifest.fingerprint == first.manifest.fingerprint  # the same run's content
    store = engine.Store(spec.store)
    for table in ("case_months", "rollups", "flows", "need", "allocations",
                  "allocation_by_territory", "allocation_by_group"):  # fmt: skip
        a = store.table(table, first.manifest.run_id).drop("run_id")
        b = store.table(table, second.manifest.run_id).drop("run_id")
        assert_frame_equal(b, a, check_row_order=False)


def test_cell_case_months_are_recomputed_not_summed(inputs: dict[str, Any], tmp_path: Path) -> None:
    """A rollup cell's case-months are rounded once per cell: the partitions' rounded values do
    not add up to the whole's (some cells differ in the 9th decimal), so the combination
    recomputes them from the summed days and equals one pricing exactly. No cluster needed."""
    from engine.distributed._combine import _common_enums, combine_flows, combine_rollups
    from engine.distributed._partition import write_partitions
    from engine.distributed._partitioned import price_partition
    from engine.entitlements import compute_entitlements

    months = (inputs["months"].first, inputs["months"].last)
    territories = inputs["reference"].territories
    whole = compute_entitlements(
        inputs["registry"], inputs["model"], territories, months=months, segments=False
    )
    parts = [
        price_partition(
            part,
            extract_date=inputs["registry"].extract_date,
            model=inputs["model"],
            territories=territories,
            blocks=[months],
            spec_first=months[0],
            window=None,
        )
        for part in write_partitions(inputs["registry"], 5, tmp_path)
    ]
    rollups = [p["rollups"] for p in parts]
    keys = ["month", "level", "territory_code", "service_code", "ownership", "funded"]
    naive = pl.concat(_common_enums(rollups)).group_by(keys).agg(pl.col("case_months").sum())
    compared = whole.rollups.join(naive, on=keys, how="left", nulls_equal=True)
    assert compared.filter(pl.col("case_months") != pl.col("case_months_right")).height > 0
    assert_frame_equal(combine_rollups(rollups, territories), whole.rollups)
    assert_frame_equal(combine_flows([p["flows"] for p in parts]), whole.flows)
