"""ETS building blocks: the model family, initial states, the vectorised recursion, likelihoods,
point forecasts and h-step error scales. Fitting lives in `_ets`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CHUNK_CELLS",
    "ETS_MODELS",
    "PHI_BOUNDS",
    "SIM_PATHS",
    "SIM_SEED",
    "EtsFit",
    "EtsModel",
    "Init",
    "Run",
    "aicc",
    "class2_horizon_scale",
    "horizon_scale",
    "initial_states",
    "losses",
    "point_forecast",
    "recursion",
    "simulated_horizon_scale",
]

PHI_BOUNDS = (0.8, 0.98)
_INIT_SEASONS = 3  # seasons used to initialise seasonal states
CHUNK_CELLS = 200_000  # series × grid points per chunk: keeps the state arrays in cache


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

Init = tuple[np.ndarray, np.ndarray, np.ndarray]  # l0 (n,), b0 (n,), s0 (m, n) by calendar phase


def _gather(y: np.ndarray, start: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first k observations of every series (from its start) and which exist."""
    n_t = y.shape[1]
    idx = start[:, None] + np.arange(k)[None, :]
    ok = idx < n_t
    vals = np.take_along_axis(y, np.minimum(idx, n_t - 1), axis=1)
    return np.where(ok, vals, np.nan), ok


