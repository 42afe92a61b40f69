"""Config-driven experiments: rolling folds or a parameter grid, MLflow parent/child runs,
a leaderboard, and the best model saved, logged and optionally registered."""

from ecomml.experiments.config import (
    TASK_METRICS,
    TASKS,
    ExperimentConfig,
    load_config,
    metric_direction,
    parse_config,
)
from ecomml.experiments.leaderboard import leaderboard, write_leaderboard
from ecomml.experiments.runner import ExperimentResult, git_commit, run_experiment

__all__ = [
    "TASKS",
    "TASK_METRICS",
    "ExperimentConfig",
    "ExperimentResult",
    "load_config",
    "parse_config",
    "metric_direction",
    "run_experiment",
    "git_commit",
    "leaderboard",
    "write_leaderboard",
]
