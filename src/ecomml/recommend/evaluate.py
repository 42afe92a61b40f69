"""Honest temporal evaluation of recommenders, and its plots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ecomml._validation import check_cutoff
from ecomml.exceptions import DataQualityError
from ecomml.metrics.ranking import ranking_report
from ecomml.recommend.interactions import check_interactions

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "evaluate_recommendations",
    "evaluate_recommender",
    "plot_metrics_at_k",
    "temporal_split",
]


def temporal_split(
    interactions: pd.DataFrame,
    *,
    cutoff: Any,
    end: Any = None,
    known_customers_only: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split interactions at ``cutoff``: train ``ts < cutoff``, test ``cutoff <= ts < end``.

    The test part holds the distinct purchased ``customer_id, sku`` pairs; with
    ``known_customers_only`` only customers who also appear in the train part.

    Raises
    ------
    DataQualityError
        The train part or the test window is empty.
    """
    df = check_interactions(interactions)
    if "ts" not in df.columns:
        raise DataQualityError("temporal_split needs a 'ts' column in the interactions")
    cut = check_cutoff(cutoff)
    stop = check_cutoff(end, name="end") if end is not None else None
    train = df.loc[df["ts"] < cut]
    if train.empty:
        raise DataQualityError(
            f"no interactions before {cut.date()} (the data starts {df['ts'].min().date()}); "
            "choose a later cutoff"
        )
    in_test = (df["ts"] >= cut) & (df["event"] == "purchase")
    if stop is not None:
        in_test &= df["ts"] < stop
    test = df.loc[in_test, ["customer_id", "sku"]].drop_duplicates()
    if known_customers_only:
        test = test.loc[test["customer_id"].isin(set(train["customer_id"]))]
    if test.empty:
        window = f"[{cut.date()}, {stop.date() if stop is not None else 'end'})"
        raise DataQualityError(
            f"the test window {window} has no purchases by customers seen before "
            f"{cut.date()} (data ends {df['ts'].max().date()}); choose an earlier cutoff or a "
            "longer window"
        )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def evaluate_recommendations(
    recs: pd.DataFrame,
    test: pd.DataFrame,
    train: pd.DataFrame,
    *,
    ks: Sequence[int] = (10, 20),
    map_k: int | None = 12,
    new_only: bool = False,
    new_skus: bool = False,
) -> dict[str, float]:
    """Metrics of ``recs`` against ``test`` pairs, coverage over the training SKUs.

    With ``new_only`` the relevant items are only SKUs the customer had not bought in
    ``train`` (and such SKUs in ``recs`` are dropped, ranks renumbered). With ``new_skus``
    they are only SKUs nobody had bought in ``train`` (cold-start SKUs), and ``recs`` keeps
    only those: how well the lists rank the new SKUs each customer went on to buy.
    """
    rel = test
    bought = train.loc[train["event"] == "purchase", ["customer_id", "sku"]].drop_duplicates()
    if new_only:
        rel = _anti(rel, bought)
        recs = _reranked(_anti(recs, bought))
    if new_skus:
        sold = pd.Index(bought["sku"].unique())
        rel = rel.loc[~rel["sku"].isin(sold)]
        recs = _reranked(recs.loc[~recs["sku"].isin(sold)])
    n_users = train["customer_id"].nunique()
    share = train.drop_duplicates(["customer_id", "sku"]).groupby("sku").size() / max(n_users, 1)
    ks_all = sorted(set(ks) | ({map_k} if map_k else set()))
    out = ranking_report(
        recs,
        rel,
        ks=ks_all,
        n_catalog=train["sku"].nunique(),
        item_share=share.to_dict(),
        n_users=n_users,
    )
    out["relevant_per_customer"] = float(rel.groupby("customer_id").size().mean())
    return out


def _reranked(recs: pd.DataFrame) -> pd.DataFrame:
    """The lists left after a filter, ranks renumbered 1.. in their order."""
    recs = recs.sort_values(["customer_id", "rank"], kind="stable")
    return recs.assign(rank=recs.groupby("customer_id").cumcount() + 1)


