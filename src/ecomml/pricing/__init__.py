"""Pricing: own-price elasticity per SKU from sales history (``ecomml price elasticity``)
and the prices that earn the most within the shop's rules (``ecomml price recommend``).

:class:`ElasticityModel` estimates each SKU's elasticity with double/debiased ML on a
tier-adjusted weekly price panel and pools it toward the category and the shop;
:func:`~ecomml.pricing.recommend.recommend_prices` turns it into prices.
"""

from ecomml.pricing.elasticity import OUTPUT_COLUMNS, ElasticityModel

__all__ = ["OUTPUT_COLUMNS", "ElasticityModel"]
