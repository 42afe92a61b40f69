"""The recommendation step of the main job (``ecomml quickstart``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecomml._io import atomic_path, atomic_write_json
from ecomml.exceptions import DataQualityError
from ecomml.task import StepContext, StepResult

__all__ = ["run_quickstart_step"]

_HOLDOUT_DAYS = 56


def run_quickstart_step(ctx: StepContext) -> StepResult:
    """Validate the recommender on the last weeks before the cutoff, then write top-20
    lists for every customer as of the cutoff, a metrics plot and a summary."""
    from ecomml.plots import save_figure
    from ecomml.recommend import (
        BuyAgainRecommender,
        RecommenderPipeline,
        build_interactions,
        evaluate_recommendations,
        plot_metrics_at_k,
        temporal_split,
    )

    out = ctx.out_dir / "recommend"
    plots = ctx.out_dir / "plots" / "recommend"
    shop = ctx.shop
    inter = build_interactions(shop.transactions, shop.events, cutoff=ctx.cutoff)
    result = StepResult(task="recommend")
    if inter.empty:
        result.summary = {"skipped": "no purchases with customer ids"}
        return result
    store = ctx.store
    params: dict[str, Any] = {
        "n_estimators": 60,
        "learning_rate": 0.1,
        "n_candidates": 25,
        "generators": ("buy-again", "recent-popular", "item-bm25"),
        "max_train_customers": 1500,
        "horizon_days": _HOLDOUT_DAYS,
        "new_items_ranker": False,  # the shelves written here keep re-orders
    }
    start = ctx.cutoff - pd.Timedelta(days=_HOLDOUT_DAYS)
    metrics: dict[str, float] = {}
    try:
        ctx.say("validating on the last 8 weeks")
        train, test = temporal_split(inter, cutoff=start, end=ctx.cutoff)
        model_v = RecommenderPipeline(**params).fit(
            train, cutoff=start, store=store, catalog=shop.catalog
        )
        cust = test["customer_id"].drop_duplicates()
        recs_v = model_v.recommend(cust, 20, store=store)
        ev = evaluate_recommendations(recs_v, test, train, ks=(20,), map_k=12)
        base = BuyAgainRecommender().fit(train, cutoff=start)
        ev_base = evaluate_recommendations(
            base.recommend(cust, 20, exclude_seen=False), test, train, ks=(20,), map_k=12
        )
        metrics = {
            "ndcg_at_20": ev["ndcg@20"],
            "recall_at_20": ev["recall@20"],
            "map_at_12": ev["map@12"],
            "coverage_at_20": ev["coverage@20"],
            "buyagain_ndcg_at_20": ev_base["ndcg@20"],
        }
        fig = plot_metrics_at_k(recs_v, test, train)
        result.outputs["plots/recommend/metrics_at_k.png"] = save_figure(
            fig, plots / "metrics_at_k.png"
        )
    except DataQualityError as err:  # too little history for a holdout: still recommend
        result.summary["validation_skipped"] = str(err)
    ctx.say("fitting on all history")
    model = RecommenderPipeline(**params).fit(
        inter, cutoff=ctx.cutoff, store=store, catalog=shop.catalog
    )
    recs = model.recommend(None, 20, store=store, catalog=shop.catalog)
    path = out / "recommendations.parquet"
    with atomic_path(path, suffix=".tmp.parquet") as tmp:
        recs.to_parquet(tmp, index=False)
    result.outputs["recommend/recommendations"] = path
    top_sku = recs["sku"].iloc[0] if len(recs) else None
    if top_sku is not None:
        sim = model.similar_items(top_sku, 10)
        spath = out / "similar_items_example.csv"
        with atomic_path(spath, suffix=".tmp.csv") as tmp:
            sim.to_csv(tmp, index=False)
        result.outputs["recommend/similar_items_example"] = spath
    result.metrics = {k: float(v) for k, v in metrics.items() if pd.notna(v)}
    result.summary.update(
        {
            "customers": int(recs["customer_id"].nunique()),
            "rows": int(len(recs)),
            "sources": {str(k): int(v) for k, v in recs["source"].value_counts().items()},
            "validation": {k: round(float(v), 4) for k, v in metrics.items()},
            "holdout_days": _HOLDOUT_DAYS,
        }
    )
    result.outputs["recommend/summary"] = atomic_write_json(out / "summary.json", result.summary)
    return result
