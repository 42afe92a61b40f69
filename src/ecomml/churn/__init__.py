"""Churn, repurchase and customer value: BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma, a
LightGBM churn classifier, RFM member tiers, lifecycle segments and the scored list
marketing acts on."""

from __future__ import annotations

from ecomml.churn.btyd import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, ParetoNBDModel
from ecomml.churn.classifier import ChurnClassifier
from ecomml.churn.labels import (
    churn_labels,
    history_features,
    label_cutoffs,
    purchase_days,
    repurchase_labels,
    rfm_summary,
)
from ecomml.churn.model import (
    EXTRA_COLUMNS,
    SCORED_COLUMNS,
    ChurnModel,
    btyd_features,
    hash_ids,
)
from ecomml.churn.population import (
    PopulationCuts,
    apply_population_cuts,
    population_cuts,
    query_population_cuts,
)
from ecomml.churn.task import ChurnTask
from ecomml.churn.tiers import (
    SegmentRules,
    TierRules,
    lifecycle_segments,
    member_tiers,
    next_actions,
    rfm_scores,
)

__all__ = [
    "EXTRA_COLUMNS",
    "SCORED_COLUMNS",
    "BetaGeoModel",
    "ChurnClassifier",
    "ChurnModel",
    "ChurnTask",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "PopulationCuts",
    "SegmentRules",
    "TierRules",
    "apply_population_cuts",
    "btyd_features",
    "churn_labels",
    "hash_ids",
    "history_features",
    "label_cutoffs",
    "lifecycle_segments",
    "member_tiers",
    "next_actions",
    "population_cuts",
    "purchase_days",
    "query_population_cuts",
    "repurchase_labels",
    "rfm_scores",
    "rfm_summary",
]
