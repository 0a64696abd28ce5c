"""An exact split of a money gap into people, volume and price: the symmetric Shapley split.

A total is a product of three factors:

    money = people × (case-months ÷ people) × (money ÷ case-months)
          =   P    ×          v            ×           p

From the simulated side (0) to the paid side (1), the gap `M1 − M0` is split into the part each
factor explains. With three factors there is no unique answer; the Shapley split averages the
factor's effect over every order in which the factors can change (here: 2 orders of 6 each give
weight 1/3, the mixed orders 1/6):

    people = ΔP × [(v0·p0 + v1·p1) / 3 + (v0·p1 + v1·p0) / 6]      and so on for v and p

The three parts always add up to the gap exactly, are symmetric (swapping the sides negates
them), and a factor that does not change gets exactly nothing. The log-mean Divisia index (LMDI)
shares these properties but needs logarithms of every factor, so a side with no recipients (a
hromada that reported nobody, a service paid nowhere) has no LMDI split; Shapley's is defined
there. Where a side's ratio is undefined (no people: no volume per person; no case-months: no
price), it takes the other side's value, so a gap where one side is empty goes wholly to people.

Where the report lacks a factor the split has fewer parts: without recipients, `volume` is the
case-months effect (people included) and `price`; without case-months, `people` and `price` as
money per person. Without either, there is no split (`basis` says which applies).

Parts are computed in float64 and rounded to whole kopiyky by largest remainder, so they add up to
the gap (itself exact: paid − simulated kopiyky) to the kopiyka on every row.

>>> import numpy as np
>>> parts = shapley_split(
...     np.array([[10.0, 20.0, 1000.0]]),      # simulated: people, case-months, kopiyky
...     np.array([[12.0, 24.0, 1200.0]]),      # paid: 20% more people, same volume and price
... )
>>> parts.tolist()
[[200.0, 0.0, 0.0]]
"""

from __future__ import annotations

import numpy as np

__all__ = ["BASES", "PARTS", "shapley_split", "split_kopiyky"]

PARTS = ("people", "volume", "price")
BASES = ("people·volume·price", "volume·price", "people·amount", "total")
_LARGEST = 2.0**53  # kopiyky: beyond this a float is no amount of money


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _fill(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each side's undefined ratio takes the other's (0 when both are undefined)."""
    a2 = np.where(np.isnan(a), b, a)
    b2 = np.where(np.isnan(b), a, b)
    return np.nan_to_num(a2), np.nan_to_num(b2)


def _shapley3(x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """Shapley parts of a product of three factors (columns of x0, x1: the two sides)."""
    a0, b0, c0 = x0.T
    a1, b1, c1 = x1.T
    people = (a1 - a0) * ((b0 * c0 + b1 * c1) / 3 + (b0 * c1 + b1 * c0) / 6)
    volume = (b1 - b0) * ((a0 * c0 + a1 * c1) / 3 + (a0 * c1 + a1 * c0) / 6)
    price = (c1 - c0) * ((a0 * b0 + a1 * b1) / 3 + (a0 * b1 + a1 * b0) / 6)
    return np.column_stack([people, volume, price])


def _shapley2(x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """Shapley parts of a product of two factors: ΔA·(B0+B1)/2 and ΔB·(A0+A1)/2."""
    a0, b0 = x0.T
    a1, b1 = x1.T
    return np.column_stack([(a1 - a0) * (b0 + b1) / 2, (b1 - b0) * (a0 + a1) / 2])


def shapley_split(sim: np.ndarray, paid: np.ndarray, basis: np.ndarray | None = None) -> np.ndarray:
    """Parts (people, volume, price) of `paid_money − sim_money` per row, in the money's unit.

    `sim` and `paid` are (n, 3) arrays of people, case-months and money. `basis` (n,) holds each
    row's index into `BASES` (default: all rows have every factor); a part a basis lacks is NaN,
    and a row whose split is not finite has none. The parts add up to the gap up to float
    rounding (see `split_kopiyky` for exact kopiyky).
    """
    with np.errstate(all="ignore"):
        out = _split(sim, paid, basis)
    # a split that is not finite or exceeds what money can be (a side of 1e-30 case-months with
    # money on it) is no split: the gap stands whole
    absurd = np.any(~np.isnan(out) & ~(np.abs(out) < _LARGEST), axis=1)
    out[absurd] = np.nan
    return out


def _split(sim: np.ndarray, paid: np.ndarray, basis: np.ndarray | None) -> np.ndarray:
    n = sim.shape[0]
    basis = np.zeros(n, dtype=np.int64) if basis is None else basis
    out = np.full((n, 3), np.nan)
    people0, volume0, money0 = sim.T
    people1, volume1, money1 = paid.T
    full = basis == 0
    if full.any():
        v0, v1 = _fill(_ratio(volume0, people0)[full], _ratio(volume1, people1)[full])
        p0, p1 = _fill(_ratio(money0, volume0)[full], _ratio(money1, volume1)[full])
        x0 = np.column_stack([people0[full], v0, p0])
        x1 = np.column_stack([people1[full], v1, p1])
        out[full] = _shapley3(x0, x1)
    for kind, (size0, size1), columns in (
        (1, (volume0, volume1), [1, 2]),  # volume · price
        (2, (people0, people1), [0, 2]),  # people · amount per person
    ):
        rows = basis == kind
        if rows.any():
            r0, r1 = _fill(_ratio(money0, size0)[rows], _ratio(money1, size1)[rows])
            x0 = np.column_stack([size0[rows], r0])
            x1 = np.column_stack([size1[rows], r1])
            out[np.ix_(rows, columns)] = _shapley2(x0, x1)
    return out


def split_kopiyky(parts: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """Whole kopiyky per part (NaN parts stay absent: 0 here) that add up to `gap` exactly.

    Largest remainder: every part is rounded down, then the kopiyky still missing go one each to
    the parts with the largest fractions (ties: the earlier part). `parts` are in kopiyky.

    >>> split_kopiyky(np.array([[100.6, 50.3, 49.1]]), np.array([200])).tolist()
    [[101, 50, 49]]
    """
    present = ~np.isnan(parts)
    values = np.where(present, parts, 0.0)
    floor = np.floor(values)
    fraction = np.where(present, values - floor, -np.inf)
    count = present.sum(axis=1)
    missing = gap - floor.sum(axis=1).astype(np.int64)
    safe = np.maximum(count, 1)
    each, rest = np.divmod(missing, safe)  # float noise may leave more than one a part
    order = np.argsort(-fraction, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(parts.shape[1])[None, :], axis=1)
    extra = each[:, None] + (rank < rest[:, None])
    return np.where(present, floor.astype(np.int64) + extra, 0)
