"""The ranker's store-free features: customer, SKU and customer x SKU history statistics
computed from interactions (recency, repeat gaps, popularity trend, category shares)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["customer_slices", "history_tables"]


def history_tables(
    df: pd.DataFrame,
    cutoff: pd.Timestamp,
    category: pd.Series | None,
    customers: pd.Index | None = None,
) -> dict[str, pd.DataFrame]:
    """Customer, SKU and pair statistics from interactions (no feature store needed).

    With ``customers``, the customer, pair and category tables hold those customers only
    (the SKU table is always everyone's): what scoring a few customers needs."""
    buy = df.loc[df["event"] == "purchase"]
    age = (cutoff - buy["ts"]).dt.total_seconds() / 86400.0
    b = pd.DataFrame(
        {"customer_id": buy["customer_id"], "sku": buy["sku"], "age": age, "day": np.floor(age)}
    )
    sku = _sku_table(b)
    if customers is not None:
        b = b.loc[b["customer_id"].isin(customers)]
    pair = b.groupby(["customer_id", "sku"]).agg(
        h_pair_days=("day", "nunique"), h_pair_last=("age", "min"), h_pair_first=("age", "max")
    )
    pair["h_pair_gap"] = (pair["h_pair_first"] - pair["h_pair_last"]) / (
        pair["h_pair_days"] - 1
    ).where(pair["h_pair_days"] > 1)
    pair["h_pair_due"] = pair["h_pair_last"] / pair["h_pair_gap"]
    cust = b.groupby("customer_id").agg(
        h_cust_days=("day", "nunique"), h_cust_skus=("sku", "nunique"), h_cust_last=("age", "min")
    )
    tables = {"pair": pair.reset_index(), "cust": cust.reset_index(), "sku": sku.reset_index()}
    if category is not None and len(category):
        cat = b[["customer_id", "sku"]].drop_duplicates()
        cat["category"] = cat["sku"].map(category)
        cc = cat.dropna(subset=["category"]).groupby(["customer_id", "category"]).size()
        share = (cc / cc.groupby(level=0).transform("sum")).rename("h_cat_share").reset_index()
        tables["cat"] = share
    return tables


def _sku_table(b: pd.DataFrame) -> pd.DataFrame:
    """Customers per SKU (all time, last 30 and 90 days), last sale and 30-day trend."""
    sku = b.groupby("sku").agg(
        h_sku_customers=("customer_id", "nunique"), h_sku_last=("age", "min")
    )
    for w in (30, 90):
        sku[f"h_sku_customers_{w}d"] = (
            b.loc[b["age"] <= w]
            .groupby("sku")["customer_id"]
            .nunique()
            .reindex(sku.index)
            .fillna(0)
        )
    sku["h_sku_trend"] = sku["h_sku_customers_30d"] * 3.0 / (sku["h_sku_customers_90d"] + 1.0)
    return sku


def customer_slices(
    tables: dict[str, pd.DataFrame],
) -> Callable[[np.ndarray], dict[str, pd.DataFrame]]:
    """A function giving, for a batch of customers, the tables cut down to the rows between
    the least and the greatest of them: each batch is joined against its own slice, not
    every pair of the shop (rows of other customers inside the range are harmless to a
    left join). The customer-keyed tables are sorted by ``customer_id`` once here (the
    group-bys already leave them so)."""
    keyed: dict[str, tuple[pd.DataFrame, np.ndarray]] = {}
    for key in ("pair", "cust", "cat"):
        t = tables.get(key)
        if t is None or not len(t):
            continue
        ids = t["customer_id"].to_numpy(dtype=object)
        if not (ids[1:] >= ids[:-1]).all():
            t = t.sort_values("customer_id", kind="stable")
            ids = t["customer_id"].to_numpy(dtype=object)
        keyed[key] = (t, ids)

    def cut(customers: np.ndarray) -> dict[str, pd.DataFrame]:
        if not len(customers):
            return tables
        lo, hi = min(customers), max(customers)
        out = dict(tables)
        for key, (t, ids) in keyed.items():
            a, b = np.searchsorted(ids, lo, side="left"), np.searchsorted(ids, hi, side="right")
            out[key] = t.iloc[a:b]
        return out

    return cut
