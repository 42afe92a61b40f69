"""Distributed recommendation lists (behind :func:`ecomml.spark.scoring.score_recommend`).

A customer's list depends on their own history and on SKU-level inputs computed from
*all* customers: the ranker's SKU statistics (``h_sku_*``: buyers overall and in the last
30 / 90 days, trend), the ``sku_demand`` feature view and each SKU's category. So the
job runs in two passes:

1. grouped by SKU: those SKU-level inputs, with the local code on each group's rows
   (small: one row per SKU; collected and broadcast);
2. grouped by customer: the unchanged ``recommend`` of the model on the group's
   interactions, with the SKU-level inputs of pass 1 in place of the ones it would
   compute from the group alone.

Generators fold each customer in from their own history; cold-start customers get the
popularity the model learnt at training. Lists therefore equal the local ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ecomml._validation import check_cutoff
from ecomml.exceptions import SchemaError
from ecomml.features.store import store_from_shop
from ecomml.recommend.ranking import catalog_maps
from ecomml.spark._common import (
    as_output,
    before,
    broadcast,
    bucket_col,
    check_columns,
    check_views,
    default_buckets,
    empty_like,
    resolve_model,
    spark_schema,
    to_canonical,
    to_pandas_small,
    worker_model,
)

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame

_OUT = ["customer_id", "sku", "rank", "score", "source"]
_OUT_DTYPES = {
    "customer_id": np.dtype("object"),
    "sku": np.dtype("object"),
    "rank": np.dtype("int64"),
    "score": np.dtype("float64"),
    "source": np.dtype("object"),
}
_HIST_CAT = "_hist_category"
_UNION = ["_kind", "_row", "order_id", "customer_id", "sku", "ts", "quantity", "price",
          "category", "event"]  # fmt: skip


class _SkuFeatureStore:
    """A feature store whose ``sku_demand`` rows come from all customers (pass 1); every
    other view is computed by the group's own store."""

    def __init__(self, store: Any, sku_demand: pd.DataFrame) -> None:
        self.store = store
        self.sku_demand = sku_demand

    def get_features(self, views: Any, *, cutoff: Any, keys: Any = None) -> pd.DataFrame:
        if views != "sku_demand" or keys is None:
            return self.store.get_features(views, cutoff=cutoff, keys=keys)
        keys = pd.DataFrame({"sku": keys["sku"].astype(str).to_numpy()})
        have = keys["sku"].isin(set(self.sku_demand["sku"]))
        parts = [keys.loc[have].merge(self.sku_demand, on="sku", how="left")]
        if (~have).any():  # SKUs without sales anywhere: the store's fill values
            parts.append(self.store.get_features("sku_demand", cutoff=cutoff, keys=keys.loc[~have]))
        out = pd.concat(parts, ignore_index=True)
        out["cutoff"] = pd.Timestamp(cutoff)
        return out


