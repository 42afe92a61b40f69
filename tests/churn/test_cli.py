"""``ecomml train churn`` / ``ecomml predict churn``: contracts, MLflow logging, errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ecomml.churn import SCORED_COLUMNS
from ecomml.cli.main import app

runner = CliRunner()


def _run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def files(small_shop, tmp_path_factory) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("churn_cli")
    tx = d / "tx.parquet"
    ev = d / "events.parquet"
    small_shop.transactions.to_parquet(tx, index=False)
    small_shop.events.to_parquet(ev, index=False)
    return {"tx": tx, "ev": ev, "dir": d}


@pytest.fixture(scope="module")
def trained(files) -> Path:  # type: ignore[no-untyped-def]
    model_dir = files["dir"] / "model"
    res = _run(
        "train",
        "churn",
        "--transactions",
        files["tx"],
        "--cutoff",
        "2024-04-15",
        "--horizon",
        "60",
        "--model-dir",
        model_dir,
        "--step",
        "60",
        "--max-cutoffs",
        "3",
        "--out",
        files["dir"] / "out",
        "--no-track",
    )
    assert res.exit_code == 0, res.output
    assert "holdout" in res.output
    return model_dir


def test_predict_contract_csv_and_parquet(trained, files) -> None:  # type: ignore[no-untyped-def]
    out = files["dir"] / "scored.csv"
    res = _run(
        "predict",
        "churn",
        "--model",
        trained,
        "--transactions",
        files["tx"],
        "--cutoff",
        "2024-05-01",
        "--output",
        out,
    )
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert list(df.columns) == list(SCORED_COLUMNS)
    assert df["value_at_risk"].is_monotonic_decreasing
    assert df["customer_id"].is_unique
    pq = files["dir"] / "scored.parquet"
    res = _run(
        "predict",
        "churn",
        "--model",
        trained,
        "--transactions",
        files["tx"],
        "--cutoff",
        "2024-05-01",
        "--output",
        pq,
    )
    assert res.exit_code == 0, res.output
    assert pd.read_parquet(pq)["p_churn"].round(8).tolist() == df["p_churn"].round(8).tolist()
    assert (files["dir"] / "out" / "plots" / "churn" / "calibration.png").is_file()


def test_hash_ids(trained, files, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    out = files["dir"] / "hashed.csv"
    args = [
        "predict",
        "churn",
        "--model",
        trained,
        "--transactions",
        files["tx"],
        "--cutoff",
        "2024-05-01",
        "--output",
        out,
        "--hash-ids",
    ]
    monkeypatch.delenv("ECOMML_ID_KEY", raising=False)
    res = _run(*args)
    assert res.exit_code == 1
    assert "ECOMML_ID_KEY" in res.output and "Traceback" not in res.output
    monkeypatch.setenv("ECOMML_ID_KEY", "s3cret")  # too short: refused (issue 9, privacy)
    res = _run(*args)
    assert res.exit_code == 1 and "at least 16" in res.output
    monkeypatch.setenv("ECOMML_ID_KEY", "s3cret-s3cret-s3cret")
    res = _run(*args)
    assert res.exit_code == 0, res.output
    ids = pd.read_csv(out)["customer_id"]
    assert ids.str.fullmatch(r"pid_[0-9a-f]{16}").all()
    assert not ids.str.startswith("C0").any()


def test_errors_are_one_line(trained, files, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cases = [
        (
            [
                "predict",
                "churn",
                "--model",
                tmp_path / "nope",
                "--transactions",
                files["tx"],
                "--cutoff",
                "2024-05-01",
                "--output",
                tmp_path / "o.csv",
            ],
            "not found",
        ),
        (
            [
                "predict",
                "churn",
                "--model",
                trained,
                "--transactions",
                files["tx"],
                "--cutoff",
                "2024-05-01",
                "--output",
                tmp_path / "o.xlsx",
            ],
            ".csv or .parquet",
        ),
        (
            [
                "predict",
                "churn",
                "--model",
                trained,
                "--transactions",
                files["tx"],
                "--cutoff",
                "2001-01-01",
                "--output",
                tmp_path / "o.csv",
            ],
            "cutoff",
        ),
        (
            [
                "train",
                "churn",
                "--transactions",
                files["tx"],
                "--cutoff",
                "2030-01-01",
                "--horizon",
                "30",
                "--no-track",
                "--model-dir",
                tmp_path / "m",
            ],
            "after the last purchase",
        ),
        (
            ["train", "churn", "--cutoff", "2024-01-01", "--horizon", "30", "--no-track"],
            "--transactions",
        ),
        (
            [
                "train",
                "churn",
                "--transactions",
                files["tx"],
                "--cutoff",
                "soon",
                "--horizon",
                "30",
                "--no-track",
            ],
            "not a date",
        ),
    ]
    for args, msg in cases:
        res = _run(*args)
        assert res.exit_code == 1, (args, res.output)
        assert msg in res.output, (args, res.output)
        assert "Traceback" not in res.output


def test_train_with_events_logs_to_mlflow(files, mlflow_uri, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import mlflow

    model_dir = tmp_path / "m"
    res = _run(
        "train",
        "churn",
        "--transactions",
        files["tx"],
        "--events",
        files["ev"],
        "--cutoff",
        "2024-04-15",
        "--horizon",
        "60",
        "--model-dir",
        model_dir,
        "--step",
        "90",
        "--max-cutoffs",
        "2",
        "--out",
        tmp_path / "out",
        "--register",
        "churn-test",
    )
    assert res.exit_code == 0, res.output
    runs = mlflow.search_runs(experiment_names=["ecomml-churn"])
    assert len(runs) == 1
    assert runs["metrics.holdout_classifier_roc_auc"].iloc[0] > 0.7
    client = mlflow.MlflowClient()
    arts = [a.path for a in client.list_artifacts(runs["run_id"].iloc[0], "plots/churn")]
    assert any(a.endswith("roc_pr.png") for a in arts)
    out = tmp_path / "s.parquet"
    # the model used events: scoring without them is refused, with them works from the registry
    res = _run(
        "predict",
        "churn",
        "--model",
        "models:/churn-test/1",
        "--transactions",
        files["tx"],
        "--cutoff",
        "2024-05-01",
        "--output",
        out,
    )
    assert res.exit_code == 1 and "--events" in res.output
    res = _run(
        "predict",
        "churn",
        "--model",
        "models:/churn-test/1",
        "--transactions",
        files["tx"],
        "--events",
        files["ev"],
        "--cutoff",
        "2024-05-01",
        "--output",
        out,
    )
    assert res.exit_code == 0, res.output
    assert len(pd.read_parquet(out)) > 100


def test_cdnow_like_horizon_fits_probabilistic_models_alone(files, tmp_path) -> None:  # type: ignore[no-untyped-def]
    res = _run(
        "train",
        "churn",
        "--transactions",
        files["tx"],
        "--cutoff",
        "2023-10-01",
        "--horizon",
        "273",
        "--model-dir",
        tmp_path / "m",
        "--no-track",
        "--out",
        tmp_path / "o",
    )
    assert res.exit_code == 0, res.output
    assert "probabilistic models" in res.output and "alone" in res.output


def test_backtest(files, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "bt.csv"
    res = _run(
        "backtest",
        "churn",
        "--transactions",
        files["tx"],
        "--cutoff",
        "2024-06-01",
        "--horizon",
        "60",
        "--folds",
        "2",
        "--output",
        out,
        "--plots-dir",
        tmp_path / "plots",
    )
    assert res.exit_code == 0, res.output
    # the served probabilities' calibration per member tier, pooled over the folds
    assert "calibration by member tier" in res.output and "standard" in res.output
    assert (tmp_path / "plots" / "calibration_by_tier.png").stat().st_size > 0
    df = pd.read_csv(out)
    assert set(df["model"]) == {"classifier", "btyd"}
    assert df["cutoff"].nunique() == 2
    assert (
        pd.to_datetime(df["cutoff"]) + pd.Timedelta(days=60) <= pd.Timestamp("2024-06-01")
    ).all()
    assert df["roc_auc"].gt(0.7).all()
    res = _run(
        "backtest",
        "churn",
        "--transactions",
        files["tx"],
        "--cutoff",
        "2023-04-01",
        "--horizon",
        "60",
        "--folds",
        "3",
    )
    assert res.exit_code == 1 and "history" in res.output
