"""The foundation on the real UCI Online Retail file (slow; skipped without ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ecomml.data.shop import ShopData
from ecomml.features import FeatureStore
from ecomml.quickstart import run_quickstart
from ecomml.testing import assert_cutoff_invariant

pytestmark = pytest.mark.slow


def test_quickstart_on_online_retail(online_retail: pd.DataFrame, tmp_path: Path) -> None:
    res = run_quickstart(
        ShopData(online_retail, source="online retail"), out_dir=tmp_path, track=False
    )
    assert res.cutoff == pd.Timestamp("2011-12-10")
    # customers with at least one purchase line after cleaning
    buyers = online_retail.loc[online_retail["quantity"] > 0, "customer_id"].dropna().nunique()
    assert res.view_rows["customer_rfm"] == buyers
    # every SKU with any transaction line (return-only SKUs included)
    assert res.view_rows["sku_demand"] == online_retail["sku"].nunique()
    # 374 days from 2010-12-01 to 2011-12-09
    assert res.view_rows["calendar_features"] == 374


def test_customer_features_respect_the_cutoff_on_real_data(online_retail: pd.DataFrame) -> None:
    cutoff = pd.Timestamp("2011-09-01")

    def build(tx: pd.DataFrame) -> pd.DataFrame:
        store = FeatureStore()
        store.register("transactions", tx)
        return store.get_features(["customer_rfm"], cutoff=cutoff)

    assert_cutoff_invariant(build, online_retail, cutoff, n_future=500, rng=0)


def test_big_reversed_orders_are_not_demand(online_retail: pd.DataFrame) -> None:
    store = FeatureStore()
    store.register("transactions", online_retail)
    sku = store.get_features("sku_demand", cutoff="2011-12-10")
    # the 80,995-unit order of 23843 (2011-12-09) and 74,215-unit order of 23166 were cancelled
    assert sku["sku_demand__total_units"].max() < 74_215
