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
