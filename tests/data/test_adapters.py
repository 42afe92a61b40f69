"""Adapters: file types, formats, mappings, encodings and every bad-input case."""

from __future__ import annotations

import string
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecomml.data import (
    detect_format,
    load_mapping,
    read_catalog,
    read_events,
    read_table,
    read_transactions,
    to_canonical,
    validate_table,
)
from ecomml.exceptions import (
    ConfigError,
    DataQualityError,
    EcommlError,
    InputFileError,
    SchemaError,
)

BAD = Path(__file__).resolve().parent / "bad"
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"real benchmark data not found at {SHARED.resolve()}"
)

OR_ROW = {
    "InvoiceNo": ["536365", "536365", "C536379"],
    "StockCode": ["85123A", "71053", "D"],
    "Description": ["WHITE HANGING HEART", "WHITE METAL LANTERN", "Discount"],
    "Quantity": [6, 6, -1],
    "InvoiceDate": pd.to_datetime(["2010-12-01 08:26", "2010-12-01 08:26", "2010-12-01 09:41"]),
    "UnitPrice": [2.55, 3.39, 27.5],
    "CustomerID": [17850.0, 17850.0, np.nan],
    "Country": ["United Kingdom", "United Kingdom", "United Kingdom"],
}


# ------------------------------------------------------------------ bad input files

BAD_CASES = [
    ("empty.csv", "transactions", InputFileError, ["empty.csv is empty (0 bytes)"]),
    (
        "header_only.csv",
        "transactions",
        DataQualityError,
        ["header_only.csv (transactions) has no data rows"],
    ),
    (
        "missing_column.csv",
        "transactions",
        SchemaError,
        [
            "missing_column.csv (transactions) is missing required column(s) 'price'",
            "--map <your column>=price",
        ],
    ),
    (
        "misspelled_column.csv",
        "transactions",
        SchemaError,
        [
            "misspelled_column.csv (transactions) looks like an Online Retail (UCI) export",
            "no column 'InvoiceNo' or 'Invoice' (did you mean 'InvoceNo'?)",
            "--map InvoceNo=order_id",
        ],
    ),
    (
        "latin1.csv",
        "transactions",
        InputFileError,
        [
            "latin1.csv is not UTF-8 text: byte 0xA3 ('£') on line 2",
            "looks like Latin-1 (ISO-8859-1)",
            "encoding='latin-1'",
            "--encoding latin-1",
        ],
    ),
    (
        "utf16.csv",
        "transactions",
        InputFileError,
        ["utf16.csv is not UTF-8 text; it looks like UTF-16", "--encoding utf-16"],
    ),
    (
        "bad_dates.csv",
        "transactions",
        DataQualityError,
        [
            "bad_dates.csv (transactions): column 'ts' has values that are not dates at data "
            "lines 2, 3",
            "['2011-13-45 10:00', 'yesterday']",
            "ISO dates",
        ],
    ),
    (
        "mixed_tz.csv",
        "transactions",
        DataQualityError,
        [
            "mixed_tz.csv (transactions): column 'ts' mixes times with a UTC offset",
            "data line 1: '2011-01-01T10:00:00+01:00'",
            "data line 2: '2011-01-01T11:00:00'",
        ],
    ),
    (
        "qty_text.csv",
        "transactions",
        DataQualityError,
        [
            "qty_text.csv (transactions): column 'quantity' has text that is not a number at data "
            "lines 2, 4",
            "['two', 'n/a?']",
        ],
    ),
    (
        "nan_price.csv",
        "transactions",
        DataQualityError,
        [
            "nan_price.csv (transactions): column 'price' has missing values at data line 2",
            "['NaN']",
            "fill those cells or drop the rows",
        ],
    ),
    (
        "inf_price.csv",
        "transactions",
        DataQualityError,
        [
            "inf_price.csv (transactions): column 'price' has infinite values at data line 1",
            "['inf']",
        ],
    ),
    (
        "dup_catalog.csv",
        "catalog",
        DataQualityError,
        [
            "dup_catalog.csv (catalog) has duplicate sku values ['A1'] at data lines 1, 3",
            "drop_duplicates",
        ],
    ),
    (
        "ragged.csv",
        "transactions",
        InputFileError,
        ["ragged.csv is not a well-formed CSV file on line 3: 5 fields where the header has 6"],
    ),
    (
        "bad_event.csv",
        "events",
        DataQualityError,
        [
            "bad_event.csv (events): column 'event' has values other than view, cart, purchase at "
            "data line 3",
            "['wishlist']",
        ],
    ),
]


