"""ecomml on Apache Spark: sessions, distributed batch scoring and training at scale.

Importing :mod:`ecomml.spark` does not import pyspark; the names below load their module
on first use (``pip install 'ecomml[spark]'``)::

    from ecomml.spark import get_spark_session, score_churn
    spark = get_spark_session("local[4]")
    tx = spark.read.parquet("s3://shop/transactions/")
    score_churn(tx, "models:/churn@prod", cutoff="2026-11-23").write.parquet("scores/")
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "PartitionedForecaster",
    "SparkALSPipeline",
    "SparkALSRecommender",
    "get_spark_session",
    "score_churn",
    "score_forecast",
    "score_recommend",
    "train_partitioned_forecaster",
]

_WHERE = {
    "get_spark_session": "ecomml.features.spark_session",
    "score_forecast": "ecomml.spark.scoring",
    "score_churn": "ecomml.spark.scoring",
    "score_recommend": "ecomml.spark.scoring",
    "train_partitioned_forecaster": "ecomml.spark.training",
    "PartitionedForecaster": "ecomml.forecasting.partitioned",
    "SparkALSRecommender": "ecomml.spark.training",
    "SparkALSPipeline": "ecomml.spark.training",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'ecomml.spark' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
