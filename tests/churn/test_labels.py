"""Point-in-time labels and RFM summaries."""

from __future__ import annotations

import pandas as pd
import pytest

from ecomml.churn import churn_labels, label_cutoffs, purchase_days, repurchase_labels, rfm_summary
from ecomml.exceptions import ConfigError, DataQualityError


def test_rfm_summary_counts_purchase_days(tiny_tx: pd.DataFrame) -> None:
    s = rfm_summary(tiny_tx, cutoff="2024-03-01").set_index("customer_id")
    # A: days 01-01, 01-10 (two orders, one day), 02-01 -> 2 repeat days
    assert s.loc["A", "frequency"] == 2
    assert s.loc["A", "recency"] == 31
    assert s.loc["A", "T"] == 59  # 2024-01-01 .. 2024-02-29 (last day before the cutoff)
    assert s.loc["A", "monetary_value"] == pytest.approx((25.0 + 30.0) / 2)
    assert s.loc["B", "frequency"] == 0 and s.loc["B", "recency"] == 0
    assert s.loc["B", "monetary_value"] == 0
    assert s.loc["C", "frequency"] == 0  # the return is not a purchase
    w = rfm_summary(tiny_tx, cutoff="2024-03-01", unit="W").set_index("customer_id")
    assert w.loc["A", "T"] == pytest.approx(59 / 7)


def test_cutoff_is_exclusive(tiny_tx: pd.DataFrame) -> None:
    s = rfm_summary(tiny_tx, cutoff="2024-03-05").set_index("customer_id")
    assert s.loc["A", "frequency"] == 2  # the 03-05 purchase is not history yet
    s = rfm_summary(tiny_tx, cutoff="2024-03-05 12:00:01").set_index("customer_id")
    assert s.loc["A", "frequency"] == 3


def test_churn_labels(tiny_tx: pd.DataFrame) -> None:
    lab = churn_labels(tiny_tx, cutoffs=["2024-02-15"], horizon=30).set_index("customer_id")
    assert list(lab.index) == ["A", "B", "C"]
    assert lab.loc["A", "churn"] == 0 and lab.loc["A", "n_purchases"] == 1
    assert lab.loc["A", "spend"] == pytest.approx(10.0)
    assert lab.loc["B", "churn"] == 1
    assert lab.loc["C", "churn"] == 1  # 03-20 is after the 30-day window
    both = churn_labels(tiny_tx, cutoffs=["2024-01-15", "2024-02-15"], horizon=30)
    assert both.groupby("cutoff").size().tolist() == [2, 3]  # B had not bought by 01-15


def test_horizon_longer_than_the_data(tiny_tx: pd.DataFrame) -> None:
    with pytest.raises(DataQualityError, match="after the data ends"):
        churn_labels(tiny_tx, cutoffs=["2024-03-01"], horizon=90)
    with pytest.raises(ConfigError, match="positive"):  # a bad parameter (issue 16)
        churn_labels(tiny_tx, cutoffs=["2024-01-15"], horizon=0)


def test_repurchase_labels(tiny_tx: pd.DataFrame) -> None:
    lab = repurchase_labels(tiny_tx, cutoffs=["2024-03-01"], days_ahead=20).set_index("customer_id")
    assert list(lab.index) == ["B", "C"]  # first-order customers only
    assert lab.loc["C", "repurchase"] == 1 and lab.loc["B", "repurchase"] == 0


def test_bad_input(tiny_tx: pd.DataFrame) -> None:
    with pytest.raises(DataQualityError, match="no purchases before the cutoff"):
        rfm_summary(tiny_tx, cutoff="2023-01-01")
    neg = tiny_tx.copy()
    neg.loc[2, "price"] = -5.0
    with pytest.raises(DataQualityError, match="negative price"):
        purchase_days(neg)


def test_label_cutoffs() -> None:
    cuts = label_cutoffs("2024-01-01", "2024-12-01", horizon=90, step=30, min_history=60)
    assert cuts[-1] == pd.Timestamp("2024-09-02")
    assert all(c + pd.Timedelta(days=90) <= pd.Timestamp("2024-12-01") for c in cuts)
    assert cuts[0] >= pd.Timestamp("2024-03-01")
    assert label_cutoffs("2024-01-01", "2024-04-01", horizon=273) == []


def test_history_features(tiny_tx: pd.DataFrame) -> None:
    from ecomml.churn import history_features

    h = history_features(purchase_days(tiny_tx), cutoff="2024-03-01").set_index("customer_id")
    # A: purchase days 01-01, 01-10, 02-01; last 29 days before the cutoff, mean gap 15.5
    assert h.loc["A", "hist__days_30"] == 1 and h.loc["A", "hist__days_365"] == 3
    assert h.loc["A", "hist__overdue"] == pytest.approx(29 / 15.5)
    assert h.loc["A", "hist__decay_30"] == pytest.approx(
        0.5 ** (29 / 30) + 0.5 ** (51 / 30) + 0.5 ** (60 / 30)
    )
    assert pd.isna(h.loc["B", "hist__overdue"])
    assert h.loc["A", "hist__value_365"] == pytest.approx(65.0)
