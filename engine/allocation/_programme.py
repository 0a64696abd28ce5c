"""The linear programme of optimisation mode, built sparse and solved with HiGHS in two passes.

Variables are the coverages ``y_j`` of the aggregated groups (see `_optimise`), then the equity
helpers: ``u, l`` (highest and lowest territory coverage) for a spread bound, or ``mu`` (national
coverage) for a deviation bound. Every row is scaled to coverage units so HiGHS sees numbers near 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import ConfigError, EngineError

__all__ = ["Groups", "Programme", "Solution", "build_programme", "solve_programme"]

_HIGHS = {"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9}


@dataclass(frozen=True)
class Groups:
    """The aggregated groups with a claim: capped claim, envelope group, tier, territory, bounds."""

    claim: np.ndarray  # K_j in kopiyky
    group: np.ndarray  # envelope group index
    tier: np.ndarray  # tier index
    unit: np.ndarray  # equity territory index (dense)
    lo: np.ndarray  # lowest coverage: the floor share, or the pro-rata share
    hi: np.ndarray  # highest coverage: 1, or the pro-rata share


@dataclass
class Programme:
    c: np.ndarray
    a_ub: object  # scipy.sparse.csr_matrix
    b_ub: np.ndarray
    a_eq: object | None
    b_eq: np.ndarray | None
    bounds: np.ndarray  # (variables, 2)
    n_y: int
    env_rows: np.ndarray  # row of each group in `env_groups`
    env_groups: np.ndarray
    upper_rows: np.ndarray | None = None  # cov_h − u ≤ 0  or  cov_h − mu ≤ b
    lower_rows: np.ndarray | None = None  # l − cov_h ≤ 0  or  mu − cov_h ≤ b
    spread_row: int | None = None  # u − l ≤ b
    unit_share: np.ndarray = field(default_factory=lambda: np.zeros(0))  # K_j / K_h
    unit_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass(frozen=True)
class Solution:
    y: np.ndarray  # coverage per group, within its bounds
    first: object  # scipy OptimizeResult of the first pass (its duals are the shadow prices)
    total: float  # Σ K_j: objective scale
    w_max: float  # largest weight: objective scale


class _Rows:
    """Accumulates sparse inequality rows."""

    def __init__(self) -> None:
        self.i: list[np.ndarray] = []
        self.j: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.b: list[np.ndarray] = []
        self.n = 0

    def add(self, i: np.ndarray, j: np.ndarray, v: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.i.append(i + self.n)
        self.j.append(j)
        self.v.append(v)
        self.b.append(b)
        ids = np.arange(self.n, self.n + b.size)
        self.n += b.size
        return ids


def build_programme(
    groups: Groups,
    *,
    weights: np.ndarray,
    envelope: np.ndarray,
    group_claims: np.ndarray,
    floors_paid: np.ndarray,
    max_spread: float | None,
    max_deviation: float | None,
) -> Programme:
    """The programme of `_optimise`'s docstring over `groups` (all with a positive claim)."""
    from scipy import sparse

    k = groups.claim
    n_y = k.size
    total = float(k.sum())
    extra = 2 if max_spread is not None else (1 if max_deviation is not None else 0)
    n_var = n_y + extra
    c = np.zeros(n_var)
    c[:n_y] = -weights[groups.tier] / weights.max() * k / total
    bounds = np.vstack([np.column_stack([groups.lo, groups.hi]), np.tile([0.0, 1.0], (extra, 1))])

    rows = _Rows()
    # envelope of each group that can pay its floors: Σ (K_j / K_g) y_j ≤ E_g / K_g
    env_groups = np.flatnonzero(floors_paid & (group_claims > 0))
    env_index = np.full(envelope.size, -1)
    env_index[env_groups] = np.arange(env_groups.size)
    inside = np.flatnonzero(env_index[groups.group] >= 0)
    g = groups.group[inside]
    env_rows = rows.add(
        env_index[g],
        inside,
        k[inside] / group_claims[g],
        envelope[env_groups] / group_claims[env_groups],
    )
    programme = Programme(
        c=c, a_ub=None, b_ub=np.zeros(0), a_eq=None, b_eq=None, bounds=bounds, n_y=n_y,
        env_rows=env_rows, env_groups=env_groups,
    )  # fmt: skip
    if extra:
        _equity_rows(
            programme, rows, groups, max_spread=max_spread, max_deviation=max_deviation, total=total
        )
    programme.a_ub = sparse.csr_matrix(
        (np.concatenate(rows.v), (np.concatenate(rows.i), np.concatenate(rows.j))),
        shape=(rows.n, n_var),
    )
    programme.b_ub = np.concatenate(rows.b)
    return programme


