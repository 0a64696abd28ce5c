"""Recipients' demographics and their cases: which service, when, for how long, after how long a wait.

Every recipient has a primary case whose service fixes the kind of person (an infant for early
intervention, an older person for home care, ...); age, sex, disability group and income are drawn
for that kind of person. A quarter of recipients have a second case, a few a third, from services
that fit the same person. Case starts grow over the years, peak in winter, and IDPs' cases cluster
after the full-scale invasion. Cases open when the history starts (the stock) carry earlier start
dates; their ages and remaining durations follow from the mean duration of their service.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.schemas import SERVICE_UNITS
from engine.synth._calendar import INVASION, days, draw_days
from engine.synth._people import Residence
from engine.synth._profiles import PEOPLE, SECONDARY_POOLS

__all__ = ["DISABILITY", "OPEN", "CaseDraw", "draw_cases"]

OPEN = np.iinfo(np.int64).max

_GROWTH = 0.08  # yearly growth of new cases as the reform extends to more hromadas
_SEASONAL = 0.12  # amplitude of the winter peak
_IDP_POST_INVASION = 0.85  # share of IDPs' cases that start after 2022-02-24
_DURATION_SIGMA = 0.9
_EXTRA_CASES_P = (0.75, 0.19, 0.06)  # P(0, 1, 2 extra cases)
_EXTRA_START_SD = 300.0  # days between a person's first and further cases
_INCOME_UNKNOWN = 0.08
_INCOME_MAX = 12.0
_ASSESSED_SHARE = 0.15
_LONG_WAIT_SHARE = 0.25  # waiting lists have a long tail: a quarter of waits last 4x longer
_LONG_WAIT_FACTOR = 4.0  # cases with an individually assessed volume (the rest use the norm)
_MAX_STOCK_AGE_DAYS = 5 * 365

_NEED_P = {  # disability group -> P(need level 1, 2, 3)
    "none": (0.45, 0.40, 0.15),
    "III": (0.40, 0.45, 0.15),
    "II": (0.25, 0.50, 0.25),
    "I": (0.10, 0.40, 0.50),
    "child": (0.20, 0.45, 0.35),
}
DISABILITY = ("none", "I", "II", "III", "child")  # disability codes index this
_CHILD, _ADULT_FROM_CHILD = DISABILITY.index("child"), DISABILITY.index("II")
_KINDS = tuple(PEOPLE)  # people codes index this
_UNIT_BASE = {"hour": (20.0, 40.0, 60.0), "visit": (4.0, 8.0, 12.0)}


@dataclass(frozen=True)
class CaseDraw:
    """Per-recipient attributes and per-case arrays (all numpy, aligned)."""

    birth: np.ndarray
    female: np.ndarray
    disability: np.ndarray  # index into DISABILITY
    income: np.ndarray  # float, NaN = unknown
    rec: np.ndarray  # recipient row of each case
    service: np.ndarray  # service row of each case
    start: np.ndarray
    end: np.ndarray  # OPEN = no end yet
    wait_end: np.ndarray  # first served day (start when served at once)
    need: np.ndarray
    assessed: np.ndarray  # float, NaN = use the norm


def _choose(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    cdf = np.cumsum(weights)
    return np.minimum(
        np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right"), weights.size - 1
    )


def _durations(rng: np.random.Generator, mean: np.ndarray) -> np.ndarray:
    mu = np.log(mean) - _DURATION_SIGMA**2 / 2
    return np.maximum(1, np.round(np.exp(mu + _DURATION_SIGMA * rng.standard_normal(mean.size))))


def _starts(
    rng: np.random.Generator, mean: np.ndarray, idp: np.ndarray, hs: int, ex: int
) -> tuple[np.ndarray, np.ndarray]:
    """Start and end day of first cases: the stock open at `hs`, then new cases up to `ex`."""
    n = mean.size
    stock = rng.random(n) < mean / (mean + (ex - hs))
    # a case open at hs: time since its start and time left are both ~ Exp(mean) at equilibrium
    back = np.minimum(np.ceil(rng.exponential(mean)), _MAX_STOCK_AGE_DAYS)
    ahead = np.floor(rng.exponential(mean))
    start = np.where(stock, hs - back, 0).astype(np.int64)
    end = np.where(stock, hs + ahead, 0).astype(np.int64)

    war = max(days(INVASION), hs)
    post = ~stock & idp & (rng.random(n) < _IDP_POST_INVASION) & (war < ex)
    general = ~stock & ~post
    start[general] = draw_days(rng, hs, ex, int(general.sum()), growth=_GROWTH, seasonal=_SEASONAL)
    start[post] = draw_days(
        rng, war, ex, int(post.sum()), seasonal=_SEASONAL, decay_days=200.0, decay_boost=4.0
    )
    flow = ~stock
    end[flow] = start[flow] + _durations(rng, mean[flow]) - 1
    return start, end


def _demographics(
    rng: np.random.Generator, people: np.ndarray, start: np.ndarray, ex: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = people.size
    age = np.empty(n)
    female = np.empty(n, dtype=bool)
    disability = np.empty(n, dtype=np.int64)
    income = np.empty(n)
    for code, prof in enumerate(PEOPLE.values()):  # a loop over six kinds of person
        rows = np.flatnonzero(people == code)
        k = rows.size
        if prof.age_shape == "elderly":
            age[rows] = prof.age_min + np.minimum(
                rng.gamma(2.0, 7.0, k), prof.age_max - prof.age_min
            )
        else:
            age[rows] = rng.uniform(prof.age_min, prof.age_max, k)
        female[rows] = rng.random(k) < prof.female
        groups = np.array([DISABILITY.index(g) for g in prof.disability])
        disability[rows] = groups[_choose(rng, np.array(list(prof.disability.values())), k)]
        income[rows] = np.exp(
            np.log(prof.income_median) + prof.income_sigma * rng.standard_normal(k)
        )
    birth = start - np.round(age * 365.25).astype(np.int64)
    # a child's disability status becomes an adult group at 18
    adult_now = (ex - birth) >= 18 * 365.25
    disability = np.where(adult_now & (disability == _CHILD), _ADULT_FROM_CHILD, disability)
    income = np.round(np.minimum(income, _INCOME_MAX), 2).astype(np.float64)
    income[rng.random(n) < _INCOME_UNKNOWN] = np.nan
    return birth, female, disability, income


def _extra_cases(
    rng: np.random.Generator,
    profiles: pl.DataFrame,
    people: np.ndarray,
    primary: np.ndarray,
    *,
    first_start: np.ndarray,
    birth: np.ndarray,
    hs: int,
    ex: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = people.size
    n_extra = _choose(rng, np.array(_EXTRA_CASES_P), n)
    rec = np.repeat(np.arange(n), n_extra)
    codes = profiles["service_code"].to_list()
    weight = profiles["weight"].to_numpy()
    service = np.full(rec.size, -1, dtype=np.int64)
    for kind, pool in SECONDARY_POOLS.items():
        rows = np.flatnonzero(people[rec] == _KINDS.index(kind))
        members = np.array([codes.index(c) for c in pool if c in codes], dtype=np.int64)
        if rows.size and members.size:
            service[rows] = members[_choose(rng, weight[members], rows.size)]
    # one case per person and service: drop repeats of the primary or of each other
    repeat = (
        ~pl.DataFrame({"rec": rec, "service": service})
        .select(pl.struct("rec", "service").is_first_distinct())
        .to_series()
        .to_numpy()
    )
    keep = (service >= 0) & (service != primary[rec]) & ~repeat
    rec, service = rec[keep], service[keep]
    lo = np.maximum(birth[rec] + 1, hs)
    start = np.round(first_start[rec] + rng.normal(0.0, _EXTRA_START_SD, rec.size)).astype(np.int64)
    # reflect off the window's edges rather than clip, which would pile cases up on its first day
    start = np.where(start < lo, 2 * lo - start, start)
    start = np.where(start > ex, 2 * ex - start, start)
    return rec, service, np.clip(start, lo, ex)


def _need_levels(rng: np.random.Generator, disability: np.ndarray) -> np.ndarray:
    need = np.empty(disability.size, dtype=np.int64)
    u = rng.random(disability.size)
    for group, (p1, p2, _) in _NEED_P.items():
        rows = disability == DISABILITY.index(group)
        need[rows] = 1 + (u[rows] > p1) + (u[rows] > p1 + p2)
    return need


def _assessed_units(rng: np.random.Generator, unit: np.ndarray, need: np.ndarray) -> np.ndarray:
    out = np.full(unit.size, np.nan)
    chosen = rng.random(unit.size) < _ASSESSED_SHARE
    for name, base in _UNIT_BASE.items():
        rows = np.flatnonzero(chosen & (unit == SERVICE_UNITS.index(name)))
        value = np.asarray(base)[need[rows] - 1] * rng.uniform(0.7, 1.3, rows.size)
        step = 0.5 if name == "hour" else 1.0
        out[rows] = np.maximum(step, np.round(value / step) * step)
    return out


def draw_cases(
    profiles: pl.DataFrame, res: Residence, rng: np.random.Generator, hs: int, ex: int
) -> CaseDraw:
    n = res.is_idp.size
    weight = profiles["weight"].to_numpy()
    idp_weight = weight * profiles["idp_factor"].to_numpy()
    mean_days = profiles["mean_days"].to_numpy()
    people_of = np.array([_KINDS.index(k) for k in profiles["people"]], dtype=np.int64)
    unit_of = np.array([SERVICE_UNITS.index(u) for u in profiles["unit"]], dtype=np.int64)

    primary = _choose(rng, weight, n)
    primary[res.is_idp] = _choose(rng, idp_weight, int(res.is_idp.sum()))
    people = people_of[primary]
    start0, end0 = _starts(rng, mean_days[primary], res.is_idp, hs, ex)
    birth, female, disability, income = _demographics(rng, people, start0, ex)

    rec_x, svc_x, start_x = _extra_cases(
        rng, profiles, people, primary, first_start=start0, birth=birth, hs=hs, ex=ex
    )
    end_x = start_x + _durations(rng, mean_days[svc_x]) - 1

    rec = np.concatenate([np.arange(n), rec_x])
    service = np.concatenate([primary, svc_x])
    start = np.concatenate([start0, start_x])
    end = np.concatenate([end0, end_x])
    end = np.where(end > ex, OPEN, end)

    wait_p = profiles["wait_prob"].to_numpy()[service]
    wait_mean = np.maximum(profiles["wait_days"].to_numpy()[service], 1.0)
    wait_mean = wait_mean * np.where(
        rng.random(service.size) < _LONG_WAIT_SHARE, _LONG_WAIT_FACTOR, 1.0
    )
    waits = (rng.random(service.size) < wait_p) * (1 + np.floor(rng.exponential(wait_mean)))
    wait_end = start + waits.astype(np.int64)

    need = _need_levels(rng, disability[rec])
    assessed = _assessed_units(rng, unit_of[service], need)
    return CaseDraw(
        birth=birth,
        female=female,
        disability=disability,
        income=income,
        rec=rec,
        service=service,
        start=start,
        end=end,
        wait_end=wait_end,
        need=need,
        assessed=assessed,
    )
