"""Cost-optimal stock levels: holding, shortage and ordering costs in, a policy out.

A buyer pays to hold stock (``holding_rate`` x unit cost per year), loses margin (or pays a
penalty) when it runs out, and may pay a fixed amount per order. Given each SKU's demand
distribution from the forecast, the policy that minimises the expected cost per period is:

* **no fixed order cost** -- the base-stock (order-up-to) level minimising the expected
  holding + shortage cost of the protection interval: the critical fractile of the
  lead-time + review demand, ``p / (p + h)`` for backorders;
* **a fixed order cost** -- the periodic-review ``(R, s, S)`` policy: order up to ``S`` when
  the inventory position at a review is at or below ``s``. Its long-run cost is exact
  (Zheng & Federgruen 1991): ``c(s, S) = (K + sum_{j<S-s} m(j) G(S-j)) / M(S-s)``, with
  ``G`` the expected holding + shortage cost of one review cycle at position ``y`` and
  ``m``, ``M`` the renewal function of the cycle's demand. Every ``(s, S)`` on the grid is
  evaluated (vectorised over SKUs), so the optimum is exact on the grid.

Distributions are on an integer grid of ``grid`` buckets per SKU: one unit per bucket for
slow sellers, ``unit`` units per bucket when demand is larger (the levels are then
multiples of ``unit``). They are exact negative binomial convolutions when the forecast
carries ``nb_size`` (sums of negative binomials with the same size ratio are negative
binomial; moments are matched otherwise) and sample histograms when it carries quantiles
only. Lost sales are costed as units short per cycle with backorder dynamics (the standard
approximation, close when service is high); with ``backorder=True`` the shortage cost is
per unit backordered per period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ecomml._validation import check_frame, check_random_state
from ecomml.exceptions import ConfigError, DataQualityError, short_repr
from ecomml.forecasting.leadtime import protection_window
from ecomml.inventory.distributions import Distributions, demand_distributions, shortfall
from ecomml.inventory.policy import (
    LEVEL_COLUMNS,
    check_forecast_rows,
    forecast_period_days,
    lead_time_periods,
)

__all__ = [
    "COST_COLUMNS",
    "CURVE_LEVELS",
    "DEFAULT_HOLDING_RATE",
    "CostRates",
    "cost_levels",
    "optimal_policy",
    "policy_cost",
    "sku_cost_rates",
]

#: Holding cost per year as a share of the unit cost (capital, storage, shrinkage).
DEFAULT_HOLDING_RATE = 0.25
COST_COLUMNS = [
    "holding_cost", "shortage_cost", "order_cost", "critical_ratio", "expected_cost",
    "expected_holding_cost", "expected_shortage_cost", "expected_order_cost",
    "orders_per_period", "eoq",
]  # fmt: skip


@dataclass(frozen=True)
class CostRates:
    """Per-SKU costs in money: holding per unit and period, shortage per unit (lost
    margin, or a penalty per unit and period with backorders), fixed cost per order."""

    holding: np.ndarray
    shortage: np.ndarray
    order: np.ndarray

    def __post_init__(self) -> None:
        for name in ("holding", "shortage", "order"):
            v = np.asarray(getattr(self, name), dtype=np.float64)
            if (~np.isfinite(v) | (v < 0)).any():
                raise ConfigError(f"{name} costs must be finite and >= 0")


def _rate(value: Any, name: str, upper: float | None = None) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (upper is not None and v > upper):
        rng = f"in [0, {upper:g}]" if upper is not None else ">= 0"
        raise ConfigError(f"{name} must be {rng}, got {value!r}")
    return v


def sku_cost_rates(
    unit_cost: pd.Series,
    unit_margin: pd.Series,
    *,
    holding_rate: float = DEFAULT_HOLDING_RATE,
    shortage_cost: float | pd.Series | None = None,
    order_cost: float | pd.Series = 0.0,
    period_days: int = 7,
) -> CostRates:
    """Costs per SKU from its unit value and margin (both indexed by SKU).

    ``holding = holding_rate * unit_cost * period_days / 365``; ``shortage`` is
    ``shortage_cost`` where given (one number or per SKU), else the lost margin;
    ``order_cost`` is the fixed cost of one order line.
    """
    hr = _rate(holding_rate, "--holding-rate", 5.0)
    idx = unit_cost.index
    cost = unit_cost.to_numpy(np.float64)
    h = hr * cost * float(period_days) / 365.0
    if shortage_cost is None:
        p = unit_margin.reindex(idx).fillna(0.0).to_numpy(np.float64)
    elif isinstance(shortage_cost, pd.Series):
        p = shortage_cost.reindex(idx).fillna(unit_margin.reindex(idx)).fillna(0.0).to_numpy()
    else:
        p = np.full(len(idx), _rate(shortage_cost, "--shortage-cost"))
    if isinstance(order_cost, pd.Series):
        k = order_cost.reindex(idx).fillna(0.0).to_numpy(np.float64)
    else:
        k = np.full(len(idx), _rate(order_cost, "--order-cost"))
    return CostRates(h, p, k)


def _cycle_cost(dist: Distributions, rates: CostRates, backorder: bool) -> dict[str, np.ndarray]:
    """Expected holding and shortage cost of one review cycle at each position (money),
    and the units short and P(no stock-out) per position."""
    R = len(dist.lead) - 1
    u = dist.unit[:, None]
    j = np.arange(dist.grid)[None, :]
    hold = np.zeros((len(dist.unit), dist.grid))
    for t in range(1, R + 1):
        pmf = dist.lead[t]
        mean = (pmf * j).sum(axis=1, keepdims=True)
        hold += (j - mean + shortfall(pmf)) * u  # E[(y - D_{L+t})^+]
    short_end = shortfall(dist.lead[R]) * u
    short_start = shortfall(dist.lead[0]) * u
    lost = np.maximum(short_end - short_start, 0.0)  # units short in the cycle
    if backorder:
        back = sum(shortfall(dist.lead[t]) * u for t in range(1, R + 1))
        short_cost = rates.shortage[:, None] * back
    else:
        short_cost = rates.shortage[:, None] * lost
    return {
        "holding": rates.holding[:, None] * hold,
        "shortage": short_cost,
        "lost": lost,
        "no_stockout": np.cumsum(dist.lead[R], axis=1),
    }


def _renewal(cycle: np.ndarray, qmax: int) -> np.ndarray:
    """Zheng-Federgruen m(j), j < qmax: expected number of cycles the position spends
    j buckets below its order-up-to level, per order."""
    n = len(cycle)
    p0 = np.minimum(cycle[:, 0], 1.0 - 1e-9)
    m = np.zeros((n, qmax))
    m[:, 0] = 1.0 / (1.0 - p0)
    for j in range(1, qmax):
        m[:, j] = m[:, 0] * (cycle[:, 1 : j + 1] * m[:, j - 1 :: -1][:, :j]).sum(axis=1)
    return m


def optimal_policy(
    dist: Distributions,
    rates: CostRates,
    *,
    backorder: bool = False,
    _cycle: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """The cost-minimising base-stock or ``(s, S)`` levels per SKU (buckets), exact on
    the grid, with the cost and service of the chosen policy per period."""
    cc = _cycle if _cycle is not None else _cycle_cost(dist, rates, backorder)
    G = cc["holding"] + cc["shortage"]
    n, grid = G.shape
    S = np.argmin(G, axis=1)
    s = S - 1
    best = G[np.arange(n), S].copy()
    fixed = rates.order > 0
    if fixed.any():
        idx = np.flatnonzero(fixed)
        m = _renewal(dist.cycle[idx], grid)
        M = np.cumsum(m, axis=1)
        g = G[idx]
        num = np.zeros_like(g)
        cost = np.full(len(idx), np.inf)
        bs, bS = np.zeros(len(idx), np.int64), np.zeros(len(idx), np.int64)
        K = rates.order[idx][:, None]
        for q in range(1, grid + 1):  # q = S - s buckets between the levels
            num[:, q - 1 :] += m[:, q - 1 : q] * g[:, : grid - q + 1]
            c = (K + num) / M[:, q - 1 : q]
            # s = S - q must be >= -1; with lost sales >= 0, as the position never falls
            # below 0 (a policy reordering below 0 orders once and never again)
            c[:, : q if not backorder else q - 1] = np.inf
            j = np.argmin(c, axis=1)
            cj = c[np.arange(len(idx)), j]
            better = cj < cost - 1e-12
            cost = np.where(better, cj, cost)
            bS = np.where(better, j, bS)
            bs = np.where(better, j - q, bs)
        if not backorder:  # not stocking at all: every unit lost, no order ever placed
            none = rates.shortage[idx] * dist.mean_cycle[idx]
            stop = none < cost - 1e-12
            bS, bs, cost = np.where(stop, 0, bS), np.where(stop, -1, bs), np.where(stop, none, cost)
        S[idx], s[idx], best[idx] = bS, bs, cost
    return {"s": s, "S": S, **policy_cost(dist, rates, s, S, backorder=backorder, _cycle=cc)}


def policy_cost(
    dist: Distributions,
    rates: CostRates,
    s: np.ndarray,
    S: np.ndarray,
    *,
    backorder: bool = False,
    _cycle: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Long-run cost per period and service of the ``(s, S)`` policy (buckets; ``s = S - 1``
    is base stock): the position after ordering is ``y`` in ``(s, S]`` with probability
    ``m(S - y) / M(S - s)``, and an order is placed once every ``M(S - s)`` cycles."""
    cc = _cycle if _cycle is not None else _cycle_cost(dist, rates, backorder)
    n, grid = cc["holding"].shape
    s, S = np.asarray(s, np.int64), np.clip(np.asarray(S, np.int64), 0, grid - 1)
    q = np.clip(S - s, 1, grid)
    m = _renewal(dist.cycle, int(q.max()))
    M = np.cumsum(m, axis=1)[np.arange(n), q - 1]
    d = np.arange(m.shape[1])[None, :]
    y = S[:, None] - d
    w = np.where(d < q[:, None], m, 0.0) / M[:, None]
    w = np.where(y >= 0, w, 0.0)
    yc = np.clip(y, 0, grid - 1)
    rows = np.arange(n)[:, None]

    def avg(table: np.ndarray) -> np.ndarray:
        return (w * table[rows, yc]).sum(axis=1)

    R = max(len(dist.lead) - 1, 1)
    # with lost sales the position never falls below 0: s < 0 never orders
    orders = np.where((s < 0) & (not backorder), 0.0, 1.0 / M)
    order_cost = rates.order * orders
    holding, shortage = avg(cc["holding"]), avg(cc["shortage"])
    lost = avg(cc["lost"])
    fill = np.where(dist.mean_cycle > 0, 1.0 - lost / np.maximum(dist.mean_cycle, 1e-12), 1.0)
    return {
        "expected_cost": (holding + shortage + order_cost) / R,
        "expected_holding_cost": holding / R,
        "expected_shortage_cost": shortage / R,
        "expected_order_cost": order_cost / R,
        "orders_per_period": orders / R,
        "expected_fill_rate": np.clip(fill, 0.0, 1.0),
        "expected_cycle_service": avg(cc["no_stockout"]),
    }


