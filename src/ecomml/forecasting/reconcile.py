"""Forecast reconciliation: bottom-up and MinT with a shrunk covariance, non-negative.

The hierarchy has ``n_b`` bottom series (SKUs) and ``n_a`` aggregates (categories, the
total), ``A`` the ``(n_a, n_b)`` 0/1 matrix that sums SKUs into aggregates. Base forecasts
of every node rarely add up; MinT (Wickramasuriya, Athanasopoulos & Hyndman 2019) finds
the coherent forecasts closest to them in the metric of the base errors' covariance ``W``:

``y~ = y^ - W C' (C W C')^-1 C y^``, ``C = [I_a, -A]`` (so ``C y`` is how far the
aggregates are from the sum of their SKUs). ``W`` is the shrunk sample covariance of the
base errors (Schäfer & Strimmer 2005), ``lambda diag(s^2) + (1 - lambda) S``, held as a
diagonal plus a low-rank part, so nothing of size ``n_b x n_b`` is ever built: the cost
grows with SKUs x aggregates. Non-negative results come from fixing SKUs whose reconciled
value is negative at zero and solving again for the rest until none is (an active set).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["ErrorCovariance", "mint", "shrinkage_intensity", "shrunk_covariance"]

#: variance floor, relative to the mean variance (keeps W positive definite)
_FLOOR = 1e-8
#: nodes used to estimate the shrinkage intensity (its cost grows with their square)
_MAX_LAMBDA_NODES = 2000


@dataclass
class ErrorCovariance:
    """``W = diag(d) + U U'`` over the nodes ``[aggregates; SKUs]``."""

    d: np.ndarray
    u: np.ndarray
    shrinkage: float


def shrinkage_intensity(e: np.ndarray, rng: np.random.Generator | None = None) -> float:
    """Schäfer-Strimmer intensity towards the diagonal for errors ``e`` ``(nodes, samples)``:
    ``sum Var(r_ij) / sum r_ij^2`` over the off-diagonal correlations of the standardised
    errors (at most :data:`_MAX_LAMBDA_NODES` nodes, sampled, enter the estimate)."""
    n, m = e.shape
    if m < 3 or n < 2:
        return 1.0
    if n > _MAX_LAMBDA_NODES:
        rng = rng or np.random.default_rng(0)
        e = e[np.sort(rng.choice(n, _MAX_LAMBDA_NODES, replace=False))]
    sd = e.std(axis=1, ddof=1)
    ok = sd > 0
    if ok.sum() < 2:
        return 1.0
    x = (e[ok] - e[ok].mean(axis=1, keepdims=True)) / sd[ok, None]
    w_bar = (x @ x.T) / m  # mean over samples of x_ki x_kj
    r = w_bar * m / (m - 1)
    var_r = ((x * x) @ (x * x).T - m * w_bar**2) * m / (m - 1) ** 3
    off = ~np.eye(len(r), dtype=bool)
    num, den = var_r[off].sum(), (r[off] ** 2).sum()
    return float(np.clip(num / den, 0.0, 1.0)) if den > 0 else 1.0


def shrunk_covariance(e: np.ndarray) -> ErrorCovariance:
    """MinT-shrink covariance of base errors ``e`` ``(nodes, samples)`` (NaN: no error
    observed, counted as 0 after centring)."""
    e = np.where(np.isfinite(e), e, np.nan)
    mean = np.nanmean(e, axis=1, keepdims=True) if e.shape[1] else np.zeros((len(e), 1))
    c = np.nan_to_num(e - np.nan_to_num(mean), nan=0.0)
    m = c.shape[1]
    var = (c * c).sum(axis=1) / max(m - 1, 1)
    lam = shrinkage_intensity(c)
    d = lam * var + _FLOOR * max(float(var.mean()), 1e-12)
    u = c * np.sqrt((1.0 - lam) / max(m - 1, 1))
    return ErrorCovariance(d=d, u=u, shrinkage=lam)


