"""Kopiyka-exact rounding: largest remainder per envelope group, independent of row order.

Only the rows of the rounding pool (the marginal tier, or every row of a group whose floors are
unaffordable) carry fractions of a kopiyka. Their amounts are floored and each group's residual
kopiyky go one each to the pool rows with the largest fractional parts; ties go to the larger
claim, then to the smaller row key. The top rows are found with a histogram of the fractions (one
pass, no per-group loop); only the rows in each group's threshold bin are sorted, by their key.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from engine.errors import EngineError

__all__ = ["round_pool"]

_MAX_BINS = 1 << 16


def round_pool(
    amount: np.ndarray,
    capped: np.ndarray,
    gid: np.ndarray,
    target: np.ndarray,
    *,
    keys: pl.DataFrame,
    index: np.ndarray,
) -> np.ndarray:
    """Round the pool's float kopiyky `amount` so that group `g` sums to `target[g]` exactly.

    `capped` and `gid` are the pool rows' capped claims and envelope groups; `index` their row
    numbers in `keys` (the row-key columns of the whole claims frame). Each row moves by at most
    one kopiyka from its floor, never below 0 nor above its capped claim.
    """
    n_groups = target.shape[0]
    if amount.size == 0:
        return np.zeros(0, dtype=np.int64)
    whole = np.floor(amount)
    frac = np.subtract(amount, whole, out=amount)  # the caller's array is scratch from here on
    alloc = whole.astype(np.int64)
    del whole
    np.minimum(alloc, capped, out=alloc)  # float noise must not lift a row above its claim
    residual = target - np.rint(np.bincount(gid, weights=alloc, minlength=n_groups)).astype(
        np.int64
    )
    if (residual > 0).any():
        np.clip(frac, 0.0, 1.0, out=frac)
        picked = _top_per_group(
            gid, frac, alloc < capped, np.maximum(residual, 0), capped=capped, keys=keys,
            index=index,
        )  # fmt: skip
        alloc[picked] += 1
    if (residual < 0).any():
        # float noise made a floor overshoot: take a kopiyka back from the smallest fractions
        score = np.clip(1.0 - frac, 0.0, 1.0)
        picked = _top_per_group(
            gid, score, alloc > 0, np.maximum(-residual, 0), capped=capped, keys=keys, index=index
        )
        alloc[picked] -= 1
    return alloc


def _top_per_group(
    gid: np.ndarray,
    score: np.ndarray,
    eligible: np.ndarray,
    need: np.ndarray,
    *,
    capped: np.ndarray,
    keys: pl.DataFrame,
    index: np.ndarray,
) -> np.ndarray:
    """Positions of the pool rows picked: in each group g, the need[g] eligible rows with the
    highest score (ties: larger claim, then smaller key)."""
    n_groups = need.shape[0]
    eligible &= need[gid] > 0
    everyone = bool(eligible.all())
    rows = None if everyone else np.flatnonzero(eligible)
    g = gid if rows is None else gid[rows]
    s = score if rows is None else score[rows]

    def positions(mask: np.ndarray) -> np.ndarray:
        hits = np.flatnonzero(mask)
        return hits if rows is None else rows[hits]

    available = np.bincount(g, minlength=n_groups)
    if (available < need).any():
        worst = int(np.argmax(need - available))
        raise EngineError(
            f"internal: kopiyka rounding needs {need[worst]} rows in envelope group {worst} "
            f"but only {available[worst]} can take a kopiyka"
        )
    # about one row per bin, within what a (groups × bins) histogram can afford
    wanted = 1 << int(np.ceil(np.log2(max(g.size, 2))))
    bins = max(256, min(wanted, _MAX_BINS, (1 << 24) // max(n_groups, 1)))
    b = (s * bins).astype(np.int64)
    np.minimum(b, bins - 1, out=b)
    cell = g * bins
    cell += b
    hist = np.bincount(cell, minlength=n_groups * bins).reshape(n_groups, bins)
    del cell
    at_or_above = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1]  # rows with bin >= b
    threshold = (at_or_above >= need[:, None]).sum(axis=1) - 1
    above = np.where(
        threshold + 1 < bins,
        at_or_above[np.arange(n_groups), np.minimum(threshold + 1, bins - 1)],
        0,
    )
    row_threshold = threshold[g]
    picked = [positions(b > row_threshold)]
    in_bin = np.flatnonzero(b == row_threshold)
    if in_bin.size:
        picked.append(
            _resolve_bin(
                in_bin if rows is None else rows[in_bin],
                g[in_bin],
                s[in_bin],
                capped=capped,
                still=need - above,
                keys=keys,
                index=index,
            )
        )
    return np.concatenate(picked)


def _resolve_bin(
    cand: np.ndarray,
    g: np.ndarray,
    score: np.ndarray,
    *,
    capped: np.ndarray,
    still: np.ndarray,
    keys: pl.DataFrame,
    index: np.ndarray,
) -> np.ndarray:
    """Pick `still[g]` rows of each group's threshold bin in the exact order (score, claim, key).

    Rows tie on (score, claim) in blocks (equal claims give equal fractions), so blocks are ordered
    first and only each group's boundary block is sorted by the row key.
    """
    frame = pl.DataFrame({"__g": g, "__score": score, "__claim": capped[cand], "__row": cand})
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
