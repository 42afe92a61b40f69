"""Cold-start SKUs: the new-items generator, new-item slots in the pipeline's lists, the
new-SKU metric and the launch scenario of the sample-shop generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomml.data.synth import make_shop
from ecomml.exceptions import ConfigError
from ecomml.recommend import (
    NewItemsRecommender,
    RecommenderPipeline,
    build_interactions,
    evaluate_recommendations,
)
from ecomml.recommend.rules import reserve_slots

CUT = pd.Timestamp("2024-03-01")


def _day(n: float) -> pd.Timestamp:
    return CUT - pd.Timedelta(days=n)


def _shop() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Old SKUs O1 (toys, 10 €) and O2 (books, 100 €) bought long ago; new SKUs N1 (toys,
    11 €, viewed by three customers), N2 (books, viewed by one), N3 (toys, 300 €); L1 (toys)
    only in the catalog, launched two days ago; F1 (toys) launched after the cutoff; S1
    first seen 90 days ago (not new)."""
    rows = [
        ("toy1", "O1", _day(200), "purchase", 10.0),
        ("toy1", "O1", _day(100), "purchase", 10.0),
        ("toy2", "O1", _day(150), "purchase", 10.0),
        ("book1", "O2", _day(120), "purchase", 10.0),
        ("book1", "O2", _day(110), "purchase", 10.0),
        ("toy1", "S1", _day(90), "purchase", 10.0),
        ("toy2", "N1", _day(5), "view", 1.0),
        ("x1", "N1", _day(4), "view", 1.0),
        ("x2", "N1", _day(4), "view", 1.0),
        ("x1", "N3", _day(4), "view", 1.0),
        ("book1", "N2", _day(3), "cart", 3.0),
    ]
    inter = pd.DataFrame(rows, columns=["customer_id", "sku", "ts", "event", "weight"])
    catalog = pd.DataFrame(
        {
            "sku": ["O1", "O2", "S1", "N1", "N2", "N3", "L1", "F1"],
            "category": ["toys", "books", "toys", "toys", "books", "toys", "toys", "toys"],
            "price": [10.0, 100.0, 12.0, 11.0, 90.0, 300.0, 9.0, 10.0],
            "launched_at": [_day(400)] * 3 + [_day(5), _day(3), _day(4), _day(2), CUT],
        }
    )
    return inter, catalog


def test_new_skus_are_proposed_by_category_price_and_own_interest() -> None:
    inter, catalog = _shop()
    model = NewItemsRecommender().fit(inter, cutoff=CUT, catalog=catalog)
    kept = set(model.sku_index_[model.items_kept_])
    # catalog-only launches are indexed and proposed; later launches and old SKUs are not
    assert kept == {"N1", "N2", "N3", "L1"}
    recs = model.recommend(["toy1", "book1", "toy2", "nobody"], 4, exclude_seen=False)
    first = recs.loc[recs["rank"] == 1].set_index("customer_id")["sku"]
    # toy1 (toys at ~10 €): the busiest new toy at its price, never the 300 € one first
    assert first["toy1"] == "N1"
    toy1 = recs.loc[recs["customer_id"] == "toy1", "sku"].tolist()
    assert toy1.index("N1") < toy1.index("N3") and toy1.index("L1") < toy1.index("N3")
    # a toy 30x dearer than the customer's toys fits them worse than a new book
    assert toy1 == ["N1", "L1", "N2", "N3"]
    no_price = NewItemsRecommender(price_band=None).fit(inter, cutoff=CUT, catalog=catalog)
    plain = no_price.recommend(["toy1"], 4, exclude_seen=False)["sku"].tolist()
    assert plain[-1] == "N2"  # without the price fit, the other category comes last
    # a customer's own cart of a new SKU puts it first
    assert first["book1"] == "N2"
    assert first["toy2"] == "N1"
    assert set(recs.loc[recs["customer_id"] == "nobody", "sku"]) <= kept
    seen = model.recommend(["toy2"], 4, exclude_seen=True)
    assert "N1" not in set(seen["sku"])


def test_without_launch_dates_only_interacted_skus_are_new(tmp_path: Path) -> None:
    inter, catalog = _shop()
    model = NewItemsRecommender(price_band=None).fit(
        inter, cutoff=CUT, catalog=catalog.drop(columns="launched_at")
    )
    assert set(model.sku_index_[model.items_kept_]) == {"N1", "N2", "N3"}
    recs = model.recommend(["toy1", "book1", "nobody"], 3)
    model.save_artifacts(tmp_path / "m")
    loaded = NewItemsRecommender.load_artifacts(tmp_path / "m")
    pd.testing.assert_frame_equal(recs, loaded.recommend(["toy1", "book1", "nobody"], 3))


@pytest.mark.parametrize(
    "params",
    [{"new_days": 0}, {"max_items": 0}, {"smoothing": -1.0}, {"price_band": 0.0}],
)
def test_bad_parameters_are_config_errors(params: dict) -> None:
    inter, catalog = _shop()
    with pytest.raises(ConfigError):
        NewItemsRecommender(**params).fit(inter, cutoff=CUT, catalog=catalog)


