"""Case locations: each case cut by its recipient's residence spells and by the end of its wait.

A case contributes at most six candidate rows (3 residence spells x waiting / served) built as whole
arrays; empty ones are dropped. Rows of one case are contiguous and never overlap: each starts the day
after the previous one ends. Waiting rows have no provider; the last row of an open case is open.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.synth._cases import OPEN, CaseDraw
from engine.synth._people import Residence
from engine.synth._providers import ProviderIndex

__all__ = ["LocationDraw", "draw_locations"]


@dataclass(frozen=True)
class LocationDraw:
    case: np.ndarray  # case row
    hromada: np.ndarray  # hromada row
    provider: np.ndarray  # provider row, -1 while waiting
    valid_from: np.ndarray
    valid_to: np.ndarray  # OPEN = open


def draw_locations(
    cases: CaseDraw, res: Residence, providers: ProviderIndex, rng: np.random.Generator, ex: int
) -> LocationDraw:
    n = cases.start.size
    is_open = cases.end == OPEN
    cs, ce = cases.start, np.where(is_open, ex, cases.end)
    we = cases.wait_end
    move = res.move[:, cases.rec]
    spell_from = (cs, move[0], move[1])
    spell_to = (move[0] - 1, move[1] - 1, np.full(n, OPEN))

    blocks: list[tuple[np.ndarray, ...]] = []
    for k in range(3):
        hromada = res.home[k, cases.rec]
        lo = np.maximum(cs, spell_from[k])
        hi = np.minimum(ce, spell_to[k])
        waiting = (lo, np.minimum(hi, we - 1))
        served = (np.maximum(lo, we), hi)
        for (a, b), has_provider in ((waiting, False), (served, True)):
            keep = np.flatnonzero(a <= b)
            provider = (
                providers.pick(rng, hromada[keep]) if has_provider else np.full(keep.size, -1)
            )
            blocks.append((keep, hromada[keep], provider, a[keep], b[keep]))

    case, hromada, provider, valid_from, valid_to = (
        np.concatenate([blk[i] for blk in blocks]) for i in range(5)
    )
    # blocks were built in time order (spell 0 waiting, spell 0 served, spell 1 ...), so a stable
    # sort by case alone leaves each case's rows in date order
    order = np.argsort(case, kind="stable")
    case, hromada, provider, valid_from, valid_to = (
        a[order] for a in (case, hromada, provider, valid_from, valid_to)
    )
    last_of_open = is_open[case] & (valid_to == ce[case])
    valid_to = np.where(last_of_open, OPEN, valid_to)
    return LocationDraw(case, hromada, provider, valid_from, valid_to)
