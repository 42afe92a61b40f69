"""Implicit-feedback matrix factorisation (ALS, Hu, Koren and Volinsky 2008).

Fitting uses the ``implicit`` library's compiled conjugate-gradient solver when it is
installed (``solver="auto"``): 5-6x faster than NumPy at the same accuracy (BENCHMARKS.md).
The NumPy solver here does the same maths: each half-step solves
``(Y'Y + Y'(C_u - I)Y + reg I) x_u = Y' C_u p_u`` for every customer (then every SKU) with
a few conjugate-gradient steps warm-started from the previous factors (Takacs et al. 2011),
vectorised over all rows with sparse products. It fits without ``implicit`` and folds in
customers' newer history at predict time (one solve against the fixed SKU factors).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ecomml._estimator import estimator
from ecomml._validation import check_random_state
from ecomml.exceptions import ConfigError
from ecomml.recommend._base import BaseRecommender, Codes

__all__ = ["ALSRecommender", "als_solve"]


def _apply(
    conf: sp.csr_matrix, other: np.ndarray, gram: np.ndarray, v: np.ndarray, chunk: int
) -> np.ndarray:
    """``A v`` for every row: ``v @ gram + sum_i (c_ui - 1) (y_i . v_u) y_i``."""
    out = v @ gram
    n = conf.shape[0]
    indptr = conf.indptr
    start = 0
    while start < n:
        stop = start
        # rows whose nonzeros fit in ``chunk``
        stop = int(np.searchsorted(indptr, indptr[start] + chunk, side="right")) - 1
        stop = min(max(stop, start + 1), n)
        sub = conf[start:stop]
        rows = np.repeat(np.arange(stop - start), np.diff(sub.indptr))
        d = np.einsum("nf,nf->n", v[start:stop][rows], other[sub.indices]) * (sub.data - 1.0)
        w = sp.csr_matrix((d, sub.indices, sub.indptr), shape=sub.shape)
        out[start:stop] += w @ other
        start = stop
    return out


def als_solve(
    conf: sp.csr_matrix,
    other: np.ndarray,
    x0: np.ndarray,
    *,
    regularization: float,
    cg_steps: int = 3,
    chunk: int = 2_000_000,
) -> np.ndarray:
    """Solve the ALS least-squares problem for every row of ``conf`` (confidences ``c_ui``).

    ``other`` holds the fixed factors of the columns, ``x0`` the starting point.
    """
    f = other.shape[1]
    gram = other.T @ other + regularization * np.eye(f, dtype=other.dtype)
    x = x0.copy()
    b = np.asarray(conf @ other)  # sum_i c_ui y_i (p_ui = 1 on observed pairs)
    r = b - _apply(conf, other, gram, x, chunk)
    p = r.copy()
    rs = np.einsum("nf,nf->n", r, r)
    for _ in range(cg_steps):
        active = rs > 1e-20
        if not active.any():
            break
        ap = _apply(conf, other, gram, p, chunk)
        denom = np.einsum("nf,nf->n", p, ap)
        alpha = np.where(active & (denom > 0), rs / np.where(denom > 0, denom, 1.0), 0.0)
        x += alpha[:, None] * p
        r -= alpha[:, None] * ap
        rs_new = np.einsum("nf,nf->n", r, r)
        beta = np.where(active, rs_new / np.where(rs > 0, rs, 1.0), 0.0)
        p = r + beta[:, None] * p
        rs = rs_new
    return x


@estimator
class ALSRecommender(BaseRecommender):
    """Implicit ALS: customer and SKU factors from confidence-weighted interactions.

    Parameters
    ----------
    factors : latent dimensions.
    regularization : L2 penalty.
    alpha : confidence ``c = 1 + alpha * weight``.
    iterations : alternating sweeps.
    cg_steps : conjugate-gradient steps per sweep.
    binary : use 1 instead of the summed interaction weight.
    random_state : seed of the initial factors.
    solver : ``"implicit"`` (the ``implicit`` library's compiled solver), ``"numpy"`` (this
        module's) or ``"auto"`` (implicit when installed). Fold-in always uses NumPy.
    """

    source_name = "als"

    factors: int = 64
    regularization: float = 0.05
    alpha: float = 1.0
    iterations: int = 15
    cg_steps: int = 3
    binary: bool = False
    random_state: int | None = 0
    solver: str = "auto"

    def _confidence(self, w: sp.csr_matrix) -> sp.csr_matrix:
        c = w.copy().astype(np.float32)
        if self.binary:
            c.data[:] = 1.0
        c.data = 1.0 + float(self.alpha) * c.data
        return c

    def _fit(self, codes: Codes) -> None:
        if self.solver not in ("auto", "implicit", "numpy"):
            raise ConfigError(f"solver must be 'auto', 'implicit' or 'numpy', got {self.solver!r}")
        if self.solver != "numpy" and self._fit_implicit():
            return
        rng = check_random_state(self.random_state)
        cui = self._confidence(self.state_["weight"])
        ciu = cui.T.tocsr()
        n_u, n_i = cui.shape
        f = int(self.factors)
        x = (rng.standard_normal((n_u, f)) * 0.01).astype(np.float32)
        y = (rng.standard_normal((n_i, f)) * 0.01).astype(np.float32)
        reg = float(self.regularization)
        for _ in range(int(self.iterations)):
            x = als_solve(cui, y, x, regularization=reg, cg_steps=self.cg_steps)
            y = als_solve(ciu, x, y, regularization=reg, cg_steps=self.cg_steps)
        self.user_factors_ = x.astype(np.float32)
        self.item_factors_ = y.astype(np.float32)

    def _fit_implicit(self) -> bool:
        """Fit with ``implicit``'s solver; False when it is not installed (``"auto"``)."""
        try:
            from implicit.cpu.als import AlternatingLeastSquares
        except ImportError:
            if self.solver == "implicit":
                raise ConfigError(
                    "solver='implicit' needs the implicit library: pip install implicit"
                ) from None
            return False
        from threadpoolctl import threadpool_limits

        # implicit reads each stored value as the confidence c_ui itself: 1 + alpha * w
        conf = self._confidence(self.state_["weight"])
        seed = check_random_state(self.random_state).integers(2**31 - 1)
        with threadpool_limits(1, "blas"):  # implicit runs its own threads (and checks)
            model = AlternatingLeastSquares(
                factors=int(self.factors), regularization=float(self.regularization),
                alpha=1.0, iterations=int(self.iterations), random_state=int(seed),
            )  # fmt: skip
            model.cg_steps = int(self.cg_steps)
            model.fit(conf, show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        return True

    def _user_vectors(self, state: dict[str, sp.csr_matrix], rows: np.ndarray) -> np.ndarray:
        if state is self.state_:
            return self.user_factors_[rows]
        # fold-in: solve the customers' factors against the fixed SKU factors
        cui = self._confidence(state["weight"][rows])
        x0 = np.zeros((len(rows), self.item_factors_.shape[1]), dtype=np.float32)
        return als_solve(
            cui,
            self.item_factors_,
            x0,
            regularization=float(self.regularization),
            cg_steps=max(int(self.cg_steps), self.item_factors_.shape[1] // 4),
        )

    def _score(self, state: dict[str, sp.csr_matrix], rows: np.ndarray) -> np.ndarray:
        return self._user_vectors(state, rows) @ self.item_factors_.T

    def _dense_top_k(
        self, state: dict[str, sp.csr_matrix], rows: np.ndarray, k: int,
        seen: sp.csr_matrix | None,
    ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """implicit's compiled top-K over the factors when installed and nothing is left
        out (dot products and selection in one threaded pass; its filtered variant was
        slower than the NumPy block, measured), else the NumPy block."""
        try:
            from implicit.cpu.topk import topk
        except ImportError:
            topk = None
        if topk is None or seen is not None:
            return super()._dense_top_k(state, rows, k, seen)
        users = np.ascontiguousarray(self._user_vectors(state, rows), dtype=np.float32)
        kk = min(int(k), len(self.sku_index_))
        factors = np.ascontiguousarray(self.item_factors_, dtype=np.float32)
        items, vals = topk(factors, users, kk)
        vals = np.where(items < 0, -np.inf, vals).astype(np.float64)
        return np.maximum(items, 0).astype(np.int64), vals

    def _item_similarity(self, i: int) -> np.ndarray:
        y = self.item_factors_
        norms = np.linalg.norm(y, axis=1)
        return (y @ y[i]) / np.maximum(norms * max(norms[i], 1e-12), 1e-12)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors_": self.user_factors_, "item_factors_": self.item_factors_}
