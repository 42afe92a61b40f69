"""Outputs that cannot hurt: never written over an input, never a formula in a spreadsheet."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ecomml._io import csv_safe
from ecomml.cli.main import app
from ecomml.runner import write_output

runner = CliRunner()

_EVIL = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _orders(path: Path) -> Path:
    rows = "".join(f"o{i},c{i % 4},s{i % 3},2024-03-{i % 27 + 1:02d},1,2.5\n" for i in range(60))
    path.write_text("order_id,customer_id,sku,ts,quantity,price\n" + rows, encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("task", ["churn", "recommend", "forecast"])
def test_predict_refuses_an_output_that_is_its_input(
    tmp_path: Path, task: str, suffix: str
) -> None:
    src = _orders(tmp_path / "orders.csv")
    if suffix == ".parquet":
        pd.read_csv(src).to_parquet(src := tmp_path / "orders.parquet")
    before = _sha(src)
    res = runner.invoke(app, ["predict", task, "--transactions", str(src), "--model",
                              str(tmp_path / "model"), "--cutoff", "2024-04-01",
                              "--output", str(src)])  # fmt: skip
    assert res.exit_code == 1
    assert "would overwrite the input" in res.output
    assert _sha(src) == before


def test_an_output_inside_the_model_folder_is_refused(tmp_path: Path) -> None:
    src = _orders(tmp_path / "orders.csv")
    (tmp_path / "model").mkdir()
    res = runner.invoke(app, ["predict", "churn", "-t", str(src), "--model",
                              str(tmp_path / "model"), "--cutoff", "2024-04-01",
                              "--output", str(tmp_path / "model" / "scores.csv")])  # fmt: skip
    assert res.exit_code == 1 and "would overwrite the input" in res.output


def test_inventory_refuses_writing_over_its_forecast(tmp_path: Path) -> None:
    src = _orders(tmp_path / "orders.csv")
    fc = tmp_path / "fc.csv"
    fc.write_text("sku,ds,mean\ns0,2024-04-01,1.0\n", encoding="utf-8")
    before = _sha(fc)
    res = runner.invoke(app, ["inventory", "plan", "-t", str(src), "--forecasts", str(fc),
                              "--cutoff", "2024-04-01", "--lead-time", "7", "--output", str(fc),
                              "--no-track"])  # fmt: skip
    assert res.exit_code == 1 and "would overwrite the input" in res.output
    assert _sha(fc) == before


def test_formula_cells_are_neutralised_in_csv_and_exact_in_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame({"customer_id": [*_EVIL, "c1"], "score": [-1.0, 2.0, 3.0, 4.0, 5.0]})
    write_output(frame, tmp_path / "out.csv")
    write_output(frame, tmp_path / "out.parquet")
    text = pd.read_csv(tmp_path / "out.csv", dtype={"customer_id": str})
    assert all(v.startswith("'") for v in text["customer_id"][:4])
    assert text["customer_id"].iloc[4] == "c1"
    assert text["score"].tolist() == frame["score"].tolist()  # numbers are not touched
    assert (
        pd.read_parquet(tmp_path / "out.parquet")["customer_id"].tolist()
        == frame["customer_id"].tolist()
    )


def test_cli_csv_outputs_carry_no_formula(tmp_path: Path) -> None:
    src = tmp_path / "orders.parquet"
    pd.DataFrame({
        "order_id": [f"o{i}" for i in range(40)],
        "customer_id": [_EVIL[i % 4] for i in range(40)],
        "sku": [_EVIL[(i + 1) % 4] for i in range(40)],
        "ts": [f"2024-03-{i % 27 + 1:02d}" for i in range(40)],
        "quantity": 1, "price": 2.5,
    }).to_parquet(src)  # fmt: skip
    out = tmp_path / "classes.csv"
    res = runner.invoke(app, ["inventory", "classify", "-t", str(src), "--cutoff", "2024-04-01",
                              "--output", str(out), "--no-track"])  # fmt: skip
    assert res.exit_code == 0, res.output
    skus = pd.read_csv(out, dtype=str)["sku"]
    assert len(skus) == 4 and all(s.startswith("'") for s in skus)


def test_csv_safe_leaves_clean_frames_alone() -> None:
    frame = pd.DataFrame({"a": ["x", "y"], "b": [1, -2]})
    assert csv_safe(frame) is frame
