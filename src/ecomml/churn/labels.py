"""Point-in-time labels and RFM summaries for churn, repurchase and customer value.

Pure functions on canonical transactions (``customer_id, ts, quantity, price``). A
*purchase* is a day with at least one purchase line (``quantity > 0``) of a customer:
BTYD models count purchase occasions, so several orders on one day are one purchase.
Every function takes an explicit ``cutoff`` (exclusive: history is ``ts < cutoff``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ecomml._validation import check_cutoff, check_frame
from ecomml.exceptions import ConfigError, DataQualityError

__all__ = [
    "churn_labels",
    "history_features",
    "label_cutoffs",
    "purchase_days",
    "repurchase_labels",
    "rfm_summary",
]

_UNITS = {"D": 1.0, "W": 7.0}


def purchase_days(transactions: pd.DataFrame, *, allow_zero_value: bool = True) -> pd.DataFrame:
    """One row per customer and purchase day: ``customer_id, day, value``.

    Rows without a customer id are ignored. Negative prices on purchase lines are refused
    (a return is a negative *quantity*, not a negative price).
    """
    tx = check_frame(
        transactions, required=["customer_id", "ts", "quantity", "price"], name="transactions"
    )
    buy = tx.loc[
        tx["customer_id"].notna() & (tx["quantity"] > 0), ["customer_id", "ts", "quantity", "price"]
    ]
    neg = buy["price"] < 0
    if neg.any():
        rows = (np.flatnonzero(neg.to_numpy()) + 1)[:5].tolist()
        raise DataQualityError(
            f"transactions: {int(neg.sum())} purchase line(s) have a negative price (purchase "
            f"lines {rows}); negative spend cannot be a purchase. Record returns as negative "
            "quantities, or drop adjustment rows before scoring churn.",
            bad_rows=rows,
        )
    if not allow_zero_value:
        buy = buy.loc[buy["price"] > 0]
    out = (
        pd.DataFrame(
            {
                "customer_id": buy["customer_id"].astype(str).to_numpy(),
                "day": buy["ts"].dt.normalize().to_numpy(),
                "value": (buy["quantity"] * buy["price"]).to_numpy(),
            }
        )
        .groupby(["customer_id", "day"], sort=True, as_index=False)["value"]
        .sum()
    )
    return out


def rfm_summary(
    transactions: pd.DataFrame | None = None,
    *,
    cutoff: Any,
    unit: str = "D",
    days: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """BTYD summary per customer with a purchase before ``cutoff``.

    Columns ``customer_id, frequency, recency, T, monetary_value, first_day, last_day``:

    * ``frequency`` - repeat purchase days (purchase days - 1);
    * ``recency`` - time from the first to the last purchase day;
    * ``T`` - time from the first purchase day to the last day before the cutoff
      (Fader-Hardie-Lee and lifetimes convention: a purchase on that day has recency = T);
    * ``monetary_value`` - mean value of the repeat purchase days (0 without repeats).

    ``unit`` is ``"D"`` (days) or ``"W"`` (weeks). Pass precomputed ``days``
    (from :func:`purchase_days`) to summarise many cutoffs cheaply.
    """
    cut = check_cutoff(cutoff)
    if unit not in _UNITS:
        raise ConfigError(f"unit must be 'D' or 'W', got {unit!r}")
    if days is None:
        if transactions is None:
            raise DataQualityError("rfm_summary needs transactions or days")
        days = purchase_days(transactions)
    d = days.loc[days["day"] < cut]
    if d.empty:
        first = days["day"].min() if len(days) else None
        raise DataQualityError(
            f"no purchases before the cutoff {cut.date()}"
            + (
                f" (the first purchase is on {pd.Timestamp(first).date()})"
                if first is not None
                else ""
            )
            + "; choose a later cutoff"
        )
    g = d.groupby("customer_id", sort=True)
    first = g["day"].min()
    last = g["day"].max()
    n = g.size()
    total = g["value"].sum()
    first_val = d.loc[d["day"] == d["customer_id"].map(first), ["customer_id", "value"]]
    first_val = first_val.groupby("customer_id")["value"].sum().reindex(first.index)
    end = cut.normalize() - pd.Timedelta(days=1) if cut == cut.normalize() else cut.normalize()
    scale = _UNITS[unit]
    freq = (n - 1).astype("int64")
    repeat_value = (total - first_val).to_numpy()
    mv = np.where(freq > 0, repeat_value / np.maximum(freq, 1), 0.0)
    out = pd.DataFrame(
        {
            "customer_id": first.index.astype(str),
            "frequency": freq.to_numpy(),
            "recency": ((last - first).dt.days / scale).to_numpy(),
            "T": ((end - first).dt.days / scale).to_numpy(),
            "monetary_value": mv,
            "first_day": first.to_numpy(),
            "last_day": last.to_numpy(),
        }
    )
    return out.reset_index(drop=True)


def _check_window(
    days: pd.DataFrame, cutoffs: Sequence[pd.Timestamp], horizon: int, data_end: Any
) -> None:
    if horizon <= 0:
        raise ConfigError(f"horizon must be a positive number of days, got {horizon}")
    end = (
        pd.Timestamp(days["day"].max()) + pd.Timedelta(days=1)
        if data_end is None
        else check_cutoff(data_end, name="data_end")
    )
    late = [c for c in cutoffs if c + pd.Timedelta(days=horizon) > end]
    if late:
        raise DataQualityError(
            f"the {horizon}-day label window after cutoff {late[0].date()} ends "
            f"{(late[0] + pd.Timedelta(days=horizon)).date()}, after the data ends ({end.date()}); "
            "labels would be incomplete. Use an earlier cutoff or a shorter horizon."
        )


def _label_inputs(
    caller: str,
    transactions: pd.DataFrame | None,
    days: pd.DataFrame | None,
    cutoffs: Sequence[Any] | Any,
    *,
    horizon: int,
    data_end: Any,
) -> tuple[pd.DataFrame, list[pd.Timestamp]]:
    """Purchase days (from ``transactions`` unless given) and the checked cutoffs of a
    labelling function, whose ``horizon``-day windows must end before the data does."""
    if days is None:
        if transactions is None:
            raise DataQualityError(f"{caller} needs transactions or days")
        days = purchase_days(transactions)
    cuts = [
        check_cutoff(c)
        for c in (
            cutoffs
            if isinstance(cutoffs, (list, tuple, pd.Index, np.ndarray, pd.Series))
            else [cutoffs]
        )
    ]
    _check_window(days, cuts, horizon, data_end)
    return days, cuts


def churn_labels(
    transactions: pd.DataFrame | None = None,
    *,
    cutoffs: Sequence[Any] | Any,
    horizon: int,
    data_end: Any = None,
    days: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Churn labels for every customer with a purchase before each cutoff.

    Returns ``customer_id, cutoff, churn, n_purchases, spend``: ``churn`` is 1 when the
    customer makes no purchase in ``[cutoff, cutoff + horizon days)``; ``n_purchases``
    counts purchase days and ``spend`` their value in that window.

    ``data_end`` (exclusive) is where the data stops (default: the day after the last
    purchase); a label window that runs past it raises :class:`DataQualityError`.
    """
    days, cuts = _label_inputs(
        "churn_labels", transactions, days, cutoffs, horizon=horizon, data_end=data_end
    )
    frames = []
    for cut in cuts:
        hist = days.loc[days["day"] < cut, "customer_id"].unique()
        win = days.loc[(days["day"] >= cut) & (days["day"] < cut + pd.Timedelta(days=horizon))]
        agg = win.groupby("customer_id").agg(n_purchases=("day", "size"), spend=("value", "sum"))
        lab = pd.DataFrame({"customer_id": np.sort(hist)})
        lab = lab.join(agg, on="customer_id")
        lab["n_purchases"] = lab["n_purchases"].fillna(0).astype("int64")
        lab["spend"] = lab["spend"].fillna(0.0)
        lab.insert(1, "cutoff", cut)
        lab["churn"] = (lab["n_purchases"] == 0).astype("int64")
        frames.append(lab[["customer_id", "cutoff", "churn", "n_purchases", "spend"]])
    return pd.concat(frames, ignore_index=True)


