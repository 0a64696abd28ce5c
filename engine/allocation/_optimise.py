"""Optimisation mode: priority-weighted coverage under the envelope, floors, caps and an equity bound.

The linear programme is solved with HiGHS (through `scipy.optimize.linprog`) on aggregated groups
``j`` = envelope group × tier × equity territory (hromada, else oblast) × service, each with its
capped claim ``K_j``; the decision variable is the group's coverage ``y_j``:

    maximise   Σ_j w_tier(j) · K_j · y_j                    (priority-weighted hryvnias)
    subject to Σ_{j in g} K_j · y_j ≤ E_g                   (envelope of each group g)
               floor_share ≤ y_j ≤ 1                        (floors; caps are already in K_j)
               max_h cov_h − min_h cov_h ≤ max_spread       (or |cov_h − national| ≤ max_deviation)

where ``cov_h = Σ_{j in h} K_j y_j / K_h``. A group whose envelope cannot pay its floors is fixed at
``E_g / K_g`` coverage, as in the default policy. A second pass keeps the first pass's optimum and
raises the lowest coverage within each (group, tier) as far as it can, so that rows a linear
objective is indifferent between are treated alike (pro rata); with no equity bound and decreasing
weights the result is the default policy's. Rows receive ``y_j × claim``, rounded to kopiyky as in
the default policy. The first pass's duals are the shadow prices: the marginal value of a hryvnia
of envelope, of floor money, of a cap, of a point of equity spread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from engine.allocation._default import Tables
from engine.allocation._policy import Policy
from engine.allocation._prepare import Prepared
from engine.allocation._programme import (
    Groups,
    Programme,
    Solution,
    build_programme,
    solve_programme,
)
from engine.allocation._rounding import BLOCK, Pool, round_pool
from engine.buffers import blocks
from engine.errors import ConfigError

__all__ = ["BINDING_SCHEMA", "OptimiseResult", "run_optimise"]

_TIGHT = 1e-7  # coverage units: a constraint this close to its limit is tight
_PRICE = 1e-7  # a shadow price below this is zero
BINDING_SCHEMA = {
    "constraint": pl.String,
    "envelope_group": pl.String,
    "tight": pl.Boolean,
    "binding": pl.Boolean,
    "at_bound": pl.Int64,
    "slack": pl.Float64,
    "shadow_price": pl.Float64,
    "note": pl.String,
}


@dataclass(frozen=True)
class OptimiseResult:
    allocated_kop: np.ndarray  # int64 per row
    tables: Tables
    floors_paid: np.ndarray  # (groups,) bool
    marginal_value: np.ndarray  # (groups,) weighted hryvnias per extra hryvnia of envelope
    binding: pl.DataFrame


def _dense_ids(frame: pl.DataFrame) -> np.ndarray:
    if not frame.width:
        return np.zeros(frame.height, dtype=np.int64)
    ids = frame.select(pl.struct(frame.columns).rank("dense").alias("_id"))["_id"].to_numpy()
    return ids.astype(np.int64) - 1


def _first_of(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=np.int64)
    out[index] = values
    return out


def run_optimise(prep: Prepared, policy: Policy) -> OptimiseResult:
    """Aggregate, solve, report the constraints and disaggregate to rows."""
    n_groups = prep.n_groups
    k = prep.capped_kop
    envelope = prep.envelope_kop.astype(np.float64)
    cols = prep.frame.columns
    unit_col = next((c for c in ("hromada_code", "oblast_code") if c in cols), None)
    equity = policy.equity_max_spread is not None or policy.equity_max_deviation is not None
    if equity and unit_col is None:
        raise ConfigError(
            "the equity bound needs a 'hromada_code' or 'oblast_code' column in the claims",
            path=policy.source,
            line=policy.line_of("optimise", "equity"),
        )
    attributes = [c for c in (unit_col, "service_code") if c is not None and c in cols]
    j_row = _dense_ids(
        pl.DataFrame({"_gid": prep.gid, "_tier": prep.tier}).hstack(prep.frame.select(attributes))
    )
    n_j = int(j_row.max()) + 1 if j_row.size else 0
    claim_j = np.bincount(j_row, weights=k, minlength=n_j)
    raw_j = np.bincount(j_row, weights=prep.claim_kop, minlength=n_j)
    g_j = _first_of(j_row, prep.gid.astype(np.int64), n_j)
    unit_row = _dense_ids(prep.frame.select(unit_col)) if unit_col else np.zeros_like(j_row)

    group_claims = prep.cells["capped"].sum(axis=1).astype(np.float64)
    group_floors = prep.cells["floor"].sum(axis=1).astype(np.float64)
    floors_paid = envelope >= group_floors
    with np.errstate(divide="ignore", invalid="ignore"):
        pro_rata = np.where(group_claims > 0, envelope / group_claims, 0.0)
    active = np.flatnonzero(claim_j > 0)
    ga = g_j[active]
    groups = Groups(
        claim=claim_j[active],
        group=ga,
        tier=_first_of(j_row, prep.tier.astype(np.int64), n_j)[active],
        unit=_first_of(j_row, unit_row, n_j)[active],
        lo=np.where(floors_paid[ga], policy.floor_share, pro_rata[ga]),
        hi=np.where(floors_paid[ga], 1.0, pro_rata[ga]),
    )
    weights = np.asarray(policy.weights, dtype=np.float64)
    y = np.zeros(n_j)
    marginal_value = np.full(n_groups, np.nan)
    binding = pl.DataFrame(schema=BINDING_SCHEMA)
    if active.size:
        programme = build_programme(
            groups,
            weights=weights,
            envelope=envelope,
            group_claims=group_claims,
            floors_paid=floors_paid,
            max_spread=policy.equity_max_spread,
            max_deviation=policy.equity_max_deviation,
        )
        solution = solve_programme(
            programme,
            groups,
            weights,
            prep.n_tiers,
            source=policy.source,
            line=policy.line_of("optimise", "equity"),
        )
        y[active] = solution.y
        marginal_value = _marginal_value(programme, solution, groups, weights, group_claims)
        binding = _report(
            prep,
            policy,
            programme=programme,
            solution=solution,
            groups=groups,
            raw=raw_j[active],
            marginal_value=marginal_value,
            envelope=envelope,
            group_floors=group_floors,
            floors_paid=floors_paid,
        )

    allocated = _disaggregate(
        prep, y=y, j_row=j_row, claim_j=claim_j, g_j=g_j, group_claims=group_claims
    )
    tables = Tables(
        rows=prep.cells["rows"],
        claim=prep.cells["claim"],
        capped=prep.cells["capped"],
        floor=prep.cells["floor"],
        allocated=prep.table(allocated),
    )
    return OptimiseResult(
        allocated_kop=allocated,
        tables=tables,
        floors_paid=floors_paid,
        marginal_value=marginal_value,
        binding=binding,
    )


def _disaggregate(
    prep: Prepared,
    *,
    y: np.ndarray,
    j_row: np.ndarray,
    claim_j: np.ndarray,
    g_j: np.ndarray,
    group_claims: np.ndarray,
) -> np.ndarray:
    """Pro rata to rows: y_j × claim, whole kopiyky where y is 0 or 1, the rest rounded exactly."""
    n_groups = prep.n_groups
    k = prep.capped_kop
    y_row = y[j_row]
    allocated = np.where(y_row >= 1.0, k, 0)
    settled = np.rint(np.bincount(prep.gid, weights=allocated, minlength=n_groups))
    index = np.flatnonzero((y_row > 0) & (y_row < 1))
    pool = Pool(index.size, n_groups, k.shape[0])
    for block in blocks(index.size, BLOCK):
        rows = index[block]
        claim = k[rows]
        allocated[rows] = pool.add(rows, y_row[rows] * claim, claim, prep.gid[rows])
    solved = np.rint(np.bincount(g_j, weights=claim_j * y, minlength=n_groups))
    target = np.minimum(np.minimum(prep.envelope_kop, np.rint(group_claims)), solved)
    round_pool(
        pool,
        (target - settled).astype(np.int64),
        allocated,
        amounts=lambda at: y_row[pool.index[at]] * k[pool.index[at]],
        claims=lambda at: k[pool.index[at]],
        keys=prep.frame.select(prep.key),
    )
    return allocated


def _marginal_value(
    programme: Programme,
    solution: Solution,
    groups: Groups,
    weights: np.ndarray,
    group_claims: np.ndarray,
) -> np.ndarray:
    """Weighted hryvnias one more hryvnia of each group's envelope buys: −dual × Σ K / K_g."""
    value = np.full(group_claims.size, np.nan)
    duals = solution.first.ineqlin.marginals  # type: ignore[attr-defined]
    env = programme.env_groups
    value[env] = -duals[programme.env_rows] * solution.total * solution.w_max / group_claims[env]
    # a group that cannot pay its floors spreads the next hryvnia over all its claims
    stuck = np.setdiff1d(np.flatnonzero(group_claims > 0), env)
    if stuck.size:
        weighted = np.bincount(
            groups.group, weights=weights[groups.tier] * groups.claim, minlength=group_claims.size
        )
        value[stuck] = weighted[stuck] / group_claims[stuck]
    return value