@pytest.mark.parametrize(
    ("name", "table", "exc", "parts"), BAD_CASES, ids=[c[0] for c in BAD_CASES]
)
def test_bad_files(name: str, table: str, exc: type[Exception], parts: list[str]) -> None:
    with pytest.raises(exc) as info:
        read_table(BAD / name, table=table)
    msg = str(info.value)
    for part in parts:
        assert part in msg, msg
    assert "\n" not in msg


def test_future_dates_need_max_ts() -> None:
    with pytest.raises(
        DataQualityError,
        match="timestamps after 2030-01-01 00:00:00 .* at data "
        "line 2 .*'2099-06-01 10:00:00'.*--allow-future",
    ):
        read_table(BAD / "future_dates.csv", max_ts="2030-01-01")
    assert len(read_table(BAD / "future_dates.csv")) == 2


def test_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="file not found: .*nope.csv"):
        read_table(tmp_path / "nope.csv")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputFileError, match="is a directory, not a file"):
        read_table(tmp_path)


def test_blank_lines_only(tmp_path: Path) -> None:
    (tmp_path / "blank.csv").write_text("\n\n  \n")
    with pytest.raises(InputFileError, match="blank.csv holds only blank lines"):
        read_table(tmp_path / "blank.csv")


def test_encodings_by_option() -> None:
    df = read_table(BAD / "latin1.csv", encoding="latin-1")
    assert df["description"].tolist() == ["Gift Voucher £10"]
    assert len(read_table(BAD / "utf16.csv", encoding="utf-16")) == 1
    with pytest.raises(ConfigError, match="unknown encoding 'klingon'"):
        read_table(BAD / "latin1.csv", encoding="klingon")


def test_cp1252_is_named(tmp_path: Path) -> None:
    p = tmp_path / "win.csv"
    p.write_bytes(
        "order_id,customer_id,sku,ts,quantity,price,description\n"
        "1,c,A,2011-01-01,1,2.5,€ off\n".encode("cp1252")
    )
    with pytest.raises(
        InputFileError, match="looks like Windows-1252 \\(cp1252\\).*--encoding cp1252"
    ):
        read_table(p)
    assert read_table(p, encoding="cp1252")["description"].tolist() == ["€ off"]


def test_bom_just_works() -> None:
    df = read_table(BAD / "bom.csv")
    assert list(df.columns[:2]) == ["order_id", "customer_id"]
    assert df["order_id"].tolist() == ["1"]


def test_semicolon_and_decimal_commas() -> None:
    df = read_table(BAD / "semicolon_delim.csv")
    assert df["price"].tolist() == [2.55, 1234.5]
    assert df["sku"].tolist() == ["A", "B"]


def test_leading_zero_ids_stay_strings() -> None:
    df = read_table(BAD / "leading_zero_ids.csv")
    assert df["order_id"].tolist() == ["00001", "00002"]
    assert df["customer_id"].tolist() == ["00042", "00043"]
    assert df["sku"].tolist() == ["0007", "0007"]


def test_tab_separated(tmp_path: Path) -> None:
    p = tmp_path / "x.tsv"
    p.write_text("order_id\tcustomer_id\tsku\tts\tquantity\tprice\n1\t\tA\t2011-01-01\t1\t2\n")
    df = read_table(p)
    assert df["customer_id"].isna().all() and df["price"].tolist() == [2.0]


# ------------------------------------------------------------------------- parquet


def test_truncated_parquet(tmp_path: Path) -> None:
    good = tmp_path / "good.parquet"
    pd.DataFrame(OR_ROW).to_parquet(good)
    bad = tmp_path / "truncated.parquet"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(
        InputFileError,
        match="truncated.parquet is not a readable Parquet file .*truncated or corrupt",
    ):
        read_table(bad)


