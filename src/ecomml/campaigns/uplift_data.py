"""A campaign's training table from the shop itself: who got the offer (an assignment
table), what they bought in the window after the send (from the transactions) and what
they looked like before it (the feature store's customer views as of the send).

Features are point-in-time correct: the views read only transactions before ``start``;
the outcomes read only ``start <= ts < start + window``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ecomml.exceptions import DataQualityError

if TYPE_CHECKING:
    from ecomml.data.shop import ShopData
    from ecomml.features.store import FeatureStore

__all__ = [
    "DEFAULT_VIEWS",
    "OUTCOMES",
    "campaign_outcomes",
    "check_assignments",
    "customer_features",
    "shop_campaign",
]

#: the outcomes computed per customer over the window after the send
OUTCOMES = ("converted", "orders", "revenue")
DEFAULT_VIEWS = ("customer_rfm",)


def campaign_outcomes(
    transactions: pd.DataFrame, customers: pd.Series, start: pd.Timestamp, window_days: int
) -> pd.DataFrame:
    """``customer_id, converted, orders, revenue`` over ``[start, start + window_days)`` for
    each of ``customers`` (zero for those who bought nothing); returns net off revenue."""
    end = start + pd.Timedelta(days=int(window_days))
    tx = transactions.loc[(transactions["ts"] >= start) & (transactions["ts"] < end)]
    tx = tx.assign(amount=tx["quantity"] * tx["price"])
    sales = tx.loc[tx["quantity"] > 0]
    order_key = sales["order_id"] if "order_id" in sales else sales["ts"].dt.floor("D")
    orders = sales.assign(_o=order_key).groupby("customer_id")["_o"].nunique()
    revenue = tx.groupby("customer_id")["amount"].sum()
    ids = customers.astype(str)
    out = pd.DataFrame({"customer_id": ids.to_numpy()})
    out["orders"] = ids.map(orders).fillna(0).to_numpy("float64")
    out["revenue"] = ids.map(revenue).fillna(0.0).to_numpy("float64")
    out["converted"] = (out["orders"] > 0).astype("float64")
    return out[["customer_id", *OUTCOMES]]


def customer_features(
    store: FeatureStore, customers: pd.Series, cutoff: pd.Timestamp,
    views: Sequence[str] = DEFAULT_VIEWS,
) -> pd.DataFrame:  # fmt: skip
    """The numeric ``{view}__{feature}`` columns of ``views`` as of ``cutoff`` for each of
    ``customers`` (in their order; a customer with no history gets the views' fill
    values), with ``customer_id`` first."""
    keys = pd.DataFrame({"customer_id": customers.astype(str).to_numpy()})
    frame = store.get_features(list(views), cutoff=cutoff, keys=keys)
    feats = [c for c in frame.columns if "__" in c and pd.api.types.is_numeric_dtype(frame[c])]
    return frame[["customer_id", *feats]].reset_index(drop=True)


def check_assignments(frame: pd.DataFrame, id_col: str, source: str) -> None:
    """One row per customer with an id: else a line naming the rows."""
    ids = frame[id_col]
    if ids.isna().any():
        rows = np.flatnonzero(ids.isna().to_numpy())[:5].tolist()
        raise DataQualityError(f"{source}: id column {id_col!r} is empty in rows {rows}")
    dup = ids.astype(str).duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(dup.to_numpy())[:5].tolist()
        raise DataQualityError(
            f"{source}: customers appear more than once in {id_col!r} (rows {rows}); one row "
            "per customer"
        )


def shop_campaign(
    shop: ShopData, store: FeatureStore, assignments: pd.DataFrame, *, id_col: str,
    start: pd.Timestamp, window_days: int, views: Sequence[str] = DEFAULT_VIEWS,
    source: str = "assignments",
) -> tuple[pd.DataFrame, list[str]]:  # fmt: skip
    """The assignment table with each customer's features as of ``start`` and outcomes
    over the window added; returns the frame and the feature column names."""
    check_assignments(assignments, id_col, source)
    if shop.transactions["ts"].max() < start + pd.Timedelta(days=int(window_days)) - pd.Timedelta(
        days=1
    ):
        last = shop.transactions["ts"].max()
        raise DataQualityError(
            f"the transactions end on {last.date()}, before the campaign window "
            f"{start.date()} + {window_days} days: the outcomes would be cut short"
        )
    ids = assignments[id_col].astype(str)
    feats = customer_features(store, ids, start, views)
    outcomes = campaign_outcomes(shop.transactions, ids, start, window_days)
    base = assignments.drop(columns=[c for c in OUTCOMES if c in assignments.columns])
    out = pd.concat(
        [base.reset_index(drop=True), feats.drop(columns="customer_id"),
         outcomes.drop(columns="customer_id")], axis=1,
    )  # fmt: skip
    return out, [c for c in feats.columns if c != "customer_id"]
