"""End-to-end forecasting jobs on a shop: train, forecast, load a trained model.

These are what ``ecomml train|predict forecast`` and the main job call; replenishment
jobs can call them too::

    from ecomml.forecasting import load_forecaster, forecast_shop
    model = load_forecaster("models:/demand@prod")
    fc = forecast_shop(model, load_shop("orders.parquet", cutoff="2026-11-23"), cutoff="2026-11-23")
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from ecomml._validation import check_cutoff
from ecomml.exceptions import DataQualityError
from ecomml.features.store import store_from_shop
from ecomml.forecasting._base import BaseForecaster
from ecomml.forecasting.panel import check_freq, panel_from_store, period_start

if TYPE_CHECKING:
    from ecomml.data.shop import ShopData
    from ecomml.features.store import FeatureStore

__all__ = ["load_forecaster", "shop_panel", "forecast_shop", "view_for", "TrainedForecaster"]


def view_for(freq: str) -> str:
    """The feature view a forecaster of ``freq`` is trained on."""
    return "sku_weekly" if check_freq(freq) == "W" else "sku_daily"


def shop_panel(
    shop: ShopData, cutoff: Any, freq: str, store: FeatureStore | None = None
) -> tuple[pd.DataFrame, FeatureStore]:
    """The ``sku, ds, y, category`` panel of ``shop`` as of ``cutoff`` (from its store)."""
    cut = check_cutoff(cutoff)
    store = store if store is not None else store_from_shop(shop)
    panel = panel_from_store(store, cut, freq, catalog=shop.catalog)
    if panel.empty:
        raise DataQualityError(
            f"no complete {'week' if check_freq(freq) == 'W' else 'day'} with sales before the "
            f"cutoff {cut.date()}; choose a later --cutoff"
        )
    return panel, store


@dataclass
class TrainedForecaster:
    """A loaded forecaster, its metadata and where it came from."""

    estimator: BaseForecaster
    metadata: dict[str, Any]
    uri: str
    loaded: Any = None

    @property
    def freq(self) -> str:
        return str(self.estimator.freq_)

    @property
    def horizon(self) -> int:
        return int(self.estimator.horizon)

    def forecast(self, shop: ShopData, cutoff: Any) -> pd.DataFrame:
        """Forecast ``horizon`` periods from the cutoff's period with ``shop``'s history."""
        return forecast_shop(self, shop, cutoff)


def load_forecaster(uri: str | os.PathLike[str]) -> TrainedForecaster:
    """Load a forecaster saved by ``ecomml train forecast`` from a model directory,
    ``runs:/<id>/model`` or ``models:/NAME@alias`` (verified against its manifest)."""
    from ecomml.modelstore import load_model

    loaded = load_model(uri, task="forecast")
    return TrainedForecaster(loaded.model, loaded.metadata, os.fspath(uri), loaded)


def forecast_shop(
    model: TrainedForecaster, shop: ShopData, cutoff: Any, *, check_features: bool = True
) -> pd.DataFrame:
    """Forecast with ``model`` from ``shop``'s history before ``cutoff``.

    The forecast starts at the period holding the cutoff (weeks start on Monday) and
    covers the model's horizon; catalog SKUs marked active that never sold get the
    category fallback.
    """
    cut = check_cutoff(cutoff)
    panel, store = shop_panel(shop, cut, model.freq)
    if check_features and model.loaded is not None:
        from ecomml.modelstore import check_feature_hashes

        check_feature_hashes(model.loaded, [store.view(view_for(model.freq))])
    new = None
    if shop.catalog is not None and "sku" in shop.catalog.columns:
        cat = shop.catalog
        if "active" in cat.columns:
            cat = cat.loc[cat["active"].fillna(True).astype(bool)]
        new = cat[[c for c in ("sku", "category") if c in cat.columns]]
    kw: dict[str, Any] = {"start": period_start(cut, model.freq), "new_skus": new}
    if shop.calendar is not None:
        kw["calendar"] = shop.calendar
    return model.estimator.predict(panel, **kw)
