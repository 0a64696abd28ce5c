"""Exponential smoothing (ETS) fitted to many series at once.

Series are the rows of a matrix; the recursions loop over the T periods, each step one numpy
operation over every series and every candidate parameter point (an `n × G` array). Parameters are
chosen by a grid shared by all series (each series takes its best point) and then refined by one
L-BFGS-B run over the sum of the per-series losses: the loss is separable, so a finite-difference
gradient for all series costs one extra pass per parameter.

State-space form of Hyndman et al. (2008) in error-correction form; with `r = y - ŷ` the update
equations are the same for additive and multiplicative errors (only the likelihood differs):

    base = l + φ b                           (φ = 1: trend A; trend N: base = l)
    ŷ    = base (+ s | × s)                  (season N, A, M; s = the state m periods ago)
    l   ← base + α r / s̃,   b ← φ b + β r / s̃,   s ← s + γ r / b̃
    with s̃ = s, b̃ = base for a multiplicative season, s̃ = b̃ = 1 otherwise.

−2 log-likelihood (up to a constant shared by all models): n·log(Σr²/n) for additive errors,
n·log(Σ(r/ŷ)²/n) + 2·Σ log|ŷ| for multiplicative ones; AICc adds 2k + 2k(k+1)/(n−k−1), with k
counting smoothing parameters, initial states and σ as in the `forecast` R package. Initial states
come from a classical decomposition of the first seasons (not optimised).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "ETS_MODELS",
    "EtsFit",
    "EtsModel",
    "fit_ets",
]

_PHI_BOUNDS = (0.8, 0.98)
_INIT_SEASONS = 3  # seasons used to initialise seasonal states
_CHUNK_CELLS = 200_000  # series × grid points per chunk: keeps the state arrays in cache


@dataclass(frozen=True)
class EtsModel:
    """One member of the ETS family, e.g. `EtsModel("M", "Ad", "N")` is ETS(M,Ad,N)."""

    error: str
    trend: str
    season: str

    @property
    def name(self) -> str:
        return f"ETS({self.error},{self.trend},{self.season})"

    @property
    def multiplicative(self) -> bool:
        return self.error == "M" or self.season == "M"

    def n_params(self, m: int) -> int:
        """Smoothing parameters + initial states + σ (the count AICc penalises)."""
        trend = self.trend != "N"
        season = self.season != "N"
        smoothing = 1 + trend + season + (self.trend == "Ad")
        return smoothing + 1 + trend + (m - 1) * season + 1


# Additive error with a multiplicative season is numerically unstable; excluded as in `forecast`.
ETS_MODELS: tuple[EtsModel, ...] = tuple(
    EtsModel(e, t, s)
    for s in ("N", "A", "M")
    for t in ("N", "A", "Ad")
    for e in ("A", "M")
    if not (e == "A" and s == "M")
)


@dataclass(frozen=True)
class EtsFit:
    """Per-series result of fitting one model to a set of series (rows)."""

    model: EtsModel
    rows: np.ndarray  # indices into the fitted matrix
    params: np.ndarray  # (n, 4): alpha, beta, gamma, phi
    loss: np.ndarray  # −2 log L (without constants)
    aicc: np.ndarray
    mean: np.ndarray  # (n, horizon) point forecasts
    fitted: np.ndarray  # (n, T) one-step fitted values, NaN before the series starts
    horizon_scale: np.ndarray  # (n, horizon) sd of the h-step error relative to the one-step error


# ---------------------------------------------------------------------------------------------
# initial states

_Init = tuple[np.ndarray, np.ndarray, np.ndarray]  # l0 (n,), b0 (n,), s0 (m, n) by calendar phase


def _gather(y: np.ndarray, start: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first k observations of every series (from its start) and which exist."""
    n_t = y.shape[1]
    idx = start[:, None] + np.arange(k)[None, :]
    ok = idx < n_t
    vals = np.take_along_axis(y, np.minimum(idx, n_t - 1), axis=1)
    return np.where(ok, vals, np.nan), ok


def _line_start(z: np.ndarray, ok: np.ndarray, trend: bool) -> tuple[np.ndarray, np.ndarray]:
    """Level at the period before the first of `z` (and slope): mean, or least-squares line."""
    cnt = ok.sum(axis=1)
    zz = np.where(ok, z, 0.0)
    with np.errstate(all="ignore"):
        zm = zz.sum(axis=1) / cnt
        if not trend:
            return zm, np.zeros(z.shape[0])
        x = np.where(ok, np.arange(z.shape[1])[None, :], 0.0)
        xm = x.sum(axis=1) / cnt
        dx = np.where(ok, x - xm[:, None], 0.0)
        sxx = (dx * dx).sum(axis=1)
        slope = np.where(sxx > 0, (dx * (zz - zm[:, None])).sum(axis=1) / sxx, 0.0)
    return zm - slope * (xm + 1.0), slope


