"""Recommendations on implicit feedback.

Candidate generators (each a recommender on its own), a LightGBM LambdaRank re-ranker over
their union with feature-store features, business rules, and temporal evaluation.

>>> from ecomml.recommend import BuyAgainRecommender, build_interactions  # doctest: +SKIP
"""

from __future__ import annotations

from ecomml.recommend._base import COLD_START, RECOMMEND_COLUMNS, BaseRecommender, Codes
from ecomml.recommend.als import ALSRecommender
from ecomml.recommend.candidates import (
    BuyAgainRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
    bm25_weight,
)
from ecomml.recommend.evaluate import (
    evaluate_recommendations,
    evaluate_recommender,
    plot_metrics_at_k,
    temporal_split,
)
from ecomml.recommend.interactions import (
    DEFAULT_EVENT_WEIGHTS,
    build_interactions,
    check_interactions,
)
from ecomml.recommend.new_items import NewItemsRecommender
from ecomml.recommend.pipeline import GENERATORS, RecommenderPipeline, make_generator
from ecomml.recommend.rules import apply_business_rules, available_skus, reserve_slots
from ecomml.recommend.task import RecommendTask

__all__ = [
    "COLD_START",
    "DEFAULT_EVENT_WEIGHTS",
    "GENERATORS",
    "RECOMMEND_COLUMNS",
    "ALSRecommender",
    "BaseRecommender",
    "BuyAgainRecommender",
    "Codes",
    "EASERecommender",
    "ItemKNNRecommender",
    "NewItemsRecommender",
    "PopularityRecommender",
    "RecommendTask",
    "RecommenderPipeline",
    "apply_business_rules",
    "available_skus",
    "bm25_weight",
    "build_interactions",
    "check_interactions",
    "evaluate_recommendations",
    "evaluate_recommender",
    "make_generator",
    "plot_metrics_at_k",
    "reserve_slots",
    "temporal_split",
]
