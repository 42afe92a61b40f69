"""Campaigns: did an experiment work (A/B test analysis and planning).

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
from ecomml.campaigns.task import AbTestTask

__all__ = [
    "DEFAULT_TAU",
    "RESULT_COLUMNS",
    "AbTestResult",
    "AbTestTask",
    "adjust_pvalues",
    "analyze_experiment",
    "confidence_sequence_radius",
    "cuped_adjust",
    "cuped_test",
    "detectable_effect",
    "msprt_statistic",
    "ratio_test",
    "relative_lift",
    "sample_size",
    "sequential_test",
    "srm_test",
    "welch_from_stats",
    "welch_test",
]
