"""Distributed batch scoring equals the local predict on the same input (exact keys,
tight float tolerance), loads each model once per Python worker, and fails clearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecomml.data.shop import ShopData
from ecomml.data.synth import make_shop
from ecomml.features.store import store_from_shop

CUT = pd.Timestamp("2024-04-15")


@pytest.fixture(scope="module")
def shop():  # type: ignore[no-untyped-def]
    # small: the equality is row by row; 150 customers fill every tier and every partition
    s = make_shop(n_customers=150, n_skus=60, days=500, seed=5, n_categories=4)
    tx = s.transactions.loc[s.transactions["ts"] < CUT].reset_index(drop=True)
    # guest checkouts (no customer): SKU demand counts them, customer features do not
    guests = tx.sample(60, random_state=0).assign(customer_id=None)
    guests["order_id"] = [f"g{i}" for i in range(len(guests))]
    tx = pd.concat([tx, guests], ignore_index=True).sort_values("ts", kind="mergesort")
    tx = tx.reset_index(drop=True)
    ev = s.events.loc[s.events["ts"] < CUT].reset_index(drop=True)
    return ShopData(tx, events=ev, catalog=s.catalog, calendar=s.calendar)


def _sdf(spark, frame: pd.DataFrame):  # type: ignore[no-untyped-def]
    return spark.createDataFrame(frame)


def assert_same(local: pd.DataFrame, remote: pd.DataFrame, keys: list[str]) -> None:
    """Same columns in the same order, same keys, floats within 1e-9, others equal."""
    assert list(remote.columns) == list(local.columns)
    a = local.sort_values(keys, kind="mergesort").reset_index(drop=True)
    b = remote.sort_values(keys, kind="mergesort").reset_index(drop=True)
    assert len(a) == len(b)
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_float_dtype(x):
            np.testing.assert_allclose(y.astype(float), x.astype(float), rtol=1e-9, atol=1e-9)
        elif pd.api.types.is_datetime64_any_dtype(x):
            assert (pd.to_datetime(y).astype("datetime64[ns]") == x.astype("datetime64[ns]")).all()
        else:
            assert x.astype(str).tolist() == y.astype(str).tolist(), c


@pytest.fixture(scope="module")
def churn_dir(shop, tmp_path_factory):  # type: ignore[no-untyped-def]
    from ecomml.churn import ChurnModel
    from ecomml.modelstore import feature_hashes, save_model

    store = store_from_shop(shop)
    m = ChurnModel(60, step=45, max_cutoffs=3, classifier={"n_estimators": 30, "n_folds": 2})
    m.fit(shop.transactions, store, cutoff=CUT, events=True)
    d = tmp_path_factory.mktemp("models") / "churn"
    save_model(
        m, d, task="churn", cutoff=CUT, features=feature_hashes([store.view(v) for v in m.views_])
    )
    return d


# slow (CI's twin run): test_forecast_equals_local checks the same runner (model shipped
# and loaded per worker, bucketed groups, the unchanged local code on pandas, output
# coerced to the task's schema) in the default run; the population cuts' SQL runs on
# Spark in test_engine's view parity and equals pandas in tests/churn
@pytest.mark.slow
@pytest.mark.twin
def test_churn_equals_local(spark, shop, churn_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from ecomml.churn.model import SCORED_COLUMNS
    from ecomml.modelstore import load_model
    from ecomml.spark import score_churn

    m = load_model(churn_dir, task="churn").model
    local = m.score(shop.transactions, store_from_shop(shop), cutoff=CUT)
    out = score_churn(
        _sdf(spark, shop.transactions),
        churn_dir,
        cutoff=CUT,
        events=_sdf(spark, shop.events),
        catalog=shop.catalog,
        calendar=shop.calendar,
        extra_columns=True,
        num_partitions=3,
    ).toPandas()
    assert_same(local, out, ["customer_id"])
    # the list is sorted like the local one (the CLI test checks the default columns)
    assert out["customer_id"].tolist() == local["customer_id"].tolist()
    assert list(out.columns[: len(SCORED_COLUMNS)]) == list(SCORED_COLUMNS)


FAST_FC = {"n_estimators": 20, "max_train_rows": 5000, "max_origins": 10, "horizon": 4}


@pytest.fixture(scope="module")
def forecast_dir(shop, tmp_path_factory):  # type: ignore[no-untyped-def]
    from ecomml.forecasting import LightGBMForecaster
    from ecomml.forecasting.task import shop_panel, view_for
    from ecomml.modelstore import feature_hashes, save_model

    panel, store = shop_panel(shop, CUT, "W")
    est = LightGBMForecaster(**FAST_FC).fit(panel, calendar=shop.calendar)
    d = tmp_path_factory.mktemp("models") / "forecast"
    save_model(
        est, d, task="forecast", cutoff=CUT, features=feature_hashes([store.view(view_for("W"))])
    )
    return d


def test_forecast_equals_local(spark, shop, forecast_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from ecomml.forecasting.task import forecast_shop, load_forecaster
    from ecomml.spark import score_forecast

    cat = shop.catalog.copy()
    # an active SKU never sold: the category fallback, routed to its SKU's group
    extra = cat.iloc[[0]].assign(sku="NEW-1", active=True)
    cat = pd.concat([cat, extra], ignore_index=True)
    local_shop = ShopData(shop.transactions, catalog=cat, calendar=shop.calendar)
    local = forecast_shop(load_forecaster(forecast_dir), local_shop, CUT)
    out = score_forecast(
        _sdf(spark, shop.transactions), forecast_dir, cutoff=CUT,
        catalog=_sdf(spark, cat), calendar=shop.calendar, num_partitions=3,
    ).toPandas()  # fmt: skip
    assert_same(local, out, ["sku", "ds"])
    assert "NEW-1" in set(out.loc[out["pattern"] == "new", "sku"])


@pytest.fixture(scope="module")
def recommend_dir(shop, tmp_path_factory):  # type: ignore[no-untyped-def]
    from ecomml.modelstore import feature_hashes, save_model
    from ecomml.recommend import RecommenderPipeline, build_interactions
    from ecomml.recommend.pipeline import STORE_VIEWS

    store = store_from_shop(shop)
    inter = build_interactions(shop.transactions, shop.events, cutoff=CUT)
    rec = RecommenderPipeline(n_estimators=20, n_candidates=15, horizon_days=60)
    rec.fit(inter, cutoff=CUT, store=store, catalog=shop.catalog)
    d = tmp_path_factory.mktemp("models") / "recommend"
    save_model(
        rec,
        d,
        task="recommend",
        cutoff=CUT,
        features=feature_hashes([store.view(v) for v in STORE_VIEWS]),
    )
    return d


def _local_recs(shop, model_dir, k, **kw):  # type: ignore[no-untyped-def]
    from ecomml.modelstore import load_model
    from ecomml.recommend import build_interactions

    rec = load_model(model_dir, task="recommend").model
    inter = build_interactions(shop.transactions, shop.events, cutoff=CUT)
    return rec.recommend(
        kw.pop("who", None), k, history=inter, cutoff=CUT, store=store_from_shop(shop),
        catalog=shop.catalog, **kw,
    )  # fmt: skip


# slow (CI's twin run): the runner is test_forecast_equals_local's; the recommender's
# per-group lists equal the whole-population ones in tests/recommend/test_pipeline.py
# (test_scoring_a_few_customers_on_new_history_gives_their_lists)
@pytest.mark.slow
@pytest.mark.twin
def test_recommend_equals_local(spark, shop, recommend_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from ecomml.spark import score_recommend

    local = _local_recs(shop, recommend_dir, 5)
    out = score_recommend(
        _sdf(spark, shop.transactions), recommend_dir, cutoff=CUT, k=5,
        events=_sdf(spark, shop.events), catalog=shop.catalog, calendar=shop.calendar,
        num_partitions=3,
    ).toPandas()  # fmt: skip
    assert_same(local, out, ["customer_id", "rank"])

    # requested customers (one unknown: popular cold start) and the business rules
    who = pd.DataFrame({"customer_id": [*local["customer_id"].unique()[:25], "nobody"]})
    local = _local_recs(shop, recommend_dir, 4, who=who, exclude_seen=True, max_per_category=2)
    out = score_recommend(
        _sdf(spark, shop.transactions), recommend_dir, cutoff=CUT, k=4,
        events=_sdf(spark, shop.events), catalog=shop.catalog, calendar=shop.calendar,
        customers=who, exclude_purchased=True, max_per_category=2, num_partitions=2,
    ).toPandas()  # fmt: skip
    assert_same(local, out, ["customer_id", "rank"])
    assert (out.loc[out["customer_id"] == "nobody", "source"] == "popular-cold-start").all()


@pytest.fixture(scope="module")
def clean_files(shop, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The shop as canonical, already clean Parquet files (what --engine spark reads)."""
    from ecomml.data.shop import load_shop

    d = tmp_path_factory.mktemp("data")
    shop.transactions.to_parquet(d / "raw.parquet", index=False)
    clean = load_shop(d / "raw.parquet", cutoff=CUT)
    clean.transactions.to_parquet(d / "tx.parquet", index=False)
    shop.events.to_parquet(d / "events.parquet", index=False)
    shop.catalog.to_parquet(d / "catalog.parquet", index=False)
    shop.calendar.to_parquet(d / "calendar.parquet", index=False)
    return d


