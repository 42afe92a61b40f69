"""Qini and uplift curves (scikit-uplift's definitions): properties that hold for any data,
and a small case worked by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomml.campaigns.uplift_metrics import (
    auuc,
    qini_auc,
    qini_curve,
    uplift_at_share,
    uplift_auc,
    uplift_curve,
)
from ecomml.exceptions import DataQualityError


def test_a_small_case_worked_by_hand() -> None:
    # best first: (t=1, y=1), (t=0, y=0), (t=1, y=0), (t=0, y=1)
    y, t, s = [1, 0, 0, 1], [1, 0, 1, 0], [4, 3, 2, 1]
    x, q = qini_curve(y, t, s)
    np.testing.assert_allclose(x, [0, 1, 2, 3, 4])
    # treated outcome - control outcome x treated / controls, among the first k
    np.testing.assert_allclose(q, [0, 1, 1 - 0 * 1 / 1, 1 - 0 * 2 / 1, 1 - 1 * 2 / 2])
    _, u = uplift_curve(y, t, s)
    np.testing.assert_allclose(u, [0, 1, (1 - 0) * 2, (0.5 - 0) * 3, (0.5 - 0.5) * 4])


def test_ties_are_one_step() -> None:
    x, _ = qini_curve([1, 0, 1, 0], [1, 0, 1, 0], [1, 1, 0, 0])
    np.testing.assert_allclose(x, [0, 2, 4])


binary = st.integers(0, 1)


@st.composite
def campaigns(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(4, 60))
    t = np.array(draw(st.lists(binary, min_size=n, max_size=n)))
    t[:2] = [0, 1]  # both arms present
    y = np.array(draw(st.lists(binary, min_size=n, max_size=n)))
    s = np.array(draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n)), dtype=float)
    return y, t, s


@settings(max_examples=100, deadline=None)
@given(campaigns())
def test_curves_end_at_the_campaign_effect_and_ignore_monotone_rescaling(c) -> None:
    y, t, s = c
    _, q = qini_curve(y, t, s)
    n_t, n_c = t.sum(), (1 - t).sum()
    assert q[-1] == pytest.approx(y[t == 1].sum() - y[t == 0].sum() * n_t / n_c)
    _, u = uplift_curve(y, t, s)
    assert u[-1] == pytest.approx((y[t == 1].mean() - y[t == 0].mean()) * len(y))
    assert auuc(y, t, 3 * s + 7) == pytest.approx(auuc(y, t, s))
    assert auuc(y, t, np.zeros(len(y))) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(campaigns())
def test_curves_equal_a_direct_count_at_every_threshold(c) -> None:
    y, t, s = c
    x, q = qini_curve(y, t, s)
    _, u = uplift_curve(y, t, s)
    for k, (n, qv, uv) in enumerate(zip(x[1:], q[1:], u[1:], strict=True)):
        top = s >= np.sort(np.unique(s))[::-1][k]  # everyone at or above the k-th score
        assert top.sum() == n
        yt, yc = y[top & (t == 1)], y[top & (t == 0)]
        ratio = len(yt) / len(yc) if len(yc) else 0.0
        assert qv == pytest.approx(yt.sum() - yc.sum() * ratio)
        mt = yt.mean() if len(yt) else 0.0
        mc = yc.mean() if len(yc) else 0.0
        assert uv == pytest.approx((mt - mc) * n)


def test_a_good_score_beats_random_on_a_real_effect() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    t = rng.integers(0, 2, n)
    gain = rng.random(n)
    y = (rng.random(n) < 0.1 + 0.3 * gain * t).astype(int)
    noise = rng.random(n)
    assert qini_auc(y, t, gain) > 0.1 > abs(qini_auc(y, t, noise))
    assert uplift_auc(y, t, gain) > 0.1 > abs(uplift_auc(y, t, noise))
    assert auuc(y, t, gain) > 0.01 > abs(auuc(y, t, noise))
    assert uplift_at_share(y, t, gain, 0.3) > uplift_at_share(y, t, -gain, 0.3)


def test_bad_input_names_the_problem() -> None:
    with pytest.raises(DataQualityError, match="differ in length"):
        auuc([1, 0], [1, 0, 1], [1, 2])
    with pytest.raises(DataQualityError, match="0 .control. or 1"):
        auuc([1, 0], [1, 2], [1, 2])
    with pytest.raises(DataQualityError, match="0/1 outcome"):
        qini_auc([1.5, 0], [1, 0], [1, 2])
