"""Reconciliation: coherent forecasts from base forecasts of every node.

Every method returns reconciled *bottom-level* values `b̃`; every node is then `S b̃`, so forecasts
add up by construction. Bottom-up takes the bottom base forecasts as they are. MinT (Wickramasuriya,
Athanasopoulos & Hyndman 2019) takes the generalised least-squares combination

    b̃ = (S' W⁻¹ S)⁻¹ S' W⁻¹ ŷ

with W = I (`ols`), W = diag(S 1) (`wls_struct`: each node weighted by the number of bottom series
under it), W = diag(σ̂²) (`wls_var`: each node's mean squared in-sample one-step residual over the
periods it has one, hierarchicalforecast's `wls_var`) or W = the Schäfer–Strimmer shrinkage of the in-sample one-step residual covariance towards
its diagonal (`mint_shrink`). At the size of a hromada × service hierarchy (tens of thousands of nodes)
W cannot be held densely, so:

- the shrinkage estimate is kept as diagonal + low rank: W = diag(a) + U U' with U the scaled
  residual matrix (nodes × periods), and W⁻¹ is applied by the Woodbury identity; the shrinkage
  intensity λ = Σ_{i≠j} Var(r_ij) / Σ_{i≠j} r_ij² is computed from period × period products, never
  from the node × node correlation matrix;
- the normal equations are solved by preconditioned conjugate gradients on the sparse summing
  matrix, all forecast horizons (and residual vectors) at once, starting from bottom-up.

Degenerate inputs fall back rather than fail, and the result says so: MinT-shrink and WLS-var need
at least `MIN_RESIDUAL_PERIODS` residual periods and some non-zero residual (else `wls_struct`); nodes with
zero residual variance get the smallest positive variance (counted in `floored_variances`); a solve
that does not converge falls back to `wls_struct` and then to `bottom_up`.

Non-negativity (for counts): bottom values a MinT solution makes negative are held at zero and the
GLS solved again for the others (the "set negative to zero" heuristic, one round, so the aggregate
information moves to the series that can take it); anything still negative is then set to zero.
Every node is re-aggregated from the bottom, so coherence holds; the count is reported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from engine.errors import ConfigError

if TYPE_CHECKING:
    from scipy import sparse

__all__ = [
    "MIN_RESIDUAL_PERIODS",
    "RECONCILE_METHODS",
    "ReconcileInfo",
    "clip_negative",
    "reconcile_bottom",
    "residual_variances",
    "shrinkage_intensity",
]

RECONCILE_METHODS = ("none", "bottom_up", "ols", "wls_struct", "wls_var", "mint_shrink")
MIN_RESIDUAL_PERIODS = 4
_MIN_LAMBDA = 1e-3  # keeps W positive definite when there are more nodes than periods
_FALLBACK = {
    "mint_shrink": "wls_struct",
    "wls_var": "wls_struct",
    "wls_struct": "bottom_up",
    "ols": "bottom_up",
}


@dataclass(frozen=True)
class ReconcileInfo:
    """What reconciliation did: the method asked for, the one used and why they differ."""

    requested: str
    method: str
    reason: str | None = None
    shrinkage: float | None = None
    floored_variances: int = 0
    iterations: int = 0
    clipped_negative: int = 0

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def shrinkage_intensity(x: np.ndarray) -> float:
    """Schäfer–Strimmer λ for standardised residuals `x` (nodes × periods, uncentred, as in MinT).

    Sums over node pairs i ≠ j use period × period products only:
    Σ_{i≠j} Σ_t x²_it x²_jt = Σ_t (Σ_i x²_it)² − Σ_i Σ_t x⁴_it and Σ_{i≠j} c²_ij = ‖x'x‖²_F − Σ_i c²_ii
    with c_ij = Σ_t x_it x_jt; then Var(r_ij) = (Σ_t x²_it x²_jt − c²_ij / n) / (n(n−1)) and
    r_ij = c_ij / n.
    """
    n = x.shape[1]
    sq = x * x
    cross4 = float((sq.sum(axis=0) ** 2).sum() - (sq * sq).sum())
    gram = x.T @ x
    c_ii = sq.sum(axis=1)
    off_c2 = float((gram * gram).sum() - (c_ii * c_ii).sum())
    var_sum = (cross4 - off_c2 / n) / (n * (n - 1))
    corr_sum = off_c2 / n**2
    if corr_sum <= 0:
        return 1.0
    return float(np.clip(var_sum / corr_sum, 0.0, 1.0))


class _Weights:
    """W⁻¹ as an operator, and diag(W) for the preconditioner."""

    def __init__(self, diag: np.ndarray, low_rank: np.ndarray | None = None) -> None:
        self.a = diag
        self.diag = diag.copy()
        self.ua = None
        if low_rank is not None and low_rank.shape[1]:
            from scipy.linalg import cho_factor

            self.diag = diag + (low_rank * low_rank).sum(axis=1)
            self.ua = low_rank / diag[:, None]
            inner = np.eye(low_rank.shape[1]) + low_rank.T @ self.ua
            self.chol = cho_factor(inner)

    def solve(self, v: np.ndarray) -> np.ndarray:
        out = v / self.a[:, None]
        if self.ua is not None:
            from scipy.linalg import cho_solve

            out -= self.ua @ cho_solve(self.chol, self.ua.T @ v)
        return out


def _pcg(
    apply: Callable[[np.ndarray], np.ndarray],
    rhs: np.ndarray,
    precond: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    *,
    tol: float = 1e-7,
    maxiter: int = 2000,
) -> tuple[np.ndarray, int, bool]:
    """Preconditioned conjugate gradients, every column an independent system."""
    x = x0.copy()
    r = rhs - apply(x)
    z = precond(r)
    p = z.copy()
    rz = (r * z).sum(axis=0)
    target = tol * np.maximum(np.linalg.norm(rhs, axis=0), 1e-300)
    for it in range(maxiter):
        if np.all(np.linalg.norm(r, axis=0) <= target):
            return x, it, True
        ap = apply(p)
        pap = (p * ap).sum(axis=0)
        step = np.divide(rz, pap, out=np.zeros_like(rz), where=pap > 0)
        x += step * p
        r -= step * ap
        z = precond(r)
        rz_new = (r * z).sum(axis=0)
        p = z + np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0) * p
        rz = rz_new
    return x, maxiter, bool(np.all(np.linalg.norm(r, axis=0) <= target))


def residual_variances(residuals: np.ndarray) -> tuple[np.ndarray, int]:
    """Per node the mean squared residual over the periods it has one (uncentred, as MinT), the
    nodes without any positive one floored at the smallest positive variance; and their count.

    >>> v, floored = residual_variances(np.array([[1.0, -3.0], [np.nan, 2.0], [0.0, 0.0]]))
    >>> v.tolist(), floored
    ([5.0, 4.0, 4.0], 1)
    """
    ok = ~np.isnan(residuals)
    e = np.where(ok, residuals, 0.0)
    count = ok.sum(axis=1)
    with np.errstate(all="ignore"):
        var = np.where(count > 0, (e * e).sum(axis=1) / count, 0.0)
    degenerate = ~(var > 0)
    floor = var[~degenerate].min()
    return np.where(degenerate, floor, var), int(degenerate.sum())


def _shrink_weights(residuals: np.ndarray) -> tuple[_Weights, float, int]:
    """MinT-shrink W as diagonal + low rank from residuals (nodes × periods, NaN = missing)."""
    ok = ~np.isnan(residuals)
    e = np.where(ok, residuals, 0.0)
    n_t = e.shape[1]
    count = ok.sum(axis=1)
    with np.errstate(all="ignore"):
        var = np.where(count > 0, (e * e).sum(axis=1) / count, 0.0)
    degenerate = ~(var > 0)
    floor = var[~degenerate].min()
    var = np.where(degenerate, floor, var)
    x = np.where(degenerate[:, None], 0.0, e / np.sqrt(var)[:, None])
    lam = max(shrinkage_intensity(x), _MIN_LAMBDA)
    # W = D^½ [λ I + (1−λ) R̃] D^½ with R̃ the residual correlation (unit diagonal):
    # diagonal a = D (1 − (1−λ) f), low rank U = √((1−λ)/n) e, f = share of periods observed.
    share = np.where(degenerate, 0.0, count / n_t)
    a = var * (1.0 - (1.0 - lam) * share)
    u = np.sqrt((1.0 - lam) / n_t) * np.where(degenerate[:, None], 0.0, e)
    return _Weights(a, u), lam, int(degenerate.sum())


def _gls(
    base: np.ndarray,
    summing: sparse.csr_matrix,
    weights: _Weights,
    *,
    free: np.ndarray | None = None,
    x0: np.ndarray | None = None,
    tol: float = 1e-7,
) -> tuple[np.ndarray, int, bool]:
    """Solve S' W⁻¹ S b = S' W⁻¹ ŷ; bottom values where `free` is False are held at zero."""
    st = summing.T.tocsr()
    mask = None if free is None else free.astype(float)

    def apply(x: np.ndarray) -> np.ndarray:
        if mask is None:
            return st @ weights.solve(summing @ x)
        return (st @ weights.solve(summing @ (x * mask))) * mask

    rhs = st @ weights.solve(base)
    if mask is not None:
        rhs = rhs * mask
    precond = _preconditioner(summing, st, 1.0 / weights.diag, mask)
    start = base[-summing.shape[1] :] if x0 is None else x0
    return _pcg(apply, rhs, precond, start if mask is None else start * mask, tol=tol)


_LARGEST_NODES = 64  # aggregates the preconditioner keeps whole (a K × K inverse)


def _spd_inverse(a: np.ndarray) -> np.ndarray:
    """The inverse of a small SPD matrix by Cholesky in plain numpy: no BLAS or LAPACK, whose
    results may depend on the threads they run on (reconciliation must be bit for bit the same
    on any number of threads)."""
    n = a.shape[0]
    low = np.zeros_like(a)
    for j in range(n):
        low[j, j] = np.sqrt(a[j, j] - (low[j, :j] * low[j, :j]).sum())
        low[j + 1 :, j] = (a[j + 1 :, j] - (low[j + 1 :, :j] * low[j, :j]).sum(axis=1)) / low[j, j]
    inv_low = np.zeros_like(a)
    for j in range(n):  # forward substitution for the columns of L⁻¹
        e = np.zeros(n)
        e[j] = 1.0
        for i in range(j, n):
            inv_low[i, j] = (e[i] - (low[i, j:i] * inv_low[j:i, j]).sum()) / low[i, i]
    return np.einsum("ki,kj->ij", inv_low, inv_low)


def _preconditioner(
    summing: sparse.csr_matrix,
    st: sparse.csr_matrix,
    inverse_weights: np.ndarray,
    mask: np.ndarray | None,
) -> Callable[[np.ndarray], np.ndarray]:
    """P⁻¹ for S' W⁻¹ S ≈ P = D + U U': the largest aggregates whole (U: their columns of S',
    scaled by √w⁻¹), every other node by its diagonal (D), so P's diagonal is Jacobi's; applied
    by Woodbury (with `mask`, bottom values held at zero per column: M P⁻¹ M). Jacobi alone is a scaled identity for `ols` (every bottom series has as many
    ancestors), and the total, which couples every bottom series, makes conjugate gradients
    crawl; with the large aggregates whole the iterations fall several-fold."""
    from scipy import sparse

    jacobi = st @ inverse_weights  # st: S' as CSR, as `_gls` built it
    sizes = np.diff(summing.indptr)
    order = np.argsort(-sizes, kind="stable")
    big = order[:_LARGEST_NODES][sizes[order[:_LARGEST_NODES]] > 1]
    if big.size == 0:
        return lambda r: r / jacobi[:, None] if mask is None else r * mask / jacobi[:, None]
    u = (summing[big].T.tocsr() @ sparse.diags(np.sqrt(inverse_weights[big]))).tocsr()
    diagonal = jacobi - np.asarray(u.multiply(u).sum(axis=1)).ravel()
    diagonal = np.where(diagonal > 0, diagonal, jacobi)
    ud = (sparse.diags(1.0 / diagonal) @ u).tocsr()
    inner = _spd_inverse(np.eye(big.size) + (u.T @ ud).toarray())
    udt = ud.T.tocsr()

    def solve(r: np.ndarray) -> np.ndarray:
        if mask is not None:  # M P⁻¹ M: a principal block of an SPD matrix is SPD
            r = r * mask
        z = r / diagonal[:, None] - ud @ np.einsum("ij,jk->ik", inner, udt @ r)
        return z if mask is None else z * mask

    return solve


def _weights(
    method: str, summing: sparse.csr_matrix, residuals: np.ndarray | None
) -> tuple[_Weights | None, str | None, float | None, int]:
    """W for a MinT method, or None with the reason it cannot be estimated."""
    if method == "ols":
        return _Weights(np.ones(summing.shape[0])), None, None, 0
    if method == "wls_struct":
        return _Weights(np.asarray(summing.sum(axis=1)).ravel()), None, None, 0
    observed = np.zeros(0, dtype=bool) if residuals is None else ~np.isnan(residuals)
    periods = observed.any(axis=0) if observed.size else observed
    if (
        residuals is None
        or int(periods.sum()) < MIN_RESIDUAL_PERIODS
        or not np.nanmax(np.abs(residuals), initial=0.0) > 0
    ):
        reason = (
            f"{method} needs at least {MIN_RESIDUAL_PERIODS} periods of non-zero in-sample "
            "residuals; used wls_struct"
        )
        return None, reason, None, 0
    if method == "wls_var":
        variance, floored = residual_variances(residuals[:, periods])
        return _Weights(variance), None, None, floored
    weights, shrinkage, floored = _shrink_weights(residuals[:, periods])
    return weights, None, shrinkage, floored


def _one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """Run the solve's small matrix products on one BLAS thread: they gain nothing from threads,
    and on a busy shared machine OpenBLAS threads stall waiting for each other (6× slower seen)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it BLAS keeps its own thread count
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def reconcile_bottom(
    base: np.ndarray,
    summing: sparse.csr_matrix,
    *,
    method: str,
    residuals: np.ndarray | None = None,
    nonnegative: bool = False,
    tol: float = 1e-7,
) -> tuple[np.ndarray, ReconcileInfo]:
    """Reconciled bottom-level values for base values of every node (nodes × K columns).

    The last `summing.shape[1]` rows of `base` are the bottom level (for `bottom_up`, `base` may
    hold the bottom level only). `residuals` (nodes × periods, in-sample one-step errors) are needed
    by `wls_var` and `mint_shrink` only. With `nonnegative`, bottom values a MinT solution makes negative are
    held at zero and the rest solved again (one round), then any still negative are set to zero.
    `tol` is the conjugate-gradient stopping rule: each column's residual norm at most `tol`
    times its right-hand side's (1e-7: reconciled values to about 1e-7 relative; the comparison
    with hierarchicalforecast's dense solve uses 1e-13).
    """
    with _one_blas_thread():
        return _reconcile(
            base, summing, method=method, residuals=residuals, nonnegative=nonnegative, tol=tol
        )


