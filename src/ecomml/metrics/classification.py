"""Binary classification metrics: ROC-AUC, PR-AUC, Brier, calibration, gains and lift.

Pure functions on ``y_true`` (0/1) and ``y_score`` (probability or any ranking score).
Ties in the score are handled exactly (ROC-AUC uses mid-ranks; gains treat tied scores
as one block), so results do not depend on row order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ecomml.exceptions import ConfigError, DataQualityError

__all__ = [
    "brier_score",
    "calibration_by_group",
    "calibration_curve",
    "classification_report",
    "cumulative_gains",
    "lift_at",
    "log_loss",
    "pr_auc",
    "precision_recall_curve",
    "roc_auc",
    "roc_curve",
]


def _check(y_true: Any, y_score: Any, *, proba: bool = False) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype="float64").ravel()
    s = np.asarray(y_score, dtype="float64").ravel()
    if len(y) != len(s):
        raise DataQualityError(f"y_true has {len(y)} values but y_score has {len(s)}")
    if len(y) == 0:
        raise DataQualityError("no rows to evaluate")
    if not np.isin(y, (0.0, 1.0)).all():
        raise DataQualityError("y_true must contain only 0 and 1")
    if not np.isfinite(s).all():
        bad = np.flatnonzero(~np.isfinite(s))[:5].tolist()
        raise DataQualityError(f"y_score has missing or infinite values at positions {bad}")
    if proba and ((s < 0) | (s > 1)).any():
        raise DataQualityError("probabilities must lie in [0, 1]")
    return y, s


def _threshold_counts(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct thresholds (highest first), and the number of rows and of positives scored
    at or above each: ``(threshold, n_selected, tp)``."""
    order = np.argsort(-s, kind="mergesort")
    ys, ss = y[order], s[order]
    # one point per distinct threshold: the last index of each block of equal scores
    last = np.r_[np.flatnonzero(np.diff(ss) != 0), len(ss) - 1]
    return ss[last], last + 1, np.cumsum(ys)[last]


def roc_auc(y_true: Any, y_score: Any) -> float:
    """Area under the ROC curve (Mann-Whitney with mid-ranks); NaN with one class only."""
    y, s = _check(y_true, y_score)
    n1 = y.sum()
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def pr_auc(y_true: Any, y_score: Any) -> float:
    """Average precision (area under the precision-recall step curve); tied scores form
    one threshold. NaN without positives."""
    y, s = _check(y_true, y_score)
    n1 = y.sum()
    if n1 == 0:
        return float("nan")
    _, k, tp = _threshold_counts(y, s)
    precision = tp / k
    recall = tp / n1
    prev = np.r_[0.0, recall[:-1]]
    return float(np.sum((recall - prev) * precision))


def brier_score(y_true: Any, y_proba: Any) -> float:
    """Mean squared difference between the probability and the 0/1 outcome."""
    y, p = _check(y_true, y_proba, proba=True)
    return float(np.mean((p - y) ** 2))


