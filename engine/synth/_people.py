"""Where recipients live over time: registered hromada, displacement of IDPs, later moves.

A recipient has up to three residence spells: `home[0]` until `move[0] - 1`, `home[1]` from
`move[0]` until `move[1] - 1`, `home[2]` from `move[1]`. Every case of that person is served where
the person lives, so a move re-routes all their cases on the same (mid-month) day: money follows the
recipient. Recipients only live in hromadas that are not occupied at the extract date (a hromada
occupied for a while in 2022 and then liberated may host cases during its occupation: a
simplification).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.synth._calendar import INVASION, days, mid_month

__all__ = ["NO_MOVE", "Residence", "residences"]

NO_MOVE = np.iinfo(np.int64).max

# Where IDPs come from: oblast prefix -> share of registered IDPs (the rest spread by population).
_IDP_ORIGIN: dict[str, float] = {
    "UA14": 0.30,  # Donetsk
    "UA63": 0.18,  # Kharkiv
    "UA44": 0.12,  # Luhansk
    "UA23": 0.10,  # Zaporizhzhia
    "UA65": 0.09,  # Kherson
    "UA48": 0.04,  # Mykolaiv
    "UA01": 0.03,  # Crimea
    "UA85": 0.005,  # Sevastopol
    "UA12": 0.03,  # Dnipropetrovsk (Nikopol side)
    "UA59": 0.03,  # Sumy
    "UA74": 0.02,  # Chernihiv
}
_IDP_ORIGIN_OTHER = 0.025

# Where IDPs are hosted: population weight times a factor (IOM DTM: Kharkiv, Dnipropetrovsk and
# Kyiv oblast host the most registered IDPs); frontline hromadas host fewer.
_IDP_HOST_FACTOR: dict[str, float] = {
    "UA63": 1.8, "UA12": 1.6, "UA32": 1.8, "UA80": 1.2, "UA23": 1.0, "UA46": 1.0,
    "UA53": 1.2, "UA51": 0.9, "UA18": 0.8, "UA05": 0.8, "UA21": 0.6,
}  # fmt: skip
_HOST_DEFAULT = 0.7
_FRONTLINE_HOST = 0.35

_P_DISPLACED_LATER = 0.6  # IDPs from a still-free hromada who lived there before displacement
_P_IDP_MOVE_AGAIN = 0.25
_P_LOCAL_MOVE = 0.04
_P_SECOND_MOVE = 0.15


@dataclass(frozen=True)
class Residence:
    registered: np.ndarray  # hromada row index
    is_idp: np.ndarray
    home: np.ndarray  # (3, n) hromada row index per spell (-1 = none)
    move: np.ndarray  # (2, n) first day of spells 1 and 2 (NO_MOVE = none)


def _draw(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    cdf = np.cumsum(weights)
    return np.minimum(
        np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right"), weights.size - 1
    )


def _elsewhere(rng: np.random.Generator, weights: np.ndarray, avoid: np.ndarray) -> np.ndarray:
    """A hromada drawn by weight, never the one in `avoid`."""
    pick = _draw(rng, weights, avoid.size)
    clash = pick == avoid
    pick[clash] = _draw(rng, weights, int(clash.sum()))
    # a second clash is rare (weights concentrated on one hromada): take the heaviest other one
    first, second = np.argsort(weights, kind="stable")[::-1][:2]
    still = pick == avoid
    pick[still] = np.where(avoid[still] == first, second, first)
    return pick


def _same_oblast(
    rng: np.random.Generator, oblast: np.ndarray, weights: np.ndarray, avoid: np.ndarray
) -> np.ndarray:
    out = avoid.copy()
    avoid_oblast = oblast[avoid]
    for code in np.unique(avoid_oblast):  # a loop over the 27 regions, not over people
        rows = np.flatnonzero(avoid_oblast == code)
        w = np.where(oblast == code, weights, 0.0)
        # a single-unit region (Kyiv city) moves out to anywhere
        out[rows] = _elsewhere(rng, w if np.count_nonzero(w) > 1 else weights, avoid[rows])
    return out


def residences(
    territories: pl.DataFrame,
    occupied_now: np.ndarray,
    ever_frontline: np.ndarray,
    *,
    n: int,
    idp_share: float,
    rng: np.random.Generator,
    first_day: int,
    extract_day: int,
) -> Residence:
    pop = territories["population"].to_numpy().astype(np.float64)
    prefix = territories["oblast_code"].str.slice(0, 4).to_numpy()
    livable = ~occupied_now
    local_w = np.where(livable, pop, 0.0)

    origin_factor = np.array([_IDP_ORIGIN.get(p, 0.0) for p in prefix])
    oblast_pop = pl.Series(pop).to_frame("p").with_columns(o=pl.Series(prefix))
    oblast_total = oblast_pop.select(pl.col("p").sum().over("o"))["p"].to_numpy()
    other = origin_factor == 0
    origin_w = origin_factor * pop / oblast_total + _IDP_ORIGIN_OTHER * other * pop / max(
        pop[other].sum(), 1.0
    )
    host_factor = np.array([_IDP_HOST_FACTOR.get(p, _HOST_DEFAULT) for p in prefix])
    host_w = np.where(
        livable, pop * host_factor * np.where(ever_frontline, _FRONTLINE_HOST, 1.0), 0.0
    )

    is_idp = rng.random(n) < idp_share
    registered = _draw(rng, local_w, n)
    n_idp = int(is_idp.sum())
    registered[is_idp] = _draw(rng, origin_w, n_idp)

    home = np.full((3, n), -1, dtype=np.int64)
    move = np.full((2, n), NO_MOVE, dtype=np.int64)
    home[0] = registered

    # IDPs: either already displaced when their history starts, or displaced after the invasion
    idp = np.flatnonzero(is_idp)
    reg = registered[idp]
    war_in_window = extract_day >= days(INVASION) + 33
    stayed = livable[reg] & (rng.random(idp.size) < _P_DISPLACED_LATER) & war_in_window
    host = _elsewhere(rng, host_w, reg)
    home[0, idp] = np.where(stayed, reg, host)
    late = idp[stayed]
    displaced_on = mid_month(
        rng, days(INVASION) + 2, min(days("2022-09-30"), extract_day), late.size
    )
    move[0, late] = displaced_on
    home[1, late] = host[stayed]
    again = idp[rng.random(idp.size) < _P_IDP_MOVE_AGAIN]
    slot = np.where(move[0, again] == NO_MOVE, 0, 1)
    prev_day = np.where(slot == 0, days("2022-04-01"), move[0, again])
    lo = np.maximum(prev_day, days("2022-04-01")) + 45
    ok = lo + 31 <= extract_day - 15
    again, slot, lo = again[ok], slot[ok], lo[ok]
    when = mid_month(rng, lo, extract_day - 15, again.size)
    current = home[slot, again]
    move[slot, again] = when
    home[slot + 1, again] = _elsewhere(rng, host_w, current)

    # everyone else: a few move within their oblast, some of them twice
    lo1, hi = first_day + 60, extract_day - 15
    long_enough = hi - 90 >= lo1 + 31
    local = np.flatnonzero(~is_idp & (rng.random(n) < _P_LOCAL_MOVE) & long_enough)
    move[0, local] = mid_month(rng, lo1, hi - 90, local.size)
    home[1, local] = _same_oblast(rng, prefix, local_w, home[0, local])
    twice = local[rng.random(local.size) < _P_SECOND_MOVE]
    twice = twice[move[0, twice] + 45 + 31 <= hi]
    move[1, twice] = mid_month(rng, move[0, twice] + 45, hi, twice.size)
    home[2, twice] = _same_oblast(rng, prefix, local_w, home[1, twice])
    return Residence(registered=registered, is_idp=is_idp, home=home, move=move)
