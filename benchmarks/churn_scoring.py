"""Churn scoring speed: ``ecomml predict churn`` against a bare DuckDB + LightGBM scorer.

Issue 18's scoring targets: end to end, ecomml stays within 1.5x of a bare DuckDB +
LightGBM reference at 300k customers, scores 1M customers in under 5 minutes and
6 GiB, and its time grows roughly linearly with customers.

For each size (customers; about 9 transaction lines each) this script

1. writes a synthetic shop once with the project's generator
   (:func:`ecomml.data.synth.write_shop` with ``n_customers`` fixed and the purchase rate
   calibrated to the lines per customer, no events log) and joins its parts into one
   ``shop_<size>_s<seed>.parquet`` under ``--workdir`` (kept and reused);
2. trains, once, on a small shop of the same generator (``--train-customers``):

   * ecomml: ``ecomml train churn --horizon 90 --no-track`` (BG/NBD, Gamma-Gamma and the
     LightGBM classifier of 300 trees and 15 leaves on stacked cutoffs);
   * the reference: DuckDB aggregates as of 90 days before the cutoff, the label "no
     purchase in the next 90 days", and a LightGBM binary classifier of the same size
     (300 trees, 15 leaves, learning rate 0.03);

3. scores every customer with a purchase before the cutoff (the end of the two years),
   each scorer in a fresh process, timed from launch to exit and with the peak RSS of
   its process tree (psutil, every 0.1 s, and the child's own ``ru_maxrss``):

   * ``ecomml predict churn --model DIR --transactions shop.parquet --cutoff DATE
     --output out.parquet`` (``predict`` logs nothing to MLflow; it has no ``--no-track``);
   * the reference (``--job score-ref``): DuckDB reads the same Parquet and computes per
     customer recency days, frequency (distinct order days), monetary, tenure, average
     order value, orders and spend in the last 90 days; LightGBM predicts the probability
     and ``pred_contrib=True`` contributions; the top three positive contributions per
     customer become a short text; the result is written to Parquet;

4. checks that both outputs have one row per customer and the same customers, and prints
   the Markdown table (``--markdown FILE`` writes it too) and the command to reproduce it.

``--profile SIZE`` also runs the library path ``ChurnTask().score(model, TaskData(shop,
cutoff))`` under cProfile in a fresh process and prints the functions with the most time.

Usage::

    nice .venv/bin/python benchmarks/churn_scoring.py --sizes 100k,300k --markdown /tmp/cs.md
    nice .venv/bin/python benchmarks/churn_scoring.py --sizes 1M --workdir /tmp/churn-scoring
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _processes import kill_tree, tree_rss

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULT_TAG = "@@BENCH_RESULT "
GIB = 1024**3
CUTOFF = "2025-01-01"  # write_shop's default window: 2023-01-01 + 730 days
HORIZON = 90
REF_FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "avg_order_value",
    "orders_90d",
    "spend_90d",
)
REF_REASONS = {  # what a high positive contribution of each feature means
    "recency_days": "long time since the last order",
    "frequency": "few order days",
    "monetary": "low total spend",
    "tenure_days": "customer tenure",
    "avg_order_value": "order value",
    "orders_90d": "few orders in the last 90 days",
    "spend_90d": "low spend in the last 90 days",
}
REF_PARAMS = {
    "objective": "binary",
    "num_leaves": 15,
    "learning_rate": 0.03,
    "min_child_samples": 50,
    "verbosity": -1,
    "seed": 0,
}
REF_TREES = 300


# --------------------------------------------------------------------------- helpers
def parse_size(text: str) -> int:
    """``"1M"`` -> 1_000_000, ``"300k"`` -> 300_000."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r}; use e.g. 1M, 300k or 25000")
    return int(float(m.group(1)) * {"": 1, "k": 10**3, "m": 10**6}[m.group(2).lower()])


def size_label(n: int) -> str:
    for unit, mult in (("M", 10**6), ("k", 10**3)):
        if n >= mult and n % mult == 0:
            return f"{n // mult}{unit}"
    return str(n)


def _say(msg: str) -> None:
    print(f"  {msg}", file=sys.stderr, flush=True)


def _ecomml_cli() -> str:
    exe = Path(sys.executable).with_name("ecomml")
    return str(exe) if exe.exists() else "ecomml"


