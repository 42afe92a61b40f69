"""The nightly replenishment plan: classes + policy levels + stock position -> orders."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ecomml._validation import check_cutoff, check_frame
from ecomml.exceptions import ConfigError, DataQualityError, DataQualityWarning, short_repr
from ecomml.inventory.budget import DEFAULT_MARGIN_RATE, unit_margins
from ecomml.inventory.classify import _plain, _skus, classify_skus
from ecomml.inventory.policy import (
    classic_levels,
    forecast_levels,
    forecast_period_days,
    round_orders,
)

__all__ = [
    "OBJECTIVES",
    "PLAN_COLUMNS",
    "POLICIES",
    "ReplenishmentPlan",
    "check_policy",
    "order_priority",
    "replenishment_plan",
    "unit_costs",
]

PLAN_COLUMNS = [
    "sku", "abc", "xyz", "pattern", "on_hand", "on_order", "lead_time_demand_q50",
    "safety_stock", "reorder_point", "order_up_to", "order_qty", "expected_fill_rate",
    "expected_cover_weeks",
]  # fmt: skip
POLICIES = ("forecast", "classic")
OBJECTIVES = ("service", "cost")


def check_policy(policy: str) -> None:
    """Refuse a policy name that is not one of :data:`POLICIES`."""
    if policy not in POLICIES:
        raise ConfigError(f"--policy must be forecast or classic, got {policy!r}")


@dataclass
class ReplenishmentPlan:
    """A plan (one row per SKU, :data:`PLAN_COLUMNS` first) and its summary."""

    plan: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    classes: pd.DataFrame | None = None
    cost_curve: pd.DataFrame | None = None


def unit_costs(
    transactions: pd.DataFrame, skus: Sequence[str], catalog: pd.DataFrame | None = None
) -> pd.Series:
    """Unit value per SKU: catalog ``cost`` where given, else the mean selling price."""
    skus = pd.Index([str(s) for s in skus])
    out = pd.Series(np.nan, index=skus)
    if catalog is not None and {"sku", "cost"} <= set(catalog.columns):
        out = out.fillna(pd.Series(catalog["cost"].to_numpy(np.float64), index=catalog["sku"].astype(str)).groupby(level=0).first())  # fmt: skip
    if "price" in transactions.columns:
        sales = transactions.loc[transactions["quantity"] > 0]
        w = sales["quantity"] * sales["price"]
        key = _skus(sales["sku"])
        price = _plain(
            w.groupby(key, observed=True).sum()
            / sales["quantity"].groupby(key, observed=True).sum()
        )
        out = out.fillna(price.reindex(skus))
    return out.fillna(0.0).astype(np.float64)


def _position(
    on_hand: pd.DataFrame | None, skus: pd.Index
) -> tuple[pd.Series, pd.Series, pd.Series | None]:
    zero = pd.Series(0.0, index=skus)
    if on_hand is None:
        return zero, zero.copy(), None
    check_frame(on_hand, required=["sku", "on_hand"], name="on-hand")
    oh = on_hand.copy()
    oh["sku"] = oh["sku"].astype(str)
    dup = oh.loc[oh["sku"].duplicated(), "sku"].unique().tolist()
    if dup:
        raise DataQualityError(
            f"on-hand lists SKU(s) {short_repr(dup)} more than once", bad_keys=dup
        )
    for col in ("on_hand", "on_order"):
        if col not in oh.columns:
            continue
        v = pd.to_numeric(oh[col], errors="coerce")
        bad = oh.loc[v.isna() | (v < 0), "sku"].tolist()
        if bad:
            raise DataQualityError(
                f"on-hand column '{col}' has negative or non-numeric values for SKU(s) "
                f"{short_repr(bad)}; stock and open orders must be numbers >= 0",
                bad_keys=bad,
            )
        oh[col] = v
    unknown = sorted(set(oh["sku"]) - set(skus))
    if unknown:
        warnings.warn(
            f"on-hand lists {len(unknown)} SKU(s) that are not planned (no forecast): "
            f"{short_repr(unknown)}; they are left out of the plan",
            DataQualityWarning,
            stacklevel=3,
        )
    oh = oh.set_index("sku")
    on = oh["on_hand"].reindex(skus).fillna(0.0)
    oo = oh["on_order"].reindex(skus).fillna(0.0) if "on_order" in oh.columns else zero.copy()
    cost = oh["unit_cost"].reindex(skus) if "unit_cost" in oh.columns else None
    return on.astype(np.float64), oo.astype(np.float64), cost


def _match_skus(
    fc_skus: pd.Index, tx_skus: pd.Index, fallback: pd.Index, on_mismatch: str
) -> pd.Index:
    """SKUs to plan; forecast-only (non-fallback) and transactions-only SKUs are errors."""
    only_fc = fc_skus.difference(tx_skus).difference(fallback)
    only_tx = tx_skus.difference(fc_skus)
    if on_mismatch not in ("error", "drop"):
        raise ConfigError(f"on_mismatch must be 'error' or 'drop', got {on_mismatch!r}")
    msgs = []
    if len(only_fc):
        msgs.append(
            f"{len(only_fc)} SKU(s) are in the forecast but have no sale in the transactions "
            f"before the cutoff: {short_repr(list(only_fc))}"
        )
    if len(only_tx):
        msgs.append(
            f"{len(only_tx)} SKU(s) sold before the cutoff have no forecast: "
            f"{short_repr(list(only_tx))}"
        )
    text = "; ".join(msgs) or "the forecast is empty"
    if msgs:
        if on_mismatch == "error":
            raise DataQualityError(
                text + ". Forecast with the same transactions and cutoff, or pass "
                "--on-mismatch drop to plan only the SKUs in both",
                bad_keys=list(only_fc) + list(only_tx),
            )
    planned = fc_skus.difference(only_fc).sort_values()
    if planned.empty:
        raise DataQualityError(
            f"no SKU is both in the forecast and sold in the transactions before the cutoff "
            f"({text}). Forecast with the same transactions and cutoff.",
            bad_keys=list(only_fc) + list(only_tx),
        )
    if msgs:
        warnings.warn(text + "; they are left out of the plan", DataQualityWarning, stacklevel=3)
    return planned


def replenishment_plan(
    forecast: pd.DataFrame,
    transactions: pd.DataFrame,
    cutoff: Any,
    *,
    lead_time: float | Sequence[float],
    lead_time_sd: float = 0.0,
    service_level: float | Mapping[str, float] | None = 0.95,
    cell_targets: Mapping[str, float] | None = None,
    target: str = "fill",
    review: str = "periodic",
    review_period: int = 1,
    policy: str = "forecast",
    on_hand: pd.DataFrame | None = None,
    catalog: pd.DataFrame | None = None,
    by: str = "revenue",
    moq: float = 0.0,
    pack_size: float = 1.0,
    max_order_value: float | None = None,
    budget: float | None = None,
    margin_rate: float | None = None,
    objective: str = "service",
    holding_rate: float | None = None,
    shortage_cost: float | None = None,
    order_cost: float = 0.0,
    backorder: bool = False,
    calibrate_on: pd.DataFrame | None = None,
    on_mismatch: str = "error",
    slow_cover_weeks: float = 26.0,
    n_samples: int = 2000,
    random_state: int | None = 0,
) -> ReplenishmentPlan:
    """Classify SKUs, set stock levels and compute today's orders.

    Parameters
    ----------
    forecast : DataFrame
        Output of ``ecomml predict forecast`` (``sku, ds, mean, q05..q95`` + ``nb_size``,
        ``pattern``, ``fallback``), starting at the cutoff's period.
    transactions : DataFrame
        Canonical transactions; rows at or after ``cutoff`` are ignored.
    lead_time, lead_time_sd : float
        Days (an empirical list of lead times is accepted too).
    service_level : float, mapping per SKU, or None
        Target for every SKU; None uses the per-cell targets (``cell_targets`` overrides
        :data:`~ecomml.inventory.DEFAULT_CELL_TARGETS`).
    policy : {"forecast", "classic"}
        Forecast-distribution levels, or the textbook ``z*sigma*sqrt(L+R)`` baseline.
    on_hand : DataFrame or None
        ``sku, on_hand`` (+ ``on_order``, ``unit_cost``, ``moq``, ``pack_size``); missing
        SKUs hold nothing.
    moq, pack_size, max_order_value : float
        Order rounding and the budget of the whole order (A items first, then lowest cover).
    budget : float or None
        Money for the whole order, allocated by greedy marginal analysis: each next step
        of an order (MOQ, then packs) goes to the SKU with the most expected margin per
        unit of money (:mod:`ecomml.inventory.budget`). Adds ``unit_margin`` and
        ``unconstrained_order_qty`` to the plan and ``budget`` to the summary (money
        spent, expected margin lost against the unconstrained plan, and the same for the
        pro-rata cut and the ``max_order_value`` priority cut). Not with ``max_order_value``.
    margin_rate : float or None
        Margin as a share of the price for SKUs without a known cost (default
        :data:`~ecomml.inventory.budget.DEFAULT_MARGIN_RATE`).
    objective : {"service", "cost"}
        ``service`` sets levels for ``service_level``; ``cost`` sets the levels that
        minimise the expected holding + shortage + ordering cost per period
        (:func:`~ecomml.inventory.costs.cost_levels`: base stock, or ``(s, S)`` with an
        ``order_cost``) and adds the cost columns. Periodic review, forecast policy only.
    holding_rate, shortage_cost, order_cost, backorder
        The cost objective's inputs: holding cost per year as a share of the unit value
        (default :data:`~ecomml.inventory.costs.DEFAULT_HOLDING_RATE`), shortage cost per
        unit (default: the lost margin; per unit and period with ``backorder``), fixed
        cost per order.
    calibrate_on : DataFrame or None
        Backtest forecasts with actuals (``ecomml backtest forecast --forecasts-output``):
        the mean and dispersion of the lead-time + review demand are corrected by
        :func:`~ecomml.inventory.calibration.fit_demand_calibration` before the levels are
        set (forecast policy; the summary's ``calibration`` says what was fitted).

    Returns
    -------
    ReplenishmentPlan
    """
    check_policy(policy)
    _check_objective(objective, policy, review)
    check_frame(forecast, required=["sku", "ds", "mean"], name="forecast")
    cut = check_cutoff(cutoff)
    check_frame(transactions, required=["sku", "ts", "quantity"], name="transactions")
    cols = [c for c in ("sku", "ts", "quantity", "price") if c in transactions.columns]
    hist = transactions.loc[transactions["ts"] < cut, cols]
    hist["sku"] = pd.Categorical(_skus(hist["sku"]))  # factorized once for every step
    if hist.empty:
        raise DataQualityError(f"transactions has no rows before the cutoff {cut.date()}")
    span_days = (cut - hist["ts"].min()).days
    lt_max = (
        max(lead_time) if isinstance(lead_time, (list, tuple, np.ndarray)) else float(lead_time)
    )
    if lt_max > span_days:
        raise ConfigError(
            f"--lead-time {lt_max:g} days is longer than the history before the cutoff "
            f"({span_days} days); check the unit (days) or provide more history"
        )
    fc = forecast.copy()
    fc["sku"] = fc["sku"].astype(str)
    fc["ds"] = pd.to_datetime(fc["ds"])
    period_days = forecast_period_days(fc)
    fallback = (
        pd.Index(fc.loc[fc["fallback"].astype(bool), "sku"].unique())
        if "fallback" in fc.columns
        else pd.Index([])
    )
    sold = hist.loc[hist["quantity"] > 0]
    tx_skus = pd.Index(np.asarray(sold["sku"].unique(), dtype=object))
    # a SKU first sold in the cutoff's own (incomplete) period has no forecast yet: not an error
    complete = pd.Index(
        np.asarray(sold.loc[sold["ts"] < fc["ds"].min(), "sku"].unique(), dtype=object)
    )
    only_partial = tx_skus.difference(complete).difference(pd.Index(fc["sku"].unique()))
    if len(only_partial):
        warnings.warn(
            f"{len(only_partial)} SKU(s) first sold in the period of the cutoff have no forecast "
            f"and are not planned: {short_repr(list(only_partial))}",
            DataQualityWarning,
            stacklevel=2,
        )
    skus = _match_skus(
        pd.Index(fc["sku"].unique()), tx_skus.difference(only_partial), fallback, on_mismatch
    )
    fc = fc.loc[fc["sku"].isin(skus)]
    classes = classify_skus(
        hist, cut, by=by, freq="W" if period_days == 7 else "D", catalog=catalog,
        cell_overrides=cell_targets,
    )  # fmt: skip
    classes = classes.set_index("sku").reindex(skus.rename("sku"))
    new = classes["abc"].isna()
    classes.loc[new, ["abc", "xyz"]] = ["C", "Z"]
    classes["cell"] = classes["abc"] + classes["xyz"]
    if service_level is None:
        from ecomml.inventory.classify import cell_targets as _targets

        level: Any = classes["cell"].map(_targets(cell_targets))
    else:
        from ecomml.inventory.policy import check_service_level

        level = check_service_level(service_level)
    kw = {"lead_time_sd": lead_time_sd, "review_period": review_period, "service_level": level,
              "target": target, "review": review}  # fmt: skip
    cal_report = None
    if calibrate_on is not None:
        fc, cal_report = _calibrated(fc, calibrate_on, policy, lead_time, lead_time_sd,
                                     review_period, period_days, cut)  # fmt: skip
    on, oo, cost_oh = _position(on_hand, skus)
    cost = unit_costs(hist, skus, catalog)
    if cost_oh is not None:
        cost = cost_oh.fillna(cost)
    rate = DEFAULT_MARGIN_RATE if margin_rate is None else margin_rate
    if objective == "cost":
        from ecomml.inventory.costs import DEFAULT_HOLDING_RATE, cost_levels, sku_cost_rates

        margin = unit_margins(hist, skus, catalog, unit_cost=cost_oh, margin_rate=rate)
        rates = sku_cost_rates(
            cost, margin, shortage_cost=shortage_cost, order_cost=order_cost,
            holding_rate=DEFAULT_HOLDING_RATE if holding_rate is None else holding_rate,
            period_days=period_days,
        )  # fmt: skip
        levels = cost_levels(
            fc, rates, skus=skus, lead_time=lead_time, lead_time_sd=lead_time_sd,
            review_period=review_period, backorder=backorder, start=fc["ds"].min(),
            period_days=period_days, random_state=random_state,
        )  # fmt: skip
        level = np.nan
    elif policy == "forecast":
        levels = forecast_levels(
            fc, lead_time=lead_time, start=fc["ds"].min(), period_days=period_days,
            n_samples=n_samples, random_state=random_state, **kw,
        )  # fmt: skip
    else:
        from ecomml.forecasting.panel import panel_from_transactions

        if isinstance(lead_time, (list, tuple, np.ndarray)) and len(lead_time) > 1:
            kw["lead_time_sd"] = float(np.std(np.asarray(lead_time, dtype=np.float64), ddof=1))

        freq = "W" if period_days == 7 else "D"
        panel = panel_from_transactions(hist, cut, freq)
        panel = panel.loc[panel["sku"].isin(skus)]
        levels = classic_levels(
            panel, lead_time=float(np.mean(lead_time)), period_days=period_days, **kw
        )
        have = set(levels["sku"])
        new_skus = [k for k in skus if k not in have]
        if new_skus:  # no complete period of history: Poisson demand at the forecast mean
            m = fc.loc[fc["sku"].isin(new_skus)].groupby("sku")["mean"].mean()
            d = np.sqrt(m.to_numpy() / 2.0)
            fake = pd.DataFrame({
                "sku": np.repeat(m.index.to_numpy(), 2),
                "ds": pd.Timestamp("2000-01-03"),
                "y": np.column_stack([m.to_numpy() + d, m.to_numpy() - d]).ravel(),
            })  # fmt: skip
            extra = classic_levels(
                fake, lead_time=float(np.mean(lead_time)), period_days=period_days, **kw
            )
            levels = pd.concat([levels, extra], ignore_index=True)
    levels = levels.set_index("sku").reindex(skus)
    ip = on + oo
    s = levels["reorder_point"]
    S = levels["order_up_to"]
    # periodic: order when the position is below the reorder point (= S but for (s, S))
    trigger = ip < s if review == "periodic" else ip <= s
    raw = np.where(trigger, S - ip, 0.0)
    moq_v = on_hand.set_index(on_hand["sku"].astype(str))["moq"].reindex(skus).fillna(moq).to_numpy() if on_hand is not None and "moq" in on_hand.columns else moq  # fmt: skip
    pack_v = on_hand.set_index(on_hand["sku"].astype(str))["pack_size"].reindex(skus).fillna(pack_size).to_numpy() if on_hand is not None and "pack_size" in on_hand.columns else pack_size  # fmt: skip
    mean_week = levels["mean_period_demand"].to_numpy() * 7.0 / period_days
    with np.errstate(divide="ignore", invalid="ignore"):
        cover_now = np.where(mean_week > 0, ip.to_numpy() / mean_week, np.inf)
    prio = order_priority(classes["abc"].to_numpy(), cover_now)
    alloc = None
    if budget is not None:
        from ecomml.inventory.budget import budget_allocation, check_budget

        b = check_budget(budget)
        if max_order_value is not None:
            raise ConfigError(
                "--budget and --max-order-value both cut the order to an amount of money; "
                "pass one: --budget allocates by expected margin per unit of money, "
                "--max-order-value keeps A items first"
            )
        q_unc = round_orders(raw, moq=moq_v, pack_size=pack_v)
        margin = unit_margins(hist, skus, catalog, unit_cost=cost_oh, margin_rate=rate)
        alloc = budget_allocation(
            fc, qty=q_unc, position=ip.to_numpy(), unit_cost=cost.to_numpy(),
            unit_margin=margin.to_numpy(), budget=b, lead_time=lead_time,
            lead_time_sd=lead_time_sd, review_period=review_period, period_days=period_days,
            moq=moq_v, pack_size=pack_v, priority=prio, n_samples=min(int(n_samples), 1000),
            random_state=random_state,
        )  # fmt: skip
        qty = alloc.qty
    else:
        qty = round_orders(raw, moq=moq_v, pack_size=pack_v, unit_cost=cost.to_numpy(),
                           max_order_value=max_order_value, priority=prio)  # fmt: skip
    after = ip.to_numpy() + qty
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(mean_week > 0, after / mean_week, np.inf)
    plan = pd.DataFrame(
        {
            "sku": skus.to_numpy(),
            "abc": classes["abc"].to_numpy(),
            "xyz": classes["xyz"].to_numpy(),
            "pattern": _pattern(fc, classes, skus),
            "on_hand": on.to_numpy(),
            "on_order": oo.to_numpy(),
            "lead_time_demand_q50": levels["lead_time_demand_q50"].to_numpy(),
            "safety_stock": levels["safety_stock"].to_numpy(),
            "reorder_point": s.to_numpy(),
            "order_up_to": S.to_numpy(),
            "order_qty": qty,
            "expected_fill_rate": levels["expected_fill_rate"].to_numpy(),
            "expected_cover_weeks": cover,
            "service_target": np.broadcast_to(np.asarray(level, dtype=np.float64), (len(skus),)),
            "expected_cycle_service": levels["expected_cycle_service"].to_numpy(),
            "mean_weekly_demand": mean_week,
            "unit_cost": cost.to_numpy(),
            "order_value": qty * cost.to_numpy(),
            "slow_mover": classes["slow_mover"].fillna(False).astype(bool).to_numpy(),
            "dead": classes["dead"].fillna(False).astype(bool).to_numpy(),
            "new_sku": new.to_numpy(),
        }
    )
    if objective == "cost":
        from ecomml.inventory.costs import COST_COLUMNS

        for c in COST_COLUMNS:
            plan[c] = levels[c].to_numpy()
    if alloc is not None:
        plan["unit_margin"] = margin.to_numpy()
        plan["unconstrained_order_qty"] = q_unc
    nan_cols = [c for c in PLAN_COLUMNS[4:] if plan[c].isna().any()]
    if nan_cols:
        bad = plan.loc[plan[nan_cols].isna().any(axis=1), "sku"].tolist()
        raise DataQualityError(
            f"the plan has missing values in {nan_cols} for SKU(s) {short_repr(bad)}; "
            "check the forecast rows of these SKUs",
            bad_keys=bad,
        )
    summary = _summary(plan, period_days * (review_period if review == "periodic" else 1))
    if objective == "cost":
        summary.update(_cost_summary(plan, period_days))
    if cal_report is not None:
        summary["calibration"] = cal_report
    if alloc is not None:
        m = alloc.summary["methods"]
        summary.update(
            budget=alloc.summary["budget"], budget_spent=m["greedy"]["spent"],
            lost_margin=m["greedy"]["lost_margin"], lost_margin_pro_rata=m["pro_rata"]["lost_margin"],
            lost_margin_priority_cut=m["priority"]["lost_margin"],
            budget_allocation=alloc.summary,
        )  # fmt: skip
    curve = pd.DataFrame(levels.attrs["cost_curve"]) if objective == "cost" else None
    return ReplenishmentPlan(plan, summary, classes.reset_index(), curve)


def _check_objective(objective: str, policy: str, review: str) -> None:
    if objective not in OBJECTIVES:
        raise ConfigError(f"--objective must be service or cost, got {objective!r}")
    if objective == "cost" and (policy != "forecast" or review != "periodic"):
        raise ConfigError(
            "--objective cost sets periodic-review levels from the forecast's distribution: "
            "use it with --policy forecast --review periodic"
        )


def _calibrated(
    fc: pd.DataFrame, backtest: pd.DataFrame, policy: str, lead_time: Any, lead_time_sd: float,
    review_period: int, period_days: int, cut: pd.Timestamp,
) -> tuple[pd.DataFrame, dict[str, Any]]:  # fmt: skip
    """The forecast with its protection-interval demand calibrated on ``backtest`` (whose
    windows must end before the plan's cutoff: no future data in a replayed plan)."""
    from ecomml.inventory.calibration import fit_demand_calibration
    from ecomml.inventory.policy import lead_time_periods

    if policy != "forecast":
        raise ConfigError("--calibrate-on corrects the forecast's distribution: use it with "
                          "--policy forecast")  # fmt: skip
    if "ds" in backtest.columns and len(backtest):
        last = pd.to_datetime(backtest["ds"]).max()
        if last >= cut:
            raise DataQualityError(
                f"the backtest forecasts reach {last.date()}, on or after the plan's cutoff "
                f"{cut.date()}: calibrate on windows before it (backtest with --cutoff "
                f"{cut.date()} or earlier)"
            )
    ks, _ = lead_time_periods(lead_time, lead_time_sd, period_days=period_days)
    cal = fit_demand_calibration(backtest, int(ks.max()) + max(int(review_period), 1))
    return cal.apply(fc), {"scales": {k: list(v) for k, v in cal.scales.items()}, **cal.report}


def _cost_summary(plan: pd.DataFrame, period_days: int) -> dict[str, Any]:
    """Expected cost per week of the cost-optimal levels, split by kind."""
    per_week = 7.0 / period_days
    parts = ("holding", "shortage", "order")
    out = {f"expected_{p}_cost_per_week": float(plan[f"expected_{p}_cost"].sum() * per_week)
           for p in parts}  # fmt: skip
    out["expected_cost_per_week"] = float(plan["expected_cost"].sum() * per_week)
    out["periods_per_week"] = per_week
    out["skus_with_fixed_order_cost"] = int((plan["order_cost"] > 0).sum())
    return out


def order_priority(abc: np.ndarray, cover_weeks: np.ndarray) -> np.ndarray:
    """The ``max_order_value`` cut's order (smallest first): A items, then B, then C,
    each by the fewest weeks of cover."""
    rank = pd.Series(abc).map({"A": 0, "B": 1, "C": 2}).fillna(2).to_numpy(np.float64)
    return rank * 1e9 + np.minimum(np.asarray(cover_weeks, dtype=np.float64), 1e8)


def _pattern(fc: pd.DataFrame, classes: pd.DataFrame, skus: pd.Index) -> np.ndarray:
    if "pattern" in fc.columns:
        p = fc.drop_duplicates("sku").set_index("sku")["pattern"].reindex(skus)
        if "fallback" in fc.columns:
            fb = fc.drop_duplicates("sku").set_index("sku")["fallback"].reindex(skus).astype(bool)
            p = p.where(~fb, "new")
        return p.fillna(classes["pattern"]).fillna("new").astype(str).to_numpy()
    return classes["pattern"].fillna("new").astype(str).to_numpy()


def _summary(plan: pd.DataFrame, cycle_days: int) -> dict[str, Any]:
    """Inventory value now, expected average inventory and turns under the policy."""
    cost = plan["unit_cost"]
    cycle = plan["mean_weekly_demand"] * cycle_days / 7.0
    # average on hand of an order-up-to policy ~ safety stock + half a cycle's demand
    avg_units = np.maximum(plan["safety_stock"], 0.0) + cycle / 2.0
    avg_value = float((avg_units * cost).sum())
    annual_cogs = float((plan["mean_weekly_demand"] * 52.0 * cost).sum())
    now_value = float((plan["on_hand"] * cost).sum())
    slow_basis = plan["on_hand"] * cost if now_value > 0 else avg_units * cost
    total_basis = float(slow_basis.sum())
    return {
        "skus": int(len(plan)),
        "skus_to_order": int((plan["order_qty"] > 0).sum()),
        "order_units": float(plan["order_qty"].sum()),
        "order_value": float(plan["order_value"].sum()),
        "inventory_value": now_value,
        "expected_avg_inventory_value": avg_value,
        "expected_turns": annual_cogs / avg_value if avg_value > 0 else 0.0,
        "slow_mover_share": float(slow_basis[plan["slow_mover"]].sum() / total_basis)
        if total_basis > 0
        else 0.0,
        "slow_mover_skus": int(plan["slow_mover"].sum()),
        "dead_skus": int(plan["dead"].sum()),
        "expected_fill_rate": float(
            np.average(
                plan["expected_fill_rate"], weights=np.maximum(plan["mean_weekly_demand"], 1e-12)
            )
        ),
        "by_class": {
            k: {
                "skus": int(len(g)),
                "order_value": float(g["order_value"].sum()),
                "expected_fill_rate": float(g["expected_fill_rate"].mean()),
            }
            for k, g in plan.groupby("abc")
        },  # fmt: skip
    }
