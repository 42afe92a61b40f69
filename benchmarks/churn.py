"""Churn benchmark: ecomml against lifetimes and simple baselines on the same data, same run.

Three parts (``--parts cdnow,retail,scale``):

1. **CDNOW** (``../shared/data/cdnow``).
   a. The Fader-Hardie-Lee (2005) 2,357-customer sample: its customer ids are read from
      lifetimes' bundled ``CDNOW_sample.txt`` (first column = master-log id) and the RFM
      summary is built by ecomml from the *raw* master rows (purchase days, zero-value rows
      included: BTYD counts purchase occasions whatever their value). Published: r=0.243,
      alpha=4.414, a=0.793, b=2.426, LL=-9582.4. Fit time against lifetimes' BetaGeoFitter.
   b. Full master log, calibration 1997-01-01..1997-09-30 (39 weeks), holdout the next
      39 weeks: total error and per-customer MAE of predicted holdout purchases, AUC of
      "any purchase in the holdout". The model (BG/NBD or MBG/NBD) is chosen on an earlier
      window (calibration to 1997-06-30, 13-week holdout), never on the holdout.
2. **Online Retail** (two years, customers with ids), cutoff 2011-09-01, 90-day churn:
   ecomml's ``ChurnModel`` against lifetimes BG/NBD (P(no purchase in 90 days)), a
   recency-only rule (churn rate by recency, fitted at 2011-06-01) and a plain RFM
   LightGBM trained by hand at 2011-06-01. ROC-AUC, PR-AUC, Brier, top-decile lift.
   ecomml's settings are also evaluated at 2011-06-01 (validation) in the same run.
3. **Scale**: BG/NBD fit on 1M and 5M simulated customers, each fit in a fresh process
   (time, peak RSS, convergence), ecomml against lifetimes.

Usage::

    nice .venv/bin/python benchmarks/churn.py --markdown /tmp/churn.md
    nice .venv/bin/python benchmarks/churn.py --parts scale --sizes 1M,5M
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecomml.features.store import store_from_shop

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
RESULT_TAG = "@@RESULT@@"
DATA = HERE / "_data"


# --------------------------------------------------------------------------- helpers
def _peak_rss() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _fmt(v: Any, nd: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _raw_cdnow() -> pd.DataFrame:
    from _datasets import shared_data

    raw = pd.read_parquet(shared_data() / "cdnow" / "cdnow_master.parquet")
    n = raw["number_of_cds"].clip(lower=1).astype(float)
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype(str),
            "ts": pd.to_datetime(raw["date"]),
            "quantity": n,
            "price": raw["dollar_value"] / n,
        }
    )


def _sample_ids() -> np.ndarray:
    import lifetimes

    path = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"
    return pd.read_csv(path, sep=r"\s+", header=None, dtype=str)[0].unique()


def _lifetimes_fit(x: Any, tx: Any, T: Any, *, pareto: bool = False) -> tuple[Any, float]:
    from lifetimes import BetaGeoFitter, ParetoNBDFitter

    t0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cls = ParetoNBDFitter if pareto else BetaGeoFitter
        f = cls().fit(np.asarray(x), np.asarray(tx), np.asarray(T))
    return f, time.process_time() - t0


def _loglik(params: dict[str, float], x: Any, tx: Any, T: Any) -> float:
    """BG/NBD log-likelihood of ``params`` on the data (one formula for every implementation)."""
    from ecomml.churn import BetaGeoModel

    th = np.log([params["r"], params["alpha"], params["a"], params["b"]])
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    return -BetaGeoModel()._negll(th, x, tx, T, np.ones_like(x))[0] * len(x)


# --------------------------------------------------------------------------- CDNOW
def part_cdnow(repeat: int = 15) -> dict[str, Any]:
    from ecomml.churn import (
        BetaGeoModel,
        ModifiedBetaGeoModel,
        ParetoNBDModel,
        purchase_days,
        rfm_summary,
    )
    from ecomml.metrics.classification import roc_auc

    tx = _raw_cdnow()
    days = purchase_days(tx)
    out: dict[str, Any] = {}

    ids = _sample_ids()
    s = rfm_summary(days=days.loc[days["customer_id"].isin(ids)], cutoff="1997-10-01", unit="W")
    times, lt_times = [], []
    for _ in range(repeat):  # interleaved, CPU time: the machine is shared
        t0 = time.process_time()
        m = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
        times.append(time.process_time() - t0)
        f, dt = _lifetimes_fit(s["frequency"], s["recency"], s["T"])
        lt_times.append(dt)
    lt_ll = _loglik(
        {k: float(v) for k, v in f.params_.items()}, s["frequency"], s["recency"], s["T"]
    )
    out["sample"] = {
        "customers": len(s),
        "ecomml": {**m.params_, "ll": m.log_likelihood_, "seconds": float(np.median(times))},
        "lifetimes": {
            **{k: float(v) for k, v in f.params_.items()},
            "ll": lt_ll,
            "seconds": float(np.median(lt_times)),
        },
        "published": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "ll": -9582.4},
    }

    def window(cal_end: str, weeks: int) -> tuple[pd.DataFrame, np.ndarray]:
        cut = pd.Timestamp(cal_end)
        summ = rfm_summary(days=days, cutoff=cut, unit="W")
        hold = days.loc[(days["day"] >= cut) & (days["day"] < cut + pd.Timedelta(weeks=weeks))]
        y = hold.groupby("customer_id").size().reindex(summ["customer_id"]).fillna(0).to_numpy()
        return summ, y

    def evaluate(kind: str, summ: pd.DataFrame, y: np.ndarray, weeks: int) -> dict[str, float]:
        x, r, T = summ["frequency"], summ["recency"], summ["T"]
        if kind in ("lifetimes", "lifetimes-pareto"):
            f, dt = _lifetimes_fit(x, r, T, pareto=kind == "lifetimes-pareto")
            e = f.conditional_expected_number_of_purchases_up_to_time(weeks, x, r, T)
            e = np.asarray(e, dtype=float)
            alive = np.asarray(f.conditional_probability_alive(x, r, T), dtype=float)
            any_p = None
        else:
            cls = {"bgnbd": BetaGeoModel, "mbgnbd": ModifiedBetaGeoModel,
                   "pareto": ParetoNBDModel}[kind]  # fmt: skip
            t0 = time.process_time()
            m = cls().fit(x, r, T)
            dt = time.process_time() - t0
            e = m.predict_purchases(weeks, x, r, T)
            alive = m.predict_alive(x, r, T)
            any_p = m.predict_any_purchase(weeks, x, r, T)
        return {
            "total_error": float(e.sum() / y.sum() - 1),
            "mae": float(np.abs(e - y).mean()),
            "corr": float(np.corrcoef(e, y)[0, 1]),
            "auc_expected": roc_auc(y > 0, e),
            "auc_p_alive": roc_auc(y > 0, alive),
            "auc_p_any": None if any_p is None else roc_auc(y > 0, any_p),
            "seconds": dt,
        }

    vs, vy = window("1997-07-01", 13)
    val = {k: evaluate(k, vs, vy, 13) for k in ("bgnbd", "mbgnbd", "pareto")}
    # choose on the validation window: lowest MAE (ties: smaller absolute total error)
    chosen = min(val, key=lambda k: (round(val[k]["mae"], 3), abs(val[k]["total_error"])))
    hs, hy = window("1997-10-01", 39)
    kinds = ("lifetimes", "lifetimes-pareto", "bgnbd", "mbgnbd", "pareto")
    hold = {k: evaluate(k, hs, hy, 39) for k in kinds}
    out["holdout"] = {
        "customers": len(hs),
        "actual": float(hy.sum()),
        "validation": val,
        "chosen": chosen,
        "results": hold,
    }
    return out


def render_cdnow(res: dict[str, Any]) -> str:
    s = res["sample"]
    rows = []
    for who in ("published", "ecomml", "lifetimes"):
        d = s[who]
        rows.append([who, d["r"], d["alpha"], d["a"], d["b"], f"{d['ll']:.1f}", d.get("seconds")])
    e, lt = s["ecomml"]["seconds"], s["lifetimes"]["seconds"]
    text = [
        f"**CDNOW 2,357-customer sample** ({s['customers']:,} customers; ids from lifetimes' "
        "CDNOW_sample.txt, RFM built by ecomml from the raw master rows)",
        "",
        _table(["", "r", "alpha", "a", "b", "log-lik", "fit CPU s (median)"], rows),
        "",
        f"ecomml fit is {lt / e:.1f}x faster than lifetimes on the sample.",
        "",
    ]
    h = res["holdout"]
    rows = []
    names = {"lifetimes": "lifetimes BG/NBD", "lifetimes-pareto": "lifetimes Pareto/NBD",
             "bgnbd": "ecomml BG/NBD", "mbgnbd": "ecomml MBG/NBD",
             "pareto": "ecomml Pareto/NBD"}  # fmt: skip
    for k, r in h["results"].items():
        tag = " (chosen on validation)" if k == h["chosen"] else ""
        rows.append(
            [
                names[k] + tag,
                f"{100 * r['total_error']:+.1f}%",
                r["mae"],
                r["corr"],
                r["auc_expected"],
                r["auc_p_any"],
                r["auc_p_alive"],
                r["seconds"],
            ]
        )
    rows.append(["target", "within ±5%", "< 0.78", "", "> 0.78", "> 0.78", "", ""])
    text += [
        f"**CDNOW master log** ({h['customers']:,} customers), calibration 1997-01-01..09-30, "
        f"39-week holdout ({h['actual']:,.0f} purchase days)",
        "",
        _table(
            [
                "model",
                "total error",
                "MAE",
                "corr",
                "AUC (E[purchases])",
                "AUC (P(any))",
                "AUC (P(alive))",
                "fit CPU s",
            ],
            rows,
        ),
        "",
        "Validation window (calibration to 1997-06-30, 13-week holdout) used to choose the "
        "model: "
        + "; ".join(
            f"{names[k]} total {100 * v['total_error']:+.1f}%, MAE {v['mae']:.3f}, "
            f"AUC {v['auc_expected']:.3f}"
            for k, v in h["validation"].items()
        ),
        "",
    ]
    return "\n".join(text)


# --------------------------------------------------------------------------- Online Retail
def part_retail(
    cutoff: str = "2011-09-01", early: str = "2011-06-01", horizon: int = 90
) -> dict[str, Any]:
    import lightgbm as lgb
    from _datasets import online_retail_two_years
    from sklearn.isotonic import IsotonicRegression

    from ecomml.churn import ChurnModel, churn_labels, rfm_summary
    from ecomml.data.shop import ShopData
    from ecomml.metrics.classification import classification_report

    tx = online_retail_two_years(customers_only=True).transactions
    cut, early_cut = pd.Timestamp(cutoff), pd.Timestamp(early)

    def labels_at(c: pd.Timestamp) -> pd.Series:
        return churn_labels(tx, cutoffs=[c], horizon=horizon).set_index("customer_id")["churn"]

    def store_at(c: pd.Timestamp) -> tuple[pd.DataFrame, Any]:
        h = tx.loc[tx["ts"] < c]
        return h, store_from_shop(ShopData(transactions=h))

    results: dict[str, Any] = {"cutoff": cutoff, "horizon": horizon, "rows": {}, "validation": {}}

    configs = {
        "ecomml ChurnModel (default: season features)": {},
        "ecomml ChurnModel without season features": {"season_features": False},
    }
    for c, bucket in ((early_cut, "validation"), (cut, "rows")):
        h, store = store_at(c)
        y_all = labels_at(c)
        for name, kw in configs.items():
            t0 = time.perf_counter()
            m = ChurnModel(horizon, **kw).fit(h, store, cutoff=c)
            sc = m.score(h, store, cutoff=c)
            dt = time.perf_counter() - t0
            y = y_all.loc[sc["customer_id"]].to_numpy()
            results[bucket][name] = {
                **classification_report(y, sc["p_churn"].to_numpy()),
                "seconds": dt,
                "btyd": m.btyd_kind_,
                "calibration": m.classifier_.calibration_ if m.classifier_ else None,
            }

    # peers on the same customers at the cutoff
    h, store = store_at(cut)
    y_all = labels_at(cut)
    s = rfm_summary(h, cutoff=cut, unit="D")
    y = y_all.loc[s["customer_id"]].to_numpy()
    from lifetimes import BetaGeoFitter

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bgf = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    p_alive = np.asarray(bgf.conditional_probability_alive(s["frequency"], s["recency"], s["T"]))
    # lifetimes 0.11 has no conditional P(N = 0) for BG/NBD: P(no purchase in t) =
    # 1 - P(alive) (1 - ((alpha + T) / (alpha + T + t)) ** (r + x)) with lifetimes' estimates
    lp = bgf.params_
    stay = ((lp["alpha"] + s["T"]) / (lp["alpha"] + s["T"] + horizon)) ** (lp["r"] + s["frequency"])
    p0 = 1.0 - p_alive * (1.0 - np.asarray(stay, dtype=float))
    dt = time.perf_counter() - t0
    results["rows"]["lifetimes BG/NBD: P(no purchase in 90 days)"] = {
        **classification_report(y, np.clip(np.asarray(p0, dtype=float), 0, 1)),
        "seconds": dt,
    }
    results["rows"]["lifetimes BG/NBD: 1 - P(alive)"] = {
        **classification_report(y, np.clip(1 - np.asarray(p_alive, dtype=float), 0, 1)),
        "seconds": dt,
    }

    # recency rule and hand-made RFM LightGBM, both fitted at the earlier cutoff
    h_e, store_e = store_at(early_cut)
    fe = store_e.get_features("customer_rfm", cutoff=early_cut)
    fe["customer_id"] = fe["customer_id"].astype(str)
    ye = labels_at(early_cut).loc[fe["customer_id"]].to_numpy()
    fc = store.get_features("customer_rfm", cutoff=cut)
    fc["customer_id"] = fc["customer_id"].astype(str)
    yc = y_all.loc[fc["customer_id"]].to_numpy()
    iso = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(
        fe["customer_rfm__recency_days"], ye
    )
    p_rec = iso.predict(fc["customer_rfm__recency_days"])
    results["rows"]["recency rule (churn rate by recency at 2011-06-01)"] = {
        **classification_report(yc, np.clip(p_rec, 0, 1)),
        "seconds": 0.0,
    }
    cols = [c for c in fe.columns if c.startswith("customer_rfm__")]
    t0 = time.perf_counter()
    booster = lgb.train(
        {
            "objective": "binary",
            "learning_rate": 0.03,
            "num_leaves": 15,
            "min_child_samples": 50,
            "num_threads": 1,
            "verbosity": -1,
            "seed": 0,
        },
        lgb.Dataset(fe[cols].astype(float), ye),
        300,
    )
    p_lgb = booster.predict(fc[cols].astype(float))
    results["rows"]["RFM LightGBM trained at 2011-06-01"] = {
        **classification_report(yc, p_lgb),
        "seconds": time.perf_counter() - t0,
    }
    results["customers"] = len(s)
    results["churn_rate"] = {
        "2011-06-01": float(labels_at(early_cut).mean()),
        cutoff: float(y.mean()),
    }
    return results


def render_retail(res: dict[str, Any]) -> str:
    rows = []
    for name, r in res["rows"].items():
        rows.append(
            [
                name,
                r["roc_auc"],
                r["pr_auc"],
                r["brier"],
                r["lift_top_decile"],
                r["mean_predicted"],
                r["seconds"],
            ]
        )
    rows.append(["target", "≥ 0.818", "", "≤ 0.180", "", "", ""])
    val = []
    for name, r in res["validation"].items():
        val.append(
            [
                name,
                r["roc_auc"],
                r["pr_auc"],
                r["brier"],
                r["lift_top_decile"],
                r["mean_predicted"],
                r["seconds"],
            ]
        )
    rates = ", ".join(f"{k}: {v:.3f}" for k, v in res["churn_rate"].items())
    return "\n".join(
        [
            f"**Online Retail** (two years, customers with ids), cutoff {res['cutoff']}, "
            f"{res['horizon']}-day churn, {res['customers']:,} customers; churn rate {rates}",
            "",
            _table(["model", "ROC-AUC", "PR-AUC", "Brier", "top-decile lift", "mean p", "s"], rows),
            "",
            "Validation at 2011-06-01 (same protocol, labels to 2011-08-30):",
            "",
            _table(["model", "ROC-AUC", "PR-AUC", "Brier", "top-decile lift", "mean p", "s"], val),
            "",
        ]
    )


# --------------------------------------------------------------------------- scale
def simulate(
    n: int, seed: int = 0, r: float = 0.25, alpha: float = 4.0, a: float = 0.8, b: float = 2.5
) -> dict[str, np.ndarray]:
    """Vectorised BG/NBD simulation: x repeat purchases, recency, T (weeks)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(4.0, 78.0, n)
    k = rng.geometric(p)  # the repeat purchase after which the customer drops out
    nT = rng.poisson(lam * T)  # purchases a live customer would make in (0, T]
    x = np.minimum(k, nT).astype(float)
    pos = x > 0
    tx = np.zeros(n)
    # the x-th of nT uniform arrival times is Beta(x, nT - x + 1)
    tx[pos] = T[pos] * rng.beta(x[pos], nT[pos] - x[pos] + 1)
    return {"x": x, "tx": tx, "T": T}