def run_measured(cmd: list[str], timeout: float) -> dict[str, Any]:
    """Run ``cmd``; wall time from launch to exit, peak RSS of its process tree.

    The tree is sampled with psutil every 0.1 s; the child's own ``ru_maxrss`` (from
    ``wait4``) catches a peak between samples. The larger of the two is reported.
    """
    import psutil

    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    out: list[str] = []
    err: list[str] = []
    readers = [
        threading.Thread(target=lambda: out.extend(proc.stdout or []), daemon=True),
        threading.Thread(target=lambda: err.extend(proc.stderr or []), daemon=True),
    ]
    for t in readers:
        t.start()
    peak = 0
    status, usage, timed_out = 0, None, False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, tree_rss(ps))
        if time.perf_counter() - t0 > timeout:
            timed_out = True
            kill_tree(proc.pid)
            _, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join(timeout=10)
    ru_maxrss = int(usage.ru_maxrss) * 1024 if usage is not None else 0
    res: dict[str, Any] = {
        "seconds": wall,
        "cpu_seconds": (usage.ru_utime + usage.ru_stime) if usage is not None else None,
        "peak_rss_bytes": max(peak, ru_maxrss),
        "sampled_rss_bytes": peak,
        "ru_maxrss_bytes": ru_maxrss,
        "load_start": load,
        "load_end": os.getloadavg()[0],
        "returncode": proc.returncode,
        "stdout": "".join(out)[-2000:],
    }
    if timed_out:
        res["failed"] = f"timeout after {timeout:.0f} s"
    elif proc.returncode != 0:
        res["failed"] = f"exit code {proc.returncode}: " + "".join(err)[-800:].strip()
    return res


def _job_cmd(job: str, spec: dict[str, Any]) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--job", job, json.dumps(spec)]


def _job_result(res: dict[str, Any]) -> dict[str, Any]:
    for line in res.get("stdout", "").splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG) :])
    raise RuntimeError(res.get("failed") or "the job printed no result")


# --------------------------------------------------------------------------- data
def job_generate(spec: dict[str, Any]) -> dict[str, Any]:
    """Write the shop with ``write_shop`` and join its transaction parts into one file."""
    import shutil

    import pyarrow.parquet as pq

    from ecomml.data.synth import write_shop

    t0 = time.perf_counter()
    target = Path(spec["path"])
    parts = target.with_name(target.stem + "_parts")
    if parts.exists():
        shutil.rmtree(parts)
    summary = write_shop(
        parts,
        n_transactions=spec["customers"] * spec["lines_per_customer"],
        n_customers=spec["customers"],
        seed=spec["seed"],
        include_events=False,
    )
    files = sorted((parts / "transactions").glob("part-*.parquet"))
    tmp = target.with_suffix(".partial")
    writer = None
    for f in files:
        table = pq.read_table(f)
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    tmp.rename(target)
    shutil.rmtree(parts)
    meta = {
        "customers": summary["customers"],
        "lines": summary["rows"],
        "skus": summary["skus"],
        "generate_seconds": time.perf_counter() - t0,
        "bytes": target.stat().st_size,
    }
    target.with_suffix(".json").write_text(json.dumps(meta, indent=2))
    return meta


def ensure_shop(workdir: Path, customers: int, seed: int, lines: int, timeout: float) -> Path:
    path = workdir / f"shop_{size_label(customers)}_s{seed}_l{lines}.parquet"
    if path.exists() and path.with_suffix(".json").exists():
        return path
    _say(f"generating {path.name}")
    res = run_measured(
        _job_cmd(
            "generate",
            {"path": str(path), "customers": customers, "seed": seed, "lines_per_customer": lines},
        ),
        timeout,
    )
    meta = _job_result(res)
    _say(f"{meta['lines']:,} lines in {meta['generate_seconds']:.1f} s")
    return path


def shop_meta(path: Path) -> dict[str, Any]:
    return json.loads(path.with_suffix(".json").read_text())


# --------------------------------------------------------------------------- reference
def _ref_aggregates(con: Any, path: str, cutoff: str) -> Any:
    """One row per customer with a purchase before ``cutoff``: the reference features."""
    sql = f"""
        WITH t AS (
            SELECT customer_id, order_id, ts, quantity * price AS amount, quantity > 0 AS buy
            FROM read_parquet('{path}')
            WHERE ts < TIMESTAMP '{cutoff}' AND customer_id IS NOT NULL
        )
        SELECT
            customer_id,
            date_diff('day', max(ts) FILTER (buy), TIMESTAMP '{cutoff}') AS recency_days,
            count(DISTINCT CAST(ts AS DATE)) FILTER (buy) AS frequency,
            sum(amount) AS monetary,
            date_diff('day', min(ts), TIMESTAMP '{cutoff}') AS tenure_days,
            sum(amount) FILTER (buy) / count(DISTINCT order_id) FILTER (buy) AS avg_order_value,
            count(DISTINCT order_id) FILTER (
                buy AND ts >= TIMESTAMP '{cutoff}' - INTERVAL {HORIZON} DAY) AS orders_90d,
            coalesce(sum(amount) FILTER (
                ts >= TIMESTAMP '{cutoff}' - INTERVAL {HORIZON} DAY), 0) AS spend_90d
        FROM t
        GROUP BY customer_id
        HAVING count(*) FILTER (buy) > 0
    """
    return con.sql(sql).df()


