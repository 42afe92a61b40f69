"""The feature store: named SQL feature views over the canonical tables, computed point-in-time."""

from __future__ import annotations

from ecomml.features.engines import DuckDBEngine, Engine
from ecomml.features.entity import CUSTOMER, CUSTOMER_SKU, DATE, SKU, SKU_DAY, SKU_WEEK, Entity
from ecomml.features.materialize import read_manifest, read_materialized
from ecomml.features.store import FeatureStore, store_from_shop
from ecomml.features.view import FeatureView

__all__ = [
    "CUSTOMER",
    "CUSTOMER_SKU",
    "DATE",
    "SKU",
    "SKU_DAY",
    "SKU_WEEK",
    "DuckDBEngine",
    "Engine",
    "Entity",
    "FeatureStore",
    "FeatureView",
    "read_manifest",
    "read_materialized",
    "store_from_shop",
]
