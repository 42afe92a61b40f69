"""Stock levels from the forecast's lead-time demand distribution, and the classic baseline.

A periodic-review order-up-to policy orders, at each review, enough to bring the
inventory position (on hand + on order) back to ``S``; the order must cover the demand
over the *protection interval* = lead time + review period. :func:`forecast_levels`
takes the forecast's per-period predictive distributions (negative binomial when the
forecast has ``nb_size``, otherwise inverse-CDF through its quantiles), draws sample
paths, sums them over the protection interval -- mixing over the lead-time distribution
when lead times are stochastic -- and sets ``S`` at the target cycle service level
(quantile) or fill rate (expected shortage per cycle), with no normal approximation.
Continuous review sets a reorder point from the lead-time demand alone and orders a
fixed cycle quantity. :func:`classic_levels` is the textbook ``mu*(L+R) + z*sigma*sqrt(L+R)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ecomml._validation import check_frame, check_random_state
from ecomml.exceptions import ConfigError, DataQualityError, short_repr
from ecomml.forecasting.leadtime import protection_window
from ecomml.inventory.distributions import demand_distributions, sample_period_demand, shortfall
from ecomml.metrics.forecast import QUANTILE_COLUMNS

__all__ = [
    "LEVEL_COLUMNS",
    "REVIEWS",
    "TARGETS",
    "check_forecast_rows",
    "check_service_level",
    "classic_levels",
    "forecast_levels",
    "forecast_period_days",
    "lead_time_periods",
    "round_orders",
]

TARGETS = ("cycle", "fill")
REVIEWS = ("periodic", "continuous")
LEVEL_COLUMNS = [
    "sku", "mean_period_demand", "lead_time_demand_mean", "lead_time_demand_q50",
    "safety_stock", "reorder_point", "order_up_to", "cycle_qty", "expected_fill_rate",
    "expected_cycle_service",
]  # fmt: skip


def forecast_period_days(forecast: pd.DataFrame) -> int:
    """Length of the forecast's period in days (7 for weekly, 1 for daily)."""
    ds = pd.to_datetime(forecast["ds"]).drop_duplicates().sort_values()
    if len(ds) < 2:
        return 7
    step = int(pd.Series(ds).diff().dt.days.dropna().min())
    return 7 if step >= 7 else 1


def check_service_level(level: Any, skus: Sequence[str] | None = None) -> np.ndarray | float:
    """Validate a service level (float, or mapping / Series per SKU) in (0, 1)."""
    if isinstance(level, (Mapping, pd.Series)):
        s = pd.Series(level, dtype=np.float64)
        bad = s.index[~((s > 0) & (s < 1))].tolist()
        if bad:
            raise ConfigError(
                f"service levels must be in (0, 1); SKU(s)/cell(s) {short_repr(bad)} have "
                f"{short_repr(s.loc[bad].tolist())}"
            )
        if skus is None:
            return s.to_numpy()
        missing = [k for k in skus if k not in s.index]
        if missing:
            raise ConfigError(f"no service level for SKU(s) {short_repr(missing)}")
        return s.reindex(list(skus)).to_numpy()
    v = float(level)
    if not 0 < v < 1:
        raise ConfigError(
            f"--service-level must be strictly between 0 and 1 (e.g. 0.95), got {level}"
        )
    return v