@settings(max_examples=40, deadline=None)
@given(
    n_recs=st.lists(st.integers(0, 8), min_size=1, max_size=4),
    n_extra=st.lists(st.integers(0, 6), min_size=1, max_size=4),
    overlap=st.integers(0, 3),
    k=st.integers(1, 8),
    slots=st.integers(0, 8),
)
def test_reserve_slots_keeps_the_head_and_fills_the_tail(
    n_recs: list[int], n_extra: list[int], overlap: int, k: int, slots: int
) -> None:
    slots = min(slots, k)
    recs, extra = [], []
    for c, (nr, ne) in enumerate(zip(n_recs, n_extra, strict=False)):
        recs += [(f"c{c}", f"s{i}", i + 1, 10.0 - i, "ranker") for i in range(nr)]
        # the first `overlap` extra SKUs repeat SKUs of the list
        extra += [
            (f"c{c}", f"s{i}" if i < overlap else f"n{i}", i + 1, 1.0 - i / 10, "new-items")
            for i in range(ne)
        ]
    cols = ["customer_id", "sku", "rank", "score", "source"]
    r, e = pd.DataFrame(recs, columns=cols), pd.DataFrame(extra, columns=cols)
    out = reserve_slots(r, e, k=k, slots=slots)
    for c, part in out.groupby("customer_id"):
        assert list(part["rank"]) == list(range(1, len(part) + 1))
        assert part["sku"].is_unique and len(part) <= k
        mine = r.loc[r["customer_id"] == c]
        head = part.loc[part["source"] == "ranker", "sku"].tolist()
        assert head == mine["sku"].tolist()[: len(head)]  # the list's order, a prefix
        tail = part.loc[part["source"] == "new-items"]
        assert len(tail) <= slots
        assert (part["source"].iloc[: len(head)] == "ranker").all()  # extras come last
        fresh = e.loc[(e["customer_id"] == c) & ~e["sku"].isin(mine["sku"])]
        want = min(slots, len(fresh))
        assert len(tail) == want
        assert len(part) == min(k, len(mine) + want) if len(mine) >= k - want else True


def test_new_sku_metric_counts_only_skus_nobody_bought() -> None:
    train = pd.DataFrame(
        {"customer_id": ["a", "b"], "sku": ["X", "Y"], "event": "purchase", "weight": 10.0}
    )
    test = pd.DataFrame({"customer_id": ["a", "a", "b"], "sku": ["Y", "N", "X"]})
    recs = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "sku": ["Y", "M", "N", "X"],
            "rank": [1, 2, 3, 1],
            "score": [3.0, 2.0, 1.0, 1.0],
        }
    )
    out = evaluate_recommendations(recs, test, train, ks=(2,), map_k=None, new_skus=True)
    # only customer a bought a new SKU (N); among new SKUs a's list is M, N: N at rank 2
    assert out["n_customers"] == 1
    assert out["recall@2"] == 1.0
    assert out["ndcg@2"] == pytest.approx(1 / np.log2(3))


@pytest.fixture(scope="module")
def wave_shop():  # noqa: ANN201
    return make_shop(n_customers=300, n_skus=120, days=365, seed=3, launch_wave=("2023-09-20", 0.2))


def test_launch_wave_launches_a_share_of_the_catalogue(wave_shop) -> None:  # noqa: ANN001
    skus = wave_shop.truth_skus
    wave = skus["launched_at"] == pd.Timestamp("2023-09-20")
    assert 0.1 < wave.mean() < 0.3
    first = wave_shop.transactions.groupby("sku")["ts"].min()
    assert (first.reindex(skus.loc[wave, "sku"]).dropna() >= pd.Timestamp("2023-09-20")).all()
    with pytest.raises(ConfigError, match="launch_wave"):
        make_shop(n_customers=10, days=365, launch_wave=("2030-01-01", 0.1))


def test_pipeline_fills_new_item_slots(wave_shop, tmp_path: Path) -> None:  # noqa: ANN001
    cut = pd.Timestamp("2023-10-01")
    catalog = wave_shop.catalog.merge(wave_shop.truth_skus[["sku", "launched_at"]], on="sku")
    inter = build_interactions(wave_shop.transactions, wave_shop.events, cutoff=cut)
    model = RecommenderPipeline(
        generators=("buy-again", "popular"), n_candidates=10, horizon_days=60,
        n_estimators=10, min_child_samples=5, new_items_ranker=False,
    ).fit(inter, cutoff=cut, catalog=catalog)  # fmt: skip
    customers = sorted(inter["customer_id"].unique())[:30] + ["nobody"]
    plain = model.recommend(customers, 6, catalog=catalog)
    slotted = model.recommend(customers, 6, catalog=catalog, new_items=2)
    assert (slotted.groupby("customer_id").size() == 6).all()
    tail = slotted.loc[slotted["rank"] > 4]
    new_skus = set(model.new_items_.sku_index_[model.new_items_.items_kept_])
    assert (tail["source"] == "new-items").all() and set(tail["sku"]) <= new_skus
    head = slotted.loc[slotted["rank"] <= 4, ["customer_id", "sku", "rank"]]
    pd.testing.assert_frame_equal(
        head.reset_index(drop=True),
        plain.loc[plain["rank"] <= 4, ["customer_id", "sku", "rank"]].reset_index(drop=True),
    )
    model.save_artifacts(tmp_path / "m")
    loaded = RecommenderPipeline.load_artifacts(tmp_path / "m")
    pd.testing.assert_frame_equal(
        slotted, loaded.recommend(customers, 6, catalog=catalog, new_items=2)
    )
    with pytest.raises(ConfigError, match="new_items"):
        model.recommend(customers, 3, new_items=4)
    # with newer history the new SKUs are those of its cutoff, not of the training one
    later = pd.Timestamp("2023-11-20")
    newer = build_interactions(wave_shop.transactions, wave_shop.events, cutoff=later)
    recs = model.recommend(customers, 6, catalog=catalog, new_items=2, history=newer, cutoff=later)
    now_new = NewItemsRecommender().fit(newer, cutoff=later, catalog=catalog)
    fresh = set(recs.loc[recs["source"] == "new-items", "sku"])
    assert fresh and fresh <= set(now_new.sku_index_[now_new.items_kept_])
