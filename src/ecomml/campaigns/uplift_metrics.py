"""How well an uplift score ranks customers, judged on a randomised campaign.

Sort customers by the score, best first, and target the first ``k``: the **uplift curve**
is ``(mean outcome of the treated - mean of the controls among them) × k``, the **Qini
curve** ``treated outcome - control outcome × treated / controls`` among them. Both end
at the campaign's overall effect; a score that ranks well rises above the straight line
from ``(0, 0)`` to that end. Ties in the score are one step (no order is invented inside a
tie), as in scikit-uplift, whose definitions these follow so the numbers compare.

* :func:`uplift_auc` / :func:`qini_auc`: area between the curve and the random line,
  divided by the same area of the perfect ranking (1 = perfect, 0 = random); the perfect
  ranking is defined for 0/1 outcomes only.
* :func:`auuc`: area between the uplift curve and the random line per customer², in the
  outcome's own units (works for revenue too).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ecomml.exceptions import DataQualityError

__all__ = [
    "auuc",
    "perfect_qini_curve",
    "perfect_uplift_curve",
    "qini_auc",
    "qini_curve",
    "uplift_at_share",
    "uplift_auc",
    "uplift_curve",
]


def _arrays(y: Any, treatment: Any, score: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y_, t_, s_ = (np.asarray(a, dtype="float64").ravel() for a in (y, treatment, score))
    if not len(y_) == len(t_) == len(s_):
        raise DataQualityError(
            f"outcome, treatment and score differ in length ({len(y_)}, {len(t_)}, {len(s_)})"
        )
    if not np.isin(t_, (0.0, 1.0)).all():
        raise DataQualityError("treatment must be 0 (control) or 1 (treated) for every unit")
    if np.isnan(y_).any() or np.isnan(s_).any():
        raise DataQualityError("outcome and score must not be missing")
    return y_, t_, s_


def _cumulative(
    y: np.ndarray, t: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Targeted count, treated count, treated outcome and control outcome at each distinct
    score, best first (one point per tie group)."""
    order = np.argsort(score, kind="mergesort")[::-1]
    y, t, s = y[order], t[order], score[order]
    ends = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    n_t = np.cumsum(t)[ends]
    y_t = np.cumsum(y * t)[ends]
    y_c = np.cumsum(y * (1 - t))[ends]
    return ends + 1.0, n_t, y_t, y_c


def _with_origin(x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.r_[0.0, x], np.r_[0.0, v]


def uplift_curve(y: Any, treatment: Any, score: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(k, uplift × k)``: targeted count and (treated mean - control mean) × count."""
    y_, t_, s_ = _arrays(y, treatment, score)
    n, n_t, y_t, y_c = _cumulative(y_, t_, s_)
    n_c = n - n_t
    with np.errstate(invalid="ignore", divide="ignore"):
        mt = np.where(n_t > 0, y_t / np.maximum(n_t, 1), 0.0)
        mc = np.where(n_c > 0, y_c / np.maximum(n_c, 1), 0.0)
    return _with_origin(n, (mt - mc) * n)


def qini_curve(y: Any, treatment: Any, score: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(k, incremental outcome)``: treated outcome - control outcome × treated/controls."""
    y_, t_, s_ = _arrays(y, treatment, score)
    n, n_t, y_t, y_c = _cumulative(y_, t_, s_)
    n_c = n - n_t
    ratio = np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c > 0)
    return _with_origin(n, y_t - y_c * ratio)


def _binary(y: np.ndarray) -> None:
    if not np.isin(y, (0.0, 1.0)).all():
        raise DataQualityError(
            "the perfect ranking (and so uplift_auc/qini_auc) needs a 0/1 outcome; use auuc "
            "for revenue-like outcomes"
        )


def perfect_uplift_curve(y: Any, treatment: Any) -> tuple[np.ndarray, np.ndarray]:
    """The uplift curve of the best possible ranking of a 0/1 outcome."""
    y_, t_, _ = _arrays(y, treatment, np.zeros(len(np.asarray(y))))
    _binary(y_)
    control_responders = np.sum((y_ == 1) & (t_ == 0))
    treated_non = np.sum((y_ == 0) & (t_ == 1))
    extra = y_ if control_responders > treated_non else t_
    return uplift_curve(y_, t_, 2.0 * (y_ == t_) + extra)


def perfect_qini_curve(y: Any, treatment: Any) -> tuple[np.ndarray, np.ndarray]:
    """The Qini curve of the best possible ranking of a 0/1 outcome (negative effects
    allowed: control responders ranked last)."""
    y_, t_, _ = _arrays(y, treatment, np.zeros(len(np.asarray(y))))
    _binary(y_)
    return qini_curve(y_, t_, y_ * t_ - y_ * (1 - t_))


def _area_over_random(x: np.ndarray, v: np.ndarray) -> float:
    """Area under ``(x, v)`` minus the straight line from the origin to its end."""
    return float(np.trapezoid(v, x) - x[-1] * v[-1] / 2.0)


def uplift_auc(y: Any, treatment: Any, score: Any) -> float:
    """Area between the uplift curve and random, over the perfect ranking's (0/1 outcome)."""
    return _area_over_random(*uplift_curve(y, treatment, score)) / _area_over_random(
        *perfect_uplift_curve(y, treatment)
    )


def qini_auc(y: Any, treatment: Any, score: Any) -> float:
    """Area between the Qini curve and random, over the perfect ranking's (0/1 outcome)."""
    return _area_over_random(*qini_curve(y, treatment, score)) / _area_over_random(
        *perfect_qini_curve(y, treatment)
    )


def auuc(y: Any, treatment: Any, score: Any) -> float:
    """Area between the uplift curve and random divided by n²: the average extra outcome
    per customer that ranking by ``score`` gains over random targeting, averaged over every
    targeting depth (outcome units; 0 = random). Any outcome, revenue included."""
    x, v = uplift_curve(y, treatment, score)
    return _area_over_random(x, v) / (x[-1] ** 2)


def uplift_at_share(y: Any, treatment: Any, score: Any, share: float = 0.3) -> float:
    """Treated mean - control mean among the top ``share`` of customers by ``score``."""
    if not 0 < share <= 1:
        raise DataQualityError(f"share must be in (0, 1], got {share}")
    y_, t_, s_ = _arrays(y, treatment, score)
    top = np.argsort(-s_, kind="mergesort")[: max(1, int(round(share * len(s_))))]
    yt, tt = y_[top], t_[top]
    if tt.all() or not tt.any():
        return float("nan")
    return float(yt[tt == 1].mean() - yt[tt == 0].mean())
