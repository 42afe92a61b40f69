"""Inventory benchmark: ecomml's forecast-quantile policy vs the classic z*sigma*sqrt(L) policy.

Protocol (issue 4):

1. **Online Retail, two years, weekly** -- the forecasting benchmark's panel (same cleaning,
   SKUs with sales in >= 26 weeks before the start; ``build_panel`` is imported from
   ``benchmarks/forecast.py``). Replay the 8 weeks from ``--start`` (default 2011-10-10,
   the forecasting holdout: 2011-10-10..2011-11-28) with weekly review, lost sales, lead
   time 1 and 2 weeks, and fill-rate targets 0.90 / 0.95 / 0.98, for both policies. The
   forecast policy refits the LightGBM forecaster every ``--refit-every`` weeks and
   re-forecasts at every review, on data before the review only; the classic policy uses
   the mean and standard deviation of the last 52 weeks. Unit value = mean selling price
   before the start. Each run starts at the policy's own order-up-to level.
   The service-inventory trade-off curve adds targets 0.5..0.99 so the two curves overlap;
   the inventory saving is read off the curves at equal achieved fill rate.
   Settings (refit cadence, sample paths) were checked on the validation window
   ``--start 2011-08-15`` (the 8 weeks before), never on the holdout.
2. **Synthetic shop** (seed 0, known daily negative binomial demand): base-stock levels
   for a 2-week lead time + 1-week review at cycle service targets, against the optimal
   levels (the true distribution's quantiles). Reports the true service achieved and the
   expected leftover stock ``E[(S - D)+]`` (value) vs the optimum at equal service.
3. **Budget** (issue 20; ``--skip-budget`` to leave out): the order at ``--start`` in a
   weekly order-up-to steady state (last week's demand to replace, the lead time's orders
   in transit), with a budget of ``--budget-share`` of its value, cut by greedy marginal
   analysis, pro rata and the ``--max-order-value`` priority cut; lost margin expected
   under the forecast and realized on the holdout's demand.
4. **Scale** (``--scale N``): classify + plan for N synthetic SKUs in a child process;
   wall time and peak RSS.

Usage::

    python benchmarks/inventory.py [--start 2011-10-10] [--markdown PATH] [--skip-real]
        [--skip-synthetic] [--skip-budget] [--budget-share 0.5] [--scale 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ecomml.inventory import (  # noqa: E402
    classic_levels,
    forecast_levels,
    inventory_at_equal_service,
    tradeoff_curve,
)

TARGETS = (0.90, 0.95, 0.98)
CURVE = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
WEEKS = 8


def real_data(start: pd.Timestamp, refit_every: int, lead_weeks: list[int]) -> dict[str, Any]:
    """Trade-off curves on the validation window (the 8 weeks before ``start``) and the
    holdout, for both policies; the validation curve calibrates each policy's setting per
    target (``calibrate_service_level``), then the holdout is replayed at those settings."""
    from _datasets import online_retail_two_years
    from forecast import build_panel

    from ecomml.forecasting import LightGBMForecaster
    from ecomml.inventory import calibrate_service_level, simulate_policy, unit_costs

    t0 = time.perf_counter()
    data = online_retail_two_years()
    tx = data.transactions
    hist, act = build_panel(tx, start)  # SKU selection uses data before the holdout only
    panel = pd.concat([hist[["sku", "ds", "y"]], act[["sku", "ds", "y"]]], ignore_index=True)
    end = start + pd.Timedelta(weeks=WEEKS)
    val_start = start - pd.Timedelta(weeks=WEEKS)
    info: dict[str, Any] = {"skus": int(hist["sku"].nunique()), "start": str(start.date()),
                            "end": str(end.date()), "validation": str(val_start.date()),
                            "load_seconds": time.perf_counter() - t0}  # fmt: skip
    print(f"panel: {info}", flush=True)
    curves, calibrated = [], []
    caches: dict[str, dict[Any, Any]] = {
        "validation": {},
        "holdout": {},
    }  # forecasts do not depend on L
    for lw in lead_weeks:
        kw: dict[str, Any] = {
            "lead_time": 7 * lw, "target": "fill", "refit_every": refit_every,
            "forecaster": LightGBMForecaster(freq="W", horizon=8, n_jobs=1), "n_samples": 1000,
            "random_state": 0, "progress": lambda m, f, _lw=lw: print(f"  L={_lw}w {m}", flush=True),
        }  # fmt: skip
        for window, (a, b) in {"validation": (val_start, start), "holdout": (start, end)}.items():
            t1 = time.perf_counter()
            cost = unit_costs(tx.loc[tx["ts"] < a], hist["sku"].unique())
            cache = caches[window]
            curve = tradeoff_curve(panel, a, b, service_levels=CURVE, unit_cost=cost,
                                   forecast_cache=cache, **kw)  # fmt: skip
            curve["lead_weeks"], curve["window"] = lw, window
            curve["seconds"] = time.perf_counter() - t1
            print(curve.to_string(), flush=True)
            curves.append(curve)
            if window == "validation":
                settings = {p: calibrate_service_level(curve, TARGETS, policy=p)
                            for p in ("forecast", "classic")}  # fmt: skip
            else:
                for pol, mapping in settings.items():
                    for t, lv in mapping.items():
                        r = simulate_policy(panel, a, b, policy=pol, service_level=lv, unit_cost=cost,
                                            forecast_cache=cache, **kw).summary  # fmt: skip
                        calibrated.append({"lead_weeks": lw, "target": t, "policy": pol, "setting": lv,
                                           **{k: r[k] for k in ("fill_rate", "avg_value", "turns")}})  # fmt: skip
                        print(calibrated[-1], flush=True)
    info["curves"] = pd.concat(curves, ignore_index=True)
    info["calibrated"] = pd.DataFrame(calibrated)
    return info


def calibrated_replay(start: pd.Timestamp, refit_every: int, lead_weeks: list[int],
                      folds: int = 6) -> pd.DataFrame:  # fmt: skip
    """Fill at the raw target with and without the lead-time demand calibrated on a
    backtest of ``folds`` weekly origins before each window (issue 20 item 3)."""
    from _datasets import online_retail_two_years
    from forecast import build_panel

    from ecomml.forecasting import LightGBMForecaster
    from ecomml.inventory import simulate_policy, unit_costs

    tx = online_retail_two_years().transactions
    hist, act = build_panel(tx, start)
    panel = pd.concat([hist[["sku", "ds", "y"]], act[["sku", "ds", "y"]]], ignore_index=True)
    val_start = start - pd.Timedelta(weeks=WEEKS)
    windows = {
        "validation": (val_start, start),
        "holdout": (start, start + pd.Timedelta(weeks=WEEKS)),
    }
    rows = []
    for window, (a, b) in windows.items():
        cache: dict[Any, Any] = {}
        cost = unit_costs(tx.loc[tx["ts"] < a], hist["sku"].unique())
        for lw in lead_weeks:
            for tau in TARGETS:
                for mode, k in (("raw", 0), ("calibrated", folds)):
                    t0 = time.perf_counter()
                    res = simulate_policy(
                        panel, a, b, policy="forecast", lead_time=7 * lw, target="fill",
                        service_level=tau, refit_every=refit_every, unit_cost=cost,
                        forecaster=LightGBMForecaster(freq="W", horizon=8, n_jobs=1),
                        n_samples=1000, random_state=0, forecast_cache=cache, calibrate_folds=k,
                    )  # fmt: skip
                    r, ps = res.summary, res.per_sku
                    by_class = res.per_class.set_index("abc")["fill_rate"].to_dict()
                    rows.append({"window": window, "lead_weeks": lw, "target": tau, "mode": mode,
                                 "fill_rate": r["fill_rate"], "avg_value": r["avg_value"],
                                 "turns": r["turns"], "calibration": r["calibration"],
                                 **{f"fill_{c}": v for c, v in by_class.items()},
                                 "skus_within_5": float(np.mean(np.abs(ps["fill_rate"] - tau) <= 0.05)),
                                 "seconds": time.perf_counter() - t0})  # fmt: skip
                    print({k2: v for k2, v in rows[-1].items() if k2 != "calibration"}, flush=True)
            # the classic policy's service-inventory curve, to compare stock at equal fill
            curve = tradeoff_curve(panel, a, b, service_levels=(*CURVE, 0.995, 0.999),
                                   policies=("classic",), lead_time=7 * lw, target="fill",
                                   unit_cost=cost, refit_every=refit_every)  # fmt: skip
            c = curve.sort_values("fill_rate")
            for r in rows:
                if r["window"] == window and r["lead_weeks"] == lw and "classic_value" not in r:
                    inside = c["fill_rate"].min() <= r["fill_rate"] <= c["fill_rate"].max()
                    r["classic_value"] = (float(np.interp(r["fill_rate"], c["fill_rate"], c["avg_value"]))
                                          if inside else np.nan)  # fmt: skip
    out = pd.DataFrame(rows)
    out["miss_points"] = (out["fill_rate"] - out["target"]) * 100
    out["vs_classic"] = out["avg_value"] / out["classic_value"]
    return out


def calibration_markdown(cr: pd.DataFrame) -> list[str]:
    lines = ["| window | lead time | target fill | raw forecast: fill (miss) | calibrated: fill "
             "(miss) | inventory value raw -> calibrated | x classic at equal fill (raw, "
             "calibrated) |", "|---|---|---|---|---|---|---|"]  # fmt: skip

    def ratio(v: float) -> str:
        return "beyond classic's curve" if not np.isfinite(v) else f"{v:.2f}x"

    for (w, lw, t), g in cr.groupby(["window", "lead_weeks", "target"], sort=False):
        r, c = g.set_index("mode").loc["raw"], g.set_index("mode").loc["calibrated"]
        lines.append(f"| {w} | {lw} w | {t:.2f} | {r['fill_rate']:.3f} ({r['miss_points']:+.1f}) "
                     f"| **{c['fill_rate']:.3f}** ({c['miss_points']:+.1f}) | "
                     f"{r['avg_value']:,.0f} -> {c['avg_value']:,.0f} | {ratio(r['vs_classic'])}, "
                     f"{ratio(c['vs_classic'])} |")  # fmt: skip
    lines += ["", "Fill by ABC class (value before the window) and the share of SKUs within 5 points of "
              "the target, raw -> calibrated:", "",
              "| window | lead time | target | A | B | C | SKUs within +-5 points |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    for (w, lw, t), g in cr.groupby(["window", "lead_weeks", "target"], sort=False):
        r, c = g.set_index("mode").loc["raw"], g.set_index("mode").loc["calibrated"]
        cells = [
            f"{r.get(f'fill_{k}', np.nan):.3f} -> {c.get(f'fill_{k}', np.nan):.3f}" for k in "ABC"
        ]
        lines.append(f"| {w} | {lw} w | {t:.2f} | {' | '.join(cells)} | "
                     f"{r['skus_within_5']:.0%} -> {c['skus_within_5']:.0%} |")  # fmt: skip
    scales = (
        cr.loc[cr["mode"] == "calibrated"].groupby(["window", "lead_weeks"])["calibration"].first()
    )
    lines.append("")
    for (w, lw), sc in scales.items():
        lines.append(
            f"* {w}, {lw} w: mean x dispersion, + extra Poisson per pattern: "
            + ", ".join(f"{k} {a:.2f} x {b:.2f} + {e:.2f}" for k, (a, b, e) in sc.items())
        )
    return lines


def summarise_real(info: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    curves = info["curves"]
    hold = curves.loc[curves["window"] == "holdout"]
    rows = []
    for (lw, pol), g in hold.groupby(["lead_weeks", "policy"]):
        for t in TARGETS:
            r = g.loc[np.isclose(g["service_level"], t)].iloc[0]
            rows.append({"lead_weeks": lw, "target": t, "policy": pol, "mode": "raw",
                         "setting": t, "fill_rate": r["fill_rate"], "avg_value": r["avg_value"],
                         "turns": r["turns"]})  # fmt: skip
    cal = info["calibrated"].assign(mode="calibrated")
    points = pd.concat([pd.DataFrame(rows), cal], ignore_index=True)
    points["miss_points"] = (points["fill_rate"] - points["target"]) * 100
    points = points.sort_values(["lead_weeks", "target", "policy", "mode"]).reset_index(drop=True)
    eq = []
    for (lw, window), g in curves.groupby(["lead_weeks", "window"]):
        for _, r in inventory_at_equal_service(g).iterrows():
            eq.append({"lead_weeks": lw, "window": window, **r.to_dict()})
    return points, pd.DataFrame(eq)


def budget_plan(start: pd.Timestamp, lead_weeks: list[int], share: float) -> pd.DataFrame:
    """Issue 20: the order at ``start`` under a budget of ``share`` x the unconstrained
    plan's order value, cut three ways -- greedy marginal analysis (``--budget``), every
    order pro rata, and the ``--max-order-value`` priority cut (A first, lowest cover) --
    scored by expected margin lost against the unconstrained order (the forecast's
    distribution) and by the margin actually lost on the holdout's demand."""
    from _datasets import online_retail_two_years
    from forecast import build_panel

    from ecomml.forecasting import LightGBMForecaster
    from ecomml.inventory import replenishment_plan
    from ecomml.inventory.budget import budget_allocation, expected_sales, unit_margins
    from ecomml.inventory.plan import order_priority

    tx = online_retail_two_years().transactions
    hist, act = build_panel(tx, start)
    skus = np.sort(hist["sku"].unique())
    tx = tx.loc[(tx["ts"] < start) & tx["sku"].isin(skus)]
    fc = LightGBMForecaster(freq="W", horizon=8, n_jobs=1).fit(hist).predict(hist, start=start)
    wide = hist.pivot_table(index="sku", columns="ds", values="y", aggfunc="sum").reindex(skus)
    past = wide.fillna(0.0).to_numpy()[:, ::-1]  # last week first
    actual = (act.pivot_table(index="sku", columns="ds", values="y", aggfunc="sum")
              .reindex(skus).fillna(0.0).to_numpy())  # fmt: skip
    rows = []
    for lw in lead_weeks:
        kw = {"lead_time": 7 * lw, "service_level": 0.95, "random_state": 0}
        S = replenishment_plan(fc, tx, start, **kw).plan.set_index("sku")["order_up_to"]
        S = S.reindex(skus).to_numpy()
        # steady state of a weekly order-up-to policy: the last lw weeks' orders are in
        # transit, last week's demand is what today's order replaces
        on_order = past[:, 1:lw].sum(axis=1) if lw > 1 else np.zeros(len(skus))
        on_hand = np.maximum(S - past[:, :lw].sum(axis=1), 0.0)
        pos = pd.DataFrame({"sku": skus, "on_hand": on_hand, "on_order": on_order})
        t0 = time.perf_counter()
        full = replenishment_plan(fc, tx, start, on_hand=pos, **kw)
        p = full.plan.set_index("sku").reindex(skus)
        q = p["order_qty"].to_numpy()
        cost = p["unit_cost"].to_numpy()
        margin = unit_margins(tx, skus).to_numpy()
        ip = on_hand + on_order
        total = float((q * cost).sum())
        prio = order_priority(p["abc"].to_numpy(), np.where(p["mean_weekly_demand"] > 0,
                              ip / np.maximum(p["mean_weekly_demand"], 1e-12), np.inf))  # fmt: skip
        b = budget_allocation(fc.loc[fc["sku"].isin(skus)], qty=q, position=ip, unit_cost=cost,
                              unit_margin=margin, budget=share * total, lead_time=7 * lw,
                              priority=prio, random_state=0)  # fmt: skip
        secs = time.perf_counter() - t0
        # what each order would really have sold: the demand of week lw (the review week
        # after the lead time) left over by the stock already held
        d_l, d_lr = actual[:, :lw].sum(axis=1), actual[:, : lw + 1].sum(axis=1)
        x_real = np.maximum(d_lr - np.maximum(ip, d_l), 0.0)[:, None]
        real_unc = float((expected_sales(x_real, q) * margin).sum())
        for name, qty in (("greedy (--budget)", b.qty), ("pro rata", b.cuts["pro_rata"]),
                          ("priority (--max-order-value)", b.cuts["priority"])):  # fmt: skip
            m = b.summary["methods"][
                {"greedy (--budget)": "greedy", "pro rata": "pro_rata"}.get(name, "priority")
            ]
            real = float((expected_sales(x_real, qty) * margin).sum())
            rows.append({"lead_weeks": lw, "method": name, "budget": share * total,
                         "unconstrained_value": total, "spent": m["spent"],
                         "expected_margin_unconstrained": b.summary["expected_margin_unconstrained"],
                         "expected_lost_margin": m["lost_margin"], "expected_lost_share": m["lost_margin_share"],
                         "realized_lost_margin": real_unc - real,
                         "realized_lost_share": (real_unc - real) / real_unc if real_unc > 0 else 0.0,
                         "skus_ordered": m["skus_ordered"], "plan_seconds": secs})  # fmt: skip
            print(rows[-1], flush=True)
    out = pd.DataFrame(rows)
    for _, g in out.groupby("lead_weeks"):
        pro = g.loc[g["method"] == "pro rata"].iloc[0]
        for c in ("expected", "realized"):
            base = pro[f"{c}_lost_margin"]
            out.loc[g.index, f"{c}_vs_pro_rata"] = (
                g[f"{c}_lost_margin"] / base - 1 if base > 0 else np.nan
            )
    out.attrs.update(skus=len(skus), share=share, start=str(start.date()))
    return out


