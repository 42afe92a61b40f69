"""Slow, obvious pandas reference implementations of every built-in feature view.

Each ``ref_<view>(tables, cutoff)`` takes the canonical frames (a dict with
``transactions``, ``events``, ``catalog``, ``calendar``; missing ones are empty) and a
cutoff, and returns the view's rows as of that cutoff: the entity keys then the features,
without the ``cutoff`` column or the ``{view}__`` prefix. They are written with loops and
plain Python on purpose: they are the oracle the SQL is tested against, so they must be
easy to check by reading.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta

import numpy as np
import pandas as pd

DAY = pd.Timedelta(days=1)
NAN = float("nan")


# ---------------------------------------------------------------------------- helpers
def _day(ts: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(ts).normalize()


def _days_between(a: pd.Timestamp, b: pd.Timestamp) -> int:
    """DuckDB ``date_diff('day', a, b)``: calendar-day boundaries crossed from a to b."""
    return int((_day(b) - _day(a)) / DAY)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else NAN


def _std(values: list[float]) -> float:
    """Sample standard deviation (ddof=1), NaN with fewer than two values."""
    if len(values) < 2:
        return NAN
    m = _mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def _var(values: list[float]) -> float:
    if len(values) < 2:
        return NAN
    m = _mean(values)
    return sum((v - m) ** 2 for v in values) / (len(values) - 1)


def _div(a: float, b: float) -> float:
    """a / b, NaN when b is 0 or either is NaN (SQL ``a / NULLIF(b, 0)``)."""
    if (
        b == 0
        or (isinstance(b, float) and math.isnan(b))
        or (isinstance(a, float) and math.isnan(a))
    ):
        return NAN
    return a / b


def _table(tables: dict[str, pd.DataFrame], name: str) -> pd.DataFrame:
    cols = {
        "transactions": ["order_id", "customer_id", "sku", "ts", "quantity", "price", "category"],
        "events": ["customer_id", "sku", "ts", "event"],
        "catalog": ["sku", "category", "price", "cost", "active"],
        "calendar": ["date", "event", "is_promo"],
    }[name]
    df = tables.get(name)
    if df is None:
        df = pd.DataFrame({c: [] for c in cols})
    df = df.copy()
    for c in cols:
        if c not in df.columns:
            df[c] = None
    if "ts" in df.columns:
        df["ts"] = pd.to_datetime(df["ts"])
    if name == "calendar":
        df["date"] = pd.to_datetime(df["date"])
    return df


def _is_null(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT


def _visible(
    df: pd.DataFrame, cutoff: pd.Timestamp, lookback: timedelta | None = None
) -> pd.DataFrame:
    keep = df["ts"] < cutoff
    if lookback is not None:
        keep &= df["ts"] >= cutoff - pd.Timedelta(lookback)
    return df[keep]


def _rows(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------------------- calendar
def calendar_table(calendar: pd.DataFrame, dates: list[pd.Timestamp]) -> pd.DataFrame:
    """Calendar features of ``dates`` (the definitions of views/calendar.py), by loops."""
    cal = _table({"calendar": calendar}, "calendar")
    promo_days: set[pd.Timestamp] = set()
    events: dict[pd.Timestamp, str] = {}
    for _, r in cal.iterrows():
        if _is_null(r["date"]):
            continue
        d = _day(r["date"])
        if not _is_null(r["is_promo"]) and bool(r["is_promo"]):
            promo_days.add(d)
        if not _is_null(r["event"]):
            ev = str(r["event"])
            events[d] = min(events[d], ev) if d in events else ev
    promos = sorted(promo_days)
    rows = []
    for d in sorted({_day(x) for x in dates}):
        after = [p for p in promos if p >= d]
        before = [p for p in promos if p <= d]
        rows.append(
            {
                "date": d,
                "day_of_week": d.dayofweek,
                "week_of_year": int(d.isocalendar()[1]),
                "month": d.month,
                "day_of_month": d.day,
                "is_weekend": int(d.dayofweek >= 5),
                "is_promo": int(d in promo_days),
                "event": events.get(d),
                "days_to_next_promo": _days_between(d, after[0]) if after else NAN,
                "days_since_last_promo": _days_between(before[-1], d) if before else NAN,
            }
        )
    cols = [
        "date",
        "day_of_week",
        "week_of_year",
        "month",
        "day_of_month",
        "is_weekend",
        "is_promo",
        "event",
        "days_to_next_promo",
        "days_since_last_promo",
    ]
    return _rows(rows, cols)


def store_dates(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> list[pd.Timestamp]:
    """The store's ``dates`` grid: first transaction day up to the last complete day before the cutoff."""
    tx = _visible(_table(tables, "transactions"), cutoff)
    lo = _day(tx["ts"].min()) if len(tx) else _day(cutoff)
    out = []
    d = lo
    while d < _day(cutoff):
        out.append(d)
        d += DAY
    return out


