"""ALS: implicit's compiled solver and the NumPy one fit the same model."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from ecomml.exceptions import ConfigError
from ecomml.recommend import ALSRecommender
from tests.recommend.conftest import CUTOFF, als_loss

pytest.importorskip("implicit")


def _top(model: ALSRecommender, customers: list[str]) -> pd.DataFrame:
    return model.recommend(customers, 10, exclude_seen=True)


def test_implicit_and_numpy_solvers_agree(interactions: pd.DataFrame) -> None:
    """Same objective, same confidence (1 + alpha * weight): the two solvers reach the
    same loss, their lists overlap far more than chance, and each reproduces itself."""
    params = {"factors": 8, "iterations": 15, "alpha": 2.0, "random_state": 0}
    fast = ALSRecommender(solver="implicit", **params).fit(interactions, cutoff=CUTOFF)
    slow = ALSRecommender(solver="numpy", **params).fit(interactions, cutoff=CUTOFF)
    again = ALSRecommender(solver="implicit", **params).fit(interactions, cutoff=CUTOFF)
    np.testing.assert_allclose(fast.item_factors_, again.item_factors_, rtol=1e-5, atol=1e-6)
    customers = list(interactions["customer_id"].unique()[:80])
    a, b = _top(fast, customers), _top(slow, customers)
    overlap = a.merge(b, on=["customer_id", "sku"]).shape[0] / len(a)
    assert overlap > 3 * 10 / len(fast.sku_index_)  # chance: 10 of the SKUs
    # the weighted least-squares objective both minimise ends as low either way
    assert als_loss(fast) < 1.05 * als_loss(slow)


def test_solver_is_checked_and_implicit_can_be_missing(
    interactions: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match="solver must be"):
        ALSRecommender(solver="gpu").fit(interactions, cutoff=CUTOFF)
    monkeypatch.setitem(sys.modules, "implicit.cpu.als", None)  # as if not installed
    with pytest.raises(ConfigError, match="pip install implicit"):
        ALSRecommender(solver="implicit").fit(interactions, cutoff=CUTOFF)
    model = ALSRecommender(factors=4, iterations=2).fit(interactions, cutoff=CUTOFF)  # auto
    assert model.item_factors_.shape == (len(model.sku_index_), 4)
