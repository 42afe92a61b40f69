"""The CDNOW master file: its headerless whitespace text, its columns and its
conversion to transactions (one order, sku ``"CD"``, per customer and day)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ecomml.data.adapters._layout import _SourceFormat
from ecomml.data.schema import ColumnSpec, TableSchema, validate_table
from ecomml.exceptions import InputFileError

_CDNOW_LINE = re.compile(r"^\s*\d+\s+\d{8}\s+\d+\s+-?\d+(\.\d+)?\s*$")


_CDNOW = _SourceFormat(
    name="cdnow",
    label="a CDNOW master file",
    aliases={
        "customer_id": ("customer_id", "cust_id", "CustomerID"),
        "date": ("date",),
        "number_of_cds": ("number_of_cds", "n_cds", "cds"),
        "dollar_value": ("dollar_value", "dollars", "value"),
    },
    required=("customer_id", "date", "number_of_cds", "dollar_value"),
)


_CDNOW_RAW = TableSchema(
    name="cdnow",
    columns=(
        ColumnSpec("customer_id", "string"),
        ColumnSpec("date", "date"),
        ColumnSpec("number_of_cds", "float64"),
        ColumnSpec("dollar_value", "float64"),
    ),
)


def _read_whitespace(src: Path, path: Path, *, header: bool) -> pd.DataFrame:
    names = ["customer_id", "date", "number_of_cds", "dollar_value"]
    try:
        return pd.read_csv(
            src, sep=r"\s+", header=0 if header else None, names=names, dtype=str, engine="c"
        )
    except (ValueError, pd.errors.ParserError) as err:
        raise InputFileError(
            f"{path} looks like the CDNOW whitespace format (customer_id YYYYMMDD n_cds "
            f"dollars) but cannot be parsed: {str(err).splitlines()[0]}"
        ) from None


def _from_cdnow(raw: pd.DataFrame, source: str | None) -> pd.DataFrame:
    """CDNOW rows -> transactions: one order (sku "CD") per customer and day."""
    cdnow = validate_table(raw, _CDNOW_RAW, source=source)
    day = cdnow.groupby(["customer_id", "date"], sort=False, as_index=False).agg(
        quantity=("number_of_cds", "sum"), amount=("dollar_value", "sum")
    )
    qty = day["quantity"].to_numpy()
    price = np.divide(
        day["amount"].to_numpy(), qty, out=np.zeros(len(day), dtype="float64"), where=qty > 0
    )
    return pd.DataFrame(
        {
            "order_id": day["customer_id"] + "-" + day["date"].dt.strftime("%Y%m%d"),
            "customer_id": day["customer_id"],
            "sku": "CD",
            "ts": day["date"],
            "quantity": qty,
            "price": price,
        }
    )
