"""Training at scale: per-partition forecasters trained in parallel on Spark equal the
local fit and score through every path; MLlib ALS as a candidate generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecomml.data.shop import ShopData
from ecomml.data.synth import make_shop
from tests.spark.test_scoring import assert_same

CUT = pd.Timestamp("2024-04-15")
PARAMS = {"n_estimators": 15, "max_train_rows": 4000, "max_origins": 8}


@pytest.fixture(scope="module")
def shop():  # type: ignore[no-untyped-def]
    s = make_shop(n_customers=250, n_skus=60, days=480, seed=11, n_categories=4)
    tx = s.transactions.loc[s.transactions["ts"] < CUT].reset_index(drop=True)
    return ShopData(tx, catalog=s.catalog, calendar=s.calendar)


def test_partitioned_forecaster_spark_equals_local(spark, shop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ecomml.forecasting.task import forecast_shop, load_forecaster, shop_panel, view_for
    from ecomml.modelstore import feature_hashes, save_model
    from ecomml.spark import PartitionedForecaster, score_forecast, train_partitioned_forecaster

    sdf = spark.createDataFrame(shop.transactions)
    pf = train_partitioned_forecaster(
        sdf, cutoff=CUT, partition_by="category", catalog=shop.catalog,
        calendar=shop.calendar, horizon=3, params=PARAMS, min_skus=10,
    )  # fmt: skip
    panel, store = shop_panel(shop, CUT, "W")
    local = PartitionedForecaster(
        horizon=3, params=PARAMS, partition_col="category", min_skus=10
    ).fit(panel, calendar=shop.calendar)
    assert sorted(pf.models_) == sorted(local.models_) and len(pf.models_) >= 2
    assert pf.sku_partition_.equals(local.sku_partition_)
    assert pf.default_partition_ == local.default_partition_
    a = local.predict(panel, start=CUT, calendar=shop.calendar)
    b = pf.predict(panel, start=CUT, calendar=shop.calendar)
    assert_same(a, b, ["sku", "ds"])
    # SKUs go to their own partition's model
    sku = a["sku"].iloc[0]
    member = local.models_[local.sku_partition_[sku]]
    one = member.predict(panel.loc[panel["sku"] == sku], start=CUT, calendar=shop.calendar)
    np.testing.assert_allclose(one["mean"], a.loc[a["sku"] == sku, "mean"])

    # a normal model folder (each partition a model folder inside), accepted by the
    # local predict and by Spark scoring alike
    d = tmp_path / "forecast"
    save_model(pf, d, task="forecast", cutoff=CUT,
               features=feature_hashes([store.view(view_for("W"))]))  # fmt: skip
    assert len(list((d / "partitions").iterdir())) == len(pf.models_)
    fm = load_forecaster(d)
    loc = forecast_shop(fm, shop, CUT)
    assert_same(a.drop(columns=[], errors="ignore"), loc, ["sku", "ds"])
    out = score_forecast(
        sdf, d, cutoff=CUT, catalog=shop.catalog, calendar=shop.calendar, num_partitions=2
    ).toPandas()
    assert_same(loc, out, ["sku", "ds"])


def test_partition_column_must_exist(spark, shop) -> None:  # type: ignore[no-untyped-def]
    from ecomml.exceptions import ConfigError
    from ecomml.spark import train_partitioned_forecaster

    with pytest.raises(ConfigError, match="brand"):
        train_partitioned_forecaster(
            spark.createDataFrame(shop.transactions), cutoff=CUT, partition_by="brand",
            catalog=shop.catalog,
        )  # fmt: skip


# slow (CI's twin run): test_spark_als_pipeline_saves_as_a_pipeline fits MLlib's ALS
# through the same generator in the default run
@pytest.mark.slow
@pytest.mark.twin
def test_mllib_als_generator_recall_close_to_builtin(spark) -> None:  # type: ignore[no-untyped-def]
    from ecomml.recommend import ALSRecommender, build_interactions, evaluate_recommendations
    from ecomml.recommend.evaluate import temporal_split
    from ecomml.spark import SparkALSRecommender

    s = make_shop(n_customers=400, n_skus=80, days=365, seed=4, include_events=False)
    cut = pd.Timestamp(s.transactions["ts"].max()).normalize() - pd.Timedelta(days=60)
    inter = build_interactions(s.transactions, None, cutoff=cut + pd.Timedelta(days=60))
    train, test = temporal_split(inter, cutoff=cut)
    kw = {"factors": 16, "iterations": 8, "binary": True, "random_state": 0}
    recall = {}
    for name, model in (
        ("builtin", ALSRecommender(**kw)),
        ("mllib", SparkALSRecommender(regularization=0.1, **kw)),
    ):
        model.fit(train, cutoff=cut)
        recs = model.recommend(test["customer_id"].unique(), 10, exclude_seen=False)
        recall[name] = evaluate_recommendations(recs, test, train, ks=(10,))["recall@10"]
    assert recall["builtin"] > 0.05
    assert recall["mllib"] >= 0.8 * recall["builtin"], recall
    # fitted, it is an ALSRecommender: fold-in and saving are the built-in ones
    als = model.to_als()
    assert type(als) is ALSRecommender
    np.testing.assert_array_equal(als.item_factors_, model.item_factors_)


def test_cli_train_forecast_per_partition_on_spark(spark, shop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from ecomml.cli.main import app
    from ecomml.data.shop import load_shop
    from ecomml.modelstore import load_model
    from ecomml.spark import PartitionedForecaster

    # --engine spark reads canonical tables as they are: give it clean ones
    shop.transactions.to_parquet(tmp_path / "raw.parquet", index=False)
    clean = load_shop(tmp_path / "raw.parquet", cutoff=CUT).transactions
    clean.to_parquet(tmp_path / "tx.parquet", index=False)
    shop.catalog.to_parquet(tmp_path / "catalog.parquet", index=False)
    data = ["-t", tmp_path / "tx.parquet", "--catalog", tmp_path / "catalog.parquet",
            "--cutoff", "2024-04-15"]  # fmt: skip
    run = CliRunner().invoke
    r = run(app, [str(a) for a in ["train", "forecast", *data, "--engine", "spark",
                                   "--partition-by", "category", "--model", "tsb",
                                   "--horizon", "3", "--model-dir", tmp_path / "m", "--no-track"]])  # fmt: skip
    assert r.exit_code == 0, r.output
    loaded = load_model(tmp_path / "m", task="forecast")
    assert isinstance(loaded.model, PartitionedForecaster)
    assert loaded.metadata["partition_by"] == "category"
    outs = []
    for engine in ("local", "spark"):
        out = tmp_path / f"fc-{engine}.parquet"
        args = [
            "predict",
            "forecast",
            "--model",
            tmp_path / "m",
            *data,
            "-o",
            out,
            "--engine",
            engine,
        ]
        r = run(app, [str(a) for a in args])
        assert r.exit_code == 0, r.output
        outs.append(pd.read_parquet(out))
    assert_same(outs[0], outs[1], ["sku", "ds"])
    # Spark training needs a partition column
    r = run(app, [str(a) for a in ["train", "forecast", *data, "--engine", "spark", "--no-track",
                                   "--model-dir", tmp_path / "m2"]])  # fmt: skip
    assert r.exit_code == 1 and "--partition-by" in r.output


def test_spark_als_pipeline_saves_as_a_pipeline(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ecomml.modelstore import load_model, save_model
    from ecomml.recommend import ALSRecommender, build_interactions
    from ecomml.spark import SparkALSPipeline

    s = make_shop(n_customers=150, n_skus=40, days=300, seed=2, include_events=False)
    cut = pd.Timestamp(s.transactions["ts"].max()).normalize()
    inter = build_interactions(s.transactions, None, cutoff=cut)
    pipe = SparkALSPipeline(
        generators=("buy-again", "als"), n_candidates=10, horizon_days=60, n_estimators=10,
        new_items_ranker=False, als_params={"factors": 8, "iterations": 3},
    ).fit(inter, cutoff=cut)  # fmt: skip
    assert type(pipe.generators_["als"]) is ALSRecommender
    save_model(pipe, tmp_path / "rec", task="recommend", cutoff=cut)
    back = load_model(tmp_path / "rec", task="recommend").model
    who = inter["customer_id"].unique()[:10]
    a = pipe.recommend(who, 5, history=inter, cutoff=cut)
    b = back.recommend(who, 5, history=inter, cutoff=cut)
    assert_same(a, b, ["customer_id", "rank"])
    assert "als" in set(a["source"]) | set(b["source"]) or len(a) == 50
