"""Promotion ROI: ecomml's counterfactual against the structural time-series model behind
CausalImpact (statsmodels) and the pre-period average, on synthetic shops whose true
promotion lift is known, and on Online Retail's built-in events (issue 21 part 3).

Synthetic part: for each seed and event, ``make_shop(without_event=event)`` draws a shop
and, per SKU-day, its expected units with and without the event (same customers). The
truth of a run is the sum of that difference over the promotion's weeks and the post
weeks. Every method estimates the shop's net incremental units of the event's last run
from the same sales:

* ``ecomml`` - :func:`ecomml.campaigns.promotion_effect` with its defaults (LightGBM
  counterfactual, the event's earlier runs masked, level corrected on 4 placebo windows;
  SKUs first sold in the 8 weeks before are left out, by every method and the truth);
* ``ecomml, no level correction`` - the same forecast without the placebo correction;
* ``UCM (CausalImpact's model)`` - statsmodels' UnobservedComponents (local linear trend +
  a yearly Fourier season) fitted to the weekly shop total before the promotion, as
  CausalImpact does without control series; its forecast interval gives the interval;
* ``pre-period mean`` - the average week of the 4 weeks before, the rule of thumb;
* ``oracle`` - the units sold minus the true expected counterfactual: the error no method
  can avoid, since the units sold are one draw of the shop's demand.

Targets: net incremental units within 10 % of the truth, 90 % intervals covering the
truth about 90 % of the time.

Online Retail part (no truth): the built-in events with two years of history
(Black Friday 2010 and 2011, the Christmas shopping weeks of 2010) and Double 11 2011,
which a UK wholesaler does not run: its estimate should be near zero.

Usage::

    nice .venv/bin/python benchmarks/promo.py --markdown /tmp/promo.md
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _report import finish, md  # noqa: E402

Z90 = 1.6448536269514722


def _weekly_total(tx: pd.DataFrame) -> pd.Series:
    s = tx.loc[tx["quantity"] > 0]
    ds = s["ts"].dt.normalize()
    ds = ds - pd.to_timedelta(ds.dt.dayofweek, unit="D")
    return s.groupby(ds)["quantity"].sum().asfreq("W-MON", fill_value=0.0)


def ucm_effect(tx: pd.DataFrame, first: pd.Timestamp, h: int) -> tuple[float, float, float]:
    """Net effect (estimate, low, high) by a local linear trend + yearly season model of the
    weekly shop total before ``first`` (the first full week is dropped as partial), on the
    data's own scale as CausalImpact models it. The interval of the h-week sum takes the
    weekly forecast errors as fully correlated (a trend error persists), the cautious end."""
    import statsmodels.api as sm

    y = _weekly_total(tx)
    pre = y.loc[y.index < first].iloc[1:]
    post = y.loc[(y.index >= first)].iloc[:h]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = sm.tsa.UnobservedComponents(
            pre.to_numpy(float), level="local linear trend",
            freq_seasonal=[{"period": 52.18, "harmonics": 3}],
        ).fit(disp=False)  # fmt: skip
        fc = m.get_forecast(h)
    total = float(np.sum(fc.predicted_mean))
    sd = float(np.sum(np.sqrt(fc.var_pred_mean)))
    a = float(post.sum())
    return a - total, a - total - Z90 * sd, a - total + Z90 * sd


def pre_mean_effect(tx: pd.DataFrame, first: pd.Timestamp, h: int) -> float:
    y = _weekly_total(tx)
    pre = y.loc[y.index < first].iloc[-4:]
    post = y.loc[y.index >= first].iloc[:h]
    return float(post.sum() - pre.mean() * h)


def _methods(tx: pd.DataFrame, window, catalog, calendar, **kw) -> list[dict]:  # type: ignore[no-untyped-def]
    from ecomml.campaigns.promo import promotion_effect

    t0 = time.perf_counter()
    r = promotion_effect(tx, window, catalog=catalog, calendar=calendar, **kw)
    secs = time.perf_counter() - t0
    s = r.summary.iloc[0]
    first, h = pd.Timestamp(r.periods["ds"].iloc[0]), len(r.periods)
    a_all = float(r.periods["actual_units"].sum())
    b = float(s["level_correction"])
    judged = set(r.skus["sku"])  # the peers see the same SKUs (none launched lately)
    tx = tx.loc[tx["sku"].astype(str).isin(judged)]
    rows = [
        {"method": "ecomml", "estimate": s["net_incremental_units"],
         "low": s["net_incremental_units_low"], "high": s["net_incremental_units_high"],
         "seconds": secs, "placebo_error": s["placebo_error"], "level_correction": b},
        {"method": "ecomml, no level correction",
         "estimate": a_all - (a_all - s["net_incremental_units"]) / (1 + b),
         "low": np.nan, "high": np.nan, "seconds": secs},
    ]  # fmt: skip
    t0 = time.perf_counter()
    est, lo, hi = ucm_effect(tx, first, h)
    rows.append({"method": "UCM (CausalImpact's model)", "estimate": est, "low": lo, "high": hi,
                 "seconds": time.perf_counter() - t0})  # fmt: skip
    rows.append({"method": "pre-period mean", "estimate": pre_mean_effect(tx, first, h),
                 "low": np.nan, "high": np.nan, "seconds": np.nan})  # fmt: skip
    for row in rows:
        row.update(first=first.date(), weeks=h, promo_weeks=int(s["promo_periods"]),
                   skus=len(judged), new_skus=int(s["new_skus"]))  # fmt: skip
    return rows, judged


def synthetic(seeds: list[int], events: list[str], customers: int) -> pd.DataFrame:
    from ecomml.campaigns.promo import promo_windows
    from ecomml.data.synth import make_shop

    rows = []
    for seed in seeds:
        for event in events:
            shop = make_shop(n_customers=customers, include_events=False, seed=seed,
                             without_event=event)  # fmt: skip
            window = promo_windows(shop.calendar, event)[-1]
            res, judged = _methods(shop.transactions, window, shop.catalog, shop.calendar)
            first = pd.Timestamp(res[0]["first"])
            end = first + pd.Timedelta(weeks=res[0]["weeks"])
            d = shop.truth_sku_days
            w = d.loc[(d["date"] >= first) & (d["date"] < end) & d["sku"].isin(judged)]
            truth = float((w["mean"] - w["mean_without_event"]).sum())
            base = float(w["mean_without_event"].sum())
            sold = shop.transactions
            sold = sold.loc[(sold["ts"] >= first) & (sold["ts"] < end) & (sold["quantity"] > 0)
                            & sold["sku"].isin(judged)]  # fmt: skip
            res.append({"method": "oracle (true expected counterfactual)",
                        "estimate": float(sold["quantity"].sum()) - base, "low": np.nan,
                        "high": np.nan, "seconds": np.nan})  # fmt: skip
            for r in res:
                r.update(seed=seed, event=event, truth=truth, truth_share=truth / base,
                         rel_error=r["estimate"] / truth - 1,
                         covered=float(r["low"] <= truth <= r["high"]) if np.isfinite(r["low"]) else np.nan)  # fmt: skip
                rows.append(r)
            print(f"seed {seed} {event}: truth {truth:,.0f} | "
                  + ", ".join(f"{r['method']} {r['estimate']:,.0f}" for r in res),
                  file=sys.stderr, flush=True)  # fmt: skip
    return pd.DataFrame(rows)


def online_retail() -> pd.DataFrame:
    from _datasets import online_retail_two_years

    from ecomml.campaigns.promo import promo_windows
    from ecomml.data.calendar import promo_calendar

    tx = online_retail_two_years().transactions
    cal = promo_calendar(tx["ts"].min().normalize(), tx["ts"].max().normalize())
    rows = []
    for event, year, post in (("black_friday", 2010, 2), ("black_friday", 2011, 1),
                              ("christmas_shopping", 2010, 0), ("double_11", 2011, 2)):  # fmt: skip
        window = promo_windows(cal, event, year=year)[0]
        for r in _methods(tx, window, None, cal, post_periods=post)[0]:
            r.update(event=event, year=year)
            rows.append(r)
        print(f"{event} {year}: " + ", ".join(f"{r['method']} {r['estimate']:,.0f}"
              for r in rows[-4:]), file=sys.stderr, flush=True)  # fmt: skip
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0,1,2,3,4", help="Synthetic shops, comma-separated.")
    ap.add_argument("--events", default="double_11,618")
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--parts", default="synthetic,retail")
    ap.add_argument("--markdown", type=Path)
    args = ap.parse_args(argv)
    parts = set(args.parts.split(","))
    text = []
    if "synthetic" in parts:
        res = synthetic([int(s) for s in args.seeds.split(",")], args.events.split(","),
                        args.customers)  # fmt: skip
        g = res.groupby("method", sort=False)
        summary = pd.DataFrame({
            "mean estimate / truth": g["estimate"].sum() / g["truth"].sum(),
            "median abs rel error": g["rel_error"].apply(lambda e: e.abs().median()),
            "mean abs rel error": g["rel_error"].apply(lambda e: e.abs().mean()),
            "within 10 %": g["rel_error"].apply(lambda e: (e.abs() <= 0.10).mean()),
            "90 % interval coverage": g["covered"].mean(),
            "seconds per run": g["seconds"].mean(),
        }).reset_index()  # fmt: skip
        text += [f"### Synthetic shops ({args.customers:,} customers, 1,500 SKUs, two years; "
                 f"seeds {args.seeds}; events {args.events}, last run; net incremental units "
                 "over the promotion + 2 post weeks)", "", md(summary), "", "Per run:", "",
                 md(res[["seed", "event", "method", "truth", "truth_share", "estimate", "low",
                          "high", "rel_error", "covered"]], ".2f"), ""]  # fmt: skip
    if "retail" in parts:
        res = online_retail()
        text += ["### Online Retail (2009-12..2011-12, built-in calendar; no truth: Double 11 "
                 "is not run by this shop)", "",
                 md(res[["event", "year", "method", "promo_weeks", "weeks", "estimate", "low",
                          "high", "seconds"]], ".0f"), ""]  # fmt: skip
    return finish(text, "promo.py", argv, args.markdown)


if __name__ == "__main__":
    raise SystemExit(main())