def test_not_parquet_at_all(tmp_path: Path) -> None:
    p = tmp_path / "fake.parquet"
    p.write_text("order_id,sku\n1,A\n")
    with pytest.raises(InputFileError, match="fake.parquet is not a readable Parquet file"):
        read_table(p)


def test_wrong_schema_parquet(tmp_path: Path) -> None:
    p = tmp_path / "wrong_schema.parquet"
    pd.DataFrame(
        {"user_id": [1], "item_id": [2], "rating": [5], "timestamp": [881250949]}
    ).to_parquet(p)
    with pytest.raises(
        SchemaError,
        match="wrong_schema.parquet \\(transactions\\) is missing "
        "required column\\(s\\) 'order_id'",
    ):
        read_table(p)


def test_wrong_types_parquet(tmp_path: Path) -> None:
    p = tmp_path / "types.parquet"
    df = validate_table(
        pd.DataFrame(
            {
                k: v[:1]
                for k, v in {
                    "order_id": ["1"],
                    "customer_id": ["c"],
                    "sku": ["A"],
                    "ts": ["2011-01-01"],
                    "quantity": [1],
                    "price": [1.0],
                }.items()
            }
        ),
        "transactions",
    )
    df["ts"] = True
    df.to_parquet(p)
    with pytest.raises(SchemaError, match="column 'ts' holds numbers \\(bool\\), not dates"):
        read_table(p)


def test_nested_parquet_column(tmp_path: Path) -> None:
    p = tmp_path / "nested.parquet"
    table = pa.table(
        {
            "order_id": ["1"],
            "customer_id": ["c"],
            "sku": [["A", "B"]],
            "ts": [pd.Timestamp("2011-01-01")],
            "quantity": [1.0],
            "price": [1.0],
        }
    )
    pq.write_table(table, p)
    with pytest.raises(
        InputFileError,
        match="nested.parquet: Parquet column\\(s\\) \\['sku'\\] hold nested or binary values",
    ):
        read_table(p)


def test_parquet_directory(tmp_path: Path) -> None:
    d = tmp_path / "parts"
    d.mkdir()
    full = pd.DataFrame(OR_ROW)
    full.iloc[:2].to_parquet(d / "part-0.parquet")
    full.iloc[2:].to_parquet(d / "part-1.parquet")
    assert len(read_table(d)) == 3
    full.iloc[:1].drop(columns="Country").to_parquet(d / "part-2.parquet")
    with pytest.raises(InputFileError, match="part-2.parquet has a different schema"):
        read_table(d)


# --------------------------------------------------------------------------- excel


def test_excel(tmp_path: Path) -> None:
    p = tmp_path / "orders.xlsx"
    with pd.ExcelWriter(p) as xw:
        pd.DataFrame({"x": [1]}).to_excel(xw, sheet_name="notes", index=False)
        pd.DataFrame(OR_ROW).to_excel(xw, sheet_name="Year 2010", index=False)
    df = read_table(p, sheet="Year 2010")
    assert df["customer_id"].tolist()[:2] == ["17850", "17850"]
    assert df["order_id"].tolist() == ["536365", "536365", "C536379"]
    assert read_table(p, sheet=1)["ts"].iloc[0] == pd.Timestamp("2010-12-01 08:26")
    with pytest.raises(
        InputFileError, match="has no sheet 'Year 2011'; its sheets are \\['notes', 'Year 2010'\\]"
    ):
        read_table(p, sheet="Year 2011")


def test_corrupt_excel(tmp_path: Path) -> None:
    p = tmp_path / "broken.xlsx"
    p.write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    with pytest.raises(InputFileError, match="broken.xlsx is not a readable Excel workbook"):
        read_table(p)


# ------------------------------------------------------------------------- formats


def test_online_retail_both_spellings(tmp_path: Path) -> None:
    one = pd.DataFrame(OR_ROW)
    two = one.rename(
        columns={"InvoiceNo": "Invoice", "UnitPrice": "Price", "CustomerID": "Customer ID"}
    )
    assert detect_format(list(one.columns)) == "online-retail"
    assert detect_format(list(two.columns)) == "online-retail"
    a = to_canonical(one)
    for fmt in ("auto", "online-retail", "online-retail-ii"):
        pd.testing.assert_frame_equal(to_canonical(two, format=fmt), a)
    assert list(a.columns) == [
        "order_id",
        "customer_id",
        "sku",
        "ts",
        "quantity",
        "price",
        "region",
        "description",
        "return_of",
    ]
    assert a["region"].tolist()[0] == "United Kingdom"
    assert a["customer_id"].isna().tolist() == [False, False, True]


def test_online_retail_csv_export(tmp_path: Path) -> None:
    p = tmp_path / "Online Retail.csv"
    raw = pd.DataFrame(OR_ROW)
    raw["InvoiceDate"] = ["12/1/2010 8:26", "12/1/2010 8:26", "12/1/2010 9:41"]
    raw.to_csv(p, index=False)
    df = read_table(p)
    assert df["ts"].tolist()[2] == pd.Timestamp("2010-12-01 09:41")
    assert df["customer_id"].tolist()[0] == "17850"


def test_cdnow_parquet_and_text(tmp_path: Path) -> None:
    raw = pd.DataFrame(
        {
            "customer_id": ["00001", "00002", "00002", "00003"],
            "date": [
                pd.Timestamp(d).date()
                for d in ["1997-01-01", "1997-01-12", "1997-01-12", "1997-01-02"]
            ],
            "number_of_cds": [1, 1, 5, 0],
            "dollar_value": [11.77, 12.0, 77.0, 0.0],
        }
    )
    raw.to_parquet(tmp_path / "cdnow.parquet")
    df = read_table(tmp_path / "cdnow.parquet")
    assert df["order_id"].tolist() == ["00001-19970101", "00002-19970112", "00003-19970102"]
    assert df["sku"].unique().tolist() == ["CD"]
    assert df["quantity"].tolist() == [1.0, 6.0, 0.0]
    assert df["price"].tolist() == pytest.approx([11.77, 89.0 / 6, 0.0])
    text = (
        "00001 19970101  1  11.77\n00002 19970112  1  12.00\n00002 19970112  5  77.00\n"
        "00003 19970102  0   0.00\n"
    )
    (tmp_path / "CDNOW_master.txt").write_text(text)
    pd.testing.assert_frame_equal(read_table(tmp_path / "CDNOW_master.txt"), df)
    (tmp_path / "with_header.txt").write_text(
        "customer_id date n_cds dollars\r\n" + text.replace("\n", "\r\n")
    )
    pd.testing.assert_frame_equal(read_table(tmp_path / "with_header.txt", format="cdnow"), df)
    with pytest.raises(ConfigError, match="headerless CDNOW whitespace file"):
        read_table(tmp_path / "CDNOW_master.txt", format="online-retail")


def test_format_only_for_transactions() -> None:
    with pytest.raises(ConfigError, match="format 'cdnow' describes transactions"):
        read_table(BAD / "dup_catalog.csv", table="catalog", format="cdnow")
    with pytest.raises(
        ConfigError, match="unknown format 'online-retial' \\(did you mean 'online-retail'\\?\\)"
    ):
        read_table(BAD / "bom.csv", format="online_retial")


def test_format_names_accept_underscores() -> None:
    with pytest.raises(ConfigError, match="format 'online-retail' describes transactions"):
        read_table(BAD / "dup_catalog.csv", table="catalog", format="Online_Retail")


# ------------------------------------------------------------------------- mapping


def test_mapping_dict_and_yaml(tmp_path: Path) -> None:
    p = tmp_path / "shop.csv"
    p.write_text(
        "Order,Client,Product,When,Units,Unit Price,Shop\nA1,007,P1,2011-01-01 10:00,2,3.5,web\n"
    )
    mapping = {
        "Order": "order_id",
        "Client": "customer_id",
        "Product": "sku",
        "When": "ts",
        "Units": "quantity",
        "Unit Price": "price",
        "Shop": "channel",
    }
    df = read_table(p, mapping=mapping)
    assert df.iloc[0][["order_id", "customer_id", "channel"]].tolist() == ["A1", "007", "web"]
    y = tmp_path / "map.yaml"
    y.write_text("columns:\n" + "".join(f"  {k}: {v}\n" for k, v in mapping.items()))
    assert load_mapping(y) == mapping
    pd.testing.assert_frame_equal(read_table(p, mapping=load_mapping(y)), df)


def test_mapping_errors(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match="'ordr_id' is not a column of the canonical transactions "
        "table \\(did you mean 'order_id'\\?\\)",
    ):
        read_table(BAD / "misspelled_column.csv", mapping={"InvoceNo": "ordr_id"})
    with pytest.raises(
        SchemaError,
        match="mapping InvoiceNo=order_id names column 'InvoiceNo', "
        "which is not in the file \\(did you mean 'InvoceNo'\\?\\)",
    ):
        read_table(BAD / "misspelled_column.csv", mapping={"InvoiceNo": "order_id"})
    df = read_table(BAD / "misspelled_column.csv", mapping={"InvoceNo": "order_id"})
    assert df["order_id"].tolist() == ["536365"]
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    with pytest.raises(InputFileError, match="bad.yaml is not valid YAML"):
        load_mapping(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must hold a mapping of source column"):
        load_mapping(tmp_path / "list.yaml")


# ----------------------------------------------------------------- typed wrappers


def test_read_transactions_events_catalog(tmp_path: Path) -> None:
    df, report = read_transactions(BAD / "leading_zero_ids.csv")
    assert report.rows_in == 2 and report.rule("duplicates").rows == 0
    _, raw_report = read_transactions(BAD / "leading_zero_ids.csv", clean=False)
    assert raw_report.rules == ()
    p = tmp_path / "events.csv"
    p.write_text(
        "customer_id,sku,ts,event\n1,A,2011-01-01 10:00,view\n1,A,2011-01-01 10:00,view\n"
        "1,A,2011-01-01 10:05,cart\n"
    )
    events, ev_report = read_events(p)
    assert len(events) == 2 and ev_report.rule("duplicates").rows == 1
    p = tmp_path / "catalog.csv"
    p.write_text("sku,category,price,active\nA,mugs,2.5,yes\nB,,3,no\n")
    cat = read_catalog(p)
    assert cat["active"].tolist() == [True, False] and cat["category"].isna().tolist() == [
        False,
        True,
    ]


# ---------------------------------------------------------------- property tests

_id = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=8)
_text = st.text(
    alphabet=string.ascii_letters + string.digits + ' ,;"£é', min_size=1, max_size=12
).filter(lambda s: s == s.strip() and s.lower() not in ("nan", "na"))


@st.composite
def canonical_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 8))
    col = lambda strat: draw(st.lists(strat, min_size=n, max_size=n))  # noqa: E731
    ts = col(
        st.datetimes(
            min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
            max_value=pd.Timestamp("2030-01-01").to_pydatetime(),
        )
    )
    frame = pd.DataFrame(
        {
            # unique per row: one order belongs to one customer (validate_table checks it)
            "order_id": [f"{i}{x}" for i, x in enumerate(col(_id))],
            "customer_id": col(st.one_of(st.none(), _id)),
            "sku": col(_id),
            "ts": ts,
            "quantity": col(st.floats(-1e6, 1e6, allow_nan=False)),
            "price": col(st.floats(0, 1e5, allow_nan=False)),
        }
    )
    if draw(st.booleans()):
        frame["description"] = col(st.one_of(st.none(), _text))
        frame["channel"] = col(_id)
    return validate_table(frame, "transactions")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frame=canonical_frames())
def test_round_trip_csv_and_parquet(frame: pd.DataFrame, tmp_path: Path) -> None:
    frame.to_csv(tmp_path / "t.csv", index=False)
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.csv"), frame)
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.parquet"), frame)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    blob=st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(lambda s: s.encode("utf-8")),
        st.lists(st.text(alphabet=string.printable, max_size=10), max_size=30).map(
            lambda xs: ("order_id,customer_id,sku,ts,quantity,price\n" + "\n".join(xs)).encode()
        ),
    ),
    suffix=st.sampled_from([".csv", ".parquet", ".xlsx", ".txt"]),
)
def test_garbage_files_raise_ecomml_errors(blob: bytes, suffix: str, tmp_path: Path) -> None:
    p = tmp_path / f"garbage{suffix}"
    p.write_bytes(blob)
    try:
        read_table(p)
    except EcommlError:
        pass


# --------------------------------------------------------------------- real data


