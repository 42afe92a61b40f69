"""The full pipeline: LambdaRank over candidates, business rules, evaluation, quickstart step."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ecomml.data.shop import ShopData
from ecomml.exceptions import DataQualityError, FeatureMismatchError
from ecomml.features.store import store_from_shop
from ecomml.recommend import (
    COLD_START,
    RECOMMEND_COLUMNS,
    RecommenderPipeline,
    apply_business_rules,
    evaluate_recommendations,
    evaluate_recommender,
    temporal_split,
)
from ecomml.task import StepContext
from tests.recommend.conftest import CUTOFF

# the ranker's own tests: always the ranker (test_fallback.py tests the blend fallback)
PARAMS = {"n_estimators": 20, "n_candidates": 15, "horizon_days": 60, "fallback": "never"}


@pytest.fixture(scope="module")
def store(rec_shop):  # noqa: ANN001, ANN201
    shop = ShopData(rec_shop.transactions, rec_shop.events, rec_shop.catalog, rec_shop.calendar)
    return store_from_shop(shop)


@pytest.fixture(scope="module")
def fitted(interactions, store, rec_shop):  # noqa: ANN001, ANN201
    return RecommenderPipeline(**PARAMS).fit(
        interactions, cutoff=CUTOFF, store=store, catalog=rec_shop.catalog
    )


def test_pipeline_recommends_with_rules(
    fitted, store, rec_shop, interactions, tmp_path: Path
) -> None:  # noqa: ANN001
    cat = rec_shop.catalog
    customers = list(interactions["customer_id"].unique()[:30]) + ["new-customer"]
    recs = fitted.recommend(customers, 8, store=store, catalog=cat, exclude_seen=True)
    assert list(recs.columns) == RECOMMEND_COLUMNS
    assert recs.groupby("customer_id").size().max() <= 8
    inactive = set(cat.loc[~cat["active"].astype(bool), "sku"])
    assert not set(recs["sku"]) & inactive
    bought = interactions.loc[interactions["event"] == "purchase", ["customer_id", "sku"]]
    assert recs.merge(bought.drop_duplicates(), on=["customer_id", "sku"]).empty
    assert (recs.loc[recs["customer_id"] == "new-customer", "source"] == COLD_START).all()
    assert set(recs["source"]) - {COLD_START} <= set(fitted.generators)
    # category cap
    capped = fitted.recommend(customers[:10], 8, store=store, catalog=cat, max_per_category=2)
    per_cat = capped.assign(c=capped["sku"].map(cat.set_index("sku")["category"]))
    assert per_cat.groupby(["customer_id", "c"]).size().max() <= 2
    # boosting one SKU puts it first for everyone who had it in the list
    plain = fitted.recommend(customers[:10], 8, store=store)
    sku = plain["sku"].value_counts().index[-1]
    boosted = fitted.recommend(customers[:10], 8, store=store, boost=pd.Series({sku: 100.0}))
    assert (boosted.loc[boosted["sku"] == sku, "rank"] == 1).all()
    # save / load round trip gives the same lists (incl. the never-bought ranker)
    assert fitted.ranker_new_ is not None
    fitted.save_artifacts(tmp_path / "p")
    loaded = RecommenderPipeline.load_artifacts(tmp_path / "p")
    assert loaded.ranker_new_ is not None
    again = loaded.recommend(customers, 8, store=store, catalog=cat, exclude_seen=True)
    # same lists; ties in the ranker score may swap neighbours, so compare per rank loosely
    same = recs.merge(again, on=["customer_id", "sku", "rank"])
    assert len(same) >= 0.95 * len(recs) and len(again) == len(recs)
    with pytest.raises(FeatureMismatchError, match="store="):
        loaded.recommend(customers, 8)
    assert len(fitted.similar_items(recs["sku"].iloc[0], 5)) <= 5


def test_all_inactive_catalog_is_refused(fitted, store, rec_shop) -> None:  # noqa: ANN001
    cat = rec_shop.catalog.assign(active=False)
    with pytest.raises(DataQualityError, match="inactive"):
        fitted.recommend(["C00000001"], 5, store=store, catalog=cat)


def test_fold_in_newer_history(fitted, store, rec_shop) -> None:  # noqa: ANN001
    from ecomml.recommend import build_interactions

    later = pd.Timestamp("2023-11-01")
    hist = build_interactions(rec_shop.transactions, rec_shop.events, cutoff=later)
    newcomers = sorted(set(hist["customer_id"]) - set(fitted.customer_index_))
    recs = fitted.recommend(newcomers[:5] or None, 5, history=hist, cutoff=later, store=store)
    assert len(recs) and (recs["source"] != COLD_START).all()


def test_scoring_a_few_customers_on_new_history_gives_their_lists(fitted, store, rec_shop) -> None:  # noqa: ANN001
    """Per-customer history work is done for the customers asked only (the SKU statistics
    stay everyone's), and their lists are the ones scoring everybody gives them."""
    from ecomml.recommend import build_interactions

    later = pd.Timestamp("2023-11-01")
    hist = build_interactions(rec_shop.transactions, rec_shop.events, cutoff=later)
    few = sorted(hist["customer_id"].unique())[::7][:25]
    for exclude in (False, True):
        kw = {"history": hist, "cutoff": later, "store": store, "exclude_seen": exclude}
        part = fitted.recommend(few, 10, **kw)
        every = fitted.recommend(None, 10, **kw)
        every = every.loc[every["customer_id"].isin(few)]
        key = ["customer_id", "rank"]
        pd.testing.assert_frame_equal(
            part.sort_values(key).reset_index(drop=True),
            every.sort_values(key).reset_index(drop=True),
        )


def test_business_rules_pure() -> None:
    recs = pd.DataFrame(
        {
            "customer_id": ["a"] * 4,
            "sku": ["x", "y", "z", "w"],
            "rank": [1, 2, 3, 4],
            "score": [4.0, 3.0, 2.0, 1.0],
            "source": "m",
        }
    )
    out = apply_business_rules(
        recs,
        k=2,
        allowed={"x", "y", "w"},
        exclude=pd.DataFrame({"customer_id": ["a"], "sku": ["x"]}),
        boost=pd.Series({"w": 5.0}),
    )
    assert list(out["sku"]) == ["w", "y"] and list(out["rank"]) == [1, 2]
    cat = pd.Series({"x": "c1", "y": "c1", "z": "c2", "w": "c1"})
    out = apply_business_rules(recs, k=4, category=cat, max_per_category=1)
    assert list(out["sku"]) == ["x", "z"]
    with pytest.raises(DataQualityError, match="category"):
        apply_business_rules(recs, k=2, max_per_category=1)


def test_temporal_split_and_evaluation(interactions) -> None:  # noqa: ANN001
    train, test = temporal_split(interactions, cutoff="2023-08-01")
    assert train["ts"].max() < pd.Timestamp("2023-08-01")
    assert set(test["customer_id"]) <= set(train["customer_id"])
    with pytest.raises(DataQualityError, match="has no purchases"):
        temporal_split(interactions, cutoff="2023-09-30 23:00", end="2023-09-30 23:01")
    with pytest.raises(DataQualityError, match="no interactions before"):
        temporal_split(interactions, cutoff="2000-01-01")
    from ecomml.recommend import BuyAgainRecommender, PopularityRecommender

    res = evaluate_recommender(BuyAgainRecommender(), interactions, cutoff="2023-08-01")
    pop = evaluate_recommender(PopularityRecommender(), interactions, cutoff="2023-08-01")
    assert 0 < res["all"]["ndcg@20"] <= 1 and 0 <= res["new"]["ndcg@20"] <= 1
    # with repeat buyers in the synthetic shop, buy-again beats plain popularity
    assert res["all"]["ndcg@20"] > pop["all"]["ndcg@20"]
    # an oracle list scores 1
    oracle = test.assign(rank=test.groupby("customer_id").cumcount() + 1, score=1.0)
    ev = evaluate_recommendations(oracle, test, train, ks=(5,), map_k=None)
    assert ev["ndcg@5"] == pytest.approx(1.0)


def test_pipeline_needs_history_before_the_label_window(interactions) -> None:  # noqa: ANN001
    recent = interactions.loc[interactions["ts"] >= "2023-09-15"]
    with pytest.raises(DataQualityError, match="horizon_days"):
        RecommenderPipeline(**PARAMS).fit(recent, cutoff=CUTOFF)
    # issue 17: by default the ranker is skipped and the blend serves, saying why
    model = RecommenderPipeline(**{**PARAMS, "fallback": "auto"}).fit(recent, cutoff=CUTOFF)
    assert model.choice_ == model.choice_new_ == "blend" and model.ranker_ is None
    assert "too short for the ranker" in model.choice_reason_
    recs = model.recommend(None, 5)
    assert set(recs["source"]) <= {"buy-again", "popular", COLD_START}


def test_quickstart_step(rec_shop, tmp_path: Path) -> None:  # noqa: ANN001
    from ecomml.recommend import RecommendTask

    shop = ShopData(rec_shop.transactions, rec_shop.events, rec_shop.catalog, rec_shop.calendar)
    ctx = StepContext(
        shop=shop,
        store=store_from_shop(shop),
        cutoff=CUTOFF,
        out_dir=tmp_path,
        features_dir=tmp_path / "features",
        manifest={},
        say=lambda msg: None,
    )
    res = RecommendTask().run_quickstart(ctx)
    assert res.task == "recommend"
    assert (tmp_path / "plots" / "recommend" / "metrics_at_k.png").is_file()
    recs = pd.read_parquet(res.outputs["recommend/recommendations"])
    assert list(recs.columns) == RECOMMEND_COLUMNS
    assert 0 < res.metrics["ndcg_at_20"] <= 1
