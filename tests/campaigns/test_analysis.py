"""``analyze_experiment`` and ``ecomml abtest analyze|plan`` on small generated files:
the exact output columns, segments, corrections, and one clear line for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ecomml.campaigns import RESULT_COLUMNS, analyze_experiment
from ecomml.cli.main import app
from ecomml.exceptions import ConfigError, DataQualityError

runner = CliRunner()

REQUIRED = ["metric", "variant", "control", "n_control", "n_variant", "mean_control",
            "mean_variant", "diff", "diff_low", "diff_high", "rel_lift", "rel_lift_low",
            "rel_lift_high", "p_value", "method"]  # fmt: skip


@pytest.fixture(scope="module")
def units() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 3000
    arm = rng.choice(["control", "A", "B"], n)
    pre = rng.gamma(2, 10, n)
    buy = rng.random(n) < np.where(arm == "A", 0.25, 0.2)
    visits = rng.poisson(2, n) + 1
    revenue = np.where(buy, 0.5 * pre + rng.lognormal(2, 1, n), 0.0)
    return pd.DataFrame({
        "user": [f"u{i:05d}" for i in range(n)], "arm": arm, "converted": buy.astype(int),
        "revenue": revenue, "visits": visits, "pre_revenue": pre,
        "country": rng.choice(["CN", "US"], n),
        "day": pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 14, n), "D"),
    })  # fmt: skip


def test_rows_columns_and_methods(units: pd.DataFrame) -> None:
    res = analyze_experiment(
        units, variant_col="arm", control="control", metrics=["converted", "revenue"],
        covariates=["pre_revenue"], ratios=[("revenue", "visits")], sequential=True,
        time_col="day", correction="bh",
    )  # fmt: skip
    t = res.table
    assert list(t.columns[: len(REQUIRED)]) == REQUIRED == list(RESULT_COLUMNS)
    assert set(t["method"]) == {"welch", "cuped", "sequential", "delta"}
    assert set(t["variant"]) == {"A", "B"} and set(t["control"]) == {"control"}
    assert len(t) == 2 * (2 * 3 + 1)
    assert (t["p_value_adj"] >= t["p_value"] - 1e-12).all()
    assert (t.loc[t["method"] == "sequential", "looks"] == 14).all()
    cuped = t.loc[(t["method"] == "cuped") & (t["metric"] == "revenue")].set_index("variant")
    plain = t.loc[(t["method"] == "welch") & (t["metric"] == "revenue")].set_index("variant")
    assert (cuped["se"] < plain["se"]).all()
    assert res.counts["control"] + res.counts["A"] + res.counts["B"] == len(units)
    assert 0 < res.srm_p_value <= 1 and not res.srm


def test_segments(units: pd.DataFrame) -> None:
    t = analyze_experiment(units, variant_col="arm", control="control", metrics=["revenue"],
                           segment_col="country").table  # fmt: skip
    assert list(t.columns[:4]) == ["metric", "variant", "segment", "control"]
    assert set(t["segment"]) == {"(all)", "CN", "US"}
    seg = t.loc[t["segment"] != "(all)"].groupby("variant")["n_variant"].sum()
    assert (seg == t.loc[t["segment"] == "(all)"].set_index("variant")["n_variant"]).all()


@pytest.mark.parametrize(
    ("change", "kwargs", "error", "match"),
    [
        (lambda d: d.assign(arm="control"), {}, DataQualityError, "'arm' has one level only"),
        (lambda d: d, {"control": "ctrl"}, ConfigError, "--control 'ctrl' is not a value of"),
        (lambda d: d.assign(revenue=0.0), {}, DataQualityError, "'revenue' is zero for every"),
        (lambda d: d.assign(revenue="x"), {}, DataQualityError, "'revenue' is not numeric"),
        (lambda d: d.assign(pre_revenue=np.where(d.index < 5, np.nan, d.pre_revenue)),
         {"covariates": ["pre_revenue"]}, DataQualityError, "'pre_revenue' has 5 empty values"),
        (lambda d: d, {"metrics": ["spend"]}, ConfigError, "--metrics spend: no such column"),
        (lambda d: d, {"variant_col": "group"}, ConfigError, "--variant group: no such column"),
    ],
)  # fmt: skip
def test_bad_input_names_the_file_and_column(units, change, kwargs, error, match) -> None:  # noqa: ANN001
    kw = {"variant_col": "arm", "control": "control", "metrics": ["revenue"], **kwargs}
    with pytest.raises(error, match=match) as err:
        analyze_experiment(change(units.copy()), source="units.csv", **kw)
    assert str(err.value).startswith("units.csv: ") and "\n" not in str(err.value)


def test_sample_ratio_mismatch_is_flagged(units: pd.DataFrame) -> None:
    lopsided = pd.concat([units, units.loc[units["arm"] == "A"]], ignore_index=True)
    res = analyze_experiment(lopsided, variant_col="arm", control="control", metrics=["revenue"])
    assert res.srm and (res.table["srm_p_value"] < 0.001).all()


def _ok(res) -> None:  # noqa: ANN001
    assert res.exit_code == 0, res.output


def test_cli_analyze_writes_the_exact_columns(units: pd.DataFrame, tmp_path: Path) -> None:
    data = tmp_path / "units.csv"
    units.to_csv(data, index=False)
    out = tmp_path / "result.parquet"
    res = runner.invoke(app, [
        "abtest", "analyze", "--data", str(data), "--variant", "arm", "--control", "control",
        "--metrics", "converted,revenue", "--covariates", "pre_revenue", "--sequential",
        "--time", "day", "--ratio", "revenue/visits", "--segment", "country", "--output",
        str(out), "--no-track",
    ])  # fmt: skip
    _ok(res)
    t = pd.read_parquet(out)
    assert list(t.columns[:16]) == [*REQUIRED[:2], "segment", *REQUIRED[2:]]
    assert "Lift vs control" in res.output and "SAMPLE RATIO MISMATCH" not in res.output
    summary = json.loads((tmp_path / "result.summary.json").read_text())
    assert summary["srm"] is False and set(summary["units"]) == {"A", "B", "control"}
    plots = {p.name for p in (tmp_path / "result-plots").glob("*.png")}
    assert {"lift_revenue.png", "cumulative_lift_revenue.png",
            "lift_revenue_per_visits.png"} <= plots  # fmt: skip
    page = (tmp_path / "result.html").read_text()  # one self-contained page: tables + plots
    assert page.count("data:image/png;base64,") == len(plots) and "Lift vs control" in page


def test_cli_analyze_warns_loudly_on_sample_ratio_mismatch(
    units: pd.DataFrame, tmp_path: Path
) -> None:
    data = tmp_path / "units.parquet"
    pd.concat([units, units.loc[units["arm"] == "A"]]).to_parquet(data)
    res = runner.invoke(app, ["abtest", "analyze", "--data", str(data), "--variant", "arm",
                              "--control", "control", "--metrics", "revenue", "--output",
                              str(tmp_path / "r.csv"), "--no-track"])  # fmt: skip
    _ok(res)
    assert "SAMPLE RATIO MISMATCH" in res.output
    assert "SAMPLE RATIO MISMATCH" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--variant", "country", "--control", "FR"], "--control 'FR' is not a value"),
        (["--metrics", "revenue,nope"], "--metrics nope: no such column"),
        (["--output", "r.txt"], "use a .csv or .parquet file name"),
        (["--ratio", "revenue"], "--ratio takes num/den"),
    ],
)
def test_cli_bad_input_one_line(units, tmp_path: Path, args, needle) -> None:  # noqa: ANN001
    data = tmp_path / "units.csv"
    units.assign(one="x").to_csv(data, index=False)
    base = {"--variant": "arm", "--control": "control", "--metrics": "revenue",
            "--output": str(tmp_path / "r.csv")}  # fmt: skip
    given = dict(zip(args[::2], args[1::2], strict=True))
    argv = [x for k, v in {**base, **given}.items() for x in (k, v)]
    res = runner.invoke(app, ["abtest", "analyze", "--data", str(data), *argv, "--no-track"])
    assert res.exit_code == 1, res.output
    out = res.output.strip()
    assert out.startswith("error:") and "Traceback" not in out and needle in out, out


def test_cli_plan(units: pd.DataFrame, tmp_path: Path) -> None:
    res = runner.invoke(app, ["abtest", "plan", "--baseline-rate", "0.10", "--mde", "10%",
                              "--no-track"])  # fmt: skip
    _ok(res)
    assert "14,749 units per arm" in res.output
    data = tmp_path / "past.parquet"
    units.to_parquet(data)
    out = tmp_path / "plan.csv"
    res = runner.invoke(app, ["abtest", "plan", "--data", str(data), "--metric", "revenue",
                              "--covariates", "pre_revenue", "--n", "5000", "--output", str(out),
                              "--no-track"])  # fmt: skip
    _ok(res)
    row = pd.read_csv(out).iloc[0]
    assert row["metric_kind"] == "mean" and 0 < row["cuped_r2"] < 1 and row["mde"] > 0
    res = runner.invoke(app, ["abtest", "plan", "--baseline-rate", "0.1", "--no-track"])
    assert res.exit_code == 1 and "give either --mde" in res.output


@pytest.mark.mlflow
def test_cli_analyze_is_tracked_in_mlflow(
    units: pd.DataFrame, tmp_path: Path, mlflow_uri: str
) -> None:
    import mlflow

    data = tmp_path / "units.csv"
    units.to_csv(data, index=False)
    res = runner.invoke(app, ["abtest", "analyze", "--data", str(data), "--variant", "arm",
                              "--control", "control", "--metrics", "revenue", "--output",
                              str(tmp_path / "r.csv")])  # fmt: skip
    _ok(res)
    runs = mlflow.search_runs(experiment_names=["ecomml-abtest"])
    assert len(runs) == 1 and "metrics.srm_p_value" in runs.columns
    assert runs["params.control"].iloc[0] == "control"
    assert "metrics.revenue.A.welch.rel_lift" in runs.columns


def test_cupac_removes_what_a_linear_adjustment_misses() -> None:
    """The outcome depends on two pre-period covariates through their product: CUPED's
    linear slope explains little of it, CUPAC's cross-fitted trees most; both stay
    centred on the true effect (0.5)."""
    rng = np.random.default_rng(7)
    n = 4000
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    arm = np.where(rng.random(n) < 0.5, "control", "B")
    y = 3.0 * x1 * x2 + 0.5 * (arm == "B") + rng.normal(size=n)
    units = pd.DataFrame({"arm": arm, "y": y, "x1": x1, "x2": x2})
    t = analyze_experiment(units, variant_col="arm", control="control", metrics=["y"],
                           covariates=["x1", "x2"]).table.set_index("method")  # fmt: skip
    assert t.loc["cuped", "variance_reduction"] < 0.05
    assert t.loc["cupac", "variance_reduction"] > 0.6
    assert t.loc["cupac", "se"] < 0.7 * t.loc["welch", "se"]
    assert t.loc["cupac", "diff_low"] < 0.5 < t.loc["cupac", "diff_high"]
    one = analyze_experiment(units, variant_col="arm", control="control", metrics=["y"],
                             covariates=["x1"]).table  # fmt: skip
    off = analyze_experiment(units, variant_col="arm", control="control", metrics=["y"],
                             covariates=["x1", "x2"], cupac=False).table  # fmt: skip
    assert "cupac" not in set(one["method"]) | set(off["method"])
