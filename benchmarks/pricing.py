"""Price elasticity: ecomml against the naive log-log regression, on synthetic shops with a
known price response and on Online Retail (issue 22's elasticity targets).

Synthetic part: for each seed, ``make_shop(price_changes=True)`` draws a shop whose SKUs
are repriced now and then and whose demand responds with a known elasticity per SKU
(``truth_prices.own_elasticity``: of the SKU's expected units to its own price, others
held). Every method estimates every SKU on the same sales (two years; the cutoff is the
end of the window) and is scored against the truth:

* ``ecomml`` - :class:`ecomml.pricing.ElasticityModel` with its defaults (weekly panel,
  tier adjustment, DML with LightGBM nuisances, own trend and season, pooling);
* ``ecomml, no pooling`` - the same SKU estimates before pooling (SKUs with too little
  price variation count as missing);
* ``ecomml, no own trend/season`` - the ablation of step 3's per-SKU terms;
* ``naive log-log`` - least squares of log weekly units on log average price paid per
  SKU, no controls (what the confounding costs).

Targets: median absolute error <= 0.25 and 90 % interval coverage 85-95 %.

Online Retail part (no truth): elasticities with and without the quantity-tier
adjustment and the naive estimate, by a rough category (the last word of the product
description: BAG, MUG, CANDLE...), to show the tier confounding.

Usage::

    .venv/bin/python benchmarks/pricing.py --markdown /tmp/pricing.md
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _report import finish, md  # noqa: E402


def _score(est: pd.Series, low: pd.Series | None, high: pd.Series | None,
           truth: pd.Series) -> dict[str, float]:  # fmt: skip
    ok = est.notna()
    err = (est[ok] - truth[ok]).abs()
    row = {
        "skus estimated": float(ok.mean()),
        "median abs error": float(err.median()),
        "mean abs error": float(err.mean()),
        "rank corr": float(pd.Series(est[ok]).corr(truth[ok], method="spearman")),
        "coverage 90%": np.nan,
    }
    if low is not None and high is not None:
        row["coverage 90%"] = float(((truth[ok] >= low[ok]) & (truth[ok] <= high[ok])).mean())
    return row


def synthetic(seeds: list[int], customers: int, skus: int) -> pd.DataFrame:
    from ecomml.data.synth import make_shop
    from ecomml.pricing import ElasticityModel

    rows = []
    for seed in seeds:
        t0 = time.perf_counter()
        shop = make_shop(n_customers=customers, n_skus=skus, include_events=False,
                         price_changes=True, seed=seed)  # fmt: skip
        truth = shop.truth_prices.set_index("sku")["own_elasticity"]
        lines = int((shop.transactions["quantity"] > 0).sum())
        print(f"seed {seed}: {lines:,} sale lines, {skus:,} SKUs ({time.perf_counter() - t0:.1f} s)",
              file=sys.stderr)  # fmt: skip
        fits = {}
        for name, kw in (
            ("ecomml", {}),
            ("ecomml, no own trend/season", {"own_trend": False, "own_season": False}),
        ):
            t0 = time.perf_counter()
            m = ElasticityModel(n_jobs=2, **kw).fit(shop.transactions, shop.catalog, shop.calendar)
            fits[name] = (m, time.perf_counter() - t0)
        m, secs = fits["ecomml"]
        t = m.elasticities_.set_index("sku")
        tr = truth.reindex(t.index)
        z = 1.6448536269514722
        res = {
            "ecomml": (_score(t["elasticity"], t["elasticity_low"], t["elasticity_high"], tr), secs),
            "ecomml, no pooling": (_score(t["own_estimate"], t["own_estimate"] - z * t["own_se"],
                                          t["own_estimate"] + z * t["own_se"], tr), secs),
            "naive log-log": (_score(t["naive_elasticity"], None, None, tr), np.nan),
        }  # fmt: skip
        m2, secs2 = fits["ecomml, no own trend/season"]
        t2 = m2.elasticities_.set_index("sku")
        res["ecomml, no own trend/season"] = (
            _score(t2["elasticity"], t2["elasticity_low"], t2["elasticity_high"], tr),
            secs2,
        )
        for name, (score, s) in res.items():
            rows.append({"seed": seed, "method": name, **score, "fit s": s,
                         "truth median": float(tr.median())})  # fmt: skip
    return pd.DataFrame(rows)


@dataclass
class Holdout:
    """A synthetic shop seen up to ``cutoff`` (``weeks`` before its end): the elasticities
    estimated on the sales before it (indexed by SKU), today's prices, and the truth's
    expected units over the weeks after it (at the generated prices)."""

    shop: Any
    cutoff: pd.Timestamp
    elasticities: pd.DataFrame
    current: pd.Series
    true_units: pd.Series


@functools.cache
def _holdout(seed: int, customers: int, skus: int, weeks: int) -> Holdout:
    """Built once per seed, shared by the recommendation and markdown parts."""
    from ecomml.data.synth import make_shop
    from ecomml.pricing import ElasticityModel
    from ecomml.pricing.commands import _current_prices

    shop = make_shop(n_customers=customers, n_skus=skus, include_events=False,
                     price_changes=True, seed=seed)  # fmt: skip
    cutoff = shop.start + pd.Timedelta(days=730) - pd.Timedelta(weeks=weeks)
    tx = shop.transactions
    el = ElasticityModel(n_jobs=2).fit(tx, shop.catalog, shop.calendar, cutoff=cutoff)
    td = shop.truth_sku_days
    nxt = td[(td["date"] >= cutoff) & (td["date"] < cutoff + pd.Timedelta(weeks=weeks))]
    return Holdout(shop, cutoff, el.elasticities_.set_index("sku"),
                   _current_prices(tx, cutoff), nxt.groupby("sku")["mean"].sum())  # fmt: skip


def recommend(seeds: list[int], customers: int, skus: int, weeks: int = 8) -> pd.DataFrame:
    """Simulated profit of the recommended prices over the next ``weeks`` against keeping
    today's: true units at a price are the truth's expected units over those weeks times
    ``(price / today's) ** own_elasticity`` (the true response)."""
    from ecomml.pricing.commands import _baseline_units
    from ecomml.pricing.recommend import PriceRules, recommend_prices

    rows = []
    for seed in seeds:
        h = _holdout(seed, customers, skus, weeks)
        shop, cutoff, tx, cur = h.shop, h.cutoff, h.shop.transactions, h.current
        table = h.elasticities.reset_index()
        base, _ = _baseline_units(tx, cutoff, {"horizon_weeks": weeks, "history_weeks": 8,
                                               "forecast": None})  # fmt: skip
        t = table[table["sku"].isin(cur.index)].reset_index(drop=True)
        cat = shop.catalog.set_index("sku")
        t["current_price"] = cur.reindex(t["sku"]).to_numpy()
        t["cost"] = cat["cost"].reindex(t["sku"]).to_numpy()
        t["baseline_units"] = base.reindex(t["sku"]).fillna(0).to_numpy()
        true_units = h.true_units.reindex(t["sku"]).fillna(0).to_numpy()
        true_e = shop.truth_prices.set_index("sku")["own_elasticity"].reindex(t["sku"]).to_numpy()
        for ceiling in ("none", "list"):
            t["ceiling_price"] = cat["price"].reindex(t["sku"]).to_numpy()
            for conf in (0.8, 0.9):
                rules = PriceRules(ceiling=ceiling, min_confidence=conf)
                rec = recommend_prices(t, rules)
                c, p, k = rec["current_price"], rec["recommended_price"], t["cost"].to_numpy()
                units_p = true_units * (p / c) ** true_e
                keep = (c - k) * true_units
                new = (p - k) * units_p
                moved = p != c
                rows.append({
                    "seed": seed, "ceiling": ceiling, "min confidence": conf,
                    "skus": len(rec), "changed": int(moved.sum()),
                    "true profit change %": 100 * float((new - keep).sum() / keep.sum()),
                    "skus worse %": 100 * float(((new < keep - 1e-9) & moved).mean()),
                    "changed skus worse %": 100 * float(((new < keep - 1e-9)[moved]).mean())
                    if moved.any() else 0.0,
                    "expected profit change %": 100 * float(
                        rec["expected_profit_change"].sum()
                        / ((c - k) * rec["baseline_units"]).sum()),
                })  # fmt: skip
    return pd.DataFrame(rows)


def markdown(seeds: list[int], customers: int, skus: int, weeks: int = 8,
             cover: float = 3.0) -> pd.DataFrame:  # fmt: skip
    """Recovered revenue of the markdown plans against a uniform 30 % markdown and no
    markdown, at the same clear-by date, under the true response: the slowest third of
    SKUs (by units in the last year) hold ``cover`` x their true expected units over the
    next ``weeks`` weeks; the plans see only the sales before the cutoff."""
    from ecomml.pricing.markdown import _simulate, markdown_plans

    rows = []
    for seed in seeds:
        h = _holdout(seed, customers, skus, weeks)
        shop, cutoff, tx, cur, t = h.shop, h.cutoff, h.shop.transactions, h.current, h.elasticities
        # weekly units over the last year, as `inventory classify` gives them (lookback 365 d)
        recent = tx[(tx["ts"] < cutoff) & (tx["ts"] >= cutoff - pd.Timedelta(days=365))
                    & (tx["quantity"] > 0)]  # fmt: skip
        weekly = recent.groupby("sku")["quantity"].sum() / (365 / 7)
        true_units = h.true_units
        slow = weekly.reindex(cur.index).fillna(0).sort_values().index[: len(cur) // 3]
        slow = [k for k in slow if true_units.get(k, 0) > 0 and k in t.index]
        table = pd.DataFrame({
            "sku": slow,
            "on_hand": np.ceil(cover * true_units.reindex(slow).to_numpy()),
            "current_price": cur.reindex(slow).to_numpy(),
            "unit_cost": shop.catalog.set_index("sku")["cost"].reindex(slow).to_numpy(),
            "weekly_units": weekly.reindex(slow).fillna(0).to_numpy(),
            "elasticity": t.loc[slow, "elasticity"].to_numpy(),
            "elasticity_low": t.loc[slow, "elasticity_low"].to_numpy(),
            "elasticity_high": t.loc[slow, "elasticity_high"].to_numpy(),
        })  # fmt: skip
        plans = markdown_plans(table, weeks=weeks)
        # the same plans with the demand of the weeks to come known at today's prices (what
        # a perfect forecast would give): the planning, apart from the forecast's error
        oracle = markdown_plans(table.assign(
            weekly_units=true_units.reindex(slow).to_numpy() / weeks), weeks=weeks)  # fmt: skip
        true_e = shop.truth_prices.set_index("sku")["own_elasticity"]
        te = true_e.reindex(slow).to_numpy()
        # and with the true elasticity too: the best the schedules themselves can do
        ceiling = markdown_plans(table.assign(
            weekly_units=true_units.reindex(slow).to_numpy() / weeks, elasticity=te,
            elasticity_low=te, elasticity_high=te), weeks=weeks)  # fmt: skip
        totals = {"plan (last year's rate)": 0.0, "plan (known demand ahead)": 0.0,
                  "plan (known demand and elasticity)": 0.0,
                  "uniform 30%": 0.0, "no markdown": 0.0}  # fmt: skip
        sold = dict.fromkeys(totals, 0.0)
        chosen = [plans["schedule"], oracle["schedule"], ceiling["schedule"]]
        for i, r in enumerate(plans.itertuples(index=False)):
            sched = np.vstack([*(np.array(c.iat[i].split(","), dtype=float) / 100 for c in chosen),
                               np.full(weeks, 0.3), np.zeros(weeks)])  # fmt: skip
            e = np.full(400, true_e[r.sku])
            rev, units = _simulate(sched, r.current_price, r.on_hand,
                                   true_units[r.sku] / weeks, e,
                                   np.random.default_rng([99, seed, i]), 0.0)  # fmt: skip
            for j, k in enumerate(totals):
                totals[k] += rev[j]
                sold[k] += units[j]
        stock = float(plans["on_hand"].sum())
        for k in totals:
            rows.append({"seed": seed, "schedule": k, "skus": len(plans),
                         "true revenue": totals[k],
                         "vs uniform 30% %": 100 * (totals[k] / totals["uniform 30%"] - 1),
                         "stock cleared %": 100 * sold[k] / stock})  # fmt: skip
    return pd.DataFrame(rows)


def online_retail() -> tuple[pd.DataFrame, dict[str, float]]:
    from _datasets import online_retail_two_years, shared_data

    from ecomml.pricing import ElasticityModel

    tx = online_retail_two_years().transactions
    raw = pd.read_parquet(shared_data() / "online_retail" / "online_retail.parquet",
                          columns=["StockCode", "Description"])  # fmt: skip
    word = (
        raw.dropna()
        .assign(
            sku=lambda d: d["StockCode"].astype(str).str.upper().str.strip(),
            category=lambda d: d["Description"].str.upper().str.strip().str.split().str[-1],
        )
        .drop_duplicates("sku")
        .set_index("sku")["category"]
    )
    top = word.value_counts().head(14).index
    catalog = word.where(word.isin(top), "OTHER").rename("category").reset_index()
    out = {}
    stats = {}
    for name, kw in (("adjusted", {}), ("no tier adjustment", {"tier_adjust": False})):
        t0 = time.perf_counter()
        m = ElasticityModel(n_jobs=2, **kw).fit(tx, catalog=catalog)
        stats[f"{name} fit s"] = time.perf_counter() - t0
        stats[f"{name} shop"] = m.shop_elasticity_[0]
        stats[f"{name} own share"] = float((m.elasticities_["source"] == "sku").mean())
        out[name] = m
    a, b = out["adjusted"], out["no tier adjustment"]
    table = a.categories_[["category", "n_skus", "elasticity", "elasticity_low",
                           "elasticity_high", "naive_median"]].merge(
        b.categories_[["category", "elasticity"]].rename(
            columns={"elasticity": "no tier adjustment"}), on="category")  # fmt: skip
    slope = a.elasticities_["tier_slope"]
    stats["median tier slope"] = float(slope.median())
    stats["skus with a tier discount (slope < -0.05)"] = float((slope < -0.05).mean())
    stats["skus"] = float(len(a.elasticities_))
    return table, stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="11,12", help="Synthetic shops (seeds), comma-separated.")
    ap.add_argument("--customers", type=int, default=30_000)
    ap.add_argument("--skus", type=int, default=1_500)
    ap.add_argument("--parts", default="synthetic,recommend,markdown,retail")
    ap.add_argument("--markdown", type=Path)
    args = ap.parse_args(argv)
    parts = set(args.parts.split(","))
    text = []
    if "synthetic" in parts:
        res = synthetic([int(s) for s in args.seeds.split(",")], args.customers, args.skus)
        mean = res.groupby("method", sort=False).mean(numeric_only=True).drop(columns="seed")
        text += [f"### Synthetic shops ({args.customers:,} customers, {args.skus:,} SKUs, two "
                 f"years; seeds {args.seeds}; mean over seeds)", "",
                 md(mean.reset_index()), "", "Per seed:", "", md(res), ""]  # fmt: skip
    if "recommend" in parts:
        rec = recommend([int(s) for s in args.seeds.split(",")], args.customers, args.skus)
        text += [f"### Price recommendations: true profit over the next 8 weeks vs keeping "
                 f"today's prices (synthetic, seeds {args.seeds})", "", md(rec), ""]  # fmt: skip
    if "markdown" in parts:
        plans = markdown([int(s) for s in args.seeds.split(",")], args.customers, args.skus)
        text += [f"### Markdown plans: true recovered revenue over 8 weeks, slowest third of "
                 f"SKUs holding 3x their expected sales (synthetic, seeds {args.seeds})", "",
                 md(plans), ""]  # fmt: skip
    if "retail" in parts:
        table, stats = online_retail()
        text += ["### Online Retail (2009-12..2011-12; category = last word of the description)",
                 "", md(table), "",
                 *(f"- {k}: {v:,.3f}" for k, v in stats.items()), ""]  # fmt: skip
    return finish(text, "pricing.py", argv, args.markdown)


if __name__ == "__main__":
    raise SystemExit(main())
