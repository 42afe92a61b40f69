"""What every task of the main job gets and returns (the task contract's data types)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from ecomml.data.shop import ShopData
    from ecomml.features.store import FeatureStore

__all__ = ["StepContext", "StepResult"]


@dataclass
class StepContext:
    """What a task step of the main job gets: the shop (already cut), its store, the cutoff."""

    shop: ShopData
    store: FeatureStore
    cutoff: pd.Timestamp
    out_dir: Path
    features_dir: Path
    manifest: dict[str, Any]
    #: report progress within the step: ``ctx.say("fitting")`` shows on the progress bar
    say: Callable[[str], None]


@dataclass
class StepResult:
    """What a task step produced.

    ``outputs`` keys are paths relative to ``out_dir`` (PNG files under ``plots/`` are
    logged to MLflow as plots); ``metrics`` are logged with the task name as prefix;
    ``summary`` goes into ``summary.json`` under the task name.
    """

    task: str
    outputs: dict[str, Path] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
