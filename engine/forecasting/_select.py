"""Per-series model choice with reported fallbacks.

`models=("auto",)` means: classify every series (Syntetos–Boylan); intermittent and lumpy ones get
the best of Croston/SBA/TSB/SES by in-sample one-step MSE, smooth and erratic ones the best member of
the ETS family by AICc. Other sets narrow the candidates: `("ets",)`, `("ETS(A,Ad,N)", "ETS(A,N,N)")`,
`("croston",)`, `("sba", "tsb")`, `("naive",)`, `("seasonal_naive",)`, ...; naive and seasonal naive
are chosen between by in-sample MSE and cannot be mixed with the other families.

Fallbacks, each reported with its reason: a series with no non-zero value gets the zero forecast; a
constant series, or one shorter than `MIN_OBS` observations, gets the naive forecast; a series no
candidate model can be fitted to gets the naive forecast (seasonal naive falls back to naive when a
series is shorter than one season).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.errors import ConfigError
from engine.forecasting import _baselines
from engine.forecasting._ets import ETS_MODELS, EtsModel, fit_ets
from engine.forecasting._intermittent import (
    ADI_CUTOFF,
    INTERMITTENT_MODELS,
    classify_demand,
    fit_intermittent,
)

__all__ = ["MIN_OBS", "MODEL_NAMES", "BaseFit", "fit_base", "parse_models"]

MIN_OBS = 5  # ETS(A,N,N) has 3 parameters to estimate; AICc needs n > k + 1
MODEL_NAMES = ("auto", "ets", "naive", "seasonal_naive", *INTERMITTENT_MODELS)
_BASELINES = ("naive", "seasonal_naive")
_DISPLAY = {
    "croston": "Croston",
    "sba": "SBA",
    "tsb": "TSB",
    "ses": "SES",
    "naive": "Naive",
    "seasonal_naive": "SeasonalNaive",
    "zero": "Zero",
}


@dataclass(frozen=True)
class Candidates:
    ets: tuple[EtsModel, ...] = ()
    intermittent: tuple[str, ...] = ()
    baselines: tuple[str, ...] = ()


def parse_models(models: Sequence[str]) -> Candidates:
    """Candidate sets from model names; unknown names are a `ConfigError`."""
    if isinstance(models, str):
        models = (models,)
    by_name = {m.name: m for m in ETS_MODELS}
    ets: list[EtsModel] = []
    intermittent: list[str] = []
    baselines: list[str] = []
    for name in models:
        if name == "auto":
            ets.extend(ETS_MODELS)
            intermittent.extend(INTERMITTENT_MODELS)
        elif name == "ets":
            ets.extend(ETS_MODELS)
        elif name in by_name:
            ets.append(by_name[name])
        elif name in INTERMITTENT_MODELS:
            intermittent.append(name)
        elif name in _BASELINES:
            baselines.append(name)
        else:
            known = ", ".join([*MODEL_NAMES, "ETS(E,T,S)"])
            raise ConfigError(f"unknown forecast model {name!r}; known: {known}")
    if baselines and (ets or intermittent):
        raise ConfigError("naive/seasonal_naive cannot be mixed with ETS or intermittent models")
    if not (ets or intermittent or baselines):
        raise ConfigError("no forecast model given")
    return Candidates(
        tuple(dict.fromkeys(ets)),
        tuple(dict.fromkeys(intermittent)),
        tuple(dict.fromkeys(baselines)),
    )


@dataclass
class BaseFit:
    """Base forecasts of n series, with what produced each one."""

    mean: np.ndarray  # (n, H)
    fitted: np.ndarray  # (n, T), NaN where no one-step forecast exists
    residuals: np.ndarray  # (n, T) y − fitted
    horizon_scale: np.ndarray  # (n, H)
    report: dict[str, np.ndarray]  # one array per report column
    n_params: np.ndarray | None = None  # (n,) parameters estimated besides σ² (for σ²'s df)

    def dof_scale(self) -> np.ndarray:
        """sqrt(n / (n − k)) per series: in-sample residuals scaled to the unbiased σ² estimate
        SSE / (n − k) (k estimated parameters), as `forecast` and statsforecast estimate σ²."""
        n_obs = np.asarray(self.report["n_obs"], dtype=float)
        k = np.zeros_like(n_obs) if self.n_params is None else self.n_params
        with np.errstate(all="ignore"):
            out = np.sqrt(n_obs / (n_obs - k))
        return np.where(np.isfinite(out) & (n_obs - k > 0), out, 1.0)


def _mse(fitted: np.ndarray, y: np.ndarray) -> np.ndarray:
    err = fitted - y
    ok = ~np.isnan(err)
    with np.errstate(all="ignore"):
        return np.where(ok.any(axis=1), np.nansum(err**2, axis=1) / ok.sum(axis=1), np.nan)


class _Assembly:
    """Scatter per-group results into full-size arrays."""

    def __init__(self, n: int, n_t: int, horizon: int) -> None:
        self.mean = np.zeros((n, horizon))
        self.fitted = np.full((n, n_t), np.nan)
        self.scale = np.ones((n, horizon))
        self.model = np.full(n, "", dtype=object)
        self.criterion = np.full(n, None, dtype=object)
        self.fallback = np.zeros(n, dtype=bool)
        self.reason = np.full(n, None, dtype=object)
        self.params = np.full((n, 4), np.nan)  # alpha, beta, gamma, phi
        self.aicc = np.full(n, np.nan)
        self.n_params = np.zeros(n)

    def put(
        self, rows: np.ndarray, name: str, fit: _baselines.BaselineFit, n_params: float = 0.0
    ) -> None:
        self.mean[rows], self.fitted[rows], self.scale[rows] = fit
        self.model[rows] = name
        self.n_params[rows] = n_params

    def report(self, **extra: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "model": self.model,
            "fallback": self.fallback,
            "reason": self.reason,
            "criterion": self.criterion,
            "aicc": self.aicc,
            "alpha": self.params[:, 0],
            "beta": self.params[:, 1],
            "gamma": self.params[:, 2],
            "phi": self.params[:, 3],
            **extra,
        }

    def fall_back(self, rows: np.ndarray, reason: str) -> None:
        self.fallback[rows] = True
        self.reason[rows] = reason


def _fit_baselines(
    y: np.ndarray,
    start: np.ndarray,
    rows: np.ndarray,
    names: tuple[str, ...],
    *,
    m: int,
    out: _Assembly,
) -> None:
    """Naive / seasonal naive (by in-sample MSE where both are allowed)."""
    n_t, horizon = y.shape[1], out.mean.shape[1]
    yr, sr = y[rows], start[rows]
    naive = _baselines.naive(yr, sr, horizon=horizon)
    use_seasonal = np.zeros(rows.size, dtype=bool)
    if "seasonal_naive" in names and n_t >= m:
        seasonal = _baselines.seasonal_naive(yr, sr, m=m, horizon=horizon)
        use_seasonal = (n_t - sr) >= m
        if "naive" in names:
            use_seasonal &= _mse(seasonal.fitted, yr) < _mse(naive.fitted, yr)
            out.criterion[rows] = "mse"
        sub = rows[use_seasonal]
        out.put(sub, "SeasonalNaive", _baselines.BaselineFit(*(a[use_seasonal] for a in seasonal)))
    keep = ~use_seasonal
    out.put(rows[keep], "Naive", _baselines.BaselineFit(*(a[keep] for a in naive)))
    if "naive" not in names:
        out.fall_back(rows[keep], "shorter than one season: naive instead")


def fit_base(
    y: np.ndarray,
    start: np.ndarray,
    *,
    m: int,
    horizon: int,
    models: Sequence[str] = ("auto",),
    refine: bool = False,
    intermittent_alpha: float | None = None,
) -> BaseFit:
    """Fit the chosen candidates to every row of `y` (NaN before each row's `start`)."""
    cands = parse_models(models)
    n, n_t = y.shape
    n_obs = n_t - start
    active = np.arange(n_t)[None, :] >= start[:, None]
    yz = np.where(active, y, 0.0)
    adi, cv2, cls = classify_demand(yz, start)
    out = _Assembly(n, n_t, horizon)
    if cands.baselines:
        _fit_baselines(y, start, np.arange(n), cands.baselines, m=m, out=out)
    else:
        big = np.where(active, y, -np.inf).max(axis=1)
        small = np.where(active, y, np.inf).min(axis=1)
        is_zero = cls == "zero"
        constant = ~is_zero & (big == small)
        short = ~is_zero & ~constant & (n_obs < MIN_OBS)
        rows = np.flatnonzero(is_zero)
        out.put(rows, "Zero", _baselines.zero(y[rows], start[rows], horizon=horizon))
        out.fall_back(rows, "all observations are zero")
        for mask, reason in (
            (constant, "constant series"),
            (short, f"too short: fewer than {MIN_OBS} observations"),
        ):
            rows = np.flatnonzero(mask)
            out.put(rows, "Naive", _baselines.naive(y[rows], start[rows], horizon=horizon))
            out.fall_back(rows, reason)
        rest = ~is_zero & ~constant & ~short
        if cands.intermittent and cands.ets:
            to_int = rest & (adi > ADI_CUTOFF)
        elif cands.intermittent:
            to_int = rest
        else:
            to_int = np.zeros(n, dtype=bool)
        to_ets = rest & ~to_int
        rows = np.flatnonzero(to_int)
        if rows.size:
            for fit in fit_intermittent(
                yz[rows],
                start[rows],
                horizon=horizon,
                models=cands.intermittent,
                alpha=intermittent_alpha,
            ):
                r = rows[fit.rows]
                out.put(
                    r,
                    _DISPLAY[fit.name],
                    _baselines.BaselineFit(fit.mean, fit.fitted, fit.horizon_scale),
                    n_params=2.0 if fit.name == "tsb" else 1.0,
                )
                out.criterion[r] = "mse" if len(cands.intermittent) > 1 else None
                out.params[r, 0] = fit.alpha
                out.params[r, 1] = fit.beta
        rows = np.flatnonzero(to_ets)
        if rows.size:
            fitted_rows = np.zeros(rows.size, dtype=bool)
            for f in fit_ets(
                y[rows], start[rows], m=m, horizon=horizon, models=cands.ets, refine=refine
            ):
                r = rows[f.rows]
                fitted_rows[f.rows] = True
                out.put(
                    r,
                    f.model.name,
                    _baselines.BaselineFit(f.mean, f.fitted, f.horizon_scale),
                    n_params=f.model.n_params(m) - 1,
                )
                out.criterion[r] = "aicc" if len(cands.ets) > 1 else None
                out.params[r] = f.params
                out.aicc[r] = f.aicc
            rows = rows[~fitted_rows]
            out.put(rows, "Naive", _baselines.naive(y[rows], start[rows], horizon=horizon))
            out.fall_back(rows, "no ETS model could be fitted")
    report = out.report(
        n_obs=n_obs, demand_class=cls, adi=adi, cv2=cv2, rmse_in_sample=np.sqrt(_mse(out.fitted, y))
    )
    return BaseFit(
        mean=out.mean,
        fitted=out.fitted,
        residuals=y - out.fitted,
        horizon_scale=out.scale,
        report=report,
        n_params=out.n_params,
    )
