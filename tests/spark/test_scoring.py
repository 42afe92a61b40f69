"""Distributed batch scoring equals the local predict on the same input (exact keys,
tight float tolerance), loads each model once per Python worker, and fails clearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecomml.data.synth import make_shop
from ecomml.pipeline import ShopData

CUT = pd.Timestamp("2024-04-15")


@pytest.fixture(scope="module")
def shop():  # type: ignore[no-untyped-def]
    s = make_shop(n_customers=300, n_skus=60, days=500, seed=5, n_categories=4)
    tx = s.transactions.loc[s.transactions["ts"] < CUT].reset_index(drop=True)
    ev = s.events.loc[s.events["ts"] < CUT].reset_index(drop=True)
    return ShopData(tx, events=ev, catalog=s.catalog, calendar=s.calendar)


def _sdf(spark, frame: pd.DataFrame):  # type: ignore[no-untyped-def]
    return spark.createDataFrame(frame)


def assert_same(local: pd.DataFrame, remote: pd.DataFrame, keys: list[str]) -> None:
    """Same columns in the same order, same keys, floats within 1e-9, others equal."""
    assert list(remote.columns) == list(local.columns)
    a = local.sort_values(keys, kind="mergesort").reset_index(drop=True)
    b = remote.sort_values(keys, kind="mergesort").reset_index(drop=True)
    assert len(a) == len(b)
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_float_dtype(x):
            np.testing.assert_allclose(y.astype(float), x.astype(float), rtol=1e-9, atol=1e-9)
        elif pd.api.types.is_datetime64_any_dtype(x):
            assert (pd.to_datetime(y).astype("datetime64[ns]") == x.astype("datetime64[ns]")).all()
        else:
            assert x.astype(str).tolist() == y.astype(str).tolist(), c


@pytest.fixture(scope="module")
def churn_dir(shop, tmp_path_factory):  # type: ignore[no-untyped-def]
    from ecomml.churn import ChurnModel
    from ecomml.modelstore import feature_hashes, save_model

    store = shop.to_store()
    m = ChurnModel(60, step=45, max_cutoffs=3, classifier={"n_estimators": 30, "n_folds": 2})
    m.fit(shop.transactions, store, cutoff=CUT, events=True)
    d = tmp_path_factory.mktemp("models") / "churn"
    save_model(
        m, d, task="churn", cutoff=CUT, features=feature_hashes([store.view(v) for v in m.views_])
    )
    return d


def test_churn_equals_local(spark, shop, churn_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from ecomml.churn.scoring import SCORED_COLUMNS
    from ecomml.modelstore import load_model
    from ecomml.spark import score_churn

    m = load_model(churn_dir, task="churn").model
    local = m.score(shop.transactions, shop.to_store(), cutoff=CUT)
    out = score_churn(
        _sdf(spark, shop.transactions),
        churn_dir,
        cutoff=CUT,
        events=_sdf(spark, shop.events),
        catalog=shop.catalog,
        calendar=shop.calendar,
        extra_columns=True,
        num_partitions=5,
    ).toPandas()
    assert_same(local, out, ["customer_id"])
    # the list is sorted like the local one
    assert out["customer_id"].tolist() == local["customer_id"].tolist()
    plain = score_churn(
        _sdf(spark, shop.transactions),
        churn_dir,
        cutoff=CUT,
        events=_sdf(spark, shop.events),
        catalog=shop.catalog,
        calendar=shop.calendar,
        num_partitions=3,
    )
    assert plain.columns == list(SCORED_COLUMNS)