def log_loss(y_true: Any, y_proba: Any, *, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood of the outcomes."""
    y, p = _check(y_true, y_proba, proba=True)
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def calibration_curve(
    y_true: Any, y_proba: Any, *, n_bins: int = 10, strategy: str = "quantile"
) -> pd.DataFrame:
    """Mean predicted probability against the observed rate per bin.

    ``strategy`` is ``"quantile"`` (equal-count bins) or ``"uniform"`` (equal-width).
    Returns ``bin, n, mean_predicted, observed_rate`` for non-empty bins.
    """
    y, p = _check(y_true, y_proba, proba=True)
    if strategy == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)))
    elif strategy == "uniform":
        edges = np.linspace(0, 1, n_bins + 1)
    else:
        raise ConfigError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}")
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    df = pd.DataFrame({"bin": idx, "p": p, "y": y})
    out = df.groupby("bin").agg(
        n=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean")
    )
    return out.reset_index()


def calibration_by_group(y_true: Any, y_proba: Any, groups: Any) -> pd.DataFrame:
    """Reliability per group (e.g. member tier): is the mean predicted probability the
    observed rate inside each group, not only overall?

    Returns ``group, n, mean_predicted, observed_rate, gap, brier`` (``gap`` = mean
    predicted - observed rate), one row per group in order of first appearance.
    """
    y, p = _check(y_true, y_proba, proba=True)
    g = pd.Series(np.asarray(groups, dtype=object).ravel())
    if len(g) != len(y):
        raise DataQualityError(f"groups has {len(g)} values but y_true has {len(y)}")
    df = pd.DataFrame({"group": g, "p": p, "y": y, "se": (p - y) ** 2})
    out = df.groupby("group", sort=False).agg(
        n=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean"),
        brier=("se", "mean"),
    )  # fmt: skip
    out["gap"] = out["mean_predicted"] - out["observed_rate"]
    return out.reset_index()[["group", "n", "mean_predicted", "observed_rate", "gap", "brier"]]


def roc_curve(y_true: Any, y_score: Any) -> pd.DataFrame:
    """False and true positive rates at every distinct threshold: ``threshold, fpr, tpr``."""
    y, s = _check(y_true, y_score)
    threshold, n_sel, tp = _threshold_counts(y, s)
    fp = n_sel - tp
    n1, n0 = max(y.sum(), 1), max(len(y) - y.sum(), 1)
    return pd.DataFrame(
        {
            "threshold": np.r_[np.inf, threshold],
            "fpr": np.r_[0.0, fp / n0],
            "tpr": np.r_[0.0, tp / n1],
        }
    )


def precision_recall_curve(y_true: Any, y_score: Any) -> pd.DataFrame:
    """Precision and recall at every distinct threshold: ``threshold, precision, recall``."""
    y, s = _check(y_true, y_score)
    threshold, n_sel, tp = _threshold_counts(y, s)
    return pd.DataFrame(
        {"threshold": threshold, "precision": tp / n_sel, "recall": tp / max(y.sum(), 1)}
    )


def cumulative_gains(y_true: Any, y_score: Any, *, n_points: int = 100) -> pd.DataFrame:
    """Share of all positives captured when targeting the top share of rows by score.

    Returns ``fraction, gain, lift`` at ``n_points`` evenly spaced fractions in (0, 1].
    Rows with tied scores are counted in proportion (their order never matters).
    """
    y, s = _check(y_true, y_score)
    n = len(y)
    n1 = y.sum()
    frac = np.linspace(1.0 / n_points, 1.0, n_points)
    if n1 == 0:
        return pd.DataFrame({"fraction": frac, "gain": np.nan, "lift": np.nan})
    order = np.argsort(-s, kind="mergesort")
    ys, ss = y[order], s[order]
    # expected positives in the first k rows when ties are broken at random
    blocks = np.r_[0, np.flatnonzero(np.diff(ss) != 0) + 1, n]
    cum_pos = np.r_[0.0, np.cumsum(ys)]
    k = frac * n
    b = np.clip(np.searchsorted(blocks, k, side="right") - 1, 0, len(blocks) - 2)
    lo, hi = blocks[b], blocks[b + 1]
    within = np.where(hi > lo, (k - lo) / np.maximum(hi - lo, 1), 0.0)
    pos = cum_pos[lo] + within * (cum_pos[hi] - cum_pos[lo])
    gain = pos / n1
    return pd.DataFrame({"fraction": frac, "gain": gain, "lift": gain / frac})


def lift_at(y_true: Any, y_score: Any, fraction: float = 0.1) -> float:
    """Positive rate in the top ``fraction`` of rows by score over the overall rate."""
    if not 0 < fraction <= 1:
        raise ConfigError(f"fraction must be in (0, 1], got {fraction}")
    y, s = _check(y_true, y_score)
    if y.sum() == 0:
        return float("nan")
    g = cumulative_gains(y, s, n_points=1000)
    gain = float(np.interp(fraction, np.r_[0.0, g["fraction"]], np.r_[0.0, g["gain"]]))
    return gain / fraction


def classification_report(y_true: Any, y_proba: Any) -> dict[str, float]:
    """``roc_auc, pr_auc, brier, log_loss, lift_top_decile, base_rate, mean_predicted``."""
    y, p = _check(y_true, y_proba, proba=True)
    return {
        "roc_auc": roc_auc(y, p),
        "pr_auc": pr_auc(y, p),
        "brier": brier_score(y, p),
        "log_loss": log_loss(y, p),
        "lift_top_decile": lift_at(y, p, 0.1),
        "base_rate": float(y.mean()),
        "mean_predicted": float(p.mean()),
    }