def _seasonal_indices(y: np.ndarray, start: np.ndarray, m: int, season: str) -> np.ndarray:
    """Classical decomposition of the first three seasons (as the `forecast` package does): the
    seasonal index of every calendar phase (m, n) around a centred 2×m moving average."""
    n, n_t = y.shape
    y = np.where(np.arange(n_t)[None, :] < (start + _INIT_SEASONS * m)[:, None], y, np.nan)
    ok = ~np.isnan(y)
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(np.where(ok, y, 0.0), axis=1)], axis=1)
    ccnt = np.concatenate([np.zeros((n, 1)), np.cumsum(ok, axis=1)], axis=1)
    half = m // 2
    t = np.arange(half, n_t - half)
    lo, hi = t - half, t + half + 1  # window [t − half, t + half]
    total = csum[:, hi] - csum[:, lo]
    full = (ccnt[:, hi] - ccnt[:, lo]) == hi - lo
    if m % 2 == 0:  # 2×m average: the two end points weigh a half
        ends = np.where(ok[:, lo], y[:, lo], 0.0) + np.where(ok[:, hi - 1], y[:, hi - 1], 0.0)
        total = total - 0.5 * ends
    with np.errstate(all="ignore"):
        trend_ma = np.where(full, total / m, np.nan)
        dev = y[:, t] / trend_ma if season == "M" else y[:, t] - trend_ma
    dev_ok = ~np.isnan(dev) & np.isfinite(dev)
    index = np.zeros((m, n))
    for phase in range(m):
        cols = (t % m) == phase
        cnt = dev_ok[:, cols].sum(axis=1)
        with np.errstate(all="ignore"):
            mean = np.where(dev_ok[:, cols], dev[:, cols], 0.0).sum(axis=1) / cnt
        index[phase] = np.where(cnt > 0, mean, 1.0 if season == "M" else 0.0)
    if season == "M":
        with np.errstate(all="ignore"):
            index = index / index.mean(axis=0, keepdims=True)
        return np.where(np.isfinite(index) & (index > 0), index, 1.0)
    return index - index.mean(axis=0, keepdims=True)


def _initial_states(y: np.ndarray, start: np.ndarray, *, m: int, trend: bool, season: str) -> _Init:
    """Heuristic l0, b0 (n,) and s0 (m, n) by calendar phase.

    Seasonal indices from a classical decomposition of the first seasons; level and slope from the
    (deseasonalised) first observations: their mean, or a least-squares line when there is a trend.
    """
    n = y.shape[0]
    if season == "N":
        k = max(m, 10) if trend else max(m, 4)
        first, ok = _gather(y, start, k)
        level, slope = _line_start(first, ok, trend)
        return level, slope, np.zeros((m, n))
    s0 = _seasonal_indices(y, start, m, season)
    first, ok = _gather(y, start, 2 * m)
    phases = (start[:, None] + np.arange(2 * m)[None, :]) % m
    seas = np.take_along_axis(s0.T, phases, axis=1)
    with np.errstate(all="ignore"):
        z = first / seas if season == "M" else first - seas
    if not trend:
        ok = ok & (np.arange(2 * m)[None, :] < m)
    level, slope = _line_start(z, ok, trend)
    return level, slope, s0


# ---------------------------------------------------------------------------------------------
# the recursion


@dataclass
class _Run:
    sse: np.ndarray
    sse_rel: np.ndarray | None
    log_yhat: np.ndarray | None
    bad: np.ndarray
    level: np.ndarray
    slope: np.ndarray
    seasonal: np.ndarray  # (m, n, G)
    fitted: np.ndarray | None


