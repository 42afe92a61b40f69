"""Training at scale on Spark.

* :func:`train_partitioned_forecaster` - one forecaster per partition of the SKUs (e.g.
  per category) trained in parallel with ``applyInPandas``; returns the same
  :class:`~ecomml.forecasting.partitioned.PartitionedForecaster` a local ``fit`` gives.
* :class:`SparkALSRecommender` - implicit ALS factorised by Spark MLlib
  (``pyspark.ml.recommendation.ALS``, ``implicitPrefs=True``); once fitted it scores,
  folds in new customers and saves exactly like the built-in ``ALSRecommender``.
* :class:`SparkALSPipeline` - the :class:`~ecomml.recommend.RecommenderPipeline` with
  the MLlib ALS as its ``"als"`` candidate generator.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ecomml._estimator import estimator
from ecomml._validation import check_cutoff
from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.forecasting.partitioned import PartitionedForecaster, partition_key
from ecomml.recommend.als import ALSRecommender
from ecomml.recommend.pipeline import RecommenderPipeline
from ecomml.spark._common import check_columns, to_canonical, to_pandas_small

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame

    from ecomml.recommend import BaseRecommender, Codes

__all__ = ["SparkALSPipeline", "SparkALSRecommender", "train_partitioned_forecaster"]


# ---------------------------------------------------------------------------- forecasting
def train_partitioned_forecaster(
    transactions: DataFrame,
    *,
    cutoff: Any,
    partition_by: str = "category",
    catalog: DataFrame | pd.DataFrame | None = None,
    calendar: DataFrame | pd.DataFrame | None = None,
    freq: str = "W",
    horizon: int = 8,
    model: str = "lgbm",
    params: dict[str, Any] | None = None,
    min_skus: int = 20,
) -> PartitionedForecaster:
    """Train one forecaster per partition of the SKUs, in parallel on Spark.

    Parameters
    ----------
    transactions : canonical transactions (Spark); rows at or after ``cutoff`` are ignored.
    cutoff : training cutoff (exclusive).
    partition_by : a SKU attribute: a catalog column (``category``, a brand, a store
        format...) or a transactions column (each SKU takes its last value).
    catalog, calendar : catalog (Spark or pandas) and promotion calendar (small).
    freq, horizon, model, params : the forecaster of every partition (as in
        ``ecomml train forecast``; ``params`` go to its constructor).
    min_skus : partitions with fewer SKUs are pooled into one.

    Returns
    -------
    PartitionedForecaster
        Fitted; save it with :func:`ecomml.modelstore.save_model` (task ``"forecast"``).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from ecomml.data.shop import ShopData
    from ecomml.forecasting.panel import period_start
    from ecomml.forecasting.task import shop_panel
    from ecomml.spark._common import before, broadcast

    cut = check_cutoff(cutoff)
    spark = transactions.sparkSession
    check_columns(transactions, ["sku", "ts", "quantity"], "transactions")
    pf = PartitionedForecaster(
        freq=freq, horizon=horizon, model=model, partition_col=partition_by, params=params,
        min_skus=min_skus,
    )  # fmt: skip
    pf._check_params()
    tx = before(transactions, cut)
    if isinstance(catalog, pd.DataFrame):
        catalog = spark.createDataFrame(to_canonical(catalog))
    # each SKU's partition: from the catalog, else its last value in the transactions
    if catalog is not None and partition_by in catalog.columns:
        parts = catalog.select(F.col("sku").cast("string"), F.col(partition_by).cast("string"))
        parts = parts.dropDuplicates(["sku"])
    elif partition_by in transactions.columns:
        w = Window.partitionBy("sku").orderBy(F.col("ts").desc())
        parts = (
            tx.filter(F.col(partition_by).isNotNull())
            .withColumn("_r", F.row_number().over(w))
            .filter("_r = 1")
            .select(F.col("sku").cast("string"), F.col(partition_by).cast("string"))
        )
    else:
        raise ConfigError(
            f"--partition-by {partition_by!r} is neither a catalog column nor a transactions "
            "column; give a catalog with it (e.g. category)"
        )
    parts = parts.withColumnRenamed(partition_by, "_part")
    # the SKUs of the panel: sales in complete periods before the cutoff's period
    end = period_start(cut, freq).to_pydatetime()
    in_panel = (F.col("quantity") > 0) & (F.col("ts") < F.lit(end))
    sold = tx.filter(in_panel).select("sku").distinct()
    sizes = sold.join(parts, "sku", "left").fillna({"_part": "unknown"})
    n_skus = {
        r["_part"]: int(r["n"])
        for r in sizes.groupBy("_part").agg(F.count("*").alias("n")).collect()
    }
    if not n_skus:
        raise DataQualityError(f"no sales before the cutoff {cut.date()}; choose a later cutoff")
    small = {p for p, k in n_skus.items() if k < int(min_skus)}
    pooled = small if small and len(small) < len(n_skus) else set()
    group = F.when(F.col("_part").isin(list(pooled)), F.lit("_pooled")).otherwise(F.col("_part"))
    tx = tx.join(F.broadcast(parts), "sku", "left").fillna({"_part": "unknown"})
    tx = tx.withColumn("_group", group if pooled else F.col("_part"))
    side = broadcast(spark, (to_pandas_small(calendar), to_pandas_small(catalog)))
    schema = T.StructType(
        [
            T.StructField("partition", T.StringType()),
            T.StructField("n_skus", T.LongType()),
            T.StructField("folder", T.BinaryType()),
        ]
    )

    def _train(pdf: pd.DataFrame) -> pd.DataFrame:
        from ecomml.modelstore import save_model

        name = str(pdf["_group"].iloc[0])
        txp = to_canonical(pdf.drop(columns=["_part", "_group"]))
        cal, cat = side.value
        # the partition of every SKU in this group goes into the panel's partition column
        own = pdf.drop_duplicates("sku")[["sku", "_part"]].rename(columns={"_part": partition_by})
        if cat is not None:
            cat = cat.loc[cat["sku"].astype(str).isin(set(own["sku"].astype(str)))]
        shop = ShopData(txp, catalog=cat, calendar=cal)
        panel, _ = shop_panel(shop, cut, freq)
        panel[partition_by] = panel["sku"].map(own.set_index("sku")[partition_by]).to_numpy()
        member = pf.make_member()
        fit_kw = {"calendar": cal} if model in ("lgbm", "auto") and cal is not None else {}
        member.fit(panel, **fit_kw)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "model"
            save_model(member, folder, task="forecast", cutoff=cut, extra={"partition": name})
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w:gz") as tar:
                tar.add(folder, arcname="model")
        return pd.DataFrame(
            {
                "partition": [name],
                "n_skus": [int(panel["sku"].nunique())],
                "folder": [buf.getvalue()],
            }
        )

    rows = tx.groupBy("_group").applyInPandas(_train, schema).collect()
    models: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in rows:
            d = Path(tmp) / f"p{len(models)}"
            with tarfile.open(fileobj=io.BytesIO(bytes(r["folder"])), mode="r:gz") as tar:
                tar.extractall(d, filter="data")
            from ecomml.modelstore import load_model

            models[str(r["partition"])] = load_model(d / "model", task="forecast").model
    # the routing table: every SKU sold before the cutoff and its (pooled) partition
    routing = tx.filter(in_panel).select("sku", "_part", "_group").distinct()
    rt = routing.toPandas()
    rt = rt.assign(sku=rt["sku"].astype(str)).drop_duplicates("sku", keep="last")
    panel_like = pd.DataFrame({"sku": rt["sku"], partition_by: rt["_part"]})
    part = partition_key(rt["_group"]).reset_index(drop=True)
    return pf._set_fitted(models, panel_like.reset_index(drop=True), part)


