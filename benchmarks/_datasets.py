"""The real datasets every benchmark reads, loaded one way (never copied into the project).

``../shared/data`` (beside the repository, or ``$ECOMML_SHARED_DATA``) holds the UCI
Online Retail files, the CDNOW master log and MovieLens 100K; see its SOURCES.md.

* :func:`online_retail_two_years` - Online Retail II's 2009-2010 sheet followed by
  Online Retail (2010-12-01..2011-12-09); the week both files cover is taken from the
  later file only, so it is counted once. Both are cleaned by ecomml's documented policy.
* :func:`cdnow_master` - the CDNOW master log as canonical transactions.
* :func:`movielens_100k` - ``user_id, item_id, rating, ts``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "SHARED_DATA",
    "OnlineRetail",
    "cdnow_master",
    "movielens_100k",
    "online_retail_two_years",
    "shared_data",
]

SHARED_DATA = Path(
    os.environ.get("ECOMML_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def shared_data() -> Path:
    """The shared data folder; exits with a clear message when it is absent."""
    if not SHARED_DATA.is_dir():
        raise SystemExit(
            f"real datasets not found at {SHARED_DATA}; set ECOMML_SHARED_DATA to the folder "
            "holding online_retail/, online_retail_ii/, cdnow/ and movielens_100k/"
        )
    return SHARED_DATA


@dataclass
class OnlineRetail:
    """Two years of cleaned canonical transactions and how they were cleaned."""

    transactions: pd.DataFrame
    reports: dict[str, Any]
    overlap_rows_dropped: int


def online_retail_two_years(*, customers_only: bool = False) -> OnlineRetail:
    """Online Retail II (2009-12..2010-11) + Online Retail (2010-12..2011-12), cleaned.

    Rows of the older file at or after the first timestamp of the newer file are
    dropped (the overlapping week 2010-12-01..2010-12-09 is in both files).
    ``customers_only`` keeps rows with a customer id (churn, recommendations).
    """
    from ecomml.data import read_transactions

    root = shared_data()
    newer, rep_new = read_transactions(
        root / "online_retail" / "online_retail.parquet", format="online-retail"
    )
    older, rep_old = read_transactions(
        root / "online_retail_ii" / "online_retail_ii_year_2009_2010.parquet",
        format="online-retail-ii",
    )
    start = newer["ts"].min()
    keep = older["ts"] < start
    tx = pd.concat([older.loc[keep], newer], ignore_index=True)
    if customers_only:
        tx = tx.loc[tx["customer_id"].notna()].reset_index(drop=True)
    tx = tx.sort_values(["ts", "order_id"], kind="stable").reset_index(drop=True)
    reports = {"online_retail_ii_2009_2010": rep_old.to_dict(), "online_retail": rep_new.to_dict()}
    return OnlineRetail(tx, reports, int((~keep).sum()))


def cdnow_master() -> pd.DataFrame:
    """The CDNOW master log (23,570 customers, 1997-01..1998-06) as canonical transactions."""
    from ecomml.data import read_transactions

    tx, _ = read_transactions(shared_data() / "cdnow" / "cdnow_master.parquet", format="cdnow")
    return tx


def movielens_100k() -> pd.DataFrame:
    """MovieLens 100K ratings: ``user_id, item_id, rating, ts`` (ids as strings)."""
    raw = pd.read_parquet(shared_data() / "movielens_100k" / "u_data.parquet")
    cols = {c.lower(): c for c in raw.columns}
    user = cols.get("user_id", cols.get("user", raw.columns[0]))
    item = cols.get("item_id", cols.get("item", raw.columns[1]))
    rating = cols.get("rating", raw.columns[2])
    ts = cols.get("timestamp", cols.get("ts", raw.columns[3]))
    out = pd.DataFrame(
        {
            "user_id": raw[user].astype(str),
            "item_id": raw[item].astype(str),
            "rating": raw[rating].astype(float),
            "ts": pd.to_datetime(raw[ts], unit="s")
            if pd.api.types.is_integer_dtype(raw[ts])
            else pd.to_datetime(raw[ts]),
        }
    )
    return out
