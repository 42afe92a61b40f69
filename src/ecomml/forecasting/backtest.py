"""Rolling-origin backtests: refit at several origins, score the next ``horizon`` periods."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from ecomml._validation import check_frame
from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.forecasting.panel import check_freq, period_date, period_index
from ecomml.metrics.forecast import QUANTILE_COLUMNS, abc_classes, evaluate_forecast

__all__ = ["BacktestResult", "backtest", "backtest_origins", "quantile_calibration"]


@dataclass
class BacktestResult:
    """Forecasts and scores of a rolling-origin backtest.

    Attributes
    ----------
    forecasts : DataFrame
        Every fold's forecast joined to its actual ``y``, with ``fold``, ``origin``, ``abc``.
    metrics : DataFrame
        :func:`~ecomml.metrics.forecast.evaluate_forecast` rows per fold (``fold``
        column) and their mean over folds (``fold == "mean"``).
    seconds : dict
        Fit + predict seconds per fold.
    """

    forecasts: pd.DataFrame
    metrics: pd.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """The mean-over-folds rows."""
        return self.metrics.loc[self.metrics["fold"] == "mean"].drop(columns="fold")


def backtest_origins(
    panel: pd.DataFrame, freq: str, horizon: int, folds: int, step: int | None = None
) -> list[pd.Timestamp]:
    """Origins (first forecast periods) of ``folds`` folds ending with the last complete
    ``horizon`` periods of ``panel``, ``step`` periods apart (default ``horizon``)."""
    freq = check_freq(freq)
    if folds < 1:
        raise ConfigError(f"folds must be >= 1, got {folds}")
    step = int(step or horizon)
    last = int(period_index(pd.DatetimeIndex([pd.to_datetime(panel["ds"]).max()]), freq)[0])
    first = int(period_index(pd.DatetimeIndex([pd.to_datetime(panel["ds"]).min()]), freq)[0])
    origins = [last - horizon + 1 - step * (folds - 1 - k) for k in range(folds)]
    if origins[0] - first < 2:
        raise DataQualityError(
            f"{folds} folds of {horizon} periods (step {step}) need more history than the "
            f"{last - first + 1} periods available; use fewer --folds or a shorter --horizon"
        )
    return list(period_date(np.array(origins), freq))


def backtest(
    estimator: Any,
    panel: pd.DataFrame,
    *,
    folds: int = 3,
    step: int | None = None,
    fit_params: Mapping[str, Any] | None = None,
    predict_params: Mapping[str, Any] | None = None,
    by: Sequence[str] = ("pattern", "abc"),
    progress: Callable[[str, float], None] | None = None,
) -> BacktestResult:
    """Rolling-origin backtest of ``estimator`` (a clone is refit at every origin).

    Each fold trains on the periods before its origin only and forecasts the
    estimator's ``horizon`` periods from it; errors are scaled by each fold's own
    history (lag-1 naive). ABC classes rank SKUs by units over the year before the
    origin.
    """
    import time

    check_frame(panel, required=["sku", "ds", "y"], name="panel")
    freq, horizon = check_freq(estimator.freq), int(estimator.horizon)
    panel = panel.assign(ds=pd.to_datetime(panel["ds"]))
    origins = backtest_origins(panel, freq, horizon, folds, step)
    say = progress or (lambda msg, frac: None)
    fc_all, met_all, seconds = [], [], {}
    for k, origin in enumerate(origins):
        say(f"fold {k + 1}/{len(origins)} (origin {origin.date()})", k / len(origins))
        train = panel.loc[panel["ds"] < origin]
        end = period_date(period_index(pd.DatetimeIndex([origin]), freq) + horizon, freq)[0]
        actual = panel.loc[(panel["ds"] >= origin) & (panel["ds"] < end)]
        t0 = time.perf_counter()
        est = clone(estimator).fit(train, **dict(fit_params or {}))
        fc = est.predict(train, start=origin, **dict(predict_params or {}))
        seconds[f"fold{k + 1}"] = time.perf_counter() - t0
        recent = train.loc[train["ds"] >= origin - pd.Timedelta(days=364)]
        abc = abc_classes(recent.groupby("sku")["y"].sum())
        fc = fc.assign(abc=fc["sku"].map(abc).fillna("C"), fold=k + 1, origin=origin)
        met = evaluate_forecast(fc, actual, train, by=by)
        met_all.append(met.assign(fold=str(k + 1)))
        fc_all.append(fc.merge(actual[["sku", "ds", "y"]], on=["sku", "ds"], how="left"))
    say("scoring", 1.0)
    metrics = pd.concat(met_all, ignore_index=True)
    num = [c for c in metrics.columns if c not in ("group", "value", "fold")]
    mean = metrics.groupby(["group", "value"], sort=False)[num].mean().reset_index()
    metrics = pd.concat([metrics, mean.assign(fold="mean")], ignore_index=True)
    return BacktestResult(pd.concat(fc_all, ignore_index=True), metrics, seconds)


def quantile_calibration(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Observed share of actuals at or below each quantile forecast vs its level
    (``level, observed``); a calibrated forecaster lies on the diagonal."""
    f = forecasts.dropna(subset=["y"])
    rows = [
        {"quantile": c, "level": lv, "observed": float(np.mean(f["y"] <= f[c])),
         "below": float(np.mean(f["y"] < f[c]))}
        for c, lv in QUANTILE_COLUMNS.items()
    ]  # fmt: skip
    return pd.DataFrame(rows)