def ref_calendar_features(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> pd.DataFrame:
    """calendar_features: one row per day of the store's date grid."""
    return calendar_table(_table(tables, "calendar"), store_dates(tables, cutoff))


# ---------------------------------------------------------------------------- customer
def ref_customer_rfm(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> pd.DataFrame:
    """customer_rfm by loops over customers."""
    tx = _visible(_table(tables, "transactions"), cutoff)
    catalog = _table(tables, "catalog")
    cal = _table(tables, "calendar")
    promo_days = {
        _day(r["date"])
        for _, r in cal.iterrows()
        if not _is_null(r["date"]) and not _is_null(r["is_promo"]) and bool(r["is_promo"])
    }
    sku_cat: dict[str, str] = {}
    for _, r in catalog.iterrows():
        if not _is_null(r["category"]):
            c = str(r["category"])
            sku_cat[r["sku"]] = max(sku_cat[r["sku"]], c) if r["sku"] in sku_cat else c
    rows = []
    for cid in sorted({c for c in tx["customer_id"] if not _is_null(c)}):
        g = tx[tx["customer_id"] == cid]
        buy = g[g["quantity"] > 0]
        if buy.empty:
            continue
        ret = g[g["quantity"] < 0]
        monetary = float((buy["quantity"] * buy["price"]).sum())
        frequency = buy["order_id"].nunique()
        cats = set()
        for _, r in buy.iterrows():
            c = r["category"] if not _is_null(r["category"]) else sku_cat.get(r["sku"])
            if c is not None:
                cats.add(c)
        days = sorted({_day(t) for t in buy["ts"]})
        gaps = [float(_days_between(a, b)) for a, b in zip(days[:-1], days[1:], strict=True)]
        last90 = buy[buy["ts"] >= cutoff - pd.Timedelta(days=90)]
        prev90 = buy[
            (buy["ts"] >= cutoff - pd.Timedelta(days=180))
            & (buy["ts"] < cutoff - pd.Timedelta(days=90))
        ]
        spend_90d = float((last90["quantity"] * last90["price"]).sum())
        spend_prev = float((prev90["quantity"] * prev90["price"]).sum())
        order_days = [_day(t) for t in buy.groupby("order_id")["ts"].min()]
        returned = float(-ret["quantity"].sum())
        rows.append(
            {
                "customer_id": cid,
                "recency_days": _days_between(buy["ts"].max(), cutoff),
                "frequency": frequency,
                "monetary": monetary,
                "avg_order_value": monetary / frequency,
                "tenure_days": _days_between(buy["ts"].min(), cutoff),
                "n_returns": len(ret),
                "returned_units": returned,
                "return_rate": returned / float(buy["quantity"].sum()),
                "ipi_mean_days": _mean(gaps),
                "ipi_std_days": _std(gaps),
                "spend_90d": spend_90d,
                "spend_prev_90d": spend_prev,
                "spend_trend": (
                    (spend_90d - spend_prev) / (spend_90d + spend_prev)
                    if spend_90d + spend_prev > 0
                    else NAN
                ),
                "orders_90d": last90["order_id"].nunique(),
                "category_diversity": len(cats),
                "promo_share": sum(d in promo_days for d in order_days) / len(order_days),
                "n_skus": buy["sku"].nunique(),
            }
        )
    cols = [
        "customer_id",
        "recency_days",
        "frequency",
        "monetary",
        "avg_order_value",
        "tenure_days",
        "n_returns",
        "returned_units",
        "return_rate",
        "ipi_mean_days",
        "ipi_std_days",
        "spend_90d",
        "spend_prev_90d",
        "spend_trend",
        "orders_90d",
        "category_diversity",
        "promo_share",
        "n_skus",
    ]
    return _rows(rows, cols)


def ref_customer_events(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> pd.DataFrame:
    """customer_events: events of the last 90 days, by loops over customers."""
    ev = _visible(_table(tables, "events"), cutoff, timedelta(days=90))
    rows = []
    for cid in sorted({c for c in ev["customer_id"] if not _is_null(c)}):
        g = ev[ev["customer_id"] == cid]
        kinds = list(g["event"])
        carts = kinds.count("cart")
        purchases = kinds.count("purchase")
        rows.append(
            {
                "customer_id": cid,
                "n_events": len(g),
                "n_views": kinds.count("view"),
                "n_carts": carts,
                "n_purchases": purchases,
                "n_skus": g["sku"].nunique(),
                "active_days": len({_day(t) for t in g["ts"]}),
                "cart_to_purchase_rate": purchases / carts if carts else NAN,
                "days_since_last_event": _days_between(g["ts"].max(), cutoff),
            }
        )
    cols = [
        "customer_id",
        "n_events",
        "n_views",
        "n_carts",
        "n_purchases",
        "n_skus",
        "active_days",
        "cart_to_purchase_rate",
        "days_since_last_event",
    ]
    return _rows(rows, cols)


def ref_customer_sku(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> pd.DataFrame:
    """customer_sku by loops over (customer, sku) pairs."""
    tx = _visible(_table(tables, "transactions"), cutoff)
    buy = tx[(tx["quantity"] > 0) & tx["customer_id"].notna() & tx["sku"].notna()]
    rows = []
    for (cid, sku), g in sorted(buy.groupby(["customer_id", "sku"]), key=lambda kv: kv[0]):
        days = sorted({_day(t) for t in g["ts"]})
        n_orders = g["order_id"].nunique()
        cust_orders = buy[buy["customer_id"] == cid]["order_id"].nunique()
        rows.append(
            {
                "customer_id": cid,
                "sku": sku,
                "n_orders": n_orders,
                "total_qty": float(g["quantity"].sum()),
                "spend": float((g["quantity"] * g["price"]).sum()),
                "first_purchase_days": _days_between(g["ts"].min(), cutoff),
                "last_purchase_days": _days_between(g["ts"].max(), cutoff),
                "n_purchase_days": len(days),
                "repurchase_interval_mean": (
                    _days_between(days[0], days[-1]) / (len(days) - 1) if len(days) > 1 else NAN
                ),
                "order_share": n_orders / cust_orders,
            }
        )
    cols = [
        "customer_id",
        "sku",
        "n_orders",
        "total_qty",
        "spend",
        "first_purchase_days",
        "last_purchase_days",
        "n_purchase_days",
        "repurchase_interval_mean",
        "order_share",
    ]
    return _rows(rows, cols)


# ---------------------------------------------------------------------------- sku
def _daily_sales(sale: pd.DataFrame) -> tuple[dict[pd.Timestamp, float], dict[pd.Timestamp, float]]:
    """Units and unit-weighted price per sale day."""
    units: dict[pd.Timestamp, float] = {}
    amount: dict[pd.Timestamp, float] = {}
    for _, r in sale.iterrows():
        d = _day(r["ts"])
        units[d] = units.get(d, 0.0) + float(r["quantity"])
        amount[d] = amount.get(d, 0.0) + float(r["quantity"] * r["price"])
    return units, {d: amount[d] / units[d] for d in units}


def _complete_days(first: pd.Timestamp, cutoff: pd.Timestamp) -> list[pd.Timestamp]:
    """Days from ``first`` whose end is at or before the cutoff."""
    out = []
    d = _day(first)
    while d < _day(cutoff):
        out.append(d)
        d += DAY
    return out


def ref_sku_demand(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> pd.DataFrame:
    """sku_demand by loops over SKUs."""
    tx = _visible(_table(tables, "transactions"), cutoff)
    tx = tx[tx["sku"].notna()]
    cal = _table(tables, "calendar")
    promo_days = {
        _day(r["date"])
        for _, r in cal.iterrows()
        if not _is_null(r["date"]) and not _is_null(r["is_promo"]) and bool(r["is_promo"])
    }
    rows = []
    for sku in sorted(set(tx["sku"])):
        g = tx[tx["sku"] == sku]
        sale = g[g["quantity"] > 0]
        ret = g[g["quantity"] < 0]
        total = float(sale["quantity"].sum())
        revenue = float((sale["quantity"] * sale["price"]).sum())
        units, day_price = _daily_sales(sale)
        grid = _complete_days(sale["ts"].min(), cutoff) if len(sale) else []
        daily = [units.get(d, 0.0) for d in grid]
        nonzero = [q for q in daily if q > 0]
        promo_q = [q for d, q in zip(grid, daily, strict=True) if d in promo_days]
        base_q = [q for d, q in zip(grid, daily, strict=True) if d not in promo_days]
        avg_price = _div(revenue, total)
        last_price = day_price[_day(sale["ts"].max())] if len(sale) else NAN
        returned = float(-ret["quantity"].sum())
        recent28 = sale[sale["ts"] >= cutoff - pd.Timedelta(days=28)]
        recent91 = sale[sale["ts"] >= cutoff - pd.Timedelta(days=91)]
        rows.append(
            {
                "sku": sku,
                "total_units": total,
                "units_28d": float(recent28["quantity"].sum()),
                "units_91d": float(recent91["quantity"].sum()),
                "revenue": revenue,
                "n_orders": sale["order_id"].nunique(),
                "n_customers": sale["customer_id"].dropna().nunique(),
                "first_sale_days": _days_between(sale["ts"].min(), cutoff) if len(sale) else NAN,
                "last_sale_days": _days_between(sale["ts"].max(), cutoff) if len(sale) else NAN,
                "n_grid_days": len(grid),
                "zero_share": 1.0 - len(nonzero) / len(grid) if grid else NAN,
                "adi": _div(float(len(grid)), float(len(nonzero))),
                "cv2": _var(nonzero) / _mean(nonzero) ** 2 if len(nonzero) > 1 else NAN,
                "avg_price": avg_price,
                "last_price": last_price,
                "price_change": _div(last_price, avg_price) - 1.0,
                "promo_uplift": _div(_mean(promo_q), _mean(base_q)),
                "returned_units": returned,
                "return_rate": _div(returned, total),
            }
        )
    cols = [
        "sku",
        "total_units",
        "units_28d",
        "units_91d",
        "revenue",
        "n_orders",
        "n_customers",
        "first_sale_days",
        "last_sale_days",
        "n_grid_days",
        "zero_share",
        "adi",
        "cv2",
        "avg_price",
        "last_price",
        "price_change",
        "promo_uplift",
        "returned_units",
        "return_rate",
    ]
    return _rows(rows, cols)


def _series_row(
    qty: list[float],
    prices: list[float],
    i: int,
    lags: tuple[int, ...],
    windows: tuple[int, ...],
    quantile_window: int | None,
) -> dict[str, float]:
    """Lag / rolling features of position ``i`` of a dense series, by slicing."""
    out: dict[str, float] = {"qty": qty[i]}
    for k in lags:
        out[f"lag_{k}"] = qty[i - k] if i - k >= 0 else NAN
    for w in windows:
        win = qty[max(0, i - w) : i]
        out[f"roll_mean_{w}"] = _mean(win)
        out[f"roll_std_{w}"] = _std(win)
    if quantile_window is not None:
        win = qty[max(0, i - quantile_window) : i]
        q = quantile_window
        out[f"roll_median_{q}"] = float(np.quantile(win, 0.5)) if win else NAN
        out[f"roll_q90_{q}"] = float(np.quantile(win, 0.9)) if win else NAN
    w = windows[-1]
    win = qty[max(0, i - w) : i]
    out[f"zero_share_{w}"] = _mean([1.0 if q == 0 else 0.0 for q in win])
    earlier = [p for p in prices[:i] if not math.isnan(p)]
    out["last_price"] = earlier[-1] if earlier else NAN
    return out


def ref_sku_daily(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> pd.DataFrame:
    """sku_daily: a dense daily series per SKU, features by slicing the series."""
    tx = _visible(_table(tables, "transactions"), cutoff)
    sale = tx[(tx["quantity"] > 0) & tx["sku"].notna()]
    cal = calendar_table(_table(tables, "calendar"), store_dates(tables, cutoff)).set_index("date")
    rows = []
    for sku in sorted(set(sale["sku"])):
        g = sale[sale["sku"] == sku]
        units, day_price = _daily_sales(g)
        grid = _complete_days(g["ts"].min(), cutoff)
        qty = [units.get(d, 0.0) for d in grid]
        prices = [day_price.get(d, NAN) for d in grid]
        for i, d in enumerate(grid):
            row = {"sku": sku, "date": d}
            row.update(_series_row(qty, prices, i, (1, 7, 14, 28), (7, 28), 28))
            c = cal.loc[d]
            for col in (
                "day_of_week",
                "is_promo",
                "event",
                "days_to_next_promo",
                "days_since_last_promo",
            ):
                row[col] = c[col]
            rows.append(row)
    cols = [
        "sku",
        "date",
        "qty",
        "lag_1",
        "lag_7",
        "lag_14",
        "lag_28",
        "roll_mean_7",
        "roll_std_7",
        "roll_mean_28",
        "roll_std_28",
        "roll_median_28",
        "roll_q90_28",
        "zero_share_28",
        "last_price",
        "day_of_week",
        "is_promo",
        "event",
        "days_to_next_promo",
        "days_since_last_promo",
    ]
    return _rows(rows, cols)


def _monday(ts: pd.Timestamp) -> pd.Timestamp:
    d = _day(ts)
    return d - pd.Timedelta(days=d.dayofweek)


def ref_sku_weekly(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> pd.DataFrame:
    """sku_weekly: a dense series of complete Monday weeks per SKU."""
    tx = _visible(_table(tables, "transactions"), cutoff)
    sale = tx[(tx["quantity"] > 0) & tx["sku"].notna()]
    cal = _table(tables, "calendar")
    promo_days: set[pd.Timestamp] = set()
    event_days: set[pd.Timestamp] = set()
    for _, r in cal.iterrows():
        if _is_null(r["date"]):
            continue
        if not _is_null(r["is_promo"]) and bool(r["is_promo"]):
            promo_days.add(_day(r["date"]))
        if not _is_null(r["event"]):
            event_days.add(_day(r["date"]))
    rows = []
    for sku in sorted(set(sale["sku"])):
        g = sale[sale["sku"] == sku]
        units: dict[pd.Timestamp, float] = {}
        amount: dict[pd.Timestamp, float] = {}
        for _, r in g.iterrows():
            w = _monday(r["ts"])
            units[w] = units.get(w, 0.0) + float(r["quantity"])
            amount[w] = amount.get(w, 0.0) + float(r["quantity"] * r["price"])
        weeks = []
        w = _monday(g["ts"].min())
        while w + pd.Timedelta(days=7) <= _day(cutoff):
            weeks.append(w)
            w += pd.Timedelta(days=7)
        qty = [units.get(w, 0.0) for w in weeks]
        prices = [amount[w] / units[w] if w in units else NAN for w in weeks]
        for i, w in enumerate(weeks):
            row = {"sku": sku, "week": w}
            row.update(_series_row(qty, prices, i, (1, 2, 4, 8, 52), (4, 13), None))
            days = [w + pd.Timedelta(days=k) for k in range(7)]
            row["week_of_year"] = int(w.isocalendar()[1])
            row["promo_days"] = sum(d in promo_days for d in days)
            row["event_days"] = sum(d in event_days for d in days)
            rows.append(row)
    cols = [
        "sku",
        "week",
        "qty",
        "lag_1",
        "lag_2",
        "lag_4",
        "lag_8",
        "lag_52",
        "roll_mean_4",
        "roll_std_4",
        "roll_mean_13",
        "roll_std_13",
        "zero_share_13",
        "last_price",
        "week_of_year",
        "promo_days",
        "event_days",
    ]
    return _rows(rows, cols)


#: view name -> reference function
REFERENCES: dict[str, Callable[[dict[str, pd.DataFrame], pd.Timestamp], pd.DataFrame]] = {
    "customer_rfm": ref_customer_rfm,
    "customer_events": ref_customer_events,
    "sku_demand": ref_sku_demand,
    "sku_daily": ref_sku_daily,
    "sku_weekly": ref_sku_weekly,
    "customer_sku": ref_customer_sku,
    "calendar_features": ref_calendar_features,
}


# ---------------------------------------------------------------------------- strategies
def shops():  # noqa: ANN201 - returns a hypothesis strategy
    """Hypothesis strategy: ``(tables, cutoff)``, small random canonical tables and a cutoff.

    A handful of customers and SKUs; transactions dense over ~60 days plus sparse older
    history (so 90/180-day windows are exercised); negative and zero quantities; NULL
    customer ids; duplicate timestamps (hour/minute drawn from small sets); calendars
    with duplicate dates and dates after the data; catalog sometimes absent, and the
    optional ``category`` column sometimes absent. A few rows sit right at the window
    boundaries relative to the cutoff (1, 28, 90, 91 and 180 days before it, give or take
    a second, and exactly at the cutoff) so off-by-one errors show up.
    """
    from hypothesis import strategies as st

    base = BASE
    customers = st.sampled_from([None, "c0", "c1", "c2", "c3"])
    skus = st.sampled_from(["s0", "s1", "s2", "s3"])
    hours = st.sampled_from([0, 9, 13, 23])
    minutes = st.sampled_from([0, 30])
    tx_row = st.tuples(
        st.sampled_from([f"o{i}" for i in range(12)]),
        customers,
        skus,
        st.one_of(st.integers(150, 209), st.integers(0, 209)),
        hours,
        minutes,
        st.sampled_from([-2.0, -1.0, 0.0, 1.0, 1.0, 2.0, 3.0, 5.0]),
        st.sampled_from([0.5, 1.0, 2.5, 10.0]),
        st.one_of(st.none(), st.sampled_from(["toys", "food"])),
    )
    ev_row = st.tuples(
        st.sampled_from([None, "c0", "c1", "c2", "c4"]),
        skus,
        st.integers(60, 230),
        hours,
        st.sampled_from(["view", "view", "cart", "purchase"]),
    )
    cal_row = st.tuples(
        st.integers(100, 260),
        st.one_of(st.none(), st.sampled_from(["sale", "xmas"])),
        st.booleans(),
    )
    cat_row = st.tuples(skus, st.one_of(st.none(), st.sampled_from(["toys", "food", "garden"])))
    edge_age = st.tuples(
        st.sampled_from([0, 1, 7, 28, 90, 91, 180]),
        st.sampled_from([-1, 0, 1]),
    ).map(lambda a: pd.Timedelta(days=a[0], seconds=a[1]))

    @st.composite
    def build(draw):  # noqa: ANN001, ANN202
        def rows(row, most):  # noqa: ANN001, ANN202 - sizes spread evenly, not mostly tiny
            n = draw(st.integers(0, most))
            return draw(st.lists(row, min_size=n, max_size=n))

        cutoff = draw(cutoffs())
        txs = rows(tx_row, 60)
        for r in rows(st.tuples(tx_row, edge_age), 6):
            ts = cutoff - r[1]
            day = int((ts.normalize() - base) / DAY)
            secs = int((ts - ts.normalize()) / pd.Timedelta(seconds=1))
            txs.append((*r[0][:3], day, 0, 0, *r[0][6:], secs))
        evs = rows(ev_row, 30)
        ev_edges = [
            (*r[0][:2], cutoff - r[1], r[0][4]) for r in rows(st.tuples(ev_row, edge_age), 4)
        ]
        cals = rows(cal_row, 25)
        cats = rows(cat_row, 5)
        with_category = draw(st.booleans())
        with_catalog = draw(st.booleans())
        tx = pd.DataFrame(
            {
                "order_id": pd.Series([r[0] for r in txs], dtype=object),
                "customer_id": pd.Series([r[1] for r in txs], dtype=object),
                "sku": pd.Series([r[2] for r in txs], dtype=object),
                "ts": pd.Series(
                    [
                        base
                        + pd.Timedelta(days=r[3], hours=r[4], minutes=r[5])
                        + pd.Timedelta(seconds=r[9] if len(r) > 9 else 0)
                        for r in txs
                    ],
                    dtype="datetime64[ns]",
                ),
                "quantity": pd.Series([r[6] for r in txs], dtype="float64"),
                "price": pd.Series([r[7] for r in txs], dtype="float64"),
            }
        )
        if with_category:
            tx["category"] = pd.Series([r[8] for r in txs], dtype=object)
        ev = pd.DataFrame(
            {
                "customer_id": pd.Series([r[0] for r in evs + ev_edges], dtype=object),
                "sku": pd.Series([r[1] for r in evs + ev_edges], dtype=object),
                "ts": pd.Series(
                    [base + pd.Timedelta(days=r[2], hours=r[3]) for r in evs]
                    + [r[2] for r in ev_edges],
                    dtype="datetime64[ns]",
                ),
                "event": pd.Series([r[4] for r in evs] + [r[3] for r in ev_edges], dtype=object),
            }
        )
        cal = pd.DataFrame(
            {
                "date": pd.Series(
                    [base + pd.Timedelta(days=r[0]) for r in cals], dtype="datetime64[ns]"
                ),
                "event": pd.Series([r[1] for r in cals], dtype=object),
                "is_promo": pd.Series([r[2] for r in cals], dtype=bool),
            }
        )
        tables = {"transactions": tx, "events": ev, "calendar": cal}
        if with_catalog:
            tables["catalog"] = pd.DataFrame(
                {
                    "sku": pd.Series([r[0] for r in cats], dtype=object),
                    "category": pd.Series([r[1] for r in cats], dtype=object),
                    "price": pd.Series([1.0] * len(cats), dtype="float64"),
                    "cost": pd.Series([0.5] * len(cats), dtype="float64"),
                    "active": pd.Series([True] * len(cats), dtype=bool),
                }
            )
        return tables, cutoff

    return build()


def shop_tables():  # noqa: ANN201 - returns a hypothesis strategy
    """Hypothesis strategy: the tables of :func:`shops` alone."""
    return shops().map(lambda tc: tc[0])


def cutoffs():  # noqa: ANN201 - returns a hypothesis strategy
    """Hypothesis strategy: a cutoff inside or after the data, mostly at midnight."""
    from hypothesis import strategies as st

    return st.builds(
        lambda d, h: BASE + pd.Timedelta(days=d, hours=h),
        st.integers(140, 230),
        st.sampled_from([0, 0, 0, 12]),
    )


#: Monday the synthetic data starts on.
BASE = pd.Timestamp("2021-01-04")


def make_store(tables: dict[str, pd.DataFrame]):  # noqa: ANN201
    """A FeatureStore with the built-in views and ``tables`` registered."""
    from ecomml.features.store import FeatureStore

    store = FeatureStore()
    for name, frame in tables.items():
        store.register(name, frame)
    return store
