"""Demand forecasting: baselines, the global LightGBM forecaster, pattern-wise auto
selection, lead-time demand and rolling-origin backtests.

>>> from ecomml.forecasting import LightGBMForecaster              # doctest: +SKIP
>>> fc = LightGBMForecaster(freq="W", horizon=8).fit(panel)          # doctest: +SKIP
>>> fc.predict(panel)   # sku, ds, mean, q05 ... q95, pattern, fallback   # doctest: +SKIP
"""

from __future__ import annotations

from ecomml.forecasting._base import OUTPUT_COLUMNS, BaseForecaster, nb_quantiles
from ecomml.forecasting._panel import (
    panel_from_store,
    panel_from_transactions,
    period_start,
)
from ecomml.forecasting.baselines import (
    CrostonForecaster,
    ETSForecaster,
    MovingAverageForecaster,
    NaiveForecaster,
    SeasonalNaiveForecaster,
    TSBForecaster,
    get_baseline,
)
from ecomml.forecasting.lgbm import LightGBMForecaster
from ecomml.forecasting.patterns import classify_demand

__all__ = [
    "OUTPUT_COLUMNS",
    "BaseForecaster",
    "NaiveForecaster",
    "SeasonalNaiveForecaster",
    "MovingAverageForecaster",
    "ETSForecaster",
    "CrostonForecaster",
    "TSBForecaster",
    "LightGBMForecaster",
    "get_baseline",
    "classify_demand",
    "nb_quantiles",
    "panel_from_store",
    "panel_from_transactions",
    "period_start",
]