def lead_time_periods(
    lead_time: float | Sequence[float],
    lead_time_sd: float = 0.0,
    *,
    period_days: int = 7,
    grid: int = 201,
) -> tuple[np.ndarray, np.ndarray]:
    """Discrete distribution of the lead time in whole periods.

    Parameters
    ----------
    lead_time : float or sequence of float
        Mean lead time in days, or an empirical list of observed lead times (days).
    lead_time_sd : float
        Standard deviation in days (normal, truncated at 0); ignored for a list.
    period_days : int
        Days per period. A fractional number of periods is split between the two
        neighbouring whole periods (linear weights), so 3 days of a week weigh 3/7.

    Returns
    -------
    (ndarray of int, ndarray of float)
        Periods ``k`` and their probabilities.
    """
    if isinstance(lead_time, (list, tuple, np.ndarray, pd.Series)):
        days = np.asarray(lead_time, dtype=np.float64)
        if days.size == 0 or (days <= 0).any() or np.isnan(days).any():
            raise ConfigError(
                f"empirical lead times must be > 0 days, got {short_repr(list(days))}"
            )
    else:
        mu, sd = float(lead_time), float(lead_time_sd)
        if not mu > 0:
            raise ConfigError(
                f"--lead-time must be > 0 days, got {lead_time}: an order takes at least part "
                "of a day to arrive"
            )
        if sd < 0:
            raise ConfigError(f"--lead-time-sd must be >= 0 days, got {lead_time_sd}")
        if sd == 0:
            days = np.array([mu])
        else:
            a = (0.0 - mu) / sd
            u = (np.arange(grid) + 0.5) / grid
            days = stats.truncnorm.ppf(u, a, np.inf, loc=mu, scale=sd)
    per = days / float(period_days)
    lo = np.floor(per).astype(np.int64)
    w_hi = per - lo
    k = np.concatenate([lo, lo + 1])
    p = np.concatenate([1.0 - w_hi, w_hi]) / len(per)
    ks, inv = np.unique(k, return_inverse=True)
    probs = np.bincount(inv, weights=p)
    keep = probs > 1e-12
    return ks[keep], probs[keep] / probs[keep].sum()


def check_forecast_rows(f: pd.DataFrame) -> None:
    """Refuse forecast rows the levels cannot use: missing or negative means (naming the
    SKUs), or neither a complete ``nb_size`` nor the quantile columns."""
    bad = f.loc[~np.isfinite(f["mean"].to_numpy(np.float64)) | (f["mean"] < 0), "sku"]
    if len(bad):
        raise DataQualityError(
            f"forecast has missing or negative means for SKU(s) {short_repr(bad.unique().tolist())}",
            bad_keys=bad.unique().tolist(),
        )
    has_nb = "nb_size" in f.columns and f["nb_size"].notna().all()
    if not has_nb and not set(QUANTILE_COLUMNS) <= set(f.columns):
        raise ConfigError(
            "the forecast needs a negative binomial size (nb_size) for every row or the "
            f"quantile columns {', '.join(QUANTILE_COLUMNS)}: pass the output of "
            "`ecomml predict forecast`"
        )


def _esc(d: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Expected shortage E[(D - s)^+] per row for samples d (n, m) and levels s (n,)."""
    return np.maximum(d - s[:, None], 0.0).mean(axis=1)


def _smallest_level(ok: Any, lo: np.ndarray, hi: np.ndarray, iters: int = 40) -> np.ndarray:
    """Smallest integer level in [lo, hi] per row with ok(level) True (ok monotone)."""
    lo, hi = lo.astype(np.float64).copy(), hi.astype(np.float64).copy()
    for _ in range(iters):
        if (hi - lo <= 0).all():
            break
        mid = np.floor((lo + hi) / 2)
        good = ok(mid)
        hi = np.where(good, mid, hi)
        lo = np.where(good, lo, mid + 1)
    return hi


def _levels_chunk(
    f: pd.DataFrame,
    skus: np.ndarray,
    ks: np.ndarray,
    pk: np.ndarray,
    review_period: int,
    target: str,
    review: str,
    level: np.ndarray,
    n_samples: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    R = review_period
    n_per = int(ks.max()) + max(R, 1)
    D = sample_period_demand(f, n_per, n_samples, rng)
    cum = np.concatenate([np.zeros((*D.shape[:2], 1), np.float32), np.cumsum(D, axis=2)], axis=2)
    n = len(skus)
    k = ks[rng.choice(len(ks), size=(n, n_samples), p=pk)]
    rows = np.arange(n)[:, None]
    cols = np.arange(n_samples)[None, :]
    d_l = cum[rows, cols, k].astype(np.float64)  # demand during the lead time
    d_lr = cum[rows, cols, k + R].astype(np.float64)  # ... plus the review period
    mean_period = f["mean"].to_numpy(np.float64).reshape(n, -1)[:, :n_per].mean(axis=1)
    if review == "periodic":
        prot = d_lr
        cycle_demand = np.maximum(d_lr.mean(axis=1) - d_l.mean(axis=1), 1e-12)
        cycle_qty = np.zeros(n)

        def fill(s: np.ndarray) -> np.ndarray:
            return 1.0 - (_esc(d_lr, s) - _esc(d_l, s)) / cycle_demand
    else:
        prot = d_l
        cycle_qty = np.maximum(np.ceil(mean_period * max(R, 1)), 1.0)

        def fill(s: np.ndarray) -> np.ndarray:
            return 1.0 - (_esc(d_l, s) - _esc(d_l, s + cycle_qty)) / cycle_qty

    hi = np.ceil(prot.max(axis=1)) + 1
    if target == "cycle":
        srt = np.sort(prot, axis=1)
        idx = np.clip(np.ceil(level * n_samples).astype(np.int64) - 1, 0, n_samples - 1)
        s = np.ceil(srt[np.arange(n), idx] - 1e-9)
    else:
        s = _smallest_level(lambda x: fill(x) >= level, np.zeros(n), hi)
    has_demand = prot.max(axis=1) > 0
    fr = np.where(has_demand, np.clip(fill(s), 0.0, 1.0), 1.0)
    csl = (prot <= s[:, None]).mean(axis=1)
    mean_prot = prot.mean(axis=1)
    return {
        "sku": skus,
        "mean_period_demand": mean_period,
        "lead_time_demand_mean": mean_prot,
        "lead_time_demand_q50": np.quantile(d_lr, 0.5, axis=1, method="inverted_cdf"),
        "safety_stock": s - mean_prot,
        "reorder_point": s,
        "order_up_to": s + cycle_qty,
        "cycle_qty": cycle_qty,
        "expected_fill_rate": fr,
        "expected_cycle_service": csl,
    }


def _exact_chunk(
    f: pd.DataFrame, skus: np.ndarray, ks: np.ndarray, pk: np.ndarray, R: int, target: str,
    level: np.ndarray, grid: int,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Periodic-review levels from exact negative binomial pmfs of the lead-time demand."""
    n = len(skus)
    dist = demand_distributions(f, ks=ks, pk=pk, review_period=R, grid=grid, room=1.0,
                                cycle=False)  # fmt: skip
    u = dist.unit[:, None]
    prot, lead = dist.lead[-1], dist.lead[0]
    j = np.arange(dist.grid)[None, :]
    mean_prot = (prot * j).sum(axis=1) * dist.unit
    cdf = np.cumsum(prot, axis=1)
    short = (shortfall(prot) - shortfall(lead)) * u  # units short in the cycle, per level
    cycle_demand = np.maximum(mean_prot - (lead * j).sum(axis=1) * dist.unit, 1e-12)
    fill = 1.0 - short / cycle_demand[:, None]
    ok = cdf >= level[:, None] - 1e-12 if target == "cycle" else fill >= level[:, None] - 1e-12
    ok[:, -1] = True
    b = np.argmax(ok, axis=1)
    rows = np.arange(n)
    s = b * dist.unit
    has_demand = mean_prot > 0
    return {
        "sku": skus,
        "mean_period_demand": dist.mean_period,
        "lead_time_demand_mean": mean_prot,
        "lead_time_demand_q50": np.argmax(cdf >= 0.5, axis=1) * dist.unit,
        "safety_stock": s - mean_prot,
        "reorder_point": s.astype(np.float64),
        "order_up_to": s.astype(np.float64),
        "cycle_qty": np.zeros(n),
        "expected_fill_rate": np.where(has_demand, np.clip(fill[rows, b], 0.0, 1.0), 1.0),
        "expected_cycle_service": cdf[rows, b],
    }


def _check_args(
    lead_time: Any, lead_time_sd: float, review_period: int, target: str, review: str,
    period_days: int,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    if target not in TARGETS:
        raise ConfigError(f"target must be one of {', '.join(TARGETS)}; got {target!r}")
    if review not in REVIEWS:
        raise ConfigError(f"review must be one of {', '.join(REVIEWS)}; got {review!r}")
    if int(review_period) < 0 or (review == "periodic" and int(review_period) < 1):
        raise ConfigError(
            f"review_period must be >= 1 period for periodic review, got {review_period}"
        )
    return lead_time_periods(lead_time, lead_time_sd, period_days=period_days)


def forecast_levels(
    forecast: pd.DataFrame,
    *,
    lead_time: float | Sequence[float],
    lead_time_sd: float = 0.0,
    review_period: int = 1,
    service_level: float | Mapping[str, float] | pd.Series = 0.95,
    target: str = "fill",
    review: str = "periodic",
    start: Any = None,
    period_days: int | None = None,
    n_samples: int = 2000,
    chunk_size: int = 5000,
    random_state: int | np.random.Generator | None = 0,
    method: str = "auto",
    grid: int = 256,
) -> pd.DataFrame:
    """Reorder point and order-up-to level per SKU from the forecast's distributions.

    Parameters
    ----------
    forecast : DataFrame
        ``sku, ds, mean, q05 ... q95`` (+ ``nb_size``), as written by
        ``ecomml predict forecast``.
    lead_time : float or sequence of float
        Mean lead time in days, or an empirical list of lead times (days).
    lead_time_sd : float
        Lead-time standard deviation in days (0 = deterministic).
    review_period : int
        Periods between reviews (periodic review) or the cycle used to size the fixed
        order quantity (continuous review).
    service_level : float, mapping or Series
        Target in (0, 1): one value, or one per SKU.
    target : {"fill", "cycle"}
        Fill rate (share of demand served from stock) or cycle service level
        (probability of no stock-out in a cycle).
    review : {"periodic", "continuous"}
    start : date-like or None
        First period of the protection interval (None = each SKU's first forecast period).
    period_days : int or None
        Days per forecast period (None = inferred from ``ds``).
    n_samples : int
        Monte-Carlo sample paths per SKU.
    method : {"auto", "exact", "sample"}
        ``exact`` sets periodic-review levels from exact negative binomial pmfs of the
        lead-time demand (:mod:`ecomml.inventory.distributions`; needs ``nb_size``; levels
        are multiples of the SKU's grid unit, 1 unless its demand spans more than
        ``grid`` units); ``sample`` draws ``n_samples`` paths; ``auto`` is exact
        where it applies.

    Returns
    -------
    DataFrame
        ``sku, mean_period_demand, lead_time_demand_mean, lead_time_demand_q50,
        safety_stock, reorder_point, order_up_to, cycle_qty, expected_fill_rate,
        expected_cycle_service`` (units; the lead-time demand covers lead time + review
        period for periodic review and the lead time alone for continuous review).
    """
    check_frame(forecast, required=["sku", "ds", "mean", *QUANTILE_COLUMNS], name="forecast")
    pdays = int(period_days or forecast_period_days(forecast))
    ks, pk = _check_args(lead_time, lead_time_sd, review_period, target, review, pdays)
    R = int(review_period)
    n_per = int(ks.max()) + max(R, 1)
    needed = f"the {n_per} periods needed (longest lead time {int(ks.max())} + review {max(R, 1)})"
    f = protection_window(forecast, n_per, start=start, needed=needed, fix="the lead time")
    check_forecast_rows(f)
    skus = f["sku"].drop_duplicates().astype(str).to_numpy()
    level = check_service_level(service_level, list(skus))
    level_arr = np.broadcast_to(np.asarray(level, dtype=np.float64), (len(skus),))
    has_nb = "nb_size" in f.columns and f["nb_size"].notna().all()
    if method not in ("auto", "exact", "sample"):
        raise ConfigError(f"method must be auto, exact or sample, got {method!r}")
    if method == "exact" and not (has_nb and review == "periodic"):
        raise ConfigError("exact levels need a negative binomial forecast (nb_size) and "
                          "periodic review")  # fmt: skip
    if method != "sample" and has_nb and review == "periodic":
        return _exact_levels(f, skus, ks, pk, R, target, level_arr, n_per, grid, chunk_size)
    rng = check_random_state(random_state)
    parts = []
    for i in range(0, len(skus), int(chunk_size)):
        sl = slice(i, i + int(chunk_size))
        fc = f.iloc[sl.start * n_per : sl.stop * n_per] if sl.stop else f
        parts.append(
            pd.DataFrame(
                _levels_chunk(
                    fc, skus[sl], ks, pk, R, target, review, level_arr[sl], int(n_samples), rng
                )
            )  # fmt: skip
        )
    return pd.concat(parts, ignore_index=True)[LEVEL_COLUMNS]


def _exact_levels(
    f: pd.DataFrame, skus: np.ndarray, ks: np.ndarray, pk: np.ndarray, R: int, target: str,
    level: np.ndarray, n_per: int, grid: int, chunk_size: int,
) -> pd.DataFrame:  # fmt: skip
    """:func:`_exact_chunk` over chunks of SKUs of similar size (each chunk's grid is only
    as wide as its largest SKU needs)."""
    mean = f["mean"].to_numpy(np.float64).reshape(len(skus), n_per).sum(axis=1)
    order = np.argsort(mean, kind="stable")
    parts = []
    for i in range(0, len(skus), int(chunk_size)):
        idx = np.sort(order[i : i + int(chunk_size)])
        rows = (idx[:, None] * n_per + np.arange(n_per)[None, :]).ravel()
        parts.append(pd.DataFrame(_exact_chunk(f.iloc[rows], skus[idx], ks, pk, R, target,
                                               level[idx], grid)))  # fmt: skip
    out = pd.concat(parts, ignore_index=True).set_index("sku").reindex(skus).reset_index()
    return out[LEVEL_COLUMNS]


def classic_levels(
    history: pd.DataFrame,
    *,
    lead_time: float,
    lead_time_sd: float = 0.0,
    review_period: int = 1,
    service_level: float | Mapping[str, float] | pd.Series = 0.95,
    target: str = "fill",
    review: str = "periodic",
    period_days: int = 7,
    window: int = 52,
) -> pd.DataFrame:
    """The textbook policy: ``S = mu*(L+R) + z*sigma_P``, normal demand.

    ``mu`` and ``sigma`` are the mean and standard deviation of per-period demand over
    the last ``window`` periods of ``history`` (``sku, ds, y``, zeros included);
    ``sigma_P = sqrt((L+R)*sigma^2 + mu^2*sigma_L^2)``. For a fill-rate target, ``z``
    solves ``sigma_P * G(z) = (1 - beta) * mu * R`` (G = standard normal loss).
    Same output columns as :func:`forecast_levels`.
    """
    check_frame(history, required=["sku", "ds", "y"], name="history")
    _check_args(lead_time, lead_time_sd, review_period, target, review, period_days)
    h = history.sort_values(["sku", "ds"], kind="mergesort").groupby("sku").tail(int(window))
    g = h.groupby("sku", sort=True)["y"]
    mu = g.mean().to_numpy(np.float64)
    sd = np.nan_to_num(g.std(ddof=1).to_numpy(np.float64), nan=0.0)
    skus = g.mean().index.astype(str).to_numpy()
    level = np.broadcast_to(
        np.asarray(check_service_level(service_level, list(skus)), np.float64), (len(skus),)
    )
    L = float(lead_time) / period_days
    sl = float(lead_time_sd) / period_days
    R = float(review_period) if review == "periodic" else 0.0
    P = L + R
    sig = np.sqrt(P * sd**2 + mu**2 * sl**2)
    cycle_qty = (
        np.zeros(len(skus))
        if review == "periodic"
        else np.maximum(np.ceil(mu * max(review_period, 1)), 1.0)
    )
    cyc = mu * R if review == "periodic" else cycle_qty
    if target == "cycle":
        z = stats.norm.ppf(level)
    else:
        need = (1.0 - level) * np.maximum(cyc, 1e-12) / np.maximum(sig, 1e-12)
        zs = np.linspace(-4.0, 6.0, 2001)
        G = stats.norm.pdf(zs) - zs * stats.norm.sf(zs)  # decreasing in z
        z = np.interp(-need, -G, zs)
    s = np.ceil(np.maximum(mu * P + z * sig, 0.0) - 1e-9)
    kk = np.where(sig > 0, (s - mu * P) / np.maximum(sig, 1e-12), np.inf)
    k0 = np.where(sig > 0, kk, 0.0)
    loss = np.where(sig > 0, sig * (stats.norm.pdf(k0) - k0 * stats.norm.sf(k0)), 0.0)
    fr = np.where(cyc > 0, 1.0 - loss / np.maximum(cyc, 1e-12), 1.0)
    return pd.DataFrame(
        {
            "sku": skus,
            "mean_period_demand": mu,
            "lead_time_demand_mean": mu * P,
            "lead_time_demand_q50": mu * P,
            "safety_stock": s - mu * P,
            "reorder_point": s,
            "order_up_to": s + cycle_qty,
            "cycle_qty": cycle_qty,
            "expected_fill_rate": np.clip(fr, 0.0, 1.0),
            "expected_cycle_service": np.where(sig > 0, stats.norm.cdf(kk), 1.0),
        }
    )[LEVEL_COLUMNS]


def round_orders(
    qty: np.ndarray,
    *,
    moq: np.ndarray | float = 0.0,
    pack_size: np.ndarray | float = 1.0,
    unit_cost: np.ndarray | float = 0.0,
    max_order_value: float | None = None,
    priority: np.ndarray | None = None,
) -> np.ndarray:
    """Round raw order quantities up to the pack size and the minimum order quantity,
    then, with ``max_order_value``, keep orders in ``priority`` order (smallest first)
    until the budget is spent (orders that do not fit are dropped whole)."""
    q = np.maximum(np.asarray(qty, dtype=np.float64), 0.0)
    pack = np.broadcast_to(np.asarray(pack_size, dtype=np.float64), q.shape)
    if (pack <= 0).any():
        raise ConfigError("pack size must be > 0")
    out = np.where(q > 0, np.ceil(q / pack - 1e-9) * pack, 0.0)
    m = np.broadcast_to(np.asarray(moq, dtype=np.float64), q.shape)
    out = np.where(out > 0, np.maximum(out, np.ceil(m / pack - 1e-9) * pack), 0.0)
    if max_order_value is not None:
        if max_order_value < 0:
            raise ConfigError(f"max order value must be >= 0, got {max_order_value}")
        cost = np.broadcast_to(np.asarray(unit_cost, dtype=np.float64), q.shape)
        order = np.argsort(priority if priority is not None else np.arange(len(q)), kind="stable")
        value = (out * cost)[order]
        fits = np.cumsum(value) <= max_order_value + 1e-9
        keep = np.zeros(len(q), dtype=bool)
        keep[order] = fits
        out = np.where(keep, out, 0.0)
    return out
