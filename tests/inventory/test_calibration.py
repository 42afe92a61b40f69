"""Calibrating the lead-time demand on backtest windows (issue 20, item 3)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ecomml.cli.main import app
from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.inventory.calibration import fit_demand_calibration, protection_sums

from .conftest import CUTOFF


def _backtest(n_sku=300, origins=4, periods=3, bias=1.25, spread=3.0, seed=0) -> pd.DataFrame:
    """Forecasts NB(mean, size) per period; actuals drawn with the mean times ``bias`` and
    the size divided by ``spread``."""
    rng = np.random.default_rng(seed)
    rows = []
    means = rng.gamma(1.0, 3.0, n_sku) + 0.2
    for o in range(origins):
        origin = pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=o)
        for t in range(periods + 1):
            m, k = means, np.full(n_sku, 4.0)
            kt = k / spread
            y = rng.negative_binomial(kt, kt / (kt + m * bias))
            rows.append(pd.DataFrame({
                "origin": origin, "sku": [f"S{i}" for i in range(n_sku)],
                "ds": origin + pd.Timedelta(weeks=t), "mean": m, "nb_size": k, "y": y,
                "pattern": np.where(np.arange(n_sku) % 2, "smooth", "intermittent"),
            }))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def test_recovers_a_known_bias_and_spread() -> None:
    cal = fit_demand_calibration(_backtest(), 3)
    b, f, e = cal.scales["all"]
    assert b == pytest.approx(1.25, rel=0.08)
    for m in (1.0, 3.0, 8.0):  # the variance of a 3-period sum, fitted vs true
        mm = 3 * m * b
        fitted = mm + e * mm + f * 3 * (m * b) ** 2 / 4.0
        true = 3 * 1.25 * m + 3 * 3.0 * (1.25 * m) ** 2 / 4.0
        assert fitted == pytest.approx(true, rel=0.3)
    r = cal.report
    assert (
        r["sums"] == 1200
        and r["origins"] == 4
        and set(r["groups"]) == {"all", "smooth", "intermittent"}
    )
    assert r["groups"]["all"]["loglik_per_sum_after"] > r["groups"]["all"]["loglik_per_sum_before"]
    assert abs(r["pit_after"]["above_0.90"] - 0.1) < abs(r["pit_before"]["above_0.90"] - 0.1)


def test_a_calibrated_forecast_is_left_nearly_alone() -> None:
    cal = fit_demand_calibration(_backtest(bias=1.0, spread=1.0, n_sku=600), 2)
    b, f, e = cal.scales["all"]
    assert b == pytest.approx(1.0, abs=0.06) and f < 1.4 and e <= 0.25


def test_apply_scales_mean_and_size_by_pattern() -> None:
    cal = fit_demand_calibration(_backtest(), 3)
    fc = pd.DataFrame({"sku": ["a", "b", "c"], "mean": [1.0, 1.0, 1.0], "nb_size": [4.0] * 3,
                       "pattern": ["smooth", "intermittent", "new"]})  # fmt: skip
    out = cal.apply(fc)
    for i, p in enumerate(["smooth", "intermittent", "all"]):
        b, f, e = cal.scales[p]
        var = b + e * b + f * b**2 / 4.0  # mean 1, size 4 before
        assert out["mean"][i] == pytest.approx(b)
        assert out["mean"][i] + out["mean"][i] ** 2 / out["nb_size"][i] == pytest.approx(var)
    with pytest.raises(ConfigError, match="nb_size"):
        cal.apply(fc.drop(columns="nb_size"))


def test_protection_sums_leave_out_windows_without_actuals() -> None:
    bt = _backtest(n_sku=5, origins=2, periods=3)
    bt.loc[(bt["sku"] == "S0") & (bt["ds"] == bt["origin"]), "y"] = np.nan
    s = protection_sums(bt, 3)
    assert len(s) == 2 * 5 - 2 and "S0" not in set(s["sku"])
    first = bt.loc[(bt["sku"] == "S1") & (bt["origin"] == bt["origin"].min())].head(3)
    row = s.loc[(s["sku"] == "S1")].iloc[0]
    assert row["y"] == first["y"].sum() and row["mean"] == pytest.approx(first["mean"].sum())


def test_refusals() -> None:
    with pytest.raises(ConfigError, match="--models lgbm"):
        fit_demand_calibration(_backtest().drop(columns="nb_size"), 3)
    with pytest.raises(DataQualityError, match="--folds"):
        fit_demand_calibration(_backtest(n_sku=5, origins=2), 3)


def test_cli_backtest_forecasts_output_and_a_plan_that_needs_nb(
    shop, forecast, tmp_path: Path
) -> None:  # noqa: ANN001
    """The fast twin of the next test: the wiring, with a model without nb_size."""
    tx = tmp_path / "tx.parquet"
    shop.transactions.to_parquet(tx, index=False)
    data = ["--transactions", str(tx), "--format", "canonical", "--no-track"]
    run = CliRunner().invoke
    res = run(app, ["backtest", "forecast", *data, "--cutoff", str(CUTOFF.date()), "--models",
                    "ma", "--folds", "2", "--step", "1", "--horizon", "3", "--plots-dir",
                    str(tmp_path / "p"), "--forecasts-output", str(tmp_path / "bt.parquet")])  # fmt: skip
    assert res.exit_code == 0, res.output
    bt = pd.read_parquet(tmp_path / "bt.parquet")
    assert {"fold", "origin", "sku", "ds", "mean", "y"} <= set(bt.columns)
    assert pd.to_datetime(bt["ds"]).max() < CUTOFF
    forecast.to_parquet(tmp_path / "fc.parquet", index=False)
    res = run(app, ["inventory", "plan", "--forecasts", str(tmp_path / "fc.parquet"), *data,
                    "--cutoff", str(CUTOFF.date()), "--lead-time", "14", "--output",
                    str(tmp_path / "plan.csv"), "--calibrate-on", str(tmp_path / "bt.parquet")])  # fmt: skip
    assert res.exit_code == 1 and "--models lgbm" in res.output, res.output


@pytest.mark.slow
@pytest.mark.twin
def test_cli_backtest_then_calibrated_plan(shop, tmp_path: Path) -> None:  # noqa: ANN001
    tx = tmp_path / "tx.parquet"
    shop.transactions.to_parquet(tx, index=False)
    data = ["--transactions", str(tx), "--format", "canonical"]
    nt = ["--no-track"]
    run = CliRunner().invoke
    res = run(app, ["backtest", "forecast", *data, *nt, "--cutoff", str(CUTOFF.date()), "--models",
                    "lgbm", "--folds", "2", "--step", "1", "--horizon", "3", "--plots-dir",
                    str(tmp_path / "bt-plots"), "--forecasts-output", str(tmp_path / "bt.parquet")])  # fmt: skip
    assert res.exit_code == 0, res.output
    bt = pd.read_parquet(tmp_path / "bt.parquet")
    assert {"origin", "sku", "ds", "mean", "nb_size", "y"} <= set(bt.columns)
    res = run(app, ["train", "forecast", *data, *nt, "--cutoff", str(CUTOFF.date()), "--model-dir",
                    str(tmp_path / "m"), "--horizon", "3", "--validate-folds", "0"])  # fmt: skip
    assert res.exit_code == 0, res.output
    res = run(app, ["predict", "forecast", *data, "--cutoff", str(CUTOFF.date()), "--model",
                    str(tmp_path / "m"), "--output", str(tmp_path / "fc.parquet")])  # fmt: skip
    assert res.exit_code == 0, res.output
    plan = ["inventory", "plan", "--forecasts", str(tmp_path / "fc.parquet"), *data, *nt, "--cutoff",
            str(CUTOFF.date()), "--lead-time", "14"]  # fmt: skip
    res = run(app, [*plan, "--output", str(tmp_path / "p.csv"), "--calibrate-on",
                    str(tmp_path / "bt.parquet")])  # fmt: skip
    assert res.exit_code == 0, res.output
    s = json.loads((tmp_path / "p.summary.json").read_text())
    assert s["calibration"]["periods"] == 3 and "all" in s["calibration"]["scales"]
    res = run(app, [*plan, "--output", str(tmp_path / "q.csv"), "--calibrate-on",
                    str(tmp_path / "bt.parquet"), "--policy", "classic"])  # fmt: skip
    assert res.exit_code == 1 and "--policy forecast" in res.output, res.output


def test_replay_calibrates_once_on_windows_before_the_start(shop, tmp_path: Path) -> None:  # noqa: ANN001
    from ecomml.forecasting import LightGBMForecaster, panel_from_transactions
    from ecomml.inventory import simulate_policy

    panel = panel_from_transactions(shop.transactions, CUTOFF, "W")
    start = CUTOFF - pd.Timedelta(weeks=4)
    cache: dict = {}
    kw = {"policy": "forecast", "lead_time": 7, "refit_every": 4, "forecast_cache": cache,
          "forecaster": LightGBMForecaster(freq="W", horizon=4, n_jobs=1, n_estimators=30), "calibrate_folds": 2}  # fmt: skip
    a = simulate_policy(panel, start, CUTOFF, service_level=0.9, **kw)
    keys = [k for k in cache if k[0] == "calibration backtest" and len(k) == 3]
    assert len(keys) == 1 and pd.to_datetime(cache[keys[0]]["ds"]).max() < start
    b = simulate_policy(panel, start, CUTOFF, service_level=0.95, **kw)
    assert len([k for k in cache if k[0] == "calibration backtest"]) == 2  # backtest + its fit
    assert (
        a.summary["calibration"] == b.summary["calibration"] and "all" in a.summary["calibration"]
    )
    plain = simulate_policy(panel, start, CUTOFF, service_level=0.9,
                            **{**kw, "calibrate_folds": 0})  # fmt: skip
    assert plain.summary["calibration"] is None


def test_apply_moves_the_quantiles_with_the_distribution() -> None:
    from ecomml.forecasting import nb_quantiles
    from ecomml.metrics.forecast import QUANTILE_COLUMNS

    cal = fit_demand_calibration(_backtest(), 3)
    fc = pd.DataFrame({"sku": ["a"], "mean": [5.0], "nb_size": [4.0], "pattern": ["smooth"]})
    for c, p in QUANTILE_COLUMNS.items():
        fc[c] = float(np.asarray(nb_quantiles(np.array([5.0]), np.array([4.0]), [p]))[0, 0])
    out = cal.apply(fc)
    want = np.asarray(nb_quantiles(out["mean"].to_numpy(), out["nb_size"].to_numpy(),
                                   list(QUANTILE_COLUMNS.values())))[0]  # fmt: skip
    np.testing.assert_allclose(out[list(QUANTILE_COLUMNS)].to_numpy()[0], want)
    assert out["q95"][0] > fc["q95"][0]  # a wider, higher distribution


def test_plan_refuses_a_backtest_that_reaches_its_cutoff(shop, forecast) -> None:  # noqa: ANN001
    from ecomml.inventory import replenishment_plan

    bt = _backtest(n_sku=40, origins=3)
    bt["ds"] = CUTOFF + pd.Timedelta(weeks=1)
    with pytest.raises(DataQualityError, match="on or after the plan's cutoff"):
        replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=14, calibrate_on=bt)
