"""Initial ETS states estimated by Gauss–Newton on the likelihood's sum of squares, for all series
at once.

In error-correction form the one-step errors `r_t = y_t − ŷ_t` of a model without a
multiplicative season are *affine* in the initial states x0 = (l0, b0, s0): the state equations
are linear in the states and in y. So for given smoothing parameters the least-squares initial
states solve one linear regression per series, and one Gauss–Newton step from any start lands on
them exactly: for additive errors that is the profile maximum-likelihood estimate (−2 log L =
n log(Σ r²/n) is monotone in Σ r²). For multiplicative errors the step minimises Σ (r/ŷ)² (the
likelihood's main term; `q = r/ŷ` has Jacobian `J_r · y / ŷ²`), and for a multiplicative season
the errors are not affine, so a few damped steps are taken; every step is kept only for the series
whose exact −2 log L it lowers.

The Jacobian `J = ∂r/∂x0` comes from propagating tangents through the recursion (forward mode):
one extra column per free initial state, all series at once, T vector steps. Seasonal states are
free in m − 1 directions: a unit change at phase j < m − 1 is offset at phase m − 1, so the states
keep their sum (0 for an additive season, m for a multiplicative one) — the normalisation of
Hyndman et al. (2008) that makes the count of estimated initial states 1 + [trend] + (m − 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.forecasting._ets_core import EtsModel, Init, recursion

__all__ = ["StateFit", "n_free_states", "profile_states"]

_RIDGE = 1e-10  # relative ridge on the normal equations: a flat direction stays put
_JACOBIAN_CELLS = 2_000_000  # rows × periods × states per block (16 MB)


@dataclass(frozen=True)
class StateFit:
    init: Init
    loss: np.ndarray  # −2 log L (as `_ets_core.losses`) at the returned states


def n_free_states(model: EtsModel, m: int) -> int:
    return 1 + (model.trend != "N") + (m - 1) * (model.season != "N")


def _tangent_basis(model: EtsModel, m: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Initial tangents (n, P) of level and slope and (m, n, P) of the seasonal states."""
    p = n_free_states(model, m)
    dl = np.zeros((n, p))
    db = np.zeros((n, p))
    ds = np.zeros((max(m, 1), n, p))
    dl[:, 0] = 1.0
    j = 1
    if model.trend != "N":
        db[:, 1] = 1.0
        j = 2
    if model.season != "N":
        for phase in range(m - 1):
            ds[phase, :, j + phase] = 1.0
            ds[m - 1, :, j + phase] = -1.0
    return dl, db, ds


