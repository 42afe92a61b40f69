"""Probabilistic "buy till you die" models: BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma spend.

Implemented with scipy in log space: every likelihood term is a sum of ``gammaln`` /
``betaln`` / ``log`` terms combined with ``logaddexp``, so nothing overflows at millions
of customers or hundreds of purchases. Parameters are fitted by L-BFGS-B on their logs
with analytic gradients (no penalty term).

References
----------
Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to
the Pareto/NBD model", Marketing Science 24(2). Batislam, Denizel & Filiztekin (2007),
"Empirical validation and comparison of models for customer base analysis" (MBG/NBD).
Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves" (Gamma-Gamma).
Schmittlein, Morrison & Colombo (1987), "Counting your customers: who are they and what
will they do next?" and Fader, Hardie & Lee (2005), "A note on deriving the Pareto/NBD
model and related expressions" (Pareto/NBD; fitted with a numerical gradient).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1
from threadpoolctl import threadpool_limits

from ecomml._estimator import EcommlEstimator, estimator
from ecomml._validation import check_fitted
from ecomml.exceptions import ConvergenceError, DataQualityError

__all__ = [
    "BetaGeoModel",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "check_rfm_arrays",
]


def check_rfm_arrays(
    frequency: Any, recency: Any, T: Any, *, name: str = "rfm"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate ``frequency, recency, T`` (repeat purchases, age at last purchase, age).

    Raises
    ------
    DataQualityError
        On NaN, negative values, non-integer frequency, ``recency > T`` or
        ``recency > 0`` with ``frequency == 0``; names the first offending positions.
    """
    x = np.asarray(frequency, dtype="float64").ravel()
    tx = np.asarray(recency, dtype="float64").ravel()
    t = np.asarray(T, dtype="float64").ravel()
    if not (len(x) == len(tx) == len(t)):
        raise DataQualityError(
            f"{name}: frequency, recency and T have different lengths "
            f"({len(x)}, {len(tx)}, {len(t)})"
        )
    if len(x) == 0:
        raise DataQualityError(f"{name}: no customers to fit; check the cutoff and the data")
    checks = [
        (~np.isfinite(x) | ~np.isfinite(tx) | ~np.isfinite(t), "missing or infinite values"),
        ((x < 0) | (tx < 0) | (t < 0), "negative values"),
        (np.abs(x - np.round(x)) > 1e-9, "a non-integer frequency"),
        (tx > t + 1e-9, "recency greater than T (last purchase after the end of the period)"),
        ((x == 0) & (tx > 1e-12), "recency > 0 with frequency 0"),
    ]
    for bad, what in checks:
        if bad.any():
            pos = np.flatnonzero(bad)[:5].tolist()
            raise DataQualityError(
                f"{name}: {int(bad.sum())} customer(s) have {what} (positions {pos}); "
                "frequency counts repeat purchases, recency is the age at the last purchase "
                "and T the age at the end of the period, in the same time unit",
                bad_rows=[p + 1 for p in pos],
            )
    return x, tx, t