def _average_price(marginals: np.ndarray, claims: np.ndarray, solution: Solution) -> float:
    """Objective change per hryvnia moved through the bounds of the selected groups (0 if none)."""
    if not claims.size or claims.sum() <= 0:
        return 0.0
    return float(marginals.sum() * solution.total * solution.w_max / claims.sum())


def _report(
    prep: Prepared,
    policy: Policy,
    *,
    programme: Programme,
    solution: Solution,
    groups: Groups,
    raw: np.ndarray,
    marginal_value: np.ndarray,
    envelope: np.ndarray,
    group_floors: np.ndarray,
    floors_paid: np.ndarray,
) -> pl.DataFrame:
    """Which constraints bind: tight at the solution and with a non-zero shadow price."""
    y, k, first = solution.y, groups.claim, solution.first
    lower_m = first.lower.marginals[: programme.n_y]  # type: ignore[attr-defined]
    upper_m = first.upper.marginals[: programme.n_y]  # type: ignore[attr-defined]
    spent = np.bincount(groups.group, weights=k * y, minlength=prep.n_groups)
    paid = floors_paid[groups.group]
    at_floor = (y <= groups.lo + _TIGHT) & (groups.lo > 0) & paid
    capped_full = (y >= 1 - _TIGHT) & (raw > k) & paid
    out: list[dict[str, Any]] = []

    def row(
        constraint: str, label: str | None, tight: bool, price: float | None, **extra: Any
    ) -> None:
        out.append(
            {
                "constraint": constraint,
                "envelope_group": label,
                "tight": tight,
                "binding": bool(tight and (price is None or price > _PRICE)),
                "shadow_price": price,
                **extra,
            }
        )

    for g in np.unique(groups.group):
        label = prep.group_labels[g]
        mine = groups.group == g
        slack = float(envelope[g] - spent[g]) / 100
        row("envelope", label, slack < 0.01, float(marginal_value[g]), slack=slack,
            note="weighted UAH per extra UAH of envelope")  # fmt: skip
        if not floors_paid[g]:
            row("floors", label, True, None, at_bound=int(mine.sum()),
                slack=float(envelope[g] - group_floors[g]) / 100,
                note="envelope below the floors: every claim paid pro rata")  # fmt: skip
            continue
        sel = mine & at_floor
        row("floors", label, bool(sel.any()), _average_price(lower_m[sel], k[sel], solution),
            at_bound=int(sel.sum()),
            note="weighted UAH lost per UAH the floors hold on lower tiers")  # fmt: skip
        sel = mine & capped_full
        row("caps", label, bool(sel.any()), _average_price(-upper_m[sel], k[sel], solution),
            at_bound=int(sel.sum()), note="weighted UAH gained per UAH a cap is raised")  # fmt: skip
    if programme.upper_rows is not None and programme.lower_rows is not None:
        out.append(_equity_row(policy, programme, solution, groups))
    return pl.DataFrame(out, schema=BINDING_SCHEMA, orient="row")