def job_train_ref(spec: dict[str, Any]) -> dict[str, Any]:
    """Aggregates 90 days before the cutoff, label = no purchase in the next 90 days."""
    import duckdb
    import lightgbm as lgb
    import pandas as pd

    t0 = time.perf_counter()
    cut = pd.Timestamp(spec["cutoff"])
    early = str((cut - pd.Timedelta(days=HORIZON)).date())
    con = duckdb.connect()
    X = _ref_aggregates(con, spec["shop"], early)
    buyers = con.sql(
        f"SELECT DISTINCT customer_id FROM read_parquet('{spec['shop']}') "
        f"WHERE quantity > 0 AND ts >= TIMESTAMP '{early}' AND ts < TIMESTAMP '{spec['cutoff']}'"
    ).df()
    y = (~X["customer_id"].isin(buyers["customer_id"])).astype(int).to_numpy()
    booster = lgb.train(
        REF_PARAMS,
        lgb.Dataset(X[list(REF_FEATURES)].astype("float64"), y),
        num_boost_round=REF_TREES,
    )
    booster.save_model(spec["model"])
    return {"seconds": time.perf_counter() - t0, "rows": len(X), "churn_rate": float(y.mean())}


def job_score_ref(spec: dict[str, Any]) -> dict[str, Any]:
    """The bare scorer: DuckDB aggregates, LightGBM probability and contributions, top-3
    positive contributions as text, Parquet out."""
    import duckdb
    import lightgbm as lgb
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    con = duckdb.connect()
    feats = _ref_aggregates(con, spec["shop"], spec["cutoff"])
    t_agg = time.perf_counter()
    booster = lgb.Booster(model_file=spec["model"])
    X = feats[list(REF_FEATURES)].to_numpy("float64")
    p = booster.predict(X)
    contrib = booster.predict(X, pred_contrib=True)[:, : len(REF_FEATURES)]
    t_model = time.perf_counter()
    top = np.argsort(-contrib, axis=1)[:, :3]
    top_val = np.take_along_axis(contrib, top, axis=1)
    texts = np.array([REF_REASONS[f] for f in REF_FEATURES] + [""], dtype=object)
    labels = texts[np.where(top_val > 0, top, len(REF_FEATURES))]
    reasons = ["; ".join(t for t in row if t) for row in labels]
    table = pa.table(
        {
            "customer_id": pa.array(feats["customer_id"].astype(str)),
            "p_churn": pa.array(p),
            "reasons": pa.array(reasons, pa.string()),
        }
    )
    pq.write_table(table, spec["output"])
    t_end = time.perf_counter()
    return {
        "rows": table.num_rows,
        "aggregate_seconds": t_agg - t0,
        "model_seconds": t_model - t_agg,
        "reasons_write_seconds": t_end - t_model,
    }


# --------------------------------------------------------------------------- profile
def job_profile(spec: dict[str, Any]) -> dict[str, Any]:
    """cProfile of the library path the CLI runs: load the shop, score with the task."""
    import cProfile
    import io
    import pstats

    from ecomml.churn.task import ChurnTask
    from ecomml.data.shop import load_shop
    from ecomml.modelstore import load_model
    from ecomml.task import TaskData

    model = load_model(spec["model"], task="churn").model
    shop = load_shop(spec["shop"], cutoff=spec["cutoff"])
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    ChurnTask().score(model, TaskData.of(shop, spec["cutoff"]))
    prof.disable()
    total = time.perf_counter() - t0
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    return {"seconds": total, "report": buf.getvalue()}