def _jacobian(
    y: np.ndarray, start: np.ndarray, *, m: int, model: EtsModel, params: np.ndarray, init: Init
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-step errors r (n, T), fitted ŷ (n, T) and J = ∂r/∂x0 (n, T, P); zero before a start."""
    n, n_t = y.shape
    alpha, beta, gamma, phi = (params[:, k : k + 1] for k in range(4))
    trend, season = model.trend != "N", model.season
    l0, b0, s0 = init
    level, slope = l0[:, None].copy(), (b0[:, None].copy() if trend else np.zeros((n, 1)))
    seas = s0[:, :, None].copy() if season != "N" else np.zeros((max(m, 1), n, 1))
    dl, db, ds = _tangent_basis(model, m, n)
    r_all = np.zeros((n, n_t))
    yhat_all = np.ones((n, n_t))
    jac = np.zeros((n, n_t, dl.shape[1]))
    last_start = int(start.max()) if start.size else 0  # from here on every series is active
    y_clean = np.nan_to_num(y)  # once, not one allocation per period
    for t in range(n_t):
        masked = t < last_start
        active = (t >= start)[:, None]
        yt = y_clean[:, t : t + 1]
        base = level + phi * slope if trend else level
        dbase = dl + phi * db if trend else dl
        k = t % m
        if season == "A":
            s_old, ds_old = seas[k], ds[k]
            yhat, dyhat = base + s_old, dbase + ds_old
        elif season == "M":
            s_old, ds_old = seas[k], ds[k]
            yhat, dyhat = base * s_old, dbase * s_old + base * ds_old
        else:
            yhat, dyhat = base, dbase
        r, dr = yt - yhat, -dyhat
        if masked:
            r, dr = np.where(active, r, 0.0), np.where(active, dr, 0.0)
        r_all[:, t] = r[:, 0]
        yhat_all[:, t] = (np.where(active, yhat, 1.0) if masked else yhat)[:, 0]
        jac[:, t] = dr
        if season == "M":
            corr, dcorr = r / s_old, dr / s_old - r * ds_old / s_old**2
            new_s = s_old + gamma * r / base
            new_ds = ds_old + gamma * (dr / base - r * dbase / base**2)
        else:
            corr, dcorr = r, dr
            if season == "A":
                new_s, new_ds = s_old + gamma * r, ds_old + gamma * dr
        new_level, new_dl = base + alpha * corr, dbase + alpha * dcorr
        level, dl = _kept(masked, active, new_level, level), _kept(masked, active, new_dl, dl)
        if trend:
            slope = _kept(masked, active, phi * slope + beta * corr, slope)
            db = _kept(masked, active, phi * db + beta * dcorr, db)
        if season != "N":
            seas[k] = _kept(masked, active, new_s, s_old)
            ds[k] = _kept(masked, active, new_ds, ds_old)
    return r_all, yhat_all, jac


def _kept(masked: bool, active: np.ndarray, new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """The new state where a series is active, the old one before its start (no mask needed
    once every series has started: the same values without the pass)."""
    return np.where(active, new, old) if masked else new


def _step(
    y: np.ndarray,
    start: np.ndarray,
    *,
    m: int,
    model: EtsModel,
    params: np.ndarray,
    init: Init,
    fitted: np.ndarray | None = None,
) -> np.ndarray:
    """The Gauss–Newton step (n, P) for the initial states, in blocks of rows (J is n × T × P).

    Without a multiplicative season J depends on the parameters and the start only (the errors
    are affine in the states and in y), so it is propagated once per distinct (parameters, start)
    — a grid start shares it between many series — and the errors come from one plain pass. With
    additive errors the normal equations are then shared too: the step is −(J'J)⁻¹J' r with one
    (J'J)⁻¹J' per distinct key, applied to every series' errors. `fitted`: the one-step
    fitted values at `init` where the caller has them (that pass is then not run again)."""
    n, n_t = y.shape
    p = n_free_states(model, m)
    rows = max(1, _JACOBIAN_CELLS // (n_t * p))
    linear = model.season != "M"
    shared = np.empty((0, n_t, p))
    solver = None
    inverse = np.zeros(n, dtype=np.intp)
    if linear and fitted is None:
        pp = params[:, :, None]
        with np.errstate(all="ignore"):
            run = recursion(
                y, start, m=m, trend=model.trend != "N", season=model.season,
                params=(pp[:, 0], pp[:, 1], pp[:, 2], pp[:, 3]), init=init,
                want_mult=False, want_fitted=True,
            )  # fmt: skip
        fitted = run.fitted
    if fitted is None:
        fitted = np.empty((0, n_t))
    if linear:
        uniq, inverse = _distinct_keys(params, start)
        shared = _jacobian(
            np.zeros((uniq.shape[0], n_t)), uniq[:, 4].astype(start.dtype), m=m, model=model,
            params=uniq[:, :4], init=_zero_states(uniq.shape[0], m),
        )[2]  # fmt: skip
        if model.error == "A":
            solver = _least_squares_operator(shared)
    out = []
    for a in range(0, n, rows):
        b = slice(a, a + rows)
        if linear:
            active = np.arange(n_t)[None, :] >= start[b, None]
            yhat = np.where(active, fitted[b], 1.0)
            r = np.where(active, np.nan_to_num(y[b]) - yhat, 0.0)
            if solver is not None:
                out.append(-np.einsum("npt,nt->np", solver[inverse[b]], r))
                continue
            jac = shared[inverse[b]]
        else:
            sub = (init[0][b], init[1][b], init[2][:, b])
            r, yhat, jac = _jacobian(y[b], start[b], m=m, model=model, params=params[b], init=sub)
        out.append(_solve_step(y[b], r, yhat, jac, model))
    return np.concatenate(out) if out else np.zeros((0, p))


def _zero_states(k: int, m: int) -> Init:
    return np.zeros(k), np.zeros(k), np.zeros((max(m, 1), k))


def _distinct_keys(params: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (alpha, beta, gamma, phi, start) rows and each row's index among them: each
    column coded on its own and the codes combined into one integer (a 1-d unique is much faster
    than numpy's row-wise one)."""
    key = np.column_stack([params, start.astype(float)])
    code = np.zeros(key.shape[0], dtype=np.int64)
    for j in range(key.shape[1]):
        values, col = np.unique(key[:, j], return_inverse=True)
        code = code * values.size + col.ravel()
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    return key[first], inverse.ravel()


def _least_squares_operator(jac: np.ndarray) -> np.ndarray:
    """(J'J + ridge)⁻¹ J' per Jacobian (k, T, P) → (k, P, T): the least-squares step operator of
    additive errors, with the same relative ridge as `_solve_step`."""
    normal = np.matmul(jac.transpose(0, 2, 1), jac)
    p = normal.shape[1]
    scale = np.trace(normal, axis1=1, axis2=2) / p + 1e-300
    normal = normal + (_RIDGE * scale)[:, None, None] * np.eye(p)[None]
    return np.linalg.solve(normal, jac.transpose(0, 2, 1))


def _solve_step(
    y: np.ndarray, r: np.ndarray, yhat: np.ndarray, jac: np.ndarray, model: EtsModel
) -> np.ndarray:
    if model.error == "M":  # q = r / ŷ, ∂q/∂x = J_r · y / ŷ²
        with np.errstate(all="ignore"):
            weight = np.nan_to_num(y) / yhat**2
            r = r / yhat
        weight[~np.isfinite(weight)] = 0.0
        r[~np.isfinite(r)] = 0.0
        jac *= weight[:, :, None]  # `jac` is the caller's own copy (gathered or propagated)
    if not np.isfinite(jac).all():  # a multiplicative season whose base went to zero
        jac = np.nan_to_num(jac, nan=0.0, posinf=0.0, neginf=0.0)
    normal = np.matmul(jac.transpose(0, 2, 1), jac)
    grad = np.matmul(jac.transpose(0, 2, 1), r[:, :, None])
    p = normal.shape[1]
    scale = np.trace(normal, axis1=1, axis2=2) / p + 1e-300
    normal = normal + (_RIDGE * scale)[:, None, None] * np.eye(p)[None]
    return -np.linalg.solve(normal, grad)[:, :, 0]


def _moved(init: Init, step: np.ndarray, model: EtsModel, m: int, size: float) -> Init:
    l0, b0, s0 = init
    step = np.nan_to_num(step) * size
    l1 = l0 + step[:, 0]
    j = 1
    b1 = b0
    if model.trend != "N":
        b1 = b0 + step[:, 1]
        j = 2
    s1 = s0
    if model.season != "N":
        s1 = s0.copy()
        s1[: m - 1] += step[:, j:].T
        s1[m - 1] -= step[:, j:].sum(axis=1)
    return l1, b1, s1


def _rows(states: Init, rows: np.ndarray | None) -> Init:
    if rows is None:
        return states
    return states[0][rows], states[1][rows], states[2][:, rows]


def profile_states(
    y: np.ndarray,
    start: np.ndarray,
    *,
    m: int,
    model: EtsModel,
    params: np.ndarray,
    init: Init,
    loss: np.ndarray,
    loss_fn,
    iterations: int | None = None,
    fitted: np.ndarray | None = None,
) -> StateFit:
    """Improve the initial states `init` (whose loss is `loss`) for smoothing `params` (n, 4).

    `loss_fn(states, rows) -> (len(rows),)` evaluates −2 log L at other states of the series
    `rows` (None: every series). Additive models without a multiplicative season take one exact
    step; other models up to two, each halved once where the full step does not lower the loss.
    `fitted`: the one-step fitted values at `init`, if the caller computed them with `loss` (the
    first step then needs no pass of its own).

    Only series that can still move are computed: the half step only where the full one failed,
    a second step only where the first was kept — a series whose states did not move would take
    the same step to the same trial states and fail again (every series' arithmetic is its own,
    so the result is the one a pass over every series gives, bit for bit).
    """
    if iterations is None:
        iterations = 1 if model.error == "A" and model.season != "M" else 2
    n = y.shape[0]
    best = tuple(np.array(a, dtype=np.result_type(a, np.float64)) for a in init)
    best_loss = np.array(loss, dtype=np.result_type(loss, np.float64))
    todo: np.ndarray | None = None  # the series whose states may still move (None: all)
    for _ in range(iterations):
        y_t, start_t, params_t = (y, start, params) if todo is None else (
            y[todo], start[todo], params[todo]
        )  # fmt: skip
        best_t = _rows(best, todo)  # type: ignore[arg-type]
        step = _step(y_t, start_t, m=m, model=model, params=params_t, init=best_t, fitted=fitted)
        fitted = None  # the states move: later steps run their own pass
        rows_t = np.arange(y_t.shape[0]) if todo is None else todo
        improved = np.zeros(y_t.shape[0], dtype=bool)
        left = np.arange(y_t.shape[0])  # of these, the ones not improved yet
        for size in (1.0, 0.5):
            whole = left.size == y_t.shape[0]
            trial = _moved(
                best_t if whole else _rows(best_t, left),
                step if whole else step[left], model, m, size,
            )  # fmt: skip
            which = rows_t[left]
            trial_loss = loss_fn(trial, None if todo is None and whole else which)
            better = np.isfinite(trial_loss) & (trial_loss < best_loss[which])
            kept = which[better]
            best[0][kept], best[1][kept] = trial[0][better], trial[1][better]
            best[2][:, kept] = trial[2][:, better]
            best_loss[kept] = trial_loss[better]
            improved[left[better]] = True
            left = left[~better]
            if (model.error == "A" and model.season != "M") or left.size == 0:
                break  # exact least squares: halving cannot help
        if not improved.any():
            break
        todo = rows_t[improved]
    assert len(best) == 3 and best_loss.shape == (n,)
    return StateFit((best[0], best[1], best[2]), best_loss)