def _recursion(  # noqa: PLR0912, PLR0915 - one loop body: the hot path reads best whole
    y: np.ndarray,
    start: np.ndarray,
    *,
    m: int,
    trend: bool,
    season: str,
    params: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    init: _Init,
    want_mult: bool,
    want_fitted: bool = False,
) -> _Run:
    """Run the smoothing recursions over T periods for all series × parameter points at once.

    `params` = (alpha, beta, gamma, phi), each broadcasting to (n, G): a shared grid is (1, G),
    per-series values are (n, 1).
    """
    alpha, beta, gamma, phi = params
    n, n_t = y.shape
    n_g = max(np.shape(a)[-1] for a in (alpha, beta, gamma, phi))
    shape = (n, n_g)
    l0, b0, s0 = init
    level = np.broadcast_to(l0[:, None], shape).copy()
    slope = np.broadcast_to(b0[:, None], shape).copy() if trend else None
    seas = np.broadcast_to(s0[:, :, None], (m, n, n_g)).copy() if season != "N" else None
    sse = np.zeros(shape)
    sse_rel = np.zeros(shape) if want_mult else None
    log_yhat = np.zeros(shape) if want_mult else None
    bad = np.zeros(shape, dtype=bool)
    fitted = np.full((n, n_t), np.nan) if want_fitted else None
    masked = bool((start > 0).any())
    for t in range(n_t):
        yt = y[:, t : t + 1]
        base = level + phi * slope if trend else level
        if season == "A":
            s_old = seas[t % m]
            yhat = base + s_old
        elif season == "M":
            s_old = seas[t % m]
            yhat = base * s_old
        else:
            yhat = base
        r = yt - yhat
        if masked:
            active = (t >= start)[:, None]
            r = np.where(active, r, 0.0)
        sse += r * r
        if want_mult:
            q = r / yhat
            sse_rel += q * q
            pos = np.abs(yhat)
            if masked:
                pos = np.where(active, pos, 1.0)
            log_yhat += np.log(pos)
            bad |= yhat <= 0 if not masked else active & (yhat <= 0)
        if fitted is not None:
            fitted[:, t] = yhat[:, 0]
        if season == "M":
            r_s = r / s_old
            new_level = base + alpha * r_s
            if trend:
                new_slope = phi * slope + beta * r_s
            new_s = s_old + gamma * r / base
        else:
            new_level = base + alpha * r
            if trend:
                new_slope = phi * slope + beta * r
            if season == "A":
                new_s = s_old + gamma * r
        if masked:  # before a series starts its states stay at their initial values
            new_level = np.where(active, new_level, level)
            if trend:
                new_slope = np.where(active, new_slope, slope)
            if season != "N":
                new_s = np.where(active, new_s, s_old)
        level = new_level
        if trend:
            slope = new_slope
        if season != "N":
            seas[t % m] = new_s
    if fitted is not None:
        fitted[np.arange(n_t)[None, :] < start[:, None]] = np.nan
    return _Run(
        sse=sse,
        sse_rel=sse_rel,
        log_yhat=log_yhat,
        bad=bad,
        level=level,
        slope=slope if trend else np.zeros(shape),
        seasonal=seas if season != "N" else np.zeros((max(m, 1), n, n_g)),
        fitted=fitted,
    )