# --------------------------------------------------------------------------- main steps
def train_models(args: argparse.Namespace) -> tuple[Path, Path]:
    small = ensure_shop(
        args.workdir, args.train_customers, args.seed + 1, args.lines_per_customer, args.timeout
    )
    tag = f"{size_label(args.train_customers)}_s{args.seed + 1}_l{args.lines_per_customer}"
    eco = args.workdir / f"model_ecomml_{tag}"
    if not (eco / "ecomml_model.json").exists():
        _say(f"training the ecomml churn model on {small.name}")
        res = run_measured(
            [
                _ecomml_cli(),
                "train",
                "churn",
                "--transactions",
                str(small),
                "--cutoff",
                CUTOFF,
                "--horizon",
                str(HORIZON),
                "--model-dir",
                str(eco),
                "--out",
                str(args.workdir / "train_plots"),
                "--no-track",
            ],
            args.timeout,
        )
        if "failed" in res:
            raise SystemExit(f"ecomml train churn failed: {res['failed']}")
        _say(f"trained in {res['seconds']:.0f} s")
    ref = args.workdir / f"model_reference_{tag}.txt"
    if not ref.exists():
        _say("training the reference LightGBM")
        spec = {"shop": str(small), "cutoff": CUTOFF, "model": str(ref)}
        out = _job_result(run_measured(_job_cmd("train-ref", spec), args.timeout))
        _say(f"trained in {out['seconds']:.1f} s on {out['rows']:,} customers")
    return eco, ref


def score_size(
    args: argparse.Namespace, n: int, eco_model: Path, ref_model: Path
) -> dict[str, Any]:
    import pyarrow.parquet as pq

    shop = ensure_shop(args.workdir, n, args.seed, args.lines_per_customer, args.timeout)
    meta = shop_meta(shop)
    outdir = args.workdir / "outputs"
    outdir.mkdir(exist_ok=True)
    eco_out = outdir / f"ecomml_{size_label(n)}.parquet"
    ref_out = outdir / f"reference_{size_label(n)}.parquet"
    eco_cmd = [
        _ecomml_cli(),
        "predict",
        "churn",
        "--model",
        str(eco_model),
        "--transactions",
        str(shop),
        "--cutoff",
        CUTOFF,
        "--output",
        str(eco_out),
    ]
    ref_cmd = _job_cmd(
        "score-ref",
        {"shop": str(shop), "cutoff": CUTOFF, "model": str(ref_model), "output": str(ref_out)},
    )
    row: dict[str, Any] = {"customers": meta["customers"], "lines": meta["lines"], "runs": []}
    for rep in range(args.repeat):
        for name, cmd, out in (("ecomml", eco_cmd, eco_out), ("reference", ref_cmd, ref_out)):
            out.unlink(missing_ok=True)  # predict refuses to overwrite
            _say(f"{size_label(n)}: {name} (run {rep + 1}/{args.repeat})")
            res = run_measured(cmd, args.timeout)
            if name == "reference" and "failed" not in res:
                res["phases"] = _job_result(res)
            res.pop("stdout", None)
            _say(
                res.get("failed")
                or f"{res['seconds']:.1f} s, peak {res['peak_rss_bytes'] / GIB:.2f} GiB"
            )
            row["runs"].append({"impl": name, **res})
    for name in ("ecomml", "reference"):
        ok = [r for r in row["runs"] if r["impl"] == name and "failed" not in r]
        if ok:
            best = min(ok, key=lambda r: r["seconds"])
            row[name] = {**best, "peak_rss_bytes": max(r["peak_rss_bytes"] for r in ok)}
        else:
            row[name] = {"failed": next(r["failed"] for r in row["runs"] if r["impl"] == name)}
    if "failed" not in row["ecomml"] and "failed" not in row["reference"]:
        a = pq.read_table(eco_out, columns=["customer_id"]).column(0).to_pylist()
        b = pq.read_table(ref_out, columns=["customer_id"]).column(0).to_pylist()
        row["check"] = {
            "ecomml_rows": len(a),
            "reference_rows": len(b),
            "unique": len(set(a)) == len(a) and len(set(b)) == len(b),
            "same_customers": set(a) == set(b),
        }
    return row


