"""Write the generated files of the bad-input corpus (run from anywhere; idempotent).

Most corpus files are short text files written by hand. This script writes the ones
that are easier to describe as code (binary formats, encodings, Parquet, Excel) and
is kept so they can be regenerated or extended. ``cases.yaml`` pairs every file with
what ecomml does with it. The 10-million-character field is generated at test time
(see ``tests/reliability/test_bad_inputs.py``), not committed.

Usage: ``python tests/data/bad/make_corpus.py``
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
HEADER = "order_id,customer_id,sku,ts,quantity,price\n"
ROWS = "1,c1,A,2011-01-01 10:00,2,2.5\n2,c2,B,2011-01-02 11:00,1,1.0\n"


def _text(name: str, text: str, encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes(text.encode(encoding))


def _tx_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": ["1", "2", "3"],
            "customer_id": ["c1", "c2", "c1"],
            "sku": ["A", "B", "A"],
            "ts": pd.to_datetime(["2011-01-01 10:00", "2011-01-02 11:00", "2011-01-03 09:00"]),
            "quantity": [2.0, 1.0, 3.0],
            "price": [2.5, 1.0, 2.5],
        }
    )


def text_files() -> None:
    _text("cp1252.csv", HEADER.strip() + ",description\n1,c1,A,2011-01-01 10:00,2,2.5,Mug €5\n",
          "cp1252")  # fmt: skip
    _text("utf16_be.csv", HEADER + ROWS, "utf-16-be")
    _text("comma_header_semicolon_rows.csv", HEADER + ROWS.replace(",", ";"))
    _text("pipe_delim.txt", (HEADER + ROWS).replace(",", "|"))
    _text("tab_delim.tsv", (HEADER + ROWS).replace(",", "\t"))
    _text(
        "out_of_range_dates.csv",
        HEADER + "1,c1,A,2011-01-01 10:00,2,2.5\n2,c1,B,2300-01-01 10:00,1,1.0\n"
        "3,c2,A,1500-06-01,1,1.0\n",
    )
    _text(
        "mixed_offsets.csv",
        HEADER + "1,c1,A,2011-01-01T10:00:00+01:00,2,2.5\n2,c1,B,2011-01-01T11:00:00+02:00,1,1.0\n",
    )
    _text("dup_rows.csv", HEADER + ROWS + "2,c2,B,2011-01-02 11:00,1,1.0\n")
    _text(
        "dup_order_keys.csv",
        HEADER + "1,c1,A,2011-01-01 10:00,2,2.5\n1,c2,B,2011-01-01 10:00,1,1.0\n",
    )
    _text(
        "dup_calendar.csv",
        "date,event,is_promo\n2011-11-25,black_friday,true\n2011-11-25,black_friday,false\n",
    )
    _text(
        "numeric_ids.csv",
        HEADER + "000123,00123,0000123,2011-01-01 10:00,2,2.5\n"
        "1e5,00124,1.50,2011-01-02 11:00,1,1.0\n",
    )
    _text("json_as.csv", '[{"order_id": 1, "customer_id": "c1", "sku": "A"}]\n')
    _text("neg_qty_no_sale.csv", HEADER + "C9,c1,Z,2011-01-05 10:00,-2,2.5\n" + ROWS)
    _text(
        "unknown_event.csv",
        "customer_id,sku,ts,event\nc1,A,2011-01-01 10:00,view\nc1,A,2011-01-01 10:05,like\n",
    )
    _text(
        "calendar_bad_bool.csv",
        "date,event,is_promo\n2011-11-25,black_friday,true\n2011-12-26,boxing_day,maybe\n",
    )
    _text(
        "catalog_bad_active.csv",
        "sku,category,price,cost,active\nA,mugs,2.5,1.0,yes\nB,mugs,3.0,1.2,discontinued\n",
    )
    _text("catalog_missing_price.csv", "sku,category,cost\nA,mugs,1.0\n")
    _text("map_absent.yaml", "InvoiceNumber: order_id\nClient: customer_id\n")
    _text("map_bad_target.yaml", "order_id: invoice\n")
    _text("events_as_transactions.csv",
          "customer_id,sku,ts,event\nc1,A,2011-01-01 10:00,view\nc2,B,2011-01-02 10:00,cart\n")  # fmt: skip
    _text("price_currency.csv", HEADER + "1,c1,A,2011-01-01 10:00,2,£2.55\n2,c2,B,2011-01-02 11:00,1,$1\n")  # fmt: skip
    _text("missing_sku.csv", HEADER + "1,c1,,2011-01-01 10:00,2,2.5\n2,c2,B,2011-01-02 11:00,1,1.0\n")  # fmt: skip
    _text("missing_customer.csv", HEADER + "1,,A,2011-01-01 10:00,2,2.5\n2,c2,B,2011-01-02 11:00,1,1.0\n")  # fmt: skip
    _text("dup_header.csv", "order_id,customer_id,sku,ts,quantity,price,price\n1,c1,A,2011-01-01,2,2.5,2.5\n")  # fmt: skip
    _text("blank_lines.csv", "\n\n   \n\n")
    _text("unterminated_quote.csv", HEADER + '1,c1,A,2011-01-01 10:00,2,2.5\n2,c2,"B,2011-01-02 11:00,1,1.0\n')  # fmt: skip
    _text("quoted_newline.csv", HEADER.strip() + ',description\n1,c1,A,2011-01-01 10:00,2,2.5,"Mug,\nblue"\n')  # fmt: skip
    _text("cdnow_broken.txt", "00001 19970101 1 11.77\n00002 19970112 1 12.00\n00003 1997-01-12 x 5.00\n")  # fmt: skip
    _text("zero_and_free.csv", HEADER + "1,c1,A,2011-01-01 10:00,0,2.5\n2,c2,B,2011-01-02 11:00,1,0\n3,c2,A,2011-01-03 11:00,1,2.5\n")  # fmt: skip
    _text("unix_ts.csv", HEADER + "1,c1,A,1293876000,2,2.5\n")
    _text("events_missing_customer.csv", "customer_id,sku,ts,event\n,A,2011-01-01 10:00,view\n")
    _text("no_header.csv", "536365,17850,85123A,2010-12-01 08:26:00,6,2.55\n"
          "536366,17850,71053,2010-12-01 08:28:00,6,3.39\n")  # fmt: skip
    # side inputs: a forecast, on-hand stock, a customer list, boosts
    _text("forecasts_missing_mean.csv", "sku,ds,q50\nSKU000001,2023-09-25,1.0\n")
    _text("on_hand_text.csv", "sku,on_hand\nSKU000001,5\nSKU000002,lots\n")
    _text("boost_text.csv", "sku,boost\nSKU000001,1.5\nSKU000002,high\n")
    _text("customers_no_id.csv", "client\nC00000001\n")


def binary_files() -> None:
    # a gzip-compressed CSV named .csv, and a plain CSV named .csv.gz
    (HERE / "gzipped.csv").write_bytes(gzip.compress((HEADER + ROWS).encode(), mtime=0))
    (HERE / "not_gzip.csv.gz").write_bytes((HEADER + ROWS).encode())
    whole = gzip.compress((HEADER + ROWS * 40).encode(), mtime=0)
    (HERE / "truncated.csv.gz").write_bytes(whole[: len(whole) // 2])
    # random-looking binary data (deterministic) named .csv
    blob = bytes((i * 131 + 7) % 256 for i in range(600))
    (HERE / "garbage.csv").write_bytes(blob)
    # Parquet: wrong schema (Unix seconds in ts, quantity as text), missing columns,
    # truncated, nested
    tx = _tx_frame()
    wrong = tx.assign(ts=tx["ts"].astype("int64") // 10**9)
    wrong.to_parquet(HERE / "wrong_schema.parquet", index=False)
    tx.drop(columns=["price", "sku"]).to_parquet(HERE / "missing_columns.parquet", index=False)
    buf = io.BytesIO()
    tx.to_parquet(buf, index=False)
    (HERE / "truncated.parquet").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    nested = pa.table(
        {
            "order_id": ["1"],
            "customer_id": ["c1"],
            "sku": pa.array([["A", "B"]]),
            "ts": pa.array([pd.Timestamp("2011-01-01")]),
            "quantity": [1.0],
            "price": [2.5],
        }
    )
    pq.write_table(nested, HERE / "nested.parquet")
    # Parquet with text in quantity
    tx.astype({"quantity": "string"}).assign(quantity=["2", "two", "3"]).to_parquet(
        HERE / "text_quantity.parquet", index=False
    )
    # Excel: data on the second sheet, a cover sheet first; a truncated workbook
    with pd.ExcelWriter(HERE / "wrong_sheet.xlsx") as xw:
        pd.DataFrame({"Report": ["Monthly export", "Generated by ERP"]}).to_excel(
            xw, sheet_name="Cover", index=False
        )
        tx.to_excel(xw, sheet_name="Orders", index=False)
    whole = (HERE / "wrong_sheet.xlsx").read_bytes()
    (HERE / "truncated.xlsx").write_bytes(whole[: len(whole) // 2])
    # a directory named like a file
    d = HERE / "directory.csv"
    d.mkdir(exist_ok=True)
    (d / "README.txt").write_text("A folder where a transactions file was expected.\n")


if __name__ == "__main__":
    text_files()
    binary_files()
