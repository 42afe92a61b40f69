"""Figures people would rather look at than tables. Pure functions returning matplotlib Figures.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot global state) and saved
atomically with :func:`save_figure`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ecomml._io import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["new_figure", "plot_daily_sales", "plot_pareto", "plot_rfm_overview", "save_figure"]


def new_figure(width: float = 10, height: float = 4) -> Figure:
    """An empty ``width`` x ``height`` inch Figure with constrained layout (no pyplot)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 110) -> Path:
    """Save ``fig`` as PNG atomically."""
    with atomic_path(path, suffix=".tmp.png") as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    return Path(path)


def plot_daily_sales(transactions: pd.DataFrame, calendar: pd.DataFrame | None = None) -> Figure:
    """Daily revenue and units, with promotion days shaded (618, Double 11 ... distort every series)."""
    tx = transactions[transactions["quantity"] > 0]
    day = tx["ts"].dt.normalize()
    daily = (
        pd.DataFrame(
            {"date": day, "units": tx["quantity"], "revenue": tx["quantity"] * tx["price"]}
        )
        .groupby("date")[["units", "revenue"]]
        .sum()
    )
    if not daily.empty:
        daily = daily.reindex(pd.date_range(daily.index.min(), daily.index.max()), fill_value=0)
    fig = new_figure(11, 5)
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    ax1.plot(daily.index, daily["revenue"], lw=0.8, color="#1f77b4")
    ax1.set_ylabel("revenue")
    ax2.plot(daily.index, daily["units"], lw=0.8, color="#2ca02c")
    ax2.set_ylabel("units")
    if calendar is not None and not daily.empty:
        promo = calendar[calendar["is_promo"].astype(bool)]
        promo_days = pd.to_datetime(promo["date"]).drop_duplicates()
        promo_days = promo_days[
            (promo_days >= daily.index.min()) & (promo_days <= daily.index.max())
        ]
        for d in promo_days:
            for ax in (ax1, ax2):
                ax.axvspan(d, d + pd.Timedelta(days=1), color="#ff7f0e", alpha=0.15, lw=0)
        ax1.plot([], [], color="#ff7f0e", alpha=0.4, lw=6, label="promotion days")
        ax1.legend(loc="upper left")
    ax1.set_title("Daily sales (promotion days shaded)")
    return fig


def plot_pareto(values: pd.Series, *, title: str = "SKU revenue Pareto curve") -> Figure:
    """Cumulative share of the measure against the share of items, with the 80/95% marks."""
    v = np.sort(np.clip(values.to_numpy(dtype=float), 0, None))[::-1]
    fig = new_figure(6, 4.5)
    ax = fig.subplots()
    if v.size and v.sum() > 0:
        cum = np.cumsum(v) / v.sum()
        share = np.arange(1, v.size + 1) / v.size
        ax.plot(share * 100, cum * 100, color="#1f77b4")
        for level, color in ((0.8, "#d62728"), (0.95, "#ff7f0e")):
            k = int(np.searchsorted(cum, level)) + 1
            ax.axhline(level * 100, color=color, ls="--", lw=0.8)
            ax.annotate(
                f"{level:.0%} of total from {k / v.size:.1%} of items ({k})",
                (k / v.size * 100, level * 100),
                textcoords="offset points",
                xytext=(8, -14),
                fontsize=8,
            )
    ax.set_xlabel("% of items (sorted by measure)")
    ax.set_ylabel("% of total")
    ax.set_title(title)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 101)
    return fig


def plot_rfm_overview(rfm: pd.DataFrame) -> Figure:
    """Histograms of recency, frequency and monetary value (log scale where skewed)."""
    fig = new_figure(12, 3.8)
    axes = fig.subplots(1, 3)
    cols = [c for c in rfm.columns if c.endswith(("recency_days", "frequency", "monetary"))]
    for ax, col in zip(axes, cols, strict=False):
        data = pd.to_numeric(rfm[col], errors="coerce").dropna()
        if col.endswith("recency_days"):
            ax.hist(data, bins=40, color="#1f77b4")
        else:
            pos = data[data > 0]
            bins = (
                np.logspace(np.log10(max(pos.min(), 1e-2)), np.log10(pos.max() + 1), 40)
                if len(pos)
                else 10
            )
            ax.hist(pos, bins=bins, color="#2ca02c")
            ax.set_xscale("log")
        ax.set_title(col.split("__")[-1])
        ax.set_ylabel("customers")
    fig.suptitle("Customer recency / frequency / monetary value at the cutoff")
    return fig