def repurchase_labels(
    transactions: pd.DataFrame | None = None,
    *,
    cutoffs: Sequence[Any] | Any,
    days_ahead: int = 30,
    data_end: Any = None,
    days: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Repurchase labels for first-order customers (exactly one purchase day before the cutoff).

    Returns ``customer_id, cutoff, first_day, repurchase``: 1 when the customer buys
    again in ``[cutoff, cutoff + days_ahead)``.
    """
    days, cuts = _label_inputs(
        "repurchase_labels", transactions, days, cutoffs, horizon=days_ahead, data_end=data_end
    )
    frames = []
    for cut in cuts:
        hist = days.loc[days["day"] < cut]
        cnt = hist.groupby("customer_id")["day"].agg(["size", "min"])
        first = cnt.loc[cnt["size"] == 1, "min"]
        win = days.loc[(days["day"] >= cut) & (days["day"] < cut + pd.Timedelta(days=days_ahead))]
        buyers = set(win["customer_id"].unique())
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": first.index.astype(str),
                    "cutoff": cut,
                    "first_day": first.to_numpy(),
                    "repurchase": [int(c in buyers) for c in first.index],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def label_cutoffs(
    first_day: Any,
    cutoff: Any,
    *,
    horizon: int,
    step: int = 30,
    min_history: int = 90,
    max_cutoffs: int = 12,
) -> list[pd.Timestamp]:
    """Earlier cutoffs whose ``horizon``-day label windows end on or before ``cutoff``.

    Counting back from ``cutoff - horizon`` every ``step`` days while at least
    ``min_history`` days of data precede the cutoff; at most ``max_cutoffs``, oldest first.
    Empty when no label window is complete before ``cutoff``.
    """
    cut = check_cutoff(cutoff)
    start = pd.Timestamp(first_day).normalize() + pd.Timedelta(days=min_history)
    out: list[pd.Timestamp] = []
    c = cut.normalize() - pd.Timedelta(days=horizon)
    while c >= start and len(out) < max_cutoffs:
        out.append(c)
        c -= pd.Timedelta(days=step)
    return sorted(out)


def history_features(days: pd.DataFrame, *, cutoff: Any) -> pd.DataFrame:
    """Purchase-rhythm features per customer from :func:`purchase_days` before ``cutoff``.

    ``hist__days_{30,180,365}`` purchase days in the last 30/180/365 days,
    ``hist__value_365`` their value, ``hist__decay_{30,90}`` purchase days weighted by
    ``0.5 ** (age / half-life)``, ``hist__overdue`` days since the last purchase over the
    customer's mean gap between purchase days (NaN with one purchase day).
    """
    cut = check_cutoff(cutoff)
    d = days.loc[days["day"] < cut]
    age = (cut.normalize() - d["day"]).dt.days.to_numpy("float64")
    frame = pd.DataFrame(
        {
            "customer_id": d["customer_id"].to_numpy(),
            "hist__days_30": age < 30,
            "hist__days_180": age < 180,
            "hist__days_365": age < 365,
            "hist__value_365": np.where(age < 365, d["value"].to_numpy("float64"), 0.0),
            "hist__decay_30": 0.5 ** (age / 30.0),
            "hist__decay_90": 0.5 ** (age / 90.0),
            "_age": age,
        }
    )
    g = frame.groupby("customer_id", sort=True)
    out = g[[c for c in frame.columns if c.startswith("hist__")]].sum().astype("float64")
    n = g.size().to_numpy("float64")
    span = (g["_age"].max() - g["_age"].min()).to_numpy("float64")
    gap = np.where(n > 1, span / np.maximum(n - 1, 1), np.nan)
    out["hist__overdue"] = g["_age"].min().to_numpy("float64") / np.where(gap > 0, gap, np.nan)
    return out.reset_index()
