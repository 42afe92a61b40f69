"""Cleaning rules on hand-made frames (exact counts) and on the real Online Retail file."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from ecomml.data import CleaningPolicy, clean_events, clean_transactions, read_table, validate_table

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"real benchmark data not found at {SHARED.resolve()}"
)

COLS = ["order_id", "customer_id", "sku", "ts", "quantity", "price", "description"]


def _frame(rows: list[tuple]) -> pd.DataFrame:
    return validate_table(pd.DataFrame(rows, columns=COLS), "transactions")


def _counts(report) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {r.rule: r.rows for r in report.rules}


def test_duplicates_dropped() -> None:
    row = ("1", "c1", "P1", "2011-01-01 10:00", 2, 1.5, "MUG")
    out, rep = clean_transactions(
        _frame([row, row, row, ("2", "c1", "P1", "2011-01-02", 1, 1.5, "MUG")])
    )
    assert len(out) == 2
    assert rep.rule("duplicates").rows == 2 and rep.rule("duplicates").units == 4.0
    assert rep.rows_in == 4 and rep.rows_out == 2 and rep.rows_dropped == 2


def test_sku_case_merged() -> None:
    out, rep = clean_transactions(
        _frame(
            [
                ("1", "c1", "47566b", "2011-01-01", 1, 1.0, "FLAG"),
                ("2", "c1", "47566B", "2011-01-02", 1, 1.0, "FLAG"),
            ]
        )
    )
    assert out["sku"].tolist() == ["47566B", "47566B"]
    assert rep.rule("sku_case").rows == 1 and rep.rule("sku_case").action == "changed"


def test_non_product_codes_and_descriptions() -> None:
    rows = [
        ("1", "c1", "POST", "2011-01-01", 1, 18.0, "POSTAGE"),
        ("1", "c1", "DOT", "2011-01-01", 1, 5.0, "DOTCOM POSTAGE"),
        ("1", "c1", "23444", "2011-01-01", 1, 15.0, "Next Day Carriage"),
        ("1", "c1", "gift_0001_20", "2011-01-01", 1, 17.0, "Dotcomgiftshop Gift Voucher £20.00"),
        ("1", "c1", "22016", "2011-01-01", 1, 83.0, "Dotcomgiftshop Gift Voucher £100.00"),
        ("1", "c1", "AMAZONFEE", "2011-01-01", 1, 1.0, "AMAZON FEE"),
        ("1", "c1", "BANK CHARGES", "2011-01-01", 1, 15.0, "Bank Charges"),
        ("1", "c1", "23099", "2011-01-01", 2, 4.0, "FRENCH CARRIAGE LANTERN"),  # a product
        ("1", "c1", "85168B", "2011-01-01", 1, 4.0, "BLACK BAROQUE CARRIAGE CLOCK"),  # a product
        ("1", "c1", "85123A", "2011-01-01", 6, 2.55, "WHITE HANGING HEART"),
    ]
    out, rep = clean_transactions(_frame(rows))
    assert out["sku"].tolist() == ["23099", "85168B", "85123A"]
    assert rep.rule("non_product").rows == 7
    assert {code for code, *_ in rep.top_non_product} == {
        "POST",
        "DOT",
        "23444",
        "GIFT_0001_20",
        "22016",
        "AMAZONFEE",
        "BANK CHARGES",
    }


def test_non_product_lists_are_policy() -> None:
    rows = [
        ("1", "c1", "POST", "2011-01-01", 1, 18.0, "POSTAGE"),
        ("1", "c1", "WRAP", "2011-01-01", 1, 1.0, "gift wrap"),
    ]
    policy = CleaningPolicy(non_product_codes=("WRAP",), non_product_descriptions=())
    out, rep = clean_transactions(_frame(rows), policy)
    assert out["sku"].tolist() == ["POST"] and rep.rule("non_product").rows == 1


def test_bad_debt_zero_price_and_write_offs() -> None:
    rows = [
        ("A563185", None, "B", "2011-08-12 14:50", 1, 11062.06, "Adjust bad debt"),
        ("536414", None, "22139", "2010-12-01 11:52", 56, 0.0, None),  # free line: dropped
        ("536415", "c1", "22139", "2010-12-01 11:53", -10, 0.0, "damaged"),  # write-off
        ("C536416", "c1", "22139", "2010-12-01 11:54", -1, 0.0, "refund"),  # a return: kept
        ("536417", "c1", "22139", "2010-12-01 11:55", 0, 2.0, "PAPER"),  # zero quantity
        ("536418", "c1", "22139", "2010-12-01 11:56", 3, 2.0, "PAPER"),
    ]
    out, rep = clean_transactions(_frame(rows))
    c = _counts(rep)
    assert (c["bad_debt"], c["non_positive_price"], c["stock_adjustment"], c["zero_quantity"]) == (
        1,
        1,
        1,
        1,
    )
    assert out["order_id"].tolist() == ["C536416", "536418"]
    assert rep.rule("stock_adjustment").units == 10.0


def test_without_cancel_prefix_every_negative_is_a_return() -> None:
    rows = [
        ("1", "c1", "P", "2011-01-01", 2, 1.0, "X"),
        ("2", "c1", "P", "2011-01-05", -1, 0.0, "X"),
    ]
    out, rep = clean_transactions(_frame(rows), CleaningPolicy(cancel_prefix=None))
    assert len(out) == 2 and "stock_adjustment" not in _counts(rep)


def test_reversed_orders_dropped_in_pairs() -> None:
    rows = [
        # the Online Retail 74,215-unit order, cancelled 16 minutes later
        ("541431", "12346", "23166", "2011-01-18 10:01", 74215, 1.04, "MUG"),
        ("C541433", "12346", "23166", "2011-01-18 10:17", -74215, 1.04, "MUG"),
        # two identical sales, one cancellation: only one pair goes
        ("600", "c2", "P", "2011-02-01 09:00", 3, 2.0, "X"),
        ("601", "c2", "P", "2011-02-01 09:30", 3, 2.0, "X"),
        ("C602", "c2", "P", "2011-02-01 10:00", -3, 2.0, "X"),
        # cancelled after the window: a return, linked to its sale
        ("700", "c3", "P", "2011-03-01 09:00", 5, 2.0, "X"),
        ("C701", "c3", "P", "2011-03-05 09:00", -5, 2.0, "X"),
        # different price: not a reversal, and no sale to link to
        ("800", "c4", "P", "2011-04-01 09:00", 5, 2.0, "X"),
        ("C801", "c4", "P", "2011-04-01 09:10", -5, 2.5, "X"),
        # missing customer: cannot be matched
        ("900", None, "P", "2011-05-01 09:00", 1, 2.0, "X"),
        ("C901", None, "P", "2011-05-01 09:01", -1, 2.0, "X"),
    ]
    out, rep = clean_transactions(_frame(rows))
    c = _counts(rep)
    assert c["reversed_orders"] == 4
    assert rep.rule("reversed_orders").units == 2 * 74215 + 6
    assert "541431" not in set(out["order_id"]) and "C541433" not in set(out["order_id"])
    assert out["order_id"].tolist() == ["600", "700", "C701", "800", "C801", "900", "C901"]
    assert c["returns_linked"] == 1 and c["returns_unmatched"] == 2
    assert out.set_index("order_id").loc["C701", "return_of"] == "700"
    assert out["return_of"].notna().sum() == 1
    assert c["missing_customer"] == 2


def test_reversal_window_is_a_parameter() -> None:
    rows = [
        ("700", "c3", "P", "2011-03-01 09:00", 5, 2.0, "X"),
        ("C701", "c3", "P", "2011-03-05 09:00", -5, 2.0, "X"),
    ]
    out, rep = clean_transactions(_frame(rows), CleaningPolicy(reversal_window=timedelta(days=7)))
    assert out.empty and rep.rule("reversed_orders").rows == 2
    out, rep = clean_transactions(_frame(rows), CleaningPolicy(reversal_window=None))
    assert len(out) == 2 and "reversed_orders" not in _counts(rep)


def test_partial_return_links_to_latest_earlier_sale() -> None:
    rows = [
        ("1", "c", "P", "2011-01-01", 10, 2.0, "X"),
        ("2", "c", "P", "2011-01-10", 4, 2.0, "X"),
        ("C3", "c", "P", "2011-01-20", -2, 2.0, "X"),
        ("C4", "c", "P", "2010-12-01", -1, 2.0, "X"),
    ]
    out, rep = clean_transactions(_frame(rows))
    links = out.set_index("order_id")["return_of"].fillna("-").to_dict()
    assert links == {"1": "-", "2": "-", "C3": "2", "C4": "-"}
    assert rep.rule("returns_linked").rows == 1 and rep.rule("returns_unmatched").rows == 1


def test_report_exports_and_prints() -> None:
    rows = [("1", "c1", "P", "2011-01-01", 2, 1.0, "X")] * 2
    _, rep = clean_transactions(_frame(rows))
    frame = rep.to_frame()
    assert list(frame.columns) == ["rule", "action", "rows", "units", "description"]
    assert frame.set_index("rule").loc["duplicates", "rows"] == 1
    d = json.loads(json.dumps(rep.to_dict()))
    assert (
        d["rows_in"] == 2
        and d["rows_out"] == 1
        and d["params"]["reversal_window"] == "1 days 00:00:00"
    )
    console = Console(record=True, width=120)
    console.print(rep)
    text = console.export_text()
    assert "duplicates" in text and "2 rows in, 1 out" in text


def test_dropped_rows_add_up() -> None:
    rng = np.random.default_rng(0)
    n = 400
    customers = [None if rng.random() < 0.1 else f"c{rng.integers(0, 5)}" for _ in range(n)]
    frame = _frame(
        [
            (
                # an order belongs to one customer (validate_table checks it)
                f"{cust or 'guest'}-{rng.integers(0, 12)}",
                cust,
                str(rng.choice(["P1", "p1", "POST", "P2"])),
                f"2011-01-{rng.integers(1, 28):02d}",
                float(rng.choice([-2, -1, 0, 1, 2])),
                float(rng.choice([0.0, 1.0, 2.0])),
                "X",
            )
            for cust in customers
        ]
    )
    out, rep = clean_transactions(frame)
    dropped = sum(r.rows for r in rep.rules if r.action == "dropped")
    assert rep.rows_in - dropped == rep.rows_out == len(out)
    assert (out["quantity"] != 0).all() and (out.loc[out["quantity"] > 0, "price"] > 0).all()


def test_clean_events_drops_exact_duplicates() -> None:
    ev = validate_table(
        pd.DataFrame(
            {
                "customer_id": ["1", "1", "1"],
                "sku": ["A", "A", "A"],
                "ts": ["2011-01-01 10:00"] * 3,
                "event": ["view", "view", "cart"],
            }
        ),
        "events",
    )
    out, rep = clean_events(ev)
    assert len(out) == 2 and rep.rule("duplicates").rows == 1 and rep.table == "events"


@pytest.mark.slow
@needs_shared
def test_real_online_retail_cleaning() -> None:
    df = read_table(SHARED / "online_retail" / "online_retail.parquet")
    out, rep = clean_transactions(df)
    c = _counts(rep)
    assert c["duplicates"] == 5_268  # SOURCES.md: 5,268 exact duplicate rows
    assert c["bad_debt"] == 3
    assert c["non_product"] == 3_057
    assert c["stock_adjustment"] == 1_322
    assert c["non_positive_price"] == 1_135
    assert c["reversed_orders"] == 1_266
    assert rep.rows_out == len(out) == 529_858
    codes = {code for code, *_ in rep.top_non_product}
    assert {"POST", "DOT", "M", "C2", "23444"} <= codes
    # the two huge orders cancelled minutes later are gone, with their cancellations
    for oid in ("541431", "C541433", "581483", "C581484"):
        assert oid not in set(out["order_id"])
    assert out["quantity"].max() < 10_000
    assert (out["quantity"] < 0).sum() == c["returns_linked"] + c["returns_unmatched"]
