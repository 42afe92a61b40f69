"""``ecomml data validate|convert`` through the root app: exit codes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ecomml.cli.main import app
from ecomml.data import read_table

BAD = Path(__file__).resolve().parent / "bad"
runner = CliRunner()


def _run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


ERRORS = [
    (["empty.csv"], "empty.csv is empty (0 bytes)"),
    (["header_only.csv"], "has no data rows"),
    (["missing_column.csv"], "is missing required column(s) 'price'"),
    (["misspelled_column.csv"], "(did you mean 'InvoceNo'?)"),
    (["latin1.csv"], "--encoding latin-1"),
    (["utf16.csv"], "it looks like UTF-16"),
    (["bad_dates.csv"], "column 'ts' has values that are not dates at data lines 2, 3"),
    (["mixed_tz.csv"], "mixes times with a UTC offset"),
    (["future_dates.csv"], "(in the future) at data line 2"),
    (["qty_text.csv"], "column 'quantity' has text that is not a number at data lines 2, 4"),
    (["nan_price.csv"], "column 'price' has missing values at data line 2"),
    (["inf_price.csv"], "column 'price' has infinite values at data line 1"),
    (["dup_catalog.csv", "--table", "catalog"], "duplicate sku values ['A1']"),
    (["ragged.csv"], "is not a well-formed CSV file on line 3"),
    (["bad_event.csv", "--table", "events"], "values other than view, cart, purchase"),
    (["bom.csv", "--map", "order_id"], "--map entry 'order_id' must look like"),
    (["bom.csv", "--format", "cdnow", "--table", "events"], "applies to transactions only"),
    (["nope.csv"], "file not found"),
]


@pytest.mark.parametrize(("args", "expected"), ERRORS, ids=[a[0] + str(len(a)) for a, _ in ERRORS])
def test_validate_errors_are_one_line(args: list[str], expected: str) -> None:
    result = _run("data", "validate", str(BAD / args[0]), *args[1:])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.output


def test_directory_is_an_error(tmp_path: Path) -> None:
    result = _run("data", "validate", str(tmp_path))
    assert result.exit_code == 1
    assert (
        result.stderr.strip() == f"error: {tmp_path} is a directory, not a file. Pass a CSV, "
        "Parquet or Excel file (a directory is read only when it holds .parquet files)."
    )


def test_verbose_shows_traceback() -> None:
    result = _run("--verbose", "data", "validate", str(BAD / "qty_text.csv"))
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "error: " in result.stderr


def test_validate_ok_prints_summary() -> None:
    result = _run("data", "validate", str(BAD / "leading_zero_ids.csv"))
    assert result.exit_code == 0, result.output
    assert "valid transactions" in result.stdout
    assert "1997-01-01" in result.stdout and "Cleaning transactions" in result.stdout
    assert result.stderr == ""


def test_validate_options() -> None:
    assert _run("data", "validate", str(BAD / "future_dates.csv"), "--allow-future").exit_code == 0
    assert _run("data", "validate", str(BAD / "latin1.csv"), "--encoding", "latin-1").exit_code == 0
    ok = _run("data", "validate", str(BAD / "misspelled_column.csv"), "--map", "InvoceNo=order_id")
    assert ok.exit_code == 0, ok.output
    assert _run("data", "validate", str(BAD / "dup_catalog.csv"), "--table", "nope").exit_code == 2


def test_map_file(tmp_path: Path) -> None:
    y = tmp_path / "map.yaml"
    y.write_text("InvoceNo: order_id\n")
    result = _run("data", "validate", str(BAD / "misspelled_column.csv"), "--map-file", str(y))
    assert result.exit_code == 0, result.output


def test_validate_calendar_and_events(tmp_path: Path) -> None:
    p = tmp_path / "cal.csv"
    p.write_text("date,event,is_promo\n2024-06-18,618,true\n")
    result = _run("data", "validate", str(p), "--table", "calendar")
    assert result.exit_code == 0 and "promo days" in result.stdout


def test_convert_writes_parquet_and_report(tmp_path: Path) -> None:
    out, report = tmp_path / "out" / "tx.parquet", tmp_path / "report.json"
    result = _run(
        "data", "convert", str(BAD / "leading_zero_ids.csv"), str(out), "--report", str(report)
    )
    assert result.exit_code == 0, result.output
    df = read_table(out)
    assert df["order_id"].tolist() == ["00001", "00002"]
    # timestamps are stored in microseconds, so Spark reads the file as well as DuckDB
    import pyarrow.parquet as pq

    assert str(pq.read_schema(out).field("ts").type) == "timestamp[us]"
    back = pd.read_parquet(out)
    pd.testing.assert_frame_equal(back.astype({"ts": df["ts"].dtype}), df)
    rep = json.loads(report.read_text())
    assert rep["rows_in"] == 2 and rep["source"].endswith("leading_zero_ids.csv")
    assert {r["rule"] for r in rep["rules"]} >= {"duplicates", "reversed_orders"}
    assert sorted(p.name for p in out.parent.iterdir()) == ["tx.parquet"]  # no temp files left


def test_convert_no_clean(tmp_path: Path) -> None:
    src = tmp_path / "dups.csv"
    row = "1,c1,P,2011-01-01,1,2.0\n"
    src.write_text("order_id,customer_id,sku,ts,quantity,price\n" + row + row)
    out = tmp_path / "raw.parquet"
    assert _run("data", "convert", str(src), str(out), "--no-clean").exit_code == 0
    assert len(pd.read_parquet(out)) == 2
    assert _run("data", "convert", str(src), str(out)).exit_code == 0
    assert len(pd.read_parquet(out)) == 1


def test_convert_error_leaves_old_output(tmp_path: Path) -> None:
    out = tmp_path / "tx.parquet"
    out.write_bytes(b"old")
    result = _run("data", "convert", str(BAD / "qty_text.csv"), str(out))
    assert result.exit_code == 1
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["tx.parquet"]
    same = _run("data", "convert", str(BAD / "bom.csv"), str(BAD / "bom.csv"))
    assert same.exit_code == 1 and "is the input file" in same.stderr


def test_progress_spinner_for_big_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    import ecomml.cli.data as data_cli

    monkeypatch.setattr(data_cli, "_PROGRESS_BYTES", 0)  # treat every file as big
    result = _run("data", "validate", str(BAD / "leading_zero_ids.csv"))
    assert result.exit_code == 0, result.output
    bad = _run("data", "validate", str(BAD / "qty_text.csv"))
    assert bad.exit_code == 1
    assert bad.stderr.strip().splitlines()[-1].startswith("error: ")


def test_short_t_means_transactions_on_every_command() -> None:
    """One meaning per short flag: ``-t`` is ``--transactions`` wherever it exists."""
    import typer.main

    def walk(cmd, path=()):  # noqa: ANN001, ANN202
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, (*path, name))

    root = typer.main.get_command(app)
    seen = 0
    for path, cmd in walk(root):
        for param in getattr(cmd, "params", []):
            if "-t" in getattr(param, "opts", []):
                seen += 1
                assert "--transactions" in param.opts, f"ecomml {' '.join(path)}: {param.opts}"
    assert seen > 5
