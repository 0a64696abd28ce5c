"""A slow, obviously-correct statement of DESIGN.md §6 in exact fractions, to check the engine against.

It loops over groups and tiers and rows in plain Python: no numpy, no floats, no rounding. The
engine must land within one kopiyka of its amount on every row, and on its totals exactly.
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction


def exact_allocation(
    capped_kop: list[int],
    tier: list[int],
    group: list[str],
    envelope_kop: dict[str, int],
    floor_share: float,
) -> list[Fraction]:
    """Exact amount (in kopiyky) each row is owed under the default policy."""
    share = Fraction(round(floor_share * 1_000_000), 1_000_000)
    floors = [(share * k).__floor__() for k in capped_kop]
    out: list[Fraction] = [Fraction(0)] * len(capped_kop)
    members: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(group):
        members[g].append(i)
    for g, rows in members.items():
        envelope = Fraction(envelope_kop.get(g, 0))
        claims = sum(capped_kop[i] for i in rows)
        floor_total = sum(floors[i] for i in rows)
        if envelope < floor_total:
            for i in rows:
                out[i] = envelope * capped_kop[i] / claims
            continue
        budget = envelope - floor_total
        for t in sorted({tier[i] for i in rows}):
            in_tier = [i for i in rows if tier[i] == t]
            remaining = sum(capped_kop[i] - floors[i] for i in in_tier)
            if remaining <= budget:
                for i in in_tier:
                    out[i] = Fraction(capped_kop[i])
                budget -= remaining
            else:
                factor = budget / remaining
                for i in in_tier:
                    out[i] = floors[i] + factor * (capped_kop[i] - floors[i])
                budget = Fraction(0)
    return out
