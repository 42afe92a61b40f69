"""Campaigns: did an experiment work (A/B test analysis and planning), whom does an
offer change (uplift targeting), and what did a past promotion earn (promotion ROI,
:func:`promotion_effect`, offered as ``ecomml promo``).

The statistics are pure functions (:mod:`ecomml.campaigns.abtest`);
:func:`analyze_experiment` runs them over a table of units; :class:`AbTestTask` offers them
as ``ecomml abtest analyze|plan``.
"""

from ecomml.campaigns.abtest import (
    DEFAULT_TAU,
    adjust_pvalues,
    confidence_sequence_radius,
    cuped_adjust,
    cuped_test,
    detectable_effect,
    msprt_statistic,
    ratio_test,
    relative_lift,
    sample_size,
    sequential_test,
    srm_test,
    welch_from_stats,
    welch_test,
)
from ecomml.campaigns.analysis import RESULT_COLUMNS, AbTestResult, analyze_experiment
from ecomml.campaigns.promo import PromoResult, PromoWindow, promo_windows, promotion_effect
from ecomml.campaigns.task import AbTestTask, PromoTask, UpliftTask
from ecomml.campaigns.uplift import UpliftModel, encode_treatment
from ecomml.campaigns.uplift_commands import target_offers
from ecomml.campaigns.uplift_metrics import auuc, qini_auc, qini_curve, uplift_auc, uplift_curve

__all__ = [
    "DEFAULT_TAU",
    "RESULT_COLUMNS",
    "AbTestResult",
    "AbTestTask",
    "PromoResult",
    "PromoTask",
    "PromoWindow",
    "UpliftModel",
    "UpliftTask",
    "adjust_pvalues",
    "analyze_experiment",
    "auuc",
    "confidence_sequence_radius",
    "cuped_adjust",
    "cuped_test",
    "detectable_effect",
    "encode_treatment",
    "msprt_statistic",
    "promo_windows",
    "promotion_effect",
    "qini_auc",
    "qini_curve",
    "ratio_test",
    "relative_lift",
    "sample_size",
    "sequential_test",
    "srm_test",
    "target_offers",
    "uplift_auc",
    "uplift_curve",
    "welch_from_stats",
    "welch_test",
]
