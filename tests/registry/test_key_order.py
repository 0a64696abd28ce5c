"""Duplicate keys are found whatever the order of the file.

A key column whose values strictly increase holds no duplicate, so the reader skips hashing it;
these cases hold the fast path to the same answer as the full check: a duplicate next to its twin
in a sorted file, one after a trimmed twin, one out of order, and a sorted column with nulls.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from registry_kit import base_tables, read

from engine.registry._normalise import _increasing


def _with_ids(ids: list[str | None]) -> dict[str, pl.DataFrame]:
    tables = base_tables()
    recipients = tables["recipients"]
    rows = [recipients.row(i % recipients.height, named=True) for i in range(len(ids))]
    tables["recipients"] = pl.DataFrame(rows, schema=recipients.schema).with_columns(
        pl.Series("recipient_id", ids, dtype=pl.String)
    )
    return tables


@pytest.mark.parametrize(
    ("ids", "lines"),
    [
        (["R1", "R2", "R2", "R3"], [3, 4]),  # sorted, the twins side by side
        (["R1", "R2", " R2", "R3"], [3, 4]),  # sorted once trimmed
        (["R1", "R2", "R3", "R2"], [3, 5]),  # out of order
        (["R1", "R2", "R3", "R4"], []),  # strictly increasing: none
    ],
    ids=["adjacent", "trimmed twin", "out of order", "distinct"],
)
def test_duplicate_keys_in_any_order(
    extract: Callable[..., Path], ids: list[str], lines: list[int]
) -> None:
    registry = read(extract(_with_ids(ids)))
    found = registry.quarantine.filter(pl.col("rule") == "duplicate_key")
    assert sorted(found["source_line"].to_list()) == lines


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["a", "b", "c"], True),
        (["a", None, "b"], True),
        (["a", "a"], False),
        (["b", "a"], False),
        ([None, None], True),
        ([], True),
    ],
)
def test_increasing(values: list[str | None], expected: bool) -> None:
    assert _increasing(pl.Series(values, dtype=pl.String)) is expected