def score_recommend(
    transactions: DataFrame,
    model: Any,
    *,
    cutoff: Any,
    k: int = 20,
    events: DataFrame | None = None,
    catalog: DataFrame | pd.DataFrame | None = None,
    calendar: DataFrame | pd.DataFrame | None = None,
    customers: DataFrame | pd.DataFrame | None = None,
    exclude_purchased: bool = False,
    max_per_category: int | None = None,
    boost: pd.DataFrame | None = None,
    num_partitions: int | None = None,
    ship_model: bool | None = None,
) -> DataFrame:
    """Top-``k`` lists per customer, like ``ecomml predict recommend``.

    Parameters
    ----------
    transactions : canonical transactions.
    model : recommender folder, ``runs:/...`` or ``models:/...``.
    cutoff : recommend as of this date (history ``ts < cutoff``).
    k : items per customer.
    events : canonical events (views and carts count as interactions).
    catalog, calendar : side tables (Spark or pandas; sent to every group).
    customers : ``customer_id`` to recommend for (default: every customer with history).
    exclude_purchased, max_per_category, boost : the business rules of the CLI
        (``boost``: pandas ``sku, boost``).
    num_partitions : customer groups (default 4x the default parallelism).
    ship_model : send the model folder with ``addFile`` (default: unless master is local).

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_id, sku, rank, score, source``, sorted by ``customer_id, rank``.
    """
    from pyspark.sql import functions as F

    from ecomml.data.shop import ShopData
    from ecomml.exceptions import ConfigError
    from ecomml.recommend import build_interactions
    from ecomml.recommend.pipeline import STORE_VIEWS

    cut = check_cutoff(cutoff)
    if int(k) < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    spark = transactions.sparkSession
    check_columns(transactions, ["customer_id", "sku", "ts", "quantity"], "transactions")
    ref, loaded = resolve_model(spark, model, task="recommend", ship=ship_model)
    rec = loaded.model
    uses_store = bool(getattr(rec, "uses_store_", False))
    ranked = hasattr(rec, "ranker_")
    if uses_store:
        check_views(loaded, STORE_VIEWS)
    n = default_buckets(spark, num_partitions)
    cat_pd, cal_pd = to_pandas_small(catalog), to_pandas_small(calendar)
    boosts = _boosts(boost)

    tx_all = before(transactions, cut).withColumn("_row", F.monotonically_increasing_id())
    # lines without a customer are no interaction (build_interactions skips them), but
    # they count in the SKU-level sku_demand view (pass 1 reads them all)
    known = F.col("customer_id").isNotNull() & F.col("sku").isNotNull()
    tx = tx_all.filter(known)
    has_category = "category" in transactions.columns

    # ---- pass 1: SKU-level inputs over all customers
    sku_info = None
    if ranked:
        sku_info = _sku_pass(spark, tx_all, cut, n, uses_store, has_category, cal_pd)
    category = None
    sku_table = None
    sku_demand = None
    if sku_info is not None:
        category, sku_table, sku_demand = sku_info
        pseudo = pd.DataFrame({"sku": category.index}) if has_category else None
        if pseudo is not None:
            pseudo["category"] = category.to_numpy()
        else:
            pseudo = pd.DataFrame({"sku": pd.Series([], dtype=object)})
        category = catalog_maps(pseudo, cat_pd)[0]
    side = broadcast(spark, (cat_pd, cal_pd, category, sku_table, sku_demand, boosts))

    # ---- pass 2: lists per customer group (transactions, events, requested customers)
    parts = [_as_union(tx, "tx")]
    if events is not None:
        check_columns(events, ["customer_id", "sku", "ts", "event"], "events")
        ev = before(events, cut).filter(known)
        ev = ev.withColumn("_row", F.monotonically_increasing_id())
        parts.append(_as_union(ev, "ev"))
    if customers is not None:
        if isinstance(customers, pd.DataFrame):
            customers = spark.createDataFrame(
                customers[["customer_id"]].dropna().astype({"customer_id": str})
            )
        if "customer_id" not in customers.columns:
            raise SchemaError(
                f"customers needs a customer_id column; found {list(customers.columns)[:8]}",
                missing=["customer_id"],
                columns=list(customers.columns),
            )
        who = customers.select("customer_id").dropna()
        who = who.withColumn("_row", F.monotonically_increasing_id())
        parts.append(_as_union(who, "who"))
    union = parts[0]
    for p in parts[1:]:
        union = union.unionByName(p)
    union = union.withColumn("_b", bucket_col("customer_id", n))
    want_all = customers is None

    def _group(pdf: pd.DataFrame) -> pd.DataFrame:
        pdf = pdf.sort_values("_row", kind="mergesort")
        kind = pdf["_kind"].to_numpy()
        txp = to_canonical(pdf.loc[kind == "tx", _TX_COLS].reset_index(drop=True))
        if not has_category:
            txp = txp.drop(columns="category")
        evp = to_canonical(pdf.loc[kind == "ev", _EV_COLS].reset_index(drop=True))
        who_ids = pdf.loc[kind == "who", "customer_id"].astype(str)
        catp, calp, cat_map, skut, skud, bst = side.value
        inter = build_interactions(txp, evp if len(evp) else None, cutoff=cut)
        if want_all:
            if inter.empty:
                return empty_like(_OUT, _OUT_DTYPES)
            who_arg = None
        else:
            if who_ids.empty:
                return empty_like(_OUT, _OUT_DTYPES)
            # the customers' order of the request (drop_duplicates keeps the first)
            who_arg = pd.DataFrame({"customer_id": who_ids.drop_duplicates().to_numpy()})
        r = worker_model(ref).model
        kwargs: dict[str, Any] = {
            "exclude_seen": exclude_purchased,
            "history": inter if len(inter) else None,
            "cutoff": cut,
        }
        if not ranked:
            return as_output(r.recommend(who_arg, k, **kwargs), _OUT, _OUT_DTYPES)
        store = None
        if uses_store:
            shop = ShopData(txp, events=evp if len(evp) else None, catalog=catp, calendar=calp)
            store = _SkuFeatureStore(store_from_shop(shop), skud)
        kwargs.update(store=store, catalog=catp, max_per_category=max_per_category, boost=bst)
        if kwargs["history"] is not None:
            # SKU popularity and categories are the whole shop's, not this bucket's
            kwargs.update(sku_stats=skut, sku_category=cat_map)
        out = r.recommend(who_arg, k, **kwargs)
        return as_output(out, _OUT, _OUT_DTYPES)

    out = union.groupBy("_b").applyInPandas(_group, spark_schema(_OUT, _OUT_DTYPES))
    return out.orderBy("customer_id", "rank")


_TX_COLS = ["order_id", "customer_id", "sku", "ts", "quantity", "price", "category"]
_EV_COLS = ["customer_id", "sku", "ts", "event"]


def _as_union(df: DataFrame, kind: str) -> DataFrame:
    """``df`` with the union's columns (missing ones NULL) and ``_kind``."""
    from pyspark.sql import functions as F

    types = {"quantity": "double", "price": "double", "ts": "timestamp", "_row": "long"}
    cols = []
    for c in _UNION:
        if c == "_kind":
            cols.append(F.lit(kind).alias(c))
        elif c in df.columns:
            cols.append(F.col(c).cast(types.get(c, "string")).alias(c))
        else:
            cols.append(F.lit(None).cast(types.get(c, "string")).alias(c))
    return df.select(*cols)


