"""Replay a historical period against a stocking policy.

Each review (every ``review_period`` periods, at the start of the period) the policy
sets its levels from data *before* the review date only -- the forecast policy refits
its forecaster every ``refit_every`` periods and re-forecasts at every review, the
classic policy recomputes mean and standard deviation -- and orders up to its level.
Unmet demand is lost (or backordered). The run is deterministic given ``random_state``.

**Timing convention.** Period ``t`` is the half-open interval ``[ds_t, ds_t + P)``
(``P`` = 7 days for weeks, 1 for days). Its review happens at the instant ``ds_t``,
when the sales of period ``t - 1`` are known and none of period ``t``'s are. An order
placed there with a lead time of ``L`` days arrives at the instant ``ds_t + L``; with
``L = k * P`` that is the start of period ``t + k``, before its demand (``k = 0``:
at once). A fractional ``L / P`` is split between the two neighbouring whole periods
with linear weights (:func:`~ecomml.inventory.lead_time_periods`): 10 days arrive at
the start of week ``t + 1`` with probability 4/7 and of week ``t + 2`` with 3/7, which
leaves the expected share of week ``t + 1`` served from the order at 4/7, as on the
real Thursday arrival. So an order placed at review ``t`` is the last to arrive before
period ``t + R + k``, and the stock position after it must cover the demand of periods
``t .. t + k + R - 1``: the protection interval = lead time + review period, the
horizon :func:`~ecomml.inventory.forecast_levels` sums. A lead time of 7 days is 7 days
in a weekly replay and in a daily one (test_simulate.py pins both).

**Start.** The policy runs at its first level for ``ceil(k_max / R) * R`` warm-up periods
before ``start`` on the actual demand, so the orders in transit at ``start`` are in
transit rather than on the shelf (starting with the whole order-up-to level on hand
delivered them early and lifted the fill rate of the first ``k`` periods).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from ecomml._validation import check_cutoff, check_frame, check_random_state
from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.inventory.plan import check_policy
from ecomml.inventory.policy import (
    check_service_level,
    classic_levels,
    forecast_levels,
    lead_time_periods,
    round_orders,
)
from ecomml.metrics.forecast import abc_classes

__all__ = [
    "SimulationResult",
    "calibrate_service_level",
    "inventory_at_equal_service",
    "simulate_policy",
    "tradeoff_curve",
]

Progress = Callable[[str, float], None]


@dataclass
class SimulationResult:
    """Per-SKU and per-class results, period traces and an overall summary."""

    per_sku: pd.DataFrame
    per_class: pd.DataFrame
    traces: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def _default_forecaster(freq: str, horizon: int) -> Any:
    from ecomml.forecasting.lgbm import LightGBMForecaster

    return LightGBMForecaster(
        freq=freq, horizon=horizon, n_estimators=100, max_train_rows=80_000, n_jobs=1
    )


def _metrics(
    d: np.ndarray, sales: np.ndarray, oh0: np.ndarray, oh1: np.ndarray, cost: np.ndarray,
    periods_per_year: float,
) -> dict[str, np.ndarray]:  # fmt: skip
    T = d.shape[1]
    dem, sold = d.sum(axis=1), sales.sum(axis=1)
    short = (d - sales) > 1e-9
    avg_units = ((np.maximum(oh0, 0) + np.maximum(oh1, 0)) / 2).mean(axis=1)
    avg_value = avg_units * cost
    cogs = sold * cost * periods_per_year / T
    return {
        "demand": dem,
        "sales": sold,
        "lost": dem - sold,
        "fill_rate": np.where(dem > 0, sold / np.maximum(dem, 1e-12), 1.0),
        "cycle_service": 1.0 - short.mean(axis=1),
        "stockout_periods": short.sum(axis=1).astype(np.int64),
        "avg_on_hand": avg_units,
        "avg_value": avg_value,
        "turns": np.where(avg_value > 0, cogs / np.maximum(avg_value, 1e-12), 0.0),
    }


def simulate_policy(
    panel: pd.DataFrame,
    start: Any,
    end: Any,
    *,
    policy: str = "forecast",
    lead_time: float = 7.0,
    lead_time_sd: float = 0.0,
    service_level: float | pd.Series = 0.95,
    target: str = "fill",
    review_period: int = 1,
    freq: str = "W",
    refit_every: int = 4,
    forecaster: Any = None,
    fit_params: dict[str, Any] | None = None,
    backorder: bool = False,
    unit_cost: pd.Series | None = None,
    classes: pd.Series | None = None,
    moq: float = 0.0,
    pack_size: float = 1.0,
    window: int = 52,
    n_samples: int = 1000,
    random_state: int = 0,
    forecast_cache: dict[Any, pd.DataFrame] | None = None,
    calibrate_folds: int = 0,
    calibration_forecasts: pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> SimulationResult:
    """Simulate ``policy`` on the periods ``start <= ds < end`` of ``panel``.

    Parameters
    ----------
    panel : DataFrame
        Dense ``sku, ds, y`` demand (zeros included) covering the history and the
        simulated periods; SKUs without a period before ``start`` are left out.
    policy : {"forecast", "classic"}
    lead_time, lead_time_sd : float
        Days; each order's lead time is rounded to whole periods by the same mixing as
        :func:`~ecomml.inventory.lead_time_periods` and drawn with ``random_state``.
    service_level, target
        As in :func:`~ecomml.inventory.forecast_levels`.
    refit_every : int
        Refit the forecaster every this many periods (it re-forecasts at each review).
    forecaster : estimator or None
        Unfitted forecaster (default: LightGBM); cloned at each refit.
    backorder : bool
        Backorder unmet demand instead of losing it.
    unit_cost : Series or None
        Unit value per SKU (default 1.0: values are units).
    classes : Series or None
        ABC class per SKU for the per-class table (default: ABC by value before ``start``).
    forecast_cache : dict or None
        Reused across calls: forecasts keyed by review date (they do not depend on the
        service level), so a trade-off curve costs one set of refits.
    calibrate_folds : int
        With > 0, the forecast policy's lead-time demand is calibrated
        (:func:`~ecomml.inventory.calibration.fit_demand_calibration`) on a backtest of
        this many weekly origins before ``start`` (past data only; kept in
        ``forecast_cache`` for the other replays that share it).
    calibration_forecasts : DataFrame or None
        Backtest forecasts to calibrate on instead (e.g. shared by several replays).

    Returns
    -------
    SimulationResult
    """
    check_policy(policy)
    check_frame(panel, required=["sku", "ds", "y"], name="panel")
    check_service_level(service_level)
    if int(refit_every) < 1 or int(review_period) < 1:
        raise ConfigError("refit_every and review_period must be >= 1 period")
    from ecomml.forecasting.panel import check_freq, period_start

    f = check_freq(freq)
    pdays = 7 if f == "W" else 1
    t_start, t_end = (
        period_start(check_cutoff(start, name="start"), f),
        check_cutoff(end, name="end"),
    )
    p = panel.copy()
    p["sku"] = p["sku"].astype(str)
    p["ds"] = pd.to_datetime(p["ds"])
    first = p.groupby("sku")["ds"].min()
    skus = first.index[first < t_start].sort_values()
    if len(skus) == 0:
        raise DataQualityError(
            f"no SKU has demand history before the simulation start {t_start.date()}; "
            "choose a later --start"
        )
    dates = pd.DatetimeIndex(sorted(p.loc[(p["ds"] >= t_start) & (p["ds"] < t_end), "ds"].unique()))
    if len(dates) == 0:
        raise DataQualityError(
            f"no complete period between --start {t_start.date()} and --end {t_end.date()}"
        )
    hist_days = (t_start - first.min()).days
    ks, pk = lead_time_periods(lead_time, lead_time_sd, period_days=pdays)
    if float(lead_time) > hist_days:
        raise ConfigError(
            f"--lead-time {lead_time:g} days is longer than the history before --start "
            f"({hist_days} days)"
        )
    p = p.loc[p["sku"].isin(skus)]
    wide = p.pivot_table(index="sku", columns="ds", values="y", aggfunc="sum").reindex(skus)
    D = wide.reindex(columns=dates).fillna(0.0).to_numpy(np.float64)
    n, T = D.shape
    cost = (
        unit_cost.reindex(skus).fillna(0.0).to_numpy(np.float64)
        if unit_cost is not None
        else np.ones(n)
    )
    rng = check_random_state(random_state)
    horizon = int(ks.max()) + int(review_period)
    est0 = forecaster if forecaster is not None else _default_forecaster(f, max(horizon, 8))
    if policy == "forecast" and getattr(est0, "horizon", horizon) < horizon:
        raise ConfigError(
            f"the forecaster's horizon ({est0.horizon}) is shorter than lead time + review "
            f"({horizon} periods)"
        )
    cache = forecast_cache if forecast_cache is not None else {}
    cal = None
    if policy == "forecast" and (calibrate_folds > 0 or calibration_forecasts is not None):
        from ecomml.inventory.calibration import backtest_windows, fit_demand_calibration

        bt = calibration_forecasts
        ckey = ("calibration backtest", int(calibrate_folds), t_start)
        if bt is None and ckey not in cache:  # one backtest for every replay sharing the cache
            if progress is not None:
                progress(f"calibration backtest ({calibrate_folds} origins before start)", 0.0)
            cache[ckey] = backtest_windows(clone(est0), p, t_start, folds=calibrate_folds,
                                           fit_params=fit_params)  # fmt: skip
        fkey = (*ckey, "fit", horizon)
        if bt is not None:
            cal = fit_demand_calibration(bt, horizon)
        elif fkey in cache:
            cal = cache[fkey]
        else:
            cal = cache[fkey] = fit_demand_calibration(cache[ckey], horizon)
    state: dict[str, Any] = {"model": None, "refits": 0}
    level_kw = {"lead_time": lead_time, "lead_time_sd": lead_time_sd, "review_period": review_period,
                    "service_level": service_level, "target": target}  # fmt: skip

    def levels_at(i: int, t: pd.Timestamp) -> np.ndarray:
        hist = p.loc[p["ds"] < t]
        if policy == "classic":
            lv = classic_levels(hist, period_days=pdays, window=window, **level_kw)
        else:
            refit_date = dates[(i // int(refit_every)) * int(refit_every)]
            key = (t, refit_date)
            if key not in cache:
                if state["model"] is None or state["model"][0] != refit_date:
                    train = p.loc[p["ds"] < refit_date]
                    state["model"] = (refit_date, clone(est0).fit(train, **(fit_params or {})))
                    state["refits"] += 1
                cache[key] = state["model"][1].predict(hist, start=t)
            fc = cache[key] if cal is None else cal.apply(cache[key])
            lv = forecast_levels(
                fc, start=t, period_days=pdays, n_samples=n_samples,
                random_state=int(random_state) * 100_003 + i, **level_kw,
            )  # fmt: skip
        lv = lv.set_index("sku").reindex(skus)
        return lv["order_up_to"].fillna(0.0).to_numpy(np.float64)

    R = int(review_period)
    # warm-up: the policy runs at its first level for the whole lead time before the first
    # review, so the orders still in transit at ``start`` are in transit (not on the shelf)
    W = int(np.ceil(int(ks.max()) / R)) * R
    warm = pd.date_range(end=dates[0] - pd.Timedelta(days=pdays), periods=W, freq=f"{pdays}D")
    Dw = wide.reindex(columns=warm).fillna(0.0).to_numpy(np.float64)
    pipe = np.zeros((n, W + T + int(ks.max()) + 2))  # pipe[:, j]: arrivals at the start of j
    rec = {k: np.zeros((n, T)) for k in ("oh0", "oh1", "sales", "order", "level")}

    def review(oh: np.ndarray, j: int, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # order up to S at the start of period j; an order with a lead time of k periods
        # arrives at the start of period j + k, before that period's demand (k = 0: at once)
        ip = oh + pipe[:, j + 1 :].sum(axis=1)
        q = round_orders(np.where(ip < S, S - ip, 0.0), moq=moq, pack_size=pack_size)
        k = ks[rng.choice(len(ks), size=n, p=pk)]
        now = k == 0
        np.add.at(pipe, (np.flatnonzero(~now), j + k[~now]), q[~now])
        return oh + np.where(now, q, 0.0), q

    def serve(oh: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sold = np.minimum(np.maximum(oh, 0.0), d)
        return oh - (d if backorder else sold), sold

    S = levels_at(0, dates[0])
    oh = S.copy()
    for j in range(W):
        oh = oh + pipe[:, j]
        if j % R == 0:
            oh, _ = review(oh, j, S)
        oh, _ = serve(oh, Dw[:, j])
    for i, t in enumerate(dates):
        if progress is not None:
            progress(f"{policy}: period {i + 1}/{T}", i / T)
        oh = oh + pipe[:, W + i]
        if i % R == 0:
            if i > 0:
                S = levels_at(i, t)
            oh, rec["order"][:, i] = review(oh, W + i, S)
        rec["level"][:, i] = S
        rec["oh0"][:, i] = oh
        oh, rec["sales"][:, i] = serve(oh, D[:, i])
        rec["oh1"][:, i] = oh
    if progress is not None:
        progress(f"{policy}: done", 1.0)
    ppy = 365.25 / pdays
    m = _metrics(D, rec["sales"], rec["oh0"], rec["oh1"], cost, ppy)
    per_sku = pd.DataFrame({"sku": skus.to_numpy(), **m, "unit_cost": cost})
    if classes is None:
        hist = p.loc[p["ds"] < t_start]
        value = hist.groupby("sku")["y"].sum().reindex(skus).fillna(0.0) * cost
        classes = abc_classes(value)
    per_sku.insert(1, "abc", classes.reindex(skus).fillna("C").to_numpy())
    per_class = _aggregate(per_sku, "abc", ppy, T)
    traces = pd.DataFrame(
        {
            "sku": np.repeat(skus.to_numpy(), T),
            "ds": np.tile(dates.to_numpy(), n),
            "demand": D.ravel(),
            "sales": rec["sales"].ravel(),
            "on_hand_start": rec["oh0"].ravel(),
            "on_hand_end": rec["oh1"].ravel(),
            "order_qty": rec["order"].ravel(),
            "order_up_to": rec["level"].ravel(),
        }
    )
    total = _aggregate(per_sku.assign(all="all"), "all", ppy, T).iloc[0]
    summary = {
        "policy": policy,
        "target": target,
        "service_level": float(service_level) if np.isscalar(service_level) else "per SKU",
        "lead_time_days": float(lead_time),
        "lead_time_sd_days": float(lead_time_sd),
        "review_period": int(review_period),
        "start": str(dates[0].date()),
        "end": str(t_end.date()),
        "periods": int(T),
        "skus": int(n),
        "backorder": bool(backorder),
        "refits": int(state["refits"]),
        "calibration": None if cal is None else {k: list(v) for k, v in cal.scales.items()},
        **{
            k: float(total[k])
            for k in (
                "fill_rate",
                "cycle_service",
                "stockout_periods",
                "avg_on_hand",
                "avg_value",
                "turns",
            )
        },  # fmt: skip
    }
    return SimulationResult(per_sku, per_class, traces, summary)


def _aggregate(per_sku: pd.DataFrame, by: str, ppy: float, T: int) -> pd.DataFrame:
    g = per_sku.assign(cogs=per_sku["sales"] * per_sku["unit_cost"]).groupby(by)
    out = g.agg(
        skus=("sku", "size"), demand=("demand", "sum"), sales=("sales", "sum"),
        cycle_service=("cycle_service", "mean"), stockout_periods=("stockout_periods", "sum"),
        avg_on_hand=("avg_on_hand", "sum"), avg_value=("avg_value", "sum"), cogs=("cogs", "sum"),
    )  # fmt: skip
    out["fill_rate"] = np.where(
        out["demand"] > 0, out["sales"] / out["demand"].clip(lower=1e-12), 1.0
    )
    out["turns"] = np.where(
        out["avg_value"] > 0, out["cogs"] * ppy / T / out["avg_value"].clip(lower=1e-12), 0.0
    )
    cols = ["skus", "demand", "sales", "fill_rate", "cycle_service", "stockout_periods",
            "avg_on_hand", "avg_value", "turns"]  # fmt: skip
    return out[cols].reset_index()


def tradeoff_curve(
    panel: pd.DataFrame,
    start: Any,
    end: Any,
    *,
    service_levels: Sequence[float] = (0.8, 0.85, 0.9, 0.95, 0.98, 0.99),
    policies: Sequence[str] = ("forecast", "classic"),
    forecast_cache: dict[Any, pd.DataFrame] | None = None,
    progress: Progress | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """Achieved service against average inventory for each policy and target level.

    Returns
    -------
    DataFrame
        ``policy, service_level, fill_rate, cycle_service, avg_value, avg_on_hand, turns``.
    """
    cache = forecast_cache if forecast_cache is not None else {}
    rows = []
    total = len(policies) * len(service_levels)
    for j, pol in enumerate(policies):
        for i, lv in enumerate(service_levels):
            if progress is not None:
                progress(f"{pol} @ {lv:g}", (j * len(service_levels) + i) / total)
            r = simulate_policy(
                panel, start, end, policy=pol, service_level=lv, forecast_cache=cache, **kwargs
            )
            rows.append({"policy": pol, "service_level": lv, **{
                k: r.summary[k] for k in ("fill_rate", "cycle_service", "avg_value",
                                          "avg_on_hand", "turns")}})  # fmt: skip
    return pd.DataFrame(rows)


def inventory_at_equal_service(
    curve: pd.DataFrame,
    *,
    policy: str = "forecast",
    baseline: str = "classic",
    metric: str = "fill_rate",
    at: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Compare two policies on the trade-off curve: the baseline's average inventory
    interpolated at the service ``policy`` achieved (default: at each of its points
    inside the baseline's range). ``saving`` = 1 - policy / baseline inventory."""
    a = curve.loc[curve["policy"] == policy].sort_values(metric)
    b = curve.loc[curve["policy"] == baseline].sort_values(metric)
    pts = np.asarray(at if at is not None else a[metric], dtype=np.float64)
    lo, hi = b[metric].min(), b[metric].max()
    rows = []
    for s in pts:
        if not lo <= s <= hi:
            continue
        inv_a = float(np.interp(s, a[metric], a["avg_value"]))
        inv_b = float(np.interp(s, b[metric], b["avg_value"]))
        rows.append({metric: float(s), f"{policy}_value": inv_a, f"{baseline}_value": inv_b,
                     "saving": 1.0 - inv_a / inv_b if inv_b > 0 else np.nan})  # fmt: skip
    return pd.DataFrame(rows)


