"""Distributed batch scoring: the local ``ecomml predict TASK`` on a Spark DataFrame.

Each function takes canonical tables as Spark DataFrames and a model (a folder,
``runs:/...`` or ``models:/NAME@alias``) and returns a Spark DataFrame with exactly the
columns ``ecomml predict TASK`` writes, equal to the local output on the same input:

* :func:`score_forecast` - rows grouped by SKU (hash buckets of ``sku``);
* :func:`score_churn` - the model's per-customer step on rows grouped by customer, then
  its population step per partition, with the cuts (RFM quantile steps, the high
  value-at-risk cut) that :func:`ecomml.churn.query_population_cuts` computes over all
  customers in one Spark SQL query;
* :func:`score_recommend` - SKU-level statistics computed once over all customers, then
  lists ranked per customer group (see :mod:`ecomml.spark._recommend`).

Inside every group the unchanged local code runs on pandas (``applyInPandas``): the
feature views through an in-process DuckDB store over the group's rows, then the
model. The model folder is verified on the driver, shipped to the executors with
``SparkContext.addFile`` on a cluster (read in place in local mode) and loaded once per
Python worker process (a module-level cache keyed by the folder and the SHA-256 of its
manifest).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ecomml._validation import check_cutoff
from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.features.store import store_from_shop
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
from ecomml.spark._recommend import score_recommend

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame

__all__ = ["score_churn", "score_forecast", "score_recommend"]

_TX_REQUIRED = ["customer_id", "sku", "ts", "quantity", "price"]
_EVENT_REQUIRED = ["customer_id", "sku", "ts", "event"]


# ---------------------------------------------------------------------------- churn
def score_churn(
    transactions: DataFrame,
    model: Any,
    *,
    cutoff: Any,
    events: DataFrame | None = None,
    catalog: DataFrame | pd.DataFrame | None = None,
    calendar: DataFrame | pd.DataFrame | None = None,
    extra_columns: bool = False,
    num_partitions: int | None = None,
    ship_model: bool | None = None,
) -> DataFrame:
    """Score every customer with a purchase before ``cutoff``, like ``ecomml predict churn``.

    Parameters
    ----------
    transactions : canonical transactions (``order_id, customer_id, sku, ts, quantity,
        price``; rows at or after the cutoff are ignored).
    model : churn model folder, ``runs:/<id>/model`` or ``models:/NAME@alias``.
    cutoff : score as of this date (exclusive).
    events : canonical events (required when the model was trained with them).
    catalog, calendar : small side tables (Spark or pandas), sent to every group.
    extra_columns : also return the task's extra columns (``p_alive``, the RFM scores,
        recency, frequency, monetary).
    num_partitions : customer groups (default 4x the default parallelism).
    ship_model : send the model folder with ``addFile`` (default: unless master is local).

    Returns
    -------
    pyspark.sql.DataFrame
        :attr:`ChurnTask.output_columns <ecomml.churn.ChurnTask>` (+ its
        ``extra_columns``), sorted by ``value_at_risk`` descending then ``customer_id``.

    Raises
    ------
    SchemaError, ConfigError, DataQualityError, ModelLoadError, FeatureMismatchError
    """
    from pyspark.sql import functions as F

    from ecomml.churn import ChurnTask, query_population_cuts
    from ecomml.churn.labels import purchase_days
    from ecomml.churn.model import CUSTOMER_COLUMNS
    from ecomml.data.shop import ShopData
    from ecomml.features.spark import SparkEngine

    task = ChurnTask()
    cut = check_cutoff(cutoff)
    spark = transactions.sparkSession
    check_columns(transactions, _TX_REQUIRED, "transactions")
    ref, loaded = resolve_model(spark, model, task=task.name, ship=ship_model)
    views = task.views(loaded.model)
    if "customer_events" in views and events is None:
        raise ConfigError(
            "this churn model was trained with an events log: pass events= (customer_id, "
            "sku, ts, event) covering the history before the cutoff"
        )
    check_views(loaded, views)
    n = default_buckets(spark, num_partitions)
    side = broadcast(spark, (to_pandas_small(catalog), to_pandas_small(calendar)))
    dtypes = task.output_dtypes()
    per_customer = list(CUSTOMER_COLUMNS)

    def _customers(tx_pdf: pd.DataFrame, ev_pdf: pd.DataFrame | None) -> pd.DataFrame:
        """Step 1 on one group: what each customer's own rows and the model give."""
        tx = to_canonical(tx_pdf.drop(columns="_b"))
        if not len(tx) or purchase_days(tx).pipe(lambda d: d.loc[d["day"] < cut]).empty:
            return empty_like(per_customer, dtypes)
        ev = None if ev_pdf is None else to_canonical(ev_pdf.drop(columns="_b"))
        cat, cal = side.value
        store = store_from_shop(ShopData(tx, events=ev, catalog=cat, calendar=cal))
        m = worker_model(ref).model
        return as_output(m.score_customers(tx, store, cutoff=cut), per_customer, dtypes)

    # guest rows (no customer) feed no customer feature: dropping them keeps one bucket
    # from holding every guest checkout
    known = F.col("customer_id").isNotNull()
    tx = before(transactions, cut).filter(known).withColumn("_b", bucket_col("customer_id", n))
    schema1 = spark_schema(per_customer, dtypes)
    if events is None:
        part = tx.groupBy("_b").applyInPandas(lambda a: _customers(a, None), schema1)
    else:
        check_columns(events, _EVENT_REQUIRED, "events")
        ev = before(events, cut).filter(known).withColumn("_b", bucket_col("customer_id", n))
        grouped = tx.groupBy("_b").cogroup(ev.groupBy("_b"))
        part = grouped.applyInPandas(_customers, schema1)
    part = part.persist()
    # step 2 needs every customer: the cuts come from one query over all groups (it reads
    # no timestamps: the caller's session settings stay as they are)
    engine = SparkEngine(spark, session_defaults=False)
    try:
        engine.register("churn_customers", part)
        cuts = query_population_cuts(engine, "churn_customers")
        if cuts.customers == 0:
            raise DataQualityError(
                f"no purchases before the cutoff {cut.date()}; choose a later cutoff"
            )
    except Exception:
        part.unpersist()
        raise
    finally:
        engine.close()
    columns = [*task.output_columns, *(task.extra_columns if extra_columns else ())]

    def _population(batches: Any) -> Any:
        """Step 2 on one partition: the model's scoring with the population's cuts."""
        m = worker_model(ref).model
        for pdf in batches:
            if len(pdf):
                yield as_output(m.score_population(pdf, cuts), columns, dtypes)

    out = part.mapInPandas(_population, spark_schema(columns, dtypes))
    return out.orderBy(F.col("value_at_risk").desc(), F.col("customer_id").asc())


