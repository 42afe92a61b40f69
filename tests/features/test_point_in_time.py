"""Point-in-time properties of the built-in views and of ``ecomml.testing``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecomml.exceptions import SchemaError
from ecomml.features.views import builtin_views
from ecomml.testing import assert_cutoff_invariant, make_future_rows
from tests.features._reference import BASE, cutoffs, make_store, shop_tables, shops

VIEWS = [v.name for v in builtin_views()]
HYPO = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ALL_KEYS = ["customer_id", "sku", "date", "week"]


def _later_rows(data: st.DataObject, cutoff: pd.Timestamp, tables: dict) -> tuple:
    """Any transactions and events dated at or after the cutoff (exactly at it, often)."""
    offset = st.one_of(
        st.just(pd.Timedelta(0)),
        st.integers(0, 200 * 24 * 60).map(lambda m: pd.Timedelta(minutes=m)),
    )
    customers = st.sampled_from([None, "c0", "c1", "c2", "c3", "new-c"])
    skus = st.sampled_from(["s0", "s1", "s2", "s3", "new-s"])
    tx_rows = data.draw(
        st.lists(
            st.tuples(
                st.sampled_from(["o0", "o1", "o5", "new-o"]),
                customers,
                skus,
                offset,
                st.sampled_from([-3.0, -1.0, 0.0, 1.0, 4.0]),
                st.sampled_from([0.5, 1.0, 10.0]),
            ),
            min_size=1,
            max_size=15,
        ),
        label="transactions at/after cutoff",
    )
    ev_rows = data.draw(
        st.lists(
            st.tuples(customers, skus, offset, st.sampled_from(["view", "cart", "purchase"])),
            max_size=8,
        ),
        label="events at/after cutoff",
    )
    tx = tables["transactions"]
    extra = pd.DataFrame(
        {
            "order_id": [r[0] for r in tx_rows],
            "customer_id": pd.Series([r[1] for r in tx_rows], dtype=object),
            "sku": [r[2] for r in tx_rows],
            "ts": pd.Series([cutoff + r[3] for r in tx_rows], dtype="datetime64[ns]"),
            "quantity": [r[4] for r in tx_rows],
            "price": [r[5] for r in tx_rows],
        }
    )
    if "category" in tx.columns:
        extra["category"] = "toys"
    ev_extra = pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in ev_rows], dtype=object),
            "sku": pd.Series([r[1] for r in ev_rows], dtype=object),
            "ts": pd.Series([cutoff + r[2] for r in ev_rows], dtype="datetime64[ns]"),
            "event": pd.Series([r[3] for r in ev_rows], dtype=object),
        }
    )
    return extra, ev_extra


# 12 shops, each with up to 15 transactions and 8 events at or after its cutoff (half of them
# exactly at it), each checked on every view; test_assert_cutoff_invariant_* add fixed cases
@settings(HYPO, max_examples=12)
@given(shop=shops(), data=st.data())
def test_rows_at_or_after_cutoff_never_change_any_feature(shop, data) -> None:  # noqa: ANN001
    tables, cutoff = shop
    extra_tx, extra_ev = _later_rows(data, cutoff, tables)
    later = dict(tables)
    later["transactions"] = pd.concat([tables["transactions"], extra_tx], ignore_index=True)
    later["events"] = pd.concat([tables["events"], extra_ev], ignore_index=True)
    before, after = make_store(tables), make_store(later)
    for view in VIEWS:
        a = before.get_features(view, cutoff=cutoff)
        b = after.get_features(view, cutoff=cutoff)
        pd.testing.assert_frame_equal(a, b, obj=f"{view} at {cutoff}")


@HYPO
@given(shop=shops(), data=st.data())
def test_lookback_view_ignores_rows_older_than_the_lookback(shop, data) -> None:  # noqa: ANN001
    tables, cutoff = shop
    n = data.draw(st.integers(1, 10), label="old events")
    ages = data.draw(st.lists(st.integers(90 * 24 * 60 + 1, 400 * 24 * 60), min_size=n, max_size=n))
    old = pd.DataFrame(
        {
            "customer_id": pd.Series(["c0", "c1", "old-c"] * 4, dtype=object)[:n],
            "sku": ["s0"] * n,
            "ts": pd.Series(
                [cutoff - pd.Timedelta(minutes=a) for a in ages], dtype="datetime64[ns]"
            ),
            "event": ["cart"] * n,
        }
    )
    later = {**tables, "events": pd.concat([tables["events"], old], ignore_index=True)}
    a = make_store(tables).get_features("customer_events", cutoff=cutoff)
    b = make_store(later).get_features("customer_events", cutoff=cutoff)
    pd.testing.assert_frame_equal(a, b)


def test_lookback_boundary_is_inclusive() -> None:
    cutoff = pd.Timestamp("2021-06-01")
    ev = pd.DataFrame(
        {
            "customer_id": ["in", "out"],
            "sku": ["x", "x"],
            "ts": [cutoff - pd.Timedelta(days=90), cutoff - pd.Timedelta(days=90, seconds=1)],
            "event": ["view", "view"],
        }
    )
    tx = pd.DataFrame(
        {
            "order_id": ["o"],
            "customer_id": ["in"],
            "sku": ["x"],
            "ts": [cutoff - pd.Timedelta(days=200)],
            "quantity": [1.0],
            "price": [1.0],
        }
    )
    cal = pd.DataFrame({"date": [cutoff], "event": [None], "is_promo": [False]})
    store = make_store({"transactions": tx, "events": ev, "calendar": cal})
    f = store.get_features("customer_events", cutoff=cutoff)
    assert f["customer_id"].tolist() == ["in"]
    assert f["customer_events__days_since_last_event"].tolist() == [90]


def _label_frame(data: st.DataObject, cuts: list[pd.Timestamp]) -> pd.DataFrame:
    n = data.draw(st.integers(1, 12), label="label rows")
    day = st.integers(140, 230).map(lambda d: BASE + pd.Timedelta(days=d))
    rows = data.draw(
        st.lists(
            st.tuples(
                st.sampled_from(["c0", "c1", "c2", "c4", "zz"]),
                st.sampled_from(["s0", "s1", "s3", "s9"]),
                day,
                st.sampled_from(cuts),
                st.integers(0, 1),
            ),
            min_size=n,
            max_size=n,
        ),
        label="labels",
    )
    labels = pd.DataFrame(rows, columns=["customer_id", "sku", "date", "cutoff", "y"])
    labels["week"] = labels["date"] - pd.to_timedelta(labels["date"].dt.dayofweek, unit="D")
    # duplicates on purpose: the join must keep them, in order
    dup = data.draw(st.lists(st.integers(0, n - 1), max_size=3), label="duplicated rows")
    labels = pd.concat([labels, labels.iloc[dup]], ignore_index=True)
    labels["row"] = np.arange(len(labels))
    return labels[["customer_id", "cutoff", "sku", "y", "date", "week", "row"]]


@settings(HYPO, max_examples=8)  # each shop: 2-4 cutoffs, every view, duplicated label rows
@given(
    tables=shop_tables(),
    cuts=st.lists(cutoffs(), min_size=2, max_size=4, unique=True),
    data=st.data(),
)
def test_training_frame_equals_stacked_get_features(tables, cuts, data) -> None:  # noqa: ANN001
    store = make_store(tables)
    labels = _label_frame(data, cuts)
    tf = store.training_frame(labels, VIEWS)
    # row order and duplicates kept; label columns untouched
    pd.testing.assert_frame_equal(
        tf[labels.columns].reset_index(drop=True),
        labels.assign(cutoff=pd.to_datetime(labels["cutoff"])),
        check_dtype=False,
    )
    parts = []
    for cut in labels["cutoff"].unique():
        keys = labels[labels["cutoff"] == cut].drop(columns="cutoff")
        parts.append(store.get_features(VIEWS, cutoff=cut, keys=keys))
    stacked = pd.concat(parts, ignore_index=True).sort_values("row", kind="stable")
    stacked = stacked[tf.columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(tf, stacked, check_dtype=False)


# ---------------------------------------------------------------------------- ecomml.testing
def _shop(rng: np.random.Generator, n: int = 300) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in rng.integers(0, 120, n)],
            "customer_id": pd.Series(
                [
                    None if r < 0.1 else f"c{k}"
                    for r, k in zip(rng.random(n), rng.integers(0, 15, n), strict=True)
                ],
                dtype=object,
            ),
            "sku": [f"s{i}" for i in rng.integers(0, 6, n)],
            "ts": BASE + pd.to_timedelta(rng.integers(0, 90 * 24 * 60, n), unit="min"),
            "quantity": rng.choice([-1.0, 1.0, 2.0, 3.0], n),
            "price": rng.choice([1.0, 2.5, 10.0], n),
        }
    )


CAL = pd.DataFrame(
    {
        "date": pd.date_range(BASE, periods=12, freq="11D"),
        "event": ["sale", None] * 6,
        "is_promo": [True, False, True] * 4,
    }
)


@pytest.mark.parametrize("view", VIEWS)
def test_assert_cutoff_invariant_accepts_get_features(view: str) -> None:
    rng = np.random.default_rng(0)
    tx = _shop(rng)
    cutoff = BASE + pd.Timedelta(days=60)

    def run(frame: pd.DataFrame) -> pd.DataFrame:
        return make_store({"transactions": frame, "calendar": CAL}).get_features(
            view, cutoff=cutoff
        )

    assert_cutoff_invariant(run, tx, cutoff, rng=rng)


@pytest.mark.parametrize(
    "leak",
    [
        lambda df, cut: df,  # no filter at all
        lambda df, cut: df[df["ts"] <= cut],  # the classic off-by-one
    ],
    ids=["no-filter", "inclusive-cutoff"],
)
def test_assert_cutoff_invariant_catches_a_leak(leak) -> None:  # noqa: ANN001
    rng = np.random.default_rng(1)
    tx = _shop(rng)
    cutoff = BASE + pd.Timedelta(days=60)

    def leaky(frame: pd.DataFrame) -> pd.DataFrame:
        seen = leak(frame, cutoff)
        return seen.groupby("sku", as_index=False)["quantity"].sum()

    with pytest.raises(AssertionError, match="output changed when rows at or after the cutoff"):
        assert_cutoff_invariant(leaky, tx, cutoff, rng=rng)


def test_assert_cutoff_invariant_catches_a_leaky_store_view() -> None:
    """A view that escapes the store's filter (reads the raw table) must be caught."""
    from ecomml.features.entity import SKU
    from ecomml.features.store import FeatureStore
    from ecomml.features.view import FeatureView

    leaky_view = FeatureView(
        "leaky",
        SKU,
        "SELECT c.cutoff, t.sku, count(*) AS n FROM _src_transactions t "
        "CROSS JOIN cutoffs c GROUP BY c.cutoff, t.sku",
    )
    tx = _shop(np.random.default_rng(2))
    cutoff = BASE + pd.Timedelta(days=60)

    def run(frame: pd.DataFrame) -> pd.DataFrame:
        store = FeatureStore(views=[leaky_view])
        store.register("transactions", frame)
        store.register("calendar", CAL)
        return store.get_features("leaky", cutoff=cutoff)

    with pytest.raises(AssertionError, match="at or after the cutoff"):
        assert_cutoff_invariant(run, tx, cutoff, rng=3)


