"""Distributed batch scoring: the local ``ecomml predict TASK`` on a Spark DataFrame.

Each function takes canonical tables as Spark DataFrames and a model (a folder,
``runs:/...`` or ``models:/NAME@alias``) and returns a Spark DataFrame with exactly the
columns ``ecomml predict TASK`` writes, equal to the local output on the same input:

* :func:`score_forecast` - rows grouped by SKU (hash buckets of ``sku``);
* :func:`score_churn` - rows grouped by customer, then the population-level parts of the
  list (RFM quantile scores, the high value-at-risk cut of the action) computed over all
  customers with Spark SQL;
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

__all__ = ["score_forecast", "score_churn", "score_recommend", "CHURN_EXTRA_COLUMNS"]

_TX_REQUIRED = ["customer_id", "sku", "ts", "quantity", "price"]
_EVENT_REQUIRED = ["customer_id", "sku", "ts", "event"]
#: columns ``ecomml predict churn --extra-columns`` adds after :data:`SCORED_COLUMNS`
CHURN_EXTRA_COLUMNS: tuple[str, ...] = (
    "p_alive",
    "r_score",
    "f_score",
    "m_score",
    "rfm_score",
    "recency_days",
    "frequency",
    "monetary",
)


# ---------------------------------------------------------------------------- churn
_CHURN_P1 = [
    "customer_id",
    "p_churn",
    "p_repurchase",
    "expected_purchases",
    "expected_value",
    "value_at_risk",
    "segment",
    "reasons",
    "p_alive",
    "recency_days",
    "frequency",
    "monetary",
]
_F = np.dtype("float64")
_O = np.dtype("object")
_I = np.dtype("int64")
_CHURN_DTYPES: dict[str, Any] = {
    "customer_id": _O,
    "p_churn": _F,
    "p_repurchase": _F,
    "expected_purchases": _F,
    "expected_value": _F,
    "value_at_risk": _F,
    "tier": _O,
    "segment": _O,
    "reasons": _O,
    "action": _O,
    "p_alive": _F,
    "r_score": _I,
    "f_score": _I,
    "m_score": _I,
    "rfm_score": _I,
    "recency_days": _F,
    "frequency": _F,
    "monetary": _F,
}


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
    extra_columns : also return ``p_alive``, the RFM scores, recency, frequency, monetary.
    num_partitions : customer groups (default 4x the default parallelism).
    ship_model : send the model folder with ``addFile`` (default: unless master is local).

    Returns
    -------
    pyspark.sql.DataFrame
        :data:`~ecomml.churn.SCORED_COLUMNS` (+ :data:`CHURN_EXTRA_COLUMNS`), sorted by
        ``value_at_risk`` descending then ``customer_id``.

    Raises
    ------
    SchemaError, ConfigError, DataQualityError, ModelLoadError, FeatureMismatchError
    """
    from pyspark.sql import functions as F

    from ecomml.churn.labels import purchase_days
    from ecomml.churn.model import SCORED_COLUMNS
    from ecomml.data.shop import ShopData

    cut = check_cutoff(cutoff)
    spark = transactions.sparkSession
    check_columns(transactions, _TX_REQUIRED, "transactions")
    ref, loaded = resolve_model(spark, model, task="churn", ship=ship_model)
    views = list(loaded.model.views_)
    if "customer_events" in views and events is None:
        raise ConfigError(
            "this churn model was trained with an events log: pass events= (customer_id, "
            "sku, ts, event) covering the history before the cutoff"
        )
    check_views(loaded, views)
    n = default_buckets(spark, num_partitions)
    side = broadcast(spark, (to_pandas_small(catalog), to_pandas_small(calendar)))
    schema1 = spark_schema(_CHURN_P1, _CHURN_DTYPES)

    def _score_group(tx_pdf: pd.DataFrame, ev_pdf: pd.DataFrame | None) -> pd.DataFrame:
        tx = to_canonical(tx_pdf.drop(columns="_b"))
        if purchase_days(tx).pipe(lambda d: d.loc[d["day"] < cut]).empty:
            return empty_like(_CHURN_P1, _CHURN_DTYPES)
        ev = None if ev_pdf is None else to_canonical(ev_pdf.drop(columns="_b"))
        cat, cal = side.value
        m = worker_model(ref).model
        store = store_from_shop(ShopData(tx, events=ev, catalog=cat, calendar=cal))
        return as_output(m.score(tx, store, cutoff=cut), _CHURN_P1, _CHURN_DTYPES)

    # guest rows (no customer) feed no customer feature: dropping them keeps one bucket
    # from holding every guest checkout
    known = F.col("customer_id").isNotNull()
    tx = before(transactions, cut).filter(known).withColumn("_b", bucket_col("customer_id", n))
    if events is None:
        part = tx.groupBy("_b").applyInPandas(lambda pdf: _score_group(pdf, None), schema1)
    else:
        check_columns(events, _EVENT_REQUIRED, "events")
        ev = before(events, cut).filter(known).withColumn("_b", bucket_col("customer_id", n))
        part = (
            tx.groupBy("_b")
            .cogroup(ev.groupBy("_b"))
            .applyInPandas(lambda a, b: _score_group(a, b) if len(a) else _empty1(), schema1)
        )
    part = part.persist()
    try:
        stats = _column_stats(part, ["recency_days", "frequency", "monetary"])
        if stats["n"] == 0:
            raise DataQualityError(
                f"no purchases before the cutoff {cut.date()}; choose a later cutoff"
            )
        scored = _rfm_scores(part, stats)
        thr = _high_value_threshold(part, 0.8, int(stats["n"]))
    except Exception:
        part.unpersist()
        raise
    schema2 = spark_schema(list(scored.columns) + ["tier", "action"], _CHURN_DTYPES)

    def _finish(batches: Any) -> Any:
        from ecomml.churn.tiers import member_tiers, next_actions

        rules = worker_model(ref).model.tier_rules
        for pdf in batches:
            if pdf.empty:
                continue
            sc = pdf[["r_score", "f_score", "m_score", "rfm_score"]].astype("int64")
            pdf["tier"] = member_tiers(
                sc, monetary=pdf["monetary"].astype("float64"), rules=rules
            ).to_numpy()
            pdf["action"] = next_actions(pdf, high_value_threshold=thr)
            yield pdf

    out = scored.mapInPandas(_finish, schema2)
    cols = list(SCORED_COLUMNS) + (list(CHURN_EXTRA_COLUMNS) if extra_columns else [])
    return out.select(*cols).orderBy(F.col("value_at_risk").desc(), F.col("customer_id").asc())


