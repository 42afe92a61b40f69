"""Markdown plans: the weekly discount schedule that clears slow stock by a date at the best
expected recovered revenue.

Per SKU, every two-phase schedule (discount ``d1`` for the first ``k`` weeks, then ``d2 >=
d1`` to the clear-by date; one level throughout included) over a grid of discount levels is
simulated on the demand distribution: weekly demand is Poisson with mean ``baseline x (1 -
d) ** e``, the elasticity ``e`` drawn for each simulated path from its normal, cut to its
interval and to <= 0 (the same draws for every schedule, so schedules are compared on the
same futures; without the cut a few extreme draws would buy the deepest markdown), and a
week sells
``min(demand, stock left)``. Revenue is what the sold units fetch, plus ``salvage`` x unit
cost for each unit left at the date. The schedule with the highest mean revenue wins; keeping
the price and a uniform 30 % markdown are reported beside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecomml.exceptions import ConfigError

__all__ = ["MARKDOWN_COLUMNS", "markdown_plans", "schedules"]

#: the columns of ``ecomml price markdown``, in order
MARKDOWN_COLUMNS = [
    "sku",
    "on_hand",
    "current_price",
    "schedule",
    "first_markdown_week",
    "final_discount",
    "expected_units_sold",
    "expected_clear_share",
    "expected_revenue",
    "revenue_no_markdown",
    "revenue_uniform_30",
    "expected_leftover",
    "elasticity",
    "weekly_units",
    "unit_cost",
    "reason",
]


def schedules(weeks: int, levels: np.ndarray) -> np.ndarray:
    """Every two-phase schedule: ``(n, weeks)`` discounts, ``d1`` for the first ``k`` weeks
    then ``d2 >= d1`` (``k`` from 1 to ``weeks``; ``k = weeks`` is one level throughout)."""
    rows = []
    for i, d1 in enumerate(levels):
        rows.append(np.full(weeks, d1))
        for d2 in levels[i + 1 :]:
            for k in range(1, weeks):
                rows.append(np.r_[np.full(k, d1), np.full(weeks - k, d2)])
    return np.unique(np.asarray(rows, dtype=np.float64), axis=0)


def _simulate(
    sched: np.ndarray, price: float, stock: float, base: float, e: np.ndarray,
    rng: np.random.Generator, salvage_value: float,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Mean revenue and mean units sold of each schedule over the paths (``e``: one
    elasticity per path)."""
    n, weeks = sched.shape
    paths = e.size
    mean = base * (1.0 - sched)[:, None, :] ** e[None, :, None]  # (n, paths, weeks)
    demand = rng.poisson(mean)
    left = np.full((n, paths), float(stock))
    revenue = np.zeros((n, paths))
    for w in range(weeks):
        sold = np.minimum(demand[:, :, w], left)
        left -= sold
        revenue += sold * price * (1.0 - sched[:, w])[:, None]
    revenue += left * salvage_value
    return revenue.mean(axis=1), (stock - left).mean(axis=1)


def markdown_plans(
    table: pd.DataFrame,
    *,
    weeks: int,
    levels: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7),
    salvage: float = 0.0,
    paths: int = 200,
    interval: float = 0.9,
    seed: int = 0,
) -> pd.DataFrame:
    """The best schedule per row of ``table`` (``sku, on_hand, current_price, unit_cost,
    weekly_units, elasticity, elasticity_low, elasticity_high``, optional ``reason``):
    :data:`MARKDOWN_COLUMNS`."""
    from scipy import stats

    if int(weeks) < 1:
        raise ConfigError(
            f"the clear-by date must be at least a week after the cutoff ({weeks} weeks)"
        )
    lv = np.unique(np.asarray(levels, dtype=np.float64))
    if lv.size == 0 or lv.min() < 0 or lv.max() >= 1:
        raise ConfigError(f"--levels {levels}: discounts must be in [0, 1), e.g. 0,0.1,0.2,0.3")
    if 0.0 not in lv:
        lv = np.r_[0.0, lv]
    if not 0 <= salvage <= 1:
        raise ConfigError(f"--salvage {salvage}: a share of unit cost in [0, 1]")
    sched = schedules(int(weeks), lv)
    keep = np.flatnonzero((sched == 0).all(axis=1))[0]
    uniform = np.full((1, int(weeks)), 0.3)
    z = float(stats.norm.ppf(0.5 + interval / 2))
    out = []
    for i, r in enumerate(table.reset_index(drop=True).itertuples(index=False)):
        rng = np.random.default_rng([int(seed), i])
        sd = max((float(r.elasticity_high) - float(r.elasticity_low)) / (2 * z), 0.0)
        # draws within the interval: the plan should not be bought by a few extreme tails
        lo, hi = float(r.elasticity_low), min(float(r.elasticity_high), 0.0)
        e = np.clip(rng.normal(float(r.elasticity), sd, int(paths)), min(lo, hi), hi)
        stock, price, base = float(r.on_hand), float(r.current_price), float(r.weekly_units)
        cost = float(r.unit_cost) if np.isfinite(r.unit_cost) else 0.0
        both = np.vstack([sched, uniform])
        rev, sold = _simulate(both, price, stock, max(base, 0.0), e,
                              np.random.default_rng([int(seed), i, 1]), salvage * cost)  # fmt: skip
        best = int(np.argmax(rev[:-1]))
        s = sched[best]
        marked = np.flatnonzero(s > 0)
        out.append({
            "sku": r.sku, "on_hand": stock, "current_price": price,
            "schedule": ",".join(f"{round(100 * d)}" for d in s),
            "first_markdown_week": int(marked[0]) + 1 if marked.size else 0,
            "final_discount": float(s[-1]), "expected_units_sold": float(sold[best]),
            "expected_clear_share": float(sold[best] / stock) if stock > 0 else np.nan,
            "expected_revenue": float(rev[best]), "revenue_no_markdown": float(rev[keep]),
            "revenue_uniform_30": float(rev[-1]),
            "expected_leftover": float(stock - sold[best]), "elasticity": float(r.elasticity),
            "weekly_units": base, "unit_cost": cost,
            "reason": getattr(r, "reason", ""),
        })  # fmt: skip
    return pd.DataFrame(out, columns=MARKDOWN_COLUMNS)
