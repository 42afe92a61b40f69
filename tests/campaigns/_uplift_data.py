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
