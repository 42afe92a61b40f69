"""Exact lead-time demand pmfs and the levels set from them (issue 20, item 4)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from ecomml.exceptions import ConfigError
from ecomml.inventory import forecast_levels
from ecomml.inventory.distributions import nb_bucket_pmf, shortfall

from .conftest import nb_forecast


@settings(max_examples=40, deadline=None)
@given(st.floats(0.0, 200.0), st.floats(0.05, 1e4), st.integers(1, 5))
def test_bucket_pmf_is_a_distribution_with_the_nb_mean(mean, size, unit) -> None:
    grid = (
        int(
            max(
                np.ceil(stats.nbinom.ppf(0.99999, size, size / (size + max(mean, 1e-12))) / unit), 1
            )
        )
        + 2
    )
    pmf = nb_bucket_pmf(np.array([mean]), np.array([size]), np.array([float(unit)]), grid)[0]
    assert (pmf >= 0).all() and pmf.sum() == pytest.approx(1.0, abs=1e-9)
    m = float((pmf * np.arange(grid)).sum() * unit)
    assert mean - 1e-3 * (1 + mean) <= m <= mean + unit + 1e-3 * (1 + mean)  # rounded up


def test_shortfall_is_the_expected_excess() -> None:
    pmf = np.array([[0.2, 0.5, 0.3, 0.0]])
    d = np.arange(4)
    want = [float((pmf[0] * np.maximum(d - j, 0)).sum()) for j in range(4)]
    np.testing.assert_allclose(shortfall(pmf)[0], want)


def test_exact_cycle_levels_are_poisson_quantiles() -> None:
    fc = nb_forecast(["a", "b", "c"], [0.3, 2.0, 9.0], size=1e8)  # Poisson
    out = forecast_levels(fc, lead_time=14, service_level=0.95, target="cycle")
    want = stats.poisson.ppf(0.95, 3 * np.array([0.3, 2.0, 9.0]))
    np.testing.assert_array_equal(out["order_up_to"].to_numpy(), want)
    np.testing.assert_allclose(out["expected_cycle_service"],
                               stats.poisson.cdf(want, 3 * np.array([0.3, 2.0, 9.0])))  # fmt: skip


@pytest.mark.parametrize(("target", "lead", "sd"), [("fill", 14, 0.0), ("fill", 10, 3.0),
                                                    ("cycle", 10, 3.0)])  # fmt: skip
def test_exact_and_sampled_levels_agree(target, lead, sd) -> None:
    rng = np.random.default_rng(1)
    means = rng.gamma(0.8, 4.0, 60)
    fc = nb_forecast([f"S{i}" for i in range(60)], means, size=2.0)
    kw = {"lead_time": lead, "lead_time_sd": sd, "service_level": 0.95, "target": target}
    exact = forecast_levels(fc, **kw)
    sampled = forecast_levels(fc, method="sample", n_samples=40_000, **kw)
    assert list(exact["sku"]) == list(sampled["sku"])
    diff = np.abs(exact["order_up_to"] - sampled["order_up_to"]).to_numpy()
    assert (diff <= np.maximum(1.0, 0.04 * sampled["order_up_to"].to_numpy())).all()
    assert np.abs(exact["expected_fill_rate"] - sampled["expected_fill_rate"]).median() < 0.01
    np.testing.assert_allclose(exact["lead_time_demand_mean"], sampled["lead_time_demand_mean"],
                               rtol=0.05, atol=0.05)  # fmt: skip


def test_exact_needs_nb_and_periodic_review() -> None:
    fc = nb_forecast(["a"], [2.0])
    with pytest.raises(ConfigError, match="nb_size"):
        forecast_levels(fc.drop(columns="nb_size"), lead_time=7, method="exact")
    with pytest.raises(ConfigError, match="periodic"):
        forecast_levels(fc, lead_time=7, method="exact", review="continuous")
    with pytest.raises(ConfigError, match="auto, exact or sample"):
        forecast_levels(fc, lead_time=7, method="mc")
