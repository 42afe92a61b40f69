"""A self-contained HTML page per experiment run: config, leaderboard, per-fold metrics, plots.

Images are embedded as base64 data URIs, so the page opens anywhere (an MLflow artifact
view, an e-mail attachment) without the files beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ecomml._io import atomic_write_text
from ecomml.html_page import render_page

if TYPE_CHECKING:
    from ecomml.experiments.config import ExperimentConfig

__all__ = ["render_report", "write_report"]


def render_report(
    *,
    title: str,
    config: ExperimentConfig,
    points: pd.DataFrame,
    folds: pd.DataFrame,
    plots: dict[str, Path],
) -> str:
    """The HTML text of the report (see :func:`write_report`)."""
    metric_cols = [c for c in config.metrics if c in points.columns]
    lead = points[[c for c in ("point", "label", *metric_cols) if c in points.columns]]
    facts = [
        ("task", config.task),
        ("model", config.model),
        ("cutoff (exclusive)", str(config.cutoff.date())),
        ("folds", str(config.folds)),
        ("primary metric", config.primary_metric),
        ("config", str(config.path.name) if config.path else "(in memory)"),
    ]
    return render_page(title, facts=facts, plots=plots,
                       sections=[("Leaderboard", lead), ("Best run, per fold", folds)])  # fmt: skip


def write_report(
    path: str | Path,
    *,
    title: str,
    config: ExperimentConfig,
    points: pd.DataFrame,
    folds: pd.DataFrame,
    plots: dict[str, Path],
) -> Path:
    """Write the self-contained HTML report atomically; returns its path."""
    text = render_report(title=title, config=config, points=points, folds=folds, plots=plots)
    return atomic_write_text(path, text)
