"""One canonical table from one file, by table name: read (and clean) it, and sum it up.

What ``ecomml data validate|convert`` run; a scheduler checking an export before the
nightly jobs can call the same two functions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ecomml.data.adapters import read_catalog, read_events, read_transactions
from ecomml.data.calendar import read_calendar
from ecomml.data.cleaning import CleaningReport
from ecomml.dates import DateFormat
from ecomml.exceptions import ConfigError

__all__ = ["TABLES", "describe_table", "read_canonical"]

TABLES = ("transactions", "events", "catalog", "calendar")


def read_canonical(
    path: str | os.PathLike[str],
    table: str = "transactions",
    *,
    format: str = "auto",
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    dates: DateFormat | None = None,
    max_ts: Any = None,
    clean: bool = True,
) -> tuple[pd.DataFrame, CleaningReport]:
    """The file as the canonical ``table`` with its cleaning report (transactions and
    events are cleaned unless ``clean=False``; catalogs and calendars only validated).
    ``format`` and ``mapping`` apply where the table has source layouts."""
    if table not in TABLES:
        raise ConfigError(f"unknown table {table!r}; choose one of {', '.join(TABLES)}")
    if format != "auto" and table != "transactions":
        raise ConfigError(f"--format {format} applies to transactions only; drop it.")
    common: dict[str, Any] = {"encoding": encoding, "sheet": sheet}
    if table == "transactions":
        return read_transactions(
            path, format=format, mapping=mapping, clean=clean, max_ts=max_ts, dates=dates,
            **common,
        )  # fmt: skip
    if table == "events":
        return read_events(path, mapping=mapping, clean=clean, max_ts=max_ts, dates=dates, **common)
    if mapping:
        raise ConfigError(f"--map is supported for transactions and events, not {table}.")
    if table == "catalog":
        frame = read_catalog(path, **common)
    else:
        frame = read_calendar(path, dates=dates, **common)
    return frame, CleaningReport.unchanged(frame, table=table)


def describe_table(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """``(what, value)`` lines summing up a canonical table: rows, columns, date range,
    customers, SKUs, orders, events, promotion days (those its columns allow)."""
    rows = [("rows", f"{len(frame):,}"), ("columns", ", ".join(map(str, frame.columns)))]
    time_col = "ts" if "ts" in frame.columns else "date" if "date" in frame.columns else None
    if time_col is not None and len(frame):
        rows.append(("date range", f"{frame[time_col].min()} .. {frame[time_col].max()}"))
    if "customer_id" in frame.columns:
        missing = int(frame["customer_id"].isna().sum())
        rows.append(
            ("customers", f"{frame['customer_id'].nunique():,} ({missing:,} rows without id)")
        )
    if "sku" in frame.columns:
        rows.append(("skus", f"{frame['sku'].nunique():,}"))
    if "order_id" in frame.columns:
        returns = int((frame["quantity"] < 0).sum())
        rows.append(("orders", f"{frame['order_id'].nunique():,} ({returns:,} return lines)"))
    if "event" in frame.columns:
        counts = frame["event"].value_counts()
        rows.append(("events", ", ".join(f"{k}: {v:,}" for k, v in counts.head(12).items())))
    if "is_promo" in frame.columns:
        rows.append(("promo days", f"{frame.loc[frame['is_promo'], 'date'].nunique():,}"))
    return rows
