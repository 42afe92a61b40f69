"""Pictures of price response: each category's elasticity with its interval beside the
naive estimate, and the demand curves of the best-selling SKUs with their bands."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ecomml.plots import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_categories", "plot_demand_curves", "plot_profit_curves"]


def _panels(n: int) -> tuple[Figure, np.ndarray]:
    """A figure of ``n`` small panels, three to a row (spare panels hidden)."""
    cols = min(3, max(1, n))
    rows = int(np.ceil(n / cols)) or 1
    fig = new_figure(4 * cols, 3.2 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes


def plot_categories(categories: pd.DataFrame) -> Figure:
    """Elasticity per category with its interval (pooled over its SKUs), and the median
    naive estimate (log units on log price paid, no controls) for comparison."""
    rows = categories.sort_values("elasticity", ascending=False).reset_index(drop=True)
    fig = new_figure(8, 0.4 * len(rows) + 1.8)
    ax = fig.subplots()
    y = np.arange(len(rows))
    e = rows["elasticity"].to_numpy()
    err = np.vstack([e - rows["elasticity_low"].to_numpy(), rows["elasticity_high"].to_numpy() - e])
    ax.errorbar(e, y, xerr=err, fmt="o", capsize=4, label="adjusted (DML, pooled)")
    ax.scatter(rows["naive_median"], y, marker="x", color="tab:red", label="naive (median SKU)")
    ax.axvline(0, color="grey", lw=1, ls="--")
    ax.axvline(-1, color="grey", lw=0.8, ls=":")
    ax.set_yticks(y, [f"{c} ({n})" for c, n in zip(rows["category"], rows["n_skus"], strict=True)])
    ax.set_xlabel("own-price elasticity (% change in units per 1 % price change)")
    ax.set_title("Price elasticity by category (SKUs with their own estimate)")
    ax.legend(loc="lower left", fontsize=8)
    return fig


def plot_demand_curves(table: pd.DataFrame, n: int = 6) -> Figure:
    """Expected units relative to today's, against price from -30 % to +30 %, for the
    ``n`` SKUs with the most units, with the band of the elasticity interval."""
    top = table.sort_values("units", ascending=False).head(n)
    fig, axes = _panels(len(top))
    ratio = np.linspace(0.7, 1.3, 61)
    for ax, (_, r) in zip(axes, top.iterrows(), strict=False):
        lr = np.log(ratio)
        mid = np.exp(lr * r["elasticity"])
        a, b = np.exp(lr * r["elasticity_low"]), np.exp(lr * r["elasticity_high"])
        price = ratio * r["ref_price"]
        ax.fill_between(price, np.minimum(a, b), np.maximum(a, b), alpha=0.25)
        ax.plot(price, mid)
        ax.axvline(r["ref_price"], color="grey", lw=0.8, ls=":")
        ax.set_title(f"{r['sku']} ({r['source']}): {r['elasticity']:.2f}", fontsize=9)
        ax.set_xlabel("price")
        ax.set_ylabel("units vs today")
    fig.suptitle("Demand curves of the best sellers (band: elasticity interval)")
    return fig


def plot_profit_curves(table: pd.DataFrame, max_change: float, n: int = 6) -> Figure:
    """Expected profit over the horizon against price for the ``n`` changed SKUs with the
    largest expected gain (``ecomml price recommend`` rows), today's and the recommended
    price marked, the band from the elasticity interval's ends."""
    moved = table.loc[table["recommended_price"] != table["current_price"]]
    top = moved.sort_values("expected_profit_change", ascending=False).head(n)
    if top.empty:
        top = table.sort_values("baseline_units", ascending=False).head(n)
    fig, axes = _panels(len(top))
    ratio = np.linspace(1 - max_change, 1 + max_change, 61)
    for ax, (_, r) in zip(axes, top.iterrows(), strict=False):
        p = ratio * r["current_price"]
        margin = p - r["cost"]
        curves = [margin * r["baseline_units"] * ratio ** r[c]
                  for c in ("elasticity", "elasticity_low", "elasticity_high")]  # fmt: skip
        ax.fill_between(p, np.minimum(curves[1], curves[2]), np.maximum(curves[1], curves[2]),
                        alpha=0.25)  # fmt: skip
        ax.plot(p, curves[0])
        ax.axvline(r["current_price"], color="grey", lw=0.8, ls=":", label="today")
        ax.axvline(r["recommended_price"], color="tab:green", lw=1.2, label="recommended")
        ax.set_title(f"{r['sku']}: {r['elasticity']:.2f}", fontsize=9)
        ax.set_xlabel("price")
        ax.set_ylabel("expected profit")
    axes[0].legend(fontsize=7)
    fig.suptitle("Expected profit against price (band: elasticity interval)")
    return fig
