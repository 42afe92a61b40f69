"""Forecast accuracy metrics: pure functions on arrays and long frames.

Point metrics (:func:`wape`, :func:`bias`, :func:`mase`, :func:`rmsse`), quantile
metrics (:func:`pinball_loss`, :func:`scaled_pinball`, :func:`coverage`,
:func:`share_below`, :func:`share_above`) and :func:`evaluate_forecast`, which scores a
long forecast frame against actuals, overall and by group (pattern, ABC class).

Scaled metrics divide each series' error by its in-sample naive error (lag ``season``
differences of the history, Hyndman & Koehler 2006); series whose history has no
change (scale 0) are left out of the scaled averages rather than dividing by zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ecomml._validation import check_frame
from ecomml.exceptions import ConfigError, DataQualityError

__all__ = [
    "QUANTILE_COLUMNS",
    "abc_classes",
    "bias",
    "coverage",
    "evaluate_forecast",
    "mase",
    "naive_scale",
    "pinball_loss",
    "quantile_cdf",
    "randomized_pit_nb",
    "randomized_pit_quantiles",
    "rmsse",
    "scaled_pinball",
    "share_above",
    "share_below",
    "wape",
]

#: Quantile columns of every ecomml forecast frame, and their probabilities.
QUANTILE_COLUMNS: dict[str, float] = {
    "q05": 0.05,
    "q10": 0.10,
    "q25": 0.25,
    "q50": 0.50,
    "q75": 0.75,
    "q90": 0.90,
    "q95": 0.95,
}


def _arrays(y_true: object, y_pred: object) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(y_true, dtype=np.float64).ravel()
    b = np.asarray(y_pred, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise DataQualityError(f"y_true has {a.size} values but y_pred has {b.size}")
    return a, b


def wape(y_true: object, y_pred: object) -> float:
    """Weighted absolute percentage error: ``sum|y - yhat| / sum|y|`` (NaN if ``sum|y|`` is 0)."""
    a, b = _arrays(y_true, y_pred)
    den = np.abs(a).sum()
    return float(np.abs(a - b).sum() / den) if den > 0 else float("nan")


def bias(y_true: object, y_pred: object) -> float:
    """Relative bias ``sum(yhat - y) / sum(y)``: -0.37 means 37% under-forecast."""
    a, b = _arrays(y_true, y_pred)
    den = a.sum()
    return float((b - a).sum() / den) if den != 0 else float("nan")


def pinball_loss(y_true: object, y_quantile: object, q: float) -> float:
    """Mean pinball (quantile) loss of ``y_quantile`` as the ``q``-quantile forecast."""
    if not 0.0 < q < 1.0:
        raise ConfigError(f"quantile level q={q} must be in (0, 1)")
    a, b = _arrays(y_true, y_quantile)
    d = a - b
    return float(np.mean(np.maximum(q * d, (q - 1.0) * d))) if a.size else float("nan")


def coverage(y_true: object, lower: object, upper: object) -> float:
    """Share of actuals inside the closed interval ``[lower, upper]``."""
    a, lo = _arrays(y_true, lower)
    _, hi = _arrays(y_true, upper)
    return float(np.mean((a >= lo) & (a <= hi))) if a.size else float("nan")


def share_below(y_true: object, y_quantile: object) -> float:
    """Share of actuals strictly below a quantile forecast (ideal: about its level)."""
    a, b = _arrays(y_true, y_quantile)
    return float(np.mean(a < b)) if a.size else float("nan")


def share_above(y_true: object, y_quantile: object) -> float:
    """Share of actuals strictly above a quantile forecast (ideal: about 1 - its level)."""
    a, b = _arrays(y_true, y_quantile)
    return float(np.mean(a > b)) if a.size else float("nan")


def naive_scale(
    history: pd.DataFrame,
    *,
    season: int = 1,
    squared: bool = False,
    id_col: str = "sku",
    time_col: str = "ds",
    target_col: str = "y",
) -> pd.Series:
    """Per-series in-sample error of the lag-``season`` naive forecast.

    Mean absolute (``squared=False``, the MASE scale) or mean squared (the RMSSE scale)
    difference ``y[t] - y[t - season]`` over each series' history, indexed by series id.
    A series with ``season`` or fewer periods gets NaN.
    """
    check_frame(history, required=[id_col, time_col, target_col], name="history")
    if season < 1:
        raise ConfigError(f"season must be >= 1, got {season}")
    h = history.sort_values([id_col, time_col])
    diff = h.groupby(id_col, sort=False)[target_col].diff(season)
    err = diff**2 if squared else diff.abs()
    return err.groupby(h[id_col], sort=True).mean()


def _per_series_ratio(
    ids: np.ndarray, loss: np.ndarray, scale: pd.Series, *, sqrt: bool = False
) -> float:
    per = pd.Series(loss).groupby(ids).mean()
    s = scale.reindex(per.index).to_numpy(dtype=np.float64)
    ok = np.isfinite(s) & (s > 0)
    if not ok.any():
        return float("nan")
    r = per.to_numpy()[ok] / s[ok]
    return float(np.mean(np.sqrt(r) if sqrt else r))


def mase(ids: object, y_true: object, y_pred: object, scale: pd.Series) -> float:
    """Mean absolute scaled error: per series ``MAE / scale``, averaged over series.

    ``scale`` is :func:`naive_scale` of the history (indexed by series id).
    """
    a, b = _arrays(y_true, y_pred)
    return _per_series_ratio(np.asarray(ids), np.abs(a - b), scale)


def rmsse(ids: object, y_true: object, y_pred: object, scale_squared: pd.Series) -> float:
    """Root mean squared scaled error (M5): per series ``sqrt(MSE / scale)``, averaged.

    ``scale_squared`` is ``naive_scale(history, squared=True)``.
    """
    a, b = _arrays(y_true, y_pred)
    return _per_series_ratio(np.asarray(ids), (a - b) ** 2, scale_squared, sqrt=True)


def scaled_pinball(
    ids: object,
    y_true: object,
    quantiles: dict[float, object],
    scale: pd.Series,
) -> float:
    """Mean over quantile levels of the per-series pinball loss / naive MAE, averaged.

    ``quantiles`` maps each level (e.g. 0.1, 0.5, 0.9) to its forecast values.
    """
    if not quantiles:
        raise DataQualityError("scaled_pinball needs at least one quantile level")
    vals = []
    ids_arr = np.asarray(ids)
    for q, pred in quantiles.items():
        a, b = _arrays(y_true, pred)
        d = a - b
        vals.append(_per_series_ratio(ids_arr, np.maximum(q * d, (q - 1.0) * d), scale))
    return float(np.mean(vals))


def randomized_pit_nb(y_true: object, mean: object, size: object, *, seed: int = 0) -> np.ndarray:
    """Randomized PIT of counts under NB(mean, size): uniform between F(y - 1) and F(y).

    On discrete demand "share below q10" cannot reach 10 % when P(0) > 10 %; the randomized
    PIT of a calibrated forecast is uniform whatever the support, so the shares of PIT
    below 0.1 and above 0.9 are each 10 %.
    """
    from scipy import special

    y = np.asarray(y_true, dtype=np.float64)
    m = np.maximum(np.asarray(mean, dtype=np.float64), 1e-12)
    k = np.clip(np.asarray(size, dtype=np.float64), 1e-9, 1e12)
    p = k / (k + m)
    hi = np.where(y >= 0, special.betainc(k, np.maximum(y, 0) + 1.0, p), 0.0)
    lo = np.where(y >= 1, special.betainc(k, np.maximum(y, 1.0), p), 0.0)
    return lo + np.random.default_rng(seed).random(y.shape) * (hi - lo)


def quantile_cdf(x: object, quantiles: np.ndarray) -> np.ndarray:
    """CDF at ``x`` of the piecewise-linear distribution through each row's quantiles
    (:data:`QUANTILE_COLUMNS` order; tails extended as in the lead-time sampler)."""
    q = np.asarray(quantiles, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    levels = np.array(list(QUANTILE_COLUMNS.values()))
    p = np.concatenate([[0.0], levels, [1.0]])
    lo = np.maximum(q[:, 0] - (q[:, 1] - q[:, 0]), 0.0)
    hi = q[:, -1] + (q[:, -1] - q[:, -2])
    knots = np.maximum.accumulate(np.column_stack([lo, q, hi]), axis=1)
    j = (knots <= x[:, None]).sum(axis=1) - 1
    rows = np.arange(len(x))
    jj = np.clip(j, 0, len(p) - 2)
    k0, k1 = knots[rows, jj], knots[rows, jj + 1]
    frac = np.where(k1 > k0, (x - k0) / np.where(k1 > k0, k1 - k0, 1.0), 1.0)
    cdf = p[jj] + (p[jj + 1] - p[jj]) * np.clip(frac, 0.0, 1.0)
    return np.where(j < 0, 0.0, np.where(j >= len(p) - 1, 1.0, cdf))


def randomized_pit_quantiles(y_true: object, quantiles: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Randomized PIT of counts under the quantile forecast's piecewise-linear CDF, with
    a continuity correction: ``P(Y <= y)`` is the CDF at ``y + 0.5`` (a run of quantiles
    equal to ``y`` says ``F(y)`` lies between their level and the next one's)."""
    y = np.asarray(y_true, dtype=np.float64)
    hi, lo = quantile_cdf(y + 0.5, quantiles), quantile_cdf(y - 0.5, quantiles)
    return lo + np.random.default_rng(seed).random(y.shape) * (hi - lo)


