"""Coherent forecasts (issue 19): ecomml's reconciliation against hierarchicalforecast.

Protocol: weekly SKU demand, 8-week holdout from ``--cutoff``; the same LightGBM base
forecasts (``LightGBMForecaster`` for the SKUs, the forecaster's default damped-trend
ETS for the aggregates) and the same validation errors (the two 8-week windows before the cutoff)
go into every reconciliation:

* ecomml ``HierarchicalForecaster`` with ``bottom-up``, ``mint-shrink`` (non-negative,
  active set) and ``auto`` (chosen on the validation window); fit + predict seconds;
* hierarchicalforecast ``BottomUp`` and ``MinTrace(method="mint_shrink",
  nonnegative=True)`` (its quadratic program) on those base forecasts and errors; the
  seconds of the reconciliation step alone, beside ecomml's ``mint`` on the same input.

Panels: Online Retail (two years, SKUs with >= 26 selling weeks; no categories, so the
levels are SKU and total) and the synthetic shop (10,000 customers; SKU, 12 categories,
total). Per level: WAPE (sum |error| / sum actual) and bias of the means; for ecomml the
share of actuals inside the 5-95 % interval and below q10 / above q90 (the aggregates'
quantiles come from sampled paths). Settings were not tuned on the holdout.

Usage::

    python benchmarks/hierarchy.py [--cutoff 2011-10-10] [--markdown PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from forecast import H, build_panel  # noqa: E402

from ecomml.forecasting import LightGBMForecaster, panel_from_transactions  # noqa: E402
from ecomml.forecasting.hierarchy import HierarchicalForecaster  # noqa: E402
from ecomml.forecasting.reconcile import mint, shrunk_covariance  # noqa: E402


def _levels(frame: pd.DataFrame, act: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per-level WAPE, bias and interval shares of a ``level, node, ds, mean, q..`` frame."""
    out = {}
    for level, part in frame.groupby("level"):
        m = part.merge(act, on=["level", "node", "ds"], how="left").fillna({"y": 0.0})
        y, f = m["y"].to_numpy(), m["mean"].to_numpy()
        row = {"wape": np.abs(f - y).sum() / max(y.sum(), 1e-12),
               "bias": (f - y).sum() / max(y.sum(), 1e-12)}  # fmt: skip
        if "q05" in m and m["q05"].notna().all():
            row["in_90"] = float(((y >= m["q05"]) & (y <= m["q95"])).mean())
            row["below_q10"] = float((y < m["q10"]).mean())
            row["above_q90"] = float((y > m["q90"]).mean())
        out[str(level)] = row
    return out


def _actuals(act: pd.DataFrame, tree: Any) -> pd.DataFrame:
    """Holdout actuals at every node (``level, node, ds, y``)."""
    sku = act.assign(level="sku", node=act["sku"].astype(str))[["level", "node", "ds", "y"]]
    pos = pd.Index(tree.skus).get_indexer(act["sku"].astype(str))
    ok = pos >= 0
    parts = [sku]
    for r in range(len(tree.nodes)):
        members = np.isin(pos, tree.a[r].indices) & ok
        g = act.loc[members].groupby("ds", as_index=False)["y"].sum()
        parts.append(g.assign(level=tree.levels[r], node=str(tree.nodes[r])))
    return pd.concat(parts, ignore_index=True)


def _peer_inputs(hist: pd.DataFrame, calendar: Any) -> dict[str, Any]:
    """Base forecasts and validation errors at every node, as ecomml's MinT uses them."""
    from sklearn.base import clone

    from ecomml.forecasting.hierarchy import _fit, _matrices, _Tree

    tree = _Tree.of(hist)
    hf = HierarchicalForecaster(method="mint-shrink")
    upper = hf._models()[1]
    periods = pd.to_datetime(hist["ds"])
    weeks = np.sort(periods.unique())
    from ecomml.forecasting.panel import period_index

    hist_periods = period_index(periods, "W")
    rows_hat, rows_y = [], []
    for back in (2 * H, H):
        origin = weeks[-back]
        past = hist.loc[periods < origin]
        low = LightGBMForecaster().fit(past, calendar=calendar)
        up = _fit(clone(upper), hf._agg(past, tree), calendar)
        fc = hf._base(past, tree, low, up, calendar)
        actual = hf._actuals(hist, tree, hist_periods, _period(origin), H)
        rows_hat.append(np.vstack([fc["agg_mean"], fc["bottom_mean"]]))
        rows_y.append(np.vstack([tree.a @ actual, actual]))
    low = LightGBMForecaster().fit(hist, calendar=calendar)
    up = _fit(clone(upper), hf._agg(hist, tree), calendar)
    fb = low.predict(hist, calendar=calendar)
    dates = np.sort(fb["ds"].unique())[:H]
    mb, _ = _matrices(fb, tree.skus, dates)
    ma, _ = _matrices(up.predict(hf._agg(hist, tree), calendar=calendar), tree.ids(), dates)
    return {"tree": tree, "dates": dates, "agg": ma, "bottom": mb,
            "y_hat_in": np.hstack(rows_hat), "y_in": np.hstack(rows_y)}  # fmt: skip


def _period(ts: Any) -> int:
    from ecomml.forecasting.panel import period_index

    return int(period_index(pd.DatetimeIndex([pd.Timestamp(ts)]), "W")[0])