# ---------------------------------------------------------------------------- recommend
@estimator
class SparkALSRecommender(ALSRecommender):
    """Implicit ALS factorised by Spark MLlib; scores, folds in and saves like
    :class:`~ecomml.recommend.ALSRecommender` (use :meth:`to_als` to store it as one).

    Parameters
    ----------
    factors : latent dimensions (MLlib ``rank``).
    regularization : MLlib ``regParam`` (scaled by each row's number of ratings, ALS-WR),
        also the fold-in penalty.
    alpha : confidence ``c = 1 + alpha * r``.
    iterations : MLlib ``maxIter``.
    cg_steps : conjugate-gradient steps of the fold-in at predict time.
    binary : ``r = 1`` for every interacted pair instead of the summed weight.
    random_state : MLlib ``seed``.
    num_blocks : MLlib user and item blocks (None: Spark's default parallelism).
    spark_master : master for a new session when none is active.
    """

    source_name = "als"

    num_blocks: int | None = None
    spark_master: str = "local[2]"

    def _fit(self, codes: Codes) -> None:
        from pyspark.ml.recommendation import ALS

        from ecomml.features.spark_session import get_spark_session

        spark = get_spark_session(self.spark_master)
        w = self.state_["weight"].tocoo()
        r = np.ones_like(w.data) if self.binary else w.data.astype(np.float64)
        pairs = pd.DataFrame(
            {"u": w.row.astype(np.int32), "i": w.col.astype(np.int32), "r": r.astype(np.float32)}
        )
        df = spark.createDataFrame(pairs)
        kw: dict[str, Any] = {}
        if self.num_blocks is not None:
            kw = {"numUserBlocks": int(self.num_blocks), "numItemBlocks": int(self.num_blocks)}
        als = ALS(
            rank=int(self.factors), maxIter=int(self.iterations),
            regParam=float(self.regularization), alpha=float(self.alpha), implicitPrefs=True,
            userCol="u", itemCol="i", ratingCol="r", seed=int(self.random_state or 0),
            coldStartStrategy="nan", **kw,
        )  # fmt: skip
        fitted = als.fit(df)
        f = int(self.factors)
        self.user_factors_ = _factors(fitted.userFactors.toPandas(), codes.n_users, f)
        self.item_factors_ = _factors(fitted.itemFactors.toPandas(), codes.n_items, f)

    def to_als(self) -> ALSRecommender:
        """The fitted model as a plain :class:`~ecomml.recommend.ALSRecommender` (same
        factors, maps and state), e.g. to save it where an ``ALSRecommender`` is expected."""
        als_names = ALSRecommender().get_params(deep=False)
        out = ALSRecommender(
            **{k: v for k, v in self.get_params(deep=False).items() if k in als_names}
        )
        for k, v in vars(self).items():
            if k.endswith("_") and not k.startswith("__"):
                setattr(out, k, v)
        out.source_name = self.source_name
        return out