def render(rows: list[dict[str, Any]], command: str | None = None) -> str:
    head = [
        "customers",
        "lines",
        "ecomml s",
        "ecomml peak GiB",
        "reference s",
        "reference peak GiB",
        "ecomml / reference",
        "ecomml s per 100k customers",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for r in rows:
        e, f = r["ecomml"], r["reference"]

        def cell(d: dict[str, Any], key: str) -> str:
            if "failed" in d:
                return d["failed"].split(":")[0]
            return f"{d[key] / GIB:.2f}" if key == "peak_rss_bytes" else f"{d[key]:.1f}"

        ratio = "-" if "failed" in e or "failed" in f else f"{e['seconds'] / f['seconds']:.2f}x"
        per = "-" if "failed" in e else f"{e['seconds'] / r['customers'] * 1e5:.1f}"
        lines.append(
            "| "
            + " | ".join(
                [
                    f"{r['customers']:,}",
                    f"{r['lines']:,}",
                    cell(e, "seconds"),
                    cell(e, "peak_rss_bytes"),
                    cell(f, "seconds"),
                    cell(f, "peak_rss_bytes"),
                    ratio,
                    per,
                ]
            )
            + " |"
        )
    notes = []
    for r in rows:
        c = r.get("check")
        if c:
            notes.append(
                f"{r['customers']:,}: {c['ecomml_rows']:,} rows scored by ecomml, "
                f"{c['reference_rows']:,} by the reference, "
                + ("same customers" if c["same_customers"] else "DIFFERENT customers")
            )
        f = r["reference"]
        if "phases" in f:
            p = f["phases"]
            notes.append(
                f"reference at {r['customers']:,} inside the process: DuckDB aggregates "
                f"{p['aggregate_seconds']:.1f} s, LightGBM predict + contributions "
                f"{p['model_seconds']:.1f} s, reasons + Parquet {p['reasons_write_seconds']:.1f} s"
            )
        loads = [x["load_start"] for x in r["runs"]]
        notes.append(
            f"load average at the start of the {r['customers']:,} runs: "
            + ", ".join(f"{v:.1f}" for v in loads)
        )
    if len(rows) >= 2:
        ok = [r for r in rows if "failed" not in r["ecomml"]]
        for r1, r2 in zip(ok, ok[1:], strict=False):
            k = math.log(r2["ecomml"]["seconds"] / r1["ecomml"]["seconds"]) / math.log(
                r2["customers"] / r1["customers"]
            )
            notes.append(
                f"ecomml time exponent {r1['customers']:,} -> {r2['customers']:,} customers: "
                f"{k:.2f} (1 = linear)"
            )
    text = [*lines, "", *(f"- {n}" for n in notes), ""]
    if command:
        text += ["Reproduce:", "", "```bash", command, "```", ""]
    return "\n".join(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100k,300k", help="Customers, e.g. 100k,300k,1M.")
    ap.add_argument("--markdown", type=Path, help="Also write the table here.")
    ap.add_argument("--json", type=Path, help="Write the raw results here.")
    ap.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "ecomml-churn-scoring",
        help="Cache folder for the shops, models and outputs (kept between runs).",
    )
    ap.add_argument("--timeout", type=float, default=1800.0, help="Seconds per child process.")
    ap.add_argument("--repeat", type=int, default=1, help="Interleaved runs; fastest shown.")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lines-per-customer", type=int, default=9)
    ap.add_argument("--train-customers", type=parse_size, default=25_000)
    ap.add_argument(
        "--profile", type=parse_size, help="Also cProfile the library path at this size."
    )
    ap.add_argument("--job", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.job:
        jobs = {
            "generate": job_generate,
            "train-ref": job_train_ref,
            "score-ref": job_score_ref,
            "profile": job_profile,
        }
        result = jobs[args.job[0]](json.loads(args.job[1]))
        print(RESULT_TAG + json.dumps(result, default=str), flush=True)
        return 0
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    args.workdir.mkdir(parents=True, exist_ok=True)
    eco_model, ref_model = train_models(args)
    rows = []
    for n in sizes:
        rows.append(score_size(args, n, eco_model, ref_model))
        print(render(rows[-1:]), file=sys.stderr, flush=True)
    command = "nice .venv/bin/python benchmarks/churn_scoring.py " + shlex.join(
        a for a in (argv if argv is not None else sys.argv[1:])
    )
    text = render(rows, command.strip())
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    if args.json:
        meta = {"python": platform.python_version(), "cpus": os.cpu_count()}
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2, default=str))
    if args.profile:
        shop = ensure_shop(
            args.workdir, args.profile, args.seed, args.lines_per_customer, args.timeout
        )
        spec = {"shop": str(shop), "cutoff": CUTOFF, "model": str(eco_model)}
        prof = _job_result(run_measured(_job_cmd("profile", spec), args.timeout))
        print(
            f"\nProfile of ChurnTask().score at {size_label(args.profile)} customers "
            f"({prof['seconds']:.1f} s):\n"
        )
        print(prof["report"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