def _empty1() -> pd.DataFrame:
    return empty_like(_CHURN_P1, _CHURN_DTYPES)


def _value_counts(df: DataFrame, col: str) -> DataFrame:
    """Per distinct value of ``col``: its count ``_eq`` and the count below it ``_lt``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.orderBy(F.col(col)).rowsBetween(Window.unboundedPreceding, -1)
    counts = df.groupBy(col).agg(F.count(F.lit(1)).alias("_eq"))
    return counts.withColumn("_lt", F.coalesce(F.sum("_eq").over(w), F.lit(0)))


def _column_stats(part: DataFrame, cols: list[str]) -> dict[str, int]:
    """Rows (``n``) and missing values per column, in one Spark job."""
    from pyspark.sql import functions as F

    aggs = [F.count(F.lit(1)).alias("n")]
    aggs += [F.sum((F.col(c).isNull() | F.isnan(c)).cast("long")).alias(c) for c in cols]
    row = part.agg(*aggs).collect()[0]
    return {k: int(row[k] or 0) for k in ["n", *cols]}


def _rfm_scores(part: DataFrame, stats: dict[str, int], bins: int | None = None) -> DataFrame:
    """:func:`ecomml.churn.tiers.rfm_scores` (population quantiles) over all customers:
    the average rank of each value, as a share of customers, cut into ``bins``."""
    from pyspark.sql import functions as F

    from ecomml.churn.tiers import RFM_BINS

    bins = RFM_BINS if bins is None else bins
    n = int(stats["n"])
    out = part
    for key, col, better in (
        ("r", "recency_days", False),
        ("f", "frequency", True),
        ("m", "monetary", True),
    ):
        vcol = f"_v_{key}"
        if stats[col]:
            med = pd.Series(
                [r[0] for r in out.select(col).dropna().collect()], dtype="float64"
            ).median()
            filled = F.coalesce(F.nanvl(F.col(col), F.lit(None)), F.lit(float(med)))
        else:
            filled = F.col(col)
        out = out.withColumn(vcol, filled.cast("double"))
        counts = _value_counts(out, vcol)
        # pandas rank(method="average", pct=True): (below + (ties + 1) / 2) / n
        pct = (F.col("_lt") + (F.col("_eq") + F.lit(1.0)) / F.lit(2.0)) / F.lit(float(n))
        if not better:
            pct = (F.lit(1.0) - pct) + F.lit(1.0) / F.lit(float(max(n, 1)))
        sc = F.least(F.greatest(F.ceil(pct * F.lit(float(bins))), F.lit(1)), F.lit(bins))
        counts = counts.select(vcol, sc.cast("long").alias(f"{key}_score"))
        out = out.join(F.broadcast(counts) if n < 2_000_000 else counts, on=vcol, how="left")
        out = out.drop(vcol)
    return out.withColumn("rfm_score", F.col("r_score") + F.col("f_score") + F.col("m_score"))


def _high_value_threshold(part: DataFrame, q: float, n: int) -> float:
    """``value_at_risk.fillna(0).quantile(q)`` over all customers, exactly as pandas
    computes it (linear interpolation between the two order statistics)."""
    from pyspark.sql import functions as F

    v = part.select(F.coalesce(F.nanvl("value_at_risk", F.lit(0.0)), F.lit(0.0)).alias("_v"))
    if n == 0:
        return 0.0
    pos = q * (n - 1)
    lo, hi = int(np.floor(pos)), int(np.ceil(pos))
    counts = _value_counts(v, "_v")
    rows = counts.filter(
        ((F.col("_lt") <= lo) & (F.col("_lt") + F.col("_eq") > lo))
        | ((F.col("_lt") <= hi) & (F.col("_lt") + F.col("_eq") > hi))
    ).collect()
    vals = sorted(float(r["_v"]) for r in rows)
    a, b = vals[0], vals[-1]
    # numpy's linear interpolation between the two neighbours, as pandas applies it
    return float(np.quantile(np.array([a, b]), pos - lo)) if hi > lo else a


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
