"""Optimisation mode: priority-weighted coverage under the envelope, floors, caps and an equity bound.

The linear programme is solved with HiGHS (through `scipy.optimize.linprog`) on aggregated groups
``j`` = envelope group × tier × equity unit (hromada, else oblast) × service, each with its capped
claim ``K_j``; the decision variable is the group's coverage ``y_j``:

    maximise   Σ_j w_tier(j) · K_j · y_j                    (priority-weighted hryvnias)
    subject to Σ_{j in g} K_j · y_j ≤ E_g                   (envelope of each group g)
               floor_share ≤ y_j ≤ 1                        (floors; caps are already in K_j)
               max_h cov_h − min_h cov_h ≤ max_spread       (or |cov_h − national| ≤ max_deviation)

where ``cov_h = Σ_{j in h} K_j y_j / K_h``. A group whose envelope cannot pay its floors is fixed at
``E_g / K_g`` coverage, as in the default policy. A second pass keeps the first pass's optimum and
raises the lowest coverage within each (group, tier) as far as it can, so that rows a linear
objective is indifferent between are treated alike (pro-rata); with no equity bound and decreasing
weights the result is the default policy's. Rows receive ``y_j × claim``, rounded to kopiyky as in
the default policy. Duals of the first pass give the marginal value of each constraint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.allocate._default import Tables
from engine.allocate._policy import Policy
from engine.allocate._prepare import Prepared
from engine.allocate._rounding import round_pool
from engine.errors import ConfigError, EngineError

__all__ = ["OptimiseResult", "run_optimise"]

_TIGHT = 1e-7  # coverage units: a constraint this close to its limit is tight
_PRICE = 1e-7  # a shadow price below this is zero


@dataclass(frozen=True)
class OptimiseResult:
    allocated_kop: np.ndarray  # int64 per row
    tables: Tables
    floors_paid: np.ndarray  # (groups,) bool
    marginal_value: np.ndarray  # (groups,) weighted hryvnias per extra hryvnia of envelope
    binding: pl.DataFrame
    equity_unit: str | None


def _dense_ids(frame: pl.DataFrame, columns: list[str]) -> np.ndarray:
    if not columns:
        return np.zeros(frame.height, dtype=np.int64)
    ids = frame.select(pl.struct(columns).rank("dense").alias("_id"))["_id"].to_numpy()
    return ids.astype(np.int64) - 1


def _scatter(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=values.dtype)
    out[index] = values
    return out


def run_optimise(prep: Prepared, policy: Policy) -> OptimiseResult:
    """Solve the programme above and disaggregate it to rows."""
    from scipy import sparse
    from scipy.optimize import linprog

    n_groups = prep.n_groups
    k = prep.capped_kop
    floors = prep.floor_kop
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
    attrs = pl.DataFrame({"_gid": prep.gid, "_tier": prep.tier}).hstack(
        prep.frame.select([c for c in (unit_col, "service_code") if c is not None and c in cols])
    )
    j_row = _dense_ids(attrs, attrs.columns)
    n_j = int(j_row.max()) + 1 if j_row.size else 0
    claim_j = np.bincount(j_row, weights=k, minlength=n_j)
    raw_j = np.bincount(j_row, weights=prep.claim_kop, minlength=n_j)
    g_j = _scatter(j_row, prep.gid.astype(np.int64), n_j)
    t_j = _scatter(j_row, prep.tier.astype(np.int64), n_j)
    unit_row = _dense_ids(prep.frame, [unit_col]) if unit_col else np.zeros_like(j_row)
    h_j = _scatter(j_row, unit_row, n_j)

    group_claims = np.bincount(prep.gid, weights=k, minlength=n_groups)
    group_floors = np.bincount(prep.gid, weights=floors, minlength=n_groups)
    floors_paid = envelope >= group_floors
    with np.errstate(divide="ignore", invalid="ignore"):
        pro_rata = np.where(group_claims > 0, envelope / group_claims, 0.0)
    lo = np.where(floors_paid[g_j], policy.floor_share, pro_rata[g_j])
    hi = np.where(floors_paid[g_j], 1.0, pro_rata[g_j])

    weights = np.asarray(policy.weights, dtype=np.float64)
    w_max = float(weights.max())
    w_j = weights[t_j] / w_max
    active = np.flatnonzero(claim_j > 0)
    total = float(claim_j.sum())
    n_a = active.size
    y = np.zeros(n_j)
    marginal_value = np.full(n_groups, np.nan)
    binding_rows: list[dict[str, object]] = []

    if n_a:
        ka = claim_j[active]
        ga, ha = g_j[active], h_j[active]
        # variable layout: y (n_a), then u, l (spread) or mu (deviation)
        extra = 2 if policy.equity_max_spread is not None else (1 if equity else 0)
        n_var = n_a + extra
        c = np.zeros(n_var)
        c[:n_a] = -w_j[active] * ka / total
        bounds = [(float(a), float(b)) for a, b in zip(lo[active], hi[active], strict=True)]
        bounds += [(0.0, 1.0)] * extra

        rows_i: list[np.ndarray] = []
        rows_j: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        rhs: list[np.ndarray] = []
        n_rows = 0

        def add(ri: np.ndarray, ci: np.ndarray, v: np.ndarray, b: np.ndarray) -> np.ndarray:
            nonlocal n_rows
            rows_i.append(ri + n_rows)
            rows_j.append(ci)
            vals.append(v)
            rhs.append(b)
            ids = np.arange(n_rows, n_rows + b.size)
            n_rows += b.size
            return ids

        # envelope rows, scaled by the group's claims: Σ (K_j / K_g) y_j ≤ E_g / K_g
        env_groups = np.flatnonzero(floors_paid & (group_claims > 0))
        env_index = np.full(n_groups, -1)
        env_index[env_groups] = np.arange(env_groups.size)
        in_env = env_index[ga] >= 0
        env_rows = add(
            env_index[ga][in_env],
            np.flatnonzero(in_env),
            ka[in_env] / group_claims[ga][in_env],
            envelope[env_groups] / group_claims[env_groups],
        )
        unit_claims = np.bincount(ha, weights=ka)
        share_h = ka / unit_claims[ha]  # cov_h = Σ share_h · y
        units = np.unique(ha)
        unit_index = np.full(int(ha.max()) + 1, -1)
        unit_index[units] = np.arange(units.size)
        hu = unit_index[ha]
        a_eq = b_eq = None
        spread_row = upper_rows = lower_rows = None
        if policy.equity_max_spread is not None:
            u, l_ = n_a, n_a + 1
            nu = units.size
            upper_rows = add(
                np.concatenate([hu, np.arange(nu)]),
                np.concatenate([np.arange(n_a), np.full(nu, u)]),
                np.concatenate([share_h, -np.ones(nu)]),
                np.zeros(nu),
            )
            lower_rows = add(
                np.concatenate([hu, np.arange(nu)]),
                np.concatenate([np.arange(n_a), np.full(nu, l_)]),
                np.concatenate([-share_h, np.ones(nu)]),
                np.zeros(nu),
            )
            spread_row = add(
                np.array([0, 0]),
                np.array([u, l_]),
                np.array([1.0, -1.0]),
                np.array([policy.equity_max_spread]),
            )
        elif policy.equity_max_deviation is not None:
            mu = n_a
            nu = units.size
            bound = np.full(nu, policy.equity_max_deviation)
            upper_rows = add(
                np.concatenate([hu, np.arange(nu)]),
                np.concatenate([np.arange(n_a), np.full(nu, mu)]),
                np.concatenate([share_h, -np.ones(nu)]),
                bound,
            )
            lower_rows = add(
                np.concatenate([hu, np.arange(nu)]),
                np.concatenate([np.arange(n_a), np.full(nu, mu)]),
                np.concatenate([-share_h, np.ones(nu)]),
                bound,
            )
            # mu is the national coverage: mu − Σ (K_j / K) y_j = 0
            a_eq = sparse.csr_matrix(
                (
                    np.concatenate([[1.0], -ka / total]),
                    (np.zeros(n_a + 1, dtype=np.int64), np.concatenate([[mu], np.arange(n_a)])),
                ),
                shape=(1, n_var),
            )
            b_eq = np.zeros(1)

        a_ub = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows_i), np.concatenate(rows_j))),
            shape=(n_rows, n_var),
        )
        b_ub = np.concatenate(rhs)
        options = {"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9}
        first = linprog(
            c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds,
            method="highs-ds", options=options,
        )  # fmt: skip
        if first.status == 2:
            raise ConfigError(
                "the optimisation has no solution: the equity bound cannot hold together with "
                "the floors and envelopes (loosen optimise.equity)",
                path=policy.source,
                line=policy.line_of("optimise", "equity"),
            )
        if first.status != 0:
            raise EngineError(f"optimisation failed: {first.message}")

        # second pass: same optimum, then lift the lowest coverage of each (group, tier)
        gt_a = ga * prep.n_tiers + t_j[active]
        gts, z_of = np.unique(gt_a, return_inverse=True)
        n_z = gts.size
        n_var2 = n_var + n_z
        a2 = sparse.vstack(
            [
                sparse.hstack([a_ub, sparse.csr_matrix((n_rows, n_z))]),
                sparse.csr_matrix(
                    (
                        np.concatenate([-np.ones(n_a), np.ones(n_a)]),
                        (
                            np.concatenate([np.arange(n_a), np.arange(n_a)]),
                            np.concatenate([np.arange(n_a), n_var + z_of]),
                        ),
                    ),
                    shape=(n_a, n_var2),
                ),
                sparse.csr_matrix(np.concatenate([c, np.zeros(n_z)])[None, :]),
            ]
        ).tocsr()
        b2 = np.concatenate([b_ub, np.zeros(n_a), [first.fun + 1e-10 * max(1.0, abs(first.fun))]])
        a_eq2 = None if a_eq is None else sparse.hstack([a_eq, sparse.csr_matrix((1, n_z))]).tocsr()
        c2 = np.concatenate([np.zeros(n_var), -np.ones(n_z) / n_z])
        second = linprog(
            c2, A_ub=a2, b_ub=b2, A_eq=a_eq2, b_eq=b_eq, bounds=bounds + [(0.0, 1.0)] * n_z,
            method="highs-ds", options=options,
        )  # fmt: skip
        solution = second.x[:n_a] if second.status == 0 else first.x[:n_a]
        y[active] = np.clip(solution, lo[active], hi[active])
        y_a = y[active]

        # marginal value of a hryvnia: d(objective)/d(E_g) = −dual × total / K_g, in weighted UAH
        duals = first.ineqlin.marginals
        marginal_value[env_groups] = -duals[env_rows] * total / group_claims[env_groups] * w_max
        # a group that cannot pay its floors spreads the next hryvnia over all its claims
        stuck = np.flatnonzero(~floors_paid & (group_claims > 0))
        if stuck.size:
            weighted = np.bincount(ga, weights=weights[t_j[active]] * ka, minlength=n_groups)
            marginal_value[stuck] = weighted[stuck] / group_claims[stuck]
        spent = np.bincount(ga, weights=ka * y_a, minlength=n_groups)
        lower_m = first.lower.marginals[:n_a]
        upper_m = first.upper.marginals[:n_a]
        at_floor = (y_a <= lo[active] + _TIGHT) & (lo[active] > 0) & floors_paid[ga]
        capped_full = (y_a >= 1 - _TIGHT) & (raw_j[active] > ka) & floors_paid[ga]
        for g in np.flatnonzero(group_claims > 0):
            label = prep.group_labels[g]
            mine = ga == g
            slack = (envelope[g] - spent[g]) / 100
            binding_rows.append(
                {
                    "constraint": "envelope",
                    "envelope_group": label,
                    "tight": bool(slack < 0.01),
                    "binding": bool(slack < 0.01 and marginal_value[g] > _PRICE),
                    "at_bound": None,
                    "slack": slack,
                    "shadow_price": float(marginal_value[g]),
                    "note": "weighted UAH per extra UAH of envelope",
                }
            )
            if not floors_paid[g]:
                binding_rows.append(
                    {
                        "constraint": "floors",
                        "envelope_group": label,
                        "tight": True,
                        "binding": True,
                        "at_bound": int(mine.sum()),
                        "slack": (envelope[g] - group_floors[g]) / 100,
                        "shadow_price": None,
                        "note": "envelope below the floors: every claim paid pro rata",
                    }
                )
                continue
            sel = mine & at_floor
            price = _average_price(lower_m[sel], ka[sel], total, w_max)
            binding_rows.append(
                {
                    "constraint": "floors",
                    "envelope_group": label,
                    "tight": bool(sel.any()),
                    "binding": bool(sel.any() and price > _PRICE),
                    "at_bound": int(sel.sum()),
                    "slack": None,
                    "shadow_price": price,
                    "note": "weighted UAH lost per UAH the floors hold on lower tiers",
                }
            )
            sel = mine & capped_full
            price = _average_price(-upper_m[sel], ka[sel], total, w_max)
            binding_rows.append(
                {
                    "constraint": "caps",
                    "envelope_group": label,
                    "tight": bool(sel.any()),
                    "binding": bool(sel.any() and price > _PRICE),
                    "at_bound": int(sel.sum()),
                    "slack": None,
                    "shadow_price": price,
                    "note": "weighted UAH gained per UAH a cap is raised",
                }
            )
        if equity and upper_rows is not None and lower_rows is not None:
            slack_u = first.ineqlin.residual[upper_rows]
            slack_l = first.ineqlin.residual[lower_rows]
            cov = np.bincount(hu, weights=share_h * y_a, minlength=units.size)
            if spread_row is not None:
                assert policy.equity_max_spread is not None
                dual = float(first.ineqlin.marginals[spread_row][0])
                slack = policy.equity_max_spread - float(cov.max() - cov.min())
                note = "weighted UAH per coverage point of extra spread"
            else:
                assert policy.equity_max_deviation is not None
                dual = float(
                    first.ineqlin.marginals[upper_rows].sum()
                    + first.ineqlin.marginals[lower_rows].sum()
                )
                national = float((ka * y_a).sum() / total)
                slack = policy.equity_max_deviation - float(np.abs(cov - national).max())
                note = "weighted UAH per coverage point of extra deviation"
            price = -dual * total * w_max / 100 / 100  # per 0.01 coverage, in UAH
            n_tight = int((slack_u < _TIGHT).sum() + (slack_l < _TIGHT).sum())
            binding_rows.append(
                {
                    "constraint": "equity",
                    "envelope_group": None,
                    "tight": bool(slack < _TIGHT * 10),
                    "binding": bool(slack < _TIGHT * 10 and price > _PRICE),
                    "at_bound": n_tight,
                    "slack": slack,
                    "shadow_price": price,
                    "note": note,
                }
            )

    # disaggregate pro rata: a row gets y_j × claim; whole kopiyky where y is 0 or 1
    y_row = y[j_row]
    allocated = np.where(y_row >= 1.0, k, 0)
    pool = np.flatnonzero((y_row > 0) & (y_row < 1))
    gid_pool = prep.gid[pool].astype(np.int64)
    settled = np.bincount(prep.gid, weights=allocated, minlength=n_groups)
    solved = np.rint(np.bincount(g_j, weights=claim_j * y, minlength=n_groups)).astype(np.int64)
    target = np.minimum(np.minimum(prep.envelope_kop, np.rint(group_claims)), solved)
    allocated[pool] = round_pool(
        y_row[pool] * k[pool],
        k[pool],
        gid_pool,
        target.astype(np.int64) - np.rint(settled).astype(np.int64),
        prep.frame.select(prep.key),
        pool,
    )
    tables = Tables(
        rows=prep.table(None),
        claim=prep.table(prep.claim_kop),
        capped=prep.table(k),
        floor=prep.table(floors),
        allocated=prep.table(allocated),
    )
    binding = pl.DataFrame(
        binding_rows,
        schema={
            "constraint": pl.String,
            "envelope_group": pl.String,
            "tight": pl.Boolean,
            "binding": pl.Boolean,
            "at_bound": pl.Int64,
            "slack": pl.Float64,
            "shadow_price": pl.Float64,
            "note": pl.String,
        },
        orient="row",
    )
    return OptimiseResult(
        allocated_kop=allocated,
        tables=tables,
        floors_paid=floors_paid,
        marginal_value=marginal_value,
        binding=binding,
        equity_unit=unit_col,
    )


def _average_price(marginals: np.ndarray, claims: np.ndarray, total: float, w_max: float) -> float:
    """Objective change per UAH moved through bounds of the selected groups (0 when none)."""
    if not claims.size or claims.sum() <= 0:
        return 0.0
    return float(marginals.sum() * total * w_max / claims.sum())
