"""The replenishment plan: contract columns, orders, summary, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecomml.exceptions import ConfigError, DataQualityError, DataQualityWarning
from ecomml.inventory import PLAN_COLUMNS, replenishment_plan

from .conftest import CUTOFF


def test_plan_contract_and_orders(shop, forecast):
    res = replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=14,
                             catalog=shop.catalog)  # fmt: skip
    p = res.plan
    assert list(p.columns[: len(PLAN_COLUMNS)]) == PLAN_COLUMNS
    assert p["sku"].is_unique and set(p["sku"]) == set(forecast["sku"])
    assert not p[PLAN_COLUMNS].isna().any().any()
    # nothing in stock: order up to the level
    assert (p["order_qty"] == np.maximum(p["order_up_to"], 0)).all()
    assert ((p["expected_fill_rate"] >= 0.95 - 1e-9) | (p["order_up_to"] == 0)).all()
    s = res.summary
    for k in (
        "inventory_value",
        "expected_turns",
        "slow_mover_share",
        "expected_avg_inventory_value",
    ):
        assert np.isfinite(s[k])
    assert 0 <= s["slow_mover_share"] <= 1


def test_plan_with_on_hand_orders_only_the_gap(shop, forecast):
    base = replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=7).plan
    sku = base.sort_values("order_up_to").iloc[-1]
    oh = pd.DataFrame({"sku": [sku["sku"]], "on_hand": [sku["order_up_to"] - 2], "on_order": [1.0]})
    p = replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=7, on_hand=oh,
                           pack_size=1).plan.set_index("sku")  # fmt: skip
    assert p.loc[sku["sku"], "order_qty"] == 1.0
    oh["on_hand"] = sku["order_up_to"] + 5
    p = replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=7, on_hand=oh).plan
    assert p.set_index("sku").loc[sku["sku"], "order_qty"] == 0.0


def test_classic_policy_and_cell_targets(shop, forecast):
    c = replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=14, policy="classic",
                           lead_time_sd=3).plan  # fmt: skip
    assert not c[PLAN_COLUMNS].isna().any().any()
    cells = replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=14,
                               service_level=None, cell_targets={"AX": 0.99}).plan  # fmt: skip
    assert set(cells["service_target"]) <= {0.99, 0.97, 0.95, 0.96, 0.92, 0.93, 0.90, 0.85}


def test_negative_on_hand_names_the_sku(shop, forecast):
    oh = pd.DataFrame(
        {"sku": [forecast["sku"].iloc[0], forecast["sku"].iloc[7]], "on_hand": [-1.0, 2.0]}
    )
    with pytest.raises(DataQualityError, match=forecast["sku"].iloc[0]):
        replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=14, on_hand=oh)


def test_forecast_and_transaction_skus_must_match(shop, forecast):
    extra = forecast.loc[forecast["sku"] == forecast["sku"].iloc[0]].assign(sku="GHOST-1")
    with pytest.raises(DataQualityError, match="GHOST-1"):
        replenishment_plan(pd.concat([forecast, extra]), shop.transactions, CUTOFF, lead_time=7)
    first = forecast["sku"].iloc[0]
    with pytest.raises(DataQualityError, match=first):
        replenishment_plan(forecast.loc[forecast["sku"] != first], shop.transactions, CUTOFF,
                           lead_time=7)  # fmt: skip
    with pytest.warns(DataQualityWarning, match="GHOST-1"):
        p = replenishment_plan(pd.concat([forecast, extra]), shop.transactions, CUTOFF,
                               lead_time=7, on_mismatch="drop").plan  # fmt: skip
    assert "GHOST-1" not in set(p["sku"])


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"lead_time": 0}, "lead-time"),
        ({"lead_time": -7}, "lead-time"),
        ({"lead_time": 5000}, "longer than the history"),
        ({"lead_time": 7, "service_level": 1.5}, "between 0 and 1"),
        ({"lead_time": 7, "service_level": 0.0}, "between 0 and 1"),
        ({"lead_time": 7, "policy": "magic"}, "--policy"),
    ],
)
def test_bad_parameters(shop, forecast, kw, match):
    with pytest.raises(ConfigError, match=match):
        replenishment_plan(forecast, shop.transactions, CUTOFF, **kw)


def test_sku_first_sold_in_the_cutoff_period_is_not_an_error(shop, forecast):
    row = shop.transactions.iloc[[0]].assign(sku="FRESH-1", ts=pd.Timestamp("2023-10-03 10:00"))
    tx = pd.concat([shop.transactions, row], ignore_index=True)
    with pytest.warns(DataQualityWarning, match="FRESH-1"):
        p = replenishment_plan(forecast, tx, "2023-10-04", lead_time=7).plan
    assert "FRESH-1" not in set(p["sku"]) and len(p) == forecast["sku"].nunique()


def test_empirical_lead_times(shop, forecast):
    fixed = replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=14).plan
    emp = replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=[7, 14, 21]).plan
    assert emp["order_up_to"].sum() > fixed["order_up_to"].sum()
    cl = replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=[7, 14, 21],
                            policy="classic").plan  # fmt: skip
    cl0 = replenishment_plan(
        forecast, shop.transactions, CUTOFF, lead_time=14, policy="classic"
    ).plan
    assert cl["order_up_to"].sum() > cl0["order_up_to"].sum()
