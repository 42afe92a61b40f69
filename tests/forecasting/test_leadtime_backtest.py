"""Lead-time demand, rolling-origin backtests and plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import poisson

from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.forecasting import (
    MovingAverageForecaster,
    backtest,
    lead_time_demand,
    quantile_calibration,
)
from ecomml.forecasting._base import nb_quantiles
from ecomml.forecasting.plots import (
    plot_error_by_class,
    plot_fan_charts,
    plot_quantile_coverage,
)
from tests.forecasting.conftest import toy_panel

Q = ["q05", "q10", "q25", "q50", "q75", "q90", "q95"]


def _nb_forecast(mu: list[float], size: float) -> pd.DataFrame:
    ds = pd.date_range("2024-01-01", periods=len(mu), freq="7D")
    q = nb_quantiles(np.asarray(mu), np.full(len(mu), size))
    f = pd.DataFrame({"sku": "a", "ds": ds, "mean": mu, "nb_size": size})
    for j, c in enumerate(Q):
        f[c] = q[:, j]
    return f


def test_poisson_lead_time_demand_matches_the_convolution() -> None:
    f = _nb_forecast([2.0, 3.0, 5.0, 7.0], size=1e6)  # size -> inf: Poisson
    ltd = lead_time_demand(f, lead_time=2, review_period=1, n_samples=20_000)
    exact = poisson.ppf([0.05, 0.5, 0.95], 10.0)
    assert ltd["mean"].iloc[0] == pytest.approx(10.0)
    got = ltd[["q05", "q50", "q95"]].iloc[0].to_numpy()
    np.testing.assert_allclose(got, exact, atol=1.0)


def test_lead_time_quantiles_are_not_the_sum_of_period_quantiles() -> None:
    f = _nb_forecast([4.0] * 6, size=2.0)
    ltd = lead_time_demand(f, lead_time=6)
    assert ltd["q95"].iloc[0] < f["q95"].sum()
    assert ltd["q05"].iloc[0] > f["q05"].sum()
    # without nb_size the quantiles themselves are sampled (inverse CDF)
    ltd2 = lead_time_demand(f.drop(columns="nb_size"), lead_time=6)
    assert ltd2["q50"].iloc[0] == pytest.approx(ltd["q50"].iloc[0], rel=0.25)
    assert (np.diff(ltd2[Q].to_numpy(), axis=1) >= 0).all()


def test_lead_time_errors() -> None:
    f = _nb_forecast([1.0, 1.0], size=1.0)
    with pytest.raises(DataQualityError, match="fewer than"):
        lead_time_demand(f, lead_time=3)
    with pytest.raises(ConfigError):
        lead_time_demand(f, lead_time=0, review_period=0)


def test_backtest_folds_and_metrics() -> None:
    panel = toy_panel(n_sku=8, n_weeks=40)
    res = backtest(MovingAverageForecaster(horizon=4), panel, folds=3)
    assert sorted(res.forecasts["fold"].unique()) == [1, 2, 3]
    origins = sorted(res.forecasts["origin"].unique())
    assert pd.Timestamp(origins[-1]) == panel["ds"].max() - pd.Timedelta(weeks=3)
    assert (np.diff(origins).astype("timedelta64[D]").astype(int) == 28).all()
    s = res.summary()
    assert {"all", "pattern", "abc"} <= set(s["group"])
    assert 0 < s.iloc[0]["wape"] < 2
    cal = quantile_calibration(res.forecasts)
    assert cal["observed"].is_monotonic_increasing
    for fig in (
        plot_fan_charts(panel, res.forecasts, n=3),
        plot_error_by_class(s),
        plot_quantile_coverage(cal),
    ):
        assert fig.axes


def test_backtest_refuses_too_many_folds() -> None:
    with pytest.raises(DataQualityError, match="fewer --folds"):
        backtest(MovingAverageForecaster(horizon=8), toy_panel(n_weeks=20), folds=5)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0, 500, allow_nan=False), min_size=1, max_size=20),
    st.floats(0.01, 1000),
)
def test_nb_quantiles_are_monotone_in_level_and_mean(mu: list[float], size: float) -> None:
    m = np.sort(np.asarray(mu))
    q = nb_quantiles(m, np.full(len(m), size))
    assert (np.diff(q, axis=1) >= 0).all()
    assert (np.diff(q, axis=0) >= 0).all()
    assert (q >= 0).all() and np.all(q == np.round(q))