@estimator
class _PurchaseModel(EcommlEstimator):
    """Shared plumbing of the purchase-count models (BG/NBD, MBG/NBD, Pareto/NBD): fitting
    from transactions, the fitted parameters in order, and JSON state."""

    #: names of the four fitted parameters, in the order :meth:`_p` returns them
    _param_names: ClassVar[tuple[str, ...]] = ()

    max_iter: int = 500

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> Self:
        raise NotImplementedError

    def _fit_rows(
        self, frequency: Any, recency: Any, T: Any, weights: Any, *, always_collapse: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Checked ``x, tx, t`` and row weights, identical rows collapsed into weighted rows
        (always, or when ages are discrete and it saves at least 30 % of the rows)."""
        x, tx, t = check_rfm_arrays(frequency, recency, T, name=type(self).__name__)
        if not (x > 0).any():
            raise DataQualityError(
                f"{type(self).__name__}: no customer has a repeat purchase, so buying rates and "
                "dropout cannot be told apart (the likelihood has no maximum). Use a later "
                "cutoff or more history; one-purchase customers are fine alongside repeaters."
            )
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype="float64")
        if always_collapse or len(x) <= 200_000 or len(np.unique(t[:20_000])) < 2_000:
            keys = pd.DataFrame({"x": x, "tx": tx, "t": t, "w": w})
            grouped = keys.groupby(["x", "tx", "t"], sort=False, as_index=False)["w"].sum()
            if always_collapse or len(grouped) < 0.7 * len(keys):
                x, tx, t, w = (grouped[c].to_numpy("float64") for c in ("x", "tx", "t", "w"))
        return x, tx, t, w

    def fit_transactions(self, transactions: pd.DataFrame, *, cutoff: Any, unit: str = "D") -> Self:
        """Fit from canonical transactions before ``cutoff`` (see :func:`rfm_summary`)."""
        from ecomml.churn.labels import rfm_summary

        s = rfm_summary(transactions, cutoff=cutoff, unit=unit)
        return self.fit(s["frequency"], s["recency"], s["T"])

    def _p(self) -> tuple[float, float, float, float]:
        check_fitted(self, ["params_"])
        a, b, c, d = (self.params_[k] for k in self._param_names)
        return a, b, c, d

    def to_dict(self) -> dict[str, Any]:
        """Fitted state as JSON-able data."""
        check_fitted(self, ["params_"])
        return {
            "class": type(self).__name__,
            "params": self.params_,
            "log_likelihood": self.log_likelihood_,
            "n_customers": self.n_customers_,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Any:
        """Rebuild a fitted model from :meth:`to_dict` (the class it names)."""
        kinds = {
            "BetaGeoModel": BetaGeoModel,
            "ModifiedBetaGeoModel": ModifiedBetaGeoModel,
            "ParetoNBDModel": ParetoNBDModel,
        }
        m = kinds[d.get("class", cls.__name__)]()
        m.params_ = {k: float(v) for k, v in d["params"].items()}
        m.log_likelihood_ = float(d["log_likelihood"])
        m.n_customers_ = int(d["n_customers"])
        m.n_iter_ = 0
        return m


@estimator
class BetaGeoModel(_PurchaseModel):
    """BG/NBD: Poisson purchasing at rate λ ~ Gamma(r, α), dropout p ~ Beta(a, b) after each
    repeat purchase.

    Parameters
    ----------
    max_iter : int
        L-BFGS-B iteration limit.
    tol : float
        Gradient tolerance of the optimiser (on the mean log-likelihood).

    Attributes
    ----------
    params_ : dict
        ``r, alpha, a, b``.
    log_likelihood_ : float
        Total log-likelihood at the optimum.
    n_customers_ : int
    n_iter_ : int
    """

    _shift = 0  # MBG/NBD allows dropout at time 0: shift 1 in the Beta terms
    _param_names = ("r", "alpha", "a", "b")

    tol: float = 1e-8

    # ------------------------------------------------------------------ likelihood
    def _negll(
        self,
        theta: np.ndarray,
        x: np.ndarray,
        tx: np.ndarray,
        t: np.ndarray,
        w: np.ndarray,
        ux: np.ndarray | None = None,
        inv: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray]:
        """Mean negative log-likelihood and its gradient with respect to the log-parameters.

        Terms that depend on the data only through the (integer) frequency are evaluated
        once per distinct frequency (``ux``, with ``inv`` mapping customers to it), so the
        per-customer work is two logs, one ``logaddexp`` and one ``exp``.
        """
        if ux is None or inv is None:
            ux, inv = np.unique(x, return_inverse=True)
        r, alpha, a, b = np.exp(theta)
        s = self._shift
        wu = np.bincount(inv, weights=w, minlength=len(ux))
        n = wu.sum()
        # per distinct frequency
        cu = gammaln(r + ux) - gammaln(r) + r * np.log(alpha) + betaln(a, b + ux + s) - betaln(a, b)
        has2u = (ux > 0) if s == 0 else np.ones(len(ux), dtype=bool)
        denu = np.where(has2u, b + ux - 1 + s, 1.0)
        l2u = np.where(has2u, np.log(a) - np.log(denu), -np.inf)
        # per customer
        rx = r + x
        lat = np.log(alpha + t)
        latx = np.log(alpha + tx)
        l1 = -rx * lat
        l2 = l2u[inv] - rx * latx
        tot = np.logaddexp(l1, l2)
        w2 = np.exp(l2 - tot)  # weight of the "dropped out after the last purchase" term
        ll = float(wu @ cu) + float(w @ tot)
        ww2 = w * w2
        w2u = np.bincount(inv, weights=ww2, minlength=len(ux))
        g_r = float(wu @ (digamma(r + ux) - digamma(r) + np.log(alpha)))
        g_r -= float(w @ lat) - float(ww2 @ lat) + float(ww2 @ latx)
        g_alpha = r / alpha * n - float((w * rx) @ ((1.0 - w2) / (alpha + t) + w2 / (alpha + tx)))
        dab = digamma(a + b)
        dabx = digamma(a + b + ux + s)
        g_a = float(wu @ (dab - dabx)) + float(w2u[has2u].sum()) / a
        g_b = float(wu @ (digamma(b + ux + s) - dabx - digamma(b) + dab))
        g_b -= float((w2u / denu)[has2u].sum())
        grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
        return -ll / n, -grad / n

    # ------------------------------------------------------------------ fitting
    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> Self:
        """Fit on per-customer ``frequency`` (repeat purchases), ``recency`` (age at the last
        purchase) and ``T`` (age at the end of the calibration period).

        Identical ``(frequency, recency, T)`` rows are collapsed into weighted rows first.
        ``weights`` optionally counts how many customers each row stands for.
        """
        x, tx, t, w = self._fit_rows(frequency, recency, T, weights)
        ux, inv = np.unique(x, return_inverse=True)
        scale = float(np.mean(t)) or 1.0
        starts = [
            np.log([1.0, scale, 1.0, 1.0]),
            np.log([0.5, scale / 2, 0.8, 2.5]),
            np.log([0.1, scale / 10, 0.5, 5.0]),
        ]
        best = None
        for th0 in starts:
            # L-BFGS-B on 4 parameters makes tiny BLAS calls: multi-threaded BLAS only adds
            # thread wake-ups (5-10x slower on a busy machine)
            with threadpool_limits(1, user_api="blas"):
                res = minimize(
                    self._negll,
                    th0,
                    args=(x, tx, t, w, ux, inv),
                    jac=True,
                    method="L-BFGS-B",
                    bounds=[(-15.0, 15.0)] * 2 + [(-15.0, 12.0)] * 2,
                    options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 1e-13},
                )
            if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
                best = res
            if best is not None and best.success and np.max(np.abs(best.jac)) < 1e-4:
                break
        if best is None or not np.isfinite(best.fun) or np.max(np.abs(best.jac)) > 1e-3:
            raise ConvergenceError(
                f"{type(self).__name__} did not converge"
                + ("" if best is None else f" ({best.message}, gradient {best.jac})")
                + "; check that T and recency use the same unit and that some customers repeat"
            )
        r, alpha, a, b = np.exp(best.x)
        self.params_ = {"r": float(r), "alpha": float(alpha), "a": float(a), "b": float(b)}
        self.log_likelihood_ = -float(best.fun) * float(w.sum())
        self.n_customers_ = int(round(w.sum()))
        self.n_iter_ = int(best.nit)
        return self

    # ------------------------------------------------------------------ predictions
    def _log_odds_dead(self, x: np.ndarray, tx: np.ndarray, t: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self._p()
        s = self._shift
        has2 = (x > 0) if s == 0 else np.ones_like(x, dtype=bool)
        denom = np.where(has2, b + x - 1 + s, 1.0)
        lo = np.log(a) - np.log(denom) + (r + x) * (np.log(alpha + t) - np.log(alpha + tx))
        return np.where(has2, lo, -np.inf)

    def predict_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(alive at T | history)."""
        x, tx, t = check_rfm_arrays(frequency, recency, T)
        return np.exp(-np.logaddexp(0.0, self._log_odds_dead(x, tx, t)))

    def predict_purchases(self, t_ahead: float, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Expected number of purchases in the next ``t_ahead`` time units."""
        x, tx, t = check_rfm_arrays(frequency, recency, T)
        r, alpha, a, b = self._p()
        s = self._shift
        z = t_ahead / (alpha + t + t_ahead)
        ratio = np.exp((r + x) * (np.log(alpha + t) - np.log(alpha + t + t_ahead)))
        hyp = hyp2f1(r + x, b + x + s, a + b + x - 1 + s, z)
        num = (a + b + x - 1 + s) / (a - 1) * (1.0 - ratio * hyp)
        out = num * np.exp(-np.logaddexp(0.0, self._log_odds_dead(x, tx, t)))
        return np.clip(np.nan_to_num(out, nan=0.0, posinf=0.0), 0.0, None)

    def predict_any_purchase(
        self, t_ahead: float, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray:
        """P(at least one purchase in the next ``t_ahead``) = P(alive) x (1 - P(no event | alive))."""
        x, tx, t = check_rfm_arrays(frequency, recency, T)
        r, alpha, _a, _b = self._p()
        alive = np.exp(-np.logaddexp(0.0, self._log_odds_dead(x, tx, t)))
        none = np.exp((r + x) * (np.log(alpha + t) - np.log(alpha + t + t_ahead)))
        return alive * (1.0 - none)

    def expected_purchases_new(self, t: Any) -> np.ndarray:
        """Expected purchases of a new customer in ``(0, t]`` (population mean)."""
        r, alpha, a, b = self._p()
        t = np.asarray(t, dtype="float64")
        if self._shift == 0:
            z = t / (alpha + t)
            return (
                (a + b - 1)
                / (a - 1)
                * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))
            )
        z = t / (alpha + t)
        return (b / (a - 1)) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b + 1, a + b, z))


class ModifiedBetaGeoModel(BetaGeoModel):
    """MBG/NBD (Batislam et al. 2007): like BG/NBD, but a customer may also drop out right
    after the first purchase, so one-time buyers no longer get P(alive) = 1."""

    _shift = 1


@estimator
class ParetoNBDModel(_PurchaseModel):
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987): Poisson purchasing at rate
    λ ~ Gamma(r, α) and an exponential lifetime at rate μ ~ Gamma(s, β), so a customer can
    drop out at any moment, not only right after a purchase (as in BG/NBD).

    The likelihood is Fader, Hardie & Lee's (2005, "A note on deriving the Pareto/NBD
    model") closed form with the Gaussian hypergeometric function, in log space. The chance
    of a purchase in the next ``t`` integrates the posterior over the lifetime on a fixed
    32-point Gauss-Legendre grid.

    Parameters
    ----------
    max_iter : int
        L-BFGS-B iteration limit.

    Attributes
    ----------
    params_ : dict
        ``r, alpha, s, beta``.
    log_likelihood_ : float
    n_customers_ : int
    n_iter_ : int
    """

    _param_names = ("r", "alpha", "s", "beta")

    @staticmethod
    def _log_a0(
        r: float, alpha: float, s: float, beta: float, x: np.ndarray, tx: np.ndarray, t: np.ndarray
    ) -> np.ndarray:
        """log of A0 (the "dropped out between the last purchase and T" term)."""
        rsx = r + s + x
        if alpha >= beta:
            b2, shift = s + 1.0, alpha
            diff = alpha - beta
        else:
            b2, shift = r + x, beta
            diff = beta - alpha
        with np.errstate(divide="ignore", invalid="ignore"):
            h1 = np.log(hyp2f1(rsx, b2, rsx + 1.0, diff / (shift + tx))) - rsx * np.log(shift + tx)
            h2 = np.log(hyp2f1(rsx, b2, rsx + 1.0, diff / (shift + t))) - rsx * np.log(shift + t)
            return h1 + np.log1p(-np.exp(np.minimum(h2 - h1, 0.0)))

    def _loglik(
        self, theta: np.ndarray, x: np.ndarray, tx: np.ndarray, t: np.ndarray
    ) -> np.ndarray:
        r, alpha, s, beta = np.exp(theta)
        head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        l1 = -(r + x) * np.log(alpha + t) - s * np.log(beta + t)
        l2 = np.log(s) - np.log(r + s + x) + self._log_a0(r, alpha, s, beta, x, tx, t)
        # tx == T: A0 is 0 (log -inf); logaddexp keeps the first term
        return head + np.logaddexp(l1, np.nan_to_num(l2, nan=-np.inf))

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> Self:
        """Fit on per-customer ``frequency``, ``recency`` and ``T`` (see
        :meth:`BetaGeoModel.fit`); identical rows are collapsed first."""
        x, tx, t, w = self._fit_rows(frequency, recency, T, weights, always_collapse=True)
        n = w.sum()

        def negll(theta: np.ndarray) -> float:
            ll = self._loglik(theta, x, tx, t)
            v = -float(w @ ll) / n
            return v if np.isfinite(v) else 1e100

        scale = float(np.mean(t)) or 1.0
        best = None
        for th0 in (np.log([1.0, scale, 1.0, scale]), np.log([0.5, scale / 4, 0.5, scale * 4])):
            with threadpool_limits(1, user_api="blas"):
                res = minimize(
                    negll, th0, method="L-BFGS-B", bounds=[(-12.0, 12.0)] * 4,
                    options={"maxiter": self.max_iter, "ftol": 1e-12},
                )  # fmt: skip
            if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
                best = res
        if best is None or not np.isfinite(best.fun) or best.fun >= 1e99:
            raise ConvergenceError(
                f"{type(self).__name__} did not converge; check that T and recency use the "
                "same unit and that some customers repeat"
            )
        r, alpha, s, beta = np.exp(best.x)
        self.params_ = {"r": float(r), "alpha": float(alpha), "s": float(s), "beta": float(beta)}
        self.log_likelihood_ = -float(best.fun) * float(n)
        self.n_customers_ = int(round(n))
        self.n_iter_ = int(best.nit)
        return self

    # ------------------------------------------------------------------ predictions
    def predict_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(alive at T | history)."""
        return self._alive(*check_rfm_arrays(frequency, recency, T))

    def _alive(self, x: np.ndarray, tx: np.ndarray, t: np.ndarray) -> np.ndarray:
        r, alpha, s, beta = self._p()
        lo = (
            np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + t) + s * np.log(beta + t)
            + self._log_a0(r, alpha, s, beta, x, tx, t)
        )  # fmt: skip
        lo = np.nan_to_num(lo, nan=-np.inf)
        return np.exp(-np.logaddexp(0.0, lo))

    def predict_purchases(self, t_ahead: float, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Expected number of purchases in the next ``t_ahead`` time units."""
        x, tx, t = check_rfm_arrays(frequency, recency, T)
        r, alpha, s, beta = self._p()
        alive = self._alive(x, tx, t)
        if abs(s - 1.0) < 1e-8:
            life = np.log((beta + t + t_ahead) / (beta + t))
        else:
            life = (1.0 - ((beta + t) / (beta + t + t_ahead)) ** (s - 1.0)) / (s - 1.0)
        out = (r + x) * (beta + t) / (alpha + t) * life * alive
        return np.clip(np.nan_to_num(out, nan=0.0, posinf=0.0), 0.0, None)

    def predict_any_purchase(
        self, t_ahead: float, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray:
        """P(at least one purchase in the next ``t_ahead``) = P(alive) x (1 - P(none | alive)).

        Given alive at T, λ ~ Gamma(r + x, α + T) and μ ~ Gamma(s, β + T) independently;
        no purchase means surviving ``t_ahead`` without one, or dying at ``u < t_ahead``
        before the first: ``E[e^-(λ+μ)t] + ∫0^t E[μ e^-μu] E[e^-λu] du``."""
        x, tx, t = check_rfm_arrays(frequency, recency, T)
        r, alpha, s, beta = self._p()
        alive = self._alive(x, tx, t)
        a, b = alpha + t, beta + t
        survive = (a / (a + t_ahead)) ** (r + x) * (b / (b + t_ahead)) ** s
        nodes, weights = np.polynomial.legendre.leggauss(32)
        u = (nodes + 1.0) * (t_ahead / 2.0)
        wu = weights * (t_ahead / 2.0)
        dens = (s / b)[:, None] * (b[:, None] / (b[:, None] + u[None, :])) ** (s + 1.0)
        quiet = (a[:, None] / (a[:, None] + u[None, :])) ** (r + x)[:, None]
        die_first = (dens * quiet) @ wu
        return np.clip(alive * (1.0 - survive - die_first), 0.0, 1.0)

    def expected_purchases_new(self, t: Any) -> np.ndarray:
        """Expected purchases of a new customer in ``(0, t]`` (population mean)."""
        r, alpha, s, beta = self._p()
        t = np.asarray(t, dtype="float64")
        if abs(s - 1.0) < 1e-8:
            return r * beta / alpha * np.log((beta + t) / beta)
        return r * beta / (alpha * (s - 1.0)) * (1.0 - (beta / (beta + t)) ** (s - 1.0))


@estimator
class GammaGammaModel(EcommlEstimator):
    """Gamma-Gamma model of the average order value of repeat customers.

    Order values ~ Gamma(p, ν) with ν ~ Gamma(q, γ); independent of purchase frequency.

    Attributes
    ----------
    params_ : dict
        ``p, q, v`` (γ).
    log_likelihood_ : float
    """

    max_iter: int = 500

    @staticmethod
    def _negll(theta: np.ndarray, x: np.ndarray, m: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, v = np.exp(theta)
        px = p * x
        ll = (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(v)
            + (px - 1) * np.log(m)
            + px * np.log(x)
            - (px + q) * np.log(v + x * m)
        )
        lvm = np.log(v + x * m)
        g_p = x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - lvm)
        g_q = digamma(px + q) - digamma(q) + np.log(v) - lvm
        g_v = q / v - (px + q) / (v + x * m)
        n = len(x)
        grad = np.array([g_p.sum() * p, g_q.sum() * q, g_v.sum() * v])
        return -float(ll.sum()) / n, -grad / n

    def fit(self, frequency: Any, monetary_value: Any) -> Self:
        """Fit on customers with ``frequency >= 1`` repeat purchases and their mean order
        value ``monetary_value`` (> 0); other rows are ignored."""
        x = np.asarray(frequency, dtype="float64").ravel()
        m = np.asarray(monetary_value, dtype="float64").ravel()
        if len(x) != len(m):
            raise DataQualityError("GammaGammaModel: frequency and monetary_value lengths differ")
        neg = np.flatnonzero(np.isfinite(m) & (m < 0))
        if len(neg):
            raise DataQualityError(
                f"GammaGammaModel: {len(neg)} customer(s) have a negative average order value "
                f"(positions {neg[:5].tolist()}); net out returns or drop them before fitting"
            )
        keep = (x > 0) & np.isfinite(m) & (m > 0)
        if keep.sum() < 10:
            raise DataQualityError(
                "GammaGammaModel needs at least 10 repeat customers with positive spend, got "
                f"{int(keep.sum())}; choose a later cutoff or more data"
            )
        x, m = x[keep], m[keep]
        mean = float(np.mean(m))
        with threadpool_limits(1, user_api="blas"):
            res = minimize(
                self._negll,
                np.log([2.0, 3.0, mean]),
                args=(x, m),
                jac=True,
                method="L-BFGS-B",
                bounds=[(-10.0, 10.0), (-10.0, 10.0), (-20.0, 20.0)],
                options={"maxiter": self.max_iter, "gtol": 1e-9, "ftol": 1e-14},
            )
        if not np.isfinite(res.fun):
            raise ConvergenceError(f"GammaGammaModel did not converge: {res.message}")
        p, q, v = np.exp(res.x)
        self.params_ = {"p": float(p), "q": float(q), "v": float(v)}
        self.log_likelihood_ = -float(res.fun) * len(x)
        self.mean_spend_ = mean
        return self

    def predict_spend(self, frequency: Any, monetary_value: Any) -> np.ndarray:
        """Expected average order value; customers without repeat purchases get the
        population mean ``p v / (q - 1)`` (or the sample mean when ``q <= 1``)."""
        check_fitted(self, ["params_"])
        p, q, v = (self.params_[k] for k in ("p", "q", "v"))
        x = np.asarray(frequency, dtype="float64").ravel()
        m = np.asarray(monetary_value, dtype="float64").ravel()
        m = np.where(np.isfinite(m) & (m > 0), m, 0.0)
        pop = p * v / (q - 1) if q > 1 else self.mean_spend_
        cond = (p * (v + x * m)) / np.maximum(p * x + q - 1, 1e-12)
        return np.where(x > 0, cond, pop)

    def to_dict(self) -> dict[str, Any]:
        """Fitted state as JSON-able data."""
        check_fitted(self, ["params_"])
        return {
            "params": self.params_,
            "log_likelihood": self.log_likelihood_,
            "mean_spend": self.mean_spend_,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GammaGammaModel:
        """Rebuild a fitted model from :meth:`to_dict`."""
        m = cls()
        m.params_ = {k: float(v) for k, v in d["params"].items()}
        m.log_likelihood_ = float(d["log_likelihood"])
        m.mean_spend_ = float(d["mean_spend"])
        return m