def test_assert_cutoff_invariant_uses_given_rows_and_rejects_early_ones() -> None:
    tx = _shop(np.random.default_rng(4))
    cutoff = BASE + pd.Timedelta(days=60)
    exactly_at = tx.iloc[:2].assign(ts=cutoff)

    def off_by_one(frame: pd.DataFrame) -> int:
        return int((frame["ts"] <= cutoff).sum())

    with pytest.raises(AssertionError, match="output changed"):
        assert_cutoff_invariant(off_by_one, tx, cutoff, future_rows=exactly_at)
    early = tx.iloc[:1].assign(ts=cutoff - pd.Timedelta(seconds=1))
    with pytest.raises(AssertionError, match="dated before the cutoff"):
        assert_cutoff_invariant(off_by_one, tx, cutoff, future_rows=early)


def test_make_future_rows() -> None:
    tx = _shop(np.random.default_rng(5))
    cutoff = BASE + pd.Timedelta(days=30)
    out = make_future_rows(tx, cutoff, 40, np.random.default_rng(6))
    assert len(out) == 40 and list(out.columns) == list(tx.columns)
    assert (out.dtypes == tx.dtypes).all()
    assert (out["ts"] >= cutoff).all() and (out["ts"] == cutoff).sum() >= 1
    assert out["ts"].max() < cutoff + pd.Timedelta(days=120)
    assert not set(out["order_id"]) & set(tx["order_id"])
    assert out["sku"].str.startswith("future-").any()  # SKUs that exist only after the cutoff
    again = make_future_rows(tx, cutoff, 40, 6)
    pd.testing.assert_frame_equal(out, again)  # seeded: reproducible
    with pytest.raises(ValueError, match="at least one row"):
        make_future_rows(tx.iloc[:0], cutoff, 5, 0)
    with pytest.raises(SchemaError, match="must be datetime64"):
        make_future_rows(tx.assign(ts=tx["ts"].astype(str)), cutoff, 5, 0)
