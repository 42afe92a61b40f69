"""Config-driven experiments: rolling folds or a parameter grid, MLflow parent/child runs,
a leaderboard, and the best model saved, logged and optionally registered."""

from ecomml.experiments.config import (
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
    "git_commit",
    "leaderboard",
    "load_config",
    "metric_direction",
    "parse_config",
    "run_experiment",
    "write_leaderboard",
]


def __getattr__(name: str) -> object:
    """``TASKS`` and ``TASK_METRICS`` are read from the task registry on first use."""
    if name in ("TASKS", "TASK_METRICS"):
        from ecomml.experiments import config

        return getattr(config, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
