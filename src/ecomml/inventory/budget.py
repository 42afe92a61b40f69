"""Orders under a cash budget: greedy marginal analysis over the demand distribution.

The unconstrained plan orders ``q_i`` of each SKU. With less money than
``sum(q_i * cost_i)``, each next *step* of an order -- the first step is the minimum
order quantity (rounded to the pack), every further step one pack -- goes to the SKU
whose step adds the most expected margin per unit of money, until nothing more fits.

**What a unit is worth.** The order placed now arrives after the lead time ``L`` and is
the last one to arrive before the next review's order, ``R`` periods later. Stock already
held (on hand + on order, ``y``) serves the lead-time demand ``D_L`` first; what is left
of it, ``(y - D_L)+``, serves the next ``R`` periods before the new units do. So the new
units can sell ``X = (D_{L+R} - max(y, D_L))+`` units (lost sales), and an order of ``q``
sells ``E[min(q, X)]`` of them -- expected over sample paths of the forecast's per-period
distributions, mixed over the lead-time distribution, exactly as
:func:`~ecomml.inventory.forecast_levels` draws them. The ``u``-th unit sells with
probability ``P(X >= u)``, which never grows with ``u``: each SKU's steps come in
falling value per unit of money, so sorting all steps by that ratio and taking them in
order is the greedy marginal analysis; the solution is optimal whenever it spends the
budget exactly and within one step's margin of the optimum otherwise (the sorted steps
solve the budget's linear relaxation). Units left over at the end of the cycle carry over
to the next one and are valued at 0 here (a one-cycle view, as the newsvendor's).

**Margin** per unit: price - cost where both are known (catalog ``price``, else the mean
selling price; catalog ``cost`` or the on-hand file's ``unit_cost``), else
:data:`DEFAULT_MARGIN_RATE` of the price. Orders are paid at the plan's unit value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ecomml.exceptions import ConfigError
from ecomml.inventory.distributions import sample_period_demand

__all__ = [
    "DEFAULT_MARGIN_RATE",
    "BudgetAllocation",
    "allocate_budget",
    "budget_allocation",
    "check_budget",
    "expected_sales",
    "pro_rata_orders",
    "unit_margins",
]

#: Gross margin as a share of the selling price for SKUs without a known cost.
DEFAULT_MARGIN_RATE = 0.3
_EPS = 1e-9


def check_budget(budget: Any, *, name: str = "--budget") -> float:
    """A budget is a finite amount of money >= 0; anything else is a ConfigError."""
    try:
        b = float(budget)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{name} must be an amount of money >= 0 (e.g. 50000), got {budget!r}"
        ) from None
    if not np.isfinite(b) or b < 0:
        raise ConfigError(
            f"{name} must be an amount of money >= 0 (e.g. 50000), got {budget!r}; "
            "leave it out to order the unconstrained plan"
        )
    return b


def unit_margins(
    transactions: pd.DataFrame,
    skus: Sequence[str],
    catalog: pd.DataFrame | None = None,
    *,
    unit_cost: pd.Series | None = None,
    margin_rate: float = DEFAULT_MARGIN_RATE,
) -> pd.Series:
    """Margin per unit and SKU: ``price - cost`` (floored at 0) where both are known,
    else ``margin_rate * price``.

    ``price`` is the catalog's, else the mean selling price in ``transactions``; ``cost``
    is ``unit_cost`` where given (an on-hand file's), else the catalog's ``cost``.
    """
    if not 0 <= float(margin_rate) <= 1:
        raise ConfigError(f"margin rate must be in [0, 1], got {margin_rate}")
    idx = pd.Index([str(s) for s in skus])
    price = pd.Series(np.nan, index=idx)
    cost = pd.Series(np.nan, index=idx)
    if catalog is not None and "sku" in catalog.columns:
        cat = catalog.assign(sku=catalog["sku"].astype(str)).drop_duplicates("sku").set_index("sku")
        if "price" in cat.columns:
            price = price.fillna(pd.to_numeric(cat["price"], errors="coerce").reindex(idx))
        if "cost" in cat.columns:
            cost = cost.fillna(pd.to_numeric(cat["cost"], errors="coerce").reindex(idx))
    if unit_cost is not None:
        cost = unit_cost.reindex(idx).astype(np.float64).fillna(cost)
    if "price" in transactions.columns:
        sales = transactions.loc[transactions["quantity"] > 0]
        key = sales["sku"].astype(str)
        paid = (sales["quantity"] * sales["price"]).groupby(key).sum()
        units = sales["quantity"].groupby(key).sum()
        price = price.fillna((paid / units).reindex(idx))
    price = price.clip(lower=0.0)
    out = np.where(
        price.notna() & cost.notna(),
        np.maximum(price - cost, 0.0),
        float(margin_rate) * price,
    )
    return pd.Series(out, index=idx).fillna(0.0).astype(np.float64)


def _sorted_with_sums(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.sort(np.asarray(samples, dtype=np.float64), axis=1)
    csum = np.concatenate([np.zeros((len(x), 1)), np.cumsum(x, axis=1)], axis=1)
    return x, csum


def _e_min(x: np.ndarray, csum: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """E[min(u, X_row)] for sorted samples ``x`` (n, m) and their prefix sums."""
    n, m = x.shape
    if len(rows) == 0:
        return np.zeros(0)
    off = float(max(np.abs(x).max(initial=0.0), np.abs(u).max(initial=0.0))) * 2 + 1.0
    flat = (x + np.arange(n)[:, None] * off).ravel()
    j = np.searchsorted(flat, u + rows * off, side="left") - rows * m
    j = np.clip(j, 0, m)
    return (csum[rows, j] + u * (m - j)) / m


def expected_sales(samples: np.ndarray, qty: np.ndarray) -> np.ndarray:
    """``E[min(q_i, X_i)]`` per row: the expected units an order of ``q_i`` sells, given
    samples ``(n, m)`` of what the order could sell (``X``)."""
    x, csum = _sorted_with_sums(samples)
    q = np.asarray(qty, dtype=np.float64)
    return _e_min(x, csum, np.arange(len(x)), q)


def _steps(
    qty: np.ndarray, moq: np.ndarray, pack: np.ndarray, max_steps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(SKU row, step number, units after the step) of every order step: the first step
    is the MOQ rounded up to the pack (at least a pack), then packs; SKUs with more than
    ``max_steps`` packs step several packs at a time. Steps of a SKU are contiguous."""
    q = np.asarray(qty, dtype=np.float64)
    first = np.minimum(q, np.maximum(np.ceil(moq / pack - _EPS) * pack, pack))
    n_rest = np.maximum(np.rint((q - first) / pack), 0.0)
    per_step = np.maximum(np.ceil(n_rest / max(int(max_steps), 1)), 1.0)
    n_steps = np.where(q > 0, 1 + np.ceil(n_rest / per_step), 0).astype(np.int64)
    rows = np.repeat(np.arange(len(q)), n_steps)
    starts = np.concatenate([[0], np.cumsum(n_steps)[:-1]])
    j = np.arange(int(n_steps.sum())) - np.repeat(starts, n_steps)
    units = np.minimum(first[rows] + j * per_step[rows] * pack[rows], q[rows])
    return rows, j, units


def _greedy(
    rows: np.ndarray, j: np.ndarray, value: np.ndarray, cost: np.ndarray, budget: float
) -> np.ndarray:
    """Take steps in falling value per unit of money while they fit (a SKU's step only
    after its previous one); returns a boolean mask of the steps taken."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(cost > 0, value / cost, np.inf)
    # a SKU's steps never rise in value per money; float noise must not reorder them
    ratio = pd.Series(ratio).groupby(rows).cummin().to_numpy()
    order = np.lexsort((j, rows, -ratio))
    cum = np.cumsum(cost[order])
    fit = cum <= budget + _EPS
    p = int(np.argmin(fit)) if not fit.all() else len(fit)
    taken = np.zeros(len(rows), dtype=bool)
    taken[order[:p]] = True
    left = budget - (float(cum[p - 1]) if p else 0.0)
    rest = order[p:]
    rest = rest[cost[rest] <= left + _EPS]
    while len(rest):  # the smaller steps that still fit, in the same order
        ready = (j[rest] == 0) | taken[np.maximum(rest - 1, 0)]
        cand = rest[ready]
        if not len(cand):
            break
        take = cand[np.cumsum(cost[cand]) <= left + _EPS]
        taken[take] = True
        left -= float(cost[take].sum())
        rest = rest[~taken[rest]]
        rest = rest[cost[rest] <= left + _EPS]
    return taken


def _allocation(rows: np.ndarray, units: np.ndarray, taken: np.ndarray, n: int) -> np.ndarray:
    """The order per SKU: the units after its last step taken (steps are taken in order)."""
    if len(units) == 0:
        return np.zeros(n)
    count = np.bincount(rows, weights=taken, minlength=n).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))[:-1]])
    return np.where(count > 0, units[np.maximum(starts + count - 1, 0)], 0.0)


def allocate_budget(
    samples: np.ndarray,
    qty: np.ndarray,
    *,
    unit_cost: np.ndarray | float,
    unit_margin: np.ndarray | float,
    budget: float,
    moq: np.ndarray | float = 0.0,
    pack_size: np.ndarray | float = 1.0,
    max_steps: int = 1000,
) -> np.ndarray:
    """Cut the orders ``qty`` (already rounded to pack and MOQ) to ``budget`` by greedy
    marginal analysis.

    Parameters
    ----------
    samples : ndarray (n, m)
        Draws of ``X``, the units each SKU's order could sell (see the module notes).
    qty : ndarray (n,)
        The unconstrained orders: the allocation never exceeds them.
    unit_cost, unit_margin : ndarray or float
        Money paid and margin earned per unit.
    budget : float
        Money for the whole order.
    moq, pack_size : ndarray or float
        A SKU's order is 0 or at least the MOQ (rounded up to the pack) and a multiple of
        the pack (the unconstrained order itself is always allowed).
    max_steps : int
        Orders of more packs step several packs at a time.

    Returns
    -------
    ndarray (n,)
        The order per SKU; its value never exceeds ``budget``.
    """
    b = check_budget(budget, name="budget")
    q = np.maximum(np.asarray(qty, dtype=np.float64), 0.0)
    n = len(q)
    pack = np.broadcast_to(np.asarray(pack_size, dtype=np.float64), (n,)).copy()
    if (pack <= 0).any():
        raise ConfigError("pack size must be > 0")
    mo = np.broadcast_to(np.asarray(moq, dtype=np.float64), (n,))
    cost = np.broadcast_to(np.asarray(unit_cost, dtype=np.float64), (n,))
    margin = np.broadcast_to(np.asarray(unit_margin, dtype=np.float64), (n,))
    rows, j, units = _steps(q, mo, pack, max_steps)
    x, csum = _sorted_with_sums(samples)
    sales = _e_min(x, csum, rows, units)
    prev_units = np.where(j > 0, np.concatenate([[0.0], units[:-1]]), 0.0)
    prev_sales = np.where(j > 0, np.concatenate([[0.0], sales[:-1]]), 0.0)
    value = (sales - prev_sales) * margin[rows]
    step_cost = (units - prev_units) * cost[rows]
    taken = _greedy(rows, j, value, step_cost, b)
    return _allocation(rows, units, taken, n)


def pro_rata_orders(
    qty: np.ndarray,
    factor: float,
    *,
    moq: np.ndarray | float = 0.0,
    pack_size: np.ndarray | float = 1.0,
) -> np.ndarray:
    """Every order scaled by ``factor``, rounded down to the pack; an order that falls
    below the MOQ (rounded up to the pack) is dropped. Never spends more than ``factor``
    of the orders' value."""
    q = np.maximum(np.asarray(qty, dtype=np.float64), 0.0)
    pack = np.broadcast_to(np.asarray(pack_size, dtype=np.float64), q.shape)
    mo = np.ceil(np.broadcast_to(np.asarray(moq, dtype=np.float64), q.shape) / pack - _EPS) * pack
    cut = np.floor(q * float(factor) / pack + _EPS) * pack
    cut = np.minimum(cut, q)
    return np.where((cut > 0) & (cut >= mo - _EPS), cut, 0.0)


@dataclass
class BudgetAllocation:
    """Orders under the budget and what each way of cutting costs in expected margin."""

    qty: np.ndarray
    summary: dict[str, Any] = field(default_factory=dict)
    #: the orders of the comparison cuts: ``pro_rata`` and ``priority``
    cuts: dict[str, np.ndarray] = field(default_factory=dict)


def _sales_samples(
    fc: pd.DataFrame,
    position: np.ndarray,
    ks: np.ndarray,
    pk: np.ndarray,
    R: int,
    n_samples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Samples of X = (D_{L+R} - max(y, D_L))+ for the SKUs of ``fc`` (sorted by sku, ds)."""

    n_per = int(ks.max()) + R
    D = sample_period_demand(fc, n_per, n_samples, rng)
    cum = np.concatenate([np.zeros((*D.shape[:2], 1), np.float32), np.cumsum(D, axis=2)], axis=2)
    n = D.shape[0]
    k = ks[rng.choice(len(ks), size=(n, n_samples), p=pk)]
    r, c = np.arange(n)[:, None], np.arange(n_samples)[None, :]
    d_l = cum[r, c, k].astype(np.float64)
    d_lr = cum[r, c, k + R].astype(np.float64)
    return np.maximum(d_lr - np.maximum(position[:, None], d_l), 0.0)


def budget_allocation(
    forecast: pd.DataFrame,
    *,
    qty: np.ndarray,
    position: np.ndarray,
    unit_cost: np.ndarray,
    unit_margin: np.ndarray,
    budget: float,
    lead_time: float | Sequence[float],
    lead_time_sd: float = 0.0,
    review_period: int = 1,
    period_days: int = 7,
    moq: np.ndarray | float = 0.0,
    pack_size: np.ndarray | float = 1.0,
    priority: np.ndarray | None = None,
    n_samples: int = 1000,
    chunk_size: int = 5000,
    max_steps: int = 1000,
    random_state: int | np.random.Generator | None = 0,
) -> BudgetAllocation:
    """Greedy budget allocation for a plan, compared with two simpler cuts.

    ``forecast`` holds the planned SKUs' rows (sorted by ``sku, ds`` from the plan's first
    period, the same SKU order as ``qty``). The summary reports the budget, the money
    spent and the expected margin lost against the unconstrained orders for the greedy
    allocation, for the pro-rata cut (:func:`pro_rata_orders` at ``budget / order
    value``) and for the priority cut of ``--max-order-value`` (whole orders in
    ``priority`` order while they fit).
    """
    from ecomml._validation import check_random_state
    from ecomml.inventory.policy import lead_time_periods, round_orders

    b = check_budget(budget)
    q = np.maximum(np.asarray(qty, dtype=np.float64), 0.0)
    n = len(q)
    cost = np.broadcast_to(np.asarray(unit_cost, dtype=np.float64), (n,))
    margin = np.broadcast_to(np.asarray(unit_margin, dtype=np.float64), (n,))
    pack = np.broadcast_to(np.asarray(pack_size, dtype=np.float64), (n,))
    mo = np.broadcast_to(np.asarray(moq, dtype=np.float64), (n,))
    R = max(int(review_period), 1)
    ks, pk = lead_time_periods(lead_time, lead_time_sd, period_days=period_days)
    n_per = int(ks.max()) + R
    total = float((q * cost).sum())
    factor = min(b / total, 1.0) if total > 0 else 1.0
    pro = pro_rata_orders(q, factor, moq=mo, pack_size=pack)
    prio = round_orders(q, unit_cost=cost, max_order_value=b, priority=priority)
    rng = check_random_state(random_state)
    f = forecast.sort_values(["sku", "ds"], kind="mergesort").groupby("sku", sort=True).head(n_per)
    counts = f.groupby("sku", sort=True).size()
    if len(counts) != n or (counts.to_numpy() != n_per).any():
        raise ConfigError(
            f"the forecast must hold {n_per} periods (lead time + review) for each of the "
            f"{n} SKUs of the orders, in SKU order; got {len(counts)} SKU(s)"
        )
    order_rows = np.flatnonzero(q > 0)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("rows", "j", "units", "value", "cost")}
    sold = {k: np.zeros(n) for k in ("unconstrained", "pro_rata", "priority")}
    pos = np.asarray(position, dtype=np.float64)
    for i in range(0, len(order_rows), int(chunk_size)):
        sel = order_rows[i : i + int(chunk_size)]
        fc = f.iloc[np.concatenate([np.arange(s * n_per, (s + 1) * n_per) for s in sel])]
        x, csum = _sorted_with_sums(_sales_samples(fc, pos[sel], ks, pk, R, int(n_samples), rng))
        local = np.arange(len(sel))
        for name, arr in (("unconstrained", q), ("pro_rata", pro), ("priority", prio)):
            sold[name][sel] = _e_min(x, csum, local, arr[sel])
        rows, j, units = _steps(q[sel], mo[sel], pack[sel], max_steps)
        sales = _e_min(x, csum, rows, units)
        prev_u = np.where(j > 0, np.concatenate([[0.0], units[:-1]]), 0.0)
        prev_s = np.where(j > 0, np.concatenate([[0.0], sales[:-1]]), 0.0)
        parts["rows"].append(sel[rows])
        parts["j"].append(j)
        parts["units"].append(units)
        parts["value"].append((sales - prev_s) * margin[sel][rows])
        parts["cost"].append((units - prev_u) * cost[sel][rows])
    cat = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
    rows = cat["rows"].astype(np.int64)
    taken = _greedy(rows, cat["j"].astype(np.int64), cat["value"], cat["cost"], b)
    alloc = _allocation(rows, cat["units"], taken, n)
    greedy_margin = float(np.where(taken, cat["value"], 0.0).sum())
    margin_unc = float((sold["unconstrained"] * margin).sum())

    def report(qty_: np.ndarray, margin_: float) -> dict[str, float]:
        lost = margin_unc - margin_
        return {"spent": float((qty_ * cost).sum()), "expected_margin": margin_,
                "lost_margin": lost, "lost_margin_share": lost / margin_unc if margin_unc > 0 else 0.0,
                "skus_ordered": float((qty_ > 0).sum())}  # fmt: skip

    methods = {
        "greedy": report(alloc, greedy_margin),
        "pro_rata": report(pro, float((sold["pro_rata"] * margin).sum())),
        "priority": report(prio, float((sold["priority"] * margin).sum())),
    }
    lp = methods["pro_rata"]["lost_margin"]
    summary = {
        "budget": b,
        "unconstrained_order_value": total,
        "budget_share": b / total if total > 0 else float("inf"),
        "expected_margin_unconstrained": margin_unc,
        "methods": methods,
        "lost_margin_vs_pro_rata": methods["greedy"]["lost_margin"] / lp if lp > 0 else 0.0,
    }
    return BudgetAllocation(alloc, summary, {"pro_rata": pro, "priority": prio})
