"""A straightforward pandas implementation of ecomml's customer feature views.

This is the peer the feature-store benchmark compares against: what a competent analyst
would write with pandas (read Parquet, keep ``ts < cutoff``, ``groupby().agg()``), with
no deliberately slow loops and no row-wise ``apply``. Each function mirrors the SQL of
the view of the same name (``src/ecomml/features/views/customer.py`` and
``customer_sku.py``) column for column, so ``benchmarks/features.py`` can check that both
produce the same numbers (``compare_outputs``).

It reads whole tables into memory: that is the point of the comparison, not a
recommendation.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "CUSTOMER_VIEWS",
    "build_customer_views",
    "compare_outputs",
    "customer_events",
    "customer_rfm",
    "customer_sku",
]

#: Customer views this module implements, in build order.
CUSTOMER_VIEWS = ("customer_rfm", "customer_events", "customer_sku")

_DAY = pd.Timedelta(days=1)


def _day_diff(earlier: pd.Series, cutoff: pd.Timestamp) -> pd.Series:
    """DuckDB ``date_diff('day', earlier, cutoff)``: calendar-day boundaries crossed."""
    return (cutoff.normalize() - earlier.dt.normalize()).dt.days.astype("int64")


def customer_rfm(
    tx: pd.DataFrame, catalog: pd.DataFrame, calendar: pd.DataFrame, cutoff: pd.Timestamp
) -> pd.DataFrame:
    """The ``customer_rfm`` view: one row per customer with a purchase before ``cutoff``."""
    tx = tx[(tx["ts"] < cutoff) & tx["customer_id"].notna()]
    cat = catalog.groupby("sku")["category"].max()
    category = tx["sku"].map(cat)
    if "category" in tx.columns:
        category = tx["category"].fillna(category)
    tx = tx.assign(category=category, value=tx["quantity"] * tx["price"])

    buy = tx[tx["quantity"] > 0]
    recent = buy["ts"] >= cutoff - 90 * _DAY
    previous = (buy["ts"] >= cutoff - 180 * _DAY) & ~recent
    buy = buy.assign(
        value_90=buy["value"].where(recent, 0.0),
        value_prev=buy["value"].where(previous, 0.0),
        order_90=buy["order_id"].where(recent),
    )
    cust = buy.groupby("customer_id").agg(
        first_ts=("ts", "min"),
        last_ts=("ts", "max"),
        frequency=("order_id", "nunique"),
        monetary=("value", "sum"),
        units=("quantity", "sum"),
        n_skus=("sku", "nunique"),
        category_diversity=("category", "nunique"),
        spend_90d=("value_90", "sum"),
        spend_prev_90d=("value_prev", "sum"),
        orders_90d=("order_90", "nunique"),
    )

    ret = tx[tx["quantity"] < 0]
    ret = (
        ret.assign(returned=-ret["quantity"])
        .groupby("customer_id")
        .agg(n_returns=("returned", "size"), returned_units=("returned", "sum"))
    )

    promo_dates = pd.to_datetime(calendar.loc[calendar["is_promo"].fillna(False), "date"])
    order_day = buy.groupby(["customer_id", "order_id"])["ts"].min().dt.normalize()
    on_promo = order_day.isin(promo_dates.dt.normalize()).astype("float64")
    promo_share = on_promo.groupby(level="customer_id").mean().rename("promo_share")

    days = buy[["customer_id", "ts"]].assign(day=buy["ts"].dt.normalize())
    days = days[["customer_id", "day"]].drop_duplicates().sort_values(["customer_id", "day"])
    gaps = days.groupby("customer_id")["day"].diff().dt.days
    ipi = gaps.groupby(days["customer_id"]).agg(["mean", "std"])
    ipi.columns = ["ipi_mean_days", "ipi_std_days"]

    out = cust.join(ret).join(promo_share).join(ipi)
    out["n_returns"] = out["n_returns"].fillna(0).astype("int64")
    out["returned_units"] = out["returned_units"].fillna(0.0)
    total = out["spend_90d"] + out["spend_prev_90d"]
    frame = pd.DataFrame(
        {
            "cutoff": cutoff,
            "recency_days": _day_diff(out["last_ts"], cutoff),
            "frequency": out["frequency"],
            "monetary": out["monetary"],
            "avg_order_value": out["monetary"] / out["frequency"],
            "tenure_days": _day_diff(out["first_ts"], cutoff),
            "n_returns": out["n_returns"],
            "returned_units": out["returned_units"],
            "return_rate": out["returned_units"] / out["units"],
            "ipi_mean_days": out["ipi_mean_days"],
            "ipi_std_days": out["ipi_std_days"],
            "spend_90d": out["spend_90d"],
            "spend_prev_90d": out["spend_prev_90d"],
            "spend_trend": ((out["spend_90d"] - out["spend_prev_90d"]) / total).where(total > 0),
            "orders_90d": out["orders_90d"],
            "category_diversity": out["category_diversity"],
            "promo_share": out["promo_share"],
            "n_skus": out["n_skus"],
        }
    )
    return frame.rename_axis("customer_id").reset_index()


def customer_events(events: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The ``customer_events`` view: browsing in the 90 days before ``cutoff``."""
    ev = events[
        (events["ts"] < cutoff)
        & (events["ts"] >= cutoff - 90 * _DAY)
        & events["customer_id"].notna()
    ]
    ev = ev.assign(
        is_view=(ev["event"] == "view").astype("int64"),
        is_cart=(ev["event"] == "cart").astype("int64"),
        is_purchase=(ev["event"] == "purchase").astype("int64"),
        day=ev["ts"].dt.normalize(),
    )
    g = ev.groupby("customer_id").agg(
        n_events=("event", "size"),
        n_views=("is_view", "sum"),
        n_carts=("is_cart", "sum"),
        n_purchases=("is_purchase", "sum"),
        n_skus=("sku", "nunique"),
        active_days=("day", "nunique"),
        last_ts=("ts", "max"),
    )
    g["cart_to_purchase_rate"] = (g["n_purchases"] / g["n_carts"]).where(g["n_carts"] > 0)
    g["days_since_last_event"] = _day_diff(g["last_ts"], cutoff)
    g = g.drop(columns="last_ts")
    g.insert(0, "cutoff", cutoff)
    return g.reset_index()


