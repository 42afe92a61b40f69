"""Ranking metrics for top-K recommendation lists: Recall/Precision/NDCG/MAP@K, hit rate,
catalog coverage and novelty.

Two forms: per-list functions on plain sequences (``recall_at_k(recommended, relevant, k)``)
and :func:`ranking_report`, which scores long frames of recommendations
(``customer_id, sku, rank``) against long frames of relevant items
(``customer_id, sku``) for every customer at once.

Definitions (binary relevance, the usual ones in the implicit-feedback literature):

* ``precision@K = hits@K / K``
* ``recall@K = hits@K / |relevant|``
* ``NDCG@K = DCG@K / IDCG@K`` with ``DCG = sum(1 / log2(rank + 1))`` over hits and the ideal
  DCG of ``min(|relevant|, K)`` hits at the top
* ``MAP@K = sum(precision@i * rel_i for i <= K) / min(|relevant|, K)``
* ``hit rate@K``: share of customers with at least one hit
* ``coverage@K``: distinct recommended items / catalog size
* ``novelty@K``: mean self-information ``-log2(p_item)`` of recommended items, where
  ``p_item`` is the share of training customers who interacted with the item

Customers with no relevant item are left out of the averages (their metrics are undefined).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ecomml._validation import check_frame
from ecomml.exceptions import ConfigError

__all__ = [
    "average_precision_at_k",
    "catalog_coverage",
    "hit_at_k",
    "ndcg_at_k",
    "novelty",
    "per_customer_metrics",
    "precision_at_k",
    "ranking_report",
    "recall_at_k",
]


def _check_k(k: int) -> int:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ConfigError(f"k must be a positive integer, got {k!r}")
    return int(k)


def _hits(recommended: Sequence[Any], relevant: Any, k: int) -> np.ndarray:
    rel = set(relevant)
    top = list(recommended)[:k]
    return np.array([1.0 if r in rel else 0.0 for r in top], dtype=float)


def _relevant_hits(
    recommended: Sequence[Any], relevant: Any, k: int
) -> tuple[int, int, np.ndarray] | None:
    """The checked ``k``, the number of relevant items and the top-``k`` hits; None when
    nothing is relevant (the metrics that divide by it are then undefined)."""
    k = _check_k(k)
    n_rel = len(set(relevant))
    if n_rel == 0:
        return None
    return k, n_rel, _hits(recommended, relevant, k)


def precision_at_k(recommended: Sequence[Any], relevant: Any, k: int) -> float:
    """Hits in the top ``k`` divided by ``k``."""
    k = _check_k(k)
    return float(_hits(recommended, relevant, k).sum() / k)


def recall_at_k(recommended: Sequence[Any], relevant: Any, k: int) -> float:
    """Hits in the top ``k`` divided by the number of relevant items (nan if none)."""
    scored = _relevant_hits(recommended, relevant, k)
    if scored is None:
        return float("nan")
    _, n_rel, hits = scored
    return float(hits.sum() / n_rel)


def ndcg_at_k(recommended: Sequence[Any], relevant: Any, k: int) -> float:
    """Normalised discounted cumulative gain with binary relevance (nan if none relevant)."""
    scored = _relevant_hits(recommended, relevant, k)
    if scored is None:
        return float("nan")
    k, n_rel, hits = scored
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float((hits * disc[: len(hits)]).sum())
    idcg = float(disc[: min(n_rel, k)].sum())
    return dcg / idcg


def average_precision_at_k(recommended: Sequence[Any], relevant: Any, k: int) -> float:
    """Average precision over the top ``k``, normalised by ``min(|relevant|, k)``."""
    scored = _relevant_hits(recommended, relevant, k)
    if scored is None:
        return float("nan")
    k, n_rel, hits = scored
    if hits.sum() == 0:
        return 0.0
    prec = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((prec * hits).sum() / min(n_rel, k))


def hit_at_k(recommended: Sequence[Any], relevant: Any, k: int) -> float:
    """1.0 if any of the top ``k`` is relevant, else 0.0 (nan if none relevant)."""
    scored = _relevant_hits(recommended, relevant, k)
    return float("nan") if scored is None else float(scored[2].any())


def catalog_coverage(recommended_items: Any, n_catalog: int) -> float:
    """Distinct recommended items divided by the catalog size."""
    if n_catalog <= 0:
        raise ConfigError(f"n_catalog must be positive, got {n_catalog}")
    return float(len(set(recommended_items)) / n_catalog)


def novelty(recommended_items: Any, item_share: Mapping[Any, float], n_users: int) -> float:
    """Mean self-information ``-log2(p)`` of recommended items.

    ``item_share`` maps an item to the share of training users who interacted with it;
    items missing from it count as seen by one user (``p = 1 / n_users``).
    """
    items = list(recommended_items)
    if not items:
        return float("nan")
    floor = 1.0 / max(n_users, 1)
    p = np.array([max(float(item_share.get(i, floor)), floor) for i in items])
    return float(np.mean(-np.log2(p)))


def per_customer_metrics(
    recs: pd.DataFrame,
    relevant: pd.DataFrame,
    *,
    k: int,
    user_col: str = "customer_id",
    item_col: str = "sku",
    rank_col: str = "rank",
) -> pd.DataFrame:
    """Precision, recall, NDCG, AP and hit @``k`` for every customer that has relevant items.

    ``recs`` has ``user_col, item_col, rank_col`` (rank 1 = best); ``relevant`` has
    ``user_col, item_col`` (duplicates ignored). Customers in ``relevant`` without any
    recommendation score 0. Returns one row per customer of ``relevant``.
    """
    k = _check_k(k)
    check_frame(recs, required=[user_col, item_col, rank_col], name="recommendations")
    check_frame(relevant, required=[user_col, item_col], name="relevant")
    rel = relevant[[user_col, item_col]].drop_duplicates()
    n_rel = rel.groupby(user_col, observed=True).size().rename("n_relevant")
    top = recs.loc[recs[rank_col] <= k, [user_col, item_col, rank_col]]
    top = top.drop_duplicates([user_col, item_col])
    # re-number ranks 1..n within the customer so gaps left by filters do not shift discounts
    top = top.sort_values([user_col, rank_col], kind="stable")
    top["_pos"] = top.groupby(user_col, observed=True).cumcount() + 1
    top = top.loc[top["_pos"] <= k]
    hit = top.merge(rel.assign(_hit=1.0), on=[user_col, item_col], how="inner")
    hit = hit.loc[hit[user_col].isin(n_rel.index)].sort_values([user_col, "_pos"])
    hit["_disc"] = 1.0 / np.log2(hit["_pos"] + 1.0)
    hit["_cum"] = hit.groupby(user_col, observed=True).cumcount() + 1.0
    hit["_prec"] = hit["_cum"] / hit["_pos"]
    g = hit.groupby(user_col, observed=True)
    agg = pd.DataFrame(
        {"hits": g.size(), "dcg": g["_disc"].sum(), "ap_sum": g["_prec"].sum()}
    ).reindex(n_rel.index, fill_value=0.0)
    disc = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))])
    n = n_rel.to_numpy()
    denom = np.minimum(n, k)
    out = pd.DataFrame(
        {
            user_col: n_rel.index,
            "n_relevant": n,
            "hits": agg["hits"].to_numpy(dtype=float),
            f"precision@{k}": agg["hits"].to_numpy(dtype=float) / k,
            f"recall@{k}": agg["hits"].to_numpy(dtype=float) / n,
            f"ndcg@{k}": agg["dcg"].to_numpy(dtype=float) / disc[denom],
            f"map@{k}": agg["ap_sum"].to_numpy(dtype=float) / denom,
            f"hit@{k}": (agg["hits"].to_numpy() > 0).astype(float),
        }
    )
    return out.reset_index(drop=True)


def ranking_report(
    recs: pd.DataFrame,
    relevant: pd.DataFrame,
    *,
    ks: Sequence[int] = (10, 20),
    n_catalog: int | None = None,
    item_share: Mapping[Any, float] | None = None,
    n_users: int | None = None,
    user_col: str = "customer_id",
    item_col: str = "sku",
    rank_col: str = "rank",
) -> dict[str, float]:
    """Mean metrics over customers with relevant items, for every ``k`` in ``ks``.

    Keys look like ``"ndcg@20"``; ``coverage@K`` is added when ``n_catalog`` is given and
    ``novelty@K`` when ``item_share`` and ``n_users`` are. ``n_customers`` counts the
    customers evaluated.
    """
    out: dict[str, float] = {}
    for k in ks:
        per = per_customer_metrics(
            recs, relevant, k=k, user_col=user_col, item_col=item_col, rank_col=rank_col
        )
        for name in ("precision", "recall", "ndcg", "map", "hit"):
            col = f"{name}@{k}"
            out[col] = float(per[col].mean()) if len(per) else float("nan")
        out["n_customers"] = float(len(per))
        top = recs.loc[recs[rank_col] <= k, item_col]
        if n_catalog is not None:
            out[f"coverage@{k}"] = catalog_coverage(top, n_catalog)
        if item_share is not None and n_users is not None:
            out[f"novelty@{k}"] = novelty(top, item_share, n_users)
    return out
