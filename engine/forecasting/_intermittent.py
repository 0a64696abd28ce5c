"""Intermittent demand: Syntetos–Boylan classification and Croston, SBA and TSB, vectorised.

A series is *intermittent* when its average inter-demand interval ADI exceeds 1.32 periods; its
non-zero demand sizes are *erratic* when their squared coefficient of variation CV² exceeds 0.49
(Syntetos, Boylan & Croston 2005). Smooth and erratic series go to ETS, intermittent and lumpy ones to
the models below; all of them loop over the T periods with numpy operations over every series ×
smoothing constant.

- Croston (1972): at each demand, size z ← z + α(y − z) and interval p ← p + α(q − p), where q counts
  the periods since the previous demand (the first demand's q counts from the series start, its
  size and interval initialise z and p); forecast z / p.
- SBA (Syntetos & Boylan 2005): Croston × (1 − α/2), removing Croston's upward bias.
- TSB (Teunter, Syntetos & Babai 2011): demand probability d ← d + β(1[y>0] − d) every period, size
  z ← z + α(y − z) at demands; forecast d·z. d starts at the share of periods with demand and z at
  the first demand (heuristics, like the ETS initial states).
- SES, simple exponential smoothing from the first demand, competes with them: case-month series
  are made of cases that last for months, so a "demand" is rarely an isolated event and a level
  that follows runs of cases often beats Croston-type models (the forecast benchmark shows it).

Each series keeps the candidate with the lowest in-sample one-step MSE, all of them measured over
the same periods (those after the first demand).

Before the first demand there is no forecast (the one-step fitted value is NaN).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "INTERMITTENT_MODELS",
    "IntermittentFit",
    "classify_demand",
    "fit_intermittent",
    "run_croston",
    "run_tsb",
]

INTERMITTENT_MODELS = ("croston", "sba", "tsb", "ses")
ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
_ALPHAS = np.array([0.05, 0.1, 0.2, 0.3])
_BETAS = np.array([0.02, 0.05, 0.1, 0.2, 0.3])
_SES_INIT = 12  # observations averaged for the initial level
_SES_ALPHAS = np.array([0.02, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 0.95])


@dataclass(frozen=True)
class IntermittentFit:
    name: str  # "croston" | "sba" | "tsb"
    rows: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray  # TSB probability smoothing (NaN for Croston/SBA)
    mse: np.ndarray
    mean: np.ndarray  # (n, horizon), flat
    fitted: np.ndarray  # (n, T)
    horizon_scale: np.ndarray  # (n, horizon)


def classify_demand(y: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ADI, CV² of non-zero sizes, and the class (smooth/erratic/intermittent/lumpy/zero) per row."""
    n_t = y.shape[1]
    active = np.arange(n_t)[None, :] >= start[:, None]
    vals = np.where(active, y, 0.0)
    nonzero = active & (vals != 0)
    k = nonzero.sum(axis=1)
    n_obs = n_t - start
    with np.errstate(all="ignore"):
        adi = np.where(k > 0, n_obs / k, np.inf)
        size_mean = np.where(k > 0, vals.sum(axis=1) / k, 0.0)
        size_var = np.where(k > 0, ((vals - size_mean[:, None]) ** 2 * nonzero).sum(axis=1) / k, 0)
        cv2 = np.where(size_mean != 0, size_var / size_mean**2, 0.0)
    sparse = adi > ADI_CUTOFF
    erratic = cv2 > CV2_CUTOFF
    cls = np.where(
        sparse, np.where(erratic, "lumpy", "intermittent"), np.where(erratic, "erratic", "smooth")
    )
    cls = np.where(k == 0, "zero", cls)
    return adi, cv2, cls


@dataclass
class _Run:
    sse: np.ndarray  # (n, n_g) sum of squared one-step errors where a forecast existed
    count: np.ndarray  # (n, 1) number of such periods
    last: np.ndarray  # (n, n_g) forecast after the last period (0 if no demand yet)
    fitted: np.ndarray | None  # (n, T) one-step fitted values, only for a single column


def _accumulate(run: _Run, forecast: np.ndarray, seen: np.ndarray, yt: np.ndarray, t: int) -> None:
    err = np.where(seen, forecast - yt, 0.0)
    run.sse += err * err
    run.count += seen
    if run.fitted is not None:
        run.fitted[:, t] = np.where(seen[:, 0], forecast[:, 0], np.nan)


def run_croston(
    y: np.ndarray,
    start: np.ndarray,
    alpha: np.ndarray,
    factor: np.ndarray | float = 1.0,
    *,
    want_fitted: bool = False,
) -> _Run:
    """Croston recursions for every row × alpha (shape (1, G) shared or (n, 1) per row);
    `factor` scales the forecast (1 − α/2 gives SBA).
    """
    n, n_t = y.shape
    n_g = alpha.shape[1]
    z = np.zeros((n, n_g))
    p = np.ones((n, n_g))
    q = np.zeros((n, 1))
    seen = np.zeros((n, 1), dtype=bool)
    run = _Run(np.zeros((n, n_g)), np.zeros((n, 1)), np.zeros((n, n_g)), None)
    if want_fitted:
        run.fitted = np.full((n, n_t), np.nan)
    with np.errstate(all="ignore"):
        for t in range(n_t):
            yt = y[:, t : t + 1]
            _accumulate(run, factor * z / p, seen, yt, t)
            active = (t >= start)[:, None]
            q = q + active
            demand = active & (yt > 0)
            first = demand & ~seen
            again = demand & seen
            z = np.where(first, yt, np.where(again, z + alpha * (yt - z), z))
            p = np.where(first, q, np.where(again, p + alpha * (q - p), p))
            q = np.where(demand, 0.0, q)
            seen = seen | demand
        run.last = np.where(seen, factor * z / p, 0.0)
    return run


