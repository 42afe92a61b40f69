"""CDNOW: the published BG/NBD estimates (Fader, Hardie & Lee 2005) from the master log."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ecomml.churn import BetaGeoModel, rfm_summary


@pytest.mark.slow
def test_cdnow_published_parameters(shared_data: Path) -> None:
    lifetimes = pytest.importorskip("lifetimes")
    sample = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"
    if not sample.exists():
        pytest.skip("lifetimes' CDNOW_sample.txt (the 2,357 sample ids) is not installed")
    ids = pd.read_csv(sample, sep=r"\s+", header=None, dtype=str)[0].unique()
    raw = pd.read_parquet(shared_data / "cdnow" / "cdnow_master.parquet")
    # BTYD counts purchase occasions whatever their value: build from the raw rows,
    # including the 80 zero-value rows that ecomml's cleaning drops
    tx = pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype(str),
            "ts": pd.to_datetime(raw["date"]),
            "quantity": raw["number_of_cds"].astype(float).clip(lower=1),
            "price": raw["dollar_value"] / raw["number_of_cds"].clip(lower=1),
        }
    )
    tx = tx.loc[tx["customer_id"].isin(ids)]
    s = rfm_summary(tx, cutoff="1997-10-01", unit="W")
    assert len(s) == 2357
    m = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    p = m.params_
    assert round(p["r"], 3) == 0.243
    assert round(p["alpha"], 3) == 4.414
    assert round(p["a"], 3) == 0.793
    assert round(p["b"], 3) == 2.426
    assert round(m.log_likelihood_, 1) == -9582.4
