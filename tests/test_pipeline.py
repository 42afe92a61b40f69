"""The main job (`run_quickstart`) on a small synthetic shop, and the CLI around it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ecomml import quickstart as pipeline
from ecomml.cli.main import app
from ecomml.data.shop import ShopData, default_cutoff
from ecomml.data.synth import make_shop
from ecomml.features.materialize import read_manifest
from ecomml.quickstart import run_quickstart


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


# slow: its fast twin is tests/test_quickstart_golden.py (same shop, outputs and MLflow run)
@pytest.mark.slow
@pytest.mark.twin
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


def test_quickstart_features_ignore_rows_at_or_after_cutoff(
    small_shop,  # noqa: ANN001
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the task steps have their own cutoff tests; this one is about the feature build
    monkeypatch.setattr(pipeline, "TASK_STEPS", ())
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
    monkeypatch.setattr(pipeline, "TASK_STEPS", ())  # the full job runs in the test above
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


def _build_missing_file(tmp_path: Path, *root_options: str):  # noqa: ANN202
    return CliRunner().invoke(
        app,
        [
            *root_options,
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


def test_cli_missing_file_is_one_line(tmp_path: Path) -> None:
    res = _build_missing_file(tmp_path)
    assert res.exit_code == 1
    assert "nope.parquet" in res.stderr and "Traceback" not in res.output


def test_cli_verbose_shows_traceback(tmp_path: Path) -> None:
    res = _build_missing_file(tmp_path, "--verbose")
    assert res.exit_code == 1
    assert "Traceback" in res.stderr


def test_cli_version() -> None:
    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.startswith("ecomml ")


def test_cleaning_never_uses_rows_after_the_cutoff(tmp_path: Path) -> None:
    """A cancellation after the cutoff must not remove the sale it reverses from the
    history before the cutoff (review finding on the reversed-orders rule)."""
    from ecomml.data.shop import load_shop

    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
    rows = [
        "536365,85123A,HEART,6,2010-12-01 08:26,0.50,17850,United Kingdom",
        "536366,85123A,HEART,80995,2010-12-01 23:00,2.08,16446,United Kingdom",
    ]
    cancel = "C536368,85123A,HEART,-80995,2010-12-02 08:00,2.08,16446,United Kingdom"
    without = tmp_path / "without.csv"
    with_cancel = tmp_path / "with.csv"
    without.write_text("\n".join([header, *rows]) + "\n")
    with_cancel.write_text("\n".join([header, *rows, cancel]) + "\n")
    a = load_shop(without, format="online-retail", cutoff="2010-12-02")
    b = load_shop(with_cancel, format="online-retail", cutoff="2010-12-02")
    pd.testing.assert_frame_equal(a.transactions, b.transactions)
    assert b.transactions["quantity"].sum() == 81_001
    # without a cutoff the pair is recognised and dropped as a reversed order
    full = load_shop(with_cancel, format="online-retail")
    assert full.transactions["quantity"].sum() == 6


def test_quickstart_cutoff_before_the_data_is_refused(small_shop, tmp_path: Path) -> None:  # noqa: ANN001
    from ecomml.exceptions import DataQualityError

    with pytest.raises(DataQualityError, match="--cutoff 1990-01-01 leaves no transactions"):
        run_quickstart(_shop(small_shop), out_dir=tmp_path / "o", cutoff="1990-01-01", track=False)
    assert not (tmp_path / "o").exists()


def test_cli_features_build_accepts_any_cutoff_spelling(shop_parquet: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        [
            "features",
            "build",
            "-t",
            str(shop_parquet),
            "--format",
            "canonical",
            "--cutoff",
            "20230501",
            "--views",
            "customer_rfm",
            "--out",
            str(tmp_path / "f"),
        ],
    )
    assert res.exit_code == 0, res.output


def test_cli_unexpected_error_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # the CLI boundary never prints a bare traceback, even for an error ecomml did not foresee
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom\nsecond line")

    import ecomml.data.shop

    monkeypatch.setattr(ecomml.data.shop, "load_shop", boom)
    res = CliRunner().invoke(app, ["quickstart", "--no-track"])
    assert res.exit_code == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: unexpected RuntimeError: kaboom")
    assert "Traceback" not in res.output


@pytest.mark.parametrize(
    "command", [["train", "recommend"], ["predict", "churn"], ["train", "forecast"]]
)
def test_help_shows_the_task_options_first_and_the_shared_ones_in_panels(
    command: list[str],
) -> None:
    from typer.testing import CliRunner

    from ecomml.cli.main import app

    res = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "100"})
    assert res.exit_code == 0
    lines = res.output.splitlines()
    first_shared = next(i for i, line in enumerate(lines) if "Data (the shop's files)" in line)
    assert first_shared <= 40, "\n".join(lines[:first_shared])
    assert any("--cutoff" in line for line in lines[:first_shared])
    assert not any("--transactions" in line for line in lines[:first_shared])


def test_only_the_lists_people_act_on_are_pseudonymised(tmp_path: Path) -> None:
    from ecomml.privacy import is_pseudonym

    ids = pd.DataFrame({"customer_id": ["c1", "c2"]})
    files = {k: tmp_path / f"{k.replace('/', '_')}.csv" for k in
             ("churn/scores", "data/transactions", "features/customer_rfm")}  # fmt: skip
    for path in files.values():
        ids.to_csv(path, index=False)
    result = pipeline.QuickstartResult(tmp_path, pd.Timestamp("2024-01-01"), files, {}, {})
    assert result.pseudonymize_lists("a-test-key-of-enough-length") == [files["churn/scores"]]
    hashed = {k: is_pseudonym(pd.read_csv(p)["customer_id"]).all() for k, p in files.items()}
    assert hashed == {"churn/scores": True, "data/transactions": False,
                      "features/customer_rfm": False}  # fmt: skip
