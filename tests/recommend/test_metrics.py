"""Ranking metrics: hand-computed values and hypothesis properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomml.exceptions import ConfigError
from ecomml.metrics.ranking import (
    average_precision_at_k,
    catalog_coverage,
    hit_at_k,
    ndcg_at_k,
    novelty,
    per_customer_metrics,
    precision_at_k,
    ranking_report,
    recall_at_k,
)


def test_hand_computed_values() -> None:
    recs = ["a", "b", "c", "d"]
    rel = {"b", "d", "x"}
    assert precision_at_k(recs, rel, 4) == 0.5
    assert recall_at_k(recs, rel, 4) == pytest.approx(2 / 3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(recs, rel, 4) == pytest.approx(dcg / idcg)
    assert average_precision_at_k(recs, rel, 4) == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert hit_at_k(recs, rel, 1) == 0.0
    assert hit_at_k(recs, rel, 2) == 1.0
    assert math.isnan(recall_at_k(recs, set(), 3))
    assert catalog_coverage(["a", "a", "b"], 4) == 0.5
    assert novelty(["a"], {"a": 0.25}, 100) == pytest.approx(2.0)


def test_bad_k_and_catalog() -> None:
    # bad parameters raise ConfigError (issue 16)
    with pytest.raises(ConfigError, match="positive integer"):
        precision_at_k(["a"], {"a"}, 0)
    with pytest.raises(ConfigError, match="n_catalog"):
        catalog_coverage(["a"], 0)


def test_perfect_ranking_scores_one() -> None:
    assert ndcg_at_k(["a", "b"], {"a", "b"}, 5) == 1.0
    assert average_precision_at_k(["a", "b"], {"a", "b"}, 5) == 1.0


lists = st.lists(st.integers(0, 20), min_size=0, max_size=15, unique=True)
relevant = st.sets(st.integers(0, 20), min_size=1, max_size=10)


@settings(max_examples=80, deadline=None)
@given(recs=lists, rel=relevant, k=st.integers(1, 15))
def test_metric_bounds_and_monotone_recall(recs: list[int], rel: set[int], k: int) -> None:
    for f in (precision_at_k, recall_at_k, ndcg_at_k, average_precision_at_k, hit_at_k):
        v = f(recs, rel, k)
        assert 0.0 <= v <= 1.0 + 1e-12
    assert recall_at_k(recs, rel, k) <= recall_at_k(recs, rel, k + 1) + 1e-12
    # moving every relevant item to the front never lowers NDCG
    best = [r for r in recs if r in rel] + [r for r in recs if r not in rel]
    assert ndcg_at_k(best, rel, k) >= ndcg_at_k(recs, rel, k) - 1e-12


@settings(max_examples=40, deadline=None)
@given(
    data=st.dictionaries(st.integers(0, 5), st.tuples(lists, relevant), min_size=1, max_size=6),
    k=st.integers(1, 10),
)
def test_frame_metrics_match_list_metrics(data: dict, k: int) -> None:
    recs = pd.DataFrame(
        [(u, i, r + 1) for u, (lst, _) in data.items() for r, i in enumerate(lst)],
        columns=["customer_id", "sku", "rank"],
    )
    rel = pd.DataFrame(
        [(u, i) for u, (_, rs) in data.items() for i in rs], columns=["customer_id", "sku"]
    )
    per = per_customer_metrics(recs, rel, k=k).set_index("customer_id")
    for u, (lst, rs) in data.items():
        assert per.loc[u, f"ndcg@{k}"] == pytest.approx(ndcg_at_k(lst, rs, k))
        assert per.loc[u, f"map@{k}"] == pytest.approx(average_precision_at_k(lst, rs, k))
        assert per.loc[u, f"recall@{k}"] == pytest.approx(recall_at_k(lst, rs, k))
        assert per.loc[u, f"precision@{k}"] == pytest.approx(precision_at_k(lst, rs, k))
    rep = ranking_report(recs, rel, ks=[k], n_catalog=21)
    assert rep[f"ndcg@{k}"] == pytest.approx(
        np.mean([ndcg_at_k(lst, rs, k) for lst, rs in data.values()])
    )
