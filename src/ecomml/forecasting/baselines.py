"""Baseline forecasters: naive, seasonal naive, moving average, ETS, Croston, SBA, TSB.

Every baseline is a real estimator with the same API as the LightGBM forecaster. Its
point forecast comes from the method; its quantiles are the point forecast plus the
empirical quantiles of the SKU's own one-step-ahead in-sample errors over the last
``resid_window`` periods (clipped at zero), pooled with the errors of all SKUs of the
same pattern when a SKU has few of them. Quantiles never cross by construction.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ecomml._estimator import estimator
from ecomml.exceptions import ConfigError
from ecomml.forecasting._base import QUANTILES, BaseForecaster
from ecomml.forecasting.panel import Panel, season_length

__all__ = [
    "CrostonForecaster",
    "ETSForecaster",
    "MovingAverageForecaster",
    "NaiveForecaster",
    "SeasonalNaiveForecaster",
    "TSBForecaster",
]


@estimator
class _ResidualForecaster(BaseForecaster):
    """Point method + empirical residual quantiles."""

    resid_window: int = 52

    def _fit(self, panel: Panel) -> None:
        # baselines are local methods: everything is computed from the history at predict
        self.fitted_ = True

    def _one_step(self, Y: np.ndarray) -> np.ndarray:
        """One-step-ahead in-sample forecasts F[:, t] made from Y[:, :t] (NaN if none)."""
        raise NotImplementedError

    def _point(self, Y: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """Point forecasts (n_sku, len(steps)) from the history Y."""
        raise NotImplementedError

    def _forecast(
        self, panel: Panel, steps: np.ndarray, *, calendar: pd.DataFrame | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        Y = panel.Y
        point = np.maximum(np.nan_to_num(self._point(Y, steps), nan=0.0), 0.0)
        F = self._one_step(Y)
        w = min(self.resid_window, Y.shape[1])
        E = (Y - F)[:, -w:]
        n_ok = np.isfinite(E).sum(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rq = np.nanquantile(E, QUANTILES, axis=1).T  # (n_sku, 7)
            pooled = np.nanquantile(E, QUANTILES) if np.isfinite(E).any() else np.zeros(7)
        few = n_ok < 8
        rq[few] = np.nan_to_num(pooled, nan=0.0)
        rq = np.nan_to_num(rq, nan=0.0)
        q = np.maximum(point[:, :, None] + rq[:, None, :], 0.0)
        return point, np.maximum.accumulate(q, axis=2)


def _last_valid(Y: np.ndarray) -> np.ndarray:
    return Y[:, -1] if Y.shape[1] else np.zeros(len(Y))


def _lagged(Y: np.ndarray, m: int) -> np.ndarray:
    """``Y`` shifted ``m`` periods later: the value ``m`` periods before (NaN if none)."""
    F = np.full_like(Y, np.nan)
    if Y.shape[1] > m:
        F[:, m:] = Y[:, :-m]
    return F


def _flat(level: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """The same forecast ``level`` per SKU at every step: ``(n_sku, len(steps))``."""
    return np.repeat(level[:, None], len(steps), axis=1)


@estimator
class NaiveForecaster(_ResidualForecaster):
    """Last period's demand, repeated.

    Parameters
    ----------
    freq : {"W", "D"}
    horizon : int
    min_history : int
    resid_window : int
        Periods of in-sample one-step errors that give the quantiles.
    """

    def _one_step(self, Y: np.ndarray) -> np.ndarray:
        return _lagged(Y, 1)

    def _point(self, Y: np.ndarray, steps: np.ndarray) -> np.ndarray:
        return _flat(_last_valid(Y), steps)


@estimator
class SeasonalNaiveForecaster(_ResidualForecaster):
    """Demand of the same period one season earlier (52 weeks, or 7 days for daily data);
    the naive forecast where the history is shorter than a season."""

    season: int | None = None

    def _m(self) -> int:
        return int(self.season or season_length(self.freq_))

    def _one_step(self, Y: np.ndarray) -> np.ndarray:
        F = _lagged(Y, self._m())
        return np.where(np.isnan(F), _lagged(Y, 1), F)

    def _point(self, Y: np.ndarray, steps: np.ndarray) -> np.ndarray:
        m, T = self._m(), Y.shape[1]
        out = np.empty((len(Y), len(steps)))
        for j, h in enumerate(steps):
            col = T + h - 1 - m * ((h - 1) // m + 1)
            v = Y[:, col] if 0 <= col < T else np.full(len(Y), np.nan)
            out[:, j] = np.where(np.isnan(v), _last_valid(Y), v)
        return out


@estimator
class MovingAverageForecaster(_ResidualForecaster):
    """Mean demand over the last ``window`` periods (fewer for young SKUs)."""

    window: int = 8

    def _one_step(self, Y: np.ndarray) -> np.ndarray:
        Z = np.nan_to_num(Y)
        c = np.concatenate([np.zeros((len(Y), 1)), np.cumsum(Z, axis=1)], axis=1)
        n = np.concatenate([np.zeros((len(Y), 1)), np.cumsum(~np.isnan(Y), axis=1)], axis=1).astype(
            np.float64
        )
        T, w = Y.shape[1], int(self.window)
        lo = np.maximum(np.arange(T) - w, 0)
        s = c[:, np.arange(T)] - c[:, lo]
        k = n[:, np.arange(T)] - n[:, lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(k > 0, s / np.maximum(k, 1), np.nan)

    def _point(self, Y: np.ndarray, steps: np.ndarray) -> np.ndarray:
        if self.window < 1:
            raise ConfigError(f"window must be >= 1, got {self.window}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            m = np.nanmean(Y[:, -int(self.window) :], axis=1)
        return _flat(np.nan_to_num(m), steps)


def _croston_pass(
    Y: np.ndarray, alpha: float, beta: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run Croston (beta=None: size/interval) or TSB (beta: size/probability) over time.

    Returns the one-step forecasts F and the final states (a, b)."""
    n, T = Y.shape
    a = np.full(n, np.nan)  # demand size
    b = np.full(n, np.nan)  # interval (Croston) or probability (TSB)
    q = np.ones(n)  # periods since last demand (Croston)
    F = np.full((n, T), np.nan)
    for t in range(T):
        y = Y[:, t]
        valid = ~np.isnan(y)
        if beta is None:
            F[:, t] = a / b
            pos = valid & (y > 0)
            init = pos & np.isnan(a)
            upd = pos & ~init
            a = np.where(init, y, np.where(upd, a + alpha * (y - a), a))
            b = np.where(init, q, np.where(upd, b + alpha * (q - b), b))
            q = np.where(pos, 1.0, np.where(valid & ~np.isnan(a), q + 1.0, q))
        else:
            F[:, t] = a * b
            pos = valid & (y > 0)
            init = valid & np.isnan(b)
            a = np.where(init & pos, y, np.where(pos & ~np.isnan(a), a + alpha * (y - a), a))
            a = np.where(pos & np.isnan(a), y, a)
            b = np.where(init, pos.astype(float), np.where(valid, b + beta * (pos - b), b))
    return F, a, b


