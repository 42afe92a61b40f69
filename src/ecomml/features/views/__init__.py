"""The built-in feature views, one module per entity.

``builtin_views()`` is what :class:`~ecomml.features.store.FeatureStore` serves when it is
created with ``views=None``. Every view reads the canonical tables through the store's
point-in-time relations (see :mod:`ecomml.features.view`), so all four modules - demand
forecasting, inventory policy, churn and recommendations - share one feature store.

========================  ============  ==========================================
view                      entity        what
========================  ============  ==========================================
``customer_rfm``          customer      recency, frequency, monetary, behaviour
``customer_events``       customer      views / carts / purchases, last 90 days
``sku_demand``            sku           demand snapshot, ADI / CV2, price, promo
``sku_daily``             sku_day       daily forecasting frame (dense grid)
``sku_weekly``            sku_week      weekly forecasting frame (complete weeks)
``customer_sku``          customer_sku  pair purchase history
``calendar_features``     date          calendar and promotion features
========================  ============  ==========================================
"""

from __future__ import annotations

from ecomml.features.view import FeatureView
from ecomml.features.views.calendar import CALENDAR_FEATURES, calendar_frame
from ecomml.features.views.customer import CUSTOMER_EVENTS, CUSTOMER_RFM
from ecomml.features.views.customer_sku import CUSTOMER_SKU_VIEW
from ecomml.features.views.sku import SKU_DAILY, SKU_DEMAND, SKU_WEEKLY

__all__ = [
    "CALENDAR_FEATURES",
    "CUSTOMER_EVENTS",
    "CUSTOMER_RFM",
    "CUSTOMER_SKU_VIEW",
    "SKU_DAILY",
    "SKU_DEMAND",
    "SKU_WEEKLY",
    "builtin_views",
    "calendar_frame",
]


def builtin_views() -> list[FeatureView]:
    """Return the built-in feature views (a new list on each call).

    Returns
    -------
    list of FeatureView
        ``customer_rfm``, ``customer_events``, ``sku_demand``, ``sku_daily``,
        ``sku_weekly``, ``customer_sku`` and ``calendar_features``.

    Examples
    --------
    >>> [v.name for v in builtin_views()][:3]
    ['customer_rfm', 'customer_events', 'sku_demand']
    """
    return [
        CUSTOMER_RFM,
        CUSTOMER_EVENTS,
        SKU_DEMAND,
        SKU_DAILY,
        SKU_WEEKLY,
        CUSTOMER_SKU_VIEW,
        CALENDAR_FEATURES,
    ]
