"""``ecomml train|predict|backtest forecast`` and the main-job step."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ecomml.cli.main import app
from ecomml.features.store import store_from_shop

runner = CliRunner()


@pytest.fixture(scope="module")
def shop_files(tmp_path_factory: pytest.TempPathFactory, small_fc_shop) -> dict[str, Path]:  # noqa: ANN001
    d = tmp_path_factory.mktemp("fcshop")
    small_fc_shop.transactions.to_parquet(d / "tx.parquet", index=False)
    small_fc_shop.catalog.to_parquet(d / "catalog.parquet", index=False)
    return {"tx": d / "tx.parquet", "catalog": d / "catalog.parquet"}


def _ok(res) -> None:  # noqa: ANN001
    assert res.exit_code == 0, res.output


@pytest.mark.slow
def test_train_predict_backtest_tracked(shop_files, tmp_path: Path, mlflow_uri: str) -> None:  # noqa: ANN001
    import mlflow

    common = ["--transactions", str(shop_files["tx"]), "--format", "canonical",
              "--catalog", str(shop_files["catalog"])]  # fmt: skip
    res = runner.invoke(app, ["train", "forecast", *common, "--cutoff", "2024-01-10",
                              "--freq", "W", "--horizon", "4", "--model-dir", "m",
                              "--register", "demand"])  # fmt: skip
    _ok(res)
    assert (tmp_path / "m" / "lightgbm_model.txt").exists()
    assert (tmp_path / "m-plots" / "fan.png").exists()
    runs = mlflow.search_runs(experiment_names=["ecomml-forecast"])
    assert len(runs) == 1 and "metrics.val.mase" in runs.columns
    res = runner.invoke(app, ["predict", "forecast", "--model", "models:/demand/1", *common,
                              "--cutoff", "2024-02-07", "--output", "fc.parquet",
                              "--lead-time", "2", "--review-period", "1",
                              "--lead-time-output", "ltd.parquet"])  # fmt: skip
    _ok(res)
    fc = pd.read_parquet(tmp_path / "fc.parquet")
    assert list(fc.columns[:12]) == ["sku", "ds", "mean", "q05", "q10", "q25", "q50", "q75",
                                     "q90", "q95", "pattern", "fallback"]  # fmt: skip
    # the cutoff's period: the week of Wednesday 2024-02-07 starts Monday 2024-02-05
    assert sorted(fc["ds"].unique())[0] == pd.Timestamp("2024-02-05")
    assert fc["ds"].nunique() == 4
    ltd = pd.read_parquet(tmp_path / "ltd.parquet")
    assert (ltd["periods"] == 3).all() and set(ltd["sku"]) == set(fc["sku"])
    res = runner.invoke(app, ["backtest", "forecast", *common, "--cutoff", "2024-02-07",
                              "--horizon", "4", "--folds", "2", "--models", "ma,tsb",
                              "--output", "bt.csv"])  # fmt: skip
    _ok(res)
    assert "tsb" in res.output and "sc.pinball" in res.output
    bt = pd.read_csv(tmp_path / "bt.csv")
    assert set(bt["model"]) == {"ma", "tsb"}


def test_train_predict_untracked(shop_files, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    common = ["--transactions", str(shop_files["tx"]), "--format", "canonical"]
    res = runner.invoke(app, ["train", "forecast", *common, "--cutoff", "2024-01-10",
                              "--horizon", "3", "--no-track", "--validate-folds", "0"])  # fmt: skip
    _ok(res)
    assert (tmp_path / "models" / "forecast" / "ecomml_model.json").exists()
    assert (tmp_path / "models" / "forecast-plots" / "drivers.png").exists()
    res = runner.invoke(app, ["predict", "forecast", "--model", "models/forecast", *common,
                              "--cutoff", "2024-01-10", "--output", "fc.parquet",
                              "--explain-output", "why.csv"])  # fmt: skip
    _ok(res)
    fc = pd.read_parquet(tmp_path / "fc.parquet")
    assert sorted(fc["ds"].unique())[0] == pd.Timestamp("2024-01-08")
    assert fc["ds"].nunique() == 3
    # why each number: baseline x one factor per driver is the LightGBM part of the mean
    why = pd.read_csv(tmp_path / "why.csv", parse_dates=["ds"])
    factors = [c for c in why.columns if c.startswith("factor_")]
    assert factors == ["factor_history", "factor_season", "factor_promotion", "factor_price",
                       "factor_other"]  # fmt: skip
    product = why["baseline"] * why[factors].prod(axis=1)
    assert ((product - why["lightgbm_mean"]).abs() <= 1e-6 * (1 + why["lightgbm_mean"])).all()
    both = fc.loc[~fc["fallback"]].merge(why, on=["sku", "ds"], suffixes=("", "_why"))
    assert len(both) and ((both["mean"] - both["mean_why"]).abs() < 1e-6).all()


def test_reconciled_model_writes_every_level(shop_files, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    common = ["--transactions", str(shop_files["tx"]), "--format", "canonical",
              "--catalog", str(shop_files["catalog"])]  # fmt: skip
    res = runner.invoke(app, ["train", "forecast", *common, "--cutoff", "2024-01-10",
                              "--horizon", "3", "--model", "ma", "--no-track",
                              "--validate-folds", "0", "--reconcile", "auto"])  # fmt: skip
    _ok(res)
    assert "reconciliation:" in res.output
    res = runner.invoke(app, ["predict", "forecast", "--model", "models/forecast", *common,
                              "--cutoff", "2024-01-10", "--output", "fc.parquet",
                              "--levels-output", "levels.csv"])  # fmt: skip
    _ok(res)
    fc = pd.read_parquet(tmp_path / "fc.parquet")
    assert list(fc.columns[:12]) == ["sku", "ds", "mean", "q05", "q10", "q25", "q50", "q75",
                                     "q90", "q95", "pattern", "fallback"]  # fmt: skip
    lv = pd.read_csv(tmp_path / "levels.csv", parse_dates=["ds"])
    assert set(lv["level"]) == {"sku", "category", "total"}
    total = lv.loc[lv["level"] == "total"].set_index("ds")["mean"]
    by_week = fc.groupby("ds")["mean"].sum()
    assert (total - by_week).abs().max() < 1e-6
    # a model trained without --reconcile is refused for --levels-output, in one line
    res = runner.invoke(app, ["train", "forecast", *common, "--cutoff", "2024-01-10",
                              "--horizon", "3", "--model", "ma", "--no-track",
                              "--validate-folds", "0", "--model-dir", "plain"])  # fmt: skip
    _ok(res)
    res = runner.invoke(app, ["predict", "forecast", "--model", "plain", *common,
                              "--cutoff", "2024-01-10", "--output", "fc2.parquet",
                              "--levels-output", "levels2.csv"])  # fmt: skip
    assert res.exit_code != 0 and "--reconcile" in res.output


def test_cli_errors_are_one_line(shop_files, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["predict", "forecast", "--model", "nope", "--transactions",
                              str(shop_files["tx"]), "--cutoff", "2024-01-10",
                              "--output", "x.parquet"])  # fmt: skip
    assert res.exit_code == 1
    assert "error:" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["train", "forecast", "--transactions", str(shop_files["tx"]),
                              "--format", "canonical", "--cutoff", "2024-01-10",
                              "--freq", "M", "--no-track"])  # fmt: skip
    assert res.exit_code == 1 and "freq" in res.output
    res = runner.invoke(app, ["train", "forecast", "--transactions", str(shop_files["tx"]),
                              "--format", "canonical", "--cutoff", "2024-01-10", "--horizon", "2",
                              "--model", "ma", "--no-track", "--model-dir", "ma"])  # fmt: skip
    _ok(res)
    res = runner.invoke(app, ["predict", "forecast", "--model", "ma", "--transactions",
                              str(shop_files["tx"]), "--format", "canonical",
                              "--cutoff", "2024-01-10", "--output", "o.parquet",
                              "--lead-time", "2"])  # fmt: skip
    assert res.exit_code == 1 and "--lead-time-output" in res.output


# slow: the forecast step of the main job is checked by tests/test_quickstart_golden.py
@pytest.mark.slow
@pytest.mark.twin
def test_quickstart_step(small_fc_shop, tmp_path: Path) -> None:  # noqa: ANN001
    from ecomml.data.shop import ShopData
    from ecomml.forecasting import ForecastTask
    from ecomml.task import StepContext

    cut = pd.Timestamp("2024-02-05")
    tx = small_fc_shop.transactions
    shop = ShopData(transactions=tx.loc[tx["ts"] < cut], catalog=small_fc_shop.catalog,
                    calendar=small_fc_shop.calendar)  # fmt: skip
    ctx = StepContext(shop=shop, store=store_from_shop(shop), cutoff=cut, out_dir=tmp_path,
                      features_dir=tmp_path / "f", manifest={}, say=lambda m: None)  # fmt: skip
    res = ForecastTask().run_quickstart(ctx)
    assert res.task == "forecast"
    for key in ("forecast/forecast.parquet", "plots/forecast/fan.png",
                "plots/forecast/coverage.png", "plots/forecast/error_by_class.png"):  # fmt: skip
        assert Path(res.outputs[key]).exists(), key
    assert 0 < res.metrics["wape"] < 3
