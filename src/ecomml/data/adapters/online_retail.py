"""The UCI Online Retail and Online Retail II export layouts (one layout, both spellings)."""

from __future__ import annotations

from ecomml.data.adapters._layout import _SourceFormat

_ONLINE_RETAIL = _SourceFormat(
    name="online-retail",
    label="an Online Retail (UCI) export",
    dayfirst=False,  # the UCI files write InvoiceDate month-first: 12/1/2010 8:26
    aliases={
        "order_id": ("InvoiceNo", "Invoice", "order_id"),
        "sku": ("StockCode", "sku"),
        "description": ("Description",),
        "quantity": ("Quantity", "quantity"),
        "ts": ("InvoiceDate", "ts"),
        "price": ("UnitPrice", "Price", "price"),
        "customer_id": ("CustomerID", "Customer ID", "customer_id"),
        "region": ("Country", "region"),
    },
    required=("order_id", "sku", "quantity", "ts", "price", "customer_id"),
)
