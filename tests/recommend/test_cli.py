"""`ecomml train recommend` / `ecomml predict recommend`: the contract and bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ecomml.cli.main import app

runner = CliRunner()
#: small models: the commands' contract does not depend on the model's size
FAST = ["--candidates", "15", "--n-estimators", "20", "--horizon-days", "60"]


@pytest.fixture(scope="module")
def files(rec_shop, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:  # noqa: ANN001
    d = tmp_path_factory.mktemp("recshop")
    out = {
        "tx": d / "tx.parquet",
        "ev": d / "ev.parquet",
        "cat": d / "cat.parquet",
        "model": d / "model",
        "report": d / "report",
    }
    rec_shop.transactions.to_parquet(out["tx"], index=False)
    rec_shop.events.to_parquet(out["ev"], index=False)
    rec_shop.catalog.to_parquet(out["cat"], index=False)
    args = [
        "train",
        "recommend",
        "--transactions",
        str(out["tx"]),
        "--events",
        str(out["ev"]),
        "--catalog",
        str(out["cat"]),
        "--cutoff",
        "2023-10-01",
        "--model-dir",
        str(out["model"]),
        "--report-dir",
        str(out["report"]),
        "--no-track",
        "--eval-days",
        "0",  # the validation report is tested in test_train_logs_mlflow_run
        *FAST,
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "the model uses the" in res.stdout  # issue 17: the decision on the console
    return out


def test_train_writes_model_and_report(files: dict[str, Path]) -> None:
    from ecomml.modelstore import load_model

    loaded = load_model(files["model"], task="recommend")
    assert set(loaded.metadata["features"]) == {"customer_rfm", "sku_demand", "customer_sku"}
    assert loaded.metadata["train_stats"]["train_customers"] > 0
    # issue 17: the ranker-or-blend decision and its validation scores travel with the model
    meta = loaded.metadata
    assert meta["choice"] in ("ranker", "blend") and "the model uses the" in meta["choice_reason"]
    assert {"ranker_ndcg@20", "blend_ndcg@20"} <= set(meta["fit_validation"])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_predict_contract(files: dict[str, Path], tmp_path: Path, suffix: str) -> None:
    who = tmp_path / "who.csv"
    pd.DataFrame({"customer_id": ["C00000001", "C00000002", "nobody"]}).to_csv(who, index=False)
    out = tmp_path / f"recs{suffix}"
    res = runner.invoke(
        app,
        [
            "predict",
            "recommend",
            "--model",
            str(files["model"]),
            "--transactions",
            str(files["tx"]),
            "--events",
            str(files["ev"]),
            "--catalog",
            str(files["cat"]),
            "--cutoff",
            "2023-11-01",
            "--k",
            "7",
            "--customers",
            str(who),
            "--exclude-purchased",
            "--output",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    recs = (
        pd.read_csv(out, dtype={"customer_id": str}) if suffix == ".csv" else pd.read_parquet(out)
    )
    assert list(recs.columns) == ["customer_id", "sku", "rank", "score", "source"]
    assert set(recs["customer_id"]) == {"C00000001", "C00000002", "nobody"}
    assert (recs.groupby("customer_id").size() <= 7).all()
    assert (recs.loc[recs["customer_id"] == "nobody", "source"] == "popular-cold-start").all()


def test_predict_bad_input(files: dict[str, Path], tmp_path: Path) -> None:
    base = [
        "predict",
        "recommend",
        "--model",
        str(files["model"]),
        "--transactions",
        str(files["tx"]),
        "--cutoff",
        "2023-11-01",
        "--k",
        "5",
    ]
    res = runner.invoke(app, [*base, "--output", str(tmp_path / "x.json")])
    assert res.exit_code == 1 and ".csv or .parquet" in res.stderr
    who = tmp_path / "who.csv"
    pd.DataFrame({"client": ["a"]}).to_csv(who, index=False)
    res = runner.invoke(app, [*base, "--customers", str(who), "--output", str(tmp_path / "x.csv")])
    assert res.exit_code == 1 and "customer_id" in res.stderr
    res = runner.invoke(
        app, [*base, "--model", str(tmp_path / "none"), "--output", str(tmp_path / "x.csv")]
    )
    assert res.exit_code == 1 and "not found" in res.stderr
    cat = tmp_path / "cat.csv"
    pd.read_parquet(files["cat"]).assign(active=False).to_csv(cat, index=False)
    res = runner.invoke(app, [*base, "--catalog", str(cat), "--output", str(tmp_path / "x.csv")])
    assert res.exit_code == 1 and "inactive" in res.stderr
    assert not (tmp_path / "x.csv").exists()


def test_train_empty_history_is_one_line_error(files: dict[str, Path], tmp_path: Path) -> None:
    args = ["train", "recommend", "--transactions", str(files["tx"]), "--cutoff", "2023-01-03",
            "--model-dir", str(tmp_path / "m"), "--no-track", "--eval-days", "0"]  # fmt: skip
    res = runner.invoke(app, [*args, "--fallback", "never"])
    assert res.exit_code == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "Traceback" not in res.stderr
    assert "horizon_days" in last
    # by default two days of history give the buy-again + popularity blend, and say so
    # (issue 17)
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "too short for the ranker" in res.stdout and "blend" in res.stdout


@pytest.mark.mlflow
def test_train_logs_mlflow_run(files: dict[str, Path], tmp_path: Path, mlflow_uri: str) -> None:
    import mlflow

    res = runner.invoke(
        app,
        [
            "train",
            "recommend",
            "--transactions",
            str(files["tx"]),
            "--cutoff",
            "2023-10-01",
            "--model-dir",
            str(tmp_path / "m"),
            "--report-dir",
            str(tmp_path / "r"),
            "--eval-days",
            "45",
            "--register",
            "recs",
            "--no-store",
            "--fallback",
            "never",  # the ranker-or-blend decision is tested by the module fixture
            *FAST,
        ],
    )
    assert res.exit_code == 0, res.output
    runs = mlflow.search_runs(experiment_names=["ecomml-recommend"])
    assert len(runs) == 1 and runs["metrics.val_ndcg_at_20"].iloc[0] > 0
    assert (tmp_path / "r" / "metrics_at_k.png").is_file()
    arts = mlflow.artifacts.list_artifacts(
        run_id=runs["run_id"].iloc[0], artifact_path="plots/recommend"
    )
    assert [a.path for a in arts] == ["plots/recommend/metrics_at_k.png"]
    res = runner.invoke(
        app,
        [
            "predict",
            "recommend",
            "--model",
            "models:/recs/1",
            "--transactions",
            str(files["tx"]),
            "--cutoff",
            "2023-11-01",
            "--k",
            "3",
            "--output",
            str(tmp_path / "o.parquet"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert len(pd.read_parquet(tmp_path / "o.parquet"))


def test_predict_new_item_slots(files: dict[str, Path], tmp_path: Path) -> None:
    base = ["predict", "recommend", "--model", str(files["model"]), "--transactions",
            str(files["tx"]), "--events", str(files["ev"]), "--catalog", str(files["cat"]),
            "--cutoff", "2023-11-01", "--k", "5"]  # fmt: skip
    out = tmp_path / "recs.csv"
    res = runner.invoke(app, [*base, "--new-items", "2", "--output", str(out)])
    assert res.exit_code == 0, res.output
    recs = pd.read_csv(out, dtype={"customer_id": str})
    assert (recs.groupby("customer_id").size() <= 5).all()
    fresh = recs.loc[recs["source"] == "new-items"]
    assert (fresh["rank"] >= 4).all()  # the slots are the last two places
    res = runner.invoke(app, [*base, "--new-items", "6", "--output", str(tmp_path / "x.csv")])
    assert res.exit_code == 1 and "new_items" in res.stderr
    assert not (tmp_path / "x.csv").exists()