def _factors(frame: pd.DataFrame, n: int, f: int) -> np.ndarray:
    """MLlib's ``id, features`` rows as an ``(n, f)`` float32 matrix (zeros where absent)."""
    out = np.zeros((n, f), dtype=np.float32)
    if len(frame):
        ids = frame["id"].to_numpy(dtype=np.int64)
        out[ids] = np.vstack(frame["features"].to_numpy()).astype(np.float32)
    return out


@estimator
class SparkALSPipeline(RecommenderPipeline):
    """:class:`~ecomml.recommend.RecommenderPipeline` whose ``"als"`` generator is
    factorised by Spark MLlib (:class:`SparkALSRecommender`); everything else, and the
    saved folder, is the pipeline's.

    Parameters
    ----------
    als_params : keyword arguments of :class:`SparkALSRecommender` (default: the
        pipeline's own ALS settings: binary, 64 factors).
    Other parameters: see :class:`~ecomml.recommend.RecommenderPipeline`;
    ``generators`` must include ``"als"``.
    """

    generators: tuple[str, ...] = ("buy-again", "recent-popular", "item-bm25", "als")
    als_params: dict[str, Any] | None = None

    def _fit_generators(
        self, df: pd.DataFrame, cutoff: pd.Timestamp, catalog: pd.DataFrame | None = None
    ) -> dict[str, BaseRecommender]:
        if "als" not in self.generators:
            raise ConfigError("SparkALSPipeline needs 'als' among its generators")
        return super()._fit_generators(df, cutoff, catalog)

    def _fit_generator(
        self, name: str, df: pd.DataFrame, cutoff: pd.Timestamp, catalog: pd.DataFrame | None
    ) -> BaseRecommender:
        if name != "als":
            return super()._fit_generator(name, df, cutoff, catalog)
        params: dict[str, Any] = {"binary": True, "random_state": self.random_state}
        params.update(self.als_params or {})
        gen = SparkALSRecommender(**params).fit(df, cutoff=cutoff).to_als()
        gen.source_name = name
        return gen
