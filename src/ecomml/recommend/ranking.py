"""The re-ranker's inputs: the union of the generators' candidate lists, their features
(history tables, catalog, feature-store views) and the float matrix the ranker reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ecomml.exceptions import FeatureMismatchError
from ecomml.recommend._base import BaseRecommender
from ecomml.recommend.topk import unique_sorted

if TYPE_CHECKING:
    from ecomml.features.store import FeatureStore

__all__ = [
    "candidate_union",
    "catalog_maps",
    "feature_matrix",
    "generator_states",
    "key_index",
    "ranker_features",
    "sku_union",
]


def sku_union(gens: dict[str, BaseRecommender]) -> pd.Index:
    """The SKUs any generator can propose: their shared index when they agree (the same
    history), else the sorted union (a cold-start generator adds catalog SKUs)."""
    return key_index([g.sku_index_ for g in gens.values()])[0]


def generator_states(
    gens: dict[str, BaseRecommender], history: dict[str, Any] | None
) -> dict[str, tuple[pd.Index, dict[str, Any]]]:
    """Each generator's customer index and state: its own, or from ``history``."""
    if history is not None:
        return {name: history[name] for name in gens}
    return {name: (g.customer_index_, g.state_) for name, g in gens.items()}


def key_index(indexes: list[pd.Index]) -> tuple[pd.Index, bool]:
    """One customer index for the candidate keys, and whether every generator has it:
    their own when they agree (the same history gives the same sorted index), else
    their sorted union. Comparing the indexes costs a pass over the customers, so
    the pipeline's ``recommend`` does it once, not per batch."""
    who = indexes[0]
    shared = all(ix is who or ix.equals(who) for ix in indexes[1:])
    if not shared:
        for ix in indexes[1:]:
            who = who.union(ix)
    return who, shared