def mint(
    base_agg: np.ndarray,
    base_bottom: np.ndarray,
    a: sp.csr_matrix,
    cov: ErrorCovariance,
    *,
    nonnegative: bool = True,
    max_iter: int = 200,
) -> np.ndarray:
    """Reconciled SKU forecasts ``(n_b, h)`` from base forecasts of the aggregates
    ``(n_a, h)`` and SKUs ``(n_b, h)``; the aggregates are their sums (``a @ result``).

    With ``nonnegative`` each column solves the MinT problem with ``b >= 0`` by an active
    set: SKUs whose solution is negative are held at zero (the others solved exactly
    given them, through the conditional covariance), and a held SKU is released when the
    objective's gradient says it should be positive, until neither happens."""
    a = sp.csr_matrix(a, dtype=np.float64)
    out = np.empty_like(base_bottom, dtype=np.float64)
    for t in range(base_bottom.shape[1]):
        ya, yb = base_agg[:, t].astype(np.float64), base_bottom[:, t].astype(np.float64)
        tol = 1e-9 * max(
            1.0, float(np.abs(yb).max(initial=0.0)), float(np.abs(ya).max(initial=0.0))
        )
        held = np.zeros(len(yb), dtype=bool)
        x = _solve(ya, yb, a, cov, held)
        for _ in range(max_iter if nonnegative else 0):
            neg = ~held & (x < -tol)
            if neg.any():
                held |= neg
            else:
                g = _gradient(ya, yb, x, a, cov)
                free_up = held & (g < -tol)
                if not free_up.any():
                    break
                held[np.argmin(np.where(free_up, g, np.inf))] = False
            x = _solve(ya, yb, a, cov, held)
        out[:, t] = np.maximum(x, 0.0) if nonnegative else x
    return out


def _solve(
    ya: np.ndarray, yb: np.ndarray, a: sp.csr_matrix, cov: ErrorCovariance, held: np.ndarray
) -> np.ndarray:
    """The MinT solution with the SKUs in ``held`` at zero: the remaining nodes are
    reconciled with their covariance and base forecasts conditional on the held SKUs'
    errors (``W = D + U U'`` stays diagonal plus low rank)."""
    n_a = len(ya)
    d_a, d_b, u_a, u_b = cov.d[:n_a], cov.d[n_a:], cov.u[:n_a], cov.u[n_a:]
    x = np.zeros(len(yb))
    free = ~held
    if held.any() and u_b.shape[1]:
        uf, df = u_b[held], d_b[held]
        k = np.linalg.inv(np.eye(uf.shape[1]) + uf.T @ (uf / df[:, None]))
        v = k @ (uf.T @ (yb[held] / df))
        root = np.linalg.cholesky((k + k.T) / 2)
        ya_c, yb_c = ya - u_a @ v, yb[free] - u_b[free] @ v
        u_a, u_b = u_a @ root, u_b[free] @ root
    else:
        ya_c, yb_c, u_b = ya, yb[free], u_b[free]
    x[free] = _project(ya_c, yb_c, a[:, free], d_a, d_b[free], u_a, u_b)
    return x


def _project(
    ya: np.ndarray,
    yb: np.ndarray,
    a: sp.csr_matrix,
    d_a: np.ndarray,
    d_b: np.ndarray,
    u_a: np.ndarray,
    u_b: np.ndarray,
) -> np.ndarray:
    """SKU part of ``y - W C' (C W C')^-1 C y`` for ``W = D + U U'``."""
    gap = ya - a @ yb  # C y
    cu = u_a - a @ u_b  # C U
    # C W C' = D_a + A D_b A' + (C U)(C U)'
    m = np.diag(d_a) + (a.multiply(d_b[None, :]) @ a.T).toarray() + cu @ cu.T
    try:
        z = np.linalg.solve(m, gap)
    except np.linalg.LinAlgError:
        z = np.linalg.lstsq(m, gap, rcond=None)[0]
    # SKU rows of W C' z: -D_b A' z + U_b (C U)' z
    return yb - (-d_b * (a.T @ z) + u_b @ (cu.T @ z))


def _gradient(
    ya: np.ndarray, yb: np.ndarray, x: np.ndarray, a: sp.csr_matrix, cov: ErrorCovariance
) -> np.ndarray:
    """Gradient in the SKU values ``x`` of ``(y - S x)' W^-1 (y - S x)``."""
    n_a = len(ya)
    r = np.concatenate([ya - a @ x, yb - x])
    u, d = cov.u, cov.d
    rd = r / d
    if u.shape[1]:
        ud = u / d[:, None]
        rd = rd - ud @ np.linalg.solve(np.eye(u.shape[1]) + u.T @ ud, u.T @ rd)
    return -2.0 * (a.T @ rd[:n_a] + rd[n_a:])
