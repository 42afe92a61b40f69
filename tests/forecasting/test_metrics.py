"""ecomml.metrics.forecast: known values and hypothesis properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.metrics.forecast import (
    abc_classes,
    bias,
    coverage,
    evaluate_forecast,
    mase,
    naive_scale,
    pinball_loss,
    rmsse,
    scaled_pinball,
    share_above,
    share_below,
    wape,
)

vals = st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=50)


def test_known_values() -> None:
    y, f = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 1.0])
    assert wape(y, f) == pytest.approx(3 / 6)
    assert bias(y, f) == pytest.approx((5 - 6) / 6)
    # q=0.9: under-forecast (y - f = 2) costs 0.9*2, over-forecast (-1) costs 0.1
    assert pinball_loss(y, f, 0.9) == pytest.approx((0.1 * 1 + 0 + 0.9 * 2) / 3)
    assert coverage(y, [0, 2, 4], [1, 2, 5]) == pytest.approx(2 / 3)
    assert share_below(y, [2, 2, 2]) == pytest.approx(1 / 3)
    assert share_above(y, [2, 2, 2]) == pytest.approx(1 / 3)


def test_scaled_metrics_use_per_series_naive_error() -> None:
    hist = pd.DataFrame({"sku": ["a"] * 4 + ["b"] * 4, "ds": list(range(4)) * 2,
                         "y": [1, 3, 1, 3, 5, 5, 5, 5]})  # fmt: skip
    scale = naive_scale(hist)
    assert scale["a"] == pytest.approx(2.0)
    assert scale["b"] == 0.0  # constant series: left out of the average
    ids = np.array(["a", "a", "b"])
    assert mase(ids, [1, 1, 5], [2, 3, 9], scale) == pytest.approx(1.5 / 2)
    sq = naive_scale(hist, squared=True)
    assert rmsse(ids, [1, 1, 5], [3, 3, 5], sq) == pytest.approx(np.sqrt(4 / 4))
    assert scaled_pinball(ids, [1, 1, 5], {0.5: [1, 1, 5]}, scale) == 0.0


def test_shape_mismatch_and_bad_level_are_refused() -> None:
    with pytest.raises(DataQualityError, match="y_pred has 2"):
        wape([1, 2, 3], [1, 2])
    with pytest.raises(ConfigError, match="in \\(0, 1\\)"):  # a bad parameter (issue 16)
        pinball_loss([1], [1], 1.5)


@settings(max_examples=60, deadline=None)
@given(vals, st.floats(0.01, 0.99))
def test_pinball_is_zero_at_truth_and_nonnegative(y: list[float], q: float) -> None:
    assert pinball_loss(y, y, q) == 0.0
    assert pinball_loss(y, np.asarray(y) + 1.0, q) >= 0.0


@settings(max_examples=60, deadline=None)
@given(vals, st.floats(0.1, 10))
def test_wape_and_bias_are_scale_invariant(y: list[float], c: float) -> None:
    y_arr = np.asarray(y) + 1.0
    f = y_arr[::-1]
    assert wape(y_arr * c, f * c) == pytest.approx(wape(y_arr, f))
    assert bias(y_arr * c, f * c) == pytest.approx(bias(y_arr, f))


@settings(max_examples=40, deadline=None)
@given(vals)
def test_pinball_of_constant_minimised_near_empirical_quantile(y: list[float]) -> None:
    y_arr = np.asarray(y)
    best = np.quantile(y_arr, 0.9, method="inverted_cdf")
    for other in (best - 1.0, best + 1.0, y_arr.mean()):
        assert (
            pinball_loss(y_arr, np.full_like(y_arr, best), 0.9)
            <= pinball_loss(y_arr, np.full_like(y_arr, other), 0.9) + 1e-9
        )


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=30))
def test_abc_classes_cover_everything(v: list[float]) -> None:
    s = pd.Series(v, index=[f"k{i}" for i in range(len(v))])
    cls = abc_classes(s)
    assert set(cls.unique()) <= {"A", "B", "C"}
    if s.sum() > 0:
        assert (cls == "A").any()  # the top item starts the A class


def test_evaluate_forecast_groups_and_drops_missing_actuals() -> None:
    hist = pd.DataFrame({"sku": ["a", "a", "b", "b"], "ds": [0, 1, 0, 1], "y": [1.0, 2, 3, 5]})
    fc = pd.DataFrame({"sku": ["a", "b", "b"], "ds": [2, 2, 3], "mean": [2.0, 4, 4],
                       "q10": [1.0, 3, 3], "q50": [2.0, 4, 4], "q90": [3.0, 5, 5],
                       "pattern": ["smooth", "lumpy", "lumpy"]})  # fmt: skip
    act = pd.DataFrame({"sku": ["a", "b"], "ds": [2, 2], "y": [2.0, 6]})
    m = evaluate_forecast(fc, act, hist, by=["pattern"])
    assert m.iloc[0]["n"] == 2  # b at ds=3 has no actual
    assert list(m["value"]) == ["all", "lumpy", "smooth"]
    assert m.iloc[0]["wape"] == pytest.approx(2 / 8)
    assert m.iloc[0]["above_q90"] == pytest.approx(0.5)
