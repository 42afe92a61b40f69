"""``ecomml inventory classify|plan|simulate``: contracts, tracking and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ecomml.cli.main import app
from ecomml.inventory import PLAN_COLUMNS

from .conftest import CUTOFF

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, shop, forecast) -> dict[str, Path]:  # noqa: ANN001
    d = tmp_path_factory.mktemp("inv")
    shop.transactions.to_parquet(d / "tx.parquet", index=False)
    forecast.to_parquet(d / "fc.parquet", index=False)
    return {"tx": d / "tx.parquet", "fc": d / "fc.parquet", "dir": d}


def _ok(res) -> None:  # noqa: ANN001
    assert res.exit_code == 0, res.output


def _err(res, *needles: str) -> None:  # noqa: ANN001
    assert res.exit_code == 1, res.output
    out = res.output.strip()
    assert out.startswith("error:") and "Traceback" not in out, out
    for n in needles:
        assert n in out, out


def test_classify_plan_simulate_tracked(files, tmp_path: Path, mlflow_uri: str) -> None:  # noqa: ANN001
    import mlflow

    tx = ["--transactions", str(files["tx"]), "--format", "canonical"]
    res = runner.invoke(app, ["inventory", "classify", *tx, "--cutoff", str(CUTOFF.date()),
                              "--by", "units", "--output", "classes.csv",
                              "--compare-cutoff", "2023-07-03"])  # fmt: skip
    _ok(res)
    c = pd.read_csv(tmp_path / "classes.csv")
    assert {"sku", "abc", "xyz", "pattern", "slow_mover", "dead"} <= set(c.columns)
    assert (tmp_path / "classes-plots" / "pareto.png").exists()
    assert (tmp_path / "classes-plots" / "abc_xyz.png").exists()
    assert (tmp_path / "classes.migration.csv").exists()
    assert (tmp_path / "classes.by_class.csv").exists()
    res = runner.invoke(app, ["inventory", "plan", "--forecasts", str(files["fc"]), *tx,
                              "--cutoff", str(CUTOFF.date()), "--lead-time", "14",
                              "--lead-time-sd", "3", "--service-level", "0.95",
                              "--output", "plan.parquet"])  # fmt: skip
    _ok(res)
    p = pd.read_parquet(tmp_path / "plan.parquet")
    assert list(p.columns[: len(PLAN_COLUMNS)]) == PLAN_COLUMNS
    assert not p[PLAN_COLUMNS].isna().any().any()
    summ = json.loads((tmp_path / "plan.summary.json").read_text())
    assert {"inventory_value", "expected_turns", "slow_mover_share"} <= set(summ)
    res = runner.invoke(app, ["inventory", "simulate", *tx, "--start", "2023-08-07",
                              "--end", str(CUTOFF.date()), "--policy", "classic",
                              "--lead-time", "7", "--service-level", "0.9",
                              "--output", "sim", "--curve", "0.8,0.95"])  # fmt: skip
    _ok(res)
    for f in ("per_sku.parquet", "per_class.csv", "traces.parquet", "summary.json",
              "tradeoff.csv", "plots/traces.png", "plots/tradeoff.png"):  # fmt: skip
        assert (tmp_path / "sim" / f).exists(), f
    runs = mlflow.search_runs(experiment_names=["ecomml-inventory"])
    assert len(runs) == 3
    arts = mlflow.artifacts.list_artifacts(run_id=runs.iloc[0]["run_id"], artifact_path="plots")
    assert arts


def test_simulate_forecast_policy_untracked(files, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["inventory", "simulate", "--transactions", str(files["tx"]),
                              "--start", "2023-09-04", "--end", str(CUTOFF.date()),
                              "--policy", "forecast", "--lead-time", "7", "--service-level",
                              "0.95", "--output", "sim", "--curve", "none", "--refit-every", "2",
                              "--no-track", "--seed", "1"])  # fmt: skip
    _ok(res)
    s = json.loads((tmp_path / "sim" / "summary.json").read_text())
    assert s["policy"] == "forecast" and s["refits"] == 2 and 0 <= s["fill_rate"] <= 1


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--lead-time", "0"], ["lead-time"]),
        (["--lead-time", "100000"], ["longer than the history"]),
        (["--lead-time", "7", "--service-level", "1.5"], ["between 0 and 1"]),
        (["--lead-time", "7", "--service-level", "0"], ["between 0 and 1"]),
        (["--lead-time", "7", "--budget", "-5"], ["--budget must be an amount of money >= 0"]),
        (["--lead-time", "7", "--budget", "9", "--max-order-value", "9"], ["pass one"]),
    ],
)
def test_plan_bad_parameters(files, tmp_path: Path, args, needles) -> None:  # noqa: ANN001
    res = runner.invoke(app, ["inventory", "plan", "--forecasts", str(files["fc"]),
                              "--transactions", str(files["tx"]), "--cutoff", str(CUTOFF.date()),
                              "--output", str(tmp_path / "p.csv"), "--no-track", *args])  # fmt: skip
    _err(res, *needles)
    assert not (tmp_path / "p.csv").exists()


def test_plan_bad_files(files, forecast, tmp_path: Path) -> None:  # noqa: ANN001
    base = ["inventory", "plan", "--transactions", str(files["tx"]), "--cutoff",
            str(CUTOFF.date()), "--lead-time", "7", "--output", str(tmp_path / "p.csv"), "--no-track"]  # fmt: skip
    sku = forecast["sku"].iloc[0]
    oh = tmp_path / "oh.csv"
    pd.DataFrame({"sku": [sku], "on_hand": [-5]}).to_csv(oh, index=False)
    _err(
        runner.invoke(app, [*base, "--forecasts", str(files["fc"]), "--on-hand", str(oh)]),
        sku,
        "negative",
    )
    ghost = pd.concat([forecast, forecast.loc[forecast["sku"] == sku].assign(sku="NOPE-9")])
    ghost.to_parquet(tmp_path / "g.parquet", index=False)
    _err(runner.invoke(app, [*base, "--forecasts", str(tmp_path / "g.parquet")]), "NOPE-9")
    forecast.loc[forecast["sku"] != sku].to_parquet(tmp_path / "m.parquet", index=False)
    _err(
        runner.invoke(app, [*base, "--forecasts", str(tmp_path / "m.parquet")]), sku, "no forecast"
    )
    _err(runner.invoke(app, [*base, "--forecasts", str(tmp_path / "missing.parquet")]), "not found")


def test_simulate_bad_dates(files, tmp_path: Path) -> None:  # noqa: ANN001
    res = runner.invoke(app, ["inventory", "simulate", "--transactions", str(files["tx"]),
                              "--start", "2023-09-04", "--end", "2023-08-01", "--policy", "classic",
                              "--lead-time", "7", "--service-level", "0.9",
                              "--output", str(tmp_path / "s"), "--no-track"])  # fmt: skip
    _err(res, "--end")


def test_plan_with_budget(files, tmp_path: Path) -> None:  # noqa: ANN001
    base = ["inventory", "plan", "--forecasts", str(files["fc"]), "--transactions",
            str(files["tx"]), "--cutoff", str(CUTOFF.date()), "--lead-time", "14", "--no-track"]  # fmt: skip
    _ok(runner.invoke(app, [*base, "--output", str(tmp_path / "full.csv")]))
    full = json.loads((tmp_path / "full.summary.json").read_text())["order_value"]
    res = runner.invoke(app, [*base, "--output", str(tmp_path / "b.csv"), "--budget",
                              str(full / 2), "--pack-size", "2"])  # fmt: skip
    _ok(res)
    assert "expected margin lost" in res.output and "pro-rata" in res.output
    s = json.loads((tmp_path / "b.summary.json").read_text())
    assert s["budget"] == pytest.approx(full / 2) and s["budget_spent"] <= full / 2 + 1e-6
    assert s["lost_margin"] <= s["lost_margin_pro_rata"]
    p = pd.read_csv(tmp_path / "b.csv")
    assert list(p.columns[: len(PLAN_COLUMNS)]) == PLAN_COLUMNS
    assert (p["order_qty"] % 2 == 0).all() and (
        p["order_qty"] <= p["unconstrained_order_qty"]
    ).all()


def test_classify_writes_the_clearance_table(files, shop, tmp_path: Path) -> None:  # noqa: ANN001
    from ecomml.inventory import CLEARANCE_COLUMNS

    skus = sorted(shop.transactions["sku"].astype(str).unique())[:12]
    oh = tmp_path / "stock.csv"
    pd.DataFrame({"sku": skus, "on_hand": 50.0}).to_csv(oh, index=False)
    base = ["inventory", "classify", "--transactions", str(files["tx"]), "--cutoff",
            str(CUTOFF.date()), "--output", str(tmp_path / "c.csv"), "--no-track"]  # fmt: skip
    res = runner.invoke(app, [*base, "--on-hand", str(oh), "--clearance-output",
                              str(tmp_path / "clear.parquet")])  # fmt: skip
    _ok(res)
    assert "clearance:" in res.output
    t = pd.read_parquet(tmp_path / "clear.parquet")
    assert list(t.columns) == CLEARANCE_COLUMNS and len(t) > 0
    assert (t["stock_value"] == t["on_hand"] * t["unit_cost"]).all()
    _err(runner.invoke(app, [*base, "--clearance-output", str(tmp_path / "x.csv")]), "--on-hand")


def test_quickstart_inventory_step_turns_data_remarks_into_notes(
    tmp_path: Path, monkeypatch
) -> None:  # noqa: ANN001
    """A SKU first sold in the cutoff's week has no forecast: the quickstart says so in a
    note (as on Online Retail), it does not raise the warning at the user."""
    import warnings

    from ecomml.exceptions import DataQualityWarning
    from ecomml.inventory import plan as plan_mod
    from ecomml.inventory.task import InventoryTask

    real = plan_mod.replenishment_plan

    def noisy(*a, **k):  # noqa: ANN002, ANN003, ANN202
        warnings.warn("1 SKU(s) first sold in the period of the cutoff have no forecast",
                      DataQualityWarning, stacklevel=2)  # fmt: skip
        return real(*a, **k)

    monkeypatch.setattr("ecomml.inventory.task.replenishment_plan", noisy)
    from ecomml.data.synth import make_shop
    from ecomml.quickstart import run_quickstart

    s = make_shop(n_customers=150, n_skus=30, days=200, seed=5)
    from ecomml.data.shop import ShopData

    monkeypatch.setattr("ecomml.quickstart.TASK_STEPS", ("forecast", "inventory"))
    res = run_quickstart(ShopData(s.transactions, s.events, s.catalog, s.calendar),
                         out_dir=tmp_path / "out", track=False, save_models=False)  # fmt: skip
    assert any(n.startswith("inventory: 1 SKU(s) first sold") for n in res.summary["notes"])
    assert InventoryTask.name == "inventory"