def calibrate_service_level(
    curve: pd.DataFrame,
    targets: Sequence[float],
    *,
    policy: str = "forecast",
    metric: str = "fill_rate",
    max_level: float = 0.999,
) -> dict[float, float]:
    """The service-level setting that achieved each target on a past trade-off curve.

    Simulate a window *before* the plan date with :func:`tradeoff_curve`, then use the
    returned settings: the policy's systematic gap (forecast bias, tails that the
    forecast misses) is corrected by replay rather than by a formula. Settings are
    interpolated linearly between the simulated levels (extrapolated linearly beyond the
    last one, capped at ``max_level``).
    """
    g = curve.loc[curve["policy"] == policy].sort_values("service_level")
    if len(g) < 2:
        raise ConfigError(f"the curve needs at least two {policy} points to calibrate")
    x = np.maximum.accumulate(g[metric].to_numpy(np.float64))
    y = g["service_level"].to_numpy(np.float64)
    out = {}
    for t in targets:
        check_service_level(t)
        if t <= x[-1]:
            v = float(np.interp(t, x, y))
        else:  # beyond the curve: extend its last segment
            dx = max(x[-1] - x[-2], 1e-9)
            v = float(y[-1] + (t - x[-1]) * (y[-1] - y[-2]) / dx)
        out[float(t)] = float(np.clip(v, 1e-3, max_level))
    return out
