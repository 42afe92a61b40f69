"""A/B test analysis on the Hillstrom e-mail test: ecomml against scipy and statsmodels.

For each e-mail (Mens, Womens) against no e-mail and each metric (visit, conversion,
spend), prints ecomml's difference, interval and p-value beside scipy's Welch t-test
(``scipy.stats.ttest_ind(equal_var=False)``) and statsmodels' ``CompareMeans``
(``usevar="unequal"``, if installed): the largest gap in the estimates and the ratio of the
interval widths. Then CUPED's variance reduction with ``history`` and with every
pre-period column, and the ratio metric spend per visit.

Reproduce: ``python benchmarks/abtest.py`` (reads ../shared/data/hillstrom; a few seconds).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _datasets import shared_data  # noqa: E402

from ecomml.campaigns import analyze_experiment, welch_test  # noqa: E402

METRICS = ["visit", "conversion", "spend"]
PRE = ["history", "recency", "mens", "womens", "newbie"]


def main() -> None:
    df = pd.read_parquet(shared_data() / "hillstrom" / "hillstrom.parquet")
    t0 = time.perf_counter()
    res = analyze_experiment(df, variant_col="segment", control="No E-Mail", metrics=METRICS,
                             covariates=["history"], ratios=[("spend", "visit")])  # fmt: skip
    seconds = time.perf_counter() - t0
    try:
        from statsmodels.stats.weightstats import CompareMeans, DescrStatsW
    except ImportError:  # pragma: no cover
        CompareMeans = None  # noqa: N806
    rows = []
    ctrl = df.loc[df["segment"] == "No E-Mail"]
    for variant in ("Mens E-Mail", "Womens E-Mail"):
        g = df.loc[df["segment"] == variant]
        for m in METRICS:
            ours = welch_test(ctrl[m], g[m])
            sp = stats.ttest_ind(g[m], ctrl[m], equal_var=False)
            ci = sp.confidence_interval()
            row = {
                "variant": variant, "metric": m, "lift": ours["rel_lift"],
                "lift_low": ours["rel_lift_low"], "lift_high": ours["rel_lift_high"],
                "diff": ours["diff"], "p_value": ours["p_value"],
                "max_gap_vs_scipy": max(abs(ours["diff_low"] - ci.low),
                                        abs(ours["diff_high"] - ci.high),
                                        abs(ours["p_value"] - sp.pvalue)),
                "width_vs_scipy": (ours["diff_high"] - ours["diff_low"]) / (ci.high - ci.low),
            }  # fmt: skip
            if CompareMeans is not None:
                cm = CompareMeans(DescrStatsW(g[m].to_numpy(float)),
                                  DescrStatsW(ctrl[m].to_numpy(float)))  # fmt: skip
                lo, hi = cm.tconfint_diff(usevar="unequal")
                _, p, _ = cm.ttest_ind(usevar="unequal")
                row["max_gap_vs_statsmodels"] = max(abs(ours["diff_low"] - lo),
                                                    abs(ours["diff_high"] - hi),
                                                    abs(ours["p_value"] - p))  # fmt: skip
                row["width_vs_statsmodels"] = (ours["diff_high"] - ours["diff_low"]) / (hi - lo)
            rows.append(row)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"Hillstrom, each e-mail vs No E-Mail ({len(df):,} customers; ecomml's full "
              f"analysis {seconds:.2f} s)\n")  # fmt: skip
        print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    t = res.table
    print(
        "\nCUPED (theta by OLS on both arms pooled) and CUPAC (CUPED on a cross-fitted "
        "LightGBM prediction, with 2+ covariates): interval width vs plain Welch"
    )
    for covs in (["history"], PRE):
        r = analyze_experiment(df, variant_col="segment", control="No E-Mail", metrics=METRICS,
                               covariates=covs).table  # fmt: skip
        for (v, m), g in r.groupby(["variant", "metric"], sort=False):
            by = g.set_index("method")
            plain = by.loc["welch"]
            for method in ("cuped", "cupac"):
                if method not in by.index:
                    continue
                adj = by.loc[method]
                w = (adj["diff_high"] - adj["diff_low"]) / (plain["diff_high"] - plain["diff_low"])
                print(
                    f"  {method} {','.join(covs):38s} {v:14s} {m:11s} width x{w:.4f} "
                    f"(variance -{adj['variance_reduction']:.2%}), diff {adj['diff']:.4f} vs "
                    f"plain {plain['diff']:.4f}"
                )
    ratio = t.loc[t["method"] == "delta"]
    print("\nspend per visit (delta method):")
    for r in ratio.itertuples():
        print(
            f"  {r.variant:14s} {r.mean_control:.3f} -> {r.mean_variant:.3f}, lift "
            f"{r.rel_lift:+.1%} [{r.rel_lift_low:+.1%}, {r.rel_lift_high:+.1%}], p {r.p_value:.3f}"
        )
    assert np.isfinite(table["lift"]).all()


if __name__ == "__main__":
    main()
