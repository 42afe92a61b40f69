"""Partial pooling: the random-effects mean and the shrinkage keep the properties the
elasticity intervals rely on (property-based)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomml.pricing.pooling import dersimonian_laird, pool

finite = st.floats(-5, 5, allow_nan=False)
ses = st.floats(0.05, 3.0, allow_nan=False)


@given(st.lists(st.tuples(finite, ses), min_size=2, max_size=30))
@settings(max_examples=60, deadline=None)
def test_dl_mean_is_inside_the_estimates_and_tau_nonnegative(data: list) -> None:
    b, se = map(np.array, zip(*data, strict=True))
    mean, var, tau2 = dersimonian_laird(b, se)
    assert b.min() - 1e-9 <= mean <= b.max() + 1e-9
    assert tau2 >= 0 and var > 0


def test_dl_finds_no_spread_when_the_estimates_agree() -> None:
    mean, var, tau2 = dersimonian_laird(np.full(20, -1.3), np.full(20, 0.4))
    assert mean == -1.3 and tau2 == 0.0 and np.isclose(var, 0.16 / 20)


@given(st.lists(st.tuples(finite, ses, st.integers(0, 3), st.booleans()), min_size=1, max_size=40))
@settings(max_examples=60, deadline=None)
def test_pooled_estimate_lies_between_own_and_group(data: list) -> None:
    b, se, g, own = map(np.array, zip(*data, strict=True))
    p = pool(b, se, g.astype(str), own)
    if not own.any():
        assert np.isnan(p.mean).all()
        return
    means = dict(zip(p.groups["group"], p.groups["mean"], strict=True))
    for i in np.flatnonzero(own):
        lo, hi = sorted((b[i], means[str(g[i])]))
        assert lo - 1e-9 <= p.mean[i] <= hi + 1e-9
        assert p.sd[i] <= se[i] + 1e-12  # pooling never makes a SKU less certain
        assert p.source[i] == "unit"
    for i in np.flatnonzero(~own):
        assert p.source[i] in ("group", "all")
        assert p.sd[i] >= p.tau - 1e-12


def test_a_precise_estimate_is_kept_and_a_noisy_one_is_shrunk() -> None:
    b = np.array([-2.0, -1.0, -1.2, -0.8, 3.0])
    se = np.array([0.01, 0.2, 0.2, 0.2, 5.0])
    p = pool(b, se, np.zeros(5, dtype=int).astype(str), np.ones(5, dtype=bool))
    assert abs(p.mean[0] - -2.0) < 0.01
    assert p.mean[4] < 0  # a wild, noisy +3 is pulled to the group's negative mean


def test_units_without_an_estimate_get_the_group_or_the_shop() -> None:
    b = np.array([-1.0, -1.4, np.nan, np.nan])
    se = np.array([0.2, 0.2, np.nan, np.nan])
    p = pool(b, se, np.array(["a", "a", "a", "b"]), np.array([True, True, False, False]))
    assert list(p.source) == ["unit", "unit", "group", "all"]
    assert np.isclose(p.mean[2], p.groups.set_index("group").loc["a", "mean"])
    assert np.isclose(p.mean[3], p.shop_mean)