def _line_start(
    z: np.ndarray, ok: np.ndarray, slope: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Level at the period before the first of `z`, given the slope (None: no trend): the mean
    of `z` carried back along the slope to the period before the first."""
    cnt = ok.sum(axis=1)
    zz = np.where(ok, z, 0.0)
    with np.errstate(all="ignore"):
        zm = zz.sum(axis=1) / cnt
        if slope is None:
            return zm, np.zeros(z.shape[0])
        x = np.where(ok, np.arange(z.shape[1])[None, :], 0.0)
        xm = x.sum(axis=1) / cnt
    return zm - slope * (xm + 1.0), slope


def _whole_slope(y: np.ndarray, start: np.ndarray, lag: int) -> np.ndarray:
    """Mean change per period over the whole series, from its lag-`lag` differences (lag m
    cancels an additive season): the slope a model whose slope hardly moves (β → 0) keeps
    throughout, so the grid ranks such points at a slope they can live with."""
    n, n_t = y.shape
    if n_t <= lag:
        return np.zeros(n)
    ok = np.arange(lag, n_t)[None, :] >= (start + lag)[:, None]
    diff = np.where(ok, y[:, lag:] - y[:, :-lag], 0.0)
    cnt = ok.sum(axis=1)
    with np.errstate(all="ignore"):
        slope = diff.sum(axis=1) / (cnt * lag)
    return np.where((cnt > 0) & np.isfinite(slope), slope, 0.0)


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


def initial_states(y: np.ndarray, start: np.ndarray, *, m: int, trend: bool, season: str) -> Init:
    """Heuristic l0, b0 (n,) and s0 (m, n) by calendar phase: the grid's start, which ranks the
    grid points before the states are estimated for the chosen one (`_ets_states`).

    Seasonal indices from a classical decomposition of the first seasons; the slope is the mean
    change per period over the whole series (seasonal differences / m when there is a season);
    the level is the (deseasonalised) first observations' mean carried back along that slope.
    The whole-series slope, not a line through the first observations: points with a small β
    keep their initial slope for the whole sample, so a slope from the first few observations
    (noisy, and a local slope) would rank them far below their profiled fit — the grid then
    preferred fast-moving slopes, or no trend, on series with a steady drift. Points with a
    large β forget the start within a few periods either way.
    """
    n = y.shape[0]
    slope = _whole_slope(y, start, m if season != "N" and m > 1 else 1) if trend else None
    if season == "N":
        k = max(m, 10) if trend else max(m, 4)
        first, ok = _gather(y, start, k)
        level, b0 = _line_start(first, ok, slope)
        return level, b0, np.zeros((m, n))
    s0 = _seasonal_indices(y, start, m, season)
    first, ok = _gather(y, start, 2 * m)
    phases = (start[:, None] + np.arange(2 * m)[None, :]) % m
    seas = np.take_along_axis(s0.T, phases, axis=1)
    with np.errstate(all="ignore"):
        z = first / seas if season == "M" else first - seas
    if not trend:
        ok = ok & (np.arange(2 * m)[None, :] < m)
    level, b0 = _line_start(z, ok, slope)
    return level, b0, s0


# ---------------------------------------------------------------------------------------------
# the recursion


@dataclass
class Run:
    sse: np.ndarray
    sse_rel: np.ndarray | None
    log_yhat: np.ndarray | None
    bad: np.ndarray
    level: np.ndarray
    slope: np.ndarray
    seasonal: np.ndarray  # (m, n, G)
    fitted: np.ndarray | None


def recursion(  # noqa: PLR0912, PLR0915 - one loop body: the hot path reads best whole
    y: np.ndarray,
    start: np.ndarray,
    *,
    m: int,
    trend: bool,
    season: str,
    params: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    init: Init,
    want_mult: bool,
    want_fitted: bool = False,
) -> Run:
    """Run the smoothing recursions over T periods for all series × parameter points at once.

    `params` = (alpha, beta, gamma, phi), each broadcasting to (n, G): a shared grid is (1, G),
    per-series values are (n, 1). The states and sums take `y`'s dtype (float64, or float32 for
    the grid search, where only the ranking of grid points matters).
    """
    alpha, beta, gamma, phi = params
    n, n_t = y.shape
    n_g = max(np.shape(a)[-1] for a in (alpha, beta, gamma, phi))
    shape = (n, n_g)
    kind = y.dtype  # float32 inputs (the grid search) keep every state in float32
    l0, b0, s0 = init
    level = np.broadcast_to(l0[:, None], shape).astype(kind)
    # Unused states stay zero arrays (never read) so every state has one type.
    slope = np.broadcast_to(b0[:, None], shape).astype(kind) if trend else np.zeros(shape, kind)
    seas = (
        np.broadcast_to(s0[:, :, None], (m, n, n_g)).astype(kind)
        if season != "N"
        else np.zeros((max(m, 1), n, n_g), kind)
    )
    sse = np.zeros(shape, kind)
    sse_rel = np.zeros(shape, kind) if want_mult else None
    log_yhat = np.zeros(shape, kind) if want_mult else None
    bad = np.zeros(shape, dtype=bool)
    fitted = np.full((n, n_t), np.nan) if want_fitted else None
    # from the latest start on every series is active: the masks would change nothing
    last_start = int(start.max()) if start.size else 0
    for t in range(n_t):
        masked = t < last_start
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
        if sse_rel is not None and log_yhat is not None:
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
    return Run(
        sse=sse,
        sse_rel=sse_rel,
        log_yhat=log_yhat,
        bad=bad,
        level=level,
        slope=slope,
        seasonal=seas,
        fitted=fitted,
    )


def losses(run: Run, n_obs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """−2 log L for additive and multiplicative errors; inf where the fit is unusable."""
    nn = n_obs[:, None].astype(float)
    with np.errstate(all="ignore"):
        tiny = 1e-12 * nn
        loss_a = nn * np.log(np.maximum(run.sse, tiny) / nn)
        loss_a[~np.isfinite(loss_a)] = np.inf
        loss_m = None
        if run.sse_rel is not None and run.log_yhat is not None:
            loss_m = nn * np.log(np.maximum(run.sse_rel, tiny) / nn) + 2.0 * run.log_yhat
            loss_m[~np.isfinite(loss_m) | run.bad] = np.inf
    return loss_a, loss_m


def _damped_sum(phi: np.ndarray, horizon: int, trend: str) -> np.ndarray:
    """φ_h = φ + φ² + … + φ^h per series (n, H); h for trend A, 0 for no trend."""
    h = np.arange(1, horizon + 1)[None, :]
    if trend == "N":
        return np.zeros((phi.shape[0], horizon))
    if trend == "A":
        return np.broadcast_to(h.astype(float), (phi.shape[0], horizon)).copy()
    return np.cumsum(phi[:, None] ** h, axis=1)


def horizon_scale(model: EtsModel, params: np.ndarray, m: int, horizon: int) -> np.ndarray:
    """sd(h-step error) / sd(one-step error) = sqrt(1 + Σ_{j<h} c_j²), c_j = α + βφ_j + γ[j≡0 mod m].

    Exact for the additive models, the usual approximation for multiplicative ones.
    """
    alpha, beta, gamma, phi = params.T
    phij = _damped_sum(phi, max(horizon - 1, 1), model.trend)[:, : horizon - 1]
    j = np.arange(1, horizon)[None, :]
    c = alpha[:, None] + beta[:, None] * phij + gamma[:, None] * ((j % m) == 0)
    var = np.concatenate([np.ones((params.shape[0], 1)), 1.0 + np.cumsum(c**2, axis=1)], axis=1)
    return np.sqrt(var)


def class2_horizon_scale(
    model: EtsModel, params: np.ndarray, mean: np.ndarray, sigma: np.ndarray, m: int
) -> np.ndarray:
    """sd(h-step error) / sd(one-step error) of a multiplicative-error model without a
    multiplicative season (class 2 of Hyndman et al. 2008, §6.3: y = μ(1 + ε), ε ~ N(0, σ²)),
    exactly, as the `forecast` R package computes it:

        θ_1 = μ_1²,  θ_h = μ_h² + σ² Σ_{j=1}^{h−1} c_j² θ_{h−j},  v_h = (1 + σ²) θ_h − μ_h²

    with μ_h the point forecast and c_j as in `horizon_scale`; the ratio is sqrt(v_h / v_1),
    v_1 = σ² μ_1².

    >>> import numpy as np
    >>> p = np.array([[0.5, 0.0, 0.0, 1.0]])  # ETS(M,N,N), α = 0.5: v_h ∝ (1+σ²)(1+α²σ²)^(h−1) − 1
    >>> s = class2_horizon_scale(EtsModel("M", "N", "N"), p, np.full((1, 3), 10.0), np.array([0.1]), 1)
    >>> bool(np.allclose(s[0] ** 2, ((1.01) * (1.0025) ** np.arange(3) - 1) / 0.01))
    True
    """
    n, horizon = mean.shape
    alpha, beta, gamma, phi = params.T
    phij = _damped_sum(phi, max(horizon - 1, 1), model.trend)[:, : horizon - 1]
    j = np.arange(1, horizon)[None, :]
    c2 = (alpha[:, None] + beta[:, None] * phij + gamma[:, None] * ((j % m) == 0)) ** 2
    s2 = (sigma * sigma)[:, None]
    mu2 = mean * mean
    theta = np.empty((n, horizon))
    theta[:, 0] = mu2[:, 0]
    for h in range(1, horizon):  # θ_h = μ_h² + σ² Σ_j c_j² θ_{h−j}: h terms, a short loop over H
        theta[:, h] = mu2[:, h] + s2[:, 0] * (c2[:, :h] * theta[:, h - 1 :: -1]).sum(axis=1)
    with np.errstate(all="ignore"):
        var = (1.0 + s2) * theta - mu2
        out = np.sqrt(np.maximum(var, 0.0) / var[:, :1])
    return np.where(np.isfinite(out), out, 1.0)


SIM_PATHS = 400  # sample paths per series for the h-step spread of multiplicative-error models
SIM_SEED = 20260  # fixed: the same fit gives the same intervals, run after run


def simulated_horizon_scale(
    run: Run, model: EtsModel, params: np.ndarray, sigma: np.ndarray, *, n_t: int, m: int,
    horizon: int,
) -> np.ndarray:  # fmt: skip
    """sd(h-step error) / sd(one-step error) of a multiplicative-season model, from simulated
    sample paths (class 3 models have no exact variance formula): `SIM_PATHS` paths per
    series from the final states, relative errors ε ~ N(0, σ²) with σ the fitted relative error's
    scale, fixed seed.
    """
    n = params.shape[0]
    rng = np.random.default_rng(SIM_SEED)
    eps = rng.standard_normal((horizon, n, SIM_PATHS)) * sigma[None, :, None]
    alpha, beta, gamma, phi = (params[:, k : k + 1] for k in range(4))
    level = np.repeat(run.level[:, :1], SIM_PATHS, axis=1)
    slope = np.repeat(run.slope[:, :1], SIM_PATHS, axis=1)
    seas = np.repeat(run.seasonal[:, :, :1], SIM_PATHS, axis=2)
    trend = model.trend != "N"
    sd = np.empty((n, horizon))
    for h in range(horizon):
        k = (n_t + h) % m
        base = level + phi * slope if trend else level
        s_old = seas[k] if model.season != "N" else 0.0
        yhat = base * s_old if model.season == "M" else base + s_old
        r = yhat * eps[h]
        sd[:, h] = (yhat + r).std(axis=1)
        corr = r / s_old if model.season == "M" else r
        level = base + alpha * corr
        if trend:
            slope = phi * slope + beta * corr
        if model.season == "M":
            seas[k] = s_old + gamma * r / base
        elif model.season == "A":
            seas[k] = s_old + gamma * r
    with np.errstate(all="ignore"):
        out = sd / sd[:, :1]
    return np.where(np.isfinite(out), out, 1.0)


def point_forecast(
    run: Run, model: EtsModel, params: np.ndarray, *, n_t: int, m: int, horizon: int
) -> np.ndarray:
    level, slope = run.level[:, 0], run.slope[:, 0]
    mean = level[:, None] + _damped_sum(params[:, 3], horizon, model.trend) * slope[:, None]
    if model.season != "N":
        phases = (n_t - 1 + np.arange(1, horizon + 1)) % m
        seas = run.seasonal[phases, :, 0].T
        mean = mean * seas if model.season == "M" else mean + seas
    return mean


def aicc(loss: np.ndarray, k: int, n_obs: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        aic = loss + n_obs * (1.0 + np.log(2 * np.pi)) + 2 * k
        out = aic + 2.0 * k * (k + 1) / (n_obs - k - 1)
    return np.where((n_obs - k - 1 > 0) & np.isfinite(loss), out, np.inf)
