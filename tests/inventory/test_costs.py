"""Cost-optimal levels (issue 20): the textbook (s, S) example, the critical fractile,
brute force over the grid, a simulated check of the long-run cost, and the plan/CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from typer.testing import CliRunner

from ecomml.cli.main import app
from ecomml.exceptions import ConfigError
from ecomml.inventory import replenishment_plan
from ecomml.inventory.costs import (
    COST_COLUMNS,
    CostRates,
    Distributions,
    cost_levels,
    optimal_policy,
    policy_cost,
    sku_cost_rates,
)

from .conftest import CUTOFF, nb_forecast

GRID = 96


def _poisson(mean: float, grid: int = GRID) -> np.ndarray:
    p = stats.poisson.pmf(np.arange(grid), mean)
    p[-1] += 1.0 - p.sum()
    return p


def _dist(period: np.ndarray, lead: int) -> Distributions:
    """Stationary per-period pmf, review every period, ``lead`` periods of lead time."""
    grid = len(period)

    def conv(k: int) -> np.ndarray:
        out = np.zeros(grid)
        out[0] = 1.0
        for _ in range(k):
            out = np.convolve(out, period)[:grid]
        out[-1] += 1.0 - out.sum()
        return out

    mean = float((period * np.arange(grid)).sum())
    return Distributions(np.ones(1), period[None], [conv(lead)[None], conv(lead + 1)[None]],
                         np.array([mean]), np.array([mean]))  # fmt: skip


def _rates(h: float, p: float, k: float) -> CostRates:
    return CostRates(np.array([h]), np.array([p]), np.array([k]))


def test_zheng_federgruen_textbook_example() -> None:
    # Snyder & Shen, Example 4.7: Poisson(6), h=1, p=4, K=5 -> s=4, S=10, g=8.0341
    d = _dist(_poisson(6.0), lead=0)
    got = optimal_policy(d, _rates(1.0, 4.0, 5.0), backorder=True)
    assert (got["s"][0], got["S"][0]) == (4, 10)
    assert got["expected_cost"][0] == pytest.approx(8.034111561471642, rel=1e-9)


def test_no_order_cost_is_the_critical_fractile_of_lead_time_demand() -> None:
    d = _dist(_poisson(3.0), lead=2)  # protection demand Poisson(9)
    got = optimal_policy(d, _rates(1.0, 9.0, 0.0), backorder=True)
    assert got["S"][0] == stats.poisson.ppf(0.9, 9.0)
    assert got["s"][0] == got["S"][0] - 1
    assert got["orders_per_period"][0] == pytest.approx(1 - np.exp(-3.0))


@st.composite
def _problem(draw):
    w = np.array([draw(st.floats(0.0, 1.0)) for _ in range(5)])
    if w.sum() == 0:
        w[1] = 1.0
    period = np.zeros(24)
    period[:5] = w / w.sum()
    lead = draw(st.integers(0, 2))
    h, p, k = draw(st.floats(0.1, 2.0)), draw(st.floats(0.5, 20.0)), draw(st.floats(0.0, 30.0))
    return _dist(period, lead), _rates(h, p, k), draw(st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problem())
def test_the_optimum_is_no_worse_than_any_policy_on_the_grid(problem) -> None:
    dist, rates, backorder = problem
    best = optimal_policy(dist, rates, backorder=backorder)
    again = policy_cost(dist, rates, best["s"], best["S"], backorder=backorder)
    assert again["expected_cost"][0] == pytest.approx(best["expected_cost"][0], rel=1e-9)
    for S in range(0, 20):  # with lost sales s < 0 only as "never stock" (S = 0)
        for s in range(-1 if backorder or S == 0 else 0, S):
            c = policy_cost(dist, rates, np.array([s]), np.array([S]), backorder=backorder)
            assert best["expected_cost"][0] <= c["expected_cost"][0] + 1e-9
            assert 0.0 <= c["expected_fill_rate"][0] <= 1.0


def test_long_run_cost_matches_a_simulated_backorder_system() -> None:
    # (s, S) = (5, 14), Poisson(4) per period, lead time 1 period, h=1, b=6, K=10
    rng = np.random.default_rng(0)
    s, S, L, T = 5, 14, 1, 200_000
    demand = rng.poisson(4.0, T)
    ip, net = S, S
    pipe = [0] * L
    cost = 0.0
    for t in range(T):
        q = S - ip if ip <= s else 0
        cost += 10.0 if q else 0.0
        ip += q
        pipe.append(q)
        net += pipe.pop(0)
        net -= demand[t]
        ip -= demand[t]
        cost += 1.0 * max(net, 0) + 6.0 * max(-net, 0)
    d = _dist(_poisson(4.0), lead=L)
    exact = policy_cost(d, _rates(1.0, 6.0, 10.0), np.array([s]), np.array([S]), backorder=True)
    assert cost / T == pytest.approx(exact["expected_cost"][0], rel=0.02)


def test_cost_levels_exact_nb_and_sampled_quantiles_agree() -> None:
    fc = nb_forecast(["a", "b", "c"], [0.5, 4.0, 40.0], size=3.0)
    rates = CostRates(np.full(3, 0.05), np.full(3, 2.0), np.array([0.0, 5.0, 0.0]))
    kw = {"skus": ["a", "b", "c"], "lead_time": 14, "review_period": 1}
    exact = cost_levels(fc, rates, **kw)
    sampled = cost_levels(fc.drop(columns="nb_size"), rates, n_samples=20_000, **kw)
    assert list(exact.columns) == [*exact.columns[:10], *COST_COLUMNS]
    assert list(exact["sku"]) == ["a", "b", "c"]
    tol = np.maximum(2.0, 0.06 * exact["order_up_to"].to_numpy())
    assert (np.abs(exact["order_up_to"] - sampled["order_up_to"]) <= tol).all()
    # SKU b has a fixed order cost: an (s, S) policy that orders less than every period
    b = exact.set_index("sku").loc["b"]
    assert b["reorder_point"] < b["order_up_to"] and b["orders_per_period"] < 0.9
    assert (exact["expected_cost"] > 0).all()
    curve = pd.DataFrame(exact.attrs["cost_curve"])
    repr(exact)  # attrs stay plain data: printing and concatenating work
    assert curve["expected_fill_rate"].is_monotonic_increasing


def test_dearer_shortage_raises_levels_and_service() -> None:
    fc = nb_forecast(["a", "b"], [2.0, 20.0], size=2.0)
    out = []
    for p in (0.5, 5.0, 50.0):
        r = CostRates(np.full(2, 0.1), np.full(2, p), np.zeros(2))
        out.append(cost_levels(fc, r, skus=["a", "b"], lead_time=7))
    for lo, hi in zip(out, out[1:], strict=False):
        assert (hi["order_up_to"].to_numpy() >= lo["order_up_to"].to_numpy()).all()
        assert (hi["expected_fill_rate"].to_numpy() >= lo["expected_fill_rate"].to_numpy()).all()


def test_rates_from_cost_and_margin() -> None:
    cost = pd.Series([10.0, 20.0], index=["a", "b"])
    margin = pd.Series([3.0, 1.0], index=["a", "b"])
    r = sku_cost_rates(cost, margin, holding_rate=0.365, period_days=7)
    np.testing.assert_allclose(r.holding, [0.07, 0.14])
    np.testing.assert_allclose(r.shortage, [3.0, 1.0])
    r = sku_cost_rates(cost, margin, shortage_cost=9.0, order_cost=4.0)
    np.testing.assert_allclose(r.shortage, [9.0, 9.0])
    np.testing.assert_allclose(r.order, [4.0, 4.0])
    with pytest.raises(ConfigError, match="--holding-rate"):
        sku_cost_rates(cost, margin, holding_rate=-1)
    with pytest.raises(ConfigError, match="--order-cost"):
        sku_cost_rates(cost, margin, order_cost="x")


def test_plan_with_the_cost_objective(shop, forecast) -> None:  # noqa: ANN001
    base = replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=14)
    res = replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=14,
                             objective="cost", order_cost=25.0)  # fmt: skip
    p = res.plan
    assert set(COST_COLUMNS) <= set(p.columns) and list(p["sku"]) == list(base.plan["sku"])
    ordered = p["order_qty"] > 0
    below = p["on_hand"] + p["on_order"] < p["reorder_point"]
    assert (ordered == below).all()
    assert (p.loc[ordered, "order_qty"] >= p.loc[ordered, "order_up_to"] - 1e-9).all()
    assert (p["reorder_point"] < p["order_up_to"]).any()  # (s, S) for some SKUs
    s = res.summary
    assert s["expected_cost_per_week"] == pytest.approx(
        s["expected_holding_cost_per_week"] + s["expected_shortage_cost_per_week"]
        + s["expected_order_cost_per_week"]
    )  # fmt: skip
    assert res.cost_curve is not None and len(res.cost_curve) > 5
    with pytest.raises(ConfigError, match="--policy forecast"):
        replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=14,
                           objective="cost", policy="classic")  # fmt: skip
    with pytest.raises(ConfigError, match="--objective"):
        replenishment_plan(forecast, shop.transactions, CUTOFF, lead_time=14, objective="money")


def test_cli_plan_cost_objective(shop, forecast, tmp_path: Path) -> None:  # noqa: ANN001
    shop.transactions.to_parquet(tmp_path / "tx.parquet", index=False)
    forecast.to_parquet(tmp_path / "fc.parquet", index=False)
    base = ["inventory", "plan", "--forecasts", str(tmp_path / "fc.parquet"), "--transactions",
            str(tmp_path / "tx.parquet"), "--format", "canonical", "--cutoff",
            str(CUTOFF.date()), "--lead-time", "14", "--no-track"]  # fmt: skip
    res = CliRunner().invoke(app, [*base, "--output", str(tmp_path / "p.csv"), "--objective",
                                   "cost", "--order-cost", "20", "--holding-rate", "0.3"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "expected cost per week" in res.output
    s = json.loads((tmp_path / "p.summary.json").read_text())
    assert s["objective"] == "cost" and s["expected_cost_per_week"] > 0
    assert (tmp_path / "p-plots" / "cost_tradeoff.png").exists()
    assert (tmp_path / "p.cost_curve.csv").exists()
    res = CliRunner().invoke(app, [*base, "--output", str(tmp_path / "q.csv"), "--objective",
                                   "cost", "--holding-rate", "-0.1"])  # fmt: skip
    assert res.exit_code == 1 and "--holding-rate must be in [0, 5]" in res.output, res.output


def test_lost_sales_order_cost_never_strands_a_sku_and_may_not_stock_it() -> None:
    # a slow seller with a large order cost: an (s, S) with s < 0 would order once and never
    # again under lost sales; the optimum is a real reorder level or not stocking at all
    fc = nb_forecast(["slow", "steady"], [0.05, 4.0], size=0.5)
    rates = CostRates(np.full(2, 0.05), np.array([1.0, 5.0]), np.full(2, 50.0))
    lv = cost_levels(fc, rates, skus=["slow", "steady"], lead_time=7).set_index("sku")
    slow = lv.loc["slow"]
    assert slow["order_up_to"] == 0 and slow["orders_per_period"] == 0
    assert slow["expected_cost"] == pytest.approx(0.05, rel=0.05)  # every unit lost, no orders
    assert lv.loc["steady", "reorder_point"] >= 1


def test_the_grid_leaves_room_for_a_large_order_quantity() -> None:
    # EOQ ~ sqrt(2 * 200 * 2 / 0.1) = 89 units, far above the 0.9999 quantile of demand
    fc = nb_forecast(["a"], [2.0], size=2.0)
    rates = CostRates(np.array([0.1]), np.array([5.0]), np.array([200.0]))
    lv = cost_levels(fc, rates, skus=["a"], lead_time=7, backorder=True).iloc[0]
    assert lv["order_up_to"] - lv["reorder_point"] > 60


def test_cost_levels_refuse_unusable_forecasts() -> None:
    from ecomml.exceptions import DataQualityError

    fc = nb_forecast(["a", "b"], [2.0, 3.0])
    rates = CostRates(np.full(2, 0.1), np.full(2, 1.0), np.zeros(2))
    bad = fc.copy()
    bad.loc[bad["sku"] == "b", "mean"] = np.nan
    with pytest.raises(DataQualityError, match="'b'"):
        cost_levels(bad, rates, skus=["a", "b"], lead_time=7)
    with pytest.raises(ConfigError, match="nb_size"):
        cost_levels(fc[["sku", "ds", "mean"]], rates, skus=["a", "b"], lead_time=7)
