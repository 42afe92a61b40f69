"""Shared fixtures: a seeded RNG, a temporary MLflow store, the shared real-data folder."""

from __future__ import annotations

import gc
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

# One thread per BLAS and OpenMP pool (numpy, statsmodels, LightGBM), set before numpy loads
# and inherited by the xdist workers and the commands tests start: every core already runs
# a test worker, and pools sized to every core spin against each other (about 10% of the
# suite's CPU). A value already set in the environment wins.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

#: JVM flags for the test run's short-lived Spark JVMs: the quick (C1) JIT only and the
#: single-threaded collector. Same results (Java arithmetic is strict), about 40% less CPU
#: on the small queries the tests run (C2 compiles code these runs barely reuse).
_TEST_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


#: Run first: the tests that share one costly per-worker set-up (a Spark JVM; the privacy
#: module's run of every command) and the longest single test. Under ``--dist worksteal``
#: a worker runs its share of the suite from the front while an idle worker steals from
#: the back, so these stay together on one worker (one JVM, one full run) and never form
#: the run's tail.
RUN_FIRST = ("tests/spark/", "tests/reliability/test_privacy.py", "tests/test_quickstart_golden.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(RUN_FIRST))  # stable: order kept


def pytest_collection_finish(session: pytest.Session) -> None:
    """Hide what collection built (imported libraries, modules, test items) from the garbage
    collector: its full passes stop re-walking them, about 7% less CPU. Objects the tests
    create are collected as usual."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session", autouse=True)
def _temp_inside_pytest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every temporary file of the run (Python's, the Spark JVM's, MLflow's, scikit-learn's)
    goes under pytest's own temporary folder, so a run leaves nothing behind elsewhere; the
    Spark JVMs also get the quick-start flags of ``_TEST_JVM``."""
    d = tmp_path_factory.mktemp("tmp")
    mp = pytest.MonkeyPatch()
    for var in ("TMPDIR", "TEMP", "TMP", "SPARK_LOCAL_DIRS"):
        mp.setenv(var, str(d))
    java = os.environ.get("JAVA_TOOL_OPTIONS", "")
    mp.setenv("JAVA_TOOL_OPTIONS", f"{java} {_TEST_JVM} -Djava.io.tmpdir={d}".strip())
    mp.setattr(tempfile, "tempdir", str(d))
    yield d
    mp.undo()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def new_mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], str]:
    """``new_mlflow_store(folder)`` makes an empty SQLite MLflow store ``folder/mlflow.db``,
    as MLflow makes one with ``folder`` as the working directory, and returns its URI.

    Creating a store's tables (MLflow's schema migrations) takes seconds; each worker does
    it once, and every store is a copy of that empty one whose Default experiment keeps its
    artifacts in ``folder/mlruns/0``, as in a store MLflow made there.
    """
    import mlflow

    template = tmp_path_factory.mktemp("mlflow_template")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(template)  # the Default experiment's artifact folder: ./mlruns/0
        mlflow.MlflowClient(tracking_uri=f"sqlite:///{template / 'mlflow.db'}").search_experiments()

    def make(folder: Path) -> str:
        db = folder / "mlflow.db"
        shutil.copyfile(template / "mlflow.db", db)
        con = sqlite3.connect(db)
        try:
            with con:
                (old,) = con.execute(
                    "SELECT artifact_location FROM experiments WHERE experiment_id = 0"
                ).fetchone()
                con.execute(
                    "UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
                    (old.replace(str(template), str(folder), 1),),
                )
        finally:
            con.close()
        return f"sqlite:///{db}"

    return make


@pytest.fixture
def mlflow_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, new_mlflow_store: Callable[[Path], str]
) -> str:
    """A fresh SQLite MLflow store for one test; the tracking URI is restored afterwards."""
    import mlflow

    uri = new_mlflow_store(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    # a SQLite store keeps artifacts in ./mlruns: keep them inside the test's folder
    monkeypatch.chdir(tmp_path)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    yield uri
    mlflow.set_tracking_uri(previous)


@pytest.fixture
def shared_data() -> Path:
    """The real datasets beside the repository; skips when they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATA} (the ../shared folder is absent)")
    return SHARED_DATA


@pytest.fixture(scope="module")
def online_retail() -> pd.DataFrame:
    """UCI Online Retail read as canonical transactions (cleaned); skips without the real
    datasets. Module scope: a module may not change the frame another module reads."""
    from ecomml.data import read_transactions

    path = SHARED_DATA / "online_retail" / "online_retail.parquet"
    if not path.is_file():
        pytest.skip(f"real datasets not found at {SHARED_DATA} (the ../shared folder is absent)")
    tx, _report = read_transactions(path, format="online-retail")
    return tx
