"""ecomml: demand forecasts, inventory policy, churn and recommendations for online shops.

All four tasks read one point-in-time feature store built from canonical tables
(transactions, events, catalog, calendar); every training run is tracked in MLflow.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ecomml")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
