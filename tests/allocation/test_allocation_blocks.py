"""Memory and blocks: the per-row passes run in blocks of rows over arrays in small pages.

Neither the block size nor where an array lives may change a kopiyka.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from engine.allocation import allocate, policy_from_dict
from engine.allocation._rounding import Pool, round_pool
from engine.bench.allocation import bench_claims, bench_policy
from engine.buffers import empty
from engine.columns import money_units

TIERS = [
    {"name": "children", "when": "age < 18"},
    {"name": "need level 3", "when": "need_level = 3 AND age >= 18"},
    {"name": "everyone else", "otherwise": True},
]


def _policies(claims: pl.DataFrame) -> list[tuple[dict[str, Any], str]]:
    """Per-oblast envelopes (some too small for their floors) with a cap that cuts many rows, a
    national one with caps by row and by service, floors of nothing and of everything, and the
    optimiser."""
    per_oblast = bench_policy(claims)
    total = float(claims["claim_uah"].sum())
    national = {
        "name": "national",
        "envelope": {"national_uah": round(total * 0.6, 2)},
        "caps": {"per_row_uah": 9_000.0, "by_service_uah": {"001.1": 1_500.0, "002.1": 4_000.0}},
        "floor_share": 0.333333,
        "tiers": TIERS,
    }
    return [
        (per_oblast, "default"),
        ({**per_oblast, "caps": {"per_row_uah": 3_000.0}}, "default"),
        (national, "default"),
        ({**per_oblast, "floor_share": 0.0}, "default"),
        ({**national, "floor_share": 1.0, "envelope": {"national_uah": total * 0.2}}, "default"),
        ({**per_oblast, "optimise": {"equity": {"max_spread": 0.25}}}, "optimise"),
    ]


def _frames(claims: pl.DataFrame, raw: dict[str, Any], mode: str) -> dict[str, pl.DataFrame]:
    result = allocate(claims, policy_from_dict(raw), mode=mode, key=["case_id"])  # type: ignore[arg-type]
    return {name: frame for name, frame in result.frames().items() if name != "binding"}


def test_tiny_blocks_of_rows_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    claims = bench_claims(2_000, seed=3).with_columns(
        # zero claims have no coverage and never take a kopiyka
        claim_uah=pl.when(pl.col("case_id") % 11 == 0).then(0.0).otherwise(pl.col("claim_uah"))
    )
    for raw, mode in _policies(claims):
        whole = _frames(claims, raw, mode)
        with monkeypatch.context() as patch:
            patch.setattr("engine.buffers.BLOCK", 7)
            patch.setattr("engine.allocation._rounding.BLOCK", 5)
            blocked = _frames(claims, raw, mode)
        for name, frame in whole.items():
            assert frame.equals(blocked[name]), (raw["name"], mode, name)


def test_half_a_million_rows_add_up_in_any_order() -> None:
    """Large enough for several blocks of rows and for arrays mapped in small pages."""
    claims = bench_claims(600_000, seed=4)
    policy = policy_from_dict(bench_policy(claims))
    result = allocate(claims, policy, key=["case_id"])
    rows = result.rows
    allocated = money_units(rows["allocated_uah"])
    capped = money_units(rows["capped_claim_uah"])
    assert (allocated >= 0).all()
    assert (allocated <= capped).all()
    by_group = rows.group_by("envelope_group").agg(
        allocated=(pl.col("allocated_uah") * 100).round().cast(pl.Int64).sum(),
        claims=(pl.col("capped_claim_uah") * 100).round().cast(pl.Int64).sum(),
    )
    envelopes = {k: round(v * 100) for k, v in policy.per_oblast_uah.items()}
    for group, total, claimed in by_group.iter_rows():
        assert total == min(envelopes.get(group, 0), claimed), group

    shuffled = claims.sample(fraction=1.0, shuffle=True, seed=9)
    again = allocate(shuffled, policy, key=["case_id"]).rows
    assert again.sort("case_id")["allocated_uah"].equals(rows.sort("case_id")["allocated_uah"])


def test_large_arrays_are_writable_and_start_at_zero() -> None:
    big = empty(1 << 20, np.int64)  # 8 MB: mapped in small pages
    assert big.shape == (1 << 20,)
    assert big.flags.writeable
    assert not big.any()
    big[:] = 7
    assert pl.Series(big).sum() == 7 << 20  # polars reads it in place


def test_rounding_takes_back_the_kopiyka_float_noise_gave_too_many() -> None:
    # floors 2 + 2 + 2 = 6 kopiyky where the group may have 5: one row gives one back, the one
    # with the smallest fraction; rows 0 and 1 tie on fraction and claim, the smaller key gives
    amount, claim = np.array([2.0, 2.0, 2.5]), np.array([5, 5, 5])
    pool = Pool(3, n_groups=1, n_rows=3)
    allocated = pool.add(np.arange(3), amount.copy(), claim, np.zeros(3, dtype=np.intp))
    round_pool(
        pool,
        np.array([5]),
        allocated,
        amounts=lambda at: amount[at],
        claims=lambda at: claim[at],
        keys=pl.DataFrame({"id": [2, 1, 0]}),
    )
    assert allocated.tolist() == [2, 1, 2]
