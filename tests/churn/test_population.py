"""The population step of churn scoring: the cuts give every customer the scores the
whole list gives them, and the SQL form (what Spark runs) equals the pandas form."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomml.churn import (
    apply_population_cuts,
    member_tiers,
    next_actions,
    population_cuts,
    query_population_cuts,
    rfm_scores,
)
from ecomml.features.engines import DuckDBEngine

_SCORES = ["r_score", "f_score", "m_score", "rfm_score"]


def _customers(seed: int, n: int) -> pd.DataFrame:
    """Few distinct values (many ties) and some missing ones."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "recency_days": rng.integers(0, 8, n).astype(float),
            "frequency": rng.integers(1, 4, n).astype(float),
            "monetary": np.round(rng.exponential(50, n), int(rng.integers(0, 2))),
            "value_at_risk": np.round(rng.exponential(5, n), int(rng.integers(0, 2))),
            "segment": rng.choice(["active", "at-risk", "dormant", "lost", "new"], n),
        }
    )
    for c in ("recency_days", "monetary", "value_at_risk"):
        if rng.random() < 0.4:
            df.loc[rng.random(n) < 0.25, c] = np.nan
    if rng.random() < 0.1:
        df["monetary"] = np.nan
    return df


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 60))
def test_cuts_reproduce_the_quantile_scores(seed: int, n: int) -> None:
    df = _customers(seed, n)
    cuts = population_cuts(df)
    got = apply_population_cuts(df, cuts)
    want = rfm_scores(df)
    for c in _SCORES:
        assert got[c].tolist() == want[c].tolist(), c
    tier = member_tiers(want)
    assert got["tier"].tolist() == tier.tolist()
    assert got["action"].tolist() == next_actions(df.assign(tier=tier)).tolist()
    # a part of the customers, scored with everyone's cuts, gets everyone's scores
    part = apply_population_cuts(df.iloc[n // 3 :], cuts)
    cols = [*_SCORES, "tier", "action"]
    assert part[cols].equals(got.iloc[n // 3 :][cols])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 60))
def test_sql_form_equals_pandas_form(seed: int, n: int) -> None:
    df = _customers(seed, n)
    engine = DuckDBEngine()
    try:
        engine.register("customers", df)
        assert query_population_cuts(engine, "customers") == population_cuts(df)
    finally:
        engine.close()


def test_no_customers() -> None:
    df = _customers(0, 3).iloc[:0]
    engine = DuckDBEngine()
    engine.register("customers", df)
    cuts = query_population_cuts(engine, "customers")
    assert cuts.customers == 0 and population_cuts(df).customers == 0
