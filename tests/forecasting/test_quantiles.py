"""Negative binomial quantiles: the fast walk equals scipy's inversion exactly."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import nbinom

from ecomml.forecasting._base import QUANTILES, _nb_ppf, nb_quantiles


def _scipy(mu: np.ndarray, size: np.ndarray) -> np.ndarray:
    size = np.clip(size, 1e-3, 1e6)
    p = size / (size + np.maximum(mu, 1e-12))
    out = nbinom.ppf(QUANTILES[None, :], size[:, None], p[:, None])
    return np.nan_to_num(np.where(mu[:, None] <= 1e-9, 0.0, out), nan=0.0)


def test_equals_scipy_over_the_whole_range() -> None:
    """Means from 0.001 to 3,000 and sizes from 0.001 to 1e6 (both walks: the fast one
    for small quantiles, scipy's beyond ``max_k``)."""
    rng = np.random.default_rng(7)
    n = 50_000
    mu = np.exp(rng.uniform(np.log(1e-3), np.log(3000), n))
    size = np.exp(rng.uniform(np.log(1e-3), np.log(1e6), n))
    np.testing.assert_array_equal(nb_quantiles(mu, size), _scipy(mu, size))


@settings(max_examples=60, deadline=None)
@given(
    mu=st.lists(st.floats(0.0, 500.0), min_size=1, max_size=30),
    size=st.floats(1e-3, 1e6),
    max_k=st.integers(0, 40),
)
def test_equals_scipy_property(mu: list[float], size: float, max_k: int) -> None:
    m = np.asarray(mu)
    s = np.full(m.shape, size)
    p = s / (s + np.maximum(m, 1e-12))
    got = _nb_ppf(QUANTILES, s, p, max_k=max_k)
    want = nbinom.ppf(QUANTILES[None, :], s[:, None], p[:, None])
    np.testing.assert_array_equal(got, want)


def test_zero_and_missing_means_give_zero() -> None:
    out = nb_quantiles(np.array([0.0, np.nan, 1e-12]), np.array([1.0, 1.0, 1.0]))
    assert (out == 0).all()
