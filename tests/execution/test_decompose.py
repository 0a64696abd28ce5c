"""The split of a gap into people, volume and price: exact to the kopiyka, and right by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.execution import shapley_split, split_kopiyky

GOLDEN = yaml.safe_load((Path(__file__).with_name("golden_decomposition.yaml")).read_text())


def _side(data: dict) -> list[float]:
    return [float(data["people"]), float(data["case_months"]), round(data["uah"] * 100)]


@pytest.mark.parametrize("case", GOLDEN, ids=[c["name"] for c in GOLDEN])
def test_hand_computed_splits(case: dict) -> None:
    sim, paid = np.array([_side(case["sim"])]), np.array([_side(case["paid"])])
    gap = np.array([int(paid[0, 2] - sim[0, 2])])
    parts = split_kopiyky(shapley_split(sim, paid), gap)[0]
    expect = case["expect"]
    assert gap[0] == round(expect["gap"] * 100)
    assert [int(p) for p in parts] == [
        round(expect[k] * 100) for k in ("people", "volume", "price")
    ]


side = st.tuples(
    st.integers(0, 5_000),  # people
    st.floats(0, 60_000, allow_nan=False, allow_infinity=False),  # case-months, any float
    st.integers(0, 10**12),  # kopiyky
)
# case-months as registries make them: days ÷ days in the month
realistic = st.tuples(
    st.integers(1, 5_000), st.integers(1, 10**6).map(lambda d: d / 31), st.integers(0, 10**12)
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(side, side, st.integers(0, 3)), min_size=1, max_size=40))
def test_parts_add_up_to_the_gap_to_the_kopiyka(rows: list) -> None:
    """Whatever the two sides (empty ones, zero volume, any basis), the kopiyky of the parts
    present add up to paid − simulated exactly, as Decimals."""
    sim = np.array([[p, v, m] for (p, v, m), _, _ in rows], dtype=np.float64)
    paid = np.array([[p, v, m] for _, (p, v, m), _ in rows], dtype=np.float64)
    basis = np.array([b for _, _, b in rows], dtype=np.int64)
    gap = np.array([m1 - m0 for (_, _, m0), (_, _, m1), _ in rows], dtype=np.int64)
    raw = shapley_split(sim, paid, basis)
    parts = split_kopiyky(raw, gap)
    for i, b in enumerate(basis):
        present = ~np.isnan(raw[i])
        if b == 3 or not present.any():  # no split (by basis, or not a finite one)
            assert not present.any()
            continue
        total = sum(Decimal(int(k)) / 100 for k in parts[i][present])
        assert total == Decimal(int(gap[i])) / 100


@settings(max_examples=60, deadline=None)
@given(realistic, realistic)
def test_an_unchanged_factor_gets_nothing_and_consistent_parts_are_near_exact(a, b) -> None:
    """Where both sides are consistent products, each rounded part lies within a kopiyka of its
    exact value (their float sum equals the gap), and a factor equal on both sides gets 0."""
    (p0, v0, m0), (_, v1, m1) = a, b
    sim = np.array([[p0, v0, m0]], dtype=np.float64)
    paid = np.array([[p0, v1, m1]], dtype=np.float64)  # the same people on both sides
    raw = shapley_split(sim, paid)[0]
    assert raw[0] == 0.0
    parts = split_kopiyky(raw[None, :], np.array([m1 - m0]))[0]
    assert np.all(np.abs(parts - raw) <= 1.0 + 1e-6 * max(1.0, abs(m1 - m0)))
