"""SparkEngine gives every built-in view exactly DuckDB's result, and fails clearly.

One shared local Spark session (``spark`` fixture); tiny seeded shops. Integers,
strings, keys and dates must be equal; floats agree to 1e-9 (sums run in another order).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from ecomml.data.synth import make_shop
from ecomml.exceptions import InputFileError, SparkUnavailableError, SqlTranslationError
from ecomml.features.store import FeatureStore
from ecomml.features.view import FeatureView
from ecomml.features.views import builtin_views
from tests.features._reference import shops

VIEWS = [v.name for v in builtin_views()]
TABLES = ("transactions", "events", "catalog", "calendar")


def assert_same(got: pd.DataFrame, want: pd.DataFrame, *, what: str) -> None:
    """Spark's frame ``got`` equals DuckDB's ``want``: columns, dtypes, rows, values."""
    assert list(got.columns) == list(want.columns), f"{what}: columns differ"
    assert got.dtypes.astype(str).tolist() == want.dtypes.astype(str).tolist(), (
        f"{what}: dtypes differ\n{pd.DataFrame({'spark': got.dtypes, 'duckdb': want.dtypes})}"
    )
    assert len(got) == len(want), f"{what}: {len(got)} rows on Spark, {len(want)} on DuckDB"
    keys = [c for c in ("cutoff", "customer_id", "sku", "date", "week") if c in want.columns]
    got = got.sort_values(keys, kind="stable").reset_index(drop=True)
    want = want.sort_values(keys, kind="stable").reset_index(drop=True)
    for col in want.columns:
        g, w = got[col], want[col]
        if pd.api.types.is_float_dtype(w):
            np.testing.assert_allclose(
                g.to_numpy(float), w.to_numpy(float), rtol=1e-9, atol=1e-12, err_msg=what + col
            )
            continue
        gv = [None if _null(v) else v for v in g.tolist()]
        wv = [None if _null(v) else v for v in w.tolist()]
        assert gv == wv, f"{what}: column {col} differs"


def _null(v: object) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _store(engine, tables: dict[str, pd.DataFrame]) -> FeatureStore:  # noqa: ANN001
    store = FeatureStore(engine)
    for name, frame in tables.items():
        if frame is not None:
            store.register(name, frame)
    return store


@pytest.fixture(scope="module")
def shop_tables() -> dict[str, pd.DataFrame]:
    shop = make_shop(n_customers=50, n_skus=20, days=200, seed=3, n_categories=3)
    return {t: getattr(shop, t) for t in TABLES}


@pytest.fixture(scope="module")
def engines(spark, shop_tables):  # noqa: ANN001, ANN201
    from ecomml.features.spark import SparkEngine

    return _store(None, shop_tables), _store(SparkEngine(spark), shop_tables)


@pytest.fixture(scope="module")
def cutoffs(shop_tables) -> list[pd.Timestamp]:  # noqa: ANN001
    start = shop_tables["transactions"]["ts"].min().normalize()
    # a midnight cutoff and one in the afternoon (a partial day is not a grid row)
    return [start + pd.Timedelta(days=120), start + pd.Timedelta(days=185, hours=14)]


@pytest.mark.parametrize("view", VIEWS)
def test_builtin_view_equal_on_spark_and_duckdb(engines, cutoffs, view: str) -> None:  # noqa: ANN001
    duck, spark_store = engines
    want = duck.get_features(view, cutoff=cutoffs[1])
    got = spark_store.get_features(view, cutoff=cutoffs[1])
    assert len(want) > 0
    assert_same(got, want, what=f"{view} as of {cutoffs[1]}: ")


# slow: the one-cutoff twin is test_builtin_view_equal_on_spark_and_duckdb (every view)
@pytest.mark.slow
@pytest.mark.twin
def test_training_frame_several_cutoffs_equal(engines, cutoffs, shop_tables) -> None:  # noqa: ANN001
    """The point-in-time join over many cutoffs (one set-based query) on both engines."""
    duck, spark_store = engines
    rng = np.random.default_rng(0)
    customers = sorted(shop_tables["transactions"]["customer_id"].dropna().unique())
    skus = sorted(shop_tables["transactions"]["sku"].unique())
    rows = []
    for cut in cutoffs:
        for _ in range(25):
            day = cut.normalize() - pd.Timedelta(days=int(rng.integers(1, 60)))
            rows.append(
                {
                    "cutoff": cut,
                    "customer_id": str(rng.choice([*customers, "unknown"])),
                    "sku": str(rng.choice(skus)),
                    "date": day,
                    "week": day - pd.Timedelta(days=day.dayofweek + 7),
                    "label": float(rng.random()),
                }
            )
    labels = pd.DataFrame(rows)
    want = duck.training_frame(labels, VIEWS)
    got = spark_store.training_frame(labels, VIEWS)
    assert_same(got, want, what="training_frame: ")
    # row order is the labels' order on both engines
    assert got["label"].tolist() == labels["label"].tolist()


HYPO = settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# slow: the fixed-shop twin is test_builtin_view_equal_on_spark_and_duckdb
@pytest.mark.slow
@pytest.mark.twin
@HYPO
@given(case=shops())
def test_random_shops_equal(spark, case) -> None:  # noqa: ANN001
    """Random small tables with boundary rows, returns, NULL customers: same features."""
    from ecomml.features.spark import SparkEngine

    tables, cutoff = case
    duck = _store(None, tables)
    remote = _store(SparkEngine(spark), tables)
    for view in ("customer_rfm", "sku_demand"):
        assert_same(
            remote.get_features(view, cutoff=cutoff),
            duck.get_features(view, cutoff=cutoff),
            what=f"{view}: ",
        )


def test_sources_from_parquet_folder_csv_and_catalog_table(
    spark, shop_tables, cutoffs, tmp_path: Path
) -> None:  # noqa: ANN001
    from ecomml.features.spark import SparkEngine, SparkTable

    tx = shop_tables["transactions"]
    folder = tmp_path / "tx"
    (folder / "part=a").mkdir(parents=True)
    half = len(tx) // 2
    tx.iloc[:half].to_parquet(folder / "part=a" / "0.parquet", index=False)
    tx.iloc[half:].to_parquet(folder / "1.parquet", index=False)
    shop_tables["catalog"].to_csv(tmp_path / "catalog.csv", index=False)
    spark.createDataFrame(shop_tables["calendar"]).createOrReplaceTempView("shop_calendar")

    duck = FeatureStore()
    duck.register("transactions", folder)
    duck.register("catalog", tmp_path / "catalog.csv")
    duck.register("calendar", shop_tables["calendar"])
    remote = FeatureStore(SparkEngine(spark))
    remote.register("transactions", folder)
    remote.register("catalog", tmp_path / "catalog.csv")
    remote.register("calendar", SparkTable("shop_calendar"))
    assert remote.engine.sources["calendar"] == "spark_table:shop_calendar"
    assert_same(
        remote.get_features("customer_rfm", cutoff=cutoffs[0]),
        duck.get_features("customer_rfm", cutoff=cutoffs[0]),
        what="customer_rfm from files: ",
    )


def test_materialize_writes_partitioned_parquet(engines, cutoffs, tmp_path: Path) -> None:  # noqa: ANN001
    from ecomml.features.materialize import read_materialized

    duck, spark_store = engines
    cut = cutoffs[0]
    m_spark = spark_store.materialize(["sku_demand"], cutoff=cut, out_dir=tmp_path / "spark")
    m_duck = duck.materialize(["sku_demand"], cutoff=cut, out_dir=tmp_path / "duck")
    e_spark = m_spark["views"]["sku_demand"][cut.isoformat()]
    e_duck = m_duck["views"]["sku_demand"][cut.isoformat()]
    assert e_spark["rows"] == e_duck["rows"] > 0
    assert [c["name"] for c in e_spark["schema"]] == [c["name"] for c in e_duck["schema"]]
    part = tmp_path / "spark" / e_spark["file"]
    assert part.is_dir() and list(part.glob("part-*.parquet"))
    got = read_materialized(tmp_path / "spark", "sku_demand", cutoff=cut)
    want = read_materialized(tmp_path / "duck", "sku_demand", cutoff=cut)
    assert str(got["cutoff"].dtype) == str(want["cutoff"].dtype)  # naive, as DuckDB writes it
    got = got.astype({c: want[c].dtype for c in want.columns})
    assert_same(got, want, what="materialized sku_demand: ")
    # a second build of the same cutoff replaces the folder
    again = spark_store.materialize(["sku_demand"], cutoff=cut, out_dir=tmp_path / "spark")
    assert again["views"]["sku_demand"][cut.isoformat()]["rows"] == e_spark["rows"]


# ---------------------------------------------------------------------- bad input
def test_missing_path_is_a_clear_error(spark, tmp_path: Path) -> None:  # noqa: ANN001
    from ecomml.features.spark import SparkEngine

    store = FeatureStore(SparkEngine(spark))
    with pytest.raises(InputFileError, match="no such file or directory"):
        store.register("transactions", tmp_path / "nope.parquet")
    with pytest.raises(InputFileError, match="does not exist on the cluster"):
        store.register("transactions", f"file://{tmp_path}/nothing-*/x.parquet")
    with pytest.raises(InputFileError, match="no such table in the Spark catalog"):
        store.register("transactions", "spark_table:no_db.no_table")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputFileError, match="no .parquet files"):
        store.register("transactions", empty)


def test_untranslatable_view_names_view_and_construct(spark, shop_tables) -> None:  # noqa: ANN001
    from ecomml.features.entity import CUSTOMER
    from ecomml.features.spark import SparkEngine

    bad = FeatureView(
        name="last_visit",
        entity=CUSTOMER,
        sql="SELECT t.cutoff, t.customer_id, e.ts AS last_event FROM transactions t "
        "ASOF JOIN events e ON t.customer_id = e.customer_id AND t.ts >= e.ts",
    )
    store = FeatureStore(SparkEngine(spark), views=[bad])
    store.register("transactions", shop_tables["transactions"])
    with pytest.raises(SqlTranslationError, match=r"feature view 'last_visit': ASOF JOIN") as e:
        store.get_features("last_visit", cutoff="2023-03-01")
    assert e.value.view == "last_visit" and e.value.construct == "ASOF JOIN"
    assert "\n" not in str(e.value)

    unknown = FeatureView(
        name="odd_fn",
        entity=CUSTOMER,
        sql="SELECT cutoff, customer_id, no_such_function(quantity) AS x FROM transactions "
        "GROUP BY cutoff, customer_id",
    )
    store = FeatureStore(SparkEngine(spark), views=[unknown])
    store.register("transactions", shop_tables["transactions"])
    with pytest.raises(SqlTranslationError, match="(?i)feature view .odd_fn.*no_such_function"):
        store.get_features("odd_fn", cutoff="2023-03-01")


def test_no_pyspark_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from ecomml.features import spark_session as session

    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(SparkUnavailableError, match=r"pip install 'ecomml\[spark\]'"):
        session.get_spark_session()


def test_no_java_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from ecomml.features import spark_session as session

    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(SparkUnavailableError, match="no Java runtime found.*JAVA_HOME"):
        session.find_java()
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SparkUnavailableError, match="not on PATH"):
        session.find_java()


def test_cli_without_java_exits_1_with_one_line(tmp_path: Path) -> None:
    """In a fresh process (no JVM yet) with JAVA_HOME pointing nowhere."""
    tx = make_shop(n_customers=5, n_skus=3, days=30, seed=0).transactions
    tx.to_parquet(tmp_path / "tx.parquet", index=False)
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "no-jdk")}
    proc = subprocess.run(
        [sys.executable, "-m", "ecomml.cli.main", "features", "build", "--engine", "spark",
         "-t", str(tmp_path / "tx.parquet"), "--format", "canonical", "--cutoff", "2023-01-20",
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "no Java runtime found: install Java 17+ and set JAVA_HOME" in lines[0]


def test_cli_build_with_spark_matches_duckdb(spark, shop_tables, cutoffs, tmp_path: Path) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from ecomml.cli.main import app
    from ecomml.features.materialize import read_materialized

    shop_tables["transactions"].to_parquet(tmp_path / "tx.parquet", index=False)
    shop_tables["catalog"].to_parquet(tmp_path / "catalog.parquet", index=False)
    cut = str(cutoffs[0].date())
    runner = CliRunner()
    outs = {}
    for engine in ("duckdb", "spark"):
        outs[engine] = tmp_path / engine
        args = ["features", "build", "-t", str(tmp_path / "tx.parquet"), "--format", "canonical",
                "--catalog", str(tmp_path / "catalog.parquet"), "--cutoff", cut,
                "--views", "customer_sku", "--out", str(outs[engine]), "--engine", engine,
                "--spark-conf", "spark.sql.shuffle.partitions=2"]  # fmt: skip
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
    got = read_materialized(outs["spark"], "customer_sku", cutoff=cut)
    want = read_materialized(outs["duckdb"], "customer_sku", cutoff=cut)
    assert_same(got.astype({c: want[c].dtype for c in want.columns}), want, what="CLI: ")

    res = runner.invoke(
        app,
        ["features", "build", "-t", str(tmp_path / "tx.parquet"), "--format", "canonical",
         "--cutoff", cut, "--engine", "spark", "--spark-conf", "no-equals-sign",
         "--out", str(tmp_path / "x")],
    )  # fmt: skip
    assert res.exit_code == 1
    assert "expected key=value" in res.output


@pytest.mark.parametrize(
    ("given_path", "want"),
    [
        ("s3a:/bucket/shop/tx", "s3a://bucket/shop/tx"),  # a Path option folds '//'
        ("hdfs:/namenode:8020/shop/tx.parquet", "hdfs://namenode:8020/shop/tx.parquet"),
        ("file:/data/tx.parquet", "file:///data/tx.parquet"),
        ("spark_table:shop.transactions", "spark_table:shop.transactions"),
        ("data/tx.parquet", None),
        ("/abs/tx.parquet", None),
    ],
)
def test_cli_spark_sources(given_path: str, want: str | None) -> None:
    from ecomml.spark.commands import spark_source

    assert spark_source(Path(given_path)) == want


def test_remote_nanosecond_parquet_message() -> None:
    from ecomml.features.spark import _nanosecond_columns

    assert _nanosecond_columns("s3a://bucket/tx.parquet") is None


@pytest.mark.slow
def test_real_online_retail_equal_on_spark(spark, shared_data: Path) -> None:  # noqa: ANN001
    """UCI Online Retail (~500k lines): customer and SKU views equal on both engines."""
    from ecomml.data import read_transactions
    from ecomml.features.spark import SparkEngine

    tx, _ = read_transactions(
        shared_data / "online_retail" / "online_retail.parquet", format="online-retail"
    )
    duck = _store(None, {"transactions": tx})
    remote = _store(SparkEngine(spark), {"transactions": tx})
    for view in ("customer_rfm", "sku_demand", "customer_sku"):
        want = duck.get_features(view, cutoff="2011-09-01")
        got = remote.get_features(view, cutoff="2011-09-01")
        assert len(want) > 1000
        assert_same(got, want, what=f"online retail {view}: ")