def candidate_union(
    gens: dict[str, BaseRecommender],
    customers: np.ndarray,
    n_candidates: int,
    *,
    history: dict[str, Any] | None = None,
    exclude_seen: bool = False,
    keys_of: tuple[pd.Index, bool] | None = None,
    skus: pd.Index | None = None,
) -> pd.DataFrame:
    """The union of every generator's top ``n_candidates`` for ``customers``: one row
    per (customer, SKU) in (customer_id, sku) order, each generator's rank (missing:
    ``n_candidates + 1``) and score (missing: NaN), how many proposed it and which one
    ranked it best. Built on integer codes (no join on string ids); ``keys_of`` is
    :func:`key_index` of the same generators and ``skus`` their :func:`sku_union`,
    both computed once for many batches."""
    names = list(gens)
    skus = sku_union(gens) if skus is None else skus
    customers = np.asarray(customers, dtype=object)
    states = generator_states(gens, history)
    who, shared = keys_of or key_index([index for index, _ in states.values()])
    lists, keys = [], []
    n_items = max(len(skus), 1)
    for name, (index, state) in states.items():
        gen = gens[name]
        pos = index.get_indexer(customers)
        rows = pos[pos >= 0]
        r, i, v, rk = gen.top_lists(state, rows, n_candidates, exclude_seen)
        code = rows[r] if shared else who.get_indexer(index[rows[r]])
        if gen.sku_index_ is not skus and not gen.sku_index_.equals(skus):
            i = skus.get_indexer(gen.sku_index_[i])
        lists.append((v, rk))
        keys.append(code.astype(np.int64) * n_items + i)
    union = unique_sorted(np.concatenate(keys))
    cand = pd.DataFrame(
        {
            "customer_id": np.asarray(who, dtype=object)[union // n_items],
            "sku": np.asarray(skus, dtype=object)[union % n_items],
        },
        dtype=object,
    )
    miss = float(n_candidates + 1)
    rank_cols = np.full((len(union), len(names)), np.inf)
    for j, (name, key, (v, rk)) in enumerate(zip(names, keys, lists, strict=True)):
        at = np.searchsorted(union, key)
        rank = np.full(len(union), miss)
        score = np.full(len(union), np.nan)
        rank[at], score[at] = rk, v
        rank_cols[at, j] = rk
        cand[f"g_{name}_rank"] = rank
        cand[f"g_{name}_score"] = score
    cand["g_n_sources"] = np.isfinite(rank_cols).sum(axis=1)
    cand["_source"] = np.asarray(names, dtype=object)[rank_cols.argmin(axis=1)]
    return cand


def ranker_features(
    cand: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    cutoff: pd.Timestamp,
    store: FeatureStore | None,
    price: pd.Series | None,
    category: pd.Series | None,
) -> pd.DataFrame:
    """The candidates with the re-ranker's features: history tables, category share,
    price and, with a store, the ``customer_rfm``, ``sku_demand`` and ``customer_sku`` views
    as of ``cutoff``."""
    x = cand.merge(tables["pair"], on=["customer_id", "sku"], how="left")
    x = x.merge(tables["cust"], on="customer_id", how="left")
    x = x.merge(tables["sku"], on="sku", how="left")
    if "cat" in tables and category is not None:
        x["category"] = x["sku"].map(category)
        x = x.merge(tables["cat"], on=["customer_id", "category"], how="left")
        x["h_cat_share"] = x["h_cat_share"].fillna(0.0)
        x = x.drop(columns="category")
    if price is not None:
        x["price"] = x["sku"].map(price).astype(float)
    if store is not None:
        cust = pd.DataFrame({"customer_id": x["customer_id"].unique()})
        skus = pd.DataFrame({"sku": x["sku"].unique()})
        fc = store.get_features("customer_rfm", cutoff=cutoff, keys=cust).drop(columns="cutoff")
        fs = store.get_features("sku_demand", cutoff=cutoff, keys=skus).drop(columns="cutoff")
        fp = store.get_features("customer_sku", cutoff=cutoff, keys=x[["customer_id", "sku"]]).drop(
            columns="cutoff"
        )
        for f in (fc, fs, fp):
            for c in f.columns:
                if c in ("customer_id", "sku"):
                    f[c] = f[c].astype(str)
        x = x.merge(fc, on="customer_id", how="left").merge(fs, on="sku", how="left")
        x = x.merge(
            fp.drop_duplicates(["customer_id", "sku"]), on=["customer_id", "sku"], how="left"
        )
    return x


def feature_matrix(x: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """The ranker's input: columns ``cols`` of ``x`` as float64, rounded to 8 digits."""
    missing = [c for c in cols if c not in x.columns]
    if missing:
        raise FeatureMismatchError(
            f"the ranker was trained with features {missing[:5]} that are not available now; "
            "pass the same feature store (transactions) and catalog as at training"
        )
    sub = x[cols]
    if all(pd.api.types.is_numeric_dtype(t) for t in sub.dtypes):
        m = sub.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        m = sub.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    # parallel float sums in the feature store differ in the last bits between identical
    # queries; rounding keeps the ranker's splits, and so the lists, reproducible
    return np.round(m, 8)


def catalog_maps(
    df: pd.DataFrame, catalog: pd.DataFrame | None
) -> tuple[pd.Series | None, pd.Series | None]:
    """Category and list price per SKU: the catalog's, else the interactions' category."""
    category = price = None
    if "category" in df.columns:
        c = df.dropna(subset=["category"]).drop_duplicates("sku", keep="last")
        category = c.set_index("sku")["category"].astype(str)
    if catalog is not None:
        cat = catalog.drop_duplicates("sku", keep="last").assign(sku=lambda d: d["sku"].astype(str))
        cat = cat.set_index("sku")
        if "category" in cat.columns:
            cc = cat["category"].dropna().astype(str)
            category = cc if category is None else cc.combine_first(category)
        if "price" in cat.columns:
            price = pd.to_numeric(cat["price"], errors="coerce")
    return category, price