def job(spec: dict[str, Any]) -> dict[str, Any]:
    # imports happen before the clock starts, for both implementations
    if spec["impl"] == "ecomml":
        from ecomml.churn import BetaGeoModel
    else:
        from lifetimes import BetaGeoFitter
    d = np.load(spec["path"])
    x, tx, T = d["x"], d["tx"], d["T"]
    t0 = time.perf_counter()
    c0 = time.process_time()
    if spec["impl"] == "ecomml":
        m = BetaGeoModel().fit(x, tx, T)
        params, ll, ok = m.params_, m.log_likelihood_, True
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = BetaGeoFitter().fit(x, tx, T)
        params = {k: float(v) for k, v in f.params_.items()}
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    if spec["impl"] != "ecomml":
        ok = bool(np.all(np.isfinite(list(params.values()))))
        ll = _loglik(params, x, tx, T) if ok else float("nan")
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "params": params,
        "ll": ll,
        "converged": ok,
        "peak_rss": _peak_rss(),
    }


def run_child(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--job", json.dumps(spec)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    sampled = [0]
    stop = threading.Event()

    def sample() -> None:
        try:
            import psutil

            p = psutil.Process(proc.pid)
            while not stop.is_set():
                try:
                    sampled[0] = max(sampled[0], p.memory_info().rss)
                except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                    return
                stop.wait(0.2)
        except ImportError:
            return

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        stop.set()
        return {"failed": f"timeout after {timeout:.0f} s", "peak_rss": sampled[0]}
    stop.set()
    th.join()
    for line in out.splitlines():
        if line.startswith(RESULT_TAG):
            res = json.loads(line[len(RESULT_TAG) :])
            res["process_seconds"] = time.perf_counter() - t0
            # ru_maxrss of a child can carry the parent's peak over (fork + exec on Linux):
            # the RSS sampled from outside every 0.2 s is the honest number when available
            res["child_ru_maxrss"] = res["peak_rss"]
            if sampled[0]:
                res["peak_rss"] = sampled[0]
            return res
    return {"failed": f"exit code {proc.returncode}", "peak_rss": sampled[0]}


def part_scale(sizes: list[int], timeout: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    DATA.mkdir(exist_ok=True)
    for n in sizes:
        path = DATA / f"churn_bgnbd_{n}.npz"
        if not path.exists():
            np.savez(path, **simulate(n, seed=n % 9973))
        row = {}
        for impl in ("ecomml", "lifetimes"):
            print(f"scale {n:,}: {impl}", file=sys.stderr, flush=True)
            row[impl] = run_child({"impl": impl, "path": str(path)}, timeout)
        out[str(n)] = row
    return out


def render_scale(res: dict[str, Any]) -> str:
    rows = []
    for n, row in res.items():
        e, lt = row["ecomml"], row["lifetimes"]
        for impl, r in row.items():
            if "failed" in r:
                rows.append(
                    [
                        f"{int(n):,}",
                        impl,
                        r["failed"],
                        "-",
                        f"{r['peak_rss'] / 2**30:.2f}",
                        "-",
                        "-",
                    ]
                )
                continue
            p = r["params"]
            speed = (
                ""
                if impl == "ecomml" or "failed" in e
                else f"ecomml {r['seconds'] / e['seconds']:.1f}x faster"
            )
            rows.append(
                [
                    f"{int(n):,}",
                    impl,
                    f"{r['seconds']:.1f} ({r['cpu_seconds']:.1f})",
                    "yes" if r["converged"] else "NO",
                    f"{r['peak_rss'] / 2**30:.2f}",
                    f"r={p['r']:.3f} α={p['alpha']:.3f} a={p['a']:.3f} b={p['b']:.3f} LL={r['ll']:.1f}",
                    speed,
                ]
            )
        if "failed" not in e and "failed" in lt:
            rows[-1][-1] = "lifetimes did not finish"
    return "\n".join(
        [
            "**Scale**: BG/NBD fit on simulated customers (true r=0.25, α=4, a=0.8, b=2.5), "
            "one fresh process per fit",
            "",
            _table(
                [
                    "customers",
                    "impl",
                    "fit s (CPU s)",
                    "converged",
                    "peak RSS GiB",
                    "estimates",
                    "speed",
                ],
                rows,
            ),
            "",
        ]
    )


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", default="cdnow,retail,scale")
    ap.add_argument("--sizes", default="1M,5M")
    ap.add_argument("--timeout", type=float, default=1800.0, help="Seconds per scale fit.")
    ap.add_argument("--markdown", type=Path, help="Write the tables as Markdown here.")
    ap.add_argument("--json", type=Path, help="Write raw results as JSON here.")
    ap.add_argument("--job", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.job:
        print(RESULT_TAG + json.dumps(job(json.loads(args.job)), default=float), flush=True)
        return 0
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    sizes = [
        int(float(s.upper().rstrip("M")) * 1_000_000) if s.upper().endswith("M") else int(s)
        for s in args.sizes.split(",")
    ]
    results: dict[str, Any] = {}
    text: list[str] = []
    if "cdnow" in parts:
        results["cdnow"] = part_cdnow()
        text.append(render_cdnow(results["cdnow"]))
        print(text[-1], flush=True)
    if "retail" in parts:
        results["retail"] = part_retail()
        text.append(render_retail(results["retail"]))
        print(text[-1], flush=True)
    if "scale" in parts:
        results["scale"] = part_scale(sizes, args.timeout)
        text.append(render_scale(results["scale"]))
        print(text[-1], flush=True)
    if args.markdown:
        args.markdown.write_text("\n".join(text))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