#: Service quantiles of the cost trade-off curve (:func:`cost_levels` ``curve``).
CURVE_LEVELS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999)


def _curve_chunk(
    dist: Distributions, rates: CostRates, q: np.ndarray, backorder: bool,
    cc: dict[str, np.ndarray],
) -> list[dict[str, float]]:  # fmt: skip
    """Summed cost and demand-weighted fill when every SKU reorders below the same
    quantile of its protection demand (order sizes ``S - s`` kept from the optimum)."""
    cdf = np.cumsum(dist.lead[-1], axis=1)
    rows = []
    for tau in CURVE_LEVELS:
        s = np.argmax(cdf >= tau - 1e-12, axis=1) - 1  # reorder below the quantile
        S = np.minimum(s + q, dist.grid - 1)
        pc = policy_cost(dist, rates, s, S, backorder=backorder, _cycle=cc)
        w = dist.mean_period
        rows.append({
            "service_quantile": tau,
            "fill_num": float((pc["expected_fill_rate"] * w).sum()), "weight": float(w.sum()),
            **{c: float(pc[c].sum()) for c in COST_COLUMNS[4:8]},
        })  # fmt: skip
    return rows


def _sum_curve(parts: list[list[dict[str, float]]]) -> pd.DataFrame:
    df = pd.DataFrame([r for p in parts for r in p]).groupby("service_quantile").sum()
    df["expected_fill_rate"] = df["fill_num"] / df["weight"].where(df["weight"] > 0)
    return df.drop(columns=["fill_num", "weight"]).reset_index()


