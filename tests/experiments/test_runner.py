"""Experiments end to end against a real MLflow SQLite store: config -> parent/child runs ->
leaderboard -> registry -> promote -> ``ecomml predict TASK --model models:/NAME@champion``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ecomml.cli.main import app
from ecomml.experiments import leaderboard, load_config, run_experiment
from tests.experiments.conftest import CUTOFF, write_config

runner = CliRunner()


def _ok(args: list[str]) -> str:
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    return res.output


def _fails(args: list[str], needle: str) -> None:
    res = runner.invoke(app, args)
    assert res.exit_code == 1, res.output
    assert needle in res.output
    assert "Traceback" not in res.output


FORECAST = {
    "task": "forecast",
    "folds": {"n": 2, "step": 4},
    "task_params": {"freq": "W", "horizon": 4},
    "model": {"name": "ma", "params": {"window": 8}},
    "metrics": ["scaled_pinball", "wape", "mase"],
    "grid": {"window": [4, 12]},
}


def test_forecast_grid_registry_promote_and_predict_by_alias(
    store_uri: str, tmp_path: Path, small_shop_file: Path
) -> None:
    import mlflow

    cfg_path = write_config(tmp_path, "fc-test", **FORECAST)
    out = _ok(["experiment", "run", str(cfg_path), "--grid", "--register", "fc-demo",
               "--out", str(tmp_path / "out")])  # fmt: skip
    assert "registered fc-demo version 1" in out

    exp = mlflow.get_experiment_by_name("fc-test")
    runs = mlflow.search_runs([exp.experiment_id], output_format="pandas")
    parent = runs.loc[runs["tags.ecomml.kind"] == "grid"]
    points = runs.loc[runs["tags.ecomml.kind"] == "grid-point"]
    assert len(parent) == 1 and len(points) == 2
    pid = parent["run_id"].iloc[0]
    assert set(points["tags.mlflow.parentRunId"]) == {pid}
    assert set(points["params.model.window"]) == {"4", "12"}
    assert points["metrics.scaled_pinball"].notna().all()
    client = mlflow.MlflowClient()
    child = points["run_id"].iloc[0]
    assert [m.step for m in client.get_metric_history(child, "fold.wape")] == [1, 2]
    # the parent holds the data fingerprint, feature manifest, leaderboard and report
    prow = parent.iloc[0]
    assert prow["params.data.transactions.rows"] not in (None, "")
    assert len(prow["tags.ecomml.feature_manifest_hash"]) > 0
    arts = {a.path for a in client.list_artifacts(pid)}
    assert {"features", "leaderboard.csv", "report", "config", "data"} <= arts
    best = prow["tags.ecomml.best_run_id"]
    best_score = points.set_index("run_id").loc[best, "metrics.scaled_pinball"]
    assert best_score == points["metrics.scaled_pinball"].min()
    # each grid point logged its plots and its model
    assert any(a.path.endswith("fan.png") for a in client.list_artifacts(child, "plots"))
    # report: self-contained HTML with the plots embedded
    html = (tmp_path / "out" / "fc-test" / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3
    assert "Leaderboard" in html

    # registry: version tags carry metrics, window, version, feature hash
    mv = client.get_model_version("fc-demo", "1")
    assert mv.run_id == best
    for tag in ("ecomml.task", "ecomml.version", "ecomml.feature_hash", "ecomml.training_window",
                "metric.scaled_pinball", "ecomml.cutoff"):  # fmt: skip
        assert mv.tags.get(tag), tag
    assert json.loads(mv.tags["ecomml.training_window"])[0].startswith("2023-01")
    # the signature is declared, not inferred
    info = mlflow.models.get_model_info("models:/fc-demo/1")
    assert info.signature is not None
    assert [c.name for c in info.signature.inputs.inputs] == ["sku", "ds", "y"]

    listed = _ok(["model", "list", "fc-demo"])
    assert "fc-demo" in listed and "forecast" in listed
    _ok(["model", "promote", "fc-demo", "1", "--alias", "champion"])
    assert str(client.get_model_version_by_alias("fc-demo", "champion").version) == "1"
    assert "champion" in _ok(["model", "list"])

    fc = tmp_path / "fc.parquet"
    _ok(["predict", "forecast", "--model", "models:/fc-demo@champion", "-t", str(small_shop_file),
         "--cutoff", CUTOFF, "--output", str(fc)])  # fmt: skip
    got = pd.read_parquet(fc)
    assert list(got.columns[:3]) == ["sku", "ds", "mean"]
    assert got["ds"].min() == pd.Timestamp(CUTOFF)
    assert got.groupby("sku").size().eq(4).all()

    # compare: leaderboard table + CSV/Markdown, best first
    lb = _ok(["experiment", "compare", "fc-test", "--output", str(tmp_path / "lb.md")])
    assert "leaderboard" in lb
    md = (tmp_path / "lb.md").read_text()
    assert md.startswith("| rank | experiment |")
    _ok(["experiment", "compare", "--output", str(tmp_path / "lb.csv")])
    df = pd.read_csv(tmp_path / "lb.csv")
    df = df.loc[df["experiment"] == "fc-test"]
    assert list(df["rank"]) == [1, 2]
    assert df["score"].is_monotonic_increasing
    assert df["run_id"].iloc[0] == best


def test_without_grid_each_fold_is_a_child_run(store_uri: str, tmp_path: Path) -> None:
    import subprocess

    import mlflow

    repo = tmp_path / "repo"
    repo.mkdir()
    cfg_path = write_config(repo, "fc-folds", **{**FORECAST, "folds": 3})
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "config"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout

    res = run_experiment(load_config(cfg_path), out_dir=tmp_path / "out", register="fc-folds")
    assert res.registered == ("fc-folds", "1")
    mv = mlflow.MlflowClient().get_model_version("fc-folds", "1")
    assert mv.run_id == res.parent_run_id
    # the version is tagged with the task's headline metric only
    assert [k for k in mv.tags if k.startswith("metric.")] == ["metric.scaled_pinball"]
    want = res.best_metrics["scaled_pinball"]
    assert float(mv.tags["metric.scaled_pinball"]) == pytest.approx(want, rel=1e-5)
    runs = mlflow.search_runs(experiment_names=["fc-folds"], output_format="pandas")
    folds = runs.loc[runs["tags.ecomml.kind"] == "fold"]
    assert len(folds) == 3
    assert set(folds["tags.mlflow.parentRunId"]) == {res.parent_run_id}
    parent = runs.set_index("run_id").loc[res.parent_run_id]
    # the aggregate is the mean of the folds
    assert parent["metrics.wape"] == pytest.approx(folds["metrics.wape"].mean())
    assert parent["tags.ecomml.git_commit"] == head.strip()
    assert parent["tags.ecomml.git_dirty"] == "false"
    assert res.model_uri is not None
    lb = leaderboard("fc-folds")
    assert len(lb) == 1 and lb["run_id"].iloc[0] == res.parent_run_id


def test_untracked_run_on_a_file_needs_no_mlflow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_shop_file: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    data = {"path": str(small_shop_file), "format": "canonical"}
    cleaning = {"policy": {"drop_zero_quantity": True}}
    cfg = write_config(tmp_path, "fc-local", **FORECAST, data=data, cleaning=cleaning)
    _ok(["experiment", "run", str(cfg), "--no-track", "--out", "o"])
    meta = json.loads(
        (tmp_path / "o" / "fc-local" / "run" / "model" / "ecomml_model.json").read_text()
    )
    assert meta["source"] == str(small_shop_file)
    assert meta["training_window"][1] < CUTOFF
    assert not (tmp_path / "mlruns.db").exists()


def test_cli_errors_are_one_line(store_uri: str, tmp_path: Path) -> None:
    _fails(["experiment", "run", str(tmp_path / "missing.yaml")], "not found")
    cfg = write_config(tmp_path, "no-grid", **{**FORECAST, "grid": None})
    _fails(["experiment", "run", str(cfg), "--grid"], "has no grid")
    _fails(["experiment", "run", str(cfg), "--no-track", "--register", "x"], "needs MLflow")
    _fails(["experiment", "compare", "nope"], "no MLflow experiment named 'nope'")
    _fails(["experiment", "compare", "--output", str(tmp_path / "x.txt")], ".csv or .md")
    _fails(["model", "promote", "nope", "1"], "not found")
    _fails(["model", "promote", "nope", "1", "--alias", "production"], "champion, challenger")
    _fails(["model", "list", "nope"], "cannot list nope")
    _fails(
        ["predict", "forecast", "--model", "models:/nope@champion", "--cutoff", CUTOFF, "-o",
         str(tmp_path / "x.parquet")],
        "cannot download model",
    )  # fmt: skip


def test_churn_train_register_promote_predict_by_alias(
    store_uri: str, tmp_path: Path, small_shop_file: Path
) -> None:
    _ok(["train", "churn", "-t", str(small_shop_file), "--cutoff", CUTOFF, "--horizon", "60",
         "--max-cutoffs", "3", "--model-dir", str(tmp_path / "m"), "--register", "churn-demo",
         "--out", str(tmp_path / "o")])  # fmt: skip
    _ok(["model", "promote", "churn-demo", "1", "--alias", "champion"])
    out = tmp_path / "scores.csv"
    _ok(["predict", "churn", "--model", "models:/churn-demo@champion", "-t", str(small_shop_file),
         "--cutoff", CUTOFF, "--output", str(out)])  # fmt: skip
    got = pd.read_csv(out)
    assert list(got.columns[:3]) == ["customer_id", "p_churn", "p_repurchase"]
    assert got["p_churn"].between(0, 1).all()
    # the same scores as the local model directory
    local = tmp_path / "local.csv"
    _ok(["predict", "churn", "--model", str(tmp_path / "m"), "-t", str(small_shop_file),
         "--cutoff", CUTOFF, "--output", str(local)])  # fmt: skip
    pd.testing.assert_frame_equal(got, pd.read_csv(local))


@pytest.mark.slow
def test_recommend_train_register_promote_predict_by_alias(
    tmp_path: Path, small_shop_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no MLFLOW_TRACKING_URI: train, promote and predict all use the CLI's ./mlruns.db
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    _ok(["train", "recommend", "-t", str(small_shop_file), "--cutoff", CUTOFF,
         "--model-dir", str(tmp_path / "m"), "--register", "rec-demo", "--eval-days", "0",
         "--generators", "buy-again,recent-popular", "--n-estimators", "20",
         "--report-dir", str(tmp_path / "r")])  # fmt: skip
    _ok(["model", "promote", "rec-demo", "1", "--alias", "challenger"])
    out = tmp_path / "recs.csv"
    _ok(["predict", "recommend", "--model", "models:/rec-demo@challenger", "-t",
         str(small_shop_file), "--cutoff", CUTOFF, "--k", "5", "--output", str(out)])  # fmt: skip
    got = pd.read_csv(out)
    assert list(got.columns) == ["customer_id", "sku", "rank", "score", "source"]
    assert got.groupby("customer_id").size().eq(5).all()
    assert (tmp_path / "mlruns.db").exists()


def test_predict_by_alias_refuses_other_features_or_versions(
    store_uri: str, tmp_path: Path, small_shop_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ecomml
    from ecomml.data.shop import load_shop
    from ecomml.forecasting.auto import make_forecaster
    from ecomml.forecasting.task import shop_panel
    from ecomml.modelstore import log_model, save_model, set_model_alias
    from ecomml.tracking import tracked_run

    shop = load_shop(small_shop_file, cutoff=CUTOFF)
    panel, _ = shop_panel(shop, CUTOFF, "W")
    est = make_forecaster("ma", freq="W", horizon=4).fit(panel)
    stale = save_model(est, tmp_path / "stale", task="forecast", cutoff=CUTOFF,
                       features={"sku_weekly": "0" * 16}, extra={"freq": "W", "horizon": 4})  # fmt: skip
    monkeypatch.setattr(ecomml, "__version__", "9.9.0")
    future = save_model(est, tmp_path / "future", task="forecast", cutoff=CUTOFF,
                        extra={"freq": "W", "horizon": 4})  # fmt: skip
    monkeypatch.undo()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store_uri)
    monkeypatch.chdir(tmp_path)
    for name, path in (("fc-stale", stale), ("fc-future", future)):
        with tracked_run("refusals"):
            info = log_model(path, registered_model_name=name)
        set_model_alias(name, info.registered_model_version, "champion")
    args = ["-t", str(small_shop_file), "--cutoff", CUTOFF, "-o", str(tmp_path / "x.parquet")]
    _fails(["predict", "forecast", "--model", "models:/fc-stale@champion", *args],
           "trained on other feature views")  # fmt: skip
    _fails(["predict", "forecast", "--model", "models:/fc-future@champion", *args],
           "trained with ecomml 9.9.0")  # fmt: skip


def test_hash_ids_trains_a_recommender_on_pseudonyms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``data.hash_ids``: the model folder (which leaves the data team) holds no raw ids."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ECOMML_ID_KEY", "k" * 32)
    rec = {"task": "recommend", "folds": {"n": 1, "step": 30},
           "task_params": {"k": 5, "window_days": 30, "use_store": False},
           "model": {"name": "pipeline", "params": {"n_estimators": 10, "generators": [
               "buy-again", "recent-popular"]}}, "metrics": ["recall_at_20"]}  # fmt: skip
    data = {"sample": {"seed": 2, "n_customers": 120, "n_skus": 30, "days": 200,
                       "include_events": False}, "hash_ids": True}  # fmt: skip
    cfg = write_config(tmp_path, "rec-hashed", **rec, data=data, cutoff="2023-07-01")
    _ok(["experiment", "run", str(cfg), "--no-track", "--out", "o"])
    folder = tmp_path / "o" / "rec-hashed" / "run" / "model"
    meta = json.loads((folder / "ecomml_model.json").read_text())
    assert meta["ids"]["pseudonymized"] is True and "k" * 32 not in json.dumps(meta)
    ids = pd.concat(
        pd.read_parquet(p)["customer_id"]
        for p in folder.rglob("*.parquet")
        if "customer_id" in pd.read_parquet(p).columns
    )
    assert len(ids) and ids.str.startswith("pid_").all()
    monkeypatch.delenv("ECOMML_ID_KEY")
    _fails(["experiment", "run", str(cfg), "--no-track", "--out", "o2"], "ECOMML_ID_KEY")
