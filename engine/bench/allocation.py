"""Allocation benchmark: the vectorised default policy against a straightforward pandas loop.

Workload: synthetic claims (25 oblasts, 1,500 hromadas, 25 services), three priority tiers
(children or disability group I; need level 3; everyone else), a 30% floor, a per-row cap and one
envelope per oblast (25 groups, some too small for their floors). `run(sizes)` measures the engine
at each size and the pandas version at the smaller sizes, each in a fresh process, after checking
on a small sample that both give the same allocation to the kopiyka. Each note gives the work's
CPU seconds (all threads) beside the wall time the table shows: another benchmark on the same
cores slows the wall clock, hardly the CPU time.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from engine.bench import BenchResult, run_isolated

__all__ = [
    "bench_claims",
    "bench_policy",
    "pandas_allocate",
    "run",
    "setup_engine",
    "setup_pandas",
]

_N_OBLASTS = 25
_N_HROMADAS = 1_500
_SERVICES = tuple(f"{i:03d}.1" for i in range(1, 26))
_DISABILITY = ("none", "I", "II", "III", "child")
_FLOOR_SHARE = 0.3
_CAP_UAH = 25_000.0
_PANDAS_MAX_ROWS = 1_000_000


def _oblast(i: int) -> str:
    return f"UA{i + 1:02d}{0:015d}"


def bench_claims(size: int, seed: int = 0) -> pl.DataFrame:
    """`size` synthetic claim rows shaped like `claims_from_case_months` output."""
    rng = np.random.default_rng(seed)
    hromada = rng.integers(0, _N_HROMADAS, size)
    hromadas = pl.Series([f"UA{h % _N_OBLASTS + 1:02d}{h:015d}" for h in range(_N_HROMADAS)])
    oblasts = pl.Series([_oblast(h % _N_OBLASTS) for h in range(_N_HROMADAS)])
    months = pl.Series([dt.date(2026, m, 1) for m in range(1, 13)])
    return pl.DataFrame(
        {
            "case_id": np.arange(size, dtype=np.int64),
            "month": months.gather(rng.integers(0, 12, size)),
            "oblast_code": oblasts.gather(hromada),
            "hromada_code": hromadas.gather(hromada),
            "service_code": pl.Series(_SERVICES).gather(rng.integers(0, len(_SERVICES), size)),
            "need_level": rng.integers(1, 4, size).astype(np.int8),
            "disability_group": pl.Series(_DISABILITY).gather(
                rng.choice(len(_DISABILITY), size, p=[0.55, 0.08, 0.17, 0.15, 0.05])
            ),
            "age": rng.integers(0, 95, size).astype(np.int16),
            # many rows share a tariff-like amount, as real case-months do
            "claim_uah": np.round(
                np.where(rng.random(size) < 0.4, 2_800.0, rng.gamma(2.0, 1_500.0, size)), 2
            ),
        }
    )


def bench_policy(claims: pl.DataFrame) -> dict[str, object]:
    """The policy as plain data: per-oblast envelopes at 45–95% of each oblast's claims."""
    totals = claims.group_by("oblast_code").agg(pl.col("claim_uah").sum()).sort("oblast_code")
    rng = np.random.default_rng(1)
    shares = rng.uniform(0.25, 0.95, totals.height)
    return {
        "name": "bench",
        "envelope": {
            "per_oblast_uah": {
                code: round(float(total) * float(share), 2)
                for code, total, share in zip(
                    totals["oblast_code"], totals["claim_uah"], shares, strict=True
                )
            }
        },
        "caps": {"per_row_uah": _CAP_UAH},
        "floor_share": _FLOOR_SHARE,
        "tier_resolution": "first_match",
        "tiers": [
            {"name": "children and group I", "when": "disability_group = 'I' OR age < 18"},
            {"name": "need level 3", "when": "need_level = 3"},
            {"name": "everyone else", "otherwise": True},
        ],
    }


def setup_engine(size: int, seed: int) -> Callable[[], str]:
    from engine.allocation import allocate, policy_from_dict

    claims = bench_claims(size, seed)
    policy = policy_from_dict(bench_policy(claims))
    key = ["case_id"]

    def work() -> str:
        cpu = time.process_time()
        result = allocate(claims, policy, key=key)
        return f"{result.by_group.height} envelope groups; {_cpu(cpu)}"

    return work


def setup_pandas(size: int, seed: int) -> Callable[[], str]:
    claims = bench_claims(size, seed)
    policy = bench_policy(claims)
    frame = claims.to_pandas()

    def work() -> str:
        cpu = time.process_time()
        pandas_allocate(frame, policy)
        return f"same kopiyky as the engine (checked); {_cpu(cpu)}"

    return work


def _cpu(since: float) -> str:
    """CPU seconds of every thread since `since`: on a shared machine, steadier than wall time."""
    return f"CPU {time.process_time() - since:.2f} s"