def cost_levels(
    forecast: pd.DataFrame,
    rates: CostRates,
    *,
    skus: Sequence[str],
    lead_time: float | Sequence[float],
    lead_time_sd: float = 0.0,
    review_period: int = 1,
    backorder: bool = False,
    start: Any = None,
    period_days: int | None = None,
    grid: int = 256,
    n_samples: int = 4000,
    chunk_size: int = 2000,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Cost-optimal periodic-review levels per SKU, in the plan's level columns.

    ``rates`` hold one entry per SKU of ``skus`` (the order of the result). The policy
    orders up to ``order_up_to`` at a review when the inventory position is below
    ``reorder_point`` (``= order_up_to`` for base stock; ``s + 1`` for an ``(s, S)``
    policy). Adds :data:`COST_COLUMNS`: the unit costs, the critical ratio
    ``p / (p + h)``, the expected cost per period split into holding, shortage and
    ordering, orders per period and the EOQ (``sqrt(2 K D / h)`` per period, for
    reference). ``result.attrs["cost_curve"]`` holds the trade-off curve (a dict of
    columns): the summed
    expected costs and the fill rate of levels set at each of :data:`CURVE_LEVELS` of
    every SKU's protection demand, for the plot beside the chosen point.
    """
    check_frame(forecast, required=["sku", "ds", "mean"], name="forecast")
    skus = [str(k) for k in skus]
    if len(rates.holding) != len(skus):
        raise ConfigError(f"cost rates for {len(rates.holding)} SKUs, levels for {len(skus)}")
    pdays = int(period_days or forecast_period_days(forecast))
    ks, pk = lead_time_periods(lead_time, lead_time_sd, period_days=pdays)
    R = int(review_period)
    if R < 1:
        raise ConfigError(f"review_period must be >= 1 period, got {review_period}")
    n_per = int(ks.max()) + R
    fc = forecast.assign(sku=forecast["sku"].astype(str))
    fc = fc.loc[fc["sku"].isin(set(skus))]
    needed = f"the {n_per} periods needed (longest lead time {int(ks.max())} + review {R})"
    f = protection_window(fc, n_per, start=start, needed=needed, fix="the lead time")
    check_forecast_rows(f)
    have = f["sku"].drop_duplicates().tolist()
    missing = sorted(set(skus) - set(have))
    if missing:
        raise DataQualityError(f"no forecast for SKU(s) {short_repr(missing)}", bad_keys=missing)
    order = pd.Series(np.arange(len(skus)), index=skus).reindex(have).to_numpy()
    rng = check_random_state(random_state)
    parts: list[pd.DataFrame] = []
    curve: list[list[dict[str, float]]] = []
    for i in range(0, len(have), int(chunk_size)):
        sl = slice(i, i + int(chunk_size))
        rows = order[sl]
        r = CostRates(rates.holding[rows], rates.shortage[rows], rates.order[rows])
        fc_chunk = f.iloc[sl.start * n_per : sl.stop * n_per]
        # room above the protection quantile for three EOQs of cycle stock
        mcyc = fc_chunk["mean"].to_numpy(np.float64).reshape(-1, n_per).mean(axis=1) * R
        with np.errstate(divide="ignore", invalid="ignore"):
            eoq_units = np.sqrt(2.0 * r.order * mcyc / (r.holding * R))
        extra = np.where(r.order > 0, 3.0 * np.nan_to_num(eoq_units, posinf=np.inf), 0.0)
        dist = demand_distributions(
            fc_chunk, ks=ks, pk=pk, review_period=R, grid=grid, n_samples=n_samples, rng=rng,
            extra=extra,
        )  # fmt: skip
        cc = _cycle_cost(dist, r, backorder)
        pol = optimal_policy(dist, r, backorder=backorder, _cycle=cc)
        curve.append(_curve_chunk(dist, r, pol["S"] - pol["s"], backorder, cc))
        u = dist.unit
        j = np.arange(dist.grid)[None, :]
        mean_prot = (dist.lead[R] * j).sum(axis=1) * u
        q50 = np.argmax(np.cumsum(dist.lead[R], axis=1) >= 0.5, axis=1) * u
        S = pol["S"] * u
        base = pol["s"] == pol["S"] - 1
        rop = np.where(base, S, pol["s"] * u + 1)
        demand = dist.mean_period
        with np.errstate(divide="ignore", invalid="ignore"):
            eoq = np.where(r.holding > 0, np.sqrt(2 * r.order * demand / r.holding), np.nan)
        parts.append(
            pd.DataFrame(
                {
                    "sku": np.asarray(have[sl]),
                    "mean_period_demand": demand,
                    "lead_time_demand_mean": mean_prot,
                    "lead_time_demand_q50": q50.astype(np.float64),
                    "safety_stock": rop - mean_prot,
                    "reorder_point": rop.astype(np.float64),
                    "order_up_to": S.astype(np.float64),
                    "cycle_qty": (S - rop).astype(np.float64),
                    "expected_fill_rate": pol["expected_fill_rate"],
                    "expected_cycle_service": pol["expected_cycle_service"],
                    "holding_cost": r.holding,
                    "shortage_cost": r.shortage,
                    "order_cost": r.order,
                    "critical_ratio": r.shortage / np.maximum(r.shortage + r.holding, 1e-300),
                    **{c: pol[c] for c in COST_COLUMNS[4:9]},
                    "eoq": eoq,
                }
            )
        )
    out = pd.concat(parts, ignore_index=True).set_index("sku").reindex(skus).reset_index()
    out = out[[*LEVEL_COLUMNS, *COST_COLUMNS]]
    out.attrs["cost_curve"] = _sum_curve(curve).to_dict("list")  # plain: attrs are compared
    return out
