"""Business rules applied after ranking: catalog availability, already bought, category
caps, boost/bury."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecomml._validation import check_frame
from ecomml.exceptions import DataQualityError

__all__ = ["apply_business_rules", "available_skus", "reserve_slots"]


def available_skus(catalog: pd.DataFrame) -> set[str] | None:
    """SKUs that may be recommended: ``active`` (when present) and ``stock > 0`` (when present).

    Returns None when the catalog says nothing about availability.

    Raises
    ------
    DataQualityError
        The catalog marks every SKU inactive or out of stock.
    """
    check_frame(catalog, required=["sku"], name="catalog")
    ok = pd.Series(True, index=catalog.index)
    has_rule = False
    if "active" in catalog.columns:
        ok &= catalog["active"].fillna(False).astype(bool)
        has_rule = True
    if "stock" in catalog.columns:
        ok &= pd.to_numeric(catalog["stock"], errors="coerce").fillna(0) > 0
        has_rule = True
    if not has_rule:
        return None
    if not ok.any():
        raise DataQualityError(
            f"the catalog marks all {len(catalog)} SKUs inactive or out of stock, so nothing can "
            "be recommended; fix the 'active'/'stock' columns or leave out --catalog"
        )
    return set(catalog.loc[ok, "sku"].astype(str))


def apply_business_rules(
    recs: pd.DataFrame,
    *,
    k: int,
    allowed: set[str] | None = None,
    exclude: pd.DataFrame | None = None,
    category: pd.Series | None = None,
    max_per_category: int | None = None,
    boost: pd.Series | None = None,
) -> pd.DataFrame:
    """Filter, re-score and cut ranked lists to ``k`` per customer.

    Parameters
    ----------
    recs : ``customer_id, sku, rank, score[, source]``, best first per customer.
    k : final list length.
    allowed : SKUs that may be shown (see :func:`available_skus`); None = all.
    exclude : ``customer_id, sku`` pairs to drop (e.g. already bought).
    category : ``sku -> category`` for the per-category cap.
    max_per_category : at most this many SKUs of one category per list.
    boost : ``sku -> number`` added to the score before re-sorting (positive boosts,
        negative buries; in the units of ``score``).

    Returns
    -------
    DataFrame
        The same columns, ranks renumbered 1..k.
    """
    out = recs
    if allowed is not None:
        out = out.loc[out["sku"].astype(str).isin(allowed)]
    if exclude is not None and len(exclude):
        m = out.merge(
            exclude[["customer_id", "sku"]].drop_duplicates().assign(_x=1),
            on=["customer_id", "sku"],
            how="left",
        )
        out = m.loc[m["_x"].isna()].drop(columns="_x")
    if boost is not None:
        out = out.assign(score=out["score"] + out["sku"].map(boost).fillna(0.0).astype(float))
    out = out.sort_values(["customer_id", "score"], ascending=[True, False], kind="stable")
    if max_per_category is not None:
        if category is None:
            raise DataQualityError(
                "max_per_category needs SKU categories: pass a catalog with a 'category' column"
            )
        cat = out["sku"].map(category).fillna("(none)")
        n = out.groupby([out["customer_id"], cat]).cumcount() + 1
        out = out.loc[n.to_numpy() <= max_per_category]
    out = out.assign(rank=out.groupby("customer_id").cumcount() + 1)
    return out.loc[out["rank"] <= k].reset_index(drop=True)


def reserve_slots(recs: pd.DataFrame, extra: pd.DataFrame, *, k: int, slots: int) -> pd.DataFrame:
    """Lists of ``k`` whose last ``slots`` places go to ``extra``'s best items.

    ``recs`` and ``extra`` are ranked lists (``customer_id, sku, rank, score, source``);
    ``extra``'s SKUs already in a customer's list are skipped. A customer with fewer extra
    items than ``slots`` keeps more of ``recs``; one missing from ``recs`` gets ``extra``
    only. Ranks are renumbered 1..k; scores and sources are each list's own.
    """
    if slots < 1 or extra.empty:
        return recs.loc[recs["rank"] <= k].reset_index(drop=True)
    cols = list(recs.columns)
    keys = ["customer_id", "sku"]
    fresh = extra.merge(recs[keys].assign(_x=1), on=keys, how="left")
    fresh = fresh.loc[fresh["_x"].isna()].drop(columns="_x")
    fresh = fresh.sort_values(["customer_id", "rank"], kind="stable")
    fresh = fresh.loc[fresh.groupby("customer_id").cumcount() < min(int(slots), int(k))]
    n_extra = fresh.groupby("customer_id").size()
    head = recs.sort_values(["customer_id", "rank"], kind="stable")
    keep = k - head["customer_id"].map(n_extra).fillna(0).to_numpy(dtype=np.int64)
    head = head.loc[head.groupby("customer_id").cumcount().to_numpy() < keep]
    out = pd.concat([head.assign(_part=0), fresh[cols].assign(_part=1)], ignore_index=True)
    out = out.sort_values(["customer_id", "_part", "rank"], kind="stable").drop(columns="_part")
    out = out.assign(rank=out.groupby("customer_id").cumcount() + 1)
    return out.loc[out["rank"] <= k, cols].reset_index(drop=True)
