"""What every forecaster shares: the fit/predict contract, output frame, patterns, fallback.

A forecaster learns from a long panel ``sku, ds, y`` (+ ``category``) and forecasts
``horizon`` periods from an origin. Subclasses implement ``_fit(panel)`` and
``_forecast(panel, steps) -> (mean, quantiles)`` on the dense matrix; this base class
validates input, classifies demand patterns, applies the new-SKU fallback and builds
the output frame ``sku, ds, mean, q05 ... q95, pattern, fallback``.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecomml._estimator import EcommlEstimator, estimator
from ecomml._state import read_state, write_state
from ecomml._validation import check_fitted
from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.forecasting.panel import Panel, check_freq, period_date, to_panel
from ecomml.forecasting.patterns import classify_matrix
from ecomml.metrics.forecast import QUANTILE_COLUMNS

__all__ = ["OUTPUT_COLUMNS", "QUANTILES", "BaseForecaster", "ForecasterInterface", "nb_quantiles"]

QUANTILES = np.array(list(QUANTILE_COLUMNS.values()))
OUTPUT_COLUMNS = ["sku", "ds", "mean", *QUANTILE_COLUMNS, "pattern", "fallback"]
_MAX_H = {"W": 8, "D": 56}


def nb_quantiles(mu: np.ndarray, size: np.ndarray, probs: np.ndarray = QUANTILES) -> np.ndarray:
    """Quantiles of negative binomial distributions with mean ``mu`` and size ``size``
    (variance ``mu + mu**2 / size``); shape ``mu.shape + (len(probs),)``."""
    mu = np.maximum(np.asarray(mu, dtype=np.float64), 0.0)
    size = np.broadcast_to(np.asarray(size, dtype=np.float64), mu.shape)
    size = np.clip(size, 1e-3, 1e6)
    p = size / (size + np.maximum(mu, 1e-12))
    out = _nb_ppf(np.asarray(probs, dtype=np.float64), size.ravel(), p.ravel())
    out = np.where(mu.reshape(-1, 1) <= 1e-9, 0.0, out)
    return np.nan_to_num(out, nan=0.0).reshape(mu.shape + (len(probs),))


def _nb_ppf(probs: np.ndarray, r: np.ndarray, p: np.ndarray, max_k: int = 128) -> np.ndarray:
    """``scipy.stats.nbinom.ppf(probs, r, p)`` per row: the smallest ``k`` with
    ``cdf(k) >= q``. Rows whose quantiles are below ``max_k`` (nearly every SKU-period)
    walk the probability masses up (``pmf(k + 1) = pmf(k) (k + r) / (k + 1) (1 - p)``),
    4x faster than scipy's per-element inversion; the rest go to scipy. Equal to scipy on
    2.8M random cases (tests/forecasting/test_quantiles.py checks it on every run)."""
    from scipy.stats import nbinom

    out = np.zeros((r.size, probs.size))
    top = probs.max()
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        pmf = np.exp(r * np.log(p))
    cdf = pmf.copy()
    rows = np.flatnonzero(cdf < top)
    out[rows] += cdf[rows, None] < probs[None, :]
    pm, cd, rr, qq = pmf[rows], cdf[rows], r[rows], 1.0 - p[rows]
    k = 0
    while rows.size and k < max_k:
        pm = pm * (k + rr) / (k + 1) * qq
        cd = cd + pm
        k += 1
        out[rows] += cd[:, None] < probs[None, :]
        keep = cd < top
        if not keep.all():
            rows, pm, cd, rr, qq = rows[keep], pm[keep], cd[keep], rr[keep], qq[keep]
    if rows.size:
        out[rows] = nbinom.ppf(probs[None, :], r[rows, None], p[rows, None])
    return out


def nb_size_mle(y: np.ndarray, mu: np.ndarray) -> float:
    """Maximum-likelihood negative binomial size for counts ``y`` given means ``mu``."""
    from scipy.optimize import minimize_scalar
    from scipy.special import gammaln

    y = np.asarray(y, dtype=np.float64)
    mu = np.maximum(np.asarray(mu, dtype=np.float64), 1e-6)
    ok = np.isfinite(y) & np.isfinite(mu)
    y, mu = np.round(np.maximum(y[ok], 0.0)), mu[ok]
    if y.size < 5:
        return 1.0

    def nll(log_k: float) -> float:
        k = np.exp(log_k)
        ll = (
            gammaln(y + k)
            - gammaln(k)
            - gammaln(y + 1)
            + k * np.log(k / (k + mu))
            + y * np.log(mu / (k + mu))
        )
        return float(-ll.sum())

    res = minimize_scalar(nll, bounds=(np.log(1e-3), np.log(1e4)), method="bounded")
    return float(np.exp(res.x))


class ForecasterInterface(EcommlEstimator, abc.ABC):
    """What callers see of every forecaster, the panel ones and
    :class:`~ecomml.spark.partitioned.PartitionedForecaster`: :meth:`predict` and MLflow
    serving. Subclasses implement ``_predict`` and set ``n_skus_`` when fitted."""

    def predict(
        self,
        df: pd.DataFrame,
        *,
        start: Any = None,
        calendar: pd.DataFrame | None = None,
        new_skus: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Forecast ``horizon`` periods per SKU of ``df``.

        Parameters
        ----------
        df : DataFrame
            History ``sku, ds, y`` (+ ``category``); only periods before ``start`` are used.
        start : date-like or None
            First forecast period (any date inside it); None = the period after the last
            one in ``df``.
        calendar : DataFrame or None
            Canonical promotion calendar for the forecast periods (models that use it).
        new_skus : DataFrame or None
            ``sku`` (+ ``category``) of SKUs to forecast without any history (e.g. active
            catalog items never sold): they get the category fallback.

        Returns
        -------
        DataFrame
            ``sku, ds, mean, q05, q10, q25, q50, q75, q90, q95, pattern, fallback``.
        """
        check_fitted(self, ["n_skus_"])
        return self._predict(df, start, calendar, new_skus)

    def pyfunc_predict(
        self, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """MLflow serving: ``model_input`` is the history panel ``sku, ds, y``;
        ``params`` may hold ``start`` (first forecast period)."""
        return self.predict(model_input, start=(params or {}).get("start"))

    @abc.abstractmethod
    def _predict(self, df: pd.DataFrame, start: Any, calendar: Any, new_skus: Any) -> pd.DataFrame:
        """The forecast of a fitted model (see :meth:`predict`)."""


@estimator
class BaseForecaster(ForecasterInterface):
    """Shared machinery of the panel forecasters; not used directly.

    Parameters (common to all forecasters)
    ----------
    freq : {"W", "D"}
    horizon : int
        Periods to forecast (1-8 weeks or 1-56 days).
    min_history : int
        SKUs with fewer periods of history than this get the category-level fallback.
    """

    freq: str = "W"
    horizon: int = 8
    min_history: int = 0

    # ------------------------------------------------------------------ saving
    def save_artifacts(self, path: str | Path) -> None:
        """Write the parameters and fitted state without pickle (:mod:`ecomml._state`)."""
        write_state(self, path)

    @classmethod
    def load_artifacts(cls, path: str | Path) -> Any:
        """Rebuild a forecaster written by :meth:`save_artifacts` (no code is run)."""
        return read_state(cls, path)

    # ------------------------------------------------------------------ public API
    def fit(self, df: pd.DataFrame, y: Any = None) -> BaseForecaster:
        """Learn from a long ``sku, ds, y`` panel (complete periods only)."""
        self._check_params()
        panel = to_panel(df, self.freq, name="training panel")
        self.freq_ = check_freq(self.freq)
        self.last_ds_ = pd.Timestamp(panel.dates()[-1])
        self._fit_fallback(panel)
        self._fit(panel)
        self.n_skus_ = len(panel.skus)
        return self

    def _history(self, df: pd.DataFrame, start: Any) -> tuple[Panel, int]:
        """The history panel before ``start`` (SKUs with at least one period) and the gap
        in periods between its end and ``start``."""
        panel = to_panel(df, self.freq_, name="history")
        if start is not None:
            from ecomml.forecasting.panel import period_start

            col = panel.column(period_start(start, self.freq_))
            if col <= 0:
                raise DataQualityError(
                    f"start {start} is at or before the first period of the history "
                    f"({panel.dates()[0].date()}); nothing to forecast from"
                )
            if col < panel.n_periods:
                panel = Panel(
                    panel.skus, panel.Y[:, :col], panel.t0, panel.freq, panel.category,
                    None if panel.price is None else panel.price[:, :col],
                )  # fmt: skip
            gap = col - panel.n_periods
        else:
            gap = 0
        keep = ~np.isnan(panel.Y).all(axis=1)
        if not keep.all():
            panel = Panel(
                panel.skus[keep], panel.Y[keep], panel.t0, panel.freq, panel.category[keep],
                None if panel.price is None else panel.price[keep],
            )  # fmt: skip
        return panel, gap

    def _predict(self, df: pd.DataFrame, start: Any, calendar: Any, new_skus: Any) -> pd.DataFrame:
        panel, gap = self._history(df, start)
        steps = np.arange(1, self.horizon + 1) + gap
        mean, q = self._forecast(panel, steps, calendar=calendar)
        q = np.sort(np.maximum(q, 0.0), axis=2)
        mean = np.maximum(mean, 0.0)
        pattern, _, _ = classify_matrix(panel.Y)
        age = panel.n_periods - panel.first_col()
        fb = age < self.min_history
        if fb.any():
            fm, fq = self._fallback(panel.category[fb], panel.Y[fb], len(steps))
            mean[fb], q[fb] = fm, fq
        skus, cats = panel.skus, panel.category
        if new_skus is not None and len(new_skus):
            known = set(skus.tolist())
            ns = new_skus.loc[~new_skus["sku"].astype(str).isin(known)].drop_duplicates("sku")
            if len(ns):
                ncat = (
                    ns["category"].astype(str).to_numpy()
                    if "category" in ns
                    else np.full(len(ns), "all")
                )
                fm, fq = self._fallback(ncat, np.zeros((len(ns), 0)), len(steps))
                skus = np.concatenate([skus, ns["sku"].astype(str).to_numpy()])
                mean, q = np.vstack([mean, fm]), np.concatenate([q, fq])
                pattern = np.concatenate([pattern, np.full(len(ns), "new")])
                fb = np.concatenate([fb, np.ones(len(ns), dtype=bool)])
                cats = np.concatenate([cats, ncat])
        return self._frame(skus, panel.t0 + panel.n_periods + steps - 1, mean, q, pattern, fb)

    # ------------------------------------------------------------------ helpers
    def _check_params(self) -> None:
        f = check_freq(self.freq)
        h = int(self.horizon)
        if not 1 <= h <= _MAX_H[f] * 4:
            raise ConfigError(
                f"horizon {self.horizon} is out of range for freq={f}: use 1-{_MAX_H[f] * 4}"
            )
        if self.min_history < 0:
            raise ConfigError(f"min_history must be >= 0, got {self.min_history}")

    def _frame(
        self,
        skus: np.ndarray,
        cols: np.ndarray,
        mean: np.ndarray,
        q: np.ndarray,
        pattern: np.ndarray,
        fb: np.ndarray,
    ) -> pd.DataFrame:
        n, h = mean.shape
        ds = period_date(np.tile(cols, n), self.freq_)
        out = pd.DataFrame({"sku": np.repeat(skus, h), "ds": ds.astype("datetime64[ns]")})
        out["mean"] = mean.reshape(-1)
        for j, name in enumerate(QUANTILE_COLUMNS):
            out[name] = q[:, :, j].reshape(-1)
        out["pattern"] = np.repeat(pattern, h)
        out["fallback"] = np.repeat(fb, h)
        return out

    def _fit_fallback(self, panel: Panel) -> None:
        """Category-level demand of young SKUs (the first ``3 * min_history`` periods of a
        SKU's life) over the last year: what a new SKU of the category sells."""
        Y = panel.Y
        first = panel.first_col()
        age = np.arange(Y.shape[1])[None, :] - first[:, None]
        win = np.arange(Y.shape[1]) >= Y.shape[1] - 2 * (52 if panel.freq == "W" else 182)
        young = (age >= 0) & (age < max(3 * self.min_history, 4)) & win[None, :]
        vals = np.where(young, Y, np.nan)
        glob = np.nanmean(vals) if young.any() else np.nanmean(Y)
        glob = float(glob) if np.isfinite(glob) else 0.0
        by_cat: dict[str, float] = {}
        for c in np.unique(panel.category):
            m = panel.category == c
            v = vals[m]
            by_cat[str(c)] = float(np.nanmean(v)) if np.isfinite(v).any() else glob
        flat = vals[np.isfinite(vals)]
        if flat.size >= 5:
            size = nb_size_mle(flat, np.full(flat.size, max(glob, 1e-6)))
        else:
            size = 1.0
        self.fallback_mean_ = by_cat
        self.fallback_global_ = glob
        self.fallback_size_ = float(size)

    def _fallback(
        self, categories: np.ndarray, Y: np.ndarray, h: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Category mean blended with the SKU's own few periods (4 pseudo-periods of prior)."""
        prior = np.array(
            [self.fallback_mean_.get(str(c), self.fallback_global_) for c in categories]
        )
        n_obs = (~np.isnan(Y)).sum(axis=1) if Y.shape[1] else np.zeros(len(categories))
        own = np.nansum(Y, axis=1) if Y.shape[1] else np.zeros(len(categories))
        m0 = 4.0
        mu = (own + m0 * prior) / (n_obs + m0)
        mean = np.repeat(mu[:, None], h, axis=1)
        return mean, nb_quantiles(mean, self.fallback_size_)

    # subclasses --------------------------------------------------------------
    def _fit(self, panel: Panel) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _forecast(
        self, panel: Panel, steps: np.ndarray, *, calendar: pd.DataFrame | None = None
    ) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError
