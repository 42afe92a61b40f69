"""Hypothesis fuzzing of the adapters: any input ends in a valid canonical table or an
:class:`~ecomml.exceptions.EcommlError`; any other exception is a bug.

Deterministic (``derandomize=True``) and bounded (100 examples each; set
``ECOMML_FUZZ_EXAMPLES=2000`` for a longer local hunt), so CI is stable. Inputs are random
bytes, CSV-like text with random headers, delimiters, quoting and encodings, and random
cell values in the canonical columns (in memory and through a file).
"""

from __future__ import annotations

import os
import string
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ecomml.cli.main import app
from ecomml.data import clean_transactions, read_table, to_canonical, validate_table
from ecomml.data.schema import SCHEMAS, STRING_DTYPE
from ecomml.data.shop import load_shop
from ecomml.exceptions import EcommlError

pytestmark = pytest.mark.filterwarnings("ignore::ecomml.exceptions.EcommlWarning")

FUZZ = settings(
    max_examples=int(os.environ.get("ECOMML_FUZZ_EXAMPLES", "100")),
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

TX = ["order_id", "customer_id", "sku", "ts", "quantity", "price"]
HEADER_WORDS = [
    *TX, "InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID",
    "Country", "Description", "event", "date", "is_promo", "category", "active", "cost",
    "return_of", "region", "channel", "", " ", "ts ", "Price", "number_of_cds",
]  # fmt: skip
CELLS = [
    "", " ", "1", "-3", "0", "2.5", "1,5", "1.234,50", "1e5", "00123", "nan", "NaN", "inf",
    "-inf", "NULL", "n/a", "two", "£2.55", "2011-01-01", "2011-01-01 10:00",
    "2011-01-01T10:00:00+01:00", "2011-01-01T10:00:00Z", "2011-13-45", "1293876000",
    "2300-01-01", "1500-06-01", "01/02/2011", "yesterday", "true", "yes", "view", "cart",
    "purchase", "like", 'say "hi"', "a,b", "a;b", "é", "€", "\u200b", "🙂", "x" * 300,
]  # fmt: skip
DELIMS = [",", ";", "\t", "|", " "]
_ID = st.text(string.ascii_letters + string.digits + "-_ ./", min_size=1, max_size=8)
GOOD = {
    "order_id": _ID,
    "customer_id": _ID | st.just(""),
    "sku": _ID,
    "ts": st.sampled_from(["2011-01-01", "2011-01-01 10:00", "2011-12-09 12:50:00",
                           "2011-01-01T10:00:00", "01/02/2011 10:00", "2011-06-30"]),
    "quantity": st.integers(-5, 50).map(str) | st.sampled_from(["1.0", "-1", "0", "1e2"]),
    "price": st.floats(0, 500, allow_nan=False).map(lambda v: f"{v:.2f}") | st.just("0"),
}  # fmt: skip
ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"]


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="ecomml-fuzz-") as d:
        yield Path(d)


def check_canonical(frame: pd.DataFrame, table: str) -> None:
    """A frame an adapter returned is canonical: validating it again changes nothing."""
    schema = SCHEMAS[table]
    assert set(schema.required) <= set(frame.columns)
    for col in frame.columns:
        spec = schema.column(col)
        if spec.dtype == "string":
            assert frame[col].dtype == STRING_DTYPE, (col, frame[col].dtype)
        elif spec.dtype == "float64":
            assert frame[col].dtype == np.float64
            assert np.isfinite(frame[col].to_numpy()[~np.isnan(frame[col].to_numpy())]).all()
        elif spec.dtype in ("datetime64[ns]", "date"):
            assert frame[col].dtype == np.dtype("datetime64[ns]")
        if not spec.nullable and spec.dtype != "bool":
            assert not frame[col].isna().any(), col
    if len(frame):  # cleaning may drop every row (e.g. all quantities 0)
        again = validate_table(frame, table)
        pd.testing.assert_frame_equal(again, frame)


def read_or_error(path: Path, **kwargs: Any) -> pd.DataFrame | None:
    """``read_table`` result, or None for an EcommlError; anything else propagates."""
    try:
        out = read_table(path, **kwargs)
        event("read ok")
        return out
    except EcommlError as err:
        event(type(err).__name__)
        assert str(err).strip(), "an error needs a message"
        return None


@st.composite
def csv_text(draw: st.DrawFn) -> tuple[str, str]:
    """A CSV-like text with random header, delimiter, rows and quoting; and its delimiter."""
    delim = draw(st.sampled_from(DELIMS))
    canonical = draw(st.booleans())
    header = (
        draw(st.permutations(TX))
        if canonical
        else draw(st.lists(st.sampled_from(HEADER_WORDS), min_size=1, max_size=8))
    )
    n_rows = draw(st.integers(0, 6))
    wild = st.one_of(
        st.sampled_from(CELLS), st.text(string.printable, max_size=12), st.text(max_size=6)
    )
    # a canonical header mostly gets plausible cells, so the success path is fuzzed too
    tame = 0.0 if not canonical else draw(st.sampled_from([0.0, 0.9, 1.0]))
    lines = []
    for _ in range(n_rows):
        width = len(header) + (0 if tame else draw(st.sampled_from([0, 0, 0, -1, 1])))
        cells = []
        for i in range(max(width, 0)):
            col = header[i] if i < len(header) else ""
            plausible = draw(st.floats(0, 1)) < tame and col in GOOD
            cells.append(draw(GOOD[col] if plausible else wild))
        if draw(st.booleans()):
            cells = ['"' + c.replace('"', '""') + '"' for c in cells]
        lines.append(delim.join(cells))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join([delim.join(header), *lines])
    if draw(st.booleans()):
        text += newline
    return text, delim


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".parquet", ".xlsx", ".gz"]))
def test_random_bytes(folder: Path, data: bytes, suffix: str) -> None:
    path = folder / f"bytes{suffix}"
    path.write_bytes(data)
    frame = read_or_error(path)
    if frame is not None:
        check_canonical(frame, "transactions")


@FUZZ
@given(
    doc=csv_text(),
    encoding=st.sampled_from(ENCODINGS),
    tell=st.booleans(),
    table=st.sampled_from(["transactions", "transactions", "events", "catalog", "calendar"]),
)
def test_random_csv_text(
    folder: Path, doc: tuple[str, str], encoding: str, tell: bool, table: str
) -> None:
    text, _ = doc
    path = folder / "text.csv"
    try:
        path.write_bytes(text.encode(encoding))
    except UnicodeEncodeError:
        path.write_bytes(text.encode(encoding, errors="replace"))
    frame = read_or_error(path, table=table, encoding=encoding if tell else None)
    if frame is not None:
        check_canonical(frame, table)
        if table == "transactions":
            cleaned, report = clean_transactions(frame)
            assert len(cleaned) <= len(frame)
            assert report.rows_in == len(frame)


canonical_cell = st.one_of(
    st.sampled_from(CELLS),
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.datetimes(timezones=st.none() | st.timezones()),
)


GOOD_OBJ = [
    st.integers(0, 10**6) | _ID,  # order_id
    st.floats(1, 10**5).map(float.__floor__).map(float) | _ID | st.none(),  # customer_id
    _ID | st.integers(0, 99999),  # sku
    st.datetimes(datetime(2000, 1, 1), datetime(2020, 1, 1)) | GOOD["ts"],  # ts
    st.integers(-5, 50) | st.floats(-5, 50, allow_nan=False) | GOOD["quantity"],  # quantity
    st.floats(0, 500, allow_nan=False) | GOOD["price"],  # price
]


@st.composite
def cell_rows(draw: st.DrawFn) -> list[list[Any]]:
    """Rows of cells for the six required columns; mostly plausible, sometimes anything."""
    tame = draw(st.sampled_from([0.0, 0.9, 1.0]))
    n = draw(st.integers(1, 6))
    return [
        [draw(g if draw(st.floats(0, 1)) < tame else canonical_cell) for g in GOOD_OBJ]
        for _ in range(n)
    ]


@FUZZ
@given(rows=cell_rows(), via_file=st.booleans())
def test_random_cells_in_canonical_columns(folder: Path, rows: list[Any], via_file: bool) -> None:
    """Mixed Python objects in memory (as an in-process user hands them over), or the same
    cells as text through a Parquet file."""
    frame = pd.DataFrame(rows, columns=TX, dtype=object)
    try:
        if via_file:
            path = folder / "cells.parquet"
            try:
                frame.astype(str).to_parquet(path, index=False)
            except (ValueError, TypeError, OverflowError, UnicodeError):
                return
            out = read_table(path)
        else:
            out = to_canonical(frame)
    except EcommlError as err:
        event(type(err).__name__)
        return
    event("ok")
    check_canonical(out, "transactions")
    assert len(out) == len(frame)


@settings(FUZZ, max_examples=max(FUZZ.max_examples // 5, 20))
@given(doc=csv_text())
def test_load_shop_and_cli_never_crash(folder: Path, doc: tuple[str, str]) -> None:
    """``load_shop`` raises only EcommlError; ``ecomml data validate`` never reaches the
    CLI's catch-all and prints one line on error."""
    path = folder / "shop.csv"
    path.write_text(doc[0], encoding="utf-8")
    try:
        shop = load_shop(path, cutoff="2030-01-01")
    except EcommlError:
        pass
    else:
        check_canonical(shop.transactions, "transactions")
    result = CliRunner().invoke(app, ["data", "validate", str(path)])
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 1:
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert "error: unexpected" not in lines[0], lines[0]
