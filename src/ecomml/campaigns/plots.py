"""Pictures of a campaign: the interval of each A/B variant's lift, the lift over time, the
Qini curves of uplift targeting and a promotion's sales against its counterfactual."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ecomml.plots import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "cumulative_lift",
    "plot_cumulative_lift",
    "plot_intervals",
    "plot_promotion",
    "plot_qini",
]


def plot_intervals(table: pd.DataFrame, metric: str) -> Figure:
    """Relative lift of every variant (and method) on ``metric`` with its interval, over
    all units (the rows of :func:`~ecomml.campaigns.analyze_experiment`)."""
    rows = table.loc[table["metric"] == metric]
    if "segment" in rows:
        rows = rows.loc[rows["segment"] == rows["segment"].iloc[0]]
    labels = [f"{v} ({m})" for v, m in zip(rows["variant"], rows["method"], strict=True)]
    fig = new_figure(8, 0.5 * len(rows) + 1.6)
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]
    lift = rows["rel_lift"].to_numpy() * 100
    err = np.vstack([lift - rows["rel_lift_low"] * 100, rows["rel_lift_high"] * 100 - lift])
    ax.errorbar(lift, y, xerr=err, fmt="o", capsize=4)
    ax.axvline(0, color="grey", lw=1, ls="--")
    ax.set_yticks(y, labels)
    ax.set_xlabel("lift vs control (%)")
    ax.set_title(f"{metric}: lift vs {rows['control'].iloc[0]} with its interval")
    return fig


def cumulative_lift(
    frame: pd.DataFrame, *, variant_col: str, control: str, metric: str, time_col: str
) -> pd.DataFrame:
    """``time, variant, rel_lift``: each variant's lift on ``metric`` over the units
    assigned up to each day (the cumulative means)."""
    t = frame[time_col]
    t = t if pd.api.types.is_numeric_dtype(t) else pd.to_datetime(t).dt.floor("D")
    df = pd.DataFrame({"time": t, "variant": frame[variant_col].astype(str), "y": frame[metric]})
    daily = df.groupby(["time", "variant"])["y"].agg(["sum", "count"]).unstack("variant")
    daily = daily.fillna(0).cumsum()
    means = daily["sum"] / daily["count"]
    lift = means.div(means[str(control)], axis=0) - 1
    lift = lift.drop(columns=str(control)).rename_axis(columns="variant")
    return lift.stack().rename("rel_lift").reset_index()


def plot_cumulative_lift(lift: pd.DataFrame, metric: str, control: str) -> Figure:
    """The lift of each variant over time (:func:`cumulative_lift`)."""
    fig = new_figure(9, 4)
    ax = fig.subplots()
    for variant, g in lift.groupby("variant"):
        ax.plot(g["time"], g["rel_lift"] * 100, label=str(variant))
    ax.axhline(0, color="grey", lw=1, ls="--")
    ax.set_ylabel("cumulative lift vs control (%)")
    ax.set_title(f"{metric}: cumulative lift vs {control}")
    ax.legend()
    return fig


def plot_qini(
    y: np.ndarray, treatment: np.ndarray, scores: dict[str, np.ndarray], outcome: str
) -> Figure:
    """Qini curves of each targeting ``scores`` (name -> score per unit) on held-out units,
    with random targeting as the straight line: incremental ``outcome`` against the share
    of customers targeted."""
    from ecomml.campaigns.uplift_metrics import qini_curve

    fig = new_figure(8, 5)
    ax = fig.subplots()
    end = 0.0
    for name, score in scores.items():
        x, v = qini_curve(y, treatment, score)
        ax.plot(x / x[-1] * 100, v, label=name)
        end = v[-1]
    ax.plot([0, 100], [0, end], color="grey", ls="--", lw=1, label="random")
    ax.set_xlabel("customers targeted, best first (%)")
    ax.set_ylabel(f"incremental {outcome} (held-out units)")
    ax.set_title(f"Qini curve: incremental {outcome} by targeting depth")
    ax.legend()
    return fig


def plot_promotion(periods: pd.DataFrame, title: str) -> Figure:
    """The promoted SKUs' units per period: actual against the counterfactual (no
    promotion) with its interval, the promotion's periods shaded (the rows of
    :attr:`~ecomml.campaigns.promo.PromoResult.periods`)."""
    fig = new_figure(9, 4.2)
    ax = fig.subplots()
    start = pd.to_datetime(periods["ds"])
    step = (start.iloc[1] - start.iloc[0]) if len(start) > 1 else pd.Timedelta(days=7)
    x = start + step / 2  # each period drawn at its middle
    ax.fill_between(x, periods["counterfactual_low"], periods["counterfactual_high"],
                    alpha=0.25, color="C0", label="counterfactual interval")  # fmt: skip
    ax.plot(x, periods["counterfactual_units"], "--", color="C0", label="counterfactual")
    ax.plot(x, periods["actual_units"], "o-", color="C3", label="actual")
    promo = start[periods["in_promotion"].to_numpy(dtype=bool)]
    if len(promo):
        ax.axvspan(promo.min(), promo.max() + step, color="gold", alpha=0.2, label="promotion")
    ax.set_ylabel("units")
    ax.set_title(title)
    ax.legend(loc="best")
    fig.autofmt_xdate()
    return fig
