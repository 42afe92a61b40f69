"""FeatureStore mechanics with small hand-written views (built-in views: test_views.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from ecomml.exceptions import FeatureMismatchError, SchemaError, UnknownEntityError
from ecomml.features.entity import CUSTOMER, SKU
from ecomml.features.materialize import read_manifest, read_materialized
from ecomml.features.store import FeatureStore
from ecomml.features.view import FeatureView

COUNTS = FeatureView(
    "cust",
    CUSTOMER,
    """
    SELECT cutoff, customer_id, count(DISTINCT order_id) AS n_orders,
           sum(quantity * price) AS spend
    FROM transactions WHERE customer_id IS NOT NULL
    GROUP BY cutoff, customer_id
    """,
    fill={"n_orders": 0, "spend": 0.0},
)
RECENT = FeatureView(
    "cust_recent",
    CUSTOMER,
    "SELECT cutoff, customer_id, count(*) AS n_lines FROM transactions "
    "WHERE customer_id IS NOT NULL GROUP BY cutoff, customer_id",
    lookback=timedelta(days=3),
    fill={"n_lines": 0},
)
SKUS = FeatureView(
    "sku_units",
    SKU,
    "SELECT cutoff, sku, sum(quantity) AS units FROM transactions GROUP BY cutoff, sku",
    fill={"units": 0.0},
)
CAL = pd.DataFrame({"date": pd.to_datetime(["2020-01-01"]), "event": ["x"], "is_promo": [True]})


@pytest.fixture
def tx() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4", "5"],
            "customer_id": ["a", "a", "b", None, "007"],
            "sku": ["x", "y", "x", "x", "y"],
            "ts": pd.to_datetime(
                ["2020-01-01", "2020-01-05", "2020-01-07", "2020-01-10", "2020-01-09 23:59"],
                format="ISO8601",
            ),
            "quantity": [1.0, 2.0, 3.0, 4.0, 1.0],
            "price": [1.0, 2.0, 1.0, 1.0, 5.0],
        }
    )


@pytest.fixture
def store(tx: pd.DataFrame) -> FeatureStore:
    s = FeatureStore(views=[COUNTS, RECENT, SKUS])
    s.register("transactions", tx)
    s.register("calendar", CAL)
    return s


def test_get_features_uses_only_rows_before_cutoff(store: FeatureStore) -> None:
    out = store.get_features("cust", cutoff="2020-01-06")
    assert list(out.columns) == ["cutoff", "customer_id", "cust__n_orders", "cust__spend"]
    assert out.to_dict("records") == [
        {
            "cutoff": pd.Timestamp("2020-01-06"),
            "customer_id": "a",
            "cust__n_orders": 2,
            "cust__spend": 5.0,
        }
    ]


def test_cutoff_is_exclusive(store: FeatureStore) -> None:
    # order 5 is at 23:59 on 2020-01-09: included at cutoff 2020-01-10, not at 2020-01-09 23:59
    late = store.get_features("cust", cutoff="2020-01-09 23:59")
    assert "007" not in set(late["customer_id"])
    assert "007" in set(store.get_features("cust", cutoff="2020-01-10")["customer_id"])


def test_keys_reindex_fill_and_order(store: FeatureStore) -> None:
    keys = pd.DataFrame({"customer_id": ["zz", "a", "b", "a"], "extra": [1, 2, 3, 4]})
    out = store.get_features("cust", cutoff="2020-01-06", keys=keys)
    assert list(out["customer_id"]) == ["zz", "a", "b", "a"]
    assert list(out["extra"]) == [1, 2, 3, 4]
    assert list(out["cust__n_orders"]) == [0, 2, 0, 2]


def test_string_keys_keep_leading_zeros(store: FeatureStore) -> None:
    out = store.get_features("cust", cutoff="2020-01-11")
    assert "007" in set(out["customer_id"])
    assert all(isinstance(k, str) for k in out["customer_id"])


def test_lookback_limits_history(store: FeatureStore) -> None:
    out = store.get_features(
        "cust_recent", cutoff="2020-01-08", keys=pd.DataFrame({"customer_id": ["a", "b"]})
    )
    # a's orders are on 01-01 and 01-05; a 3-day lookback from 01-08 starts 01-05
    assert list(out["cust_recent__n_lines"]) == [1, 1]


def test_training_frame_equals_stacked_get_features(store: FeatureStore) -> None:
    labels = pd.DataFrame(
        {
            "customer_id": ["a", "b", "a", "zz"],
            "cutoff": ["2020-01-08", "2020-01-08", "2020-01-03", "2020-01-03"],
            "label": [1, 0, 1, 0],
        }
    )
    tf = store.training_frame(labels, ["cust", "cust_recent"])
    assert list(tf["label"]) == [1, 0, 1, 0]
    for cut, grp in tf.groupby("cutoff", sort=False):
        ref = store.get_features(
            ["cust", "cust_recent"], cutoff=cut, keys=grp[["customer_id"]].reset_index(drop=True)
        )
        pd.testing.assert_frame_equal(
            grp.drop(columns="label").reset_index(drop=True)[ref.columns],
            ref,
            check_dtype=False,
        )


def test_mixed_entities_need_keys(store: FeatureStore) -> None:
    with pytest.raises(SchemaError, match="different entities"):
        store.get_features(["cust", "sku_units"], cutoff="2020-01-08")
    pairs = pd.DataFrame({"customer_id": ["a", "b"], "sku": ["y", "x"]})
    out = store.get_features(["cust", "sku_units"], cutoff="2020-01-08", keys=pairs)
    assert list(out["sku_units__units"]) == [2.0, 4.0]


def test_unknown_view_suggests(store: FeatureStore) -> None:
    with pytest.raises(UnknownEntityError, match="Did you mean 'cust'"):
        store.get_features("cust_", cutoff="2020-01-08")


def test_register_checks_columns(tx: pd.DataFrame) -> None:
    s = FeatureStore(views=[COUNTS])
    with pytest.raises(SchemaError, match=r"'customer_id' \(did you mean 'CustomerID'\?\)"):
        s.register("transactions", tx.rename(columns={"customer_id": "CustomerID"}))
    with pytest.raises(UnknownEntityError, match="unknown table"):
        s.register("orders", tx)


def test_training_frame_needs_cutoff(store: FeatureStore) -> None:
    with pytest.raises(SchemaError, match="need a 'cutoff' column"):
        store.training_frame(pd.DataFrame({"customer_id": ["a"]}), ["cust"])


def test_materialize_manifest_and_refusal(store: FeatureStore, tmp_path: Path) -> None:
    manifest = store.materialize(["cust", "sku_units"], cutoff="2020-01-08", out_dir=tmp_path)
    entry = manifest["views"]["cust"]["2020-01-08T00:00:00"]
    assert entry["rows"] == 2 and entry["sql_hash"] == COUNTS.sql_hash
    assert {c["name"] for c in entry["schema"]} >= {"cutoff", "customer_id", "n_orders"}
    assert read_manifest(tmp_path)["views"].keys() == {"cust", "sku_units"}
    df = read_materialized(tmp_path, "cust", cutoff="2020-01-08", expected_hash=COUNTS.sql_hash)
    assert len(df) == 2
    with pytest.raises(FeatureMismatchError, match="different definition"):
        read_materialized(tmp_path, "cust", cutoff="2020-01-08", expected_hash=RECENT.sql_hash)
    with pytest.raises(UnknownEntityError, match="has not been materialized"):
        read_materialized(tmp_path, "cust", cutoff="2020-02-01")
    # a second cutoff is added to the manifest, not replacing the first
    store.materialize(["cust"], cutoff="2020-01-11", out_dir=tmp_path)
    assert len(read_manifest(tmp_path)["views"]["cust"]) == 2
    assert not list(tmp_path.rglob("*.tmp*"))


def test_sql_hash_changes_with_definition() -> None:
    other = FeatureView(COUNTS.name, CUSTOMER, COUNTS.sql + " HAVING count(*) > 1")
    assert other.sql_hash != COUNTS.sql_hash
    same = FeatureView(
        COUNTS.name, CUSTOMER, "  " + COUNTS.sql.replace("\n", "\n   "), fill=COUNTS.fill
    )
    assert same.sql_hash == COUNTS.sql_hash


def test_parquet_source_read_in_place(tx: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "tx.parquet"
    tx.to_parquet(path, index=False)
    s = FeatureStore(views=[COUNTS])
    s.register("transactions", path)
    s.register("calendar", CAL)
    pd.testing.assert_frame_equal(
        s.get_features("cust", cutoff="2020-01-11"),
        _frame_store(tx).get_features("cust", cutoff="2020-01-11"),
    )


def _frame_store(tx: pd.DataFrame) -> FeatureStore:
    s = FeatureStore(views=[COUNTS])
    s.register("transactions", tx)
    s.register("calendar", CAL)
    return s


def test_register_refuses_text_timestamps(tx: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "text_ts.parquet"
    tx.assign(ts=tx["ts"].astype(str)).to_parquet(path, index=False)
    with pytest.raises(SchemaError, match=r"text_ts.parquet\): column 'ts' is VARCHAR"):
        FeatureStore(views=[COUNTS]).register("transactions", path)


def test_unreadable_sources_give_input_errors(tx: pd.DataFrame, tmp_path: Path) -> None:
    from ecomml.exceptions import InputFileError

    good = tmp_path / "good.parquet"
    tx.to_parquet(good, index=False)
    bad = tmp_path / "truncated.parquet"
    bad.write_bytes(good.read_bytes()[:100])
    with pytest.raises(InputFileError, match="truncated.parquet: cannot read it"):
        FeatureStore(views=[COUNTS]).register("transactions", bad)
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    with pytest.raises(InputFileError, match="holds no .parquet files"):
        FeatureStore(views=[COUNTS]).register("transactions", empty)
    with pytest.raises(InputFileError, match="no such file"):
        FeatureStore(views=[COUNTS]).register("transactions", tmp_path / "missing.parquet")


def test_features_are_bit_identical_from_run_to_run() -> None:
    """Money sums are exact (DECIMAL), so a parallel aggregation cannot change the last bits
    of a feature between two identical queries (it did with DOUBLE sums at this size)."""
    import numpy as np

    from ecomml.data.synth import make_shop
    from ecomml.features.engines import DuckDBEngine

    tx = make_shop(n_customers=3000, n_skus=300, seed=1).transactions
    cut = tx["ts"].max() - pd.Timedelta(days=30)
    runs = []
    for _ in range(2):
        st = FeatureStore(DuckDBEngine(threads=2))
        st.register("transactions", tx)
        runs.append([st.get_features([v], cutoff=cut) for v in ("customer_rfm", "sku_demand")])
    for other in runs[1:]:
        for a, b in zip(runs[0], other, strict=True):
            num = a.select_dtypes("float").columns
            assert len(num) > 3
            np.testing.assert_array_equal(a[num].to_numpy(), b[num].to_numpy())


def test_describe_features_and_materialized(
    store: FeatureStore, tx: pd.DataFrame, tmp_path: Path
) -> None:
    noted = FeatureView(COUNTS.name, CUSTOMER, COUNTS.sql,
                        features=("n_orders, spend: what the customer bought",))  # fmt: skip
    described = FeatureStore(views=[noted])
    described.register("transactions", tx)
    cols = described.describe_features("cust")
    assert cols[["column", "meaning"]].to_dict("records") == [
        {"column": "cust__n_orders", "meaning": "what the customer bought"},
        {"column": "cust__spend", "meaning": "what the customer bought"},
    ]
    store.materialize(["cust", "sku_units"], cutoff="2020-01-08", out_dir=tmp_path)
    other = FeatureStore(views=[COUNTS, RECENT])  # sku_units no longer defined
    made = other.describe_materialized(tmp_path)
    assert made[["view", "cutoff", "rows", "definition"]].values.tolist() == [
        ["cust", "2020-01-08", 2, "same"],
        ["sku_units", "2020-01-08", 2, "CHANGED"],
    ]
    assert other.describe_materialized(tmp_path / "none").empty
