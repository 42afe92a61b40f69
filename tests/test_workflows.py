"""What ``ecomml train|predict|backtest TASK`` do, called as library functions (issue 16:
the CLI only parses options, chooses the engine and prints)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ecomml.data.shop import ShopData
from ecomml.data.synth import make_shop
from ecomml.exceptions import ConfigError, DataQualityWarning
from ecomml.modelstore import read_metadata
from ecomml.privacy import is_pseudonym
from ecomml.workflows import backtest, score_to_file, train_and_save

KEY = "a-test-key-of-enough-length"
FORECAST = {"model": "ma", "freq": "W", "horizon": 4, "validate_folds": 0}


@pytest.fixture(scope="module")
def shop() -> ShopData:
    s = make_shop(n_customers=200, n_skus=40, days=300, seed=5)
    return ShopData(s.transactions, s.events, s.catalog, s.calendar, source="workflow shop")


@pytest.fixture(scope="module")
def cutoff(shop: ShopData) -> pd.Timestamp:
    return shop.transactions["ts"].max().normalize() - pd.Timedelta(days=20)


def test_train_and_save_then_score_to_file(
    shop: ShopData, cutoff: pd.Timestamp, tmp_path: Path
) -> None:
    said: list[str] = []
    res = train_and_save("forecast", shop, cutoff, FORECAST, tmp_path / "m", progress=said.append)
    assert res.path == tmp_path / "m" and res.run_id is None and res.trained is not None
    assert read_metadata(res.path)["task"] == "forecast" and "saving the model" in said
    out, side = tmp_path / "f.csv", tmp_path / "ltd.parquet"
    options = {"lead_time": 2, "lead_time_output": side}  # the other options: their defaults
    scored = score_to_file("forecast", res.path, shop, cutoff, out, options)
    assert not scored.hashed and scored.shop is shop and scored.model.horizon == 4
    back = pd.read_csv(out)
    assert len(back) == len(scored.frame) and {"sku", "ds", "mean"} <= set(back.columns)
    assert len(pd.read_parquet(side)) > 0


def test_another_engine_scores_in_place_of_the_shop(
    shop: ShopData, cutoff: pd.Timestamp, tmp_path: Path
) -> None:
    model = train_and_save("forecast", shop, cutoff, FORECAST, tmp_path / "m").path
    frame = pd.DataFrame({"sku": ["a"], "ds": [cutoff], "mean": [1.0]})
    asked: list[dict[str, Any]] = []

    def engine(options: dict[str, Any]) -> pd.DataFrame:
        asked.append(options)
        return frame

    def no_shop(cut: pd.Timestamp) -> ShopData:
        raise AssertionError("the engine reads its own data")

    scored = score_to_file("forecast", model, no_shop, cutoff, tmp_path / "o.parquet", {},
                           engine=engine)  # fmt: skip
    assert asked == [{}] and scored.shop is None
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "o.parquet"), frame, check_dtype=False)


def test_a_model_on_pseudonyms_is_scored_with_its_key_only(
    shop: ShopData, cutoff: pd.Timestamp, tmp_path: Path
) -> None:
    opts = {"horizon": 60, "step": 60, "max_cutoffs": 2, "out": tmp_path / "plots"}
    with pytest.warns(DataQualityWarning, match="customers before the cutoff"):
        res = train_and_save("churn", shop, cutoff, opts, tmp_path / "m", key=KEY)
    assert read_metadata(res.path)["ids"]["pseudonymized"] is True
    out = tmp_path / "churn.csv"
    with pytest.raises(ConfigError, match="trained on pseudonymised customer ids"):
        score_to_file("churn", res.path, shop, cutoff, out, {})
    with pytest.raises(ConfigError, match="knows pseudonyms only"):
        score_to_file("churn", res.path, shop, cutoff, out, {}, key=KEY, engine=lambda o: None)
    assert not out.exists()
    scored = score_to_file("churn", res.path, shop, cutoff, out, {}, key=KEY)
    assert scored.hashed and is_pseudonym(pd.read_csv(out)["customer_id"]).all()


def test_data_warnings_go_to_the_callers_warn(tmp_path: Path) -> None:
    s = make_shop(n_customers=60, n_skus=30, days=120, seed=1)
    tiny = ShopData(s.transactions, s.events, s.catalog, s.calendar, source="tiny shop")
    cut = tiny.transactions["ts"].max()
    heard: list[str] = []
    train_and_save("forecast", tiny, cut, FORECAST, tmp_path / "m", warn=heard.append)
    assert any("weeks of history" in w for w in heard)


def test_register_needs_an_experiment(shop: ShopData, cutoff: pd.Timestamp, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs an MLflow experiment"):
        train_and_save("forecast", shop, cutoff, FORECAST, tmp_path / "m", register="shop")


def test_backtest_report_and_plots(shop: ShopData, cutoff: pd.Timestamp, tmp_path: Path) -> None:
    options = {"models": "ma,snaive", "folds": 2, "freq": "W", "horizon": 4}
    report, plots = backtest("forecast", shop, cutoff, options, plots_dir=tmp_path)
    assert set(report.folds["model"]) == {"ma", "snaive"} and report.shown
    assert plots and all(p.parent == tmp_path and p.is_file() for p in plots.values())


@pytest.mark.mlflow
def test_tracked_training_and_backtest(
    shop: ShopData, cutoff: pd.Timestamp, tmp_path: Path, mlflow_uri: str
) -> None:
    import mlflow

    from ecomml.tracking import tracked_run

    res = train_and_save("forecast", shop, cutoff, FORECAST, tmp_path / "m", experiment="wf",
                         run_params={"hash_ids": False})  # fmt: skip
    run = mlflow.get_run(res.run_id)
    assert run.data.params["model"] == "ma" and run.data.params["hash_ids"] == "False"
    options = {"models": "ma", "folds": 2, "freq": "W", "horizon": 4}
    with tracked_run("wf", run_name="backtest") as active:
        report, _ = backtest("forecast", shop, cutoff, options, log=True)
    logged = mlflow.get_run(active.info.run_id).data
    assert logged.params["folds"] == "2" and set(report.extra) <= set(logged.metrics)


def test_all_names_exist() -> None:
    from ecomml import workflows

    assert all(hasattr(workflows, name) for name in workflows.__all__)
