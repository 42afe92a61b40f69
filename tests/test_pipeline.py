"""The main job (`run_quickstart`) on a small synthetic shop, and the CLI around it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ecomml.cli.main import app
from ecomml.data.synth import make_shop
from ecomml.features.materialize import read_manifest
from ecomml.pipeline import ShopData, default_cutoff, run_quickstart


@pytest.fixture(scope="module")
def small_shop():  # noqa: ANN201
    return make_shop(n_customers=250, n_skus=80, days=240, seed=3)


@pytest.fixture(scope="module")
def shop_parquet(tmp_path_factory: pytest.TempPathFactory, small_shop) -> Path:  # noqa: ANN001
    path = tmp_path_factory.mktemp("shop") / "transactions.parquet"
    small_shop.transactions.to_parquet(path, index=False)
    return path


def _shop(s) -> ShopData:  # noqa: ANN001
    return ShopData(s.transactions, s.events, s.catalog, s.calendar, source="test shop")


@pytest.mark.mlflow
def test_run_quickstart_writes_outputs_and_logs_run(
    small_shop,
    tmp_path: Path,
    mlflow_uri: str,  # noqa: ANN001
) -> None:
    import mlflow

    res = run_quickstart(_shop(small_shop), out_dir=tmp_path / "out")
    assert res.cutoff == default_cutoff(small_shop.transactions)
    for key in ("plots/daily_sales.png", "plots/sku_revenue_pareto.png", "summary", "features"):
        assert Path(res.outputs[key]).exists(), key
    manifest = read_manifest(tmp_path / "out" / "features")
    assert set(manifest["views"]) == set(res.view_rows)
    assert res.view_rows["customer_rfm"] == small_shop.transactions["customer_id"].nunique()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["transactions"] == len(small_shop.transactions)
    run = mlflow.get_run(res.run_id)
    assert run.data.tags["ecomml.feature_manifest_hash"]
    assert run.data.params["cutoff"] == str(res.cutoff.date())
    arts = {a.path for a in mlflow.MlflowClient().list_artifacts(res.run_id, "plots")}
    assert "plots/daily_sales.png" in arts
    assert not list((tmp_path / "out").rglob("*.tmp*"))


def test_quickstart_features_ignore_rows_at_or_after_cutoff(small_shop, tmp_path: Path) -> None:  # noqa: ANN001
    cutoff = pd.Timestamp("2023-06-01")
    tx = small_shop.transactions
    past = _shop(small_shop)
    past.transactions = tx[tx["ts"] < cutoff].reset_index(drop=True)
    a = run_quickstart(past, out_dir=tmp_path / "a", cutoff=cutoff, track=False)
    run_quickstart(_shop(small_shop), out_dir=tmp_path / "b", cutoff=cutoff, track=False)
    for view in a.view_rows:
        fa = next((tmp_path / "a" / "features" / view).glob("*.parquet"))
        fb = next((tmp_path / "b" / "features" / view).glob("*.parquet"))
        keys = [
            c for c in pd.read_parquet(fa).columns if c in ("customer_id", "sku", "date", "week")
        ]
        da = pd.read_parquet(fa).sort_values(keys).reset_index(drop=True)
        db = pd.read_parquet(fb).sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(da, db, obj=f"view {view}")


def test_cli_quickstart_on_user_file(shop_parquet: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    res = CliRunner().invoke(
        app, ["quickstart", "--transactions", str(shop_parquet), "--format", "canonical"]
    )
    assert res.exit_code == 0, res.output
    assert "mlflow ui --backend-store-uri sqlite:///" in res.output
    assert (tmp_path / "mlruns.db").exists()
    assert (tmp_path / "ecomml-output" / "features" / "manifest.json").exists()
    assert (tmp_path / "ecomml-output" / "data" / "cleaning_report.json").exists()


def test_cli_features_build_and_show(shop_parquet: Path, tmp_path: Path) -> None:
    out = tmp_path / "feat"
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "features",
            "build",
            "-t",
            str(shop_parquet),
            "--format",
            "canonical",
            "--cutoff",
            "2023-05-01",
            "--views",
            "customer_rfm,sku_demand",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert set(read_manifest(out)["views"]) == {"customer_rfm", "sku_demand"}
    res = runner.invoke(app, ["features", "show", "--dir", str(out)])
    assert res.exit_code == 0 and "customer_rfm" in res.output and "same" in res.output
    res = runner.invoke(app, ["features", "show", "customer_rfm", "--sql"])
    assert res.exit_code == 0 and "customer_rfm__recency_days" in res.output
    res = runner.invoke(app, ["features", "show"])
    assert res.exit_code == 0 and "sku_daily" in res.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cutoff", "not-a-date"], "cutoff 'not-a-date' is not a date"),
        (["--cutoff", "2023-05-01", "--views", "customer_rmf"], "Did you mean 'customer_rfm'"),
    ],
)
def test_cli_features_build_errors(shop_parquet: Path, tmp_path: Path, args, message) -> None:  # noqa: ANN001
    res = CliRunner().invoke(
        app,
        [
            "features",
            "build",
            "-t",
            str(shop_parquet),
            "--format",
            "canonical",
            "--out",
            str(tmp_path / "o"),
            *args,
        ],
    )
    assert res.exit_code == 1
    assert message in res.stderr
    assert "Traceback" not in res.output
    assert len(res.stderr.strip().splitlines()) == 1


def test_cli_missing_file_is_one_line(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        [
            "features",
            "build",
            "-t",
            str(tmp_path / "nope.parquet"),
            "--format",
            "canonical",
            "--cutoff",
            "2023-01-01",
        ],
    )
    assert res.exit_code == 1
    assert "nope.parquet" in res.stderr and "Traceback" not in res.output


def test_cli_verbose_shows_traceback(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        [
            "--verbose",
            "features",
            "build",
            "-t",
            str(tmp_path / "nope.parquet"),
            "--format",
            "canonical",
            "--cutoff",
            "2023-01-01",
        ],
    )
    assert res.exit_code == 1
    assert "Traceback" in res.stderr


def test_cli_version() -> None:
    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.startswith("ecomml ")
