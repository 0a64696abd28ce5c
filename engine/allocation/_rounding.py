"""Kopiyka-exact rounding: largest remainder per envelope group, independent of row order.

Only the rows of the rounding pool (the marginal tier, or every row of a group whose floors are
unaffordable) carry fractions of a kopiyka. Their amounts are floored and each group's residual
kopiyky go one each to the pool rows with the largest fractional parts; ties go to the larger
claim, then to the smaller row key. The top rows are found with a histogram of the fractions (no
per-group loop), built while the pool is filled; only the rows in each group's threshold bin are
ordered exactly, and among rows that tie on fraction and claim only the boundary set is sorted, by
its key.

The pool is filled and walked in blocks of rows: every temporary is then under 4 MB, which the
allocator recycles, instead of pool-sized arrays the kernel must fault in one by one.

    >>> amount, claim = np.array([0.5, 1.25, 2.0]), np.array([1, 2, 2])
    >>> pool = Pool(3, n_groups=1, n_rows=3)
    >>> allocated = pool.add(np.arange(3), amount.copy(), claim, np.zeros(3, dtype=int))
    >>> round_pool(pool, np.array([4]), allocated, amounts=lambda at: amount[at],
    ...            claims=lambda at: claim[at], keys=pl.DataFrame())
    >>> allocated.tolist()
    [1, 1, 2]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from engine.buffers import blocks, empty, small_uint
from engine.errors import EngineError

__all__ = ["BLOCK", "Pool", "round_pool"]

BLOCK = 1 << 18  # pool rows per block: < 4 MB temporaries, which the allocator recycles
_MAX_BINS = 1 << 16
_MAX_CELLS = 1 << 17  # histogram cells over all groups: 1 MB of counts, which stays in cache


class Pool:
    """The rows to round, added in blocks: row numbers, groups, histogram cells, floored sums.

    A row's histogram cell is its group's offset plus the bin of its fraction; cell 0 holds the
    rows that cannot take a kopiyka more (floored at their claim already). The amounts themselves
    live in the caller's per-row array; the few fractions needed again are recomputed.
    """

    def __init__(self, size: int, n_groups: int, n_rows: int) -> None:
        # row numbers fit 32 bits below 2**31 rows: half the memory
        self.index = empty(size, np.int32 if n_rows < 2**31 else np.intp)
        self.gid = empty(size, small_uint(n_groups))
        self.cells = empty(size, np.int32)
        self.floored = np.zeros(n_groups, dtype=np.int64)
        wanted = 1 << int(np.ceil(np.log2(max(size, 2))))
        self.bins = max(256, min(wanted, _MAX_BINS, _MAX_CELLS // max(n_groups, 1)))
        self.offset = np.arange(n_groups, dtype=np.int32) * self.bins + 1
        self.hist = np.zeros(n_groups * self.bins + 1, dtype=np.int64)
        self.filled = 0

    @property
    def size(self) -> int:
        return self.index.shape[0]

    def add(
        self, rows: np.ndarray, amount: np.ndarray, capped: np.ndarray, gid: np.ndarray
    ) -> np.ndarray:
        """Append rows (their row numbers, float kopiyky, capped claims and envelope groups);
        returns their floored kopiyky. `amount` is used up (it is left holding fractions)."""
        start = self.filled
        stop = self.filled = start + rows.shape[0]
        self.index[start:stop] = rows
        whole = np.floor(amount)
        frac = np.subtract(amount, whole, out=amount)
        part = whole.astype(np.int64)
        np.minimum(part, capped, out=part)  # float noise must not lift a row above its claim
        self.gid[start:stop] = gid
        np.add.at(self.floored, gid, part)
        # the histogram of the fractions of the rows that can take a kopiyka more
        self.bin(frac, gid, part < capped, self.cells[start:stop], self.hist)
        return part

    def bin(
        self,
        score: np.ndarray,
        gid: np.ndarray,
        movable: np.ndarray,
        out: np.ndarray,
        hist: np.ndarray,
    ) -> None:
        """Histogram cells of rows into `out` (0 where not movable), counted into `hist`."""
        np.copyto(out, score * self.bins, casting="unsafe")
        np.minimum(out, self.bins - 1, out=out)
        out += self.offset[gid]
        out *= movable
        np.add.at(hist, out, 1)


def round_pool(
    pool: Pool,
    target: np.ndarray,
    allocated: np.ndarray,
    *,
    amounts: Callable[[slice | np.ndarray], np.ndarray],
    claims: Callable[[np.ndarray], np.ndarray],
    keys: pl.DataFrame,
) -> None:
    """Round the pool's rows of `allocated` (floored) so that group `g` gains `target[g]` exactly.

    `amounts` and `claims` recompute the float kopiyky and capped claims at pool positions (for
    the few rows ordered exactly); `keys` are the row-key columns of the whole claims frame. Each
    row moves by at most one kopiyka from its floor, never below 0 nor above its capped claim.
    """
    residual = target - pool.floored
    index = pool.index
    if (residual > 0).any():
        cand, still = _top_per_group(pool, pool.hist, np.maximum(residual, 0), allocated, step=1)
        frac = _blockwise(lambda at: _fractions(amounts(at)), cand, np.float64)
        allocated[index[_resolve(cand, still, pool, frac, claims=claims, keys=keys)]] += 1
    if (residual < 0).any():
        # float noise made a floor overshoot: take a kopiyka back from the smallest fractions
        hist = np.zeros_like(pool.hist)
        for at in blocks(pool.size, BLOCK):
            score = np.clip(1.0 - _fractions(amounts(at)), 0.0, 1.0)
            movable = allocated[index[at]] > 0
            pool.bin(score, pool.gid[at], movable, pool.cells[at], hist)
        cand, still = _top_per_group(pool, hist, np.maximum(-residual, 0), allocated, step=-1)
        score = _blockwise(lambda at: np.clip(1.0 - _fractions(amounts(at)), 0.0, 1.0), cand)
        allocated[index[_resolve(cand, still, pool, score, claims=claims, keys=keys)]] -= 1


def _fractions(amount: np.ndarray) -> np.ndarray:
    return amount - np.floor(amount)


def _blockwise(
    values: Callable[[np.ndarray], np.ndarray], at: np.ndarray, dtype: type = np.float64
) -> np.ndarray:
    """values(at) computed block by block into one array (no large temporaries)."""
    out = empty(at.shape[0], dtype)
    for block in blocks(at.shape[0], BLOCK):
        out[block] = values(at[block])
    return out


def _top_per_group(
    pool: Pool, hist: np.ndarray, need: np.ndarray, allocated: np.ndarray, *, step: int
) -> tuple[np.ndarray, np.ndarray]:
    """In each group g, the need[g] movable rows with the highest score, by the histogram.

    The rows above each group's threshold bin move by `step` kopiyka here; the rows in it are
    returned as candidates, with the number each group still takes from them.
    """
    n_groups, bins = need.shape[0], pool.bins
    table = hist[1:].reshape(n_groups, bins)
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
    # each group's threshold cell; past its last cell for a group that needs nothing
    limit = pool.offset + np.where(need > 0, threshold, bins)
    candidates = [np.zeros(0, dtype=np.intp)]
    for block in blocks(pool.size, BLOCK):
        cell, at = pool.cells[block], limit[pool.gid[block]]
        allocated[pool.index[block.start + np.flatnonzero(cell > at)]] += step
        candidates.append(block.start + np.flatnonzero(cell == at))
    cand = empty(sum(c.shape[0] for c in candidates), np.int32 if pool.size < 2**31 else np.intp)
    np.concatenate(candidates, out=cand)
    return cand, need - above


def _resolve(
    cand: np.ndarray,
    still: np.ndarray,
    pool: Pool,
    score: np.ndarray,
    *,
    claims: Callable[[np.ndarray], np.ndarray],
    keys: pl.DataFrame,
) -> np.ndarray:
    """Pool positions taken from the threshold bins (`score`: the candidates' scores)."""
    if not cand.size:
        return cand
    return _order_bin(
        cand,
        pool.gid[cand],
        score,
        capped=_blockwise(claims, cand, np.int64),
        still=still,
        keys=keys,
        index=pool.index,
    )


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

    Rows tie on (score, claim) in sets (equal claims give equal fractions). The tie sets are
    counted and ordered; each group's cut-off set, the last one it still takes rows from, splits
    the candidates into those above it (taken), below it (not), and in it: taken whole if it
    fits, else ordered by the row key (the boundary set, often one shared tariff).
    """
    n_groups = still.shape[0]
    ties = (
        pl.DataFrame({"g": gid, "s": score, "c": capped})
        .group_by("g", "s", "c")
        .len()
        .sort(["g", "s", "c"], descending=[False, True, True])
    )
    tie_g = ties["g"].to_numpy()
    size = ties["len"].to_numpy().astype(np.int64)
    before = np.cumsum(size) - size
    first = np.searchsorted(tie_g, tie_g)  # each tie set's group's first set
    left = still[tie_g] - (before - before[first])  # rows the group still takes at this set
    cutoff = np.full(n_groups, -1, dtype=np.intp)
    reached = np.flatnonzero(left > 0)
    cutoff[tie_g[reached]] = reached  # sets are sorted: the last one reached per group wins
    if (cutoff[tie_g] < 0).any():
        raise EngineError("internal: a kopiyka candidate's group takes no candidate")
    cut_s, cut_c = ties["s"].to_numpy(), ties["c"].to_numpy()
    fits = size[cutoff] <= left[cutoff]  # per group: its cut-off set is taken whole
    taken = empty(cand.shape[0], np.bool_)  # above the cut-off set, or in it when it fits
    inside = empty(cand.shape[0], np.bool_)  # in a cut-off set that does not fit
    for at in blocks(cand.shape[0], BLOCK):
        g, s, c = gid[at], score[at], capped[at]
        cut = cutoff[g]
        same = s == cut_s[cut]
        above = (s > cut_s[cut]) | (same & (c > cut_c[cut]))
        same &= c == cut_c[cut]
        np.logical_or(above, same & fits[g], out=taken[at])
        np.logical_and(same, ~fits[g], out=inside[at])
    whole = cand[taken]
    inside = np.flatnonzero(inside)
    if not inside.size:
        return whole
    return np.concatenate([whole, _by_key(cand[inside], gid[inside], left[cutoff], keys, index)])


def _by_key(
    cand: np.ndarray, gid: np.ndarray, take: np.ndarray, keys: pl.DataFrame, index: np.ndarray
) -> np.ndarray:
    """The `take[g]` candidates of each group g with the smallest row keys (nulls last).

    Rows equal in key keep their pool order; with no key, the pool position decides.
    """
    if keys.width:
        order = (
            keys[index[cand]]
            .select(pl.arg_sort_by(keys.columns, nulls_last=True, maintain_order=True))
            .to_series()
            .to_numpy()
        )
        cand, gid = cand[order], gid[order]
    by_group = np.argsort(gid.astype(small_uint(take.shape[0])), kind="stable")
    counts = np.bincount(gid, minlength=take.shape[0])
    starts = np.cumsum(counts) - counts
    g = gid[by_group]
    rank = np.arange(by_group.shape[0]) - starts[g]
    return cand[by_group[rank < take[g]]]