def _losses(run: _Run, n_obs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """−2 log L for additive and multiplicative errors; inf where the fit is unusable."""
    nn = n_obs[:, None].astype(float)
    with np.errstate(all="ignore"):
        tiny = 1e-12 * nn
        loss_a = nn * np.log(np.maximum(run.sse, tiny) / nn)
        loss_a[~np.isfinite(loss_a)] = np.inf
        loss_m = None
        if run.sse_rel is not None:
            loss_m = nn * np.log(np.maximum(run.sse_rel, tiny) / nn) + 2.0 * run.log_yhat
            loss_m[~np.isfinite(loss_m) | run.bad] = np.inf
    return loss_a, loss_m


# ---------------------------------------------------------------------------------------------
# grids, refinement, forecasts


def _grid(trend: bool, season: str) -> np.ndarray:
    """Parameter points (G, 4): alpha, beta, gamma, phi — beta ≤ alpha, gamma ≤ 1 − alpha."""
    if not trend and season == "N":
        alpha = np.array([0.01, 0.03, 0.06, 0.1, 0.15, 0.2, 0.3, 0.4, 0.55, 0.7, 0.85, 0.99])
        return np.column_stack(
            [alpha, np.zeros_like(alpha), np.zeros_like(alpha), np.ones_like(alpha)]
        )
    alphas = np.array([0.03, 0.1, 0.2, 0.35, 0.6, 0.9])
    beta_f = np.array([0.03, 0.25]) if trend else np.array([0.0])
    gamma_f = np.array([0.05, 0.3]) if season != "N" else np.array([0.0])
    phis = np.array([0.85, 0.95, 1.0]) if trend else np.array([1.0])
    a, bf, gf, p = (g.ravel() for g in np.meshgrid(alphas, beta_f, gamma_f, phis, indexing="ij"))
    return np.column_stack([a, a * bf, (1.0 - a) * gf, p])


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
        cols.append(np.clip(params[:, 3], *_PHI_BOUNDS))
        bounds.append(_PHI_BOUNDS)
    return np.column_stack(cols), bounds


def _model_loss(
    y: np.ndarray, start: np.ndarray, *, m: int, model: EtsModel, params: np.ndarray, init: _Init
) -> np.ndarray:
    p = params[:, :, None] if params.ndim == 2 else params
    with np.errstate(all="ignore"):
        run = _recursion(
            y,
            start,
            m=m,
            trend=model.trend != "N",
            season=model.season,
            params=(p[:, 0], p[:, 1], p[:, 2], p[:, 3]),
            init=init,
            want_mult=model.error == "M",
        )
    loss_a, loss_m = _losses(run, y.shape[1] - start)
    loss = loss_m if model.error == "M" else loss_a
    return loss[:, 0]


def _refine(
    y: np.ndarray,
    start: np.ndarray,
    *,
    m: int,
    model: EtsModel,
    params: np.ndarray,
    loss: np.ndarray,
    init: _Init,
    maxiter: int,
) -> tuple[np.ndarray, np.ndarray]:
    """One L-BFGS-B over the summed loss of all series; returns better params where found."""
    from scipy.optimize import minimize

    x0, bounds = _pack(params, model)
    n, k = x0.shape
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    step = 1e-5
    big = 1e6 * np.maximum(np.abs(loss), 1.0)

    def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
        x = flat.reshape(n, k)
        f = _model_loss(y, start, m=m, model=model, params=_unpack(x, model), init=init)
        f = np.where(np.isfinite(f), f, big)
        grad = np.empty_like(x)
        for j in range(k):  # separable losses: one perturbed pass gives d f_i / d x_ij for all i
            xs = x.copy()
            h = np.where(x[:, j] + step <= hi[j], step, -step)
            xs[:, j] = np.clip(x[:, j] + h, lo[j], hi[j])
            fj = _model_loss(y, start, m=m, model=model, params=_unpack(xs, model), init=init)
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
    new_loss = _model_loss(y, start, m=m, model=model, params=refined, init=init)
    better = np.isfinite(new_loss) & (new_loss < loss)
    return np.where(better[:, None], refined, params), np.where(better, new_loss, loss)


def _damped_sum(phi: np.ndarray, horizon: int, trend: str) -> np.ndarray:
    """φ_h = φ + φ² + … + φ^h per series (n, H); h for trend A, 0 for no trend."""
    h = np.arange(1, horizon + 1)[None, :]
    if trend == "N":
        return np.zeros((phi.shape[0], horizon))
    if trend == "A":
        return np.broadcast_to(h.astype(float), (phi.shape[0], horizon)).copy()
    return np.cumsum(phi[:, None] ** h, axis=1)


def _horizon_scale(model: EtsModel, params: np.ndarray, m: int, horizon: int) -> np.ndarray:
    """sd(h-step error) / sd(one-step error) = sqrt(1 + Σ_{j<h} c_j²), c_j = α + βφ_j + γ[j≡0 mod m].

    Exact for the additive models, the usual approximation for multiplicative ones.
    """
    alpha, beta, gamma, phi = params.T
    phij = _damped_sum(phi, max(horizon - 1, 1), model.trend)[:, : horizon - 1]
    j = np.arange(1, horizon)[None, :]
    c = alpha[:, None] + beta[:, None] * phij + gamma[:, None] * ((j % m) == 0)
    var = np.concatenate([np.ones((params.shape[0], 1)), 1.0 + np.cumsum(c**2, axis=1)], axis=1)
    return np.sqrt(var)


def _forecast(
    run: _Run, model: EtsModel, params: np.ndarray, *, n_t: int, m: int, horizon: int
) -> np.ndarray:
    level, slope = run.level[:, 0], run.slope[:, 0]
    mean = level[:, None] + _damped_sum(params[:, 3], horizon, model.trend) * slope[:, None]
    if model.season != "N":
        phases = (n_t - 1 + np.arange(1, horizon + 1)) % m
        seas = run.seasonal[phases, :, 0].T
        mean = mean * seas if model.season == "M" else mean + seas
    return mean


def _aicc(loss: np.ndarray, k: int, n_obs: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        aic = loss + n_obs * (1.0 + np.log(2 * np.pi)) + 2 * k
        out = aic + 2.0 * k * (k + 1) / (n_obs - k - 1)
    return np.where((n_obs - k - 1 > 0) & np.isfinite(loss), out, np.inf)


def _grid_search(
    y: np.ndarray, start: np.ndarray, *, m: int, models: tuple[EtsModel, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's best model (index into ETS_MODELS, −1 if none fits) by AICc over the grids,
    with its grid parameters and loss."""
    n, n_t = y.shape
    n_obs = (n_t - start).astype(float)
    with np.errstate(all="ignore"):
        positive = np.all(np.where(np.arange(n_t)[None, :] >= start[:, None], y, 1.0) > 0, axis=1)
    two_seasons = n_obs >= 2 * m
    best_aicc = np.full(n, np.inf)
    best_model = np.full(n, -1)
    best_params = np.zeros((n, 4))
    best_loss = np.full(n, np.inf)
    passes = [(tr, s) for s in ("N", "A", "M") for tr in (False, True)]
    for trend, season in passes:
        if season != "N" and m < 2:
            continue
        eligible = np.ones(n, dtype=bool) if season == "N" else two_seasons
        if season == "M":
            eligible = eligible & positive
        variants = [v for v in _variants(trend, season, True) if v in models]
        if not variants or not eligible.any():
            continue
        grid = _grid(trend, season)
        rows_all = np.flatnonzero(eligible)
        chunk = max(1, _CHUNK_CELLS // grid.shape[0])
        for c0 in range(0, rows_all.size, chunk):
            rows = rows_all[c0 : c0 + chunk]
            yc, sc = y[rows], start[rows]
            init = _initial_states(yc, sc, m=m, trend=trend, season=season)
            want_mult = positive[rows].any() and any(v.error == "M" for v in variants)
            with np.errstate(all="ignore"):
                run = _recursion(
                    yc,
                    sc,
                    m=m,
                    trend=trend,
                    season=season,
                    params=(grid[None, :, 0], grid[None, :, 1], grid[None, :, 2], grid[None, :, 3]),
                    init=init,
                    want_mult=want_mult,
                )
            loss_a, loss_m = _losses(run, n_t - sc)
            for v in variants:
                if v.error == "M" and loss_m is None:
                    continue
                loss = loss_a
                if v.error == "M":
                    loss = np.where(positive[rows][:, None], loss_m, np.inf)
                cols = np.flatnonzero(_columns_for(v, grid))
                sub = loss[:, cols]
                arg = np.argmin(sub, axis=1)
                lbest = sub[np.arange(rows.size), arg]
                aicc = _aicc(lbest, v.n_params(m), n_obs[rows])
                take = aicc < best_aicc[rows]
                tr = rows[take]
                best_aicc[tr] = aicc[take]
                best_model[tr] = ETS_MODELS.index(v)
                best_params[tr] = grid[cols[arg[take]]]
                best_loss[tr] = lbest[take]
    return best_model, best_params, best_loss


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
    """Fit every candidate model to every row by grid search; pick each row's best by AICc;
    refine the chosen model's parameters jointly; return one `EtsFit` per chosen model.

    Rows must be free of NaN after their start. Seasonal models are tried only where the series
    has two full seasons; multiplicative ones only on strictly positive series. Rows no model
    fits (too short for any) are absent from every returned fit.

    >>> import numpy as np
    >>> y = np.tile([10.0, 12.0, 11.0, 13.0], (2, 6))
    >>> [f.model.name for f in fit_ets(y, np.zeros(2, dtype=int), m=4, horizon=4)]
    ['ETS(A,N,A)']
    """
    n_t = y.shape[1]
    n_obs = (n_t - start).astype(float)
    best_model, best_params, best_loss = _grid_search(y, start, m=m, models=models)
    fits: list[EtsFit] = []
    for code in np.unique(best_model[best_model >= 0]):
        model = ETS_MODELS[code]
        rows = np.flatnonzero(best_model == code)
        yc, sc = y[rows], start[rows]
        init = _initial_states(yc, sc, m=m, trend=model.trend != "N", season=model.season)
        params, loss = best_params[rows], best_loss[rows]
        if refine:
            params, loss = _refine(
                yc, sc, m=m, model=model, params=params, loss=loss, init=init, maxiter=maxiter
            )
        p = params[:, :, None]
        with np.errstate(all="ignore"):
            run = _recursion(
                yc,
                sc,
                m=m,
                trend=model.trend != "N",
                season=model.season,
                params=(p[:, 0], p[:, 1], p[:, 2], p[:, 3]),
                init=init,
                want_mult=False,
                want_fitted=True,
            )
            mean = _forecast(run, model, params, n_t=n_t, m=m, horizon=horizon)
        fits.append(
            EtsFit(
                model=model,
                rows=rows,
                params=params,
                loss=loss,
                aicc=_aicc(loss, model.n_params(m), n_obs[rows]),
                mean=mean,
                fitted=run.fitted,
                horizon_scale=_horizon_scale(model, params, m, horizon),
            )
        )
    return fits
