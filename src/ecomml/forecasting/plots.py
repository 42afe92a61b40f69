"""Forecast figures: fan charts, error by class, coverage per quantile (matplotlib Figures)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ecomml.plots import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_drivers", "plot_error_by_class", "plot_fan_charts", "plot_quantile_coverage"]


def plot_fan_charts(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    *,
    skus: list[str] | None = None,
    n: int = 6,
    history_periods: int = 52,
) -> Figure:
    """Fan charts (q05-q95, q25-q75, mean) after the recent history of ``n`` SKUs
    (default: the top sellers of the history); actuals ``y`` in ``forecast`` are dotted."""
    if skus is None:
        skus = history.groupby("sku")["y"].sum().sort_values(ascending=False).index[:n].tolist()
    cols = 2
    rows = max(1, int(np.ceil(len(skus) / cols)))
    fig = new_figure(12, 2.6 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, sku in zip(axes, skus, strict=False):
        h = history.loc[history["sku"] == sku].sort_values("ds").tail(history_periods)
        f = forecast.loc[forecast["sku"] == sku].sort_values("ds")
        ax.plot(h["ds"], h["y"], color="0.3", lw=1, label="history")
        if len(f):
            ax.fill_between(f["ds"], f["q05"], f["q95"], color="C0", alpha=0.2, label="90%")
            ax.fill_between(f["ds"], f["q25"], f["q75"], color="C0", alpha=0.35, label="50%")
            ax.plot(f["ds"], f["mean"], color="C0", lw=1.5, label="mean")
            if "y" in f.columns and f["y"].notna().any():
                ax.plot(f["ds"], f["y"], "k.", ms=5, label="actual")
        ax.set_title(str(sku), fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[len(skus) :]:
        ax.set_visible(False)
    if len(skus):
        axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Forecast fan charts (top SKUs)")
    return fig


def plot_error_by_class(metrics: pd.DataFrame, *, metric: str = "wape") -> Figure:
    """Bar chart of ``metric`` (and scaled pinball) by demand pattern and ABC class, from
    :func:`~ecomml.metrics.forecast.evaluate_forecast` rows."""
    m = metrics.loc[metrics["group"].isin(["pattern", "abc"])]
    fig = new_figure(10, 3.6)
    axes = fig.subplots(1, 2)
    for ax, group in zip(axes, ["pattern", "abc"], strict=True):
        part = m.loc[m["group"] == group]
        x = np.arange(len(part))
        ax.bar(x - 0.2, part[metric], width=0.4, label=metric)
        ax.bar(x + 0.2, part["scaled_pinball"], width=0.4, label="scaled pinball")
        ax.set_xticks(
            x,
            [f"{v}\n(n={int(n)})" for v, n in zip(part["value"], part["n_series"], strict=True)],
            fontsize=8,
        )
        ax.set_title(f"by {group}")
    axes[0].legend(fontsize=8)
    fig.suptitle("Forecast error by class")
    return fig


def plot_quantile_coverage(calibration: pd.DataFrame) -> Figure:
    """Observed share of actuals at or below each quantile vs the nominal level."""
    fig = new_figure(5, 4.5)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="ideal")
    ax.plot(calibration["level"], calibration["observed"], "o-", label="y <= q")
    ax.plot(calibration["level"], calibration["below"], "s:", label="y < q")
    ax.set_xlabel("quantile level")
    ax.set_ylabel("observed share")
    ax.set_title("Coverage per quantile")
    ax.legend(fontsize=8)
    return fig


def plot_drivers(explained: pd.DataFrame, *, skus: list[str] | None = None, n: int = 6) -> Figure:
    """Why the forecasts of ``n`` SKUs (default: the largest) are what they are: each
    driver's factor per period from :meth:`LightGBMForecaster.explain`, as bars on a log
    axis (above 1 raises the forecast, below 1 lowers it)."""
    factors = [c for c in explained.columns if c.startswith("factor_")]
    if skus is None:
        top = explained.groupby("sku")["lightgbm_mean"].sum().sort_values(ascending=False)
        skus = top.index[:n].tolist()
    cols = 2
    rows = max(1, int(np.ceil(len(skus) / cols)))
    fig = new_figure(12, 2.8 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    width = 0.8 / max(len(factors), 1)
    for ax, sku in zip(axes, skus, strict=False):
        f = explained.loc[explained["sku"] == sku].sort_values("ds")
        x = np.arange(len(f))
        for j, col in enumerate(factors):
            ax.bar(x + (j - (len(factors) - 1) / 2) * width, np.log(f[col].to_numpy()), width,
                   label=col.removeprefix("factor_"), color=f"C{j}")  # fmt: skip
        ax.axhline(0.0, color="0.3", lw=0.8)
        ax.set_xticks(x)
        ax.set_xticklabels([d.strftime("%m-%d") for d in pd.to_datetime(f["ds"])], fontsize=7)
        ax.set_ylabel("log factor", fontsize=8)
        ax.set_title(str(sku), fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[len(skus) :]:
        ax.set_visible(False)
    if len(skus):
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, fontsize=8, ncol=len(factors), loc="outside lower center")
    fig.suptitle("Forecast drivers (top SKUs): each bar is a driver's factor, log scale")
    return fig
