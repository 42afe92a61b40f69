"""Classification metrics: known values, agreement with scikit-learn, invariants (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from ecomml.exceptions import DataQualityError
from ecomml.metrics.classification import (
    brier_score,
    calibration_by_group,
    calibration_curve,
    classification_report,
    cumulative_gains,
    lift_at,
    pr_auc,
    precision_recall_curve,
    roc_auc,
    roc_curve,
)

labels_scores = st.integers(2, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.integers(0, 5).map(lambda v: v / 5), min_size=n, max_size=n),
    )
)


def test_known_values() -> None:
    y = [0, 0, 1, 1]
    s = [0.1, 0.4, 0.35, 0.8]
    assert roc_auc(y, s) == pytest.approx(0.75)
    assert pr_auc(y, s) == pytest.approx(average_precision_score(y, s))
    assert brier_score(y, s) == pytest.approx(np.mean((np.array(s) - y) ** 2))
    assert roc_auc([1, 1], [0.2, 0.3]) != roc_auc([1, 1], [0.2, 0.3])  # NaN with one class


@settings(max_examples=60, deadline=None)
@given(labels_scores)
def test_agrees_with_sklearn(data: tuple[list[int], list[float]]) -> None:
    y, s = np.array(data[0]), np.array(data[1])
    if 0 < y.sum() < len(y):
        assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))
        assert pr_auc(y, s) == pytest.approx(average_precision_score(y, s))
    assert brier_score(y, s) == pytest.approx(brier_score_loss(y, s))


@settings(max_examples=60, deadline=None)
@given(labels_scores, st.permutations(range(60)))
def test_row_order_and_monotone_transform_do_not_matter(data, perm) -> None:  # type: ignore[no-untyped-def]
    y, s = np.array(data[0]), np.array(data[1])
    idx = [i for i in perm if i < len(y)]
    if 0 < y.sum() < len(y):
        assert roc_auc(y[idx], s[idx]) == pytest.approx(roc_auc(y, s))
        assert roc_auc(y, s**3 + 2) == pytest.approx(roc_auc(y, s))
        assert lift_at(y[idx], s[idx], 0.3) == pytest.approx(lift_at(y, s, 0.3))
        g = cumulative_gains(y, s, n_points=20)
        assert np.all(np.diff(g["gain"]) >= -1e-12)
        assert g["gain"].iloc[-1] == pytest.approx(1.0)
        assert 0 <= roc_auc(y, s) <= 1
        assert 0 <= pr_auc(y, s) <= 1


def test_gains_and_lift_of_perfect_and_reversed_ranking() -> None:
    y = np.r_[np.ones(10), np.zeros(90)]
    s = np.linspace(1, 0, 100)
    assert lift_at(y, s, 0.1) == pytest.approx(10.0)
    assert lift_at(y, -s, 0.1) == pytest.approx(0.0)
    assert lift_at(y, np.zeros(100), 0.1) == pytest.approx(1.0)  # all tied: random order


def test_curves_and_report() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(500)
    y = (rng.random(500) < p).astype(int)
    cal = calibration_curve(y, p, n_bins=5)
    assert cal["n"].sum() == 500
    assert np.abs(cal["mean_predicted"] - cal["observed_rate"]).max() < 0.15
    r = roc_curve(y, p)
    assert r["fpr"].iloc[-1] == pytest.approx(1.0) and r["tpr"].iloc[-1] == pytest.approx(1.0)
    pr = precision_recall_curve(y, p)
    assert pr["recall"].iloc[-1] == pytest.approx(1.0)
    rep = classification_report(y, p)
    assert set(rep) >= {"roc_auc", "pr_auc", "brier", "lift_top_decile"}


def test_bad_input() -> None:
    with pytest.raises(DataQualityError, match="only 0 and 1"):
        roc_auc([0, 2], [0.1, 0.2])
    with pytest.raises(DataQualityError, match="missing or infinite"):
        roc_auc([0, 1], [0.1, np.nan])
    with pytest.raises(DataQualityError, match="lengths|has 2 values"):
        brier_score([0, 1], [0.1])
    with pytest.raises(DataQualityError, match=r"\[0, 1\]"):
        brier_score([0, 1], [0.1, 1.5])


@settings(max_examples=60, deadline=None)
@given(labels_scores, st.data())
def test_calibration_by_group_adds_up(
    data: tuple[list[int], list[float]], draw: st.DataObject
) -> None:
    """Each group's rows are its own: counts add up to all rows, the count-weighted means
    are the overall means and Brier scores, and a single group is the whole sample."""
    y, p = np.array(data[0]), np.array(data[1])
    groups = draw.draw(st.lists(st.sampled_from(["standard", "silver", "gold", "black"]),
                                min_size=len(y), max_size=len(y)))  # fmt: skip
    t = calibration_by_group(y, p, groups)
    assert t["n"].sum() == len(y)
    w = t["n"] / len(y)
    assert (w * t["mean_predicted"]).sum() == pytest.approx(p.mean())
    assert (w * t["observed_rate"]).sum() == pytest.approx(y.mean())
    assert (w * t["brier"]).sum() == pytest.approx(brier_score(y, p))
    np.testing.assert_allclose(t["gap"], t["mean_predicted"] - t["observed_rate"])
    one = calibration_by_group(y, p, ["all"] * len(y))
    assert one.loc[0, "gap"] == pytest.approx(p.mean() - y.mean())


def test_calibration_by_group_refuses_mismatched_groups() -> None:
    with pytest.raises(DataQualityError, match="groups has 1 values"):
        calibration_by_group([0, 1], [0.2, 0.6], ["gold"])


def test_backtest_tier_calibration_pooled_and_by_fold() -> None:
    """The pooled table is the per-fold one summed over folds; tiers come in tier order."""
    import pandas as pd

    from ecomml.churn.backtest import ChurnBacktest

    rng = np.random.default_rng(0)
    n = 400
    served = pd.DataFrame(
        {"cutoff": pd.to_datetime(rng.choice(["2024-01-01", "2024-04-01"], n)),
         "tier": rng.choice(["gold", "standard", "black", "silver"], n),
         "churned": rng.integers(0, 2, n), "p_churn": rng.random(n)}
    )  # fmt: skip
    bt = ChurnBacktest(pd.DataFrame(), served)
    pooled, per_fold = bt.tier_calibration(), bt.tier_calibration(by_fold=True)
    assert pooled["tier"].tolist() == ["standard", "silver", "gold", "black"]
    assert per_fold["cutoff"].nunique() == 2 and per_fold["n"].sum() == n
    sums = per_fold.assign(w=per_fold["n"] * per_fold["gap"]).groupby("tier")[["n", "w"]].sum()
    for _, row in pooled.iterrows():
        assert row["n"] == sums.loc[row["tier"], "n"]
        assert row["gap"] == pytest.approx(sums.loc[row["tier"], "w"] / row["n"])
    assert ChurnBacktest(pd.DataFrame(), pd.DataFrame()).tier_calibration().empty
