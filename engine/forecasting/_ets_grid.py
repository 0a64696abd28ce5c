"""The grid start of the ETS fits: every candidate model's best point of a parameter grid shared
by all series (each series its own best), with rule-of-thumb initial states (`_ets` then estimates
the states for it and chooses between the models by AICc)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.forecasting._ets_core import (
    CHUNK_CELLS,
    ETS_MODELS,
    EtsModel,
    Init,
    initial_states,
    losses,
    recursion,
)

__all__ = ["Candidate", "grid_search"]


def _mesh(
    alphas: list[float], beta_f: list[float], gamma_f: list[float], phis: list[float]
) -> np.ndarray:
    """The points of a product of alphas and fractions: beta = fraction · alpha, gamma =
    fraction · (1 − alpha)."""
    a, bf, gf, p = (np.array(g, dtype=float).ravel()
                    for g in np.meshgrid(alphas, beta_f, gamma_f, phis, indexing="ij"))  # fmt: skip
    return np.column_stack([a, a * bf, (1.0 - a) * gf, p])


def _grid(trend: bool, season: str) -> np.ndarray:
    """Parameter points (G, 4): alpha, beta, gamma, phi — beta ≤ alpha, gamma ≤ 1 − alpha.

    The points reach the corner of the admissible region where smooth aggregates live: alpha
    0.99 (a random walk's level: such a series' one-step errors grow fast as alpha falls from 1,
    and 0.9 was the nearest point) with a slope that hardly moves, beta 0.001·alpha (a steady
    drift; the national case-months series is a random walk with drift). Without them the trend
    had no point near its fit and AICc dropped it. At alpha 0.99 the slope fractions stop at
    0.03: a level that follows every observation with a slope taking a quarter of every change
    turns any step of a count series into a trend for the whole horizon (a case joining
    mid-month makes a two-month ramp of case-months: on the synthetic registry's served
    case-months such fits forecast 1 → 2 cases as 2 → 4 a year ahead)."""
    if not trend and season == "N":
        alpha = np.array([0.01, 0.03, 0.06, 0.1, 0.15, 0.2, 0.3, 0.4, 0.55, 0.7, 0.85, 0.99])
        return np.column_stack(
            [alpha, np.zeros_like(alpha), np.zeros_like(alpha), np.ones_like(alpha)]
        )
    gamma_f = [0.05, 0.3] if season != "N" else [0.0]
    phis = [0.85, 0.95, 1.0] if trend else [1.0]
    inner = _mesh([0.03, 0.1, 0.2, 0.35, 0.6, 0.9], [0.001, 0.03, 0.25] if trend else [0.0],
                  gamma_f, phis)  # fmt: skip
    corner = _mesh([0.99], [0.001, 0.03] if trend else [0.0], gamma_f, phis)
    return np.concatenate([inner, corner])


def _variants(trend: bool, season: str, positive: bool) -> list[EtsModel]:
    errors = ("A", "M") if positive else ("A",)
    trends = ("A", "Ad") if trend else ("N",)
    return [
        EtsModel(e, t, season)
        for e in errors
        for t in trends
        if EtsModel(e, t, season) in ETS_MODELS
    ]


def _columns_for(model: EtsModel, grid: np.ndarray) -> np.ndarray:
    if model.trend == "A":
        return grid[:, 3] == 1.0
    if model.trend == "Ad":
        return grid[:, 3] < 1.0
    return np.ones(grid.shape[0], dtype=bool)


@dataclass
class Candidate:
    """One model's grid start on the rows it may fit: best grid point and heuristic states."""

    model: EtsModel
    rows: np.ndarray
    params: np.ndarray
    loss: np.ndarray
    init: Init


def grid_search(
    y: np.ndarray, start: np.ndarray, *, m: int, models: tuple[EtsModel, ...]
) -> list[Candidate]:
    """Every candidate model on the rows it may fit: the best point of a grid shared by all
    series (each row its own best), with rule-of-thumb initial states."""
    n, n_t = y.shape
    n_obs = (n_t - start).astype(float)
    with np.errstate(all="ignore"):
        positive = np.all(np.where(np.arange(n_t)[None, :] >= start[:, None], y, 1.0) > 0, axis=1)
    two_seasons = n_obs >= 2 * m
    out: list[Candidate] = []
    passes = [(tr, s) for s in ("N", "A", "M") for tr in (False, True)]
    for trend, season in passes:
        if season != "N" and m < 2:
            continue
        eligible = np.ones(n, dtype=bool) if season == "N" else two_seasons
        if season == "M":
            eligible = eligible & positive
        variants = [v for v in _variants(trend, season, True) if v in models]
        # a model needs more observations than its parameters (AICc's n − k − 1 > 0)
        eligible = eligible & (n_obs > min((v.n_params(m) for v in variants), default=0) + 1)
        if not variants or not eligible.any():
            continue
        grid = _grid(trend, season)
        grid32 = grid.astype(np.float32)  # the grid ranks points in float32 (twice as fast)
        rows_all = np.flatnonzero(eligible)
        init = initial_states(y[rows_all], start[rows_all], m=m, trend=trend, season=season)
        found = {
            v: (np.zeros((rows_all.size, 4)), np.full(rows_all.size, np.inf)) for v in variants
        }
        chunk = max(1, CHUNK_CELLS // grid.shape[0])
        for c0 in range(0, rows_all.size, chunk):
            part = slice(c0, c0 + chunk)
            rows = rows_all[part]
            yc, sc = y[rows].astype(np.float32), start[rows]
            want_mult = positive[rows].any() and any(v.error == "M" for v in variants)
            with np.errstate(all="ignore"):
                run = recursion(
                    yc,
                    sc,
                    m=m,
                    trend=trend,
                    season=season,
                    params=tuple(grid32[None, :, k] for k in range(4)),  # type: ignore[arg-type]
                    init=(init[0][part], init[1][part], init[2][:, part]),
                    want_mult=want_mult,
                )
            loss_a, loss_m = losses(run, n_t - sc)
            for v in variants:
                loss = loss_a
                if v.error == "M":
                    if loss_m is None:
                        continue
                    loss = np.where(positive[rows][:, None], loss_m, np.inf)
                cols = np.flatnonzero(_columns_for(v, grid))
                sub = loss[:, cols]
                arg = np.argmin(sub, axis=1)
                found[v][0][part] = grid[cols[arg]]
                found[v][1][part] = sub[np.arange(rows.size), arg]
        for v, (params, loss) in found.items():
            ok = np.isfinite(loss) & (n_obs[rows_all] > v.n_params(m) + 1)
            if ok.any():
                sel = np.flatnonzero(ok)
                out.append(
                    Candidate(
                        v,
                        rows_all[sel],
                        params[sel],
                        loss[sel],
                        (init[0][sel], init[1][sel], init[2][:, sel]),
                    )
                )
    return out
