"""RFM scores, member tiers, lifecycle segments and the marketing action per customer.

Pure functions on per-customer frames. Every rule is data (a frozen dataclass) so a
shop can change thresholds without touching code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ecomml._validation import check_frame
from ecomml.exceptions import ConfigError

__all__ = [
    "RFM_BINS",
    "SEGMENTS",
    "TIERS",
    "SegmentRules",
    "TierRules",
    "lifecycle_segments",
    "member_tiers",
    "next_actions",
    "quantile_scores",
    "rfm_scores",
]

TIERS: tuple[str, ...] = ("standard", "silver", "gold", "black")
SEGMENTS: tuple[str, ...] = ("new", "active", "at-risk", "dormant", "lost")


#: quantile bins of the R, F and M scores (scores 1..5, an RFM score of 3..15)
RFM_BINS = 5


@dataclass(frozen=True)
class TierRules:
    """Member tier from the RFM score (sum of R, F and M scores, 3..15 with 5 bins).

    A customer gets the highest tier whose ``min_score`` they reach and, where given,
    whose ``min_monetary`` (lifetime spend) they reach too.
    """

    min_score: dict[str, int] = field(
        default_factory=lambda: {"silver": 8, "gold": 11, "black": 14}
    )
    min_monetary: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.min_score) | set(self.min_monetary)
        unknown -= set(TIERS[1:])
        if unknown:
            raise ConfigError(
                f"unknown tier(s) {sorted(unknown)}; tiers are {', '.join(TIERS[1:])} "
                "(standard is everyone else)"
            )


@dataclass(frozen=True)
class SegmentRules:
    """Lifecycle segment thresholds, in days since the last purchase.

    * new - one purchase day, first purchase within ``new_days``;
    * active - last purchase within ``active_days`` and churn probability below
      ``risk_threshold`` (when a probability is given);
    * at-risk - last purchase within ``dormant_days`` but not active;
    * dormant - last purchase within ``lost_days``;
    * lost - older.
    """

    new_days: int = 30
    active_days: int = 90
    dormant_days: int = 180
    lost_days: int = 365
    risk_threshold: float = 0.5

    def __post_init__(self) -> None:
        if not (0 < self.active_days <= self.dormant_days <= self.lost_days):
            raise ConfigError(
                "segment rules need 0 < active_days <= dormant_days <= lost_days, got "
                f"{self.active_days}, {self.dormant_days}, {self.lost_days}"
            )


def quantile_scores(values: pd.Series, bins: int, higher_is_better: bool) -> np.ndarray:
    """Scores 1..``bins`` from the values' average ranks as a share of all values (ties
    share a score; a missing value counts as the median)."""
    v = values.astype("float64").fillna(values.median() if values.notna().any() else 0.0)
    ranks = v.rank(method="average", pct=True).to_numpy()
    if not higher_is_better:
        ranks = 1.0 - ranks + 1.0 / max(len(v), 1)
    return np.clip(np.ceil(ranks * bins), 1, bins).astype("int64")


def _fixed(values: pd.Series, edges: Any, higher_is_better: bool) -> np.ndarray:
    e = np.asarray(edges, dtype="float64")
    if np.any(np.diff(e) <= 0):
        raise ConfigError(f"RFM thresholds must be increasing, got {list(e)}")
    idx = np.searchsorted(e, values.astype("float64").fillna(0.0).to_numpy(), side="right")
    return (idx + 1 if higher_is_better else len(e) + 1 - idx).astype("int64")


def rfm_scores(
    rfm: pd.DataFrame,
    *,
    bins: int = RFM_BINS,
    thresholds: dict[str, Any] | None = None,
    recency_col: str = "recency_days",
    frequency_col: str = "frequency",
    monetary_col: str = "monetary",
) -> pd.DataFrame:
    """R, F and M scores 1..``bins`` (higher is better) and their sum ``rfm_score``.

    By default scores are quantiles of the customers given. ``thresholds`` maps
    ``"recency"``, ``"frequency"``, ``"monetary"`` to increasing cut points (``bins - 1``
    of them) for fixed, comparable-over-time scores: e.g. ``{"recency": [30, 60, 120,
    240]}`` scores a customer seen 45 days ago 4.
    """
    check_frame(rfm, required=[recency_col, frequency_col, monetary_col], name="rfm")
    if bins < 2:
        raise ConfigError(f"bins must be at least 2, got {bins}")
    thr = dict(thresholds or {})
    out = pd.DataFrame(index=rfm.index)
    for key, col, better in (
        ("recency", recency_col, False),
        ("frequency", frequency_col, True),
        ("monetary", monetary_col, True),
    ):
        if key in thr:
            if len(thr[key]) != bins - 1:
                raise ConfigError(
                    f"{key} thresholds need {bins - 1} cut points, got {len(thr[key])}"
                )
            out[f"{key[0]}_score"] = _fixed(rfm[col], thr[key], better)
        else:
            out[f"{key[0]}_score"] = quantile_scores(rfm[col], bins, better)
    out["rfm_score"] = out["r_score"] + out["f_score"] + out["m_score"]
    return out


def member_tiers(
    scores: pd.DataFrame, *, monetary: pd.Series | None = None, rules: TierRules | None = None
) -> pd.Series:
    """Tier per customer (``standard``, ``silver``, ``gold``, ``black``) from ``rfm_score``."""
    rules = rules or TierRules()
    check_frame(scores, required=["rfm_score"], name="scores")
    tier = pd.Series("standard", index=scores.index, dtype="object")
    for name in TIERS[1:]:
        ok = np.ones(len(scores), dtype=bool)
        if name in rules.min_score:
            ok &= scores["rfm_score"].to_numpy() >= rules.min_score[name]
        elif name not in rules.min_monetary:
            continue
        if name in rules.min_monetary:
            if monetary is None:
                raise ConfigError(f"tier rule for {name} uses min_monetary: pass monetary=")
            ok &= monetary.reindex(scores.index).fillna(0).to_numpy() >= rules.min_monetary[name]
        tier[ok] = name
    return tier


def lifecycle_segments(
    recency_days: Any,
    frequency: Any,
    tenure_days: Any,
    *,
    p_churn: Any = None,
    rules: SegmentRules | None = None,
) -> np.ndarray:
    """Lifecycle segment per customer; see :class:`SegmentRules`."""
    rules = rules or SegmentRules()
    rec = np.asarray(recency_days, dtype="float64")
    freq = np.asarray(frequency, dtype="float64")
    ten = np.asarray(tenure_days, dtype="float64")
    risky = (
        np.zeros(len(rec), dtype=bool)
        if p_churn is None
        else np.asarray(p_churn, dtype="float64") >= rules.risk_threshold
    )
    seg = np.full(len(rec), "lost", dtype=object)
    seg[rec <= rules.lost_days] = "dormant"
    seg[rec <= rules.dormant_days] = "at-risk"
    seg[(rec <= rules.active_days) & ~risky] = "active"
    seg[(freq <= 1) & (ten <= rules.new_days)] = "new"
    return seg


def next_actions(
    scored: pd.DataFrame,
    *,
    high_value_quantile: float = 0.8,
    high_value_threshold: float | None = None,
) -> np.ndarray:
    """The marketing action per customer from ``tier``, ``segment``, ``p_churn`` and
    ``expected_value`` / ``value_at_risk``.

    * black or gold tier, at-risk or dormant - "VIP care: personal contact";
    * new - "repurchase nudge: second-order offer within 7 days";
    * dormant or at-risk with high value at risk - "win-back offer";
    * at-risk - "retention reminder";
    * dormant - "low-cost reactivation email";
    * lost - "suppress (no paid contact)";
    * active - "loyalty: cross-sell" (gold/black) or "no action".

    "High value at risk" is the top ``1 - high_value_quantile`` of the customers given;
    ``high_value_threshold`` sets the cut directly (a distributed scorer computes it once
    over all customers and passes it to every partition).
    """
    check_frame(scored, required=["tier", "segment", "value_at_risk"], name="scored")
    var = scored["value_at_risk"].astype("float64").fillna(0.0)
    if high_value_threshold is None:
        high_value_threshold = var.quantile(high_value_quantile) if len(var) else 0.0
    high = var >= high_value_threshold
    seg = scored["segment"].to_numpy()
    tier = scored["tier"].to_numpy()
    premium = np.isin(tier, ("gold", "black"))
    act = np.full(len(scored), "no action", dtype=object)
    act[(seg == "active") & premium] = "loyalty: cross-sell"
    act[seg == "lost"] = "suppress (no paid contact)"
    act[seg == "dormant"] = "low-cost reactivation email"
    act[seg == "at-risk"] = "retention reminder"
    act[np.isin(seg, ("at-risk", "dormant")) & high.to_numpy()] = "win-back offer"
    act[seg == "new"] = "repurchase nudge: second-order offer within 7 days"
    act[np.isin(seg, ("at-risk", "dormant")) & premium] = "VIP care: personal contact"
    return act
