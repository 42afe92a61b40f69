"""Small seeded shops for the recommendation tests."""

from __future__ import annotations

import pandas as pd
import pytest

from ecomml.data.synth import make_shop
from ecomml.recommend import build_interactions

CUTOFF = pd.Timestamp("2023-10-01")


@pytest.fixture(scope="session")
def rec_shop():  # noqa: ANN201
    return make_shop(n_customers=250, n_skus=90, days=365, seed=5)


@pytest.fixture(scope="session")
def interactions(rec_shop) -> pd.DataFrame:  # noqa: ANN001
    return build_interactions(rec_shop.transactions, rec_shop.events, cutoff=CUTOFF)


def als_loss(model) -> float:  # noqa: ANN001 - a fitted ALSRecommender
    """The weighted least-squares objective implicit ALS minimises, on the training
    history (confidence ``1 + alpha * weight``, preference 1 on observed pairs)."""
    import numpy as np

    c = model._confidence(model.state_["weight"]).toarray()
    p = (c > 0).astype(float)
    c = np.where(c > 0, c, 1.0)
    pred = model.user_factors_ @ model.item_factors_.T
    reg = model.regularization * ((model.user_factors_**2).sum() + (model.item_factors_**2).sum())
    return float((c * (p - pred) ** 2).sum() + reg)
