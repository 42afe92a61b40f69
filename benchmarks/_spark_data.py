"""Fast synthetic transactions for the Spark-vs-DuckDB benchmark, written as Parquet parts.

``write_transactions(out_dir, n, seed=...)`` writes ``n`` canonical transaction lines
(``order_id, customer_id, sku, ts, quantity, price`` plus ``category``) in parts under
``out_dir/transactions/``, and ``catalog.parquet``, ``calendar.parquet`` and (optionally)
an events log under ``out_dir/events/``. Everything is vectorised numpy, generated order
chunk by order chunk (memory stays bounded by ``chunk_orders``), and seeded per chunk, so
the same ``(n, seed)`` gives the same files.

Shape of the data:

* ``n / 25`` customers with log-normal purchase propensities (heavy-tailed orders per
  customer) and an active window [first day, dropout day] inside the two years;
* ``n / 2000`` SKUs with Zipf popularity (exponent 1.05) and log-normal base prices; 30 % of
  a customer's lines go to their own favourite SKU (repeat purchases);
* two years of order days drawn from a day weight with weekly seasonality, a December
  peak, growth and promotion spikes (3x on the promotion days of
  :func:`ecomml.data.promo_calendar`, where prices are 20 % off);
* orders of ``1 + Poisson(2.5)`` lines; 2 % of lines are returns (negative quantity).

Timestamps are written as microseconds (Spark cannot read nanosecond Parquet timestamps).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

START = pd.Timestamp("2023-01-01")
DAYS = 731  # 2023-01-01 .. 2025-01-01 (exclusive)
MEAN_LINES = 3.5
CATEGORIES = np.array(
    [
        "apparel",
        "baby",
        "beauty",
        "books",
        "electronics",
        "food",
        "garden",
        "home",
        "pet",
        "sports",
        "toys",
        "tools",
    ]
)
EVENT_KINDS = np.array(["view", "cart", "purchase"])


def _ids(values: np.ndarray, prefix: str, width: int) -> pa.Array:
    """Integers -> zero-padded string ids (``C0000042``) in Arrow, without Python loops."""
    s = pc.utf8_lpad(pa.array(values, pa.int64()).cast(pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), s, "")


def _day_weights() -> tuple[np.ndarray, np.ndarray]:
    """Relative weight of each day (weekly + yearly seasonality, growth, promos) and promo flags."""
    from ecomml.data import promo_calendar

    days = pd.date_range(START, periods=DAYS, freq="D")
    dow = np.array([1.0, 0.95, 0.95, 1.0, 1.1, 1.3, 1.2])[days.dayofweek]
    doy = days.dayofyear.to_numpy()
    yearly = 1.0 + 0.35 * np.exp(-(((doy - 350) / 20.0) ** 2))
    growth = 1.0 + 0.3 * np.arange(DAYS) / DAYS
    cal = promo_calendar(days[0], days[-1])
    promo_days = pd.DatetimeIndex(cal.loc[cal["is_promo"].astype(bool), "date"]).normalize()
    promo = np.asarray(days.isin(promo_days))
    w = dow * yearly * growth * np.where(promo, 3.0, 1.0)
    return w / w.sum(), promo


class _Shop:
    """Customer and SKU attributes shared by every chunk."""

    def __init__(self, n: int, seed: int) -> None:
        rng = np.random.default_rng([seed, 0])
        self.n_customers = max(50, n // 25)
        self.n_skus = max(50, n // 2000)
        c, s = self.n_customers, self.n_skus
        w = rng.lognormal(0.0, 1.3, c)
        self.cust_cum = np.cumsum(w / w.sum())
        # Acquisition front-loaded, dropout after an exponential lifetime (mean 400 days).
        self.first = np.minimum((rng.beta(1.0, 1.6, c) * (DAYS - 1)).astype(np.int64), DAYS - 2)
        life = rng.exponential(400.0, c).astype(np.int64) + 2
        self.last = np.minimum(self.first + life, DAYS)
        ranks = np.arange(1, s + 1, dtype=np.float64)
        p = ranks**-1.05
        self.sku_cum = np.cumsum(p / p.sum())
        self.sku_of_rank = rng.permutation(s)
        self.sku_price = np.round(np.exp(rng.normal(2.8, 0.8, s)), 2) + 0.99
        self.sku_category = rng.integers(0, len(CATEGORIES), s)
        self.favourite = self.sku_of_rank[
            np.minimum(np.searchsorted(self.sku_cum, rng.random(c)), s - 1)
        ]
        self.day_w, self.promo = _day_weights()
        self.day_cum = np.concatenate([[0.0], np.cumsum(self.day_w)])
        hour_w = np.array(
            [
                1,
                0.6,
                0.4,
                0.3,
                0.3,
                0.4,
                0.8,
                1.5,
                2.2,
                2.8,
                3,
                3.1,
                3.3,
                3.2,
                3.0,
                2.9,
                3.0,
                3.3,
                3.6,
                4.2,
                4.6,
                4.3,
                3.2,
                1.9,
            ]
        )
        self.hour_cum = np.cumsum(hour_w / hour_w.sum())

    def customers(self, rng: np.random.Generator, k: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.cust_cum, rng.random(k)), self.n_customers - 1)

    def skus(self, rng: np.random.Generator, k: int) -> np.ndarray:
        r = np.minimum(np.searchsorted(self.sku_cum, rng.random(k)), self.n_skus - 1)
        return self.sku_of_rank[r]

    def times(self, rng: np.random.Generator, cust: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Order day (inside each customer's active window, by day weight) and microseconds."""
        lo, hi = self.day_cum[self.first[cust]], self.day_cum[self.last[cust]]
        u = lo + rng.random(len(cust)) * (hi - lo)
        day = np.clip(np.searchsorted(self.day_cum, u, side="right") - 1, 0, DAYS - 1)
        hour = np.minimum(np.searchsorted(self.hour_cum, rng.random(len(cust))), 23)
        sec = hour * 3600 + rng.integers(0, 3600, len(cust))
        base = START.value // 1000  # microseconds since epoch
        us = base + (day.astype(np.int64) * 86400 + sec) * 1_000_000
        return day, us


