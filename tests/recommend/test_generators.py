"""Candidate generators: the recommender contract, each model's maths, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomml.exceptions import (
    ConfigError,
    DataQualityError,
    LeakageError,
    NotFittedError,
    SchemaError,
    UnknownEntityError,
)
from ecomml.recommend import (
    COLD_START,
    RECOMMEND_COLUMNS,
    ALSRecommender,
    BuyAgainRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
    bm25_weight,
    build_interactions,
)
from tests.recommend.conftest import CUTOFF, als_loss

MODELS = [
    lambda: PopularityRecommender(),
    lambda: PopularityRecommender(window_days=30, segment_col="category"),
    lambda: BuyAgainRecommender(),
    lambda: ItemKNNRecommender(similarity="cosine"),
    lambda: ItemKNNRecommender(similarity="bm25"),
    lambda: EASERecommender(l2=50.0),
    lambda: ALSRecommender(factors=8, iterations=4, random_state=0),
]
IDS = ["pop", "pop-seg", "buy-again", "cosine", "bm25", "ease", "als"]


@pytest.mark.parametrize("make", MODELS, ids=IDS)
def test_recommender_contract(make, interactions: pd.DataFrame, tmp_path: Path) -> None:  # noqa: ANN001
    model = make()
    with pytest.raises(NotFittedError):
        model.recommend(["C1"], 3)
    assert model.fit(interactions, cutoff=CUTOFF) is model
    customers = list(interactions["customer_id"].unique()[:20]) + ["never-seen"]
    recs = model.recommend(customers, 5, exclude_seen=True)
    assert list(recs.columns) == RECOMMEND_COLUMNS
    assert recs.groupby("customer_id").size().max() <= 5
    assert (
        recs.groupby("customer_id")["rank"].apply(lambda r: list(r) == list(range(1, len(r) + 1)))
    ).all()
    cold = recs.loc[recs["customer_id"] == "never-seen"]
    assert len(cold) == 5 and (cold["source"] == COLD_START).all()
    # exclude_seen: nothing the customer interacted with
    seen = interactions[["customer_id", "sku"]].drop_duplicates()
    assert recs.merge(seen, on=["customer_id", "sku"]).empty
    # refit gives the same lists, and the saved model too
    again = make().fit(interactions, cutoff=CUTOFF).recommend(customers, 5)
    pd.testing.assert_frame_equal(recs, again)
    model.save_artifacts(tmp_path / "m")
    loaded = type(model).load_artifacts(tmp_path / "m")
    pd.testing.assert_frame_equal(recs, loaded.recommend(customers, 5), rtol=1e-5)
    sku = recs.loc[recs["source"] != COLD_START, "sku"].iloc[0]
    sim = model.similar_items(sku, 4)
    assert list(sim.columns) == ["sku", "similar_sku", "rank", "score"]
    assert sku not in set(sim["similar_sku"]) and len(sim) <= 4
    with pytest.raises(UnknownEntityError, match="not in the training data"):
        model.similar_items("NO-SUCH-SKU", 3)


@settings(max_examples=15, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 11)), min_size=3, max_size=40),
    k=st.integers(1, 12),
)
def test_exclude_seen_never_returns_seen_items(pairs: list[tuple[int, int]], k: int) -> None:
    df = pd.DataFrame(
        {"customer_id": [f"c{u}" for u, _ in pairs], "sku": [f"s{i}" for _, i in pairs]}
    )
    for model in (ItemKNNRecommender(similarity="cosine", n_neighbors=5), EASERecommender(l2=1.0)):
        recs = model.fit(df).recommend(None, k, exclude_seen=True)
        assert recs.merge(df.drop_duplicates(), on=["customer_id", "sku"]).empty
        assert recs.groupby("customer_id").size().max() <= k if len(recs) else True


def test_duplicates_are_summed() -> None:
    df = pd.DataFrame(
        {"customer_id": ["a", "a", "b"], "sku": ["x", "x", "y"], "weight": [1.0, 2.0, 1.0]}
    )
    m = ItemKNNRecommender(similarity="cosine", binary=False).fit(df)
    assert m.state_["weight"].toarray().tolist() == [[3.0, 0.0], [0.0, 1.0]]


def test_ease_matches_closed_form(rng: np.random.Generator) -> None:
    x = (rng.random((30, 8)) < 0.3).astype(float)
    u, i = np.nonzero(x)
    df = pd.DataFrame({"customer_id": [f"c{a:02d}" for a in u], "sku": [f"s{b}" for b in i]})
    m = EASERecommender(l2=2.0, float32=False).fit(df)
    g = x.T @ x + 2.0 * np.eye(8)
    p = np.linalg.inv(g)
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    order = [int(s[1:]) for s in m.sku_index_]
    np.testing.assert_allclose(m.weights_, b[np.ix_(order, order)], atol=1e-8)


def test_ease_memory_guard_restricts_items(interactions: pd.DataFrame) -> None:
    from ecomml.exceptions import EcommlWarning

    with pytest.warns(EcommlWarning, match="most popular"):
        m = EASERecommender(max_items=20).fit(interactions, cutoff=CUTOFF)
    assert m.weights_.shape == (20, 20)
    recs = m.recommend(None, 5, exclude_seen=False)
    assert set(recs.loc[recs["source"] == "ease", "sku"]) <= set(m.sku_index_[m.items_kept_])


def test_bm25_weight_matches_implicit() -> None:
    implicit = pytest.importorskip("implicit.nearest_neighbours")
    m = sp.random(20, 15, density=0.3, random_state=1, format="csr") * 5
    ours = bm25_weight(m, 1.2, 0.75).toarray()
    theirs = implicit.bm25_weight(m.tocoo(), K1=1.2, B=0.75).toarray()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_als_objective_improves_and_folds_in(interactions: pd.DataFrame) -> None:
    few = ALSRecommender(factors=8, iterations=1, random_state=0).fit(interactions, cutoff=CUTOFF)
    many = ALSRecommender(factors=8, iterations=8, random_state=0).fit(interactions, cutoff=CUTOFF)

    assert als_loss(many) < als_loss(few)
    # fold-in of the training history reproduces the fitted customers' top items closely
    cust = list(interactions["customer_id"].unique()[:10])
    direct = many.recommend(cust, 5, exclude_seen=False)
    folded = many.recommend(cust, 5, exclude_seen=False, history=interactions, cutoff=CUTOFF)
    overlap = len(direct.merge(folded, on=["customer_id", "sku"])) / len(direct)
    assert overlap > 0.6


def test_buy_again_orders_frequent_due_items_first() -> None:
    ts = pd.to_datetime
    df = pd.DataFrame(
        {
            "customer_id": ["a"] * 7 + ["b"],
            "sku": ["often"] * 4 + ["once", "stale", "stale", "x"],
            "ts": ts(
                [
                    "2024-01-01",
                    "2024-02-01",
                    "2024-03-01",
                    "2024-04-01",
                    "2024-04-10",
                    "2022-01-01",
                    "2022-02-01",
                    "2024-04-01",
                ]
            ),
        }
    )
    recs = (
        BuyAgainRecommender(fill_popular=False)
        .fit(df, cutoff="2024-05-01")
        .recommend(["a"], 5, exclude_seen=False)
    )
    assert list(recs["sku"]) == ["often", "once", "stale"]
    filled = (
        BuyAgainRecommender().fit(df, cutoff="2024-05-01").recommend(["a"], 5, exclude_seen=False)
    )
    assert list(filled["sku"])[:3] == ["often", "once", "stale"] and "x" in set(filled["sku"])


def test_bad_input_messages(interactions: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="missing required column"):
        PopularityRecommender().fit(interactions.rename(columns={"sku": "item"}))
    with pytest.raises(DataQualityError, match="no rows"):
        PopularityRecommender().fit(interactions.iloc[:0])
    bad = interactions.copy()
    bad.loc[3, "weight"] = -1.0
    with pytest.raises(DataQualityError, match="negative"):
        PopularityRecommender().fit(bad)
    with pytest.raises(LeakageError, match="on or after cutoff"):
        PopularityRecommender().fit(interactions, cutoff="2023-06-01")
    with pytest.raises(DataQualityError, match="needs a 'ts' column"):
        BuyAgainRecommender().fit(interactions.drop(columns="ts"))
    with pytest.raises(ConfigError, match="positive integer"):  # a bad parameter (issue 16)
        PopularityRecommender().fit(interactions).recommend(None, 0)


def test_build_interactions_weights_and_cutoff(rec_shop) -> None:  # noqa: ANN001
    tx, ev = rec_shop.transactions, rec_shop.events
    it = build_interactions(tx, ev, cutoff=CUTOFF, half_life_days=30)
    assert (it["ts"] < CUTOFF).all()
    assert set(it["event"]) <= {"view", "cart", "purchase"}
    mean_w = (
        it.assign(age=(CUTOFF - it["ts"]).dt.days)
        .query("age < 5")
        .groupby("event")["weight"]
        .mean()
    )
    assert mean_w["view"] < mean_w["cart"] < mean_w["purchase"]
    with pytest.raises(DataQualityError, match="without a weight"):
        build_interactions(tx, ev, cutoff=CUTOFF, event_weights={"purchase": 1.0})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ease_inverse_by_cholesky_equals_the_general_inverse(dtype: type) -> None:
    from ecomml.recommend.candidates import _spd_inverse

    rng = np.random.default_rng(0)
    x = (rng.random((300, 40)) < 0.1).astype(dtype)
    g = x.T @ x
    g[np.diag_indices_from(g)] += 5.0
    np.testing.assert_allclose(_spd_inverse(g.copy()), np.linalg.inv(g), rtol=1e-4, atol=1e-6)
    indefinite = np.array([[1.0, 2.0], [2.0, 1.0]], dtype=dtype)  # falls back to LU
    np.testing.assert_allclose(_spd_inverse(indefinite), np.linalg.inv(indefinite), rtol=1e-5)
