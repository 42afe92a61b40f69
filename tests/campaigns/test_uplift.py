"""Uplift targeting: the meta-learners find a known effect and save without pickle (their
scikit-learn contract is checked in tests/test_common.py); ``ecomml uplift train|predict`` write what they promise and refuse
bad input with one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ecomml.campaigns import UpliftModel, encode_treatment, target_offers
from ecomml.campaigns.uplift_commands import PREDICT_COLUMNS
from ecomml.cli.main import app
from ecomml.exceptions import ConfigError, DataQualityError, ModelLoadError
from tests.campaigns._uplift_data import make_campaign, shop_with_campaign, true_uplift

runner = CliRunner()
FEATURES = ["tenure", "spend_before", "channel"]
SMALL = {"n_estimators": 30, "min_child_samples": 20}


@pytest.fixture(scope="module")
def campaign() -> pd.DataFrame:
    return make_campaign(4000, seed=1)


@pytest.mark.parametrize("learner", ["s", "t", "x", "dr"])
def test_each_learner_ranks_by_the_true_uplift(campaign: pd.DataFrame, learner: str) -> None:
    test = make_campaign(2000, seed=9)
    m = UpliftModel(learner=learner, n_estimators=60, min_child_samples=40)
    pred = m.fit(campaign[FEATURES], campaign["offer"], campaign["visit"]).predict(test[FEATURES])
    truth = true_uplift(test)
    assert np.corrcoef(pred, truth)[0, 1] > 0.6
    helped = truth > 0.2
    # true gap 0.25 (or 0.33); the S-learner shrinks effects towards 0 by design
    assert pred[helped].mean() - pred[~helped].mean() > (0.05 if learner == "s" else 0.12)


def test_auto_picks_on_validation_and_remembers_why(campaign: pd.DataFrame) -> None:
    m = UpliftModel(**SMALL).fit(campaign[FEATURES], campaign["offer"], campaign["visit"])
    assert set(m.validation_) == {"s", "t", "x", "dr"}
    assert m.learner_ == max(m.validation_, key=m.validation_.get)


def test_saved_without_pickle_and_predicts_the_same(campaign: pd.DataFrame, tmp_path: Path) -> None:
    m = UpliftModel(learner="dr", **SMALL).fit(campaign[FEATURES], campaign["offer"],
                                                campaign["visit"])  # fmt: skip
    m.save_artifacts(tmp_path)
    assert not list(tmp_path.glob("*.pkl"))
    back = UpliftModel.load_artifacts(tmp_path)
    pd.testing.assert_frame_equal(back.predict_outcomes(campaign[FEATURES]),
                                  m.predict_outcomes(campaign[FEATURES]))  # fmt: skip
    (tmp_path / "tau.txt").unlink()
    with pytest.raises(ModelLoadError, match="not a complete uplift model"):
        UpliftModel.load_artifacts(tmp_path)


def test_unseen_categories_and_missing_features(campaign: pd.DataFrame) -> None:
    m = UpliftModel(learner="t", **SMALL).fit(campaign[FEATURES], campaign["offer"],
                                               campaign["visit"])  # fmt: skip
    new = campaign[FEATURES].head(3).assign(channel=["kiosk", None, "web"])
    assert np.isfinite(m.predict(new)).all()
    with pytest.raises(DataQualityError, match=r"features \['channel'\]"):
        m.predict(campaign[["tenure", "spend_before"]])
    with pytest.raises(DataQualityError, match="'tenure' was numeric at fit"):
        m.predict(new.assign(tenure="old"))


def test_bad_training_input_is_named(campaign: pd.DataFrame) -> None:
    X, t, y = campaign[FEATURES], campaign["offer"], campaign["visit"]
    with pytest.raises(DataQualityError, match="0 .no offer. or 1"):
        UpliftModel().fit(X, t * 2, y)
    with pytest.raises(DataQualityError, match="missing or not a number in rows \\[0\\]"):
        UpliftModel().fit(X, t, y.astype(float).where(y.index > 0))
    with pytest.raises(DataQualityError, match="only 0 treated units"):
        UpliftModel().fit(X, t * 0, y)
    with pytest.raises(ConfigError, match="learner must be one of"):
        UpliftModel(learner="z").fit(X, t, y)


def test_encode_treatment() -> None:
    keep, t, c, tr = encode_treatment(pd.Series(["no", "yes", "no"], name="got"))
    assert (c, tr) == ("no", "yes") and keep.all() and t.tolist() == [0, 1, 0]
    arms = pd.Series(["A", "B", "none", "A"], name="arm")
    keep, t, c, tr = encode_treatment(arms, control="none", treated="B")
    assert keep.tolist() == [False, True, True, False] and t.tolist() == [1, 0]
    with pytest.raises(ConfigError, match="pick one with --treated"):
        encode_treatment(arms, control="none")
    with pytest.raises(ConfigError, match="with --control"):
        encode_treatment(arms)
    with pytest.raises(DataQualityError, match="has one value"):
        encode_treatment(pd.Series([1, 1], name="offer"))


def test_target_offers_respects_cost_and_budget() -> None:
    value, send, rank = target_offers(
        np.array([0.1, 0.3, -0.2, 0.2]), margin=10, cost=1.5, budget=1
    )
    np.testing.assert_allclose(value, [1, 3, -2, 2])
    assert rank.tolist() == [3, 1, 4, 2] and send.tolist() == [False, True, False, False]
    _, send, _ = target_offers(np.array([0.1, 0.3, -0.2, 0.2]), margin=10, cost=1.5)
    assert send.tolist() == [False, True, False, True]


def _ok(res: Any) -> None:
    assert res.exit_code == 0, res.output


def test_cli_train_then_predict(campaign: pd.DataFrame, tmp_path: Path) -> None:
    data = tmp_path / "campaign.csv"
    campaign.to_csv(data, index=False)
    model = tmp_path / "model"
    res = runner.invoke(app, [
        "uplift", "train", "--data", str(data), "--treatment", "offer", "--outcome", "visit",
        "--id", "customer_id", "--learner", "x", "--n-estimators", "40", "--model-dir",
        str(model), "--no-track",
    ])  # fmt: skip
    _ok(res)
    assert "Held-out targeting" in res.output and "two models (T-learner)" in res.output
    meta = json.loads((model / "campaign.json").read_text())
    assert meta["features"] == FEATURES and meta["control"] == "0" and meta["treated"] == "1"
    mine, *_, random = meta["evaluation"]
    assert mine["auuc"] > random["auuc"] == 0.0
    assert (model / "plots" / "qini.png").stat().st_size > 10_000
    out = tmp_path / "send.parquet"
    res = runner.invoke(app, ["uplift", "predict", "--model", str(model), "--data", str(data),
                              "--output", str(out), "--margin", "20", "--cost", "1",
                              "--budget", "300", "--no-track"])  # fmt: skip
    _ok(res)
    table = pd.read_parquet(out)
    assert list(table.columns) == ["customer_id", *PREDICT_COLUMNS]
    assert table["customer_id"].tolist() == campaign["customer_id"].tolist()
    assert table["send_offer"].sum() <= 300 and "send the offer to" in res.output
    sent = table.loc[table["send_offer"]]
    assert (sent["incremental_value"] > 1).all() and (sent["rank"] <= 300).all()
    assert true_uplift(campaign)[table["send_offer"].to_numpy()].mean() > 0.1


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"--treatment": "nope"}, "no column 'nope'"),
        ({"--outcome": "channel"}, "channel"),
        ({"--features": "tenure,age"}, "--features ['age'] are not columns"),
        ({"--holdout": "1.5"}, "--holdout must be between 0 and 1"),
        ({"--treatment": "channel"}, "with --control"),
    ],
)
def test_cli_train_refuses_bad_input(
    campaign: pd.DataFrame, tmp_path: Path, change: dict[str, str], needle: str
) -> None:
    data = tmp_path / "c.csv"
    campaign.to_csv(data, index=False)
    args = {"--data": str(data), "--treatment": "offer", "--outcome": "visit",
            "--model-dir": str(tmp_path / "m"), **change}  # fmt: skip
    res = runner.invoke(app, ["uplift", "train", *[x for kv in args.items() for x in kv],
                              "--no-track"])  # fmt: skip
    assert res.exit_code == 1, res.output
    out = res.output.strip()
    assert out.startswith("error:") and "Traceback" not in out and needle in out, out


def test_cli_predict_refuses_a_folder_that_is_not_an_uplift_model(tmp_path: Path) -> None:
    data = tmp_path / "c.csv"
    make_campaign(50).to_csv(data, index=False)
    (tmp_path / "m").mkdir()
    res = runner.invoke(app, ["uplift", "predict", "--model", str(tmp_path / "m"), "--data",
                              str(data), "--output", str(tmp_path / "o.csv"), "--no-track"])  # fmt: skip
    assert res.exit_code == 1 and "not an uplift model folder" in res.output


@pytest.mark.mlflow
def test_cli_train_is_tracked_in_mlflow(tmp_path: Path, mlflow_uri: str) -> None:
    import mlflow

    data = tmp_path / "c.csv"
    make_campaign(1500).to_csv(data, index=False)
    res = runner.invoke(app, ["uplift", "train", "--data", str(data), "--treatment", "offer",
                              "--outcome", "visit", "--id", "customer_id", "--learner", "t",
                              "--n-estimators", "20", "--model-dir", str(tmp_path / "m")])  # fmt: skip
    _ok(res)
    runs = mlflow.search_runs(experiment_names=["ecomml-uplift"])
    assert len(runs) == 1 and "metrics.holdout_auuc" in runs.columns
    assert runs["params.learner"].iloc[0] == "t"


def test_cli_from_the_shop_and_into_the_churn_list(tmp_path: Path) -> None:
    tx, assignments, start = shop_with_campaign()
    txf, asg = tmp_path / "tx.parquet", tmp_path / "assign.csv"
    tx.to_parquet(txf)
    assignments.to_csv(asg, index=False)
    model = tmp_path / "winback"
    res = runner.invoke(app, [
        "uplift", "train", "--data", str(asg), "--treatment", "email", "--outcome", "converted",
        "--transactions", str(txf), "--start", str(start.date()), "--window", "14",
        "--learner", "t", "--n-estimators", "40", "--model-dir", str(model), "--no-track",
    ])  # fmt: skip
    _ok(res)
    meta = json.loads((model / "campaign.json").read_text())
    assert meta["views"] == ["customer_rfm"] and meta["start"] == str(start.date())
    assert all(f.startswith("customer_rfm__") for f in meta["features"])
    assert meta["average_effect"] > 0.05 and meta["evaluation"][0]["auuc"] > 0.005
    out = tmp_path / "offers.csv"
    res = runner.invoke(app, ["uplift", "predict", "--model", str(model), "--transactions",
                              str(txf), "--cutoff", str(start.date()), "--output", str(out),
                              "--budget", "50", "--no-track"])  # fmt: skip
    _ok(res)
    offers = pd.read_csv(out)
    assert list(offers.columns) == ["customer_id", *PREDICT_COLUMNS]
    assert offers["send_offer"].sum() == 50
    churn = tmp_path / "churn-model"
    res = runner.invoke(app, ["train", "churn", "--transactions", str(txf), "--cutoff",
                              str(start.date()), "--horizon", "30", "--model-dir", str(churn),
                              "--no-track"])  # fmt: skip
    _ok(res)
    scored = tmp_path / "churn.csv"
    res = runner.invoke(app, ["predict", "churn", "--model", str(churn), "--transactions",
                              str(txf), "--cutoff", str(start.date()), "--output", str(scored),
                              "--campaign-model", str(model), "--offer-margin", "30",
                              "--offer-cost", "2", "--extra-columns"])  # fmt: skip
    _ok(res)
    table = pd.read_csv(scored)
    assert {"uplift", "incremental_value", "send_offer"} <= set(table.columns)
    sent = table.loc[table["send_offer"]]
    assert len(sent) and (sent["incremental_value"] > 2).all()
    # the quiet customers are whom the e-mail moves: they lead the send list
    assert (sent["recency_days"] > 60).mean() > (table["recency_days"] > 60).mean()
    (tmp_path / "empty").mkdir()
    res = runner.invoke(app, ["predict", "churn", "--model", str(churn), "--transactions",
                              str(txf), "--cutoff", str(start.date()), "--output",
                              str(tmp_path / "c2.csv"), "--campaign-model", str(tmp_path / "empty")])  # fmt: skip
    assert res.exit_code == 1 and "not an uplift model folder" in res.output
