"""Member-tier prices: is a standing discount for a tier (standard, silver, gold, black, from
the churn task's RFM tiers) worth its margin?

Each tier's price response is estimated from its own members' purchases
(:class:`~ecomml.pricing.ElasticityModel` on their lines; the shop-level pooled mean and its
standard error). A tier's own estimate is used only where the data supports it: its
interval lies below 0 and is no wider than ``max_width``; otherwise the whole shop's
elasticity stands in and ``source`` says ``shop``. For each discount on the grid the tier's
expected margin over the horizon is ``sum over SKUs of units x (1 - d) ** e x ((1 - d) x
price - cost)`` (units at today's prices: the tier's recent weekly rate); the discount with
the largest gain over no discount is recommended, 0 when none gains.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["TIER_COLUMNS", "tier_discounts"]

#: the columns of ``ecomml price tiers``, in order
TIER_COLUMNS = [
    "tier",
    "customers",
    "baseline_units",
    "baseline_revenue",
    "baseline_margin",
    "elasticity",
    "elasticity_low",
    "elasticity_high",
    "source",
    "recommended_discount",
    "expected_margin_change",
    "expected_revenue_change",
    "reason",
]


def tier_discounts(
    lines: pd.DataFrame, response: pd.DataFrame, discounts: tuple[float, ...]
) -> pd.DataFrame:
    """``lines``: per tier and SKU the baseline ``units``, ``price`` and ``cost`` (and the
    tier's ``customers``); ``response``: per tier ``elasticity, elasticity_low,
    elasticity_high, source``. Returns :data:`TIER_COLUMNS`, one row per tier."""
    grid = np.unique(np.r_[0.0, np.asarray(discounts, dtype=np.float64)])
    out = []
    for tier, g in lines.groupby("tier", sort=False):
        r = response.loc[tier]
        u, p, c = (g[k].to_numpy(np.float64) for k in ("units", "price", "cost"))
        e = float(r["elasticity"])
        ratio = (1.0 - grid)[:, None] ** e
        margin = (u * ratio * ((1.0 - grid)[:, None] * p - c)).sum(axis=1)
        revenue = (u * ratio * (1.0 - grid)[:, None] * p).sum(axis=1)
        best = int(np.argmax(margin)) if np.isfinite(e) else 0
        gain = float(margin[best] - margin[0])
        if not np.isfinite(e):
            reason = "no discount: no price response could be estimated"
        elif best == 0:
            reason = (f"no discount: at elasticity {e:.2f} the extra units do not pay for the "
                      "lower price")  # fmt: skip
        else:
            reason = (f"{grid[best]:.0%} off: at elasticity {e:.2f} the extra units earn more "
                      "margin than the discount costs")  # fmt: skip
        if r["source"] == "shop":
            reason += " (the tier's own response is not clear in the data: the shop's is used)"
        out.append({
            "tier": tier, "customers": int(g["customers"].iat[0]),
            "baseline_units": float(u.sum()), "baseline_revenue": float((u * p).sum()),
            "baseline_margin": float(margin[0]), "elasticity": e,
            "elasticity_low": float(r["elasticity_low"]),
            "elasticity_high": float(r["elasticity_high"]), "source": r["source"],
            "recommended_discount": float(grid[best]), "expected_margin_change": gain,
            "expected_revenue_change": float(revenue[best] - revenue[0]), "reason": reason,
        })  # fmt: skip
    return pd.DataFrame(out, columns=TIER_COLUMNS)
