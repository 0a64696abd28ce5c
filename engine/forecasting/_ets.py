"""Exponential smoothing (ETS) fitted to many series at once.

Series are the rows of a matrix; the recursions loop over the T periods, each step one numpy
operation over every series and every candidate parameter point (an `n × G` array). Per candidate
model, a grid shared by all series gives each series its best start (with rule-of-thumb initial
states); the initial states are then estimated for that start (`_ets_states`: exact least squares
where the errors are affine in the states), and AICc chooses between the models. With `refine`,
one L-BFGS-B over the sum of the per-series losses then moves the chosen model's smoothing
parameters and initial states together: the loss is separable, the states are profiled out at
every evaluation and a finite-difference gradient for all series costs one extra pass per
parameter. Parameters stay in the admissible region of Hyndman et al. (2008): 0 < α < 1,
0 < β < α, 0 < γ < 1 − α, φ in [0.8, 0.98].

State-space form of Hyndman et al. (2008) in error-correction form; with `r = y - ŷ` the update
equations are the same for additive and multiplicative errors (only the likelihood differs):

    base = l + φ b                           (φ = 1: trend A; trend N: base = l)
    ŷ    = base (+ s | × s)                  (season N, A, M; s = the state m periods ago)
    l   ← base + α r / s̃,   b ← φ b + β r / s̃,   s ← s + γ r / b̃
    with s̃ = s, b̃ = base for a multiplicative season, s̃ = b̃ = 1 otherwise.

−2 log-likelihood (up to a constant shared by all models): n·log(Σr²/n) for additive errors,
n·log(Σ(r/ŷ)²/n) + 2·Σ log|ŷ| for multiplicative ones; AICc adds 2k + 2k(k+1)/(n−k−1), with k
counting the smoothing parameters, the initial states (level, slope, m − 1 seasonal) and σ², as in
the `forecast` R package — every one of them estimated.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from engine.forecasting._ets_core import (
    ETS_MODELS,
    PHI_BOUNDS,
    EtsFit,
    EtsModel,
    Init,
    aicc,
    class2_horizon_scale,
    horizon_scale,
    losses,
    point_forecast,
    recursion,
    simulated_horizon_scale,
)
from engine.forecasting._ets_grid import grid_search
from engine.forecasting._ets_states import StateFit, profile_states
from engine.forecasting._threads import fit_workers

__all__ = ["ETS_MODELS", "EtsFit", "EtsModel", "fit_ets"]


# ---------------------------------------------------------------------------------------------
# refinement, the model choice, forecasts (the grid start: `_ets_grid`)


def _unpack(x: np.ndarray, model: EtsModel) -> np.ndarray:
    """Box-constrained optimiser coordinates → (n, 4) alpha, beta, gamma, phi."""
    n = x.shape[0]
    out = np.zeros((n, 4))
    out[:, 0] = x[:, 0]
    j = 1
    if model.trend != "N":
        out[:, 1] = x[:, 0] * x[:, j]
        j += 1
    if model.season != "N":
        out[:, 2] = (1.0 - x[:, 0]) * x[:, j]
        j += 1
    out[:, 3] = x[:, j] if model.trend == "Ad" else 1.0
    return out


def _pack(params: np.ndarray, model: EtsModel) -> tuple[np.ndarray, list[tuple[float, float]]]:
    cols = [params[:, 0]]
    bounds = [(1e-4, 0.9999)]
    with np.errstate(all="ignore"):
        if model.trend != "N":
            cols.append(np.clip(params[:, 1] / params[:, 0], 1e-4, 0.9999))
            bounds.append((1e-4, 0.9999))
        if model.season != "N":
            cols.append(np.clip(params[:, 2] / (1.0 - params[:, 0]), 1e-4, 0.9999))
            bounds.append((1e-4, 0.9999))
    if model.trend == "Ad":
        cols.append(np.clip(params[:, 3], *PHI_BOUNDS))
        bounds.append(PHI_BOUNDS)
    return np.column_stack(cols), bounds


def _model_loss(
    y: np.ndarray, start: np.ndarray, *, m: int, model: EtsModel, params: np.ndarray, init: Init
) -> np.ndarray:
    return _model_loss_fitted(y, start, m=m, model=model, params=params, init=init, fitted=False)[0]


def _model_loss_fitted(
    y: np.ndarray,
    start: np.ndarray,
    *,
    m: int,
    model: EtsModel,
    params: np.ndarray,
    init: Init,
    fitted: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """−2 log L per series (and its one-step fitted values, when asked) at `params`, `init`."""
    p = params[:, :, None] if params.ndim == 2 else params
    with np.errstate(all="ignore"):
        run = recursion(
            y,
            start,
            m=m,
            trend=model.trend != "N",
            season=model.season,
            params=(p[:, 0], p[:, 1], p[:, 2], p[:, 3]),
            init=init,
            want_mult=model.error == "M",
            want_fitted=fitted,
        )
    loss_a, loss_m = losses(run, y.shape[1] - start)
    loss = loss_a if loss_m is None else loss_m  # multiplicative losses exist only for error M
    return loss[:, 0], run.fitted


def _profile(
    y: np.ndarray,
    start: np.ndarray,
    *,
    m: int,
    model: EtsModel,
    params: np.ndarray,
    init: Init,
    loss: np.ndarray | None = None,
    iterations: int | None = None,
) -> StateFit:
    """Initial states estimated for smoothing `params` (see `_ets_states`)."""

    def loss_fn(states: Init, rows: np.ndarray | None = None) -> np.ndarray:
        if rows is None:
            return _model_loss(y, start, m=m, model=model, params=params, init=states)
        return _model_loss(y[rows], start[rows], m=m, model=model, params=params[rows], init=states)

    fitted = None
    if loss is None and model.season != "M":  # one pass: the loss and the first step's errors
        loss, fitted = _model_loss_fitted(y, start, m=m, model=model, params=params, init=init)
    elif loss is None:
        loss = loss_fn(init)
    with np.errstate(all="ignore"):
        return profile_states(
            y,
            start,
            m=m,
            model=model,
            params=params,
            init=init,
            loss=loss,
            loss_fn=loss_fn,
            iterations=iterations,
            fitted=fitted,
        )


def _refine(
    y: np.ndarray,
    start: np.ndarray,
    *,
    m: int,
    model: EtsModel,
    params: np.ndarray,
    loss: np.ndarray,
    init: Init,
    maxiter: int,
) -> tuple[np.ndarray, np.ndarray, Init]:
    """Smoothing parameters and initial states together: one L-BFGS-B over the summed loss of
    all series, with the initial states profiled out at every evaluation (variable projection:
    the states are re-estimated for the trial parameters, then the gradient with respect to the
    parameters is taken at those states — by the envelope theorem the gradient of the profiled
    loss). Returns better params, loss and states where found."""
    from scipy.optimize import minimize

    x0, bounds = _pack(params, model)
    n, k = x0.shape
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    step = 1e-5
    big = 1e6 * np.maximum(np.abs(np.where(np.isfinite(loss), loss, 1.0)), 1.0)
    states = [init]  # the latest profiled states: each evaluation starts from them

    def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
        x = flat.reshape(n, k)
        p = _unpack(x, model)
        fit = _profile(y, start, m=m, model=model, params=p, init=states[0], iterations=1)
        states[0] = fit.init
        f = np.where(np.isfinite(fit.loss), fit.loss, big)
        grad = np.empty_like(x)
        for j in range(k):  # separable losses: one perturbed pass gives d f_i / d x_ij for all i
            xs = x.copy()
            h = np.where(x[:, j] + step <= hi[j], step, -step)
            xs[:, j] = np.clip(x[:, j] + h, lo[j], hi[j])
            fj = _model_loss(y, start, m=m, model=model, params=_unpack(xs, model), init=fit.init)
            fj = np.where(np.isfinite(fj), fj, big)
            grad[:, j] = (fj - f) / h
        return float(f.sum()), grad.ravel()

    res = minimize(
        objective,
        x0.ravel(),
        jac=True,
        method="L-BFGS-B",
        bounds=[b for _ in range(n) for b in bounds],
        options={"maxiter": maxiter},
    )
    refined = _unpack(res.x.reshape(n, k), model)
    fit = _profile(y, start, m=m, model=model, params=refined, init=states[0])
    better = np.isfinite(fit.loss) & (fit.loss < loss)
    return (
        np.where(better[:, None], refined, params),
        np.where(better, fit.loss, loss),
        _take_states(better, fit.init, init),
    )


def _take_states(where: np.ndarray, new: Init, old: Init) -> Init:
    return (
        np.where(where, new[0], old[0]),
        np.where(where, new[1], old[1]),
        np.where(where[None, :], new[2], old[2]),
    )


@dataclass
class _Choice:
    """Each row's model by AICc (index into `ETS_MODELS`, −1: none fits), its grid parameters,
    loss and estimated initial states."""

    model: np.ndarray
    params: np.ndarray
    loss: np.ndarray
    level: np.ndarray
    slope: np.ndarray
    seasonal: np.ndarray  # (m, n)

    @classmethod
    def empty(cls, n: int, m: int) -> _Choice:
        return cls(
            np.full(n, -1), np.zeros((n, 4)), np.full(n, np.inf), np.zeros(n), np.zeros(n),
            np.zeros((max(m, 1), n)),
        )  # fmt: skip

    def put(self, rows: np.ndarray, part: _Choice) -> None:
        self.model[rows], self.params[rows], self.loss[rows] = part.model, part.params, part.loss
        self.level[rows], self.slope[rows] = part.level, part.slope
        self.seasonal[:, rows] = part.seasonal


def _choose(y: np.ndarray, start: np.ndarray, *, m: int, models: tuple[EtsModel, ...]) -> _Choice:
    """Every candidate's grid start and profiled initial states, and each row's best by AICc.
    Row by row: a row's result does not depend on which other rows are fitted with it."""
    n, n_t = y.shape
    n_obs = (n_t - start).astype(float)
    best_aicc = np.full(n, np.inf)
    out = _Choice.empty(n, m)
    for cand in grid_search(y, start, m=m, models=models):
        rows = cand.rows
        fit = _profile(
            y[rows],
            start[rows],
            m=m,
            model=cand.model,
            params=cand.params,
            init=cand.init,
        )  # fmt: skip  (the grid point's loss again in float64, then the states estimated)
        score = aicc(fit.loss, cand.model.n_params(m), n_obs[rows])
        take = score < best_aicc[rows]
        tr = rows[take]
        best_aicc[tr] = score[take]
        out.model[tr] = ETS_MODELS.index(cand.model)
        out.params[tr] = cand.params[take]
        out.loss[tr] = fit.loss[take]
        out.level[tr], out.slope[tr] = fit.init[0][take], fit.init[1][take]
        if cand.model.season != "N":
            out.seasonal[:, tr] = fit.init[2][:, take]
        else:
            out.seasonal[:, tr] = 0.0
    return out