def _anti(frame: pd.DataFrame, drop: pd.DataFrame) -> pd.DataFrame:
    m = frame.merge(drop.assign(_x=1), on=["customer_id", "sku"], how="left")
    return m.loc[m["_x"].isna()].drop(columns="_x")


def evaluate_recommender(
    model: Any,
    interactions: pd.DataFrame,
    *,
    cutoff: Any,
    end: Any = None,
    k: int = 20,
    ks: Sequence[int] = (10, 20),
    map_k: int = 12,
    fit_kwargs: dict[str, Any] | None = None,
    recommend_kwargs: dict[str, Any] | None = None,
) -> dict[str, dict[str, float]]:
    """Fit ``model`` before ``cutoff`` and score it on the window after, both variants.

    Returns ``{"all": metrics, "new": metrics}``: ``all`` counts every purchased SKU as
    relevant (lists may repeat bought SKUs), ``new`` only SKUs the customer never bought
    before (lists exclude bought SKUs).
    """
    train, test = temporal_split(interactions, cutoff=cutoff, end=end)
    model.fit(train, cutoff=cutoff, **(fit_kwargs or {}))
    customers = test["customer_id"].drop_duplicates()
    kk = max(k, *ks, map_k)
    recs_all = model.recommend(customers, kk, exclude_seen=False, **(recommend_kwargs or {}))
    recs_new = model.recommend(customers, kk + 50, exclude_seen=False, **(recommend_kwargs or {}))
    return {
        "all": evaluate_recommendations(recs_all, test, train, ks=ks, map_k=map_k),
        "new": evaluate_recommendations(recs_new, test, train, ks=ks, map_k=map_k, new_only=True),
    }


def plot_metrics_at_k(
    recs: pd.DataFrame, test: pd.DataFrame, train: pd.DataFrame, *, max_k: int = 20
) -> Figure:
    """Recall and NDCG at K = 1..max_k for the lists in ``recs``, and the source mix."""
    from matplotlib.figure import Figure

    ks = np.arange(1, max_k + 1)
    rel = test[["customer_id", "sku"]].drop_duplicates()
    n_rel = rel.groupby("customer_id").size()
    top = recs.loc[recs["rank"] <= max_k, ["customer_id", "sku", "rank"]]
    hits = top.merge(rel, on=["customer_id", "sku"])
    hits = hits.loc[hits["customer_id"].isin(n_rel.index)]
    # hits per customer and position -> cumulative over K
    mat = np.zeros((len(n_rel), max_k))
    rows = n_rel.index.get_indexer(hits["customer_id"])
    np.add.at(mat, (rows, hits["rank"].to_numpy(dtype=int) - 1), 1.0)
    cum = np.cumsum(mat, axis=1)
    n = n_rel.to_numpy(dtype=float)[:, None]
    disc = 1.0 / np.log2(ks + 1.0)
    dcg = np.cumsum(mat * disc, axis=1)
    idcg = np.cumsum(disc)[np.minimum(ks[None, :], n.astype(int)) - 1]
    fig = Figure(figsize=(10, 4))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(ks, (cum / n).mean(axis=0), label="recall@K")
    ax1.plot(ks, (dcg / idcg).mean(axis=0), label="NDCG@K")
    ax1.plot(ks, (cum > 0).mean(axis=0), label="hit rate@K")
    ax1.set_xlabel("K")
    ax1.set_title("Holdout metrics by list length")
    ax1.legend()
    ax1.grid(alpha=0.3)
    if "source" in recs.columns:
        top = recs.loc[recs["rank"] <= max_k]
        mix = top["source"].value_counts(normalize=True).sort_values()
        ax2.barh(mix.index.astype(str), mix.to_numpy())
        ax2.set_xlabel(f"share of top-{max_k} slots")
        ax2.set_title("Where recommendations come from")
    else:
        ax2.axis("off")
    fig.tight_layout()
    return fig


def _nan_to_none(d: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if not np.isfinite(v) else float(v)) for k, v in d.items()}
