"""The Hillstrom e-mail test (slow; skipped without ../shared/data): Mens e-mail vs no
e-mail against the published rates (shared/data/SOURCES.md section 5), CUPED with
``history`` narrowing the spend interval."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ecomml.campaigns import analyze_experiment

pytestmark = pytest.mark.slow

#: published per-arm rates and mean spend (Mens, No e-mail)
PUBLISHED = {"visit": (0.1828, 0.1062), "conversion": (0.0125, 0.0057), "spend": (1.4226, 0.6528)}


@pytest.fixture
def hillstrom(shared_data: Path) -> pd.DataFrame:
    path = shared_data / "hillstrom" / "hillstrom.parquet"
    if not path.is_file():
        pytest.skip(f"Hillstrom data not found at {path} (the ../shared folder is absent)")
    return pd.read_parquet(path)


def test_mens_email_lifts_match_the_published_rates(hillstrom: pd.DataFrame) -> None:
    mens = hillstrom.loc[hillstrom["segment"].isin(["Mens E-Mail", "No E-Mail"])]
    res = analyze_experiment(mens, variant_col="segment", control="No E-Mail",
                             metrics=list(PUBLISHED), covariates=["history"])  # fmt: skip
    t = res.table.set_index(["metric", "method"])
    assert res.counts == {"Mens E-Mail": 21307, "No E-Mail": 21306} and not res.srm
    for metric, (mens_rate, none_rate) in PUBLISHED.items():
        row = t.loc[(metric, "welch")]
        assert row["mean_variant"] == pytest.approx(mens_rate, abs=6e-5)
        assert row["mean_control"] == pytest.approx(none_rate, abs=6e-5)
        assert row["rel_lift"] == pytest.approx(mens_rate / none_rate - 1, rel=0.01)
        assert row["diff_low"] > 0 and row["p_value"] < 1e-6
    spend = t.loc[("spend", "welch")], t.loc[("spend", "cuped")]
    assert (
        spend[1]["diff_high"] - spend[1]["diff_low"] < spend[0]["diff_high"] - spend[0]["diff_low"]
    )
    assert spend[1]["variance_reduction"] > 0


def test_uplift_beats_risk_and_random_targeting_on_held_out_customers(
    hillstrom: pd.DataFrame,
) -> None:
    import numpy as np

    from ecomml.campaigns import UpliftModel, qini_auc

    d = hillstrom.loc[hillstrom["segment"].isin(["Womens E-Mail", "No E-Mail"])]
    d = d.reset_index(drop=True)
    X = d[["recency", "history", "mens", "womens", "zip_code", "newbie", "channel"]]
    t = (d["segment"] == "Womens E-Mail").to_numpy(int)
    y = d["visit"].to_numpy(float)
    test = np.random.default_rng(0).random(len(d)) < 0.5
    m = UpliftModel().fit(X[~test], t[~test], y[~test])
    out = m.predict_outcomes(X[test])
    ours = qini_auc(y[test], t[test], out["uplift"])
    risk = qini_auc(y[test], t[test], -out["outcome_control"])
    assert ours > 0.03 and ours > risk + 0.02, (ours, risk)