@estimator
class CrostonForecaster(_ResidualForecaster):
    """Croston's method for intermittent demand: exponentially smoothed non-zero sizes
    divided by smoothed intervals; ``variant="sba"`` applies the Syntetos-Boylan bias
    correction ``(1 - alpha / 2)``."""

    alpha: float = 0.1
    variant: str = "classic"

    def _factor(self) -> float:
        if self.variant not in ("classic", "sba"):
            raise ConfigError(f"variant must be 'classic' or 'sba', got {self.variant!r}")
        return 1.0 - self.alpha / 2.0 if self.variant == "sba" else 1.0

    def _one_step(self, Y: np.ndarray) -> np.ndarray:
        F, _, _ = _croston_pass(Y, self.alpha, None)
        return F * self._factor()

    def _point(self, Y: np.ndarray, steps: np.ndarray) -> np.ndarray:
        _, a, b = _croston_pass(Y, self.alpha, None)
        f = np.nan_to_num(a / b) * self._factor()
        return _flat(f, steps)


@estimator
class TSBForecaster(_ResidualForecaster):
    """Teunter-Syntetos-Babai: smoothed demand probability (updated every period, so
    the forecast decays for a SKU that stopped selling) times smoothed non-zero size."""

    alpha: float = 0.1
    beta: float = 0.1

    def _one_step(self, Y: np.ndarray) -> np.ndarray:
        return _croston_pass(Y, self.alpha, self.beta)[0]

    def _point(self, Y: np.ndarray, steps: np.ndarray) -> np.ndarray:
        _, a, b = _croston_pass(Y, self.alpha, self.beta)
        return _flat(np.nan_to_num(a * b), steps)


@estimator
class ETSForecaster(_ResidualForecaster):
    """Exponential smoothing per SKU (statsmodels ``ETSModel``, additive errors), with
    an optional damped additive trend. SKUs with fewer than ``min_fit`` periods get
    the mean of their history."""

    trend: str | None = None
    damped_trend: bool = False
    min_fit: int = 10

    def _run(self, Y: np.ndarray, H: int) -> tuple[np.ndarray, np.ndarray]:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        F = np.full_like(Y, np.nan)
        P = np.zeros((len(Y), H))
        for i in range(len(Y)):
            y = Y[i][~np.isnan(Y[i])]
            if len(y) < self.min_fit or np.all(y == y[0]):
                P[i] = y.mean() if len(y) else 0.0
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    res = ETSModel(
                        y, error="add", trend=self.trend, damped_trend=self.damped_trend
                    ).fit(disp=False, maxiter=200)
                    P[i] = res.forecast(H)
                    F[i, Y.shape[1] - len(y) :] = res.fittedvalues
                except (ValueError, np.linalg.LinAlgError):
                    P[i] = y.mean()
        return F, P

    def _forecast(
        self, panel: Panel, steps: np.ndarray, *, calendar: pd.DataFrame | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        F, P = self._run(panel.Y, int(steps.max()))
        self._cache = (F, P[:, steps - 1])
        try:
            return super()._forecast(panel, steps, calendar=calendar)
        finally:
            del self._cache

    def _one_step(self, Y: np.ndarray) -> np.ndarray:
        return self._cache[0]

    def _point(self, Y: np.ndarray, steps: np.ndarray) -> np.ndarray:
        return self._cache[1]


def get_baseline(name: str, **kw: Any) -> BaseForecaster:
    """A baseline by name: naive, snaive, ma, ets, croston, sba, tsb."""
    table: dict[str, Any] = {
        "naive": NaiveForecaster,
        "snaive": SeasonalNaiveForecaster,
        "ma": MovingAverageForecaster,
        "ets": ETSForecaster,
        "croston": CrostonForecaster,
        "sba": lambda **k: CrostonForecaster(variant="sba", **k),
        "tsb": TSBForecaster,
    }
    if name not in table:
        raise ConfigError(f"unknown baseline {name!r}; choose from {', '.join(table)}")
    return table[name](**kw)
