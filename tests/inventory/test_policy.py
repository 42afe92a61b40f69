"""Stock levels from lead-time demand distributions, the classic baseline, rounding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.inventory import classic_levels, forecast_levels, lead_time_periods, round_orders

from .conftest import nb_forecast


def test_lead_time_periods_mixing():
    k, p = lead_time_periods(10, period_days=7)  # 1.43 weeks
    assert list(k) == [1, 2]
    assert p == pytest.approx([4 / 7, 3 / 7])
    k, p = lead_time_periods(14, period_days=7)
    assert list(k) == [2] and p == pytest.approx([1.0])
    k, p = lead_time_periods(14, 7, period_days=7)
    assert p.sum() == pytest.approx(1.0) and k.min() >= 0 and len(k) > 2
    assert (k * p).sum() == pytest.approx(2.0, abs=0.15)
    k, p = lead_time_periods([7, 7, 14], period_days=7)
    assert dict(zip(k, p, strict=True)) == pytest.approx({1: 2 / 3, 2: 1 / 3})
    for bad in (0, -1):
        with pytest.raises(ConfigError, match="lead-time"):
            lead_time_periods(bad)
    with pytest.raises(ConfigError):
        lead_time_periods(7, -1)


def test_cycle_service_level_matches_poisson_quantile():
    fc = nb_forecast(["a", "b"], [3.0, 20.0])
    lv = forecast_levels(fc, lead_time=14, review_period=1, service_level=0.9, target="cycle",
                         n_samples=20000).set_index("sku")  # fmt: skip
    for sku, mu in (("a", 3.0), ("b", 20.0)):
        exact = stats.poisson.ppf(0.9, 3 * mu)  # lead time 2 weeks + 1 week review
        assert abs(lv.loc[sku, "order_up_to"] - exact) <= 1
        assert lv.loc[sku, "lead_time_demand_mean"] == pytest.approx(3 * mu, rel=0.03)
        assert lv.loc[sku, "expected_cycle_service"] >= 0.9 - 0.01


def test_fill_rate_target_is_met_and_uses_less_stock_than_high_csl():
    fc = nb_forecast(["a"], [5.0], size=2.0)
    lv = forecast_levels(fc, lead_time=7, service_level=0.95, target="fill", n_samples=20000)
    assert lv["expected_fill_rate"].iloc[0] >= 0.95
    lower = forecast_levels(fc, lead_time=7, service_level=0.95, target="fill",
                            n_samples=20000).iloc[0]  # fmt: skip
    assert lower["order_up_to"] == lv["order_up_to"].iloc[0]  # same seed -> same answer


def test_stochastic_lead_time_raises_the_level():
    fc = nb_forecast(["a"], [10.0], periods=8)
    fixed = forecast_levels(fc, lead_time=14, service_level=0.95, target="cycle")
    vary = forecast_levels(fc, lead_time=14, lead_time_sd=7, service_level=0.95, target="cycle")
    assert vary["order_up_to"].iloc[0] > fixed["order_up_to"].iloc[0]


def test_quantile_only_forecast_and_continuous_review():
    fc = nb_forecast(["a"], [8.0]).drop(columns="nb_size")
    lv = forecast_levels(fc, lead_time=7, service_level=0.9, review="continuous", target="cycle")
    r = lv.iloc[0]
    assert r["order_up_to"] == r["reorder_point"] + r["cycle_qty"]
    assert abs(r["reorder_point"] - stats.poisson.ppf(0.9, 8.0)) <= 2


def test_bad_forecast_inputs():
    fc = nb_forecast(["a", "b"], [3.0, 4.0], periods=2)
    with pytest.raises(DataQualityError, match="fewer than"):
        forecast_levels(fc, lead_time=14)  # needs 3 periods
    with pytest.raises(ConfigError, match="between 0 and 1"):
        forecast_levels(fc, lead_time=7, service_level=1.0)
    fc.loc[0, "mean"] = np.nan
    with pytest.raises(DataQualityError, match="'a'"):
        forecast_levels(fc, lead_time=7)


@settings(max_examples=15, deadline=None)
@given(st.floats(0.5, 30.0), st.floats(0.6, 0.99), st.floats(0.6, 0.99))
def test_levels_are_monotone_in_the_target(mu, t1, t2):
    fc = nb_forecast(["a"], [mu], periods=3, size=3.0)
    lo, hi = sorted((t1, t2))
    a = forecast_levels(fc, lead_time=7, service_level=lo, n_samples=2000, random_state=1)
    b = forecast_levels(fc, lead_time=7, service_level=hi, n_samples=2000, random_state=1)
    assert a["order_up_to"].iloc[0] <= b["order_up_to"].iloc[0]
    assert b["expected_fill_rate"].iloc[0] >= hi - 1e-9 or b["order_up_to"].iloc[0] == 0


def test_classic_levels_formula():
    hist = pd.DataFrame({"sku": "a", "ds": pd.date_range("2023-01-02", periods=10, freq="7D"),
                         "y": [8.0, 12.0] * 5})  # fmt: skip
    lv = classic_levels(hist, lead_time=14, service_level=0.95, target="cycle").iloc[0]
    mu, sd = 10.0, np.std([8.0, 12.0] * 5, ddof=1)
    expect = np.ceil(3 * mu + stats.norm.ppf(0.95) * sd * np.sqrt(3))
    assert lv["order_up_to"] == expect
    flat = hist.assign(y=5.0)
    assert classic_levels(flat, lead_time=7, target="fill").iloc[0]["order_up_to"] == 10.0


def test_round_orders():
    q = round_orders(np.array([0.0, 1.0, 7.0, 13.0]), moq=10, pack_size=6)
    assert list(q) == [0.0, 12.0, 12.0, 18.0]
    q = round_orders(np.array([5.0, 5.0, 5.0]), unit_cost=10.0, max_order_value=100,
                     priority=np.array([2, 0, 1]))  # fmt: skip
    assert list(q) == [0.0, 5.0, 5.0]
    with pytest.raises(ConfigError):
        round_orders(np.array([1.0]), pack_size=0)