def run_tsb(
    y: np.ndarray,
    start: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    *,
    want_fitted: bool = False,
) -> _Run:
    """TSB recursions for every row × (alpha, beta) column; same outputs as `run_croston`."""
    n, n_t = y.shape
    n_g = max(alpha.shape[1], beta.shape[1])
    active_all = np.arange(n_t)[None, :] >= start[:, None]
    share = (active_all & (y > 0)).sum(axis=1) / np.maximum(n_t - start, 1)
    d = np.broadcast_to(share[:, None], (n, n_g)).copy()
    z = np.zeros((n, n_g))
    seen = np.zeros((n, 1), dtype=bool)
    run = _Run(np.zeros((n, n_g)), np.zeros((n, 1)), np.zeros((n, n_g)), None)
    if want_fitted:
        run.fitted = np.full((n, n_t), np.nan)
    with np.errstate(all="ignore"):
        for t in range(n_t):
            yt = y[:, t : t + 1]
            _accumulate(run, d * z, seen, yt, t)
            active = (t >= start)[:, None]
            demand = active & (yt > 0)
            first = demand & ~seen
            again = demand & seen
            z = np.where(first, yt, np.where(again, z + alpha * (yt - z), z))
            d = np.where((active & seen) | first, d + beta * (demand - d), d)
            seen = seen | demand
        run.last = np.where(seen, d * z, 0.0)
    return run


def run_ses(
    y: np.ndarray, start: np.ndarray, alpha: np.ndarray, *, want_fitted: bool = False
) -> _Run:
    """Simple exponential smoothing, l ← l + α(y − l), from the mean of the first `_SES_INIT`
    observations; its errors are counted after the first demand only, the periods Croston's and
    TSB's are counted over."""
    n, n_t = y.shape
    idx = np.minimum(start[:, None] + np.arange(_SES_INIT)[None, :], n_t - 1)
    level = np.broadcast_to(
        np.take_along_axis(y, idx, axis=1).mean(axis=1, keepdims=True), (n, alpha.shape[1])
    ).copy()
    seen = np.zeros((n, 1), dtype=bool)
    run = _Run(np.zeros_like(level), np.zeros((n, 1)), np.zeros_like(level), None)
    if want_fitted:
        run.fitted = np.full((n, n_t), np.nan)
    for t in range(n_t):
        yt = y[:, t : t + 1]
        _accumulate(run, level, seen, yt, t)
        active = (t >= start)[:, None]
        level = np.where(active, level + alpha * (yt - level), level)
        seen = seen | (active & (yt > 0))
    run.last = level
    return run


def _mse(run: _Run) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.where(run.count > 0, run.sse / run.count, np.inf)


def fit_intermittent(
    y: np.ndarray,
    start: np.ndarray,
    *,
    horizon: int,
    models: tuple[str, ...] = INTERMITTENT_MODELS,
    alpha: float | None = None,
    beta: float | None = None,
) -> list[IntermittentFit]:
    """Fit the candidate models to every row, smoothing constants from a grid by in-sample one-step
    MSE (or fixed `alpha`/`beta`), and keep each row's model with the lowest MSE.
    """
    n, _ = y.shape
    alphas = np.array([alpha]) if alpha is not None else _ALPHAS
    betas = np.array([beta]) if beta is not None else _BETAS
    r = np.arange(n)
    chosen: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # alpha, beta, mse per row
    if "croston" in models or "sba" in models:
        for name in ("croston", "sba"):
            if name in models:
                factor = 1.0 - alphas[None, :] / 2.0 if name == "sba" else 1.0
                mse = _mse(run_croston(y, start, alphas[None, :], factor))
                g = np.argmin(mse, axis=1)
                chosen[name] = (alphas[g], np.full(n, np.nan), mse[r, g])
    if "ses" in models:
        mse = _mse(run_ses(y, start, _SES_ALPHAS[None, :]))
        g = np.argmin(mse, axis=1)
        chosen["ses"] = (_SES_ALPHAS[g], np.full(n, np.nan), mse[r, g])
    if "tsb" in models:
        aa, bb = (g.ravel() for g in np.meshgrid(alphas, betas, indexing="ij"))
        mse = _mse(run_tsb(y, start, aa[None, :], bb[None, :]))
        g = np.argmin(mse, axis=1)
        chosen["tsb"] = (aa[g], bb[g], mse[r, g])
    names = list(chosen)
    choice = np.argmin(np.column_stack([chosen[k][2] for k in names]), axis=1)
    fits = []
    for j, name in enumerate(names):
        rows = np.flatnonzero(choice == j)
        if rows.size == 0:
            continue
        a, b, mse = (v[rows] for v in chosen[name])
        yr, sr = y[rows], start[rows]
        if name == "tsb":
            run = run_tsb(yr, sr, a[:, None], b[:, None], want_fitted=True)
        elif name == "ses":
            run = run_ses(yr, sr, a[:, None], want_fitted=True)
        else:
            factor = (1.0 - a[:, None] / 2.0) if name == "sba" else 1.0
            run = run_croston(yr, sr, a[:, None], factor, want_fitted=True)
        if run.fitted is None:
            raise RuntimeError(f"the {name} recursion returned no fitted values")
        smoothing = b if name == "tsb" else a
        # the forecast is a smoothed level: h-step error variance grows like SES's, 1 + (h−1)α²
        scale = np.sqrt(1.0 + np.arange(horizon)[None, :] * smoothing[:, None] ** 2)
        fits.append(
            IntermittentFit(
                name=name,
                rows=rows,
                alpha=a,
                beta=b,
                mse=mse,
                mean=np.repeat(run.last, horizon, axis=1),
                fitted=run.fitted,
                horizon_scale=scale,
            )
        )
    return fits