def _cli(*args: str):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from ecomml.cli.main import app

    return CliRunner().invoke(app, [str(a) for a in args])


# slow: test_churn_equals_local and test_forecast_equals_local check the same equality
# through the API; test_cli_engine_spark_bad_input covers the CLI's --engine spark path
@pytest.mark.slow
@pytest.mark.twin
def test_cli_engine_spark_writes_the_local_files(
    spark, clean_files: Path, churn_dir: Path, forecast_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    d = clean_files
    data = ["-t", d / "tx.parquet", "--events", d / "events.parquet", "--catalog",
            d / "catalog.parquet", "--calendar", d / "calendar.parquet", "--cutoff", "2024-04-15"]  # fmt: skip
    outs = {}
    for engine in ("local", "spark"):
        out = tmp_path / f"churn-{engine}.csv"
        r = _cli("predict", "churn", "--model", churn_dir, *data, "--output", out,
                 "--engine", engine, "--spark-partitions", "2")  # fmt: skip
        assert r.exit_code == 0, r.output
        outs[engine] = pd.read_csv(out)
    assert_same(outs["local"], outs["spark"], ["customer_id"])
    for engine in ("local", "spark"):
        out = tmp_path / f"fc-{engine}.parquet"
        r = _cli("predict", "forecast", "--model", forecast_dir, *data, "--output", out,
                 "--engine", engine, "--spark-conf", "spark.sql.shuffle.partitions=2")  # fmt: skip
        assert r.exit_code == 0, r.output
        outs[engine] = pd.read_parquet(out)
    assert_same(outs["local"], outs["spark"], ["sku", "ds"])


def test_cli_engine_spark_bad_input(
    spark, clean_files: Path, churn_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    base = ["predict", "churn", "--model", churn_dir, "--cutoff", "2024-04-15",
            "--output", tmp_path / "o.csv"]  # fmt: skip
    r = _cli(*base, "-t", tmp_path / "nope.parquet", "--engine", "spark")
    assert r.exit_code == 1 and "does not exist" in r.output and "Traceback" not in r.output
    r = _cli(*base, "-t", clean_files / "tx.parquet", "--engine", "spark", "--format", "cdnow")
    assert r.exit_code == 1 and "ecomml data convert" in r.output
    r = _cli(*base, "-t", clean_files / "tx.parquet", "--engine", "flink")
    assert r.exit_code == 1 and "use local or spark" in r.output
    r = _cli(*base, "-t", clean_files / "tx.parquet", "--engine", "spark", "--spark-conf", "oops")
    assert r.exit_code == 1 and "key=value" in r.output
    # the model needs events: a clear message, not a worker traceback
    r = _cli(*base, "-t", clean_files / "tx.parquet", "--engine", "spark")
    assert r.exit_code == 1 and "events" in r.output
    # offers from an uplift model are scored locally only
    r = _cli(*base, "-t", clean_files / "tx.parquet", "--engine", "spark",
             "--campaign-model", churn_dir)  # fmt: skip
    assert r.exit_code == 1 and "--campaign-model" in r.output and "--engine local" in r.output


def test_model_loaded_once_per_worker(spark, churn_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """Many partitions, few Python workers: each worker process loads the (shipped)
    model folder once; later tasks in the same worker hit the cache."""
    from pyspark.sql import types as T

    from ecomml.spark._common import resolve_model

    ref, _ = resolve_model(spark, churn_dir, task="churn", ship=True)
    assert ref.shipped and ref.name != churn_dir.name

    def probe(batches):  # type: ignore[no-untyped-def]
        import os

        from ecomml.spark._common import LOAD_COUNT, worker_model

        for _b in batches:
            before = LOAD_COUNT["n"]
            m = worker_model(ref)
            m2 = worker_model(ref)
            yield pd.DataFrame(
                {"pid": [os.getpid()], "before": [before], "after": [LOAD_COUNT["n"]],
                 "same": [m is m2], "path": [str(m.path)]}
            )  # fmt: skip

    schema = T.StructType(
        [T.StructField("pid", T.LongType()), T.StructField("before", T.LongType()),
         T.StructField("after", T.LongType()), T.StructField("same", T.BooleanType()),
         T.StructField("path", T.StringType())]
    )  # fmt: skip
    rows = spark.range(0, 12, numPartitions=12).mapInPandas(probe, schema).toPandas()
    assert len(rows) == 12 and rows["same"].all()
    # a worker's load count never goes past 1 however many partitions it scored
    g = rows.groupby("pid")
    assert ((g["after"].max() - g["before"].min()) == 1).all()
    assert rows["pid"].nunique() < len(rows)
    assert not rows["path"].str.startswith(str(churn_dir)).any()  # the SparkFiles copy


def test_importing_does_not_import_pyspark() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ecomml.spark, ecomml.spark.scoring, ecomml.spark.training, "
        "ecomml.forecasting.partitioned, ecomml.cli.main; "
        "assert 'pyspark' not in sys.modules, 'pyspark imported'; "
        "assert callable(ecomml.spark.score_churn)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_api_bad_input(spark, shop, churn_dir: Path, forecast_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from ecomml.exceptions import ConfigError, ModelLoadError, SchemaError
    from ecomml.spark import score_churn, score_forecast, score_recommend

    tx = _sdf(spark, shop.transactions)
    with pytest.raises(SchemaError, match="price"):
        score_churn(tx.drop("price"), churn_dir, cutoff=CUT)
    with pytest.raises(ConfigError, match="events"):
        score_churn(tx, churn_dir, cutoff=CUT)  # the model was trained with events
    with pytest.raises(ModelLoadError, match="not a 'recommend' model"):
        score_recommend(tx, churn_dir, cutoff=CUT)
    with pytest.raises(ModelLoadError, match="not found"):
        score_forecast(tx, forecast_dir.parent / "nope", cutoff=CUT)
    with pytest.raises(ConfigError, match="num_partitions"):
        score_forecast(tx, forecast_dir, cutoff=CUT, num_partitions=0)
