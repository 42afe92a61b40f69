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


# --- randomized PIT (issue 19: calibration that holds on discrete demand) ---


@settings(max_examples=25, deadline=None)
@given(st.floats(0.05, 30.0), st.floats(0.2, 50.0), st.integers(0, 1000))
def test_randomized_pit_is_uniform_under_the_true_nb(mean, size, seed) -> None:
    from scipy import stats as sps

    from ecomml.metrics.forecast import randomized_pit_nb

    rng = np.random.default_rng(seed)
    y = rng.negative_binomial(size, size / (size + mean), 3000)
    pit = randomized_pit_nb(y, np.full(3000, mean), np.full(3000, size), seed=seed)
    assert ((pit >= 0) & (pit <= 1)).all()
    assert sps.kstest(pit, "uniform").pvalue > 1e-4


def test_quantile_cdf_inverts_the_quantiles_and_handles_flat_zeros() -> None:
    from ecomml.metrics.forecast import QUANTILE_COLUMNS, quantile_cdf

    q = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], [0, 0, 0, 0, 1.0, 2.0, 3.0]])
    levels = np.array(list(QUANTILE_COLUMNS.values()))
    np.testing.assert_allclose(quantile_cdf(q[0], np.repeat(q[:1], 7, axis=0)), levels)
    # P(Y <= 0) is the largest level whose quantile is 0 (0.5 here), not the first
    np.testing.assert_allclose(quantile_cdf(np.array([0.0, -1.0, 100.0]), np.repeat(q[1:], 3, axis=0)),
                               [0.5, 0.0, 1.0])  # fmt: skip


def test_randomized_pit_of_a_calibrated_quantile_forecast() -> None:
    from scipy import stats as sps

    from ecomml.metrics.forecast import QUANTILE_COLUMNS, randomized_pit_quantiles

    rng = np.random.default_rng(0)
    lam = rng.gamma(2.0, 2.0, 4000)
    y = rng.poisson(lam)
    # the quantile forecast of a wide continuous approximation: PIT within a few points
    q = np.column_stack([sps.poisson.ppf(p, lam) for p in QUANTILE_COLUMNS.values()])
    pit = randomized_pit_quantiles(y, q)
    assert ((pit >= 0) & (pit <= 1)).all()
    assert abs(np.mean(pit < 0.1) - 0.1) < 0.05 and abs(np.mean(pit > 0.9) - 0.1) < 0.05


def test_evaluate_forecast_reports_randomized_pit_and_q50_mase() -> None:
    from ecomml.metrics.forecast import QUANTILE_COLUMNS, evaluate_forecast

    rng = np.random.default_rng(1)
    ds = pd.date_range("2024-01-01", periods=4, freq="7D")
    hist = pd.DataFrame({"sku": np.repeat(["a", "b"], 20), "ds": np.tile(pd.date_range("2023-08-14", periods=20, freq="7D"), 2),
                         "y": rng.poisson(3, 40).astype(float)})  # fmt: skip
    fc = pd.DataFrame(
        {"sku": np.repeat(["a", "b"], 4), "ds": np.tile(ds, 2), "mean": 3.0, "nb_size": 1e6}
    )
    for c, p in QUANTILE_COLUMNS.items():
        fc[c] = float(__import__("scipy").stats.poisson.ppf(p, 3.0))
    act = fc[["sku", "ds"]].assign(y=rng.poisson(3, 8).astype(float))
    out = evaluate_forecast(fc, act, hist).iloc[0]
    assert 0 <= out["rpit_below_10"] <= 1 and 0 <= out["rpit_above_90"] <= 1
    assert np.isfinite(out["mase_q50"])
    no_nb = evaluate_forecast(fc.drop(columns="nb_size"), act, hist).iloc[0]
    assert np.isfinite(no_nb["rpit_above_90"])


def test_quickstart_says_plainly_when_the_forecaster_loses_to_its_baseline() -> None:
    from ecomml.forecasting.task import baseline_notes

    m = {"mase": 1.6, "baseline_ma_mase": 1.5, "mase_q50": 1.2, "baseline_ma_mase_q50": 1.4,
         "scaled_pinball": 0.48, "baseline_ma_scaled_pinball": 0.55}  # fmt: skip
    (note,) = baseline_notes(m, skus=80, weeks=30)
    assert "loses to the 4-week moving average on MASE but wins on scaled pinball" in note
    assert "1.600 vs 1.500" in note and "1.200 vs 1.400" in note
    (note,) = baseline_notes({**m, "scaled_pinball": 0.6}, skus=80, weeks=30)
    assert "does not beat" in note and "80 SKUs and 30 weeks" in note
    assert baseline_notes({**m, "mase": 1.4}, skus=80, weeks=30) == []