def abc_classes(values: pd.Series, *, a: float = 0.8, b: float = 0.95) -> pd.Series:
    """ABC class per index: A = items making the first ``a`` share of the total, B up
    to ``b``, C the rest (ranked by value, descending)."""
    v = values.fillna(0.0).clip(lower=0.0).sort_values(ascending=False, kind="mergesort")
    total = v.sum()
    if total <= 0:
        return pd.Series("C", index=values.index)
    share_before = (v.cumsum() - v) / total
    cls = np.where(share_before < a, "A", np.where(share_before < b, "B", "C"))
    return pd.Series(cls, index=v.index).reindex(values.index)


def evaluate_forecast(
    forecast: pd.DataFrame,
    actuals: pd.DataFrame,
    history: pd.DataFrame,
    *,
    season: int = 1,
    by: Sequence[str] = (),
    pinball_levels: Sequence[float] = (0.1, 0.5, 0.9),
    point: str = "mean",
) -> pd.DataFrame:
    """Score a long forecast frame against actuals, overall and by group.

    Parameters
    ----------
    forecast : DataFrame
        ``sku, ds, mean, q05 ... q95`` (and any group columns named in ``by``).
    actuals : DataFrame
        ``sku, ds, y`` for the forecast periods; forecast rows without an actual are
        dropped (a missing actual is not a zero), actual rows without a forecast too.
    history : DataFrame
        ``sku, ds, y`` before the forecast origin, for the scales of MASE/RMSSE/pinball.
    season : int
        Lag of the naive forecast that scales errors (1 = the previous period).
    by : sequence of str
        Group columns of ``forecast`` (e.g. ``pattern``, ``abc``); one row per group
        is added after the ``all`` row.
    pinball_levels : sequence of float
        Quantile levels averaged by the scaled pinball loss.
    point : str
        Column used as the point forecast.

    Returns
    -------
    DataFrame
        Columns ``group, value, n_series, n, wape, bias, mase, rmsse, scaled_pinball,
        coverage_80, coverage_90, below_q10, above_q90, mase_q50, rpit_below_10,
        rpit_above_90`` (the last two: shares of the randomized PIT below 0.1 and above 0.9,
        each 0.1 for a calibrated forecast even on discrete demand).
    """
    check_frame(forecast, required=["sku", "ds", point], name="forecast")
    check_frame(actuals, required=["sku", "ds", "y"], name="actuals")
    df = forecast.merge(actuals[["sku", "ds", "y"]], on=["sku", "ds"], how="inner")
    mae_scale = naive_scale(history, season=season)
    mse_scale = naive_scale(history, season=season, squared=True)
    name_of = {v: k for k, v in QUANTILE_COLUMNS.items()}

    def score(part: pd.DataFrame) -> dict[str, float]:
        ids, y, yhat = part["sku"].to_numpy(), part["y"].to_numpy(), part[point].to_numpy()
        row: dict[str, float] = {
            "n_series": float(part["sku"].nunique()),
            "n": float(len(part)),
            "wape": wape(y, yhat),
            "bias": bias(y, yhat),
            "mase": mase(ids, y, yhat, mae_scale),
            "rmsse": rmsse(ids, y, yhat, mse_scale),
        }
        qs = {q: part[name_of[q]].to_numpy() for q in pinball_levels if name_of.get(q) in part}
        row["scaled_pinball"] = scaled_pinball(ids, y, qs, mae_scale) if qs else float("nan")
        if {"q10", "q90"} <= set(part.columns):
            row["coverage_80"] = coverage(y, part["q10"], part["q90"])
            row["below_q10"] = share_below(y, part["q10"])
            row["above_q90"] = share_above(y, part["q90"])
        if {"q05", "q95"} <= set(part.columns):
            row["coverage_90"] = coverage(y, part["q05"], part["q95"])
        if "q50" in part.columns:
            row["mase_q50"] = mase(ids, y, part["q50"].to_numpy(), mae_scale)
        pit = None
        if "nb_size" in part.columns and part["nb_size"].notna().all():
            pit = randomized_pit_nb(y, part["mean"], part["nb_size"])
        elif set(QUANTILE_COLUMNS) <= set(part.columns):
            pit = randomized_pit_quantiles(y, part[list(QUANTILE_COLUMNS)].to_numpy(np.float64))
        if pit is not None and len(pit):
            row["rpit_below_10"] = float(np.mean(pit < 0.1))
            row["rpit_above_90"] = float(np.mean(pit > 0.9))
        return row

    rows = [{"group": "all", "value": "all", **score(df)}]
    for col in by:
        if col not in df.columns:
            continue
        for val, part in df.groupby(col, sort=True, observed=True):
            rows.append({"group": col, "value": str(val), **score(part)})
    cols = [
        "group", "value", "n_series", "n", "wape", "bias", "mase", "rmsse",
        "scaled_pinball", "coverage_80", "coverage_90", "below_q10", "above_q90",
        "mase_q50", "rpit_below_10", "rpit_above_90",
    ]  # fmt: skip
    return pd.DataFrame(rows).reindex(columns=cols)
