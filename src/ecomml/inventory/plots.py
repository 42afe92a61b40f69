"""Inventory plots: Pareto curve with class cut-offs, ABC-XYZ heat map, inventory traces,
service vs inventory trade-off curve (matplotlib Figure objects, no pyplot state)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "class_figures",
    "plot_abc_xyz_heatmap",
    "plot_cost_tradeoff",
    "plot_inventory_traces",
    "plot_pareto_classes",
    "plot_tradeoff",
]

_CLASS_COLORS = {"A": "#2ca02c", "B": "#ff7f0e", "C": "#d62728"}


def plot_pareto_classes(classes: pd.DataFrame, *, measure: str = "revenue") -> Figure:
    """Cumulative share of ``value`` against the share of SKUs, shaded by ABC class."""
    c = classes.sort_values("value", ascending=False, kind="mergesort")
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.subplots()
    n = len(c)
    if n and c["value"].sum() > 0:
        x = np.arange(1, n + 1) / n * 100
        y = c["value"].cumsum().to_numpy() / c["value"].sum() * 100
        ax.plot(x, y, color="#1f77b4", lw=1.5)
        cls = c["abc"].to_numpy()
        for k in "ABC":
            sel = cls == k
            if sel.any():
                lo, hi = x[sel].min(), x[sel].max()
                ax.axvspan(lo - 100 / n, hi, color=_CLASS_COLORS[k], alpha=0.12)
                pct = c["value"].to_numpy()[sel].sum() / c["value"].sum() * 100
                ax.text((lo + hi) / 2, 5, f"{k}: {sel.sum()} SKUs\n{pct:.0f}% of {measure}",
                        ha="center", fontsize=8)  # fmt: skip
        for k in "AB":
            sel = cls == k
            if sel.any():
                ax.axhline(y[sel].max(), color=_CLASS_COLORS[k], ls="--", lw=0.8)
    ax.set_xlabel("% of SKUs (sorted by " + measure + ")")
    ax.set_ylabel(f"cumulative % of {measure}")
    ax.set_title(f"Pareto curve and ABC classes ({n} SKUs)")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 101)
    return fig


def plot_abc_xyz_heatmap(matrix: pd.DataFrame) -> Figure:
    """The 9-cell ABC-XYZ matrix: SKU counts and value share per cell."""
    fig = Figure(figsize=(5.5, 4.5), layout="constrained")
    ax = fig.subplots()
    share = matrix.pivot(index="abc", columns="xyz", values="value_share").reindex(
        index=list("ABC"), columns=list("XYZ")
    )
    count = matrix.pivot(index="abc", columns="xyz", values="skus").reindex(
        index=list("ABC"), columns=list("XYZ")
    )
    im = ax.imshow(share.to_numpy() * 100, cmap="Blues", vmin=0)
    for i in range(3):
        for j in range(3):
            v = share.iloc[i, j] * 100
            ax.text(j, i, f"{int(count.iloc[i, j])} SKUs\n{v:.1f}%", ha="center", va="center",
                    color="white" if v > share.to_numpy().max() * 60 else "black", fontsize=9)  # fmt: skip
    ax.set_xticks(range(3), ["X (stable)", "Y", "Z (erratic)"])
    ax.set_yticks(range(3), ["A", "B", "C"])
    ax.set_title("ABC-XYZ matrix (% of value)")
    fig.colorbar(im, ax=ax, label="% of value")
    return fig


def plot_inventory_traces(traces: pd.DataFrame, skus: Sequence[str] | None = None) -> Figure:
    """On-hand stock, order-up-to level, demand and lost sales per period for a few SKUs."""
    if skus is None:
        top = traces.groupby("sku")["demand"].sum().sort_values(ascending=False)
        skus = list(top.index[:4])
    skus = list(skus)[:6]
    fig = Figure(figsize=(10, 2.4 * max(len(skus), 1)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(max(len(skus), 1), 1, sharex=True))
    for ax, sku in zip(axes, skus, strict=False):
        t = traces.loc[traces["sku"] == sku]
        ax.step(t["ds"], t["on_hand_start"], where="post", label="on hand (start)", color="#1f77b4")
        ax.step(
            t["ds"], t["order_up_to"], where="post", label="order-up-to", color="#7f7f7f", ls="--"
        )
        ax.bar(t["ds"], t["demand"], width=3, alpha=0.4, label="demand", color="#ff7f0e")
        lost = t["demand"] - t["sales"]
        if (lost > 0).any():
            ax.scatter(t.loc[lost > 0, "ds"], lost[lost > 0], color="#d62728", marker="x",
                       label="lost sales", zorder=3)  # fmt: skip
        ax.set_title(str(sku), fontsize=9)
        ax.set_ylabel("units")
    axes[0].legend(fontsize=7, ncol=4, loc="upper left")
    return fig


def plot_tradeoff(curve: pd.DataFrame, *, metric: str = "fill_rate") -> Figure:
    """Achieved service against average inventory value, one line per policy."""
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.subplots()
    for pol, g in curve.groupby("policy"):
        g = g.sort_values("service_level")
        ax.plot(g["avg_value"], g[metric] * 100, marker="o", label=str(pol))
        for _, r in g.iterrows():
            ax.annotate(f"{r['service_level']:g}", (r["avg_value"], r[metric] * 100),
                        textcoords="offset points", xytext=(4, -10), fontsize=7)  # fmt: skip
    ax.set_xlabel("average inventory value")
    ax.set_ylabel(f"achieved {metric.replace('_', ' ')} (%)")
    ax.set_title("Service vs inventory (labels: target level)")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def plot_cost_tradeoff(
    curve: pd.DataFrame, chosen: dict[str, float], *, per_week: float = 1.0
) -> Figure:
    """Expected cost per week (holding, shortage, ordering, total) against the fill rate
    of levels at one service quantile for every SKU, with the cost-optimal plan marked."""
    c = curve.sort_values("expected_fill_rate")
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    x = c["expected_fill_rate"].to_numpy()
    parts = [("expected_holding_cost", "holding", "#1f77b4"),
             ("expected_shortage_cost", "shortage (lost margin)", "#d62728"),
             ("expected_order_cost", "ordering", "#7f7f7f")]  # fmt: skip
    for col, label, color in parts:
        if c[col].abs().sum() > 0:
            ax.plot(x, c[col] * per_week, color=color, lw=1.2, ls="--", label=label)
    ax.plot(x, c["expected_cost"] * per_week, color="black", lw=2, label="total")
    for tau, xx, yy in zip(c["service_quantile"], x, c["expected_cost"] * per_week, strict=True):
        ax.annotate(f"{tau:g}", (xx, yy), fontsize=7, textcoords="offset points", xytext=(0, 4))
    ax.scatter([chosen["expected_fill_rate"]], [chosen["expected_cost"] * per_week],
               color="#2ca02c", s=80, zorder=5, label="cost-optimal plan (per-SKU levels)")  # fmt: skip
    ax.set_xlabel("expected fill rate (demand-weighted)")
    ax.set_ylabel("expected cost per week")
    ax.set_title("Cost of service: one service quantile for every SKU vs per-SKU cost optimum",
                 fontsize=9)  # fmt: skip
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def class_figures(classes: pd.DataFrame, *, measure: str = "revenue") -> dict[str, Figure]:
    """The two class pictures every inventory output comes with: ``pareto.png`` (the Pareto
    curve with the class cut-offs) and ``abc_xyz.png`` (the ABC-XYZ matrix)."""
    from ecomml.inventory.classify import abc_xyz_matrix

    return {
        "pareto.png": plot_pareto_classes(classes, measure=measure),
        "abc_xyz.png": plot_abc_xyz_heatmap(abc_xyz_matrix(classes)),
    }
