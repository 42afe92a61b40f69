"""The Spark session helpers, where Spark jobs and drivers look for them.

They live in the features layer (:mod:`ecomml.features.spark_session`), beside the Spark
engine that uses them; this module re-exports them for ``spark-submit`` scripts.
"""

from __future__ import annotations

from ecomml.features.spark_session import (
    SESSION_DEFAULTS,
    apply_session_defaults,
    find_java,
    get_spark_session,
    quiet_query_error_log,
    require_pyspark,
)

__all__ = [
    "SESSION_DEFAULTS",
    "apply_session_defaults",
    "find_java",
    "get_spark_session",
    "quiet_query_error_log",
    "require_pyspark",
]