def _boosts(boost: pd.DataFrame | None) -> pd.Series | None:
    if boost is None:
        return None
    if not {"sku", "boost"} <= set(boost.columns):
        raise SchemaError(
            f"boost needs columns sku, boost; found {list(boost.columns)[:8]}",
            missing=sorted({"sku", "boost"} - set(boost.columns)),
            columns=list(boost.columns),
        )
    b = boost.assign(sku=boost["sku"].astype(str)).set_index("sku")["boost"]
    return pd.to_numeric(b, errors="coerce").fillna(0.0)


def _sku_pass(
    spark: Any,
    tx: DataFrame,
    cut: pd.Timestamp,
    n: int,
    uses_store: bool,
    has_category: bool,
    calendar: pd.DataFrame | None,
) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame | None]:
    """Per SKU, over all customers: the history category, the ranker's ``h_sku_*``
    statistics and (when the model uses the store) the ``sku_demand`` features."""
    from ecomml.data.shop import ShopData
    from ecomml.recommend import build_interactions
    from ecomml.recommend.history import history_tables

    probe = _probe_sku_frame(cut, uses_store, calendar)
    columns, final = list(probe.columns), dict(probe.dtypes)
    # numbers travel as doubles (a count can be NULL for some SKU); cast back below
    dtypes = {
        c: np.dtype("float64")
        if pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d)
        else d
        for c, d in final.items()
    }
    cal_b = broadcast(spark, calendar)

    def _group(pdf: pd.DataFrame) -> pd.DataFrame:
        pdf = pdf.sort_values("_row", kind="mergesort")
        cols = [c for c in _TX_COLS if c in pdf.columns]
        txp = to_canonical(pdf[cols].reset_index(drop=True))
        inter = build_interactions(txp, None, cutoff=cut)
        if inter.empty:
            return empty_like(columns, dtypes)
        sku = history_tables(inter, cut, None)["sku"]
        if "category" in inter.columns:
            c = inter.dropna(subset=["category"]).drop_duplicates("sku", keep="last")
            sku[_HIST_CAT] = sku["sku"].map(c.set_index("sku")["category"].astype(str))
        else:
            sku[_HIST_CAT] = None
        if uses_store:
            store = store_from_shop(ShopData(txp, calendar=cal_b.value))
            keys = pd.DataFrame({"sku": sku["sku"].astype(str)})
            f = store.get_features("sku_demand", cutoff=cut, keys=keys).drop(columns="cutoff")
            f["sku"] = f["sku"].astype(str)
            sku = sku.merge(f, on="sku", how="left")
        return as_output(sku, columns, dtypes)

    keep = [c for c in _TX_COLS if c in tx.columns] + ["_row"]
    grouped = tx.select(*keep).withColumn("_b", bucket_col("sku", n)).groupBy("_b")
    pdf = grouped.applyInPandas(_group, spark_schema(columns, dtypes)).toPandas()
    pdf = pdf.sort_values("sku", kind="mergesort").reset_index(drop=True)
    for c, dt in final.items():
        if pd.api.types.is_integer_dtype(dt) and pdf[c].notna().all():
            pdf[c] = pdf[c].astype(dt)
    cat = pdf.dropna(subset=[_HIST_CAT]).set_index("sku")[_HIST_CAT].astype(str)
    table = pdf[list(probe.attrs["sku_table_columns"])].copy()
    demand = None
    if uses_store:
        demand = pdf[["sku", *probe.attrs["demand_columns"]]].copy()
    if not has_category:
        cat = cat.iloc[:0]
    return cat, table, demand


def _probe_sku_frame(
    cut: pd.Timestamp, uses_store: bool, calendar: pd.DataFrame | None
) -> pd.DataFrame:
    """Columns and dtypes of pass 1's output, from one purchase computed locally."""
    from ecomml.data.shop import ShopData
    from ecomml.recommend import build_interactions
    from ecomml.recommend.history import history_tables

    tx = pd.DataFrame(
        {
            "order_id": ["o"],
            "customer_id": ["c"],
            "sku": ["s"],
            "ts": pd.to_datetime([cut - pd.Timedelta(days=3)]).astype("datetime64[ns]"),
            "quantity": [1.0],
            "price": [1.0],
        }
    )
    sku = history_tables(build_interactions(tx, None, cutoff=cut), cut, None)["sku"]
    table_cols = list(sku.columns)
    sku[_HIST_CAT] = "x"
    demand_cols: list[str] = []
    if uses_store:
        store = store_from_shop(ShopData(tx, calendar=calendar))
        f = store.get_features("sku_demand", cutoff=cut, keys=pd.DataFrame({"sku": ["s"]}))
        f = f.drop(columns="cutoff")
        f["sku"] = f["sku"].astype(str)
        demand_cols = [c for c in f.columns if c != "sku"]
        sku = sku.merge(f, on="sku", how="left")
    sku.attrs["sku_table_columns"] = table_cols
    sku.attrs["demand_columns"] = demand_cols
    return sku
