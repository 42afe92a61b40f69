"""Calibrating the protection-interval demand on rolling windows.

Stock levels need the distribution of demand *summed* over lead time + review, and
with high critical ratios they live in its tail. A forecaster's per-period negative
binomial carries only the demand noise, not its own error, so its sums are too narrow and
the levels land below their target (or their cost optimum). This module measures that
on past windows: every backtest origin (``ecomml backtest forecast --forecasts-output``)
gives each SKU's forecast of the next ``periods`` periods and what was sold, and two
numbers are fitted by maximum likelihood over all (origin, SKU) sums:

* ``mean_scale`` ``b`` -- multiplies every forecast mean (the forecaster's bias);
* ``dispersion_scale`` ``f`` -- multiplies the variance above Poisson, ``mean^2 / size``;
* ``extra_poisson`` ``e`` -- adds variance in proportion to the mean (the forecast error
  of slow sellers, relatively larger than that of fast ones).

A period's variance becomes ``m' + e m' + f m'^2 / size`` with ``m' = b m``: its new size
is ``m'^2 / (e m' + f m'^2 / size)``, and the moment-matched size of a sum of periods
changes the same way, so one correction serves every lead time.

Fitted per demand pattern (``pattern`` column) where a pattern has enough sums, and once
for all SKUs otherwise. The randomized PIT of the sums before and after says how well it
worked: a calibrated distribution has a uniform PIT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

from ecomml._validation import check_frame
from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.metrics.forecast import QUANTILE_COLUMNS, randomized_pit_nb

__all__ = [
    "DemandCalibration",
    "backtest_windows",
    "fit_demand_calibration",
    "protection_sums",
]

#: (low, high) of the mean scale, the dispersion scale and extra Poisson (+ 0.01)
_BOUNDS = ((0.25, 4.0), (0.2, 100.0), (0.01, 100.0))


def _new_size(mean: np.ndarray, size: np.ndarray, b: Any, f: Any, e: Any) -> np.ndarray:
    """NB size after scaling the mean by ``b``, the variance above Poisson by ``f`` and
    adding ``e`` times the mean (arrays broadcast)."""
    m = mean * b
    extra = f * m**2 / np.clip(size, 1e-6, 1e12) + e * m
    return np.where(extra > 1e-12, m**2 / np.maximum(extra, 1e-300), 1e9)


def protection_sums(forecasts: pd.DataFrame, periods: int) -> pd.DataFrame:
    """Per backtest origin and SKU: forecast mean, moment-matched NB size and actual
    demand summed over the first ``periods`` periods (``origin, sku, pattern, mean, size,
    y``). Sums with a missing actual are left out."""
    check_frame(forecasts, required=["origin", "sku", "ds", "mean", "y"], name="backtest forecasts")
    if "nb_size" not in forecasts.columns or forecasts["nb_size"].isna().any():
        raise ConfigError(
            "calibrating the lead-time demand needs forecasts with nb_size (the lgbm "
            "forecaster's negative binomial); backtest with --models lgbm"
        )
    f = forecasts.assign(origin=pd.to_datetime(forecasts["origin"]), ds=pd.to_datetime(forecasts["ds"]),
                         sku=forecasts["sku"].astype(str))  # fmt: skip
    f = f.sort_values(["origin", "sku", "ds"], kind="mergesort")
    f = f.groupby(["origin", "sku"], sort=False).head(int(periods))
    f = f.assign(extra=f["mean"] ** 2 / np.clip(f["nb_size"], 1e-6, 1e9), miss=f["y"].isna())
    g = f.groupby(["origin", "sku"], sort=False)
    out = g.agg(mean=("mean", "sum"), extra=("extra", "sum"), y=("y", "sum"), n=("ds", "size"),
                miss=("miss", "any"))  # fmt: skip
    out["pattern"] = g["pattern"].first() if "pattern" in f.columns else "all"
    out = out.loc[(out["n"] == int(periods)) & ~out["miss"]].reset_index()
    out["size"] = np.where(out["extra"] > 1e-12, out["mean"] ** 2 / out["extra"].clip(1e-300), 1e9)
    return out[["origin", "sku", "pattern", "mean", "size", "y"]]


def _pit_summary(pit: np.ndarray) -> dict[str, float]:
    """Shares of the PIT below 0.1 / above 0.9 and 0.98 (0.1 / 0.1 / 0.02 when calibrated)."""
    return {"below_0.10": float(np.mean(pit < 0.1)), "above_0.90": float(np.mean(pit > 0.9)),
            "above_0.98": float(np.mean(pit > 0.98))}  # fmt: skip


def _loglik(y: np.ndarray, mean: np.ndarray, size: np.ndarray, par: np.ndarray) -> float:
    """Negative binomial log-likelihood of the sums ``y`` after the correction ``par``."""
    b, f, e = par
    m = np.maximum(mean * b, 1e-12)
    k = _new_size(mean, size, b, f, e)
    return float(
        (special.gammaln(y + k) - special.gammaln(k) - special.gammaln(y + 1.0)
         + k * np.log(k / (k + m)) + y * np.log(m / (k + m))).sum()
    )  # fmt: skip


def _fit(s: pd.DataFrame) -> tuple[tuple[float, float, float], float, float]:
    """Maximum likelihood of (mean scale, dispersion scale, extra Poisson) within
    :data:`_BOUNDS` (L-BFGS-B from a few starts); also the log-likelihood before
    (1, 1, 0) and at the optimum."""
    y = s["y"].to_numpy(np.float64)
    mean = np.maximum(s["mean"].to_numpy(np.float64), 1e-9)
    size = s["size"].to_numpy(np.float64)
    lo, hi = np.log([b[0] for b in _BOUNDS]), np.log([b[1] for b in _BOUNDS])

    def nll(x: np.ndarray) -> float:  # x = log(b), log(f), log(e + 0.01)
        par = np.exp(x) - np.array([0.0, 0.0, 0.01])
        return -_loglik(y, mean, size, par) / len(y)

    best = None
    for start in ((1.0, 1.0, 0.0), (1.0, 3.0, 1.0), (1.0, 1.0, 8.0)):
        x0 = np.clip(np.log(np.asarray(start) + [0.0, 0.0, 0.01]), lo, hi)
        r = optimize.minimize(nll, x0, method="L-BFGS-B", bounds=list(zip(lo, hi, strict=True)))
        if best is None or r.fun < best.fun:
            best = r
    par = np.exp(best.x) - np.array([0.0, 0.0, 0.01])
    par = (float(par[0]), float(par[1]), float(max(par[2], 0.0)))
    return par, _loglik(y, mean, size, np.array([1.0, 1.0, 0.0])), -best.fun * len(y)


@dataclass
class DemandCalibration:
    """Mean and dispersion corrections of the protection-interval demand, per pattern:
    ``scales[pattern] = (mean_scale, dispersion_scale, extra_poisson)``."""

    periods: int
    scales: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)

    def apply(self, forecast: pd.DataFrame) -> pd.DataFrame:
        """``forecast`` with ``mean`` and ``nb_size`` corrected, by its ``pattern``."""
        if "nb_size" not in forecast.columns or forecast["nb_size"].isna().any():
            raise ConfigError(
                "the calibration corrects negative binomial forecasts: this forecast has no "
                "nb_size (forecast with the lgbm model)"
            )
        pat = forecast["pattern"].astype(str) if "pattern" in forecast.columns else None
        par = np.tile(np.asarray(self.scales["all"], np.float64), (len(forecast), 1))
        if pat is not None:
            for name, values in self.scales.items():
                par[(pat == name).to_numpy()] = values
        mean = forecast["mean"].to_numpy(np.float64)
        size = _new_size(mean, forecast["nb_size"].to_numpy(np.float64), par[:, 0], par[:, 1],
                         par[:, 2])  # fmt: skip
        out = forecast.assign(mean=mean * par[:, 0], nb_size=size)
        present = [c for c in QUANTILE_COLUMNS if c in out.columns]
        if present:  # the quantiles follow the corrected distribution
            from ecomml.forecasting import nb_quantiles

            q = nb_quantiles(out["mean"].to_numpy(), size, [QUANTILE_COLUMNS[c] for c in present])
            for j, c in enumerate(present):
                out[c] = np.asarray(q)[:, j]
        return out


def fit_demand_calibration(
    forecasts: pd.DataFrame, periods: int, *, min_sums: int = 200
) -> DemandCalibration:
    """Fit the corrections on backtest forecasts (``origin, sku, ds, mean, nb_size, y``
    + ``pattern``) for sums over ``periods`` periods (lead time + review)."""
    s = protection_sums(forecasts, periods)
    if len(s) < 30:
        raise DataQualityError(
            f"only {len(s)} (origin, SKU) sums of {periods} periods with actuals in the "
            "backtest forecasts; backtest more folds (e.g. --folds 6 --step 1) or a longer "
            "--horizon than the lead time + review"
        )
    cal = DemandCalibration(int(periods))
    groups = {"all": s, **{str(k): g for k, g in s.groupby("pattern") if len(g) >= min_sums}}
    rows = {}
    for name, g in groups.items():
        best, ll0, ll1 = _fit(g)
        cal.scales[name] = best
        rows[name] = {"sums": int(len(g)), "mean_scale": best[0], "dispersion_scale": best[1],
                      "extra_poisson": best[2], "loglik_per_sum_before": ll0 / len(g),
                      "loglik_per_sum_after": ll1 / len(g)}  # fmt: skip
    fixed = s.assign(nb_size=s["size"]).rename(columns={"size": "_k"})
    after = cal.apply(fixed.assign(pattern=s["pattern"].astype(str)))
    y = s["y"].to_numpy(np.float64)
    cal.report = {
        "periods": int(periods), "sums": int(len(s)), "origins": int(s["origin"].nunique()),
        "groups": rows,
        "pit_before": _pit_summary(randomized_pit_nb(y, s["mean"].to_numpy(), s["size"].to_numpy())),
        "pit_after": _pit_summary(randomized_pit_nb(y, after["mean"].to_numpy(),
                                                 after["nb_size"].to_numpy())),
    }  # fmt: skip
    return cal


def backtest_windows(
    forecaster: Any,
    panel: pd.DataFrame,
    start: Any,
    *,
    folds: int = 6,
    fit_params: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Backtest forecasts with actuals at ``folds`` weekly (or daily) origins whose
    windows end before ``start``: the calibration's input, from the past only."""
    from ecomml.forecasting.backtest import backtest

    hist = panel.loc[pd.to_datetime(panel["ds"]) < pd.Timestamp(start)]
    return backtest(forecaster, hist, folds=int(folds), step=1, fit_params=fit_params).forecasts