def customer_sku(tx: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The ``customer_sku`` view: one row per customer x SKU pair bought before ``cutoff``."""
    buy = tx[
        (tx["ts"] < cutoff) & (tx["quantity"] > 0) & tx["customer_id"].notna() & tx["sku"].notna()
    ]
    buy = buy.assign(value=buy["quantity"] * buy["price"], day=buy["ts"].dt.normalize())
    pair = buy.groupby(["customer_id", "sku"]).agg(
        n_orders=("order_id", "nunique"),
        total_qty=("quantity", "sum"),
        spend=("value", "sum"),
        first_ts=("ts", "min"),
        last_ts=("ts", "max"),
        n_days=("day", "nunique"),
    )
    cust_orders = buy.groupby("customer_id")["order_id"].nunique()
    pair = pair.reset_index()
    span = (pair["last_ts"].dt.normalize() - pair["first_ts"].dt.normalize()).dt.days
    return pd.DataFrame(
        {
            "cutoff": cutoff,
            "customer_id": pair["customer_id"],
            "sku": pair["sku"],
            "n_orders": pair["n_orders"],
            "total_qty": pair["total_qty"],
            "spend": pair["spend"],
            "first_purchase_days": _day_diff(pair["first_ts"], cutoff),
            "last_purchase_days": _day_diff(pair["last_ts"], cutoff),
            "n_purchase_days": pair["n_days"],
            "repurchase_interval_mean": (span / (pair["n_days"] - 1)).where(pair["n_days"] > 1),
            "order_share": pair["n_orders"] / pair["customer_id"].map(cust_orders),
        }
    )


def _read(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a Parquet file or a directory of Parquet parts, as an analyst would."""
    if columns is not None:
        import pyarrow.parquet as pq

        schema = pq.ParquetDataset(path).schema
        columns = [c for c in columns if c in schema.names]
    return pd.read_parquet(path, columns=columns)


def build_customer_views(
    data_dir: str | os.PathLike[str],
    *,
    cutoff: pd.Timestamp,
    out_dir: str | os.PathLike[str],
    views: Sequence[str] = CUSTOMER_VIEWS,
) -> dict[str, int]:
    """Read the shop in ``data_dir``, build ``views`` as of ``cutoff``, write Parquet to ``out_dir``.

    Returns the row count of each view. Output files are ``out_dir/{view}.parquet``.
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cutoff = pd.Timestamp(cutoff)
    rows: dict[str, int] = {}
    tx = None
    if {"customer_rfm", "customer_sku"} & set(views):
        tx = _read(
            data_dir / "transactions",
            ["order_id", "customer_id", "sku", "ts", "quantity", "price", "category"],
        )
    for view in views:
        if view == "customer_rfm":
            catalog = _read(data_dir / "catalog.parquet", ["sku", "category"])
            calendar = _read(data_dir / "calendar.parquet", ["date", "is_promo"])
            out = customer_rfm(tx, catalog, calendar, cutoff)
        elif view == "customer_sku":
            out = customer_sku(tx, cutoff)
        elif view == "customer_events":
            out = customer_events(
                _read(_events_path(data_dir), ["customer_id", "sku", "ts", "event"]), cutoff
            )
        else:
            raise ValueError(f"no pandas reference for view {view!r}; have {CUSTOMER_VIEWS}")
        out.to_parquet(out_dir / f"{view}.parquet", index=False)
        rows[view] = len(out)
    return rows


def _events_path(data_dir: Path) -> Path:
    for candidate in (data_dir / "events", data_dir / "events.parquet"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{data_dir} has no events table")


def compare_outputs(
    ours: pd.DataFrame,
    theirs: pd.DataFrame,
    keys: Sequence[str],
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> list[str]:
    """Differences between two outputs of one view (empty list: they match).

    Rows are aligned on ``keys``; numeric columns must agree within ``rtol`` (and ``atol``
    for values that should be 0 but carry summation noise; NaN equals
    NaN), everything else exactly.
    """
    problems: list[str] = []
    missing = sorted(set(theirs.columns) - set(ours.columns))
    extra = sorted(set(ours.columns) - set(theirs.columns))
    if missing or extra:
        problems.append(f"columns differ: missing {missing}, extra {extra}")
    if len(ours) != len(theirs):
        problems.append(f"row counts differ: {len(ours)} vs {len(theirs)}")
        return problems
    a = ours.sort_values(list(keys)).reset_index(drop=True)
    b = theirs.sort_values(list(keys)).reset_index(drop=True)
    for col in [c for c in b.columns if c in a.columns]:
        x, y = a[col], b[col]
        if col in keys or col == "cutoff":
            x, y = x.astype(str), y.astype(str)
            bad = int((x != y).sum())
        elif pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            xf, yf = x.astype("float64").to_numpy(), y.astype("float64").to_numpy()
            bad = int((~np.isclose(xf, yf, rtol=rtol, atol=atol, equal_nan=True)).sum())
        else:
            bad = int((x.astype(str) != y.astype(str)).sum())
        if bad:
            problems.append(f"{col}: {bad} of {len(a)} rows differ")
    return problems