def _equity_rows(
    programme: Programme,
    rows: _Rows,
    groups: Groups,
    *,
    max_spread: float | None,
    max_deviation: float | None,
    total: float,
) -> None:
    from scipy import sparse

    k, n_y = groups.claim, programme.n_y
    units, unit_index = np.unique(groups.unit, return_inverse=True)
    share = k / np.bincount(unit_index, weights=k)[unit_index]  # cov_h = Σ share_j · y_j
    programme.unit_share, programme.unit_index = share, unit_index
    n_units = units.size
    j = np.arange(n_y)
    h = np.arange(n_units)
    if max_spread is not None:
        u, l_ = n_y, n_y + 1
        # cov_h − u ≤ 0, l − cov_h ≤ 0, u − l ≤ max_spread
        programme.upper_rows = rows.add(
            np.concatenate([unit_index, h]),
            np.concatenate([j, np.full(n_units, u)]),
            np.concatenate([share, -np.ones(n_units)]),
            np.zeros(n_units),
        )
        programme.lower_rows = rows.add(
            np.concatenate([unit_index, h]),
            np.concatenate([j, np.full(n_units, l_)]),
            np.concatenate([-share, np.ones(n_units)]),
            np.zeros(n_units),
        )
        programme.spread_row = int(
            rows.add(np.array([0, 0]), np.array([u, l_]), np.array([1.0, -1.0]),
                     np.array([max_spread]))[0]
        )  # fmt: skip
        return
    assert max_deviation is not None
    mu = n_y
    bound = np.full(n_units, max_deviation)
    # cov_h − mu ≤ b, mu − cov_h ≤ b, with mu − Σ (K_j / K) y_j = 0 the national coverage
    programme.upper_rows = rows.add(
        np.concatenate([unit_index, h]),
        np.concatenate([j, np.full(n_units, mu)]),
        np.concatenate([share, -np.ones(n_units)]),
        bound,
    )
    programme.lower_rows = rows.add(
        np.concatenate([unit_index, h]),
        np.concatenate([j, np.full(n_units, mu)]),
        np.concatenate([-share, np.ones(n_units)]),
        bound,
    )
    programme.a_eq = sparse.csr_matrix(
        (
            np.concatenate([[1.0], -k / total]),
            (np.zeros(n_y + 1, dtype=np.int64), np.concatenate([[mu], j])),
        ),
        shape=(1, n_y + 1),
    )
    programme.b_eq = np.zeros(1)


def solve_programme(
    programme: Programme,
    groups: Groups,
    weights: np.ndarray,
    n_tiers: int,
    *,
    source: Path | None = None,
    line: int | None = None,
) -> Solution:
    """Pass 1: the optimum. Pass 2: keep it and lift the lowest coverage in each (group, tier)."""
    from scipy import sparse
    from scipy.optimize import linprog

    first = linprog(
        programme.c, A_ub=programme.a_ub, b_ub=programme.b_ub, A_eq=programme.a_eq,
        b_eq=programme.b_eq, bounds=programme.bounds, method="highs-ds", options=_HIGHS,
    )  # fmt: skip
    if first.status == 2:
        raise ConfigError(
            "the optimisation has no solution: the equity bound cannot hold together with "
            "the floors and envelopes (loosen optimise.equity)",
            path=source,
            line=line,
        )
    if first.status != 0:
        raise EngineError(f"optimisation failed: {first.message}")

    n_y = programme.n_y
    n_rows, n_var = programme.a_ub.shape  # type: ignore[attr-defined]
    cells, z_of = np.unique(groups.group * n_tiers + groups.tier, return_inverse=True)
    n_z = cells.size
    j = np.arange(n_y)
    lift = sparse.csr_matrix(  # z_cell − y_j ≤ 0
        (np.concatenate([-np.ones(n_y), np.ones(n_y)]),
         (np.concatenate([j, j]), np.concatenate([j, n_var + z_of]))),
        shape=(n_y, n_var + n_z),
    )  # fmt: skip
    keep = sparse.csr_matrix(np.concatenate([programme.c, np.zeros(n_z)])[None, :])
    a2 = sparse.vstack(
        [sparse.hstack([programme.a_ub, sparse.csr_matrix((n_rows, n_z))]), lift, keep]
    ).tocsr()
    b2 = np.concatenate(
        [programme.b_ub, np.zeros(n_y), [first.fun + 1e-10 * max(1.0, abs(first.fun))]]
    )
    a_eq2 = None
    if programme.a_eq is not None:
        a_eq2 = sparse.hstack([programme.a_eq, sparse.csr_matrix((1, n_z))]).tocsr()
    second = linprog(
        np.concatenate([np.zeros(n_var), -np.ones(n_z) / n_z]), A_ub=a2, b_ub=b2, A_eq=a_eq2,
        b_eq=programme.b_eq, bounds=np.vstack([programme.bounds, np.tile([0.0, 1.0], (n_z, 1))]),
        method="highs-ds", options=_HIGHS,
    )  # fmt: skip
    x = second.x if second.status == 0 else first.x
    y = np.clip(x[:n_y], groups.lo, groups.hi)
    return Solution(y=y, first=first, total=float(groups.claim.sum()), w_max=float(weights.max()))
