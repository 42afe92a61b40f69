"""A small seeded shop shared by the churn tests."""

from __future__ import annotations

import pandas as pd
import pytest

from ecomml.data.synth import make_shop


@pytest.fixture(scope="package")
def small_shop():  # type: ignore[no-untyped-def]
    return make_shop(n_customers=700, n_skus=120, days=540, seed=3, n_categories=5)


@pytest.fixture
def tiny_tx() -> pd.DataFrame:
    """Three customers with hand-checkable histories."""
    rows = [
        # A: purchases on 3 days (two orders on 01-10), B: one purchase, C: returns + buys
        ("o1", "A", "s1", "2024-01-01 10:00", 1, 10.0),
        ("o2", "A", "s1", "2024-01-10 09:00", 2, 10.0),
        ("o3", "A", "s2", "2024-01-10 18:00", 1, 5.0),
        ("o4", "A", "s2", "2024-02-01 12:00", 1, 30.0),
        ("o5", "B", "s1", "2024-01-20 12:00", 1, 50.0),
        ("o6", "C", "s1", "2024-01-05 12:00", 3, 10.0),
        ("o7", "C", "s1", "2024-01-06 12:00", -1, 10.0),
        ("o8", "A", "s1", "2024-03-05 12:00", 1, 10.0),
        ("o9", "C", "s2", "2024-03-20 12:00", 1, 20.0),
    ]
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "sku", "ts", "quantity", "price"])
    df["ts"] = pd.to_datetime(df["ts"])
    return df