def pandas_allocate(frame: object, policy: dict[str, object]) -> np.ndarray:
    """The same policy as a user would write it in pandas: a row-wise tier function, then a loop
    over oblasts and tiers; kopiyka rounding by largest remainder with the same tie-break.
    Returns allocated kopiyky per row, in the frame's order."""
    import pandas as pd

    df: pd.DataFrame = frame.copy()  # type: ignore[attr-defined]

    def tier_of(row: pd.Series) -> int:
        if row["disability_group"] == "I" or row["age"] < 18:
            return 0
        if row["need_level"] == 3:
            return 1
        return 2

    df["tier"] = df.apply(tier_of, axis=1)
    cap = round(policy["caps"]["per_row_uah"] * 100)  # type: ignore[index]
    df["k"] = np.minimum(np.rint(df["claim_uah"] * 100).astype(np.int64), cap)
    numerator = round(policy["floor_share"] * 1_000_000)  # type: ignore[operator]
    df["floor"] = df["k"] * numerator // 1_000_000
    df["alloc"] = 0
    envelopes: dict[str, float] = policy["envelope"]["per_oblast_uah"]  # type: ignore[index]
    for oblast, group in df.groupby("oblast_code", sort=True):
        envelope = round(envelopes.get(oblast, 0.0) * 100)
        claims = int(group["k"].sum())
        floors = int(group["floor"].sum())
        if envelope < floors:
            amount = (envelope / claims) * group["k"].astype(float) if claims else 0.0 * group["k"]
            pool = pd.Series(True, index=group.index)
        else:
            budget = envelope - floors
            amount = group["floor"].astype(float)
            pool = pd.Series(False, index=group.index)
            for tier in range(3):
                in_tier = group["tier"] == tier
                remaining = int((group.loc[in_tier, "k"] - group.loc[in_tier, "floor"]).sum())
                if remaining <= budget:
                    amount[in_tier] = group.loc[in_tier, "k"].astype(float)
                    budget -= remaining
                else:
                    phi = budget / remaining
                    amount[in_tier] = (
                        phi * group.loc[in_tier, "k"] + (1.0 - phi) * group.loc[in_tier, "floor"]
                    )
                    pool = in_tier
                    break
        target = min(envelope, claims)
        alloc = np.clip(np.floor(amount).astype(np.int64), 0, group["k"])
        frac = np.clip(amount - alloc, 0.0, 1.0)
        residual = target - int(alloc.sum())
        if residual > 0:
            eligible = group[pool & (alloc < group["k"])].assign(frac=frac)
            order = eligible.sort_values(
                ["frac", "k", "case_id"], ascending=[False, False, True], kind="mergesort"
            )
            alloc[order.index[:residual]] += 1
        elif residual < 0:
            eligible = group[pool & (alloc > 0)].assign(frac=1.0 - frac)
            order = eligible.sort_values(
                ["frac", "k", "case_id"], ascending=[False, False, True], kind="mergesort"
            )
            alloc[order.index[:-residual]] -= 1
        df.loc[group.index, "alloc"] = alloc
    return df["alloc"].to_numpy()


def _check_same(size: int = 20_000, seed: int = 7) -> None:
    """Both implementations must agree to the kopiyka before their speeds mean anything."""
    from engine.allocation import allocate, policy_from_dict

    claims = bench_claims(size, seed)
    policy = bench_policy(claims)
    engine = allocate(claims, policy_from_dict(policy), key=["case_id"]).rows
    expected = pandas_allocate(claims.to_pandas(), policy)
    got = np.rint(engine["allocated_uah"].cast(pl.Float64).to_numpy() * 100).astype(np.int64)
    if not np.array_equal(got, expected):
        diff = int((got != expected).sum())
        raise AssertionError(f"engine and pandas allocations differ on {diff} of {size} rows")


def run(sizes: Sequence[int] | None = None, *, quick: bool = False) -> list[BenchResult]:
    """Engine at every size (default 1 M and 10 M rows; `quick`: 100 k), pandas at the sizes up to
    1 M rows, each in a fresh process, after checking that both give the same kopiyky."""
    if sizes is None:
        sizes = (100_000,) if quick else (1_000_000, 10_000_000)
    _check_same()
    target = "engine.bench.allocation"
    pandas_sizes = sorted({min(s, _PANDAS_MAX_ROWS) for s in sizes})
    results: list[BenchResult] = []
    engine_by_size: dict[int, BenchResult] = {}
    for size in sorted(set(sizes) | set(pandas_sizes)):
        result = run_isolated(
            f"{target}:setup_engine", area="allocation", case="engine", size=size, unit="rows"
        )
        engine_by_size[size] = result
        results.append(result)
    for size in pandas_sizes:
        pandas_result = run_isolated(
            f"{target}:setup_pandas", area="allocation", case="pandas loop", size=size, unit="rows"
        )
        ratio = pandas_result.seconds / engine_by_size[size].seconds
        results.append(_with_note(pandas_result, f"engine {ratio:,.0f}x faster"))
    return results


def _with_note(result: BenchResult, extra: str) -> BenchResult:
    note = f"{result.note}; {extra}" if result.note else extra
    return BenchResult(
        result.area,
        result.case,
        result.size,
        result.unit,
        result.seconds,
        result.peak_mb,
        result.peak_includes_setup,
        note,
    )
