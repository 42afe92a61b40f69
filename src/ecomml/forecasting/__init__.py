"""Demand forecasting: baselines, the global LightGBM forecaster, pattern-wise auto
selection, lead-time demand and rolling-origin backtests.

>>> from ecomml.forecasting import LightGBMForecaster              # doctest: +SKIP
>>> fc = LightGBMForecaster(freq="W", horizon=8).fit(panel)          # doctest: +SKIP
>>> fc.predict(panel)   # sku, ds, mean, q05 ... q95, pattern, fallback   # doctest: +SKIP
"""

from __future__ import annotations

from ecomml.forecasting._base import (
    OUTPUT_COLUMNS,
    BaseForecaster,
    ForecasterInterface,
    nb_quantiles,
)
from ecomml.forecasting.auto import AutoForecaster, make_forecaster
from ecomml.forecasting.backtest import BacktestResult, backtest, quantile_calibration
from ecomml.forecasting.baselines import (
    CrostonForecaster,
    ETSForecaster,
    MovingAverageForecaster,
    NaiveForecaster,
    SeasonalNaiveForecaster,
    TSBForecaster,
    get_baseline,
)
from ecomml.forecasting.hierarchy import HIERARCHY_COLUMNS, HierarchicalForecaster
from ecomml.forecasting.leadtime import lead_time_demand
from ecomml.forecasting.lgbm import LightGBMForecaster
from ecomml.forecasting.panel import (
    panel_from_store,
    panel_from_transactions,
    period_start,
)
from ecomml.forecasting.partitioned import PartitionedForecaster
from ecomml.forecasting.patterns import classify_demand
from ecomml.forecasting.task import (
    ForecastTask,
    TrainedForecaster,
    forecast_shop,
    load_forecaster,
    shop_panel,
)

__all__ = [
    "HIERARCHY_COLUMNS",
    "OUTPUT_COLUMNS",
    "AutoForecaster",
    "BacktestResult",
    "BaseForecaster",
    "CrostonForecaster",
    "ETSForecaster",
    "ForecastTask",
    "ForecasterInterface",
    "HierarchicalForecaster",
    "LightGBMForecaster",
    "MovingAverageForecaster",
    "NaiveForecaster",
    "PartitionedForecaster",
    "SeasonalNaiveForecaster",
    "TSBForecaster",
    "TrainedForecaster",
    "backtest",
    "classify_demand",
    "forecast_shop",
    "get_baseline",
    "lead_time_demand",
    "load_forecaster",
    "make_forecaster",
    "nb_quantiles",
    "panel_from_store",
    "panel_from_transactions",
    "period_start",
    "quantile_calibration",
    "shop_panel",
]