def synthetic(seed: int = 0, n_draw: int = 4000) -> pd.DataFrame:
    """Base-stock levels vs the optimal ones from the true demand distribution."""
    from ecomml.data.synth import make_shop
    from ecomml.forecasting import LightGBMForecaster, panel_from_transactions
    from ecomml.inventory import unit_costs

    shop = make_shop(seed=seed)
    last = pd.Timestamp(shop.transactions["ts"].max()).normalize()
    end = last - pd.Timedelta(days=last.dayofweek)
    cutoff = end - pd.Timedelta(weeks=WEEKS)
    L, R = 2, 1
    hist = panel_from_transactions(shop.transactions, cutoff, "W")
    skus = np.sort(hist["sku"].unique())
    truth = shop.truth_sku_days
    truth = truth.loc[
        (truth["date"] >= cutoff) & (truth["date"] < cutoff + pd.Timedelta(weeks=L + R))
    ]
    truth = truth.loc[truth["sku"].isin(skus)].sort_values(["sku", "date"])
    n_days = (L + R) * 7
    mu = truth["mean"].to_numpy().reshape(len(skus), n_days)
    k = np.clip(truth["dispersion"].to_numpy(), 1e-6, None).reshape(len(skus), n_days)
    rng = np.random.default_rng(seed + 1)
    D = np.zeros((len(skus), n_draw))
    for j in range(n_days):
        lam = rng.gamma(k[:, j][:, None], (mu[:, j] / k[:, j])[:, None], size=(len(skus), n_draw))
        D += rng.poisson(lam)
    D.sort(axis=1)
    cost = unit_costs(
        shop.transactions.loc[shop.transactions["ts"] < cutoff], skus, shop.catalog
    ).to_numpy()

    def service(S: np.ndarray) -> np.ndarray:  # true P(D <= S) per SKU
        return np.array([np.searchsorted(D[i], S[i], side="right") for i in range(len(S))]) / n_draw

    def leftover(S: np.ndarray) -> float:  # expected value of E[(S - D)+]
        return float((np.maximum(S[:, None] - D, 0).mean(axis=1) * cost).sum())

    def optimal(level: float) -> np.ndarray:
        idx = min(int(np.ceil(level * n_draw)) - 1, n_draw - 1)
        return D[:, max(idx, 0)]

    def optimal_at(csl: float) -> np.ndarray:
        lo, hi = 0.0, 0.99999
        for _ in range(40):
            mid = (lo + hi) / 2
            if service(optimal(mid)).mean() >= csl:
                hi = mid
            else:
                lo = mid
        return optimal(hi)

    t0 = time.perf_counter()
    est = LightGBMForecaster(freq="W", horizon=8, n_jobs=1).fit(hist, calendar=shop.calendar)
    fc = est.predict(hist, start=cutoff, calendar=shop.calendar)
    fit_s = time.perf_counter() - t0
    from ecomml.forecasting.backtest import backtest
    from ecomml.inventory.calibration import fit_demand_calibration

    bt = backtest(LightGBMForecaster(freq="W", horizon=L + R, n_jobs=1), hist, folds=6, step=1,
                  fit_params={"calendar": shop.calendar})  # fmt: skip
    fc_cal = fit_demand_calibration(bt.forecasts, L + R).apply(fc)
    rows = []
    for tau in (0.8, 0.9, 0.95, 0.98):
        opt = optimal(tau)
        for name in ("ecomml forecast policy", "ecomml forecast policy --calibrate-on",
                     "classic z*sigma*sqrt(L+R)"):  # fmt: skip
            if name.startswith("ecomml"):
                lv = forecast_levels(fc_cal if "calibrate" in name else fc, lead_time=7 * L,
                                     review_period=R, service_level=tau, target="cycle",
                                     start=cutoff, n_samples=4000)  # fmt: skip
            else:
                lv = classic_levels(hist, lead_time=7 * L, review_period=R, service_level=tau,
                                    target="cycle")  # fmt: skip
            S = lv.set_index("sku")["order_up_to"].reindex(skus).fillna(0).to_numpy()
            csl = float(service(S).mean())
            inv, inv_opt_tau, inv_opt_eq = leftover(S), leftover(opt), leftover(optimal_at(csl))
            rows.append({"target": tau, "method": name, "true_service": csl,
                         "optimal_service_at_target": float(service(opt).mean()),
                         "inventory": inv, "optimal_at_target": inv_opt_tau,
                         "optimal_at_equal_service": inv_opt_eq,
                         "gap_at_equal_service": inv / inv_opt_eq - 1})  # fmt: skip
            print(rows[-1], flush=True)
    out = pd.DataFrame(rows)
    out.attrs["fit_seconds"] = fit_s
    out.attrs["skus"] = len(skus)
    return out