# ---------------------------------------------------------------------------- forecast
def score_forecast(
    transactions: DataFrame,
    model: Any,
    *,
    cutoff: Any,
    catalog: DataFrame | pd.DataFrame | None = None,
    calendar: DataFrame | pd.DataFrame | None = None,
    num_partitions: int | None = None,
    ship_model: bool | None = None,
) -> DataFrame:
    """Forecast every SKU, like ``ecomml predict forecast`` (the model's horizon from the
    period holding ``cutoff``, history before it).

    Parameters
    ----------
    transactions : canonical transactions (``sku, ts, quantity, price``).
    model : forecast model folder (also a partitioned one), ``runs:/...`` or ``models:/...``.
    cutoff : forecast origin (exclusive bound of the history).
    catalog : ``sku, category[, active]`` (Spark or pandas): categories and never-sold
        active SKUs, routed to their SKU's group.
    calendar : promotion calendar (small; sent to every group).
    num_partitions : SKU groups (default 4x the default parallelism).
    ship_model : send the model folder with ``addFile`` (default: unless master is local).

    Returns
    -------
    pyspark.sql.DataFrame
        ``sku, ds, mean, q05 ... q95, pattern, fallback`` (+ the model's extra columns,
        e.g. ``nb_size``), sorted by ``sku, ds``.
    """
    from pyspark.sql import functions as F

    from ecomml.data.shop import ShopData
    from ecomml.forecasting.panel import period_start
    from ecomml.forecasting.task import TrainedForecaster, forecast_shop, view_for

    cut = check_cutoff(cutoff)
    spark = transactions.sparkSession
    check_columns(transactions, ["sku", "ts", "quantity"], "transactions")
    ref, loaded = resolve_model(spark, model, task="forecast", ship=ship_model)
    est = loaded.model
    freq = str(est.freq_)
    check_views(loaded, [view_for(freq)])
    start = period_start(cut, freq)
    sold = transactions.filter(
        (F.col("ts") < F.lit(start.to_pydatetime())) & (F.col("quantity") > 0)
    )
    if sold.limit(1).count() == 0:
        raise DataQualityError(
            f"no complete {'week' if freq == 'W' else 'day'} with sales before the cutoff "
            f"{cut.date()}; choose a later --cutoff"
        )
    columns, dtypes = _forecast_columns(est, start, freq)
    schema = spark_schema(columns, dtypes)
    n = default_buckets(spark, num_partitions)
    cal_b = broadcast(spark, to_pandas_small(calendar))

    def _group(tx_pdf: pd.DataFrame, cat_pdf: pd.DataFrame | None) -> pd.DataFrame:
        tx = to_canonical(tx_pdf.drop(columns="_b"))
        cat = None if cat_pdf is None else to_canonical(cat_pdf.drop(columns="_b"))
        lm = worker_model(ref)
        fm = TrainedForecaster(lm.model, lm.metadata, ref.path, lm)
        has_sales = bool(((tx["ts"] < start) & (tx["quantity"] > 0)).any()) if len(tx) else False
        if not has_sales:
            if cat is None or cat.empty:
                return empty_like(columns, dtypes)
            # only never-sold catalog SKUs here: forecast them beside a placeholder
            # history (its rows are dropped); their fallback does not depend on it
            tx = _placeholder_sale(start, freq)
        shop = ShopData(tx, catalog=cat, calendar=cal_b.value)
        fc = forecast_shop(fm, shop, cut, check_features=False)
        fc = fc.loc[fc["sku"] != _PLACEHOLDER]
        return as_output(fc, columns, dtypes)

    tx = before(transactions, cut).withColumn("_b", bucket_col("sku", n))
    if catalog is None:
        out = tx.groupBy("_b").applyInPandas(lambda pdf: _group(pdf, None), schema)
    else:
        if isinstance(catalog, pd.DataFrame):
            catalog = spark.createDataFrame(to_canonical(catalog))
        check_columns(catalog, ["sku"], "catalog")
        cat = catalog.withColumn("_b", bucket_col("sku", n))
        out = tx.groupBy("_b").cogroup(cat.groupBy("_b")).applyInPandas(_group, schema)
    return out.orderBy("sku", "ds")


_PLACEHOLDER = "\x00ecomml-placeholder"


def _placeholder_sale(start: pd.Timestamp, freq: str) -> pd.DataFrame:
    step = pd.Timedelta(days=7 if freq == "W" else 1)
    return pd.DataFrame(
        {
            "order_id": ["_"],
            "customer_id": [None],
            "sku": [_PLACEHOLDER],
            "ts": pd.to_datetime([start - step]).astype("datetime64[ns]"),
            "quantity": [1.0],
            "price": [0.0],
        }
    )


def _forecast_columns(est: Any, start: pd.Timestamp, freq: str) -> tuple[list[str], dict[str, Any]]:
    """Output columns and dtypes of ``est.predict`` (from a one-SKU history on the driver)."""
    from ecomml.forecasting.panel import period_date, period_index

    idx = int(period_index(pd.DatetimeIndex([start]), freq)[0])
    ds = period_date(np.arange(idx - 6, idx), freq)
    hist = pd.DataFrame({"sku": "x", "ds": ds.astype("datetime64[ns]"), "y": [1.0, 0, 2, 0, 1, 3]})
    fc = est.predict(hist, start=start)
    return list(fc.columns), dict(fc.dtypes)
