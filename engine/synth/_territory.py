"""Territory statuses over time: occupied and frontline trajectories, stable mountain and rural status.

The war's geography is coarse on purpose: trajectories are assigned to a random share of the
hromadas of the raions named below (by raion name, so the real codifier gives a recognisable map),
with change dates drawn inside realistic windows and never on the 1st of a month. A hromada follows
at most one occupied/frontline trajectory, so its occupied and frontline rows never overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.synth._calendar import days, mid_month, to_date_series

__all__ = ["TerritoryFacts", "territory_statuses"]

_OPEN = np.iinfo(np.int64).max

# (oblast code prefix, raion names or None for all, share of hromadas, phases). A phase is
# (status or None, earliest start, latest start); each phase ends the day before the next starts,
# the last stays open. None = the status simply ends (liberated, no longer frontline).
_Phase = tuple[str | None, str, str]
_TRAJECTORIES: tuple[tuple[str, tuple[str, ...] | None, float, tuple[_Phase, ...]], ...] = (
    ("UA01", None, 1.0, (("occupied", "2014-02-20", "2014-02-20"),)),
    ("UA85", None, 1.0, (("occupied", "2014-02-20", "2014-02-20"),)),
    ("UA14", ("Донецький", "Горлівський", "Кальміуський"), 1.0,
     (("occupied", "2014-04-07", "2014-08-31"),)),
    ("UA44", ("Луганський", "Алчевський", "Ровеньківський", "Довжанський"), 1.0,
     (("occupied", "2014-04-07", "2014-08-31"),)),
    ("UA44", None, 1.0,
     (("frontline", "2022-02-24", "2022-02-24"), ("occupied", "2022-03-02", "2022-07-03"))),
    ("UA14", ("Маріупольський", "Волноваський"), 0.9,
     (("frontline", "2022-02-24", "2022-02-24"), ("occupied", "2022-03-02", "2022-05-20"))),
    ("UA14", ("Бахмутський",), 0.5,
     (("frontline", "2022-02-24", "2022-02-24"), ("occupied", "2023-01-10", "2024-02-17"))),
    ("UA14", ("Покровський",), 0.35,
     (("frontline", "2022-02-24", "2022-02-24"), ("occupied", "2024-08-02", "2025-11-28"))),
    ("UA14", None, 1.0, (("frontline", "2022-02-24", "2022-02-24"),)),
    ("UA23", ("Мелітопольський", "Бердянський", "Василівський"), 0.9,
     (("occupied", "2022-02-26", "2022-04-15"),)),
    ("UA23", ("Пологівський",), 0.6, (("occupied", "2022-03-02", "2022-04-15"),)),
    ("UA23", None, 0.8, (("frontline", "2022-02-24", "2022-02-24"),)),
    ("UA65", ("Генічеський", "Скадовський", "Каховський"), 1.0,
     (("occupied", "2022-02-24", "2022-03-15"),)),
    ("UA65", None, 1.0,
     (("occupied", "2022-02-25", "2022-03-15"), ("frontline", "2022-11-11", "2022-11-11"))),
    ("UA63", ("Ізюмський", "Куп’янський"), 0.8,
     (("occupied", "2022-02-27", "2022-04-01"), ("frontline", "2022-09-06", "2022-10-05"))),
    ("UA63", ("Харківський", "Чугуївський", "Богодухівський"), 0.6,
     (("frontline", "2022-02-24", "2022-02-24"),)),
    ("UA32", ("Бучанський", "Вишгородський"), 0.5,
     (("occupied", "2022-02-25", "2022-03-10"), (None, "2022-03-30", "2022-04-02"))),
    ("UA74", ("Чернігівський", "Новгород-Сіверський", "Корюківський"), 0.45,
     (("frontline", "2022-02-24", "2022-02-24"),)),
    ("UA59", ("Сумський", "Шосткинський", "Охтирський", "Конотопський"), 0.4,
     (("frontline", "2022-02-24", "2022-02-24"),)),
    ("UA12", ("Нікопольський",), 0.8, (("frontline", "2022-07-11", "2022-08-31"),)),
    ("UA48", ("Миколаївський", "Баштанський"), 0.45,
     (("frontline", "2022-02-26", "2022-03-15"),)),
    # hromadas that enter the frontline later
    ("UA12", ("Павлоградський", "Синельниківський", "Самарівський"), 0.25,
     (("frontline", "2024-06-03", "2026-06-30"),)),
    ("UA59", ("Роменський",), 0.2, (("frontline", "2024-08-06", "2025-09-30"),)),
)  # fmt: skip

# Share of hromadas whose open frontline phase ends (the front moved away) at a mid-month date.
_LEAVE_FRONTLINE = 0.2
_LEAVE_WINDOW = ("2023-03-01", "2026-06-30")

# Mountain hromadas (stable): raion -> share, after the law on mountain settlements.
_MOUNTAIN: dict[str, tuple[tuple[str, float], ...]] = {
    "UA21": (("Рахівський", 1.0), ("Тячівський", 0.8), ("Хустський", 0.6),
             ("Мукачівський", 0.4), ("Ужгородський", 0.3)),
    "UA26": (("Верховинський", 1.0), ("Косівський", 1.0), ("Надвірнянський", 0.8),
             ("Коломийський", 0.4), ("Калуський", 0.3)),
    "UA73": (("Вижницький", 1.0), ("Чернівецький", 0.2)),
    "UA46": (("Самбірський", 0.7), ("Стрийський", 0.6), ("Дрогобицький", 0.3)),
}  # fmt: skip
_MOUNTAIN_FROM = "2015-01-01"
_RURAL_FROM = "2020-07-17"  # the new raions and hromadas took effect
_RURAL_SHARE = 0.75


@dataclass(frozen=True)
class TerritoryFacts:
    """The status table plus per-hromada flags (aligned with the territories frame's rows)."""

    status: pl.DataFrame
    occupied_at_extract: np.ndarray
    ever_frontline: np.ndarray


def _rows(
    idx: np.ndarray, status: str, start: np.ndarray, end: np.ndarray
) -> dict[str, np.ndarray]:
    return {"idx": idx, "status": np.full(idx.size, status), "from": start, "to": end}


def territory_statuses(
    territories: pl.DataFrame, rng: np.random.Generator, extract_day: int
) -> TerritoryFacts:
    n = territories.height
    prefix = territories["oblast_code"].str.slice(0, 4).to_numpy()
    raion = territories["raion_name"].to_numpy()
    assigned = np.zeros(n, dtype=bool)
    parts: list[dict[str, np.ndarray]] = []

    for oblast, raions, share, phases in _TRAJECTORIES:
        pool = (prefix == oblast) & ~assigned
        if raions is not None:
            pool &= np.isin(raion, raions)
        idx = np.flatnonzero(pool)
        idx = idx[rng.random(idx.size) < share]
        if idx.size == 0:
            continue
        assigned[idx] = True
        starts = [mid_month(rng, days(lo), days(hi), idx.size) if lo != hi
                  else np.full(idx.size, days(lo)) for _, lo, hi in phases]  # fmt: skip
        for k, (status, _, _) in enumerate(phases):
            end = starts[k + 1] - 1 if k + 1 < len(phases) else np.full(idx.size, _OPEN)
            if status == "frontline" and k + 1 == len(phases):
                leaves = rng.random(idx.size) < _LEAVE_FRONTLINE
                leave_day = mid_month(rng, days(_LEAVE_WINDOW[0]), days(_LEAVE_WINDOW[1]), idx.size)
                end = np.where(leaves & (leave_day > starts[k]), leave_day, end)
            if status is not None:
                parts.append(_rows(idx, status, starts[k], end))

    is_raion_centre = (
        territories["raion_name"].str.replace(r"ий$", "а") == territories["hromada_name"]
    ).to_numpy()
    for oblast, shares in _MOUNTAIN.items():
        for raion_name, share in shares:
            idx = np.flatnonzero((prefix == oblast) & (raion == raion_name))
            idx = idx[rng.random(idx.size) < share]
            parts.append(_rows(idx, "mountain", np.full(idx.size, days(_MOUNTAIN_FROM)),
                               np.full(idx.size, _OPEN)))  # fmt: skip
    single = territories["oblast_code"].to_numpy() == territories["hromada_code"].to_numpy()
    rural_pool = ~is_raion_centre & ~single & (prefix != "UA01")
    idx = np.flatnonzero(rural_pool & (rng.random(n) < _RURAL_SHARE))
    parts.append(
        _rows(idx, "rural", np.full(idx.size, days(_RURAL_FROM)), np.full(idx.size, _OPEN))
    )

    cat = {k: np.concatenate([p[k] for p in parts]) for k in ("idx", "status", "from", "to")}
    # statuses that begin after the extract date are not in it yet; ends after it are still open
    keep = cat["from"] <= extract_day
    idx, statuses, start, end = (cat[k][keep] for k in ("idx", "status", "from", "to"))
    still_open = end > extract_day
    codes = territories["hromada_code"].to_numpy()
    table = pl.DataFrame(
        {
            "hromada_code": codes[idx],
            "status": statuses.astype(str),
            "valid_from": to_date_series("valid_from", start),
            "valid_to": to_date_series("valid_to", np.where(still_open, 0, end), still_open),
        }
    ).sort("hromada_code", "valid_from", "status")

    occupied_now = np.zeros(n, dtype=bool)
    occupied_now[idx[(statuses == "occupied") & still_open]] = True
    ever_frontline = np.zeros(n, dtype=bool)
    ever_frontline[idx[statuses == "frontline"]] = True
    return TerritoryFacts(table, occupied_now, ever_frontline)
