"""Price recommendations: every recommended price keeps the rules (property-based), the
direction follows the elasticity, unknown or impossible cases keep today's price with a
reason, and ``ecomml price recommend`` writes its contract columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ecomml.cli.main import app
from ecomml.data.synth import make_shop
from ecomml.exceptions import ConfigError
from ecomml.pricing.recommend import (
    RECOMMEND_COLUMNS,
    PriceRules,
    apply_ending,
    consistent_packs,
    recommend_prices,
)

runner = CliRunner()
CONTRACT = ["sku", "current_price", "recommended_price", "elasticity", "elasticity_low",
            "elasticity_high", "expected_units", "expected_revenue_change",
            "expected_profit_change", "reason"]  # fmt: skip


def _table(**cols: object) -> pd.DataFrame:
    base = {"sku": ["A"], "current_price": [10.0], "cost": [5.0], "ceiling_price": [np.inf],
            "baseline_units": [100.0], "elasticity": [-1.5], "elasticity_low": [-1.7],
            "elasticity_high": [-1.3], "source": ["sku"]}  # fmt: skip
    base.update({k: [v] for k, v in cols.items()})
    return pd.DataFrame(base)


@given(
    price=st.floats(1.0, 500.0), cost_share=st.floats(0.1, 0.95), e=st.floats(-4.0, -0.1),
    max_change=st.floats(0.02, 0.3), min_margin=st.floats(0.0, 0.6),
    ending=st.sampled_from([".99", ".9", "none"]), ceil_ratio=st.floats(0.8, 2.0),
)  # fmt: skip
@settings(max_examples=150, deadline=None)
def test_recommended_prices_keep_every_rule(
    price: float, cost_share: float, e: float, max_change: float, min_margin: float,
    ending: str, ceil_ratio: float,
) -> None:  # fmt: skip
    rules = PriceRules(min_margin=min_margin, max_change=max_change, ending=ending)
    t = _table(current_price=price, cost=price * cost_share, ceiling_price=price * ceil_ratio,
               elasticity=e, elasticity_low=e - 0.1, elasticity_high=e + 0.05)  # fmt: skip
    r = recommend_prices(t, rules).iloc[0]
    p = r["recommended_price"]
    if p != price:  # a change keeps every rule
        assert abs(p / price - 1) <= max_change + 1e-9
        assert (p - t["cost"].iat[0]) / p >= min_margin - 1e-9
        assert p <= price * ceil_ratio + 1e-9
        assert r["expected_profit_change"] > 0
        if ending == ".99" and p >= 1.0:  # (prices under 1 keep their cents)
            assert round(p * 100) % 100 == 99
    else:
        assert r["reason"].startswith("kept")


@given(
    unit=st.floats(2.0, 20.0), discounts=st.lists(st.floats(0.0, 0.3), min_size=3, max_size=3),
    elasticities=st.lists(st.floats(-4.0, -0.2), min_size=3, max_size=3),
    cost_share=st.floats(0.2, 0.7), max_change=st.floats(0.05, 0.3),
)  # fmt: skip
@settings(max_examples=100, deadline=None)
def test_a_bigger_pack_never_costs_more_per_unit(
    unit: float, discounts: list[float], elasticities: list[float], cost_share: float,
    max_change: float,
) -> None:  # fmt: skip
    """Packs of 1, 6 and 12 priced today with volume discounts; whatever each pack's own
    recommendation, after the pack rule the unit price never rises with the pack size."""
    sizes = np.array([1.0, 6.0, 12.0])
    per_unit = unit * np.cumprod(1 - np.asarray(discounts))  # non-increasing today
    cur = np.round(per_unit * sizes, 2)
    t = pd.DataFrame({
        "sku": ["P1", "P6", "P12"], "current_price": cur, "cost": cur * cost_share,
        "ceiling_price": np.inf, "baseline_units": 50.0, "elasticity": elasticities,
        "elasticity_low": np.asarray(elasticities) - 0.1,
        "elasticity_high": np.asarray(elasticities) + 0.1, "source": "sku",
    })  # fmt: skip
    rules = PriceRules(min_margin=0.05, max_change=max_change, ending="none")
    packs = pd.DataFrame({"sku": ["P1", "P6", "P12"], "pack_group": "wine", "pack_size": sizes})
    out = consistent_packs(recommend_prices(t, rules), packs, rules)
    unit_price = out["recommended_price"].to_numpy() / sizes
    if np.all(np.diff(cur / sizes) <= 1e-9):  # today's prices keep the rule
        assert np.all(np.diff(unit_price) <= 1e-6), out[["sku", "recommended_price", "reason"]]
    moved = out["recommended_price"] != out["current_price"]
    assert (np.abs(out.loc[moved, "change"]) <= max_change + 1e-9).all()
    assert ((out["recommended_price"] - out["cost"]) / out["recommended_price"] >= 0.05 - 1e-9)[
        moved
    ].all()


def test_direction_follows_the_elasticity() -> None:
    rules = PriceRules(ending="none")
    inelastic = recommend_prices(_table(elasticity=-0.5, elasticity_low=-0.7,
                                        elasticity_high=-0.3), rules).iloc[0]  # fmt: skip
    assert inelastic["recommended_price"] == pytest.approx(11.0)  # raised to the step limit
    assert inelastic["reason"].startswith("raise 10%")
    # elastic, margin thin relative to the response: the Lerner price cost*e/(1+e) is lower
    elastic = recommend_prices(_table(cost=3.0, elasticity=-3.0, elasticity_low=-3.2,
                                      elasticity_high=-2.8), rules).iloc[0]  # fmt: skip
    assert elastic["recommended_price"] < 10.0 and elastic["reason"].startswith("cut")
    # at the optimum already (cost*e/(1+e) = 10 for cost 6, e = -2.5): keep
    at = recommend_prices(_table(cost=6.0, elasticity=-2.5, elasticity_low=-2.6,
                                 elasticity_high=-2.4), rules).iloc[0]  # fmt: skip
    assert at["recommended_price"] == 10.0


def test_unknown_response_missing_cost_and_contradicting_rules_keep_the_price() -> None:
    rules = PriceRules()
    rows = pd.concat([
        _table(sku="unknown", elasticity=-0.2, elasticity_low=-1.5, elasticity_high=1.1),
        _table(sku="shop", source="shop"),
        _table(sku="nocost", cost=np.nan),
        _table(sku="contradict", cost=9.5, ceiling_price=10.0),
        _table(sku="nosales", baseline_units=0.0),
    ], ignore_index=True)  # fmt: skip
    r = recommend_prices(rows, rules).set_index("sku")
    assert (r["recommended_price"] == 10.0).all()
    assert "response unknown" in r.loc["unknown", "reason"]
    assert "response unknown" in r.loc["shop", "reason"]
    assert "no cost" in r.loc["nocost", "reason"]
    assert "contradict" in r.loc["contradict", "reason"]
    assert "no recent sales" in r.loc["nosales", "reason"]
    assert list(r.reset_index().columns) == RECOMMEND_COLUMNS


@pytest.mark.parametrize(
    ("kw", "match"),
    [({"min_margin": 1.2}, "min-margin"), ({"max_change": 0}, "max-change"),
     ({"ending": ".95"}, "ending"), ({"max_change": 0.01}, "ending"),
     ({"ceiling": "map"}, "ceiling"), ({"min_confidence": 0.2}, "min-confidence")],
)  # fmt: skip
def test_rules_that_cannot_hold_are_refused(kw: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        PriceRules(**kw).check()


def test_a_price_just_under_one_is_not_rounded_to_one() -> None:
    # found by the property test above: 0.995 kept its cents as 1.00, neither x.99 nor x.90
    assert apply_ending(np.array([0.995, 0.999, 0.5]), ".99").tolist() == [0.99, 0.99, 0.5]
    rules = PriceRules(min_margin=0.0, max_change=0.09375, ending=".99")
    t = _table(current_price=1.09375, cost=1.09375 * 0.25, ceiling_price=1.09375,
               elasticity=-2.0, elasticity_low=-2.1, elasticity_high=-1.95)  # fmt: skip
    p = recommend_prices(t, rules)["recommended_price"].iat[0]
    assert p == 1.09375 or round(p * 100) % 100 == 99


def test_price_endings() -> None:
    np.testing.assert_allclose(apply_ending(np.array([10.2, 10.7, 0.53]), ".99"),
                               [9.99, 10.99, 0.53])  # fmt: skip
    np.testing.assert_allclose(apply_ending(np.array([10.2, 10.74]), ".9"), [9.9, 10.9])
    np.testing.assert_allclose(apply_ending(np.array([10.234]), "none"), [10.23])


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    s = make_shop(n_customers=4000, n_skus=80, n_categories=3, include_events=False,
                  price_changes=True, seed=6)  # fmt: skip
    d = tmp_path_factory.mktemp("rec")
    s.transactions.to_parquet(d / "tx.parquet")
    s.catalog.to_parquet(d / "catalog.parquet")
    s.catalog.drop(columns="cost").to_parquet(d / "nocost.parquet")
    s.calendar.to_parquet(d / "calendar.parquet")
    return d


def test_cli_recommend_and_bad_input(files: Path, tmp_path: Path) -> None:
    base = ["price", "recommend", "-t", str(files / "tx.parquet"), "--calendar",
            str(files / "calendar.parquet"), "--cutoff", "2024-11-01", "--no-track"]  # fmt: skip
    out = tmp_path / "rec.csv"
    r = runner.invoke(app, [*base, "--catalog", str(files / "catalog.parquet"), "--output",
                            str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out)
    assert list(t.columns[: len(CONTRACT)]) == CONTRACT and t["sku"].is_unique
    assert (t["change"].abs() <= 0.1 + 1e-9).all()
    assert "SKUs priced over the next 8 weeks" in r.output
    assert (tmp_path / "plots" / "price_profit_curves.png").stat().st_size > 1000
    # the elasticity table of `price elasticity` can be reused
    el = tmp_path / "el.parquet"
    r = runner.invoke(app, ["price", "elasticity", "-t", str(files / "tx.parquet"), "--catalog",
                            str(files / "catalog.parquet"), "--cutoff", "2024-11-01",
                            "--output", str(el), "--no-track"])  # fmt: skip
    assert r.exit_code == 0, r.output
    out2 = tmp_path / "rec2.csv"
    r = runner.invoke(app, [*base, "--catalog", str(files / "catalog.parquet"),
                            "--elasticities", str(el), "--output", str(out2)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert len(pd.read_csv(out2)) == len(t)
    # no cost: one line, nothing written
    bad = tmp_path / "bad.csv"
    r = runner.invoke(app, [*base, "--catalog", str(files / "nocost.parquet"), "--output",
                            str(bad)])  # fmt: skip
    assert r.exit_code != 0 and "cost" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, [*base, "--catalog", str(files / "catalog.parquet"), "--output",
                            str(bad), "--min-margin", "1.5"])  # fmt: skip
    assert r.exit_code != 0 and "--min-margin" in r.output
    assert not bad.exists()


def test_pack_rule_lowers_or_keeps_the_bigger_pack() -> None:
    """Today 1 pack 10.00 and 6 packs 60.00 (10.00 each): the single bottle's elastic demand
    wants a cut, the six-pack's inelastic one a raise; the six-pack may not cost more per
    unit, so it follows the single bottle down (or keeps its price)."""
    t = pd.DataFrame({
        "sku": ["P1", "P6"], "current_price": [10.0, 60.0], "cost": [4.0, 24.0],
        "ceiling_price": np.inf, "baseline_units": 100.0, "elasticity": [-3.0, -0.3],
        "elasticity_low": [-3.2, -0.5], "elasticity_high": [-2.8, -0.1], "source": "sku",
    })  # fmt: skip
    rules = PriceRules(min_margin=0.1, max_change=0.1, ending="none")
    alone = recommend_prices(t, rules)
    assert alone["recommended_price"].iat[0] < 10.0 < alone["recommended_price"].iat[1] / 6
    packs = pd.DataFrame({"sku": ["P1", "P6"], "pack_group": ["w", "w"], "pack_size": [1, 6]})
    out = consistent_packs(alone, packs, rules)
    p1, p6 = out["recommended_price"]
    assert p6 / 6 <= p1 + 1e-9 and out["reason"].iat[1].startswith("pack sizes: lowered")
    assert out["expected_units"].iat[1] > alone["expected_units"].iat[1]  # cheaper: more units
    tight = consistent_packs(recommend_prices(t, PriceRules(max_change=0.1, min_margin=0.1,
                                                            ending="none")).assign(
        recommended_price=[8.0, 66.0]), packs, PriceRules(max_change=0.1, min_margin=0.1,
                                                          ending="none"))  # fmt: skip
    assert tight["recommended_price"].tolist() == [10.0, 60.0]  # 48.00 is a 20 % cut: both kept
    assert tight["reason"].iat[1].startswith("kept: a bigger pack")
