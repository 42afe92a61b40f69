"""Member-tier discounts: a discount is recommended only when the tier's extra units pay for
it, a tier whose own response is unclear falls back to the shop's and says so, and
``ecomml price tiers`` writes one row per tier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ecomml.cli.main import app
from ecomml.data.synth import make_shop
from ecomml.pricing.tiers import TIER_COLUMNS, tier_discounts

runner = CliRunner()


def _lines(tier: str, cost: float) -> pd.DataFrame:
    return pd.DataFrame({"tier": tier, "sku": ["A", "B"], "units": [100.0, 50.0],
                         "price": [10.0, 20.0], "cost": [cost, 2 * cost], "customers": 40})  # fmt: skip


def test_discount_only_when_the_extra_units_pay() -> None:
    lines = pd.concat([_lines("gold", 2.0), _lines("standard", 2.0)], ignore_index=True)
    resp = pd.DataFrame({"elasticity": [-4.0, -0.5], "elasticity_low": [-4.5, -0.8],
                         "elasticity_high": [-3.5, -0.2], "source": ["tier", "shop"]},
                        index=["gold", "standard"])  # fmt: skip
    out = tier_discounts(lines, resp, (0.05, 0.1, 0.2)).set_index("tier")
    assert list(out.reset_index().columns) == TIER_COLUMNS
    # very elastic, wide margin: a discount earns more margin
    assert out.loc["gold", "recommended_discount"] > 0
    assert out.loc["gold", "expected_margin_change"] > 0
    # inelastic: every discount loses margin
    assert out.loc["standard", "recommended_discount"] == 0
    assert out.loc["standard", "expected_margin_change"] == 0
    assert "shop's is used" in out.loc["standard", "reason"]
    # the margin arithmetic: no discount = sum of units x (price - cost)
    assert out.loc["gold", "baseline_margin"] == pytest.approx(100 * 8 + 50 * 16)


def test_cli_tiers(tmp_path: Path) -> None:
    s = make_shop(n_customers=3000, n_skus=60, n_categories=3, include_events=False,
                  price_changes=True, seed=9)  # fmt: skip
    s.transactions.to_parquet(tmp_path / "tx.parquet")
    s.catalog.to_parquet(tmp_path / "catalog.parquet")
    spend = (s.transactions["quantity"] * s.transactions["price"]).groupby(
        s.transactions["customer_id"]).sum()  # fmt: skip
    tiers = np.where(spend.rank(pct=True) > 0.8, "gold", "standard")
    pd.DataFrame({"customer_id": spend.index, "tier": tiers}).to_csv(
        tmp_path / "t.csv", index=False
    )
    out = tmp_path / "tiers.csv"
    base = ["price", "tiers", "-t", str(tmp_path / "tx.parquet"), "--catalog",
            str(tmp_path / "catalog.parquet"), "--cutoff", "2024-11-01", "--no-track"]  # fmt: skip
    r = runner.invoke(app, [*base, "--tiers", str(tmp_path / "t.csv"), "--output", str(out)])
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out)
    assert list(t.columns) == TIER_COLUMNS and set(t["tier"]) == {"gold", "standard"}
    assert set(t["source"]) <= {"tier", "shop"} and (t["recommended_discount"] >= 0).all()
    assert "Member-tier discounts" in r.output
    (tmp_path / "bad.csv").write_text("customer_id,segment\nC1,x\n")
    r = runner.invoke(app, [*base, "--tiers", str(tmp_path / "bad.csv"), "--output",
                            str(tmp_path / "x.csv")])  # fmt: skip
    assert r.exit_code != 0 and "tier" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, [*base, "--tiers", str(tmp_path / "t.csv"), "--output",
                            str(tmp_path / "x.csv"), "--discounts", "0.1,1.5"])  # fmt: skip
    assert r.exit_code != 0 and "--discounts" in r.output
    assert not (tmp_path / "x.csv").exists()
