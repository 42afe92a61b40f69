"""The tabulated TreeSHAP equals LightGBM's own ``pred_contrib`` (to 1e-12) on any data:
missing values on either side, zeros treated as missing, repeated features on a path,
regression and classification; a model it cannot tabulate says so."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomml.churn.treeshap import TreeContributions


def _data(seed: int, n: int = 600, f: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, f))
    X[rng.random((n, f)) < 0.1] = np.nan
    X[:, 1] = np.round(X[:, 1])  # many exact zeros
    y = np.nan_to_num(X[:, 0]) * np.nan_to_num(X[:, 1]) + rng.normal(size=n) * 0.3
    return X, y


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    leaves=st.integers(2, 31),
    zero_as_missing=st.booleans(),
    use_missing=st.booleans(),
    binary=st.booleans(),
)
def test_equals_lightgbm_pred_contrib(
    seed: int, leaves: int, zero_as_missing: bool, use_missing: bool, binary: bool
) -> None:
    X, y = _data(seed)
    params = {"objective": "binary" if binary else "regression", "num_leaves": leaves,
              "min_data_in_leaf": 5, "verbosity": -1, "num_threads": 1, "seed": seed,
              "zero_as_missing": zero_as_missing, "use_missing": use_missing}  # fmt: skip
    booster = lgb.train(params, lgb.Dataset(X, (y > 0).astype(int) if binary else y), 25)
    tables = TreeContributions(booster)
    assert tables.ok
    Xs = np.vstack([X, np.full((1, X.shape[1]), np.nan), np.zeros((1, X.shape[1]))])
    ref = booster.predict(Xs, pred_contrib=True)
    ours = tables.contributions(Xs, batch=257)
    np.testing.assert_allclose(ours, ref[:, :-1], atol=1e-12, rtol=0)
    # efficiency: contributions plus the bias give the raw score
    raw = booster.predict(Xs, raw_score=True)
    np.testing.assert_allclose(ours.sum(1) + ref[:, -1], raw, atol=1e-9)
    np.testing.assert_allclose(tables.contributions(Xs, n_jobs=2), ours, atol=1e-12)


def test_a_categorical_split_is_left_to_lightgbm() -> None:
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(0, 8, 500), rng.normal(size=500)]).astype(float)
    y = (X[:, 0] % 3 == 0) + rng.normal(size=500) * 0.1
    ds = lgb.Dataset(X, y, categorical_feature=[0])
    booster = lgb.train({"verbosity": -1, "min_data_per_group": 5, "cat_smooth": 1}, ds, 10)
    assert not TreeContributions(booster).ok


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_the_churn_classifier_explains_with_the_tables(n_jobs: int) -> None:
    import pandas as pd

    from ecomml.churn import ChurnClassifier

    X, y = _data(1, n=800)
    frame = pd.DataFrame(X, columns=[f"customer_rfm__f{i}" for i in range(X.shape[1])])
    clf = ChurnClassifier(n_estimators=40, n_jobs=n_jobs, calibration="none").fit(frame, y > 0)
    ref = clf.booster_.predict(frame.to_numpy(), pred_contrib=True)[:, :-1]
    np.testing.assert_allclose(clf.contributions(frame).to_numpy(), ref, atol=1e-12, rtol=0)
