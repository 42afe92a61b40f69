"""Inventory on the real UCI Online Retail file (slow; skipped without ../shared/data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecomml.forecasting import LightGBMForecaster, TSBForecaster, panel_from_transactions
from ecomml.inventory import (
    PLAN_COLUMNS,
    classify_skus,
    inventory_at_equal_service,
    replenishment_plan,
    tradeoff_curve,
)

pytestmark = pytest.mark.slow
CUTOFF = pd.Timestamp("2011-10-10")


def test_classify_and_plan_on_online_retail(online_retail: pd.DataFrame) -> None:
    c = classify_skus(online_retail, CUTOFF)
    a = c.loc[c["abc"] == "A"]
    assert 0.79 <= a["share"].sum() <= 0.81 + a["share"].max()
    assert len(a) < 0.35 * len(c)  # a long tail: A is a minority of SKUs
    panel = panel_from_transactions(online_retail, CUTOFF, "W")
    fc = TSBForecaster(freq="W", horizon=4).fit(panel).predict(panel, start=CUTOFF)
    res = replenishment_plan(fc, online_retail, CUTOFF, lead_time=14, service_level=0.95)
    p = res.plan
    assert not p[PLAN_COLUMNS].isna().any().any()
    assert len(p) == fc["sku"].nunique()
    assert np.isfinite(res.summary["expected_turns"])


def test_forecast_policy_beats_classic_on_the_tradeoff_curve(online_retail: pd.DataFrame) -> None:
    end = CUTOFF + pd.Timedelta(weeks=4)
    panel = panel_from_transactions(online_retail, end, "W")
    busy = panel.loc[panel["ds"] < CUTOFF].groupby("sku")["y"].apply(lambda y: (y > 0).sum())
    panel = panel.loc[panel["sku"].isin(busy.index[busy >= 26])]
    fc = LightGBMForecaster(freq="W", horizon=4, n_estimators=50, n_jobs=1)
    curve = tradeoff_curve(panel, CUTOFF, end, service_levels=(0.5, 0.7, 0.8, 0.9, 0.95, 0.98),
                           lead_time=7, refit_every=4, forecaster=fc, n_samples=500)  # fmt: skip
    f = curve.loc[curve["policy"] == "forecast"].set_index("service_level")
    assert (f["fill_rate"].diff().dropna() >= -1e-9).all()
    eq = inventory_at_equal_service(curve)
    assert len(eq) > 0
    # the benchmark's claim, loosely: less stock than the classic policy at equal fill rate
    assert eq["saving"].mean() > 0
