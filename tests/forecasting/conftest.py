"""Small seeded shops and panels shared by the forecasting tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecomml.data.synth import make_shop


@pytest.fixture(scope="session")
def small_fc_shop():  # noqa: ANN201
    return make_shop(n_customers=600, n_skus=120, days=420, seed=3, include_events=False)


@pytest.fixture(scope="session")
def weekly_panel(small_fc_shop) -> pd.DataFrame:  # noqa: ANN001
    from ecomml.forecasting import panel_from_transactions

    return panel_from_transactions(
        small_fc_shop.transactions, "2024-02-05", "W", catalog=small_fc_shop.catalog
    )


def toy_panel(n_sku: int = 20, n_weeks: int = 60, seed: int = 0) -> pd.DataFrame:
    """Poisson weekly demand with SKU-specific rates, some intermittent."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2022-01-03", periods=n_weeks, freq="7D")
    rows = []
    for i in range(n_sku):
        rate = rng.gamma(1.0, 3.0)
        y = rng.poisson(rate, n_weeks).astype(float)
        y[0] = max(y[0], 1.0)
        rows.append(pd.DataFrame({"sku": f"S{i:03d}", "ds": ds, "y": y}))
    return pd.concat(rows, ignore_index=True)
