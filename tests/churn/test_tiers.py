"""RFM scores, tiers, segments and actions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomml.churn import (
    SegmentRules,
    TierRules,
    lifecycle_segments,
    member_tiers,
    next_actions,
    rfm_scores,
)
from ecomml.exceptions import ConfigError


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 400), st.integers(1, 30), st.floats(0, 1e4)),
        min_size=1,
        max_size=80,
    )
)
def test_scores_are_bounded_and_monotone(rows) -> None:  # type: ignore[no-untyped-def]
    df = pd.DataFrame(rows, columns=["recency_days", "frequency", "monetary"])
    s = rfm_scores(df)
    assert s[["r_score", "f_score", "m_score"]].isin(range(1, 6)).all().all()
    # more recent never scores lower on R; more frequent never lower on F
    o = np.argsort(df["recency_days"].to_numpy(), kind="mergesort")
    assert np.all(np.diff(s["r_score"].to_numpy()[o]) <= 0)
    o = np.argsort(df["frequency"].to_numpy(), kind="mergesort")
    assert np.all(np.diff(s["f_score"].to_numpy()[o]) >= 0)


def test_fixed_thresholds_and_tiers() -> None:
    df = pd.DataFrame(
        {"recency_days": [10, 45, 400], "frequency": [20, 3, 1], "monetary": [5000, 300, 20]}
    )
    s = rfm_scores(
        df,
        thresholds={
            "recency": [30, 60, 120, 240],
            "frequency": [2, 4, 8, 16],
            "monetary": [50, 200, 1000, 3000],
        },
    )
    assert s["r_score"].tolist() == [5, 4, 1]
    assert s["f_score"].tolist() == [5, 2, 1]
    assert s["rfm_score"].tolist() == [15, 9, 3]
    assert member_tiers(s).tolist() == ["black", "silver", "standard"]
    rules = TierRules(min_score={"gold": 9}, min_monetary={"gold": 1000})
    assert member_tiers(s, monetary=df["monetary"], rules=rules).tolist() == [
        "gold",
        "standard",
        "standard",
    ]
    with pytest.raises(ConfigError, match="unknown tier"):
        TierRules(min_score={"platinum": 3})
    with pytest.raises(ConfigError, match="increasing"):
        rfm_scores(df, thresholds={"recency": [30, 20, 120, 240]})


def test_segments_and_actions() -> None:
    seg = lifecycle_segments(
        [5, 20, 100, 200, 500, 20],
        [1, 5, 5, 5, 5, 5],
        [5, 300, 300, 300, 600, 300],
        p_churn=[0.2, 0.1, 0.9, 0.9, 0.9, 0.8],
    )
    assert seg.tolist() == ["new", "active", "at-risk", "dormant", "lost", "at-risk"]
    with pytest.raises(ConfigError):
        SegmentRules(active_days=200, dormant_days=100)
    scored = pd.DataFrame(
        {
            "tier": ["standard", "gold", "black", "standard", "standard", "silver"],
            "segment": seg,
            "value_at_risk": [1.0, 2.0, 50.0, 3.0, 0.1, 100.0],
        }
    )
    act = next_actions(scored)
    assert act[0].startswith("repurchase nudge")
    assert act[1] == "loyalty: cross-sell"
    assert act[2].startswith("VIP care")
    assert act[4].startswith("suppress")
    assert act[5] == "win-back offer"