def _choose_parallel(
    y: np.ndarray, start: np.ndarray, *, m: int, models: tuple[EtsModel, ...]
) -> _Choice:
    """`_choose` on interleaved blocks of rows in threads (numpy releases the GIL inside its
    array operations, so the blocks' recursions run on separate cores). Every row's result is the
    one a single pass gives — each row's arithmetic is the same — so the choice, the parameters
    and the states are bit for bit those of one thread."""
    n = y.shape[0]
    workers = fit_workers(n)
    if workers == 1:
        return _choose(y, start, m=m, models=models)
    blocks = [np.arange(k, n, workers) for k in range(workers)]  # interleaved: balanced costs
    with ThreadPoolExecutor(workers) as pool:
        parts = list(pool.map(lambda r: _choose(y[r], start[r], m=m, models=models), blocks))
    out = _Choice.empty(n, m)
    for rows, part in zip(blocks, parts, strict=True):
        out.put(rows, part)
    return out


def fit_ets(
    y: np.ndarray,
    start: np.ndarray,
    *,
    m: int,
    horizon: int,
    models: tuple[EtsModel, ...] = ETS_MODELS,
    refine: bool = True,
    maxiter: int = 40,
) -> list[EtsFit]:
    """Fit every candidate model to every row, pick each row's best by AICc, and return one
    `EtsFit` per chosen model.

    Per candidate model: the best point of a shared grid (rule-of-thumb states) is the start; the
    initial states are then estimated for it (`_ets_states`: exact least squares where the errors
    are affine in them), and AICc — counting the smoothing parameters, the initial states and σ² —
    compares the models. With `refine`, the chosen model's smoothing parameters and initial states
    are then optimised together by one L-BFGS-B over all its series (`_refine`).

    Rows must be free of NaN after their start. Seasonal models are tried only where the series
    has two full seasons; multiplicative ones only on strictly positive series; a model only where
    the series has more observations than it has parameters + 1. Rows no model fits are absent
    from every returned fit.

    >>> import numpy as np
    >>> y = np.tile([10.0, 12.0, 11.0, 13.0], (2, 6))
    >>> [f.model.name for f in fit_ets(y, np.zeros(2, dtype=int), m=4, horizon=4)]
    ['ETS(A,N,A)']
    """
    n_t = y.shape[1]
    n_obs = (n_t - start).astype(float)
    choice = _choose_parallel(y, start, m=m, models=models)
    best_model, best_params, best_loss = choice.model, choice.params, choice.loss
    best_l, best_b, best_s = choice.level, choice.slope, choice.seasonal
    fits: list[EtsFit] = []
    for code in np.unique(best_model[best_model >= 0]):
        model = ETS_MODELS[code]
        rows = np.flatnonzero(best_model == code)
        yc, sc = y[rows], start[rows]
        init: Init = (best_l[rows], best_b[rows], best_s[:, rows])
        params, loss = best_params[rows], best_loss[rows]
        if refine:
            params, loss, init = _refine(
                yc, sc, m=m, model=model, params=params, loss=loss, init=init, maxiter=maxiter
            )
        p = params[:, :, None]
        with np.errstate(all="ignore"):
            run = recursion(
                yc,
                sc,
                m=m,
                trend=model.trend != "N",
                season=model.season,
                params=(p[:, 0], p[:, 1], p[:, 2], p[:, 3]),
                init=init,
                want_mult=model.error == "M",
                want_fitted=True,
            )
            mean = point_forecast(run, model, params, n_t=n_t, m=m, horizon=horizon)
        if run.fitted is None:
            raise RuntimeError("the ETS recursion returned no fitted values")
        if model.error == "A":  # class 1: the exact linear variance formula
            scale = horizon_scale(model, params, m, horizon)
        else:
            assert run.sse_rel is not None
            sigma = np.sqrt(run.sse_rel[:, 0] / (n_t - sc))
            if model.season != "M":  # class 2: exact, from the point forecasts
                scale = class2_horizon_scale(model, params, mean, sigma, m)
            else:  # class 3: simulated sample paths
                scale = simulated_horizon_scale(
                    run, model, params, sigma, n_t=n_t, m=m, horizon=horizon
                )
        fits.append(
            EtsFit(
                model=model,
                rows=rows,
                params=params,
                loss=loss,
                aicc=aicc(loss, model.n_params(m), n_obs[rows]),
                mean=mean,
                fitted=run.fitted,
                horizon_scale=scale,
            )
        )
    return fits
