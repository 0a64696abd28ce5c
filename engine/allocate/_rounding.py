"""Kopiyka-exact rounding: largest remainder per envelope group, independent of row order.

Only the rows of the rounding pool (the marginal tier, or every row of a group whose floors are
unaffordable) carry fractions of a kopiyka. Their amounts are floored and each group's residual
kopiyky go one each to the pool rows with the largest fractional parts; ties go to the larger
claim, then to the smaller row key. The top rows are found with a histogram of the fractions (no
per-group loop); only the rows in each group's threshold bin are ordered exactly, and among rows
that tie on fraction and claim only the boundary block is sorted, by its key.

The pool is walked in blocks of a million rows: every temporary is then a few megabytes that the
allocator recycles, instead of dozens of pool-sized arrays the kernel must fault in one by one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from engine.errors import EngineError

__all__ = ["BLOCK", "PoolBlock", "round_pool"]

BLOCK = 1 << 20
_MAX_BINS = 1 << 16

# (pool positions, with_amount) -> (float kopiyky or None, capped claims, envelope groups) of rows
PoolBlock = Callable[[slice | np.ndarray, bool], tuple[np.ndarray | None, np.ndarray, np.ndarray]]


def round_pool(
    block: PoolBlock,
    size: int,
    target: np.ndarray,
    *,
    keys: pl.DataFrame,
    index: np.ndarray,
) -> np.ndarray:
    """Round the pool's float kopiyky so that group `g` sums to `target[g]` exactly.

    `block(positions, with_amount)` describes pool rows (a slice or an array of positions);
    `index` maps pool positions to
    rows of `keys` (the row-key columns of the whole claims frame). Each row moves by at most one
    kopiyka from its floor, never below 0 nor above its capped claim.
    """
    n_groups = target.shape[0]
    alloc = np.empty(size, dtype=np.int64)
    frac = np.empty(size, dtype=np.float64)
    floored = np.zeros(n_groups, dtype=np.int64)
    for start in range(0, size, BLOCK):
        stop = min(start + BLOCK, size)
        amount, capped, gid = block(slice(start, stop), True)
        assert amount is not None
        whole = np.floor(amount)
        np.subtract(amount, whole, out=frac[start:stop])
        part = alloc[start:stop]
        part[:] = whole
        np.minimum(part, capped, out=part)  # float noise must not lift a row above its claim
        np.add.at(floored, gid, part)
    residual = target - floored
    if (residual > 0).any():
        np.clip(frac, 0.0, 1.0, out=frac)
        picked = _top_per_group(block, size, frac, np.maximum(residual, 0), alloc, up=True)
        alloc[_resolve(picked, block, frac, keys, index)] += 1
    if (residual < 0).any():
        # float noise made a floor overshoot: take a kopiyka back from the smallest fractions
        score = np.clip(1.0 - frac, 0.0, 1.0)
        picked = _top_per_group(block, size, score, np.maximum(-residual, 0), alloc, up=False)
        alloc[_resolve(picked, block, score, keys, index)] -= 1
    return alloc


class _Picked:
    """Rows taken outright, and the threshold-bin candidates still to order, per group."""

    def __init__(self, still: np.ndarray) -> None:
        self.taken: list[np.ndarray] = []
        self.candidates: list[np.ndarray] = []
        self.still = still  # candidates to take per group


def _top_per_group(
    block: PoolBlock,
    size: int,
    score: np.ndarray,
    need: np.ndarray,
    alloc: np.ndarray,
    *,
    up: bool,
) -> _Picked:
    """In each group g, the need[g] eligible rows with the highest score, by a histogram."""
    n_groups = need.shape[0]
    wanted = 1 << int(np.ceil(np.log2(max(size, 2))))
    bins = max(256, min(wanted, _MAX_BINS, (1 << 24) // max(n_groups, 1)))
    hist = np.zeros(n_groups * bins, dtype=np.int64)
    needy = need > 0

    def binned(start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        _, capped, gid = block(slice(start, stop), False)
        part = alloc[start:stop]
        eligible = (part < capped) if up else (part > 0)
        if not needy.all():
            eligible &= needy[gid]
        b = (score[start:stop] * bins).astype(np.int64)
        np.minimum(b, bins - 1, out=b)
        return gid, b, eligible

    for start in range(0, size, BLOCK):
        gid, b, eligible = binned(start, min(start + BLOCK, size))
        cell = gid * bins
        cell += b
        hist += np.bincount(cell[eligible], minlength=n_groups * bins)
    table = hist.reshape(n_groups, bins)
    available = table.sum(axis=1)
    if (available < need).any():
        worst = int(np.argmax(need - available))
        raise EngineError(
            f"internal: kopiyka rounding needs {need[worst]} rows in envelope group {worst} "
            f"but only {available[worst]} can take a kopiyka"
        )
    at_or_above = np.cumsum(table[:, ::-1], axis=1)[:, ::-1]  # rows with bin >= b
    threshold = (at_or_above >= need[:, None]).sum(axis=1) - 1
    above = np.where(
        threshold + 1 < bins,
        at_or_above[np.arange(n_groups), np.minimum(threshold + 1, bins - 1)],
        0,
    )
    picked = _Picked(need - above)
    for start in range(0, size, BLOCK):
        gid, b, eligible = binned(start, min(start + BLOCK, size))
        limit = threshold[gid]
        picked.taken.append(start + np.flatnonzero(eligible & (b > limit)))
        picked.candidates.append(start + np.flatnonzero(eligible & (b == limit)))
    return picked


def _resolve(
    picked: _Picked, block: PoolBlock, score: np.ndarray, keys: pl.DataFrame, index: np.ndarray
) -> np.ndarray:
    """Pool positions taken: the rows above each threshold plus the right threshold-bin rows."""
    cand = np.concatenate(picked.candidates)
    if not cand.size:
        return np.concatenate(picked.taken)
    _, capped, gid = block(cand, False)  # the candidates are few next to the pool
    chosen = _order_bin(
        cand, gid, score[cand], capped=capped, still=picked.still, keys=keys, index=index
    )
    return np.concatenate([*picked.taken, chosen])


def _order_bin(
    cand: np.ndarray,
    gid: np.ndarray,
    score: np.ndarray,
    *,
    capped: np.ndarray,
    still: np.ndarray,
    keys: pl.DataFrame,
    index: np.ndarray,
) -> np.ndarray:
    """Take `still[g]` candidates of each group in the exact order (score, claim, key).

    Rows tie on (score, claim) in blocks (equal claims give equal fractions), so blocks are ordered
    first and only each group's boundary block is sorted by the row key.
    """
    frame = pl.DataFrame({"__g": gid, "__score": score, "__claim": capped, "__row": cand})
    blocks = (
        frame.group_by("__g", "__score", "__claim")
        .agg(pl.len().alias("__n"))
        .sort(["__g", "__score", "__claim"], descending=[False, True, True])
        .with_columns(__before=pl.col("__n").cum_sum().over("__g") - pl.col("__n"))
        .with_columns(__left=pl.lit(pl.Series(still)).gather(pl.col("__g")) - pl.col("__before"))
        .filter(pl.col("__left") > 0)
    )
    frame = frame.join(blocks, on=["__g", "__score", "__claim"], how="inner")
    whole = frame.filter(pl.col("__n") <= pl.col("__left"))["__row"].to_numpy()
    boundary = frame.filter(pl.col("__n") > pl.col("__left"))
    if boundary.height == 0:
        return whole
    key_cols = list(keys.columns)
    if key_cols:
        # one sort by the key, then each row's rank within its group: rows equal in key and
        # claim are interchangeable, so the sort need not be stable
        boundary = boundary.hstack(keys[index[boundary["__row"].to_numpy()]]).sort(
            key_cols, nulls_last=True
        )
    else:  # no key given: the row position decides, deterministically
        boundary = boundary.sort("__row")
    taken = boundary.filter(pl.int_range(pl.len()).over("__g") < pl.col("__left"))
    return np.concatenate([whole, taken["__row"].to_numpy()])
