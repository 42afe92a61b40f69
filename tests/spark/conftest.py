"""One Spark session for every Spark test (local mode, few shuffle partitions).

Tests that take the ``spark`` fixture skip with the reason when pyspark is not
installed or no Java runtime is found.
"""

from __future__ import annotations

import os

import pytest

from ecomml.exceptions import SparkUnavailableError


@pytest.fixture(scope="session")
def spark():
    """A shared local Spark session; skips when pyspark or Java is missing."""
    try:
        from ecomml.spark.session import get_spark_session

        # under pytest-xdist every core already runs a test worker: one Spark core each
        cores = 1 if os.environ.get("PYTEST_XDIST_WORKER") else 2
        session = get_spark_session(
            f"local[{cores}]", app_name="ecomml-tests", shuffle_partitions=2
        )
    except SparkUnavailableError as err:
        pytest.skip(f"Spark is unavailable: {err}")
    yield session
    session.stop()
