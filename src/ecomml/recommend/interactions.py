"""Implicit-feedback interactions from transactions and events.

An interactions frame is long, one row per signal: ``customer_id, sku, ts, event, weight``
(``event`` is ``purchase``, ``cart`` or ``view``). Recommenders sum the weights of a
customer x SKU pair, so duplicate rows add up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ecomml._validation import check_cutoff, check_frame, parse_timestamps
from ecomml.exceptions import ConfigError, DataQualityError, short_repr

__all__ = ["DEFAULT_EVENT_WEIGHTS", "build_interactions", "check_interactions"]

#: view < cart < purchase
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {"view": 1.0, "cart": 3.0, "purchase": 10.0}
_CHECKED = "ecomml_checked_interactions"


def build_interactions(
    transactions: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    cutoff: Any,
    event_weights: Mapping[str, float] | None = None,
    quantity: str = "log",
    half_life_days: float | None = None,
) -> pd.DataFrame:
    """Turn purchase lines (and optional web events) before ``cutoff`` into interactions.

    Parameters
    ----------
    transactions : canonical transactions (``customer_id, sku, ts, quantity``; ``order_id``,
        ``category`` are kept when present). Returns (quantity <= 0) and lines without a
        customer are skipped.
    events : optional ``customer_id, sku, ts, event`` rows (view / cart / purchase).
        Event purchases are skipped when transactions are given, since the sale line
        already counts.
    cutoff : exclusive upper bound: only rows with ``ts < cutoff`` are used.
    event_weights : weight per event type; default :data:`DEFAULT_EVENT_WEIGHTS`.
    quantity : ``"log"`` multiplies purchase weights by ``1 + log(quantity)``,
        ``"none"`` ignores quantity.
    half_life_days : recency decay: a signal ``d`` days before the cutoff is weighted
        ``0.5 ** (d / half_life_days)``; None disables decay.

    Returns
    -------
    DataFrame
        ``customer_id, sku, ts, event, weight`` (+ ``order_id``, ``category`` if present).
    """
    cut = check_cutoff(cutoff)
    weights = dict(DEFAULT_EVENT_WEIGHTS if event_weights is None else event_weights)
    if quantity not in ("log", "none"):
        raise ConfigError(f"quantity must be 'log' or 'none', got {quantity!r}")
    check_frame(
        transactions, required=["customer_id", "sku", "ts", "quantity"], name="transactions"
    )
    tx = transactions.loc[
        (transactions["ts"] < cut)
        & (transactions["quantity"] > 0)
        & transactions["customer_id"].notna()
        & transactions["sku"].notna()
    ]
    keep = [c for c in ("customer_id", "sku", "ts", "order_id", "category") if c in tx.columns]
    parts = []
    buy = tx[keep].copy()
    buy["event"] = "purchase"
    qty = tx["quantity"].to_numpy(dtype=float)
    mult = 1.0 + np.log(np.maximum(qty, 1.0)) if quantity == "log" else np.ones(len(tx))
    buy["weight"] = weights.get("purchase", 1.0) * mult
    parts.append(buy)
    if events is not None and len(events):
        check_frame(events, required=["customer_id", "sku", "ts", "event"], name="events")
        ev = events.loc[
            (events["ts"] < cut)
            & events["customer_id"].notna()
            & events["sku"].notna()
            & (events["event"] != "purchase")
        ]
        unknown = sorted(set(ev["event"].astype(str)) - set(weights))
        if unknown:
            raise DataQualityError(
                f"events has event types {short_repr(unknown)} without a weight; pass "
                f"event_weights including them (known: {sorted(weights)})"
            )
        e = ev[["customer_id", "sku", "ts", "event"]].copy()
        e["weight"] = e["event"].astype(str).map(weights).astype(float)
        parts.append(e)
    out = pd.concat(parts, ignore_index=True)
    for col in ("customer_id", "sku", "event"):
        out[col] = out[col].astype(str)
    if half_life_days is not None:
        if half_life_days <= 0:
            raise ConfigError(f"half_life_days must be positive, got {half_life_days}")
        age = (cut - out["ts"]).dt.total_seconds().to_numpy() / 86400.0
        out["weight"] = out["weight"].to_numpy() * np.power(0.5, age / float(half_life_days))
    return out.sort_values(["ts"], kind="stable").reset_index(drop=True)


def check_interactions(interactions: Any, *, name: str = "interactions") -> pd.DataFrame:
    """Validate an interactions frame and return a normalised copy.

    Required: ``customer_id, sku``. Optional: ``weight`` (default 1.0; finite and >= 0),
    ``ts`` (datetime), ``event`` (default ``purchase``).

    Raises
    ------
    SchemaError
        Missing columns.
    DataQualityError
        No rows, missing ids, negative or non-finite weights, unparseable timestamps.
    """
    df = check_frame(interactions, required=["customer_id", "sku"], name=name)
    if df.attrs.get(_CHECKED) and len(df) and {"weight", "event"} <= set(df.columns):
        # validated before (or a row subset of such a frame): skip the costly string casts,
        # keep the cheap numeric checks
        w = df["weight"].to_numpy()
        if w.dtype.kind == "f" and np.isfinite(w).all() and (w >= 0).all():
            return df
    if len(df) == 0:
        raise DataQualityError(
            f"{name} has no rows: nothing to learn from. Check the --cutoff (only rows "
            "before it are used) and that the data has customer ids."
        )
    cols = ["customer_id", "sku"] + [c for c in ("ts", "event", "weight") if c in df.columns]
    cols += [c for c in ("category",) if c in df.columns]
    out = df[cols].copy()
    for col in ("customer_id", "sku"):
        bad = out[col].isna().to_numpy()
        if bad.any():
            rows = list(np.flatnonzero(bad)[:5] + 1)
            raise DataQualityError(
                f"{name} has {int(bad.sum())} rows without {col} (rows {short_repr(rows)}); "
                "drop them first, e.g. df.dropna(subset=['customer_id', 'sku'])",
                bad_rows=rows,
            )
        out[col] = out[col].astype(str)
    if "weight" in out.columns:
        w = pd.to_numeric(out["weight"], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            rows = list(np.flatnonzero(bad)[:5] + 1)
            raise DataQualityError(
                f"{name} column 'weight' has {int(bad.sum())} negative, missing or infinite "
                f"values (rows {short_repr(rows)}); weights must be finite and >= 0",
                bad_rows=rows,
            )
        out["weight"] = w
    else:
        out["weight"] = 1.0
    if "event" not in out.columns:
        out["event"] = "purchase"
    else:
        out["event"] = out["event"].astype(str)
    if "ts" in out.columns:
        out["ts"] = parse_timestamps(out["ts"], name=f"{name} column 'ts'")
        if out["ts"].isna().any():
            rows = list(np.flatnonzero(out["ts"].isna().to_numpy())[:5] + 1)
            raise DataQualityError(f"{name} column 'ts' is empty in rows {short_repr(rows)}")
    out = out.reset_index(drop=True)
    out.attrs[_CHECKED] = True
    return out