@pytest.mark.slow
@needs_shared
def test_real_online_retail() -> None:
    start = time.perf_counter()
    df = read_table(SHARED / "online_retail" / "online_retail.parquet")
    elapsed = time.perf_counter() - start
    assert len(df) == 541_909
    assert df["ts"].min() == pd.Timestamp("2010-12-01 08:26")
    assert df["ts"].max() == pd.Timestamp("2011-12-09 12:50")
    assert df["order_id"].nunique() == 25_900
    # SOURCES.md's "9,288 start with C" counts rows; they form 3,836 cancellation invoices.
    cancel = df["order_id"].str.startswith("C").to_numpy(bool)
    assert cancel.sum() == 9_288
    assert df.loc[cancel, "order_id"].nunique() == 3_836
    assert df["sku"].nunique() == 4_070
    assert df["customer_id"].nunique() == 4_372
    assert df["customer_id"].isna().sum() == 135_080
    assert "17850" in set(df["customer_id"].dropna())
    assert df["region"].nunique() == 38
    assert (df["quantity"] < 0).sum() == 10_624
    assert df["quantity"].sum() == 5_176_450
    assert df["price"].sum() == pytest.approx(2_498_803.97)
    assert elapsed < 30, f"reading took {elapsed:.1f} s"


@pytest.mark.slow
@needs_shared
def test_real_online_retail_ii() -> None:
    df = read_table(
        SHARED / "online_retail_ii" / "online_retail_ii_year_2009_2010.parquet",
        format="online-retail-ii",
    )
    assert len(df) == 525_461
    assert df["ts"].min() == pd.Timestamp("2009-12-01 07:45")
    assert df["ts"].max() == pd.Timestamp("2010-12-09 20:01")
    assert df["order_id"].nunique() == 28_816
    assert df["order_id"].str.startswith("C").sum() == 10_206
    assert df["sku"].nunique() == 4_631  # 4,632 raw codes; ids are stripped: "47503J " == "47503J"
    assert df["customer_id"].nunique() == 4_383
    assert df["region"].nunique() == 40
    assert (df["quantity"] < 0).sum() == 12_326
    assert df["quantity"].sum() == 5_432_041
    assert (df["price"] == 0).sum() == 3_687


@pytest.mark.slow
@needs_shared
def test_real_cdnow() -> None:
    path = SHARED / "cdnow" / "cdnow_master.parquet"
    raw = pd.read_parquet(path)
    df = read_table(path)
    assert len(raw) == 69_659
    assert len(df) == 67_591  # one order per customer and day
    assert df["customer_id"].nunique() == 23_570
    assert df["customer_id"].str.len().eq(5).all() and "00001" in set(df["customer_id"])
    assert df["ts"].min() == pd.Timestamp("1997-01-01")
    assert df["ts"].max() == pd.Timestamp("1998-06-30")
    assert df["quantity"].sum() == raw["number_of_cds"].sum()
    assert (df["quantity"] * df["price"]).sum() == pytest.approx(raw["dollar_value"].sum())
    assert df["order_id"].is_unique


def test_to_canonical_needs_a_frame() -> None:
    with pytest.raises(SchemaError, match="must be a pandas DataFrame, got dict"):
        to_canonical({"order_id": [1]})  # type: ignore[arg-type]


def test_unused_nested_parquet_column_is_dropped(tmp_path: Path) -> None:
    p = tmp_path / "extra_nested.parquet"
    table = pa.table(
        {
            "order_id": ["1"],
            "customer_id": ["c"],
            "sku": ["A"],
            "ts": [pd.Timestamp("2011-01-01")],
            "quantity": [1.0],
            "price": [1.0],
            "tags": [["x", "y"]],
        }
    )
    pq.write_table(table, p)
    assert list(read_table(p).columns[:3]) == ["order_id", "customer_id", "sku"]


def test_cdnow_missing_columns_suggest_a_rename(tmp_path: Path) -> None:
    p = tmp_path / "cd.csv"
    p.write_text("cust,day,cds,dollars\n00001,19970101,1,11.77\n")
    with pytest.raises(
        SchemaError,
        match=r"CDNOW master file but has no column .*'date'.*"
        r"Rename 'cust' to 'customer_id'",
    ):
        read_table(p, format="cdnow")
