"""Issue 17, item 5: the pipeline is never worse than its own parts.

Shops of different shapes from the sample-shop generator: the pipeline fits on each, the
label window fits the history, and what it serves scores at least the buy-again +
popularity blend on the fit's own validation window (because it falls back to it).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecomml.data.synth import make_shop
from ecomml.recommend import BuyAgainRecommender, RecommenderPipeline, build_interactions
from ecomml.recommend._fallback import choose, ranker_horizon

FAST = {"n_estimators": 20, "n_candidates": 15, "generators": ("buy-again", "recent-popular", "item-bm25")}  # fmt: skip
SHAPES = {
    # a young shop: 75 days of history
    "short": {"n_customers": 300, "n_skus": 80, "days": 75, "seed": 11},
    # grocery-like: frequent baskets from a small assortment
    "repeat-heavy": {"n_customers": 200, "n_skus": 40, "days": 240, "seed": 12, "alpha": 2.0},
    # many SKUs for few customers
    "long-tail": {"n_customers": 250, "n_skus": 1500, "days": 240, "seed": 13},
}


def _interactions(shape: str) -> tuple[pd.DataFrame, pd.Timestamp]:
    s = make_shop(**SHAPES[shape])
    cut = s.transactions["ts"].max().normalize() + pd.Timedelta(days=1)
    return build_interactions(s.transactions, s.events, cutoff=cut), cut


def test_ranker_horizon_fits_the_history() -> None:
    assert ranker_horizon(700, 91) == 91
    assert ranker_horizon(122, 91) == 40  # 4 months: 40 label days, 82 before them
    assert ranker_horizon(60, 91) == 20
    assert ranker_horizon(30, 91) is None  # a 10-day label window is not worth a ranker
    assert ranker_horizon(30, 7) == 7  # unless the user asked for a shorter one
    assert ranker_horizon(0, 91) is None
    assert choose(0.2, 0.1) == "ranker"
    assert choose(0.1, 0.1) == "blend"  # ties go to the simpler model
    assert choose(float("nan"), 0.1) == "blend"


@pytest.mark.parametrize("shape", list(SHAPES))
def test_pipeline_never_loses_to_the_blend_on_validation(shape: str) -> None:
    inter, cut = _interactions(shape)
    model = RecommenderPipeline(**FAST).fit(inter, cutoff=cut)
    span = (cut - inter["ts"].min()).days
    assert model.horizon_ is None or 3 * model.horizon_ <= span + 1
    assert model.choice_ in ("ranker", "blend") and model.choice_reason_
    val = model.validation_
    if "skipped" not in val:
        assert pd.Timestamp(val["cutoff"]) < cut
        for new in ("", "new_"):
            choice = model.choice_new_ if new else model.choice_
            served = val[f"{choice}_{new}ndcg@20"]
            assert served >= val[f"blend_{new}ndcg@20"] - 1e-9
    else:
        assert model.choice_ == "blend"
    recs = model.recommend(None, 20)
    assert recs["customer_id"].nunique() == len(model.customer_index_)
    if model.choice_ == "blend":  # the served lists are the blend's own
        blend = BuyAgainRecommender().fit(inter, cutoff=cut)
        who = model.customer_index_[:20]
        mine = model.recommend(who, 20).sort_values(["customer_id", "rank"])
        theirs = blend.recommend(who, 20, exclude_seen=False)
        theirs = theirs.sort_values(["customer_id", "rank"])
        assert mine["sku"].tolist() == theirs["sku"].tolist()


def test_a_bad_ranker_falls_back_and_says_so(tmp_path: Path) -> None:
    inter, cut = _interactions("repeat-heavy")
    # one tree that cannot split: every candidate scores the same, lists in id order
    bad = {**FAST, "n_estimators": 1, "min_child_samples": 10**6}
    model = RecommenderPipeline(**bad).fit(inter, cutoff=cut)
    val = model.validation_
    assert model.choice_ == "blend"
    assert val["ranker_ndcg@20"] < val["blend_ndcg@20"]
    assert "ranker lost to the buy-again + popularity blend on validation" in (model.choice_reason_)
    assert f"{val['blend_ndcg@20']:.3f}" in model.choice_reason_
    # fallback="never" keeps the bad ranker
    kept = RecommenderPipeline(**bad, fallback="never").fit(inter, cutoff=cut)
    assert kept.choice_ == kept.choice_new_ == "ranker" and kept.validation_ == {}
    # the decision is saved with the model
    model.save_artifacts(tmp_path / "m")
    loaded = RecommenderPipeline.load_artifacts(tmp_path / "m")
    assert loaded.choice_ == "blend" and loaded.validation_ == val
    who = model.customer_index_[:15]
    pd.testing.assert_frame_equal(loaded.recommend(who, 10), model.recommend(who, 10))


def test_blend_serves_new_history_at_predict_time() -> None:
    inter, cut = _interactions("short")
    model = RecommenderPipeline(**FAST, horizon_days=200).fit(
        inter.loc[inter["ts"] < cut - pd.Timedelta(days=50)], cutoff=cut - pd.Timedelta(days=50)
    )
    assert model.choice_ == "blend" and model.ranker_ is None  # 25 days: no ranker
    recs = model.recommend(None, 10, history=inter, cutoff=cut)
    assert recs["customer_id"].nunique() == inter["customer_id"].nunique()
    assert set(recs["source"]) <= {"buy-again", "popular", "popular-cold-start"}
    fresh = model.recommend(None, 10, history=inter, cutoff=cut, exclude_seen=True)
    bought = inter.loc[inter["event"] == "purchase", ["customer_id", "sku"]].drop_duplicates()
    assert fresh.merge(bought, on=["customer_id", "sku"]).empty


def test_model_folders_without_the_decision_still_load(tmp_path: Path) -> None:
    """Folders saved before issue 17 have no choice, validation or blend: they serve the
    ranker as they did."""
    inter, cut = _interactions("repeat-heavy")
    model = RecommenderPipeline(**FAST, fallback="never").fit(inter, cutoff=cut)
    model.save_artifacts(tmp_path / "m")
    meta_path = tmp_path / "m" / "pipeline.json"
    meta = json.loads(meta_path.read_text())
    for key in ("choice", "choice_new", "choice_reason", "validation", "horizon"):
        meta.pop(key)
    meta["params"].pop("fallback")
    meta["train_stats"].pop("horizon_days")
    meta_path.write_text(json.dumps(meta))
    shutil.rmtree(tmp_path / "m" / "generators" / "_blend")
    old = RecommenderPipeline.load_artifacts(tmp_path / "m")
    assert old.choice_ == old.choice_new_ == "ranker" and old.validation_ == {}
    assert old.blend_ is None and old.fallback == "never"
    who = model.customer_index_[:10]
    a, b = old.recommend(who, 10), model.recommend(who, 10)
    assert np.allclose(a["score"], b["score"]) and a["sku"].tolist() == b["sku"].tolist()


def test_validated_rankers_can_be_served_without_a_second_fit() -> None:
    """refit_ranker=False serves the rankers the validation trained and scored: the same
    boosters, their label window one horizon before the latest, and no LambdaRank fit
    after the validation."""
    inter, cut = _interactions("long-tail")
    kept = RecommenderPipeline(**FAST, fallback="auto", refit_ranker=False).fit(inter, cutoff=cut)
    refit = RecommenderPipeline(**FAST, fallback="auto").fit(inter, cutoff=cut)
    assert "skipped" not in kept.validation_ and kept.ranker_ is not None
    assert kept.train_stats_["reused_validation_ranker"] is True
    # the served ranker learnt from the window before the validation window
    assert pd.Timestamp(kept.train_stats_["label_cutoff"]) < pd.Timestamp(
        kept.validation_["cutoff"]
    )
    assert pd.Timestamp(refit.train_stats_["label_cutoff"]) == pd.Timestamp(
        kept.validation_["cutoff"]
    )
    assert kept.validation_ == refit.validation_  # the same decision either way
    recs = kept.recommend(None, 10)
    assert recs["customer_id"].nunique() == len(kept.customer_index_)
    assert (recs.groupby("customer_id").size() <= 10).all()
