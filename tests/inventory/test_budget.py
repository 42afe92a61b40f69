"""Orders under a cash budget: greedy marginal analysis against brute force (issue 20)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecomml.exceptions import ConfigError
from ecomml.inventory import replenishment_plan
from ecomml.inventory.budget import (
    allocate_budget,
    check_budget,
    expected_sales,
    pro_rata_orders,
    unit_margins,
)

from .conftest import CUTOFF


def _grid(q, moq, pack):
    """Every order a SKU may get: 0, the MOQ rounded up to the pack, then packs, up to q."""
    if q <= 0:
        return [0.0]
    first = min(q, max(np.ceil(moq / pack - 1e-9) * pack, pack))
    return [0.0, *np.unique(np.minimum(np.arange(first, q + pack, pack), q))]


def _value(samples, q, margin):
    return float((expected_sales(samples, np.asarray(q, dtype=float)) * margin).sum())


def _brute_force(samples, qty, cost, margin, budget, moq, pack):
    best = -1.0
    grids = [_grid(q, m, p) for q, m, p in zip(qty, moq, pack, strict=True)]
    for combo in itertools.product(*grids):
        if float(np.dot(combo, cost)) <= budget + 1e-9:
            best = max(best, _value(samples, combo, margin))
    return best


def test_hand_example():
    # SKU a sells 5 for sure at margin 1 per 1 of money; b sells 3 at margin 4 per 2 of money:
    # b's 3 units (ratio 2) come first, then 2 of a's (ratio 1) spend the rest of 8.
    samples = np.array([[5.0] * 4, [3.0] * 4])
    got = allocate_budget(samples, np.array([6.0, 4.0]), unit_cost=np.array([1.0, 2.0]),
                          unit_margin=np.array([1.0, 4.0]), budget=8)  # fmt: skip
    np.testing.assert_array_equal(got, [2.0, 3.0])
    # a pack of 4 for b: its first pack costs 8 and sells 3 (value 12, ratio 1.5) -> all of it
    got = allocate_budget(samples, np.array([6.0, 4.0]), unit_cost=np.array([1.0, 2.0]),
                          unit_margin=np.array([1.0, 4.0]), budget=8,
                          pack_size=np.array([1.0, 4.0]))  # fmt: skip
    np.testing.assert_array_equal(got, [0.0, 4.0])


def test_enough_money_orders_everything_and_none_orders_nothing():
    samples = np.array([[1.0, 2.0, 3.0], [0.0, 4.0, 8.0]])
    qty = np.array([3.0, 8.0])
    full = allocate_budget(samples, qty, unit_cost=2.0, unit_margin=1.0, budget=1e9)
    np.testing.assert_array_equal(full, qty)
    none = allocate_budget(samples, qty, unit_cost=2.0, unit_margin=1.0, budget=0)
    np.testing.assert_array_equal(none, [0.0, 0.0])


@st.composite
def _problem(draw, equal_cost=False):
    n = draw(st.integers(1, 3))
    m = 5
    samples = np.array(
        [[draw(st.integers(0, 6)) for _ in range(m)] for _ in range(n)], dtype=np.float64
    )
    pack = np.array([draw(st.sampled_from([1.0, 2.0])) for _ in range(n)])
    moq = np.array([draw(st.sampled_from([0.0, 2.0, 3.0])) for _ in range(n)])
    raw = np.array([draw(st.integers(0, 6)) for _ in range(n)], dtype=np.float64)
    mo = np.ceil(moq / pack) * pack
    qty = np.where(raw > 0, np.maximum(np.ceil(raw / pack) * pack, mo), 0.0)
    c = draw(st.sampled_from([0.5, 1.0, 2.5]))
    cost = (
        np.full(n, c)
        if equal_cost
        else np.array([draw(st.sampled_from([0.5, 1.0, 2.5, 4.0])) for _ in range(n)])
    )
    margin = np.array([draw(st.integers(0, 5)) for _ in range(n)], dtype=np.float64)
    budget = float(draw(st.integers(0, 30)))
    return samples, qty, cost, margin, budget, moq, pack


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problem(equal_cost=True))
def test_greedy_equals_brute_force_with_unit_packs_and_equal_costs(p):
    samples, qty, cost, margin, budget, _, _ = p
    ones, zeros = np.ones(len(qty)), np.zeros(len(qty))
    qty = np.ceil(qty)
    got = allocate_budget(samples, qty, unit_cost=cost, unit_margin=margin, budget=budget)
    best = _brute_force(samples, qty, cost, margin, budget, zeros, ones)
    assert _value(samples, got, margin) == pytest.approx(best, abs=1e-9)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problem())
def test_budget_invariants_and_the_greedy_bound(p):
    samples, qty, cost, margin, budget, moq, pack = p
    got = allocate_budget(samples, qty, unit_cost=cost, unit_margin=margin, budget=budget,
                          moq=moq, pack_size=pack)  # fmt: skip
    assert float(np.dot(got, cost)) <= budget + 1e-9  # never over budget
    assert ((got >= 0) & (got <= qty)).all()
    for g, q, m, pk in zip(got, qty, moq, pack, strict=True):
        assert g in _grid(q, m, pk)  # 0, or >= MOQ, on the pack grid (or the whole order)
    # within one step's margin of the optimum (the sorted steps solve the relaxation)
    best = _brute_force(samples, qty, cost, margin, budget, moq, pack)
    steps = [
        (expected_sales(samples[[i]], np.array([b]))[0] - expected_sales(samples[[i]], np.array([a]))[0]) * margin[i]
        for i in range(len(qty)) for a, b in itertools.pairwise(_grid(qty[i], moq[i], pack[i]))
    ]  # fmt: skip
    assert _value(samples, got, margin) >= best - max(steps, default=0.0) - 1e-9
    # pro rata never spends more than its share either
    pr = pro_rata_orders(qty, 0.5, moq=moq, pack_size=pack)
    assert float(np.dot(pr, cost)) <= 0.5 * float(np.dot(qty, cost)) + 1e-9


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "lots"])
def test_bad_budget_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="--budget must be an amount of money >= 0"):
        check_budget(bad)


def test_unit_margins_price_minus_cost_else_the_default_rate():
    tx = pd.DataFrame({"sku": ["a", "b", "c"], "ts": pd.Timestamp("2024-01-01"),
                       "quantity": [1.0, 2.0, 1.0], "price": [10.0, 20.0, 5.0]})  # fmt: skip
    cat = pd.DataFrame({"sku": ["a", "b"], "price": [12.0, np.nan], "cost": [7.0, 15.0]})
    m = unit_margins(tx, ["a", "b", "c"], cat, margin_rate=0.4)
    assert m.to_dict() == pytest.approx({"a": 5.0, "b": 5.0, "c": 2.0})


def test_plan_under_budget(shop, forecast):
    base = replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=14,
                              catalog=shop.catalog)  # fmt: skip
    total = base.summary["order_value"]
    res = replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=14,
                             catalog=shop.catalog, budget=0.5 * total, moq=2, pack_size=2)  # fmt: skip
    p, s = res.plan, res.summary
    assert {"unit_margin", "unconstrained_order_qty"} <= set(p.columns)
    assert s["budget_spent"] <= 0.5 * total + 1e-6
    assert (p["order_qty"] <= p["unconstrained_order_qty"]).all()
    assert ((p["order_qty"] == 0) | ((p["order_qty"] >= 2) & (p["order_qty"] % 2 == 0))).all()
    assert 0 < s["lost_margin"] <= s["lost_margin_pro_rata"]
    assert s["budget_allocation"]["methods"]["priority"]["spent"] <= 0.5 * total + 1e-6
    with pytest.raises(ConfigError, match="pass one"):
        replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=14, budget=10,
                           max_order_value=10)  # fmt: skip
    with pytest.raises(ConfigError, match="--budget"):
        replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=14, budget=-5)
