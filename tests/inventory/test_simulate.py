"""The policy simulator: determinism, no leakage, accounting identities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

from ecomml.exceptions import ConfigError
from ecomml.forecasting import MovingAverageForecaster, panel_from_transactions
from ecomml.inventory import inventory_at_equal_service, simulate_policy, tradeoff_curve
from ecomml.metrics.forecast import QUANTILE_COLUMNS

START, END = "2023-08-07", "2023-10-02"


@pytest.fixture(scope="module")
def panel(shop):
    return panel_from_transactions(shop.transactions, END, "W")


class SpyForecaster(MovingAverageForecaster):
    """Records the last period it was shown at fit and predict time."""

    seen: list = []

    def fit(self, df, y=None, **kw):
        SpyForecaster.seen.append(("fit", pd.Timestamp(df["ds"].max())))
        return super().fit(df, **kw)

    def predict(self, df, **kw):
        SpyForecaster.seen.append(
            ("predict", pd.Timestamp(df["ds"].max()), pd.Timestamp(kw["start"]))
        )
        return super().predict(df, **kw)


def test_forecast_policy_uses_only_the_past(panel):
    SpyForecaster.seen = []
    res = simulate_policy(panel, START, END, policy="forecast", lead_time=7, refit_every=3,
                          forecaster=SpyForecaster(freq="W", horizon=4))  # fmt: skip
    fits = [s for s in SpyForecaster.seen if s[0] == "fit"]
    preds = [s for s in SpyForecaster.seen if s[0] == "predict"]
    assert len(preds) == res.summary["periods"]
    assert len(fits) == res.summary["refits"] == int(np.ceil(res.summary["periods"] / 3))
    for _, last, start in preds:
        assert last < start  # history strictly before each review
    dates = sorted({p[2] for p in preds})
    for (_, last), refit in zip(fits, dates[::3], strict=True):
        assert last < refit


def test_simulation_is_deterministic_and_consistent(panel):
    kw = dict(policy="forecast", lead_time=10, lead_time_sd=4, random_state=3,  # noqa: C408
              forecaster=MovingAverageForecaster(freq="W", horizon=6))  # fmt: skip
    a = simulate_policy(panel, START, END, **kw)
    b = simulate_policy(panel, START, END, **kw)
    pd.testing.assert_frame_equal(a.per_sku, b.per_sku)
    t = a.traces
    assert (t["sales"] <= t["demand"] + 1e-9).all()
    assert (t["on_hand_end"] >= -1e-9).all()  # lost sales: never negative
    ps = a.per_sku
    assert ps["fill_rate"].between(0, 1).all()
    assert a.summary["fill_rate"] == pytest.approx(ps["sales"].sum() / ps["demand"].sum())
    assert a.per_class["skus"].sum() == len(ps)


def test_backorders_can_go_negative_and_classic_runs(panel):
    res = simulate_policy(panel, START, END, policy="classic", lead_time=14, service_level=0.6,
                          backorder=True)  # fmt: skip
    assert res.summary["refits"] == 0
    assert (res.traces["on_hand_end"] < 0).any()


def test_constant_demand_is_always_served():
    ds = pd.date_range("2023-01-02", periods=30, freq="7D")
    panel = pd.DataFrame({"sku": "a", "ds": ds, "y": 4.0})
    res = simulate_policy(panel, ds[20], ds[29], policy="classic", lead_time=14)
    assert res.summary["fill_rate"] == 1.0
    assert res.summary["stockout_periods"] == 0


def test_tradeoff_curve_and_comparison(panel):
    fc = MovingAverageForecaster(freq="W", horizon=4)
    cache = {}
    curve = tradeoff_curve(panel, START, END, service_levels=(0.6, 0.8, 0.95), lead_time=7,
                           forecaster=fc, forecast_cache=cache)  # fmt: skip
    assert set(curve["policy"]) == {"forecast", "classic"} and len(curve) == 6
    for _, g in curve.groupby("policy"):
        assert g.sort_values("service_level")["avg_value"].is_monotonic_increasing
    cmp_ = inventory_at_equal_service(curve)
    assert {"fill_rate", "forecast_value", "classic_value", "saving"} <= set(cmp_.columns)


def test_bad_simulation_input(panel):
    with pytest.raises(ConfigError, match="lead-time"):
        simulate_policy(panel, START, END, policy="classic", lead_time=0)
    with pytest.raises(ConfigError, match="between 0 and 1"):
        simulate_policy(panel, START, END, policy="classic", lead_time=7, service_level=1.1)
    with pytest.raises(ConfigError, match="longer than the history"):
        simulate_policy(panel, START, END, policy="classic", lead_time=4000)


def test_calibrate_service_level():
    from ecomml.inventory import calibrate_service_level

    curve = pd.DataFrame({"policy": "forecast", "service_level": [0.8, 0.9, 0.95],
                          "fill_rate": [0.75, 0.85, 0.9]})  # fmt: skip
    got = calibrate_service_level(curve, [0.85, 0.8, 0.92, 0.99])
    assert got[0.85] == pytest.approx(0.9)
    assert got[0.8] == pytest.approx(0.85)
    assert 0.95 < got[0.92] <= 0.999 and got[0.99] == 0.999
    with pytest.raises(ConfigError):
        calibrate_service_level(curve.iloc[:1], [0.9])


class FlatForecaster(BaseEstimator):
    """Forecasts ``mean`` per period with no spread, so levels are known by hand."""

    def __init__(self, mean: float = 4.0, freq: str = "W", horizon: int = 20):
        self.mean = mean
        self.freq = freq
        self.horizon = horizon

    def fit(self, df, y=None, **kw):
        return self

    def predict(self, df, start=None, **kw):
        step = pd.Timedelta(days=7 if self.freq == "W" else 1)
        ds = pd.Timestamp(start) + step * np.arange(self.horizon)
        skus = sorted(df["sku"].astype(str).unique())
        out = pd.DataFrame({"sku": np.repeat(skus, len(ds)), "ds": np.tile(ds, len(skus))})
        out["mean"] = float(self.mean)
        for c in QUANTILE_COLUMNS:
            out[c] = float(self.mean)
        return out


def _weekly(values, start="2024-01-01"):
    ds = pd.date_range(start, periods=len(values), freq="7D")
    return pd.DataFrame({"sku": "a", "ds": ds, "y": np.asarray(values, dtype=np.float64)})


def test_order_arrives_after_the_lead_time_by_hand():
    # Issue 20: the arrival period, worked out by hand. Forecast 4 per week, no spread,
    # lead time 14 days = 2 weeks, weekly review -> S = 4 * (2 + 1) = 12. Warm-up weeks
    # -2, -1 (demand 4 each): -2 orders nothing (12 on hand, 8 left); -1 orders 4 (due at
    # the start of week 1), 4 left. Week 0: 4 on hand + 4 in transit -> orders 4, due at
    # the start of week 2 (placed at the review of week t, arrives at the start of t + 2).
    panel = _weekly([4.0] * 10 + [6, 0, 5, 4, 8, 3])
    start, end = panel["ds"].iloc[10], panel["ds"].iloc[15] + pd.Timedelta(days=7)
    res = simulate_policy(panel, start, end, policy="forecast", lead_time=14, refit_every=1,
                          forecaster=FlatForecaster(4.0), service_level=0.95)  # fmt: skip
    t = res.traces
    assert t["order_up_to"].tolist() == [12.0] * 6
    assert t["order_qty"].tolist() == [4, 4, 0, 5, 4, 3]
    assert t["on_hand_start"].tolist() == [4, 4, 8, 7, 3, 5]
    assert t["sales"].tolist() == [4, 0, 5, 4, 3, 3]
    # every arrival is the order placed exactly k = L / 7 reviews before
    arrived = t["on_hand_start"].to_numpy()[2:] - t["on_hand_end"].to_numpy()[1:-1]
    np.testing.assert_array_equal(arrived, t["order_qty"].to_numpy()[:-2])


@pytest.mark.parametrize("lead_weeks", [1, 2])
def test_arrivals_are_the_orders_of_k_reviews_before(panel, lead_weeks):
    res = simulate_policy(panel, START, END, policy="classic", lead_time=7 * lead_weeks)
    for _, g in res.traces.groupby("sku"):
        oh0, oh1, q = (g[c].to_numpy() for c in ("on_hand_start", "on_hand_end", "order_qty"))
        k = lead_weeks
        np.testing.assert_allclose(oh0[k:] - oh1[k - 1 : -1], q[:-k])


def test_a_week_of_lead_time_is_seven_days_in_a_daily_replay_too():
    # Issue 20: the same demand replayed weekly (review every week) and daily (review every
    # 7 days), lead time 7 days, level 8 units: orders arrive at the same instants, so the
    # weekly sales (lost sales) and orders agree exactly.
    rng = np.random.default_rng(0)
    days = pd.date_range("2024-01-01", periods=7 * 16, freq="D")  # a Monday
    daily = pd.DataFrame({"sku": "a", "ds": days, "y": rng.poisson(0.65, len(days)).astype(float)})
    weekly = daily.groupby(pd.Grouper(key="ds", freq="W-MON", label="left", closed="left"))["y"]
    weekly = weekly.sum().reset_index().assign(sku="a")
    start, end = days[7 * 10], days[-1] + pd.Timedelta(days=1)
    kw = dict(policy="forecast", lead_time=7, refit_every=1, service_level=0.95)  # noqa: C408
    w = simulate_policy(weekly, start, end, freq="W", forecaster=FlatForecaster(4.0), **kw)
    d = simulate_policy(daily, start, end, freq="D", review_period=7,
                        forecaster=FlatForecaster(4.0 / 7, freq="D", horizon=20), **kw)  # fmt: skip
    assert set(w.traces["order_up_to"]) == set(d.traces["order_up_to"]) == {8.0}
    dt = d.traces.assign(week=lambda x: x["ds"].dt.to_period("W-SUN").dt.start_time)
    by_week = dt.groupby("week")[["sales", "order_qty"]].sum()
    np.testing.assert_array_equal(by_week["sales"].to_numpy(), w.traces["sales"].to_numpy())
    np.testing.assert_array_equal(by_week["order_qty"].to_numpy(), w.traces["order_qty"].to_numpy())
    assert w.summary["fill_rate"] == pytest.approx(d.summary["fill_rate"])
