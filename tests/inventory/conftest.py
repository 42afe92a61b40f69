"""Small seeded shops and forecasts for the inventory tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecomml.metrics.forecast import QUANTILE_COLUMNS

CUTOFF = pd.Timestamp("2023-10-02")  # a Monday


@pytest.fixture(scope="session")
def shop():
    from ecomml.data.synth import make_shop

    return make_shop(n_customers=300, n_skus=40, days=300, seed=1, include_events=False)


@pytest.fixture(scope="session")
def forecast(shop) -> pd.DataFrame:
    from ecomml.forecasting import MovingAverageForecaster, panel_from_transactions

    panel = panel_from_transactions(shop.transactions, CUTOFF, "W")
    return MovingAverageForecaster(freq="W", horizon=6).fit(panel).predict(panel, start=CUTOFF)


def nb_forecast(skus, means, *, periods=6, size=1e6, start="2024-01-01") -> pd.DataFrame:
    """A forecast frame with negative binomial rows (size 1e6 ~ Poisson)."""
    from ecomml.forecasting import nb_quantiles

    rows = []
    ds = pd.date_range(start, periods=periods, freq="7D")
    for sku, mu in zip(skus, means, strict=True):
        for d in ds:
            rows.append({"sku": sku, "ds": d, "mean": float(mu), "nb_size": float(size)})
    f = pd.DataFrame(rows)
    q = nb_quantiles(f["mean"].to_numpy(), f["nb_size"].to_numpy(), list(QUANTILE_COLUMNS.values()))
    for j, c in enumerate(QUANTILE_COLUMNS):
        f[c] = np.asarray(q)[:, j]
    f["pattern"] = "smooth"
    f["fallback"] = False
    return f


def transactions_for(skus_units: dict[str, list[float]], start="2023-01-02", price=10.0):
    """One sale per SKU and week with the given units (0 = no sale)."""
    rows = []
    for sku, units in skus_units.items():
        for w, u in enumerate(units):
            if u > 0:
                ts = pd.Timestamp(start) + pd.Timedelta(weeks=w, hours=12)
                rows.append({"order_id": f"O{sku}{w}", "customer_id": "C1", "sku": sku, "ts": ts,
                             "quantity": float(u), "price": price})  # fmt: skip
    return pd.DataFrame(rows)