def _reconcile(
    base: np.ndarray,
    summing: sparse.csr_matrix,
    *,
    method: str,
    residuals: np.ndarray | None = None,
    nonnegative: bool = False,
    tol: float = 1e-7,
) -> tuple[np.ndarray, ReconcileInfo]:
    if method not in RECONCILE_METHODS or method == "none":
        known = ", ".join(RECONCILE_METHODS[1:])
        raise ConfigError(f"unknown reconciliation method {method!r}; known: {known}")
    n_nodes, n_bottom = summing.shape
    if base.shape[0] != n_nodes and not (method == "bottom_up" and base.shape[0] == n_bottom):
        raise ValueError("base forecasts must have one row per node")
    requested, reason = method, None
    if n_nodes == n_bottom and method != "bottom_up":
        method, reason = "bottom_up", "no aggregate levels"
    while method != "bottom_up":
        weights, why, shrinkage, floored = _weights(method, summing, residuals)
        if weights is None:
            reason, method = why, _FALLBACK[method]
            continue
        with np.errstate(all="ignore"):
            solution, iterations, converged = _gls(base, summing, weights, tol=tol)
            clipped = 0
            if converged and nonnegative and (solution < 0).any():
                free = solution >= 0
                clipped = int((~free).sum())
                solution, more, converged = _gls(
                    base, summing, weights, free=free, x0=np.maximum(solution, 0.0), tol=tol
                )
                iterations += more
        if converged and np.all(np.isfinite(solution)):
            if nonnegative:
                solution, still = clip_negative(solution)
                clipped += still
            info = ReconcileInfo(requested, method, reason, shrinkage, floored, iterations, clipped)
            return solution, info
        reason = f"{method} did not converge; used {_FALLBACK[method]}"
        method = _FALLBACK[method]
    solution = base[-n_bottom:].copy()
    clipped = 0
    if nonnegative:
        solution, clipped = clip_negative(solution)
    return solution, ReconcileInfo(requested, "bottom_up", reason, clipped_negative=clipped)


def clip_negative(bottom: np.ndarray) -> tuple[np.ndarray, int]:
    """Set negative bottom-level values to zero; the count of values changed."""
    negative = bottom < 0
    return np.where(negative, 0.0, bottom), int(negative.sum())