def _transactions_chunk(
    shop: _Shop, seed: int, chunk: int, first_order: int, k: int, max_rows: int
) -> pa.Table:
    rng = np.random.default_rng([seed, 1, chunk])
    cust = shop.customers(rng, k)
    day, us = shop.times(rng, cust)
    n_lines = 1 + rng.poisson(MEAN_LINES - 1.0, k)
    total = int(n_lines.sum())
    if total > max_rows:  # the last chunk: cut to exactly the rows asked for
        ends = np.cumsum(n_lines)
        keep = int(np.searchsorted(ends, max_rows, side="left")) + 1
        n_lines = n_lines[:keep].copy()
        n_lines[-1] -= int(n_lines.sum()) - max_rows
        cust, day, us = cust[:keep], day[:keep], us[:keep]
        total = max_rows
    order = np.repeat(np.arange(len(n_lines), dtype=np.int64) + first_order, n_lines)
    lc = np.repeat(cust, n_lines)
    lday = np.repeat(day, n_lines)
    sku = np.where(rng.random(total) < 0.3, shop.favourite[lc], shop.skus(rng, total))
    qty = rng.geometric(0.6, total).astype(np.float64)
    qty = np.where(rng.random(total) < 0.02, -qty, qty)
    price = np.round(shop.sku_price[sku] * np.where(shop.promo[lday], 0.8, 1.0), 2)
    return pa.table(
        {
            "order_id": _ids(order, "O", 10),
            "customer_id": _ids(lc, "C", 8),
            "sku": _ids(sku, "SKU", 6),
            "ts": pa.array(np.repeat(us, n_lines), pa.timestamp("us")),
            "quantity": pa.array(qty),
            "price": pa.array(price),
            "category": pa.array(CATEGORIES[shop.sku_category[sku]]),
        }
    )


def _events_chunk(shop: _Shop, seed: int, chunk: int, k: int) -> pa.Table:
    rng = np.random.default_rng([seed, 2, chunk])
    cust = shop.customers(rng, k)
    _, us = shop.times(rng, cust)
    sku = np.where(rng.random(k) < 0.3, shop.favourite[cust], shop.skus(rng, k))
    kind = np.minimum(np.searchsorted(np.array([0.75, 0.95, 1.0]), rng.random(k)), 2)
    return pa.table(
        {
            "customer_id": _ids(cust, "C", 8),
            "sku": _ids(sku, "SKU", 6),
            "ts": pa.array(us, pa.timestamp("us")),
            "event": pa.array(EVENT_KINDS[kind]),
        }
    )