def scale_child(n: int, seed: int = 0) -> dict[str, Any]:
    """Classify + plan n synthetic SKUs; returns wall times and peak RSS (this process)."""
    from ecomml.inventory import replenishment_plan

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    rows = 8 * n
    pop = rng.pareto(1.2, n) + 0.05
    sku_idx = rng.choice(n, size=rows, p=pop / pop.sum())
    sku_idx[:n] = np.arange(n)  # every SKU sells at least once
    names = np.char.add("S", np.arange(n).astype(str)).astype(object)
    start = pd.Timestamp("2025-01-06")
    tx = pd.DataFrame({
        "sku": names[sku_idx],
        "ts": start + pd.to_timedelta(rng.integers(0, 364 * 24, rows), unit="h"),
        "quantity": rng.integers(1, 5, rows).astype(np.float64),
        "price": (5 + (sku_idx % 97)).astype(np.float64),
    })  # fmt: skip
    cutoff = start + pd.Timedelta(weeks=52)
    rate = np.bincount(sku_idx, minlength=n) / 52.0
    ds = pd.date_range(cutoff, periods=3, freq="7D")
    fc = pd.DataFrame({"sku": np.repeat(names, 3), "ds": np.tile(ds, n),
                       "mean": np.repeat(rate * 2.5, 3), "nb_size": 2.0})  # fmt: skip
    from ecomml.forecasting import nb_quantiles
    from ecomml.metrics.forecast import QUANTILE_COLUMNS

    q = nb_quantiles(
        fc["mean"].to_numpy(), fc["nb_size"].to_numpy(), list(QUANTILE_COLUMNS.values())
    )
    for j, c in enumerate(QUANTILE_COLUMNS):
        fc[c] = q[:, j]
    gen_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    res = replenishment_plan(fc, tx, cutoff, lead_time=14, service_level=0.95, n_samples=500)
    plan_s = time.perf_counter() - t1
    return {"skus": n, "transactions": rows, "generate_s": gen_s, "classify_plan_s": plan_s,
            "planned": int(len(res.plan)), "nan_cells": int(res.plan.isna().sum().sum()),
            "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}  # fmt: skip


def run_scale(n: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--scale-child", str(n)], capture_output=True,
                         text=True, check=False)  # fmt: skip
    if out.returncode != 0:
        return {"skus": n, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def budget_markdown(bud: pd.DataFrame) -> list[str]:
    a = bud.attrs
    lines = ["", f"Budget plan (Online Retail, {a.get('skus')} SKUs, order at {a.get('start')}, target fill 0.95, "
             f"budget = {a.get('share', 0):.0%} of the unconstrained order value; margin = 30% of the mean selling "
             "price, no cost known). Lost margin against the unconstrained order: *expected* under the forecast, "
             "*realized* on the holdout's demand:", "",
             "| lead time | method | budget | spent | expected lost margin | share | vs pro rata | realized lost margin | share | vs pro rata | SKUs ordered |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for _, r in bud.iterrows():
        lines.append(f"| {int(r['lead_weeks'])} w | {r['method']} | {r['budget']:,.0f} | {r['spent']:,.0f} | "
                     f"{r['expected_lost_margin']:,.0f} | {r['expected_lost_share']:.1%} | {r['expected_vs_pro_rata']:+.1%} | "
                     f"{r['realized_lost_margin']:,.0f} | {r['realized_lost_share']:.1%} | {r['realized_vs_pro_rata']:+.1%} | "
                     f"{int(r['skus_ordered'])} |")  # fmt: skip
    return lines


def to_markdown(real: dict[str, Any] | None, points: pd.DataFrame | None, eq: pd.DataFrame | None,
                syn: pd.DataFrame | None, scale: list[dict[str, Any]],
                bud: pd.DataFrame | None = None) -> str:  # fmt: skip
    lines = []
    if real is not None and points is not None and eq is not None:
        lines += [f"Online Retail weekly panel: {real['skus']} SKUs, holdout {real['start']}..{real['end']} "
                  f"(exclusive), validation {real['validation']}..{real['start']}; weekly review, lost sales. "
                  "`raw` = the target used as the policy's service level; `calibrated` = the setting that "
                  "reached the target on the validation window.", "",
                  "| lead time | target fill | policy | mode | setting | achieved fill | miss (points) | avg inventory value | turns |",
                  "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for _, r in points.iterrows():
            lines.append(f"| {r['lead_weeks']} w | {r['target']:.2f} | {r['policy']} | {r['mode']} | {r['setting']:.3f} | "
                         f"{r['fill_rate']:.3f} | {r['miss_points']:+.1f} | {r['avg_value']:,.0f} | {r['turns']:.1f} |")  # fmt: skip
        lines += ["", "At equal achieved fill rate (read off the trade-off curves, targets 0.5..0.99, linear interpolation):", "",
                  "| window | lead time | fill rate | forecast policy inventory | classic inventory | saving |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for _, r in eq.iterrows():
            lines.append(f"| {r['window']} | {int(r['lead_weeks'])} w | {r['fill_rate']:.3f} | {r['forecast_value']:,.0f} | "
                         f"{r['classic_value']:,.0f} | {r['saving']:+.1%} |")  # fmt: skip
    if syn is not None:
        lines += ["", f"Synthetic shop (seed 0, {syn.attrs.get('skus')} SKUs, lead time 2 w + review 1 w, "
                  "cycle-service targets); inventory = expected leftover E[(S-D)+] value under the true distribution:", "",
                  "| target | method | true service | inventory | optimal at target (its service) | optimal at equal service | gap at equal service |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        for _, r in syn.iterrows():
            lines.append(f"| {r['target']:.2f} | {r['method']} | {r['true_service']:.3f} | {r['inventory']:,.0f} | "
                         f"{r['optimal_at_target']:,.0f} ({r['optimal_service_at_target']:.3f}) | {r['optimal_at_equal_service']:,.0f} | "
                         f"{r['gap_at_equal_service']:+.1%} |")  # fmt: skip
    if bud is not None:
        lines += budget_markdown(bud)
    if scale:
        lines += [
            "",
            "| SKUs | transactions | classify + plan s | peak RSS GiB |",
            "|---|---|---|---|",
        ]
        for s in scale:
            if "error" in s:
                lines.append(f"| {s['skus']:,} | - | failed: {s['error']} | - |")
            else:
                lines.append(f"| {s['skus']:,} | {s['transactions']:,} | {s['classify_plan_s']:.1f} | "
                             f"{s['peak_rss_gib']:.2f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--start", default="2011-10-10")
    ap.add_argument("--refit-every", type=int, default=1)
    ap.add_argument("--lead-weeks", default="1,2")
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--skip-budget", action="store_true")
    ap.add_argument(
        "--budget-share",
        type=float,
        default=0.5,
        help="Budget as a share of the unconstrained order value (issue 20: 0.5).",
    )
    ap.add_argument("--scale", default="", help="Comma-separated SKU counts, e.g. 100000,1000000.")
    ap.add_argument(
        "--demand-calibration",
        action="store_true",
        help="Only the replay with and without the lead-time demand calibration.",
    )
    ap.add_argument("--scale-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    if args.scale_child:
        print(json.dumps(scale_child(args.scale_child)))
        return
    if args.demand_calibration:
        cr = calibrated_replay(pd.Timestamp(args.start), args.refit_every,
                               [int(x) for x in args.lead_weeks.split(",")])  # fmt: skip
        md = "\n".join(calibration_markdown(cr))
        print(md)
        if args.markdown:
            from ecomml._io import atomic_write_text

            atomic_write_text(args.markdown, md)
        return
    real = points = eq = syn = bud = None
    if not args.skip_budget:
        bud = budget_plan(pd.Timestamp(args.start), [int(x) for x in args.lead_weeks.split(",")],
                          args.budget_share)  # fmt: skip
        print(bud.to_string(), flush=True)
    if not args.skip_real:
        real = real_data(pd.Timestamp(args.start), args.refit_every,
                         [int(x) for x in args.lead_weeks.split(",")])  # fmt: skip
        points, eq = summarise_real(real)
        print(points.to_string(), "\n", eq.to_string(), flush=True)
    if not args.skip_synthetic:
        syn = synthetic()
        print(syn.to_string(), flush=True)
    scale = []
    for n in [int(x) for x in args.scale.split(",") if x.strip()]:
        scale.append(run_scale(n))
        print(scale[-1], flush=True)
    md = to_markdown(real, points, eq, syn, scale, bud)
    print(md)
    if args.markdown:
        from ecomml._io import atomic_write_text

        atomic_write_text(args.markdown, md)


if __name__ == "__main__":
    main()