def _equity_row(
    policy: Policy, programme: Programme, solution: Solution, groups: Groups
) -> dict[str, Any]:
    assert programme.upper_rows is not None and programme.lower_rows is not None
    first = solution.first
    residual = first.ineqlin.residual  # type: ignore[attr-defined]
    duals = first.ineqlin.marginals  # type: ignore[attr-defined]
    y = solution.y
    cov = np.bincount(programme.unit_index, weights=programme.unit_share * y)
    if programme.spread_row is not None:
        assert policy.equity_max_spread is not None
        dual = float(duals[programme.spread_row])
        slack = policy.equity_max_spread - float(cov.max() - cov.min())
        note = "weighted UAH per coverage point of extra spread"
    else:
        assert policy.equity_max_deviation is not None
        dual = float(duals[programme.upper_rows].sum() + duals[programme.lower_rows].sum())
        national = float((groups.claim * y).sum() / solution.total)
        slack = policy.equity_max_deviation - float(np.abs(cov - national).max())
        note = "weighted UAH per coverage point of extra deviation"
    # d objective / d bound is −dual × Σ K × w_max kopiyky per unit of coverage → UAH per 0.01
    price = -dual * solution.total * solution.w_max / 100 / 100
    tight = slack < 10 * _TIGHT
    n_tight = int(
        (residual[programme.upper_rows] < _TIGHT).sum()
        + (residual[programme.lower_rows] < _TIGHT).sum()
    )
    return {
        "constraint": "equity",
        "envelope_group": None,
        "tight": bool(tight),
        "binding": bool(tight and price > _PRICE),
        "at_bound": n_tight,
        "slack": slack,
        "shadow_price": price,
        "note": note,
    }