def _frame_from(tree: Any, dates: np.ndarray, bottom: np.ndarray) -> pd.DataFrame:
    """A ``level, node, ds, mean`` frame of coherent bottom forecasts."""
    agg = tree.a @ bottom
    parts = [
        pd.DataFrame({"level": "sku", "node": np.repeat(tree.skus, len(dates)),
                      "ds": np.tile(dates, len(tree.skus)), "mean": bottom.reshape(-1)}),
        pd.DataFrame({"level": np.repeat(tree.levels, len(dates)),
                      "node": np.repeat(tree.nodes.astype(str), len(dates)),
                      "ds": np.tile(dates, len(tree.nodes)), "mean": agg.reshape(-1)}),
    ]  # fmt: skip
    out = pd.concat(parts, ignore_index=True)
    out["ds"] = pd.to_datetime(out["ds"])
    return out


def run(name: str, hist: pd.DataFrame, act: pd.DataFrame, calendar: Any) -> list[dict[str, Any]]:
    from ecomml.forecasting.hierarchy import _Tree

    tree = _Tree.of(hist)
    truth = _actuals(act, tree)
    rows: list[dict[str, Any]] = []

    def add(method: str, frame: pd.DataFrame, sec: float, extra: str = "") -> None:
        for level, met in _levels(frame, truth).items():
            rows.append({"panel": name, "method": method, "level": level, "seconds": sec,
                         "note": extra, **met})  # fmt: skip
        print(f"  {name} {method}: {sec:.1f}s {extra}", flush=True)

    for method in ("bottom-up", "mint-shrink", "auto"):
        t0 = time.perf_counter()
        model = HierarchicalForecaster(method=method).fit(hist, calendar=calendar)
        fc = model.predict(hist, calendar=calendar)
        sec = time.perf_counter() - t0
        note = f"chose {model.method_}" if method == "auto" else ""
        if model.covariance_ is not None:
            note += f" shrinkage {model.covariance_.shrinkage:.2f}"
        add(f"ecomml {method}", fc, sec, note.strip())

    # the peer: the same base forecasts and validation errors, reconciled by each library
    inp = _peer_inputs(hist, calendar)
    tree, dates = inp["tree"], inp["dates"]
    t0 = time.perf_counter()
    cov = shrunk_covariance(inp["y_hat_in"] - inp["y_in"])
    ours = mint(inp["agg"], inp["bottom"], tree.a, cov)
    add("ecomml mint (step only)", _frame_from(tree, dates, ours), time.perf_counter() - t0,
        f"shrinkage {cov.shrinkage:.2f}")  # fmt: skip
    try:
        from hierarchicalforecast.methods import BottomUp, MinTrace
    except ImportError:  # pragma: no cover - the bench extra
        print("  hierarchicalforecast is not installed (pip install -e '.[bench]')")
        return rows
    s = np.vstack([tree.a.toarray(), np.eye(len(tree.skus))])
    y_hat = np.vstack([inp["agg"], inp["bottom"]])
    for label, rec in (("BottomUp", BottomUp()),
                       ("MinTrace mint_shrink nonneg", MinTrace("mint_shrink", nonnegative=True))):  # fmt: skip
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = rec.fit_predict(S=s, y_hat=y_hat, y_insample=inp["y_in"],
                                      y_hat_insample=inp["y_hat_in"])  # fmt: skip
            except Exception as err:  # noqa: BLE001 - the peer's own failure, reported
                print(f"  hierarchicalforecast {label} failed: {err}")
                continue
        sec = time.perf_counter() - t0
        bottom = np.asarray(res["mean"])[len(tree.nodes) :]
        gap = float(np.abs(bottom - ours).max()) if "MinTrace" in label else float("nan")
        add(f"hierarchicalforecast {label}", _frame_from(tree, dates, bottom), sec,
            f"max |diff| to ecomml's mint {gap:.3g}" if np.isfinite(gap) else "")  # fmt: skip
    return rows


def to_markdown(rows: list[dict[str, Any]]) -> str:
    cols = ["panel", "method", "level", "wape", "bias", "in_90", "below_q10", "above_q90",
            "seconds", "note"]  # fmt: skip
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c, "")
            cells.append(f"{v:.3f}" if isinstance(v, float) and c != "seconds"
                         else f"{v:.1f}" if c == "seconds" else str(v))  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cutoff", default="2011-10-10", help="First holdout week (Monday).")
    ap.add_argument("--synthetic-cutoff", default="2024-10-07")
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--markdown", type=Path, default=None)
    args = ap.parse_args(argv)
    rows: list[dict[str, Any]] = []
    if not args.skip_real:
        from _datasets import online_retail_two_years

        tx = online_retail_two_years(customers_only=False).transactions
        hist, act = build_panel(tx, pd.Timestamp(args.cutoff))
        print(f"Online Retail: {hist['sku'].nunique()} SKUs", flush=True)
        rows += run("Online Retail", hist, act, None)
    from ecomml.data.synth import make_shop

    shop = make_shop(n_customers=10000, seed=0)
    cut = pd.Timestamp(args.synthetic_cutoff)
    full = panel_from_transactions(shop.transactions, cut + pd.Timedelta(weeks=H), "W",
                                   catalog=shop.catalog)  # fmt: skip
    hist = full.loc[full["ds"] < cut].reset_index(drop=True)
    act = full.loc[full["ds"] >= cut, ["sku", "ds", "y"]].reset_index(drop=True)
    print(f"synthetic shop: {hist['sku'].nunique()} SKUs", flush=True)
    rows += run("synthetic shop", hist, act, shop.calendar)
    text = to_markdown(rows)
    print(text)
    if args.markdown:
        from ecomml._io import atomic_write_text

        atomic_write_text(args.markdown, text + "\n")


if __name__ == "__main__":
    main()
