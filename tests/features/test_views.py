"""The built-in feature views against their pandas references, plus hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from ecomml.features.views import builtin_views, calendar_frame
from tests.features._reference import (
    BASE,
    REFERENCES,
    calendar_table,
    make_store,
    shops,
)

VIEWS = [v.name for v in builtin_views()]
HYPO = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _features(store, view: str, cutoff, keys=None) -> pd.DataFrame:  # noqa: ANN001
    """get_features without the cutoff column and the ``{view}__`` prefix."""
    out = store.get_features(view, cutoff=cutoff, keys=keys)
    out = out.drop(columns="cutoff")
    return out.rename(columns=lambda c: c.split("__", 1)[1] if "__" in c else c)


def assert_same_rows(got: pd.DataFrame, want: pd.DataFrame, keys: list[str], *, what: str) -> None:
    """Same keys, same columns; integers exact, floats to rtol 1e-9, nulls aligned."""
    assert list(got.columns) == list(want.columns), (
        f"{what}: columns differ\n got  {list(got.columns)}\n want {list(want.columns)}"
    )
    got = got.sort_values(keys, kind="stable").reset_index(drop=True)
    want = want.sort_values(keys, kind="stable").reset_index(drop=True)
    assert len(got) == len(want), (
        f"{what}: {len(got)} rows, reference has {len(want)}\n"
        f"got keys  {got[keys].values.tolist()}\nwant keys {want[keys].values.tolist()}"
    )
    for k in keys:
        g = pd.to_datetime(got[k]) if k in ("date", "week") else got[k].astype(object)
        w = pd.to_datetime(want[k]) if k in ("date", "week") else want[k].astype(object)
        assert g.tolist() == w.tolist(), f"{what}: key {k} differs"
    for col in got.columns:
        if col in keys:
            continue
        g, w = got[col], want[col]
        if g.dtype == object or w.dtype == object:
            gv = [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in g]
            wv = [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in w]
            assert gv == wv, f"{what}: column {col} differs\n got  {gv}\n want {wv}"
            continue
        ga = pd.to_numeric(g).astype("float64").to_numpy()
        wa = pd.to_numeric(w).astype("float64").to_numpy()
        gnull, wnull = np.isnan(ga), np.isnan(wa)
        bad_null = np.flatnonzero(gnull != wnull)
        assert not len(bad_null), (
            f"{what}: column {col} null mismatch at rows {bad_null[:5].tolist()}\n"
            f"{got.loc[bad_null[:5], keys + [col]]}\nwant {wa[bad_null[:5]]}"
        )
        ok = ~gnull
        if pd.api.types.is_integer_dtype(g.dtype):
            exact = ga[ok] == wa[ok]
            assert exact.all(), f"{what}: integer column {col} differs: {ga[ok]} vs {wa[ok]}"
        else:
            close = np.isclose(ga[ok], wa[ok], rtol=1e-9, atol=1e-12)
            bad = np.flatnonzero(ok)[~close]
            assert close.all(), (
                f"{what}: column {col} differs at rows {bad[:5].tolist()}\n"
                f"{got.loc[bad[:5], keys + [col]]}\nwant {wa[bad[:5]]}"
            )


def _keys(view: str) -> list[str]:
    return list(next(v for v in builtin_views() if v.name == view).entity.keys)


@HYPO
@given(shop=shops())
def test_every_view_equals_reference(shop) -> None:  # noqa: ANN001
    """Every built-in view equals its reference on each random shop: one drawn shop and one
    store serve all the views, so each view still meets every shop, at a seventh of the draws."""
    tables, cutoff = shop
    store = make_store(tables)
    for view in VIEWS:
        got = _features(store, view, cutoff)
        want = REFERENCES[view](tables, cutoff)
        assert_same_rows(got, want, _keys(view), what=f"{view} at {cutoff}")


def test_every_builtin_view_has_a_reference_and_documented_features() -> None:
    store = make_store({"transactions": _tx([])})
    for v in builtin_views():
        assert v.name in REFERENCES
        cols = [c for c, _ in store.feature_columns(v)]
        documented = []
        for doc in v.features:
            names, _ = doc.split(": ", 1)
            documented += [n.strip() for n in names.split(",")]
        assert documented == cols, f"{v.name}: features tuple {documented} != columns {cols}"


# ---------------------------------------------------------------------------- examples
def _tx(rows: list[tuple]) -> pd.DataFrame:
    """rows of (order_id, customer_id, sku, ts, quantity, price)."""
    return pd.DataFrame(
        {
            "order_id": pd.Series([r[0] for r in rows], dtype=object),
            "customer_id": pd.Series([r[1] for r in rows], dtype=object),
            "sku": pd.Series([r[2] for r in rows], dtype=object),
            "ts": pd.Series([pd.Timestamp(r[3]) for r in rows], dtype="datetime64[ns]"),
            "quantity": pd.Series([r[4] for r in rows], dtype="float64"),
            "price": pd.Series([r[5] for r in rows], dtype="float64"),
        }
    )


CAL = pd.DataFrame(
    {
        "date": pd.to_datetime(["2021-01-05", "2021-01-09", "2021-01-20"]),
        "event": ["sale", None, "holiday"],
        "is_promo": [True, True, False],
    }
)


def _store(rows: list[tuple], **tables: pd.DataFrame):  # noqa: ANN202
    return make_store({"transactions": _tx(rows), "calendar": CAL, **tables})


def test_customer_rfm_three_orders() -> None:
    store = _store(
        [
            ("o1", "c1", "a", "2021-01-01 10:00", 1.0, 10.0),
            ("o1", "c1", "b", "2021-01-01 10:00", 2.0, 5.0),
            ("o2", "c1", "a", "2021-01-05 18:00", 1.0, 20.0),
            ("o3", "c1", "c", "2021-01-09 08:00", 3.0, 1.0),
            ("o4", "c1", "a", "2021-01-10 09:00", -1.0, 10.0),
            ("o5", None, "a", "2021-01-10 09:00", 5.0, 10.0),
        ]
    )
    f = _features(store, "customer_rfm", "2021-01-11").set_index("customer_id").loc["c1"]
    assert f["recency_days"] == 2
    assert f["frequency"] == 3
    assert f["monetary"] == 43.0
    assert f["avg_order_value"] == pytest.approx(43.0 / 3)
    assert f["tenure_days"] == 10
    assert f["n_returns"] == 1
    assert f["return_rate"] == pytest.approx(1 / 7)
    assert f["ipi_mean_days"] == 4.0 and f["ipi_std_days"] == 0.0
    assert f["promo_share"] == pytest.approx(2 / 3)  # Jan 5 and Jan 9 are promo days
    assert f["n_skus"] == 3
    assert f["spend_trend"] == 1.0  # everything in the last 90 days
    # the guest row (NULL customer) makes no customer
    assert len(_features(store, "customer_rfm", "2021-01-11")) == 1


def test_spend_trend_compares_the_last_two_90_day_windows() -> None:
    store = _store(
        [
            ("o1", "c1", "a", "2021-01-01", 1.0, 30.0),  # 150 days before: previous window
            ("o2", "c1", "a", "2021-05-20", 1.0, 10.0),  # 11 days before: last window
        ]
    )
    f = _features(store, "customer_rfm", "2021-05-31").iloc[0]
    assert (f["spend_90d"], f["spend_prev_90d"]) == (10.0, 30.0)
    assert f["spend_trend"] == pytest.approx((10 - 30) / 40)
    assert f["orders_90d"] == 1


def test_sku_demand_adi_and_cv2_on_a_known_series() -> None:
    # grid Jan 1 .. Jan 10 (10 complete days); sales of 2, 4, 6 units on three days
    store = _store(
        [
            ("o1", "c1", "x", "2021-01-01 09:00", 2.0, 1.0),
            ("o2", "c2", "x", "2021-01-03 09:00", 1.0, 1.0),
            ("o3", "c3", "x", "2021-01-03 17:00", 3.0, 1.0),
            ("o4", "c1", "x", "2021-01-07 09:00", 6.0, 2.0),
            ("o5", "c1", "x", "2021-01-08 09:00", -2.0, 2.0),
        ]
    )
    f = _features(store, "sku_demand", "2021-01-11").iloc[0]
    assert f["n_grid_days"] == 10
    assert f["zero_share"] == pytest.approx(0.7)
    assert f["adi"] == pytest.approx(10 / 3)
    assert f["cv2"] == pytest.approx(4.0 / 16.0)  # sizes 2, 4, 6: var 4, mean 4
    assert f["total_units"] == 12.0 and f["returned_units"] == 2.0
    assert f["return_rate"] == pytest.approx(2 / 12)
    assert f["avg_price"] == pytest.approx(18 / 12)
    assert f["last_price"] == 2.0 and f["price_change"] == pytest.approx(2 / 1.5 - 1)
    assert f["first_sale_days"] == 10 and f["last_sale_days"] == 4
    assert f["n_customers"] == 3 and f["n_orders"] == 4
    # promo days Jan 5 and Jan 9 had no sales: uplift 0 / (12 / 8)
    assert f["promo_uplift"] == 0.0


def test_sku_daily_lags_rolling_and_partial_day() -> None:
    rows = [
        (f"o{i}", "c1", "x", f"2021-01-{d:02d} 10:00", q, p)
        for i, (d, q, p) in enumerate([(1, 1.0, 2.0), (2, 2.0, 2.0), (4, 4.0, 3.0), (8, 8.0, 3.0)])
    ]
    rows.append(("o9", "c1", "x", "2021-01-09 08:00", 100.0, 9.0))  # the partial cutoff day
    store = _store(rows)
    f = _features(store, "sku_daily", "2021-01-09 12:00")
    assert pd.to_datetime(f["date"]).dt.day.tolist() == list(range(1, 9))  # Jan 9 is partial
    assert f["qty"].tolist() == [1.0, 2.0, 0.0, 4.0, 0.0, 0.0, 0.0, 8.0]
    last = f.iloc[-1]  # Jan 8
    assert last["lag_1"] == 0.0 and last["lag_7"] == 1.0 and np.isnan(last["lag_14"])
    assert last["roll_mean_7"] == 1.0  # Jan 1..7 (7 units), not Jan 8 itself
    assert last["roll_std_7"] == pytest.approx(np.std([1, 2, 0, 4, 0, 0, 0], ddof=1))
    assert last["roll_median_28"] == 0.0
    assert last["zero_share_28"] == pytest.approx(4 / 7)
    assert last["last_price"] == 3.0  # from Jan 4, not from the row's own day
    assert f["last_price"].isna().tolist()[:2] == [True, False]
    assert f.iloc[4]["is_promo"] == 1 and f.iloc[4]["event"] == "sale"  # Jan 5
    assert f.set_index(pd.to_datetime(f["date"])).loc["2021-01-05", "days_to_next_promo"] == 0


def test_sku_weekly_keeps_complete_weeks_only() -> None:
    # Mondays: Jan 4, 11, 18. Cutoff Wednesday Jan 20: the week of Jan 18 is cut, left out.
    store = _store(
        [
            ("o1", "c1", "x", "2021-01-05", 2.0, 1.0),
            ("o2", "c1", "x", "2021-01-17 23:00", 3.0, 2.0),
            ("o3", "c1", "x", "2021-01-19", 5.0, 2.0),
        ]
    )
    f = _features(store, "sku_weekly", "2021-01-20")
    assert pd.to_datetime(f["week"]).dt.strftime("%m-%d").tolist() == ["01-04", "01-11"]
    assert f["qty"].tolist() == [2.0, 3.0]
    assert f["promo_days"].tolist() == [2, 0]  # Jan 5 and Jan 9
    assert f["lag_1"].isna().tolist() == [True, False]
    assert f.iloc[1]["last_price"] == 1.0
    # a Monday-midnight cutoff closes the previous week
    g = _features(store, "sku_weekly", "2021-01-25")
    assert pd.to_datetime(g["week"]).dt.strftime("%m-%d").tolist() == ["01-04", "01-11", "01-18"]


def test_customer_sku_repurchase_interval_and_share() -> None:
    store = _store(
        [
            ("o1", "c1", "x", "2021-01-01", 1.0, 1.0),
            ("o1", "c1", "y", "2021-01-01", 1.0, 1.0),
            ("o2", "c1", "x", "2021-01-04", 2.0, 1.0),
            ("o3", "c1", "x", "2021-01-10", 1.0, 1.0),
            ("o4", "c1", "y", "2021-01-10", -1.0, 1.0),
        ]
    )
    f = _features(store, "customer_sku", "2021-01-11").set_index("sku")
    assert f.loc["x", "n_orders"] == 3 and f.loc["x", "total_qty"] == 4.0
    assert f.loc["x", "repurchase_interval_mean"] == pytest.approx(4.5)
    assert f.loc["x", "order_share"] == 1.0 and f.loc["y", "order_share"] == pytest.approx(1 / 3)
    assert np.isnan(f.loc["y", "repurchase_interval_mean"])
    assert f.loc["y", "last_purchase_days"] == 10


def test_customer_events_counts_and_fill() -> None:
    ev = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c1", "c2"],
            "sku": ["x", "x", "y", "x"],
            "ts": pd.to_datetime(["2021-01-02", "2021-01-03", "2021-01-03", "2021-01-05"]),
            "event": ["view", "cart", "purchase", "view"],
        }
    )
    store = _store([("o1", "c1", "x", "2021-01-01", 1.0, 1.0)], events=ev)
    keys = pd.DataFrame({"customer_id": ["c1", "c2", "nobody"]})
    f = _features(store, "customer_events", "2021-01-06", keys=keys).set_index("customer_id")
    assert f.loc["c1", ["n_views", "n_carts", "n_purchases", "n_skus"]].tolist() == [1, 1, 1, 2]
    assert f.loc["c1", "cart_to_purchase_rate"] == 1.0
    assert f.loc["c1", "days_since_last_event"] == 3
    assert np.isnan(f.loc["c2", "cart_to_purchase_rate"])
    assert f.loc["nobody", ["n_events", "n_views", "n_carts"]].tolist() == [0, 0, 0]
    assert pd.isna(f.loc["nobody", "days_since_last_event"])


def test_counts_are_filled_with_zero_for_unknown_keys() -> None:
    store = _store([("o1", "c1", "x", "2021-01-01", 1.0, 1.0)])
    f = _features(store, "sku_demand", "2021-01-11", keys=pd.DataFrame({"sku": ["x", "new"]}))
    new = f.set_index("sku").loc["new"]
    assert new["total_units"] == 0 and new["n_orders"] == 0 and pd.isna(new["adi"])
    g = _features(
        store, "customer_rfm", "2021-01-11", keys=pd.DataFrame({"customer_id": ["zz"]})
    ).iloc[0]
    assert g["frequency"] == 0 and g["monetary"] == 0 and pd.isna(g["recency_days"])


def test_calendar_frame_matches_the_view_and_covers_future_dates() -> None:
    store = _store([("o1", "c1", "x", "2021-01-01", 1.0, 1.0)])
    view = _features(store, "calendar_features", "2021-01-15")
    frame = calendar_frame(pd.date_range("2021-01-01", "2021-01-14"), calendar=CAL)
    assert_same_rows(frame, view, ["date"], what="calendar_frame vs view")
    future = calendar_frame(["2021-01-19 15:00", "2021-01-21", "2021-01-19"], calendar=CAL)
    want = calendar_table(CAL, [pd.Timestamp("2021-01-19"), pd.Timestamp("2021-01-21")])
    assert_same_rows(future, want, ["date"], what="future calendar_frame")
    assert future["days_since_last_promo"].tolist() == [10, 12]
    assert future["days_to_next_promo"].isna().all()
    assert future["event"].tolist() == [None, None]


def test_calendar_features_day_of_week_matches_pandas() -> None:
    days = pd.date_range(BASE - pd.Timedelta(days=9000), periods=30, freq="37D")
    f = calendar_frame(days, calendar=CAL)
    assert f["day_of_week"].tolist() == list(days.dayofweek)
    assert f["week_of_year"].tolist() == [int(w) for w in days.isocalendar().week]
