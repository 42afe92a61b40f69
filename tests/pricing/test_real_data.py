"""Price elasticity on the real Online Retail file (slow; skipped without ../shared/data):
the quantity tiers are found and taken out, which moves the shop's elasticity toward zero."""

from __future__ import annotations

import pandas as pd
import pytest

from ecomml.pricing import ElasticityModel

pytestmark = pytest.mark.slow


def test_tier_pricing_is_found_and_removed(online_retail: pd.DataFrame) -> None:
    cutoff = pd.Timestamp("2011-12-01")
    adjusted = ElasticityModel(n_jobs=2).fit(online_retail, cutoff=cutoff)
    raw = ElasticityModel(n_jobs=2, tier_adjust=False).fit(online_retail, cutoff=cutoff)
    t = adjusted.elasticities_
    # most SKUs give quantity discounts: twice the line, a few percent less per unit
    assert (t["tier_slope"] < -0.05).mean() > 0.5
    # without the adjustment the tiers read as a strong price response
    assert raw.shop_elasticity_[0] < adjusted.shop_elasticity_[0] - 0.5
    assert -1.5 < adjusted.shop_elasticity_[0] < 0
    assert (t["source"] == "sku").mean() > 0.5
    assert t["sku"].is_unique and t["elasticity"].notna().mean() > 0.95