def write_transactions(
    out_dir: str | Path,
    n: int,
    *,
    seed: int = 0,
    events_ratio: float = 0.5,
    chunk_orders: int = 1_000_000,
    progress: Any = None,
) -> dict[str, Any]:
    """Write the synthetic shop of ``n`` transaction lines to ``out_dir``; return its summary.

    Parameters
    ----------
    out_dir : path
        Created (must not exist); holds ``transactions/part-*.parquet``, ``catalog.parquet``,
        ``calendar.parquet`` and, when ``events_ratio > 0``, ``events/part-*.parquet``.
    n : int
        Transaction lines.
    seed : int
        Seed; the same ``(n, seed)`` writes the same data.
    events_ratio : float
        Events (views, carts, purchases) per transaction line; 0 writes no events log.
    chunk_orders : int
        Orders per Parquet part (about 3.5 lines each): bounds memory.
    """
    from ecomml.data import promo_calendar

    t0 = time.perf_counter()
    out = Path(out_dir)
    (out / "transactions").mkdir(parents=True)
    shop = _Shop(n, seed)
    written, chunk, first_order = 0, 0, 0
    while written < n:
        t = _transactions_chunk(shop, seed, chunk, first_order, chunk_orders, n - written)
        pq.write_table(t, out / "transactions" / f"part-{chunk:05d}.parquet")
        written += t.num_rows
        first_order += chunk_orders
        chunk += 1
        if progress:
            progress(f"transactions {written:,}/{n:,}")
    n_events = int(round(n * events_ratio))
    if n_events:
        (out / "events").mkdir()
        per = int(chunk_orders * MEAN_LINES)
        for i, lo in enumerate(range(0, n_events, per)):
            pq.write_table(
                _events_chunk(shop, seed, i, min(per, n_events - lo)),
                out / "events" / f"part-{i:05d}.parquet",
            )
            if progress:
                progress(f"events {min(lo + per, n_events):,}/{n_events:,}")
    s = shop.n_skus
    rng = np.random.default_rng([seed, 3])
    catalog = pa.table(
        {
            "sku": _ids(np.arange(s), "SKU", 6),
            "category": pa.array(CATEGORIES[shop.sku_category]),
            "price": pa.array(shop.sku_price),
            "cost": pa.array(np.round(shop.sku_price * rng.uniform(0.4, 0.75, s), 2)),
            "active": pa.array(rng.random(s) < 0.9),
        }
    )
    pq.write_table(catalog, out / "catalog.parquet")
    cal = promo_calendar(START, START + pd.Timedelta(days=DAYS + 400))
    pq.write_table(
        pa.table(
            {
                "date": pa.array(pd.to_datetime(cal["date"]).dt.date, pa.date32()),
                "event": pa.array(cal["event"].astype(str)),
                "is_promo": pa.array(cal["is_promo"].astype(bool)),
            }
        ),
        out / "calendar.parquet",
    )
    return {
        "n": n,
        "seed": seed,
        "events": n_events,
        "customers": shop.n_customers,
        "skus": s,
        "parts": chunk,
        "first_day": str(START.date()),
        "cutoff": str((START + pd.Timedelta(days=DAYS)).date()),
        "seconds": time.perf_counter() - t0,
    }


def ensure_shop(
    data_dir: str | Path,
    n: int,
    *,
    seed: int = 0,
    events_ratio: float = 0.5,
    label: str | None = None,
    progress: Any = None,
) -> tuple[Path, dict[str, Any]]:
    """The cached shop for ``(n, seed, events_ratio)``, generated on first use."""
    tag = label or str(n)
    shop = Path(data_dir) / f"spark_shop_{tag}_s{seed}_e{events_ratio:g}"
    meta_path = shop / "_meta.json"
    if meta_path.exists():
        return shop, json.loads(meta_path.read_text())
    partial = shop.with_name(shop.name + ".partial")
    for stale in (shop, partial):
        if stale.exists():
            shutil.rmtree(stale)
    meta = write_transactions(partial, n, seed=seed, events_ratio=events_ratio, progress=progress)
    meta["disk_bytes"] = sum(p.stat().st_size for p in partial.rglob("*") if p.is_file())
    (partial / "_meta.json").write_text(json.dumps(meta, indent=2))
    partial.rename(shop)
    return shop, meta
