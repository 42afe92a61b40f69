"""A shop's canonical tables in memory (:class:`ShopData`) and :func:`load_shop`, which reads
a user's export (validated and cleaned) or builds the seeded sample shop."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ecomml._validation import check_cutoff, day_after_last
from ecomml.dates import DateFormat

__all__ = ["ShopData", "before_cutoff", "by_sku", "default_cutoff", "load_shop"]


@dataclass
class ShopData:
    """Canonical tables of one shop plus where they came from and how they were cleaned."""

    transactions: pd.DataFrame
    events: pd.DataFrame | None = None
    catalog: pd.DataFrame | None = None
    calendar: pd.DataFrame | None = None
    source: str = "sample shop"
    cleaning: Any = None
    fingerprint: dict[str, Any] = field(default_factory=dict)


def load_shop(
    transactions: str | os.PathLike[str] | None = None,
    *,
    format: str = "auto",
    mapping: Mapping[str, str] | None = None,
    events: str | os.PathLike[str] | None = None,
    catalog: str | os.PathLike[str] | None = None,
    calendar: str | os.PathLike[str] | None = None,
    encoding: str | None = None,
    clean: bool = True,
    seed: int = 0,
    max_ts: Any = None,
    cutoff: Any = None,
    dates: DateFormat | None = None,
) -> ShopData:
    """Read a shop's tables (validated and cleaned), or build the seeded sample shop when
    ``transactions`` is None.

    With ``cutoff``, rows at or after it are dropped *before* cleaning, so no cleaning
    rule can use the future (e.g. a cancellation after the cutoff never removes the sale
    it reverses from the history before it). ``dates`` says how the files write dates
    (:class:`~ecomml.dates.DateFormat`); ``cutoff`` text is read the same way.
    """
    from ecomml.data.fingerprint import data_fingerprint

    cut = check_cutoff(cutoff, dates=dates) if cutoff is not None else None

    if transactions is None:
        from ecomml.data.synth import make_shop

        shop = make_shop(seed=seed)
        data = ShopData(
            transactions=shop.transactions,
            events=shop.events,
            catalog=shop.catalog,
            calendar=shop.calendar,
            source=f"built-in sample shop (seed={seed})",
        )
        data.fingerprint = data_fingerprint(shop.transactions)
        data.fingerprint["path"] = data.source
        if cut is not None:
            data.transactions = before_cutoff(shop.transactions, cut)
            data.events = before_cutoff(shop.events, cut)
        return data

    from ecomml.data import clean_transactions, read_transactions

    tx, report = read_transactions(
        transactions,
        format=format,
        mapping=dict(mapping or {}),
        clean=clean and cut is None,
        encoding=encoding,
        max_ts=max_ts,
        dates=dates,
    )
    if cut is not None:
        tx = before_cutoff(tx, cut)
        if clean:
            tx, report = clean_transactions(tx)
    data = ShopData(transactions=tx, source=str(transactions), cleaning=report if clean else None)
    data.fingerprint = data_fingerprint(transactions)
    if events is not None:
        data.events = _read_side_table(events, "events", max_ts=max_ts, dates=dates)
        if cut is not None:
            data.events = before_cutoff(data.events, cut)
    if catalog is not None:
        data.catalog = _read_side_table(catalog, "catalog")
    if calendar is not None:
        data.calendar = _read_side_table(calendar, "calendar", dates=dates)
    return data


def _read_side_table(
    path: str | os.PathLike[str], table: str, *, max_ts: Any = None, dates: DateFormat | None = None
) -> pd.DataFrame:
    """Read an events/catalog/calendar file, which must already use canonical column names."""
    from ecomml.data import read_table
    from ecomml.exceptions import SchemaError

    try:
        return read_table(path, table=table, max_ts=max_ts, dates=dates)
    except SchemaError as err:
        raise SchemaError(
            f"{str(err).split('. ')[0]}. --{table} files are read with canonical column names "
            f"({', '.join(err.missing) or 'see the README'} missing): rename them, or convert "
            f"the file first with `ecomml data convert {Path(path).name} {table}.parquet "
            f"--table {table} --map Source=canonical`.",
            missing=err.missing,
            columns=err.columns,
        ) from err


def before_cutoff(frame: pd.DataFrame | None, cutoff: pd.Timestamp) -> pd.DataFrame | None:
    """The rows of ``frame`` with ``ts < cutoff`` (None stays None)."""
    if frame is None:
        return None
    return frame.loc[frame["ts"] < cutoff].reset_index(drop=True)


def default_cutoff(transactions: pd.DataFrame) -> pd.Timestamp:
    """The day after the last transaction: every row of the data is history."""
    if transactions.empty:
        from ecomml.exceptions import DataQualityError

        raise DataQualityError("transactions has no rows after cleaning; nothing to build")
    return day_after_last(transactions["ts"])


def by_sku(catalog: pd.DataFrame | None, column: str) -> pd.Series | None:
    """The catalog's ``column`` indexed by SKU (as text; the first row of a repeated SKU),
    or None when the catalog or the column is missing."""
    if catalog is None or column not in catalog.columns:
        return None
    c = catalog.dropna(subset=["sku"])
    return c.set_index(c["sku"].astype(str))[column].groupby(level=0).first()
