"""The statistics of an A/B test (issue 21, part 1): oracles (scipy, statsmodels),
coverage over simulated experiments, the sequential test under daily peeking, CUPED."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from ecomml.campaigns import (
    adjust_pvalues,
    confidence_sequence_radius,
    cuped_test,
    detectable_effect,
    msprt_statistic,
    ratio_test,
    sample_size,
    sequential_test,
    srm_test,
    welch_from_stats,
    welch_test,
)
from ecomml.exceptions import ConfigError

samples = st.lists(
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False), min_size=3, max_size=40
).filter(lambda xs: np.ptp(xs) > 1e-3)


@settings(max_examples=60, deadline=None)
@given(samples, samples)
def test_welch_equals_scipy(control: list[float], variant: list[float]) -> None:
    r = welch_test(control, variant)
    t = stats.ttest_ind(variant, control, equal_var=False)
    ci = t.confidence_interval(0.95)
    assert r["p_value"] == pytest.approx(t.pvalue, abs=1e-9)
    assert r["diff_low"] == pytest.approx(ci.low, rel=1e-9, abs=1e-9)
    assert r["diff_high"] == pytest.approx(ci.high, rel=1e-9, abs=1e-9)
    assert r["diff"] == pytest.approx(np.mean(variant) - np.mean(control), abs=1e-9)


def test_welch_alpha_and_relative_lift(rng: np.random.Generator) -> None:
    c, v = rng.normal(10, 2, 500), rng.normal(11, 3, 400)
    r90, r95 = welch_test(c, v, alpha=0.10), welch_test(c, v)
    assert r90["diff_high"] - r90["diff_low"] < r95["diff_high"] - r95["diff_low"]
    assert r95["rel_lift"] == pytest.approx(v.mean() / c.mean() - 1)
    assert r95["rel_lift_low"] < r95["rel_lift"] < r95["rel_lift_high"]
    with pytest.raises(ConfigError, match="alpha must be in"):
        welch_test(c, v, alpha=1.5)


def _revenue(rng: np.random.Generator, shape: tuple[int, ...], rate: float) -> np.ndarray:
    """Zero-inflated heavy-tailed revenue: most units buy nothing, buyers spend lognormal."""
    buys = rng.random(shape) < rate
    return np.where(buys, rng.lognormal(3.0, 1.0, shape), 0.0)


def test_interval_coverage_on_zero_inflated_heavy_tailed_revenue() -> None:
    # 2,000 experiments at once; the true difference of means is known in closed form
    rng = np.random.default_rng(7)
    k, n = 2000, 3000
    c, v = _revenue(rng, (k, n), 0.10), _revenue(rng, (k, n), 0.12)
    true_diff = (0.12 - 0.10) * np.exp(3.0 + 0.5)
    r = welch_from_stats(c.mean(1), c.var(1, ddof=1), n, v.mean(1), v.var(1, ddof=1), n)
    coverage = np.mean((r["diff_low"] <= true_diff) & (true_diff <= r["diff_high"]))
    assert 0.94 <= coverage <= 0.96, coverage
    true_rel = 0.12 / 0.10 - 1
    rel_cov = np.mean((r["rel_lift_low"] <= true_rel) & (true_rel <= r["rel_lift_high"]))
    assert 0.93 <= rel_cov <= 0.97, rel_cov
    # the vectorised path is the scalar one
    one = welch_test(c[0], v[0])
    assert one["diff_low"] == pytest.approx(float(r["diff_low"][0]), rel=1e-12)


def _peeking(rng: np.random.Generator, k: int, days: int, per_day: int) -> tuple[float, float]:
    """A/A tests looked at every day: the share ever declared significant at 5 % by the
    fixed-sample t-test and by the mSPRT (vectorised over experiments and days)."""
    shape = (k, days, per_day)
    c, v = _revenue(rng, shape, 0.3), _revenue(rng, shape, 0.3)
    n = per_day * np.arange(1, days + 1)
    s1c, s1v = c.sum(2).cumsum(1), v.sum(2).cumsum(1)
    s2c, s2v = (c**2).sum(2).cumsum(1), (v**2).sum(2).cumsum(1)
    mc, mv = s1c / n, s1v / n
    vc, vv = (s2c - n * mc**2) / (n - 1), (s2v - n * mv**2) / (n - 1)
    r = welch_from_stats(mc, vc, n, mv, vv, n)
    naive = np.mean((r["p_value"] < 0.05).any(axis=1))
    var = vc / n + vv / n
    tau2 = 0.05**2 * (vc + vv) / 2
    p = np.minimum.accumulate(np.minimum(1, 1 / msprt_statistic(mv - mc, var, tau2)), axis=1)
    return float(naive), float(np.mean(p[:, -1] < 0.05))


def test_sequential_test_keeps_its_false_positive_rate_under_daily_peeking() -> None:
    naive, sequential = _peeking(np.random.default_rng(3), k=2000, days=28, per_day=100)
    assert sequential <= 0.05, sequential
    assert naive >= 0.15, naive  # looking every day with a fixed-sample test: ~3x too many


def test_sequential_test_function_matches_the_vectorised_statistic(
    rng: np.random.Generator,
) -> None:
    c, v = rng.normal(0, 1, 700), rng.normal(0.3, 1, 700)
    days_c, days_v = rng.integers(0, 14, 700), rng.integers(0, 14, 700)
    r = sequential_test(c, v, looks_control=days_c, looks_variant=days_v)
    assert r["looks"] == 14
    assert r["p_value"] < 0.05 and r["diff_low"] > 0
    once = sequential_test(c, v)  # one look, at the end
    var = c.var(ddof=1) / 700 + v.var(ddof=1) / 700
    tau2 = 0.05**2 * (c.var(ddof=1) + v.var(ddof=1)) / 2
    lam = msprt_statistic(v.mean() - c.mean(), var, tau2)
    assert once["p_value"] == pytest.approx(min(1, 1 / lam))
    radius = confidence_sequence_radius(var, tau2, 0.05)
    assert once["diff_high"] - once["diff_low"] == pytest.approx(2 * radius)
    # wider than the fixed-sample interval: the price of looking whenever one likes
    fixed = welch_test(c, v)
    assert radius > fixed["diff_high"] - fixed["diff"]


def test_cuped_narrows_the_interval_with_a_correlated_covariate(rng: np.random.Generator) -> None:
    n = 4000
    pre_c, pre_v = rng.gamma(2, 10, n), rng.gamma(2, 10, n)
    y_c = 0.8 * pre_c + rng.normal(0, 8, n)
    y_v = 0.8 * pre_v + rng.normal(0, 8, n) + 1.0
    plain, cuped = welch_test(y_c, y_v), cuped_test(y_c, y_v, pre_c, pre_v)
    assert cuped["diff_high"] - cuped["diff_low"] < 0.6 * (plain["diff_high"] - plain["diff_low"])
    assert cuped["diff_low"] < 1.0 < cuped["diff_high"]
    assert 0.5 < cuped["variance_reduction"] < 0.9
    # several covariates: a useless second one changes little
    two = cuped_test(y_c, y_v, np.c_[pre_c, rng.normal(size=n)], np.c_[pre_v, rng.normal(size=n)])
    assert two["se"] == pytest.approx(cuped["se"], rel=0.01)


def test_ratio_metric_by_the_delta_method(rng: np.random.Generator) -> None:
    # revenue per visit over 2,000 experiments: the delta-method interval covers the truth
    k, n = 1000, 2000
    visits_c, visits_v = rng.poisson(3, (k, n)) + 1, rng.poisson(3, (k, n)) + 1
    rev_c = visits_c * rng.gamma(2, 5, (k, n))
    rev_v = visits_v * rng.gamma(2, 5.5, (k, n))
    hits = [
        (r := ratio_test(rev_c[i], visits_c[i], rev_v[i], visits_v[i]))["diff_low"]
        <= 1.0
        <= r["diff_high"]
        for i in range(k)
    ]
    assert 0.93 <= np.mean(hits) <= 0.97
    r = ratio_test(rev_c[0], visits_c[0], rev_v[0], visits_v[0])
    assert r["mean_control"] == pytest.approx(rev_c[0].sum() / visits_c[0].sum())


def test_holm_and_bh_equal_statsmodels(rng: np.random.Generator) -> None:
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    p = rng.uniform(0, 0.2, 12)
    assert adjust_pvalues(p, "holm") == pytest.approx(multipletests(p, method="holm")[1])
    assert adjust_pvalues(p, "bh") == pytest.approx(multipletests(p, method="fdr_bh")[1])
    assert np.isnan(adjust_pvalues([0.01, np.nan], "holm")[1])
    with pytest.raises(ConfigError, match="holm, bh or none"):
        adjust_pvalues(p, "bonferonni")


def test_sample_ratio_mismatch() -> None:
    assert srm_test([21307, 21387, 21306]) > 0.5
    assert srm_test([10000, 10500]) < 0.001
    assert srm_test([5000, 10000], [1, 2]) > 0.99


def test_planning_equals_statsmodels_and_inverts() -> None:
    power = pytest.importorskip("statsmodels.stats.power")
    n = sample_size(2.0, baseline=50, sd=20)
    ref = power.NormalIndPower().solve_power(effect_size=0.1, alpha=0.05, power=0.8)
    assert n == int(np.ceil(ref)) or abs(n - ref) < 1.5
    assert detectable_effect(n, baseline=50, sd=20) == pytest.approx(2.0, rel=1e-3)
    # CUPED's r2 = 0.5 halves the sample
    assert sample_size(2.0, baseline=50, sd=20, cuped_r2=0.5) == pytest.approx(n / 2, abs=1)
    n_rate = sample_size(0.01, baseline=0.10)
    assert detectable_effect(n_rate, baseline=0.10) == pytest.approx(0.01, rel=1e-3)
    with pytest.raises(ConfigError, match="--baseline-rate must be in"):
        sample_size(0.01, baseline=1.5)
