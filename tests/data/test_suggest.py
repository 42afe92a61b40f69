"""A missing column's --map suggestion comes from what the file's columns hold, not only
from how they are spelled."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ecomml.cli.main import app
from ecomml.data import read_table
from ecomml.data.suggest import suggest_mapping
from ecomml.exceptions import SchemaError

REQUIRED = ["order_id", "customer_id", "sku", "ts", "quantity", "price"]


@pytest.mark.parametrize(
    ("frame", "want"),
    [
        (
            pd.DataFrame({"OrderNumber": ["A1", "A1", "A2"], "Customer": ["c1", "c1", "c2"],
                          "ProductCode": ["p1", "p2", "p1"], "OrderDate": ["2024-03-01"] * 3,
                          "Qty": ["2", "1", "1"], "UnitPrice": ["9.5", "3.5", "9.5"]}),
            {"order_id": "OrderNumber", "customer_id": "Customer", "sku": "ProductCode",
             "ts": "OrderDate", "quantity": "Qty", "price": "UnitPrice"},
        ),
        (  # numeric invoice numbers are ids, not quantities; 'Amount' with cents is a price
            pd.DataFrame({"Invoice": ["1", "1", "2"], "Date": ["01/04/2024"] * 3,
                          "Item": ["a", "b", "a"], "Cust": ["x", "x", "y"], "n": ["1", "2", "1"],
                          "Amount": ["2.5", "3", "4.25"]}),
            {"order_id": "Invoice", "customer_id": "Cust", "sku": "Item", "ts": "Date",
             "quantity": "n", "price": "Amount"},
        ),
        (  # a shop in China
            pd.DataFrame({"订单号": ["1", "1", "2"], "下单时间": ["2024年4月1日"] * 3,
                          "商品编码": ["a", "b", "a"], "会员ID": ["x", "x", "y"],
                          "数量": ["1", "2", "1"], "单价": ["2.5", "3", "4.25"]}),
            {"order_id": "订单号", "customer_id": "会员ID", "sku": "商品编码", "ts": "下单时间",
             "quantity": "数量", "price": "单价"},
        ),
    ],
)  # fmt: skip
def test_columns_are_matched_by_content_and_name(frame: pd.DataFrame, want: dict) -> None:
    assert suggest_mapping(frame, REQUIRED, list(frame.columns)) == want


def test_a_date_column_is_never_suggested_as_an_id(tmp_path: Path) -> None:
    f = tmp_path / "orders.csv"
    f.write_text(
        "OrderNumber,Customer,ProductCode,OrderDate,Qty,UnitPrice\n"
        "A1,c1,p1,2024-03-01,2,9.5\nA1,c1,p2,2024-03-01,1,3.5\nA2,c2,p1,2024-03-02,1,9.5\n",
        encoding="utf-8",
    )
    with pytest.raises(SchemaError) as err:
        read_table(f)
    msg = str(err.value)
    assert "OrderDate=ts" in msg and "OrderNumber=order_id" in msg
    assert "OrderDate=order_id" not in msg
    # and the suggested mapping, followed as printed, reads the file
    fix = msg.split("--map ")[1].split(" ")[0]
    res = CliRunner().invoke(app, ["data", "validate", str(f), "--map", fix])
    assert res.exit_code == 0, res.output
