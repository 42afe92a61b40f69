"""The policy simulator: determinism, no leakage, accounting identities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecomml.exceptions import ConfigError
from ecomml.forecasting import MovingAverageForecaster, panel_from_transactions
from ecomml.inventory import inventory_at_equal_service, simulate_policy, tradeoff_curve

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
