"""Kopiyka-exact rounding: largest remainder per envelope group, independent of row order.

Amounts are computed in float kopiyky, floored, and the residual kopiyky of each group go one each to
the rows of its rounding pool with the largest fractional parts; ties go to the larger claim, then to
the smaller row key. The top rows are found with a histogram of the fractions (one pass over the
rows, no per-group loop); only rows in the threshold bin are sorted, by their key.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from engine.errors import EngineError

__all__ = ["round_to_kopiyky"]

_MAX_BINS = 1 << 16


def round_to_kopiyky(
    amount: np.ndarray,
    capped: np.ndarray,
    gid: np.ndarray,
    pool: np.ndarray,
    target: np.ndarray,
    keys: pl.DataFrame,
) -> np.ndarray:
    """Round float kopiyky `amount` to integers so that each group `g` sums to `target[g]` exactly.

    Only rows where `pool` is true absorb the residual, by at most one kopiyka each, never going
    below 0 or above `capped`.
    """
    n_groups = target.shape[0]
    alloc = np.floor(amount).astype(np.int64)
    np.clip(alloc, 0, capped, out=alloc)
    frac = amount - alloc
    residual = target - np.bincount(gid, weights=alloc, minlength=n_groups).astype(np.int64)
    if not residual.any():
        return alloc
    add = np.maximum(residual, 0)
    if add.any():
        eligible = pool & (alloc < capped)
        alloc += _top_per_group(gid, np.clip(frac, 0.0, 1.0), eligible, add, capped, keys)
    remove = np.maximum(-residual, 0)
    if remove.any():
        # float noise made a floor overshoot: take a kopiyka from the smallest fractions
        eligible = pool & (alloc > 0)
        alloc -= _top_per_group(gid, np.clip(1.0 - frac, 0.0, 1.0), eligible, remove, capped, keys)
    return alloc


def _top_per_group(
    gid: np.ndarray,
    score: np.ndarray,
    eligible: np.ndarray,
    need: np.ndarray,
    capped: np.ndarray,
    keys: pl.DataFrame,
) -> np.ndarray:
    """0/1 per row: in each group g, the need[g] eligible rows with the highest score."""
    n_groups = need.shape[0]
    picked = np.zeros(gid.shape[0], dtype=np.int64)
    rows = np.flatnonzero(eligible & (need[gid] > 0))
    g = gid[rows]
    available = np.bincount(g, minlength=n_groups)
    if (available < need).any():
        worst = int(np.argmax(need - available))
        raise EngineError(
            f"internal: kopiyka rounding needs {need[worst]} rows in envelope group {worst} "
            f"but only {available[worst]} can take a kopiyka"
        )
    bins = max(256, min(_MAX_BINS, (1 << 24) // max(n_groups, 1)))
    b = np.minimum((score[rows] * bins).astype(np.int64), bins - 1)
    hist = np.bincount(g * bins + b, minlength=n_groups * bins).reshape(n_groups, bins)
    at_or_above = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1]  # rows with bin >= b
    threshold = (at_or_above >= need[:, None]).sum(axis=1) - 1
    above_threshold = np.where(
        threshold + 1 < bins,
        at_or_above[np.arange(n_groups), np.minimum(threshold + 1, bins - 1)],
        0,
    )
    row_threshold = threshold[g]
    picked[rows[b > row_threshold]] = 1
    # the threshold bin: order its rows exactly (score, then larger claim, then key) and take the rest
    cand = rows[b == row_threshold]
    if cand.size:
        order = pl.DataFrame({"_g": gid[cand], "_s": score[cand], "_k": capped[cand], "_i": cand})
        key_cols = list(keys.columns)
        if key_cols:
            order = order.hstack(keys[cand])
        order = order.sort(
            ["_g", "_s", "_k", *key_cols],
            descending=[False, True, True, *([False] * len(key_cols))],
            nulls_last=True,
        )
        sorted_g = order["_g"].to_numpy()
        first = np.searchsorted(sorted_g, sorted_g, side="left")
        rank = np.arange(sorted_g.shape[0]) - first
        still = need - above_threshold
        take = rank < still[sorted_g]
        picked[order["_i"].to_numpy()[take]] = 1
    return picked
