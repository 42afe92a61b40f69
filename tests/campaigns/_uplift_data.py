"""A small randomised campaign whose true uplift is known: the offer helps young,
high-spending customers, leaves others alone and puts off one channel."""

from __future__ import annotations

import numpy as np
import pandas as pd


def true_uplift(X: pd.DataFrame) -> np.ndarray:
    """The probability points the offer adds to a visit, per customer."""
    young = X["tenure"].to_numpy() < 6
    rich = X["spend_before"].to_numpy() > 100
    return 0.25 * (young & rich) - 0.08 * (X["channel"].to_numpy() == "phone")


def make_campaign(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """One row per customer: id, features, 0/1 ``offer`` and 0/1 ``visit``."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "tenure": rng.integers(0, 24, n),
        "spend_before": rng.gamma(2.0, 60.0, n).round(2),
        "channel": rng.choice(["web", "phone", "multichannel"], n),
    })  # fmt: skip
    offer = rng.integers(0, 2, n)
    base = 0.15 + 0.1 * (X["channel"].to_numpy() == "web")
    p = np.clip(base + offer * true_uplift(X), 0, 1)
    return X.assign(customer_id=[f"c{i:05d}" for i in range(n)], offer=offer,
                    visit=(rng.random(n) < p).astype(int))  # fmt: skip


def shop_with_campaign(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """A sample shop's transactions with a win-back e-mail sent at ``start`` to a random
    half of its customers: each treated customer who had gone quiet (no order in the 60 days
    before) buys once more in the 14 days after, with probability 0.6. Returns
    ``(transactions, assignments, start)``."""
    from ecomml.data.synth import make_shop

    tx = make_shop(n_customers=600, n_skus=40, days=300, seed=seed).transactions
    start = (tx["ts"].max() - pd.Timedelta(days=20)).normalize()
    tx = tx.loc[tx["ts"] < start + pd.Timedelta(days=14)]
    before = tx.loc[tx["ts"] < start]
    last = before.groupby("customer_id")["ts"].max()
    rng = np.random.default_rng(seed)
    customers = last.index.to_numpy()
    offer = rng.integers(0, 2, len(customers))
    quiet = (start - last).dt.days.to_numpy() > 60
    extra = (offer == 1) & quiet & (rng.random(len(customers)) < 0.6)
    template = before.drop_duplicates("customer_id").set_index("customer_id")
    adds = template.loc[customers[extra]].reset_index()
    adds = adds.assign(
        ts=start + pd.Timedelta(days=3), order_id=[f"W{i}" for i in range(len(adds))]
    )
    tx = pd.concat([tx, adds[tx.columns]], ignore_index=True)
    return tx, pd.DataFrame({"customer_id": customers, "email": offer}), start
