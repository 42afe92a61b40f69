"""Churn evaluation figures: calibration, cumulative gains / lift, ROC and PR curves, and
the scored list's tiers and segments. Pure functions returning matplotlib Figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ecomml.metrics.classification import (
    calibration_curve,
    cumulative_gains,
    pr_auc,
    precision_recall_curve,
    roc_auc,
    roc_curve,
)
from ecomml.plots import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["model_figures", "plot_calibration", "plot_gains", "plot_roc_pr", "plot_segments"]

# style of the reference lines (a perfect or random model, the base rate)
_REFERENCE: dict[str, Any] = {"color": "grey", "lw": 0.8, "ls": "--"}


def _two_panels() -> tuple[Figure, Any, Any]:
    fig = new_figure(10, 4.2)
    ax1, ax2 = fig.subplots(1, 2)
    return fig, ax1, ax2


def plot_calibration(y: Any, scores: Mapping[str, Any], *, n_bins: int = 10) -> Figure:
    """Observed churn rate against mean predicted probability per decile of each model."""
    fig = new_figure(5.5, 5)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], **_REFERENCE, label="perfect")
    for name, p in scores.items():
        c = calibration_curve(y, np.clip(p, 0, 1), n_bins=n_bins)
        ax.plot(c["mean_predicted"], c["observed_rate"], marker="o", label=name)
    ax.set(
        xlabel="predicted P(churn)",
        ylabel="observed churn rate",
        title="Calibration (temporal holdout)",
    )
    ax.legend(loc="upper left")
    return fig


def plot_gains(y: Any, scores: Mapping[str, Any]) -> Figure:
    """Cumulative gains and lift: share of churners reached by contacting the top x%."""
    fig, ax1, ax2 = _two_panels()
    ax1.plot([0, 1], [0, 1], **_REFERENCE, label="random")
    for name, p in scores.items():
        g = cumulative_gains(y, p)
        ax1.plot(np.r_[0, g["fraction"]], np.r_[0, g["gain"]], label=name)
        ax2.plot(g["fraction"], g["lift"], label=name)
    ax2.axhline(1.0, **_REFERENCE)
    ax1.set(
        xlabel="share of customers contacted (highest score first)",
        ylabel="share of churners reached",
        title="Cumulative gains",
    )
    ax2.set(xlabel="share of customers contacted", ylabel="lift", title="Lift")
    ax1.legend(loc="lower right")
    return fig


def plot_roc_pr(y: Any, scores: Mapping[str, Any]) -> Figure:
    """ROC and precision-recall curves with their areas."""
    fig, ax1, ax2 = _two_panels()
    ax1.plot([0, 1], [0, 1], **_REFERENCE)
    for name, p in scores.items():
        r = roc_curve(y, p)
        ax1.plot(r["fpr"], r["tpr"], label=f"{name} (AUC {roc_auc(y, p):.3f})")
        pr = precision_recall_curve(y, p)
        ax2.plot(pr["recall"], pr["precision"], label=f"{name} (AP {pr_auc(y, p):.3f})")
    ax2.axhline(float(np.mean(y)), **_REFERENCE)
    ax1.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    ax2.set(xlabel="recall", ylabel="precision", title="Precision-recall")
    ax1.legend(loc="lower right")
    ax2.legend(loc="lower left")
    return fig


def plot_segments(scored: pd.DataFrame) -> Figure:
    """Customers and value at risk by lifecycle segment and member tier."""
    from ecomml.churn.tiers import SEGMENTS, TIERS

    fig, ax1, ax2 = _two_panels()
    tab = pd.crosstab(scored["segment"], scored["tier"]).reindex(
        index=list(SEGMENTS), columns=list(TIERS), fill_value=0
    )
    bottom = np.zeros(len(tab))
    colors = {"standard": "#bbbbbb", "silver": "#8fa3b8", "gold": "#d4a72c", "black": "#222222"}
    for t in TIERS:
        ax1.bar(tab.index, tab[t], bottom=bottom, label=t, color=colors[t])
        bottom += tab[t].to_numpy()
    ax1.set_ylabel("customers")
    ax1.set_title("Segments by tier")
    ax1.legend()
    var = scored.groupby("segment")["value_at_risk"].sum().reindex(list(SEGMENTS), fill_value=0)
    ax2.bar(var.index, var.to_numpy(), color="#d62728")
    ax2.set_ylabel("value at risk")
    ax2.set_title("Value at risk by segment")
    return fig


def model_figures(model: Any, scored: pd.DataFrame) -> dict[str, Figure]:
    """The figures of a fitted :class:`~ecomml.churn.ChurnModel` and its scored list:
    segments, and (when it kept a holdout with both classes) calibration, gains and ROC/PR
    of the classifier against BG/NBD alone; ``{file name: figure}``."""
    out: dict[str, Figure] = {"segments.png": plot_segments(scored)}
    val = getattr(model, "validation_", None) or {}
    if val.get("y"):
        y = np.asarray(val["y"])
        if 0 < y.mean() < 1:
            scores = {
                "classifier": np.asarray(val["p_classifier"]),
                "BG/NBD": np.asarray(val["p_btyd"]),
            }
            out["calibration.png"] = plot_calibration(y, scores)
            out["gains.png"] = plot_gains(y, scores)
            out["roc_pr.png"] = plot_roc_pr(y, scores)
    return out
