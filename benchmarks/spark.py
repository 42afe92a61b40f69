"""Spark (local mode) against DuckDB on one machine: all feature views and churn scoring.

For each size (default 1M, 10M and 50M transaction lines) this script

1. generates a synthetic shop with :mod:`_spark_data` (vectorised, cached by size, seed
   and events ratio under ``<data-dir>``);
2. trains one small churn model on the smallest shop (DuckDB engine), saves it with the
   model store and reuses it for every size and engine (training is not measured);
3. runs each measured step in a **fresh child process**, samples the RSS of the child's
   whole process tree (the Spark JVM and its Python workers included) every 0.2 s with
   psutil, and kills the tree after ``--timeout`` seconds:

   * ``views``: every built-in feature view as of the cutoff (the day after the last
     order), materialized to Parquet by :func:`ecomml.features.materialize.materialize_views`
     through ``FeatureStore(DuckDBEngine(memory_limit=..., threads=2))`` or
     ``FeatureStore(SparkEngine(spark))`` on ``local[2]``;
   * ``score``: every customer scored by the churn model, written to Parquet: on DuckDB,
     ``ChurnModel.score`` with the store over the Parquet and the purchase days aggregated
     by DuckDB; on Spark, the distributed scoring of :mod:`ecomml.spark.scoring` on the
     transactions read with ``spark.read.parquet``;

4. compares the two engines' outputs view by view and the scores customer by customer
   (row counts, keys, every column: numbers within ``--rtol``/``--atol``, everything else
   exactly), and
5. prints the side-by-side table (``--markdown PATH`` writes it as Markdown). Results are
   kept in ``<results-dir>/runs/`` (one file per size, step and engine), so sizes and
   engines can be run apart, even at the same time.

Run ``python benchmarks/spark.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from _processes import kill_tree, tree_rss

HERE = Path(__file__).resolve().parent
RESULT_TAG = "@@BENCH_RESULT "
GIB = 1024**3
ENGINES = ("duckdb", "spark")
STEPS = ("views", "score")


# --------------------------------------------------------------------------- helpers
def parse_size(text: str) -> int:
    """``"1M"`` -> 1_000_000, ``"500k"`` -> 500_000."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r}; use e.g. 1M, 500k or 2500")
    return int(float(m.group(1)) * {"": 1, "k": 10**3, "m": 10**6}[m.group(2).lower()])


def size_label(n: int) -> str:
    for unit, mult in (("M", 10**6), ("k", 10**3)):
        if n >= mult and n % mult == 0:
            return f"{n // mult}{unit}"
    return str(n)


def _emit(result: dict[str, Any]) -> None:
    print(RESULT_TAG + json.dumps(result, default=str), flush=True)


def _say(msg: str) -> None:
    print(f"  {msg}", file=sys.stderr, flush=True)


def _reader(path: Path) -> str:
    """DuckDB ``read_parquet`` of a Parquet file or a folder of parts (Spark writes folders);
    ``cutoff=...`` in a path is a file name here, not a Hive partition."""
    pattern = f"{path}/**/*.parquet" if path.is_dir() else str(path)
    return f"read_parquet('{pattern}', hive_partitioning = false)"


# --------------------------------------------------------------------------- child jobs
def job_generate(spec: dict[str, Any]) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from _spark_data import ensure_shop

    t0 = time.perf_counter()
    shop, meta = ensure_shop(
        spec["data_dir"],
        spec["n"],
        seed=spec["seed"],
        events_ratio=spec["events_ratio"],
        label=spec["label"],
        progress=_say,
    )
    return {"shop": str(shop), "meta": meta, "seconds": time.perf_counter() - t0}


def _duckdb_store(shop: Path, spec: dict[str, Any]) -> Any:
    from ecomml.features.engines import DuckDBEngine
    from ecomml.features.store import FeatureStore

    Path(spec["temp_dir"]).mkdir(parents=True, exist_ok=True)
    engine = DuckDBEngine(
        memory_limit=spec["memory_limit"], threads=spec["threads"], temp_directory=spec["temp_dir"]
    )
    store = FeatureStore(engine)
    _register(store, shop)
    return store


def _register(store: Any, shop: Path) -> None:
    store.register("transactions", shop / "transactions")
    store.register("catalog", shop / "catalog.parquet")
    store.register("calendar", shop / "calendar.parquet")
    if (shop / "events").exists():
        store.register("events", shop / "events")


def _purchase_lines(store: Any, cutoff: str) -> Any:
    """Purchase lines aggregated to one row per customer and day (DuckDB), in the shape of
    canonical transactions: ``ChurnModel`` reads only ``purchase_days`` of them, which this
    leaves unchanged (sum of quantity * price of the day's purchase lines)."""
    df = store.engine.query(
        "SELECT customer_id, CAST(date_trunc('day', ts) AS TIMESTAMP) AS ts, "
        "1.0 AS quantity, sum(quantity * price) AS price "
        "FROM _raw_transactions WHERE customer_id IS NOT NULL AND quantity > 0 "
        f"AND ts < TIMESTAMP '{cutoff}' GROUP BY ALL"
    )
    df["order_id"] = ""
    df["sku"] = ""
    return df


def job_train(spec: dict[str, Any]) -> dict[str, Any]:
    """Fit the churn model once on the small shop and save it with the model store."""
    import pandas as pd

    from ecomml.churn import ChurnModel
    from ecomml.modelstore import feature_hashes, save_model

    t0 = time.perf_counter()
    shop = Path(spec["shop"])
    store = _duckdb_store(shop, spec)
    tx = store.engine.query(
        "SELECT order_id, customer_id, sku, ts, quantity, price FROM _raw_transactions"
    )
    model = ChurnModel(
        max_cutoffs=spec["max_cutoffs"], classifier={"n_estimators": 150, "n_jobs": spec["threads"]}
    )
    model.fit(tx, store, cutoff=pd.Timestamp(spec["cutoff"]), progress=_say)
    save_model(
        model,
        spec["model_dir"],
        task="churn",
        cutoff=spec["cutoff"],
        features=feature_hashes([store.view(v) for v in model.views_]),
        training_window=(tx["ts"].min(), tx["ts"].max()),
    )
    return {"seconds": time.perf_counter() - t0, "model": model.describe()}


class _Timer:
    """Per-view wall times from ``materialize_views``' progress hook."""

    def __init__(self, partial: str | None = None) -> None:
        self.last = time.perf_counter()
        self.per_view: dict[str, float] = {}
        self.partial = Path(partial) if partial else None

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.per_view[name] = now - self.last
        self.last = now
        _say(f"{name}: {self.per_view[name]:.1f} s")
        if self.partial is not None:  # what a killed run had finished
            self.partial.write_text(json.dumps(self.per_view))


def _materialize(store: Any, spec: dict[str, Any], t0: float) -> dict[str, Any]:
    import pandas as pd

    from ecomml.features.materialize import materialize_views

    names = list(store.views)
    timer = _Timer(spec.get("partial_file"))
    manifest = materialize_views(
        store,
        names,
        cutoff=pd.Timestamp(spec["cutoff"]),
        out_dir=Path(spec["out_dir"]),
        progress=timer,
    )
    seconds = time.perf_counter() - t0
    views = {}
    for name in names:
        entry = next(iter(manifest["views"][name].values()))
        views[name] = {
            "rows": entry["rows"],
            "keys": entry["keys"],
            "file": entry["file"],
            "seconds": timer.per_view.get(name),
        }
    return {"seconds": seconds, "views": views}


def _spark(spec: dict[str, Any]) -> Any:
    from ecomml.spark.session import get_spark_session

    Path(spec["temp_dir"]).mkdir(parents=True, exist_ok=True)
    return get_spark_session(
        spec["master"],
        app_name="ecomml-benchmark",
        driver_memory=spec["driver_memory"],
        shuffle_partitions=spec["shuffle_partitions"],
        config={"spark.local.dir": spec["temp_dir"], "spark.ui.enabled": "false"},
    )


def job_views(spec: dict[str, Any]) -> dict[str, Any]:
    shop = Path(spec["shop"])
    t0 = time.perf_counter()
    if spec["engine"] == "duckdb":
        store = _duckdb_store(shop, spec)
        out = _materialize(store, spec, t0)
        store.engine.close()
        return out
    from ecomml.features.spark import SparkEngine
    from ecomml.features.store import FeatureStore

    spark = _spark(spec)
    start = time.perf_counter() - t0
    store = FeatureStore(SparkEngine(spark))
    _register(store, shop)
    out = _materialize(store, spec, t0)
    out["session_seconds"] = start
    spark.stop()
    return out


def job_score(spec: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    shop, out = Path(spec["shop"]), Path(spec["out_dir"])
    t0 = time.perf_counter()
    if spec["engine"] == "duckdb":
        from ecomml.modelstore import load_model

        model = load_model(spec["model_dir"], task="churn").model
        store = _duckdb_store(shop, spec)
        lines = _purchase_lines(store, spec["cutoff"])
        t_lines = time.perf_counter() - t0
        scored = model.score(lines, store, cutoff=pd.Timestamp(spec["cutoff"]))
        out.mkdir(parents=True, exist_ok=True)
        scored.to_parquet(out / "scores.parquet", index=False)
        store.engine.close()
        return {
            "seconds": time.perf_counter() - t0,
            "rows": len(scored),
            "purchase_days_seconds": t_lines,
        }
    from ecomml.spark.scoring import score_churn

    spark = _spark(spec)
    start = time.perf_counter() - t0
    tx = spark.read.parquet(str(shop / "transactions"))
    scores = score_churn(
        tx,
        spec["model_dir"],
        cutoff=pd.Timestamp(spec["cutoff"]),
        catalog=spark.read.parquet(str(shop / "catalog.parquet")),
        calendar=spark.read.parquet(str(shop / "calendar.parquet")),
        num_partitions=spec["shuffle_partitions"],
        extra_columns=True,
    )
    scores.write.mode("overwrite").parquet(str(out / "scores"))
    seconds = time.perf_counter() - t0
    rows = spark.read.parquet(str(out / "scores")).count()
    spark.stop()
    return {"seconds": seconds, "rows": rows, "session_seconds": start}


def _compare_sql(
    con: Any, left: str, right: str, keys: list[str], rtol: float, atol: float
) -> dict[str, Any]:
    """Row counts, unmatched keys and per-column mismatches of two Parquet relations."""
    cols = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {left}").fetchall()}
    rcols = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {right}").fetchall()}
    n_left = con.execute(f"SELECT count(*) FROM {left}").fetchone()[0]
    n_right = con.execute(f"SELECT count(*) FROM {right}").fetchone()[0]
    problems: list[str] = []
    if set(cols) != set(rcols):
        problems.append(
            f"columns differ: only DuckDB {sorted(set(cols) - set(rcols))}, "
            f"only Spark {sorted(set(rcols) - set(cols))}"
        )
    common = [c for c in cols if c in rcols and c not in keys]
    on = " AND ".join(f'a."{k}" IS NOT DISTINCT FROM b."{k}"' for k in keys)
    numeric = re.compile(
        r"^(DOUBLE|FLOAT|REAL|DECIMAL.*|BIGINT|INTEGER|HUGEINT|SMALLINT|"
        r"TINYINT|UBIGINT|UINTEGER)$"
    )
    checks = []
    for c in common:
        a, b = f'a."{c}"', f'b."{c}"'
        if numeric.match(cols[c]) and numeric.match(rcols[c]):
            cond = (
                f"NOT (({a} IS NULL AND {b} IS NULL) OR (isnan({a}::DOUBLE) AND "
                f"isnan({b}::DOUBLE)) OR abs({a}::DOUBLE - {b}::DOUBLE) <= {atol} + "
                f"{rtol} * abs({b}::DOUBLE))"
            )
            rel = (
                f"max(CASE WHEN {a} IS NOT NULL AND {b} IS NOT NULL THEN abs({a}::DOUBLE - "
                f"{b}::DOUBLE) / greatest(abs({b}::DOUBLE), 1e-300) END)"
            )
        else:
            cond = f"{a}::VARCHAR IS DISTINCT FROM {b}::VARCHAR"
            rel = "NULL"
        checks.append((c, f"count(*) FILTER (WHERE {cond})", rel))
    unmatched = con.execute(
        f"SELECT count(*) FILTER (WHERE a_in IS NULL), count(*) FILTER (WHERE b_in IS NULL) "
        f"FROM (SELECT *, 1 AS a_in FROM {left}) a FULL OUTER JOIN "
        f"(SELECT *, 1 AS b_in FROM {right}) b ON {on}"
    ).fetchone()
    mism: dict[str, int] = {}
    max_rel = 0.0
    if checks:
        sel = ", ".join(f"{cnt}, {rel}" for _, cnt, rel in checks)
        row = con.execute(f"SELECT {sel} FROM {left} a JOIN {right} b ON {on}").fetchone()
        for i, (c, _, _) in enumerate(checks):
            if row[2 * i]:
                mism[c] = int(row[2 * i])
            if row[2 * i + 1] is not None and row[2 * i + 1] == row[2 * i + 1]:
                max_rel = max(max_rel, float(row[2 * i + 1]))
    if n_left != n_right:
        problems.append(f"rows: DuckDB {n_left:,}, Spark {n_right:,}")
    if unmatched[0] or unmatched[1]:
        problems.append(f"keys only in Spark: {unmatched[0]:,}, only in DuckDB: {unmatched[1]:,}")
    problems += [f"{c}: {n:,} rows differ" for c, n in mism.items()]
    return {
        "rows": n_left,
        "rows_spark": n_right,
        "identical": not problems,
        "problems": problems,
        "max_rel_diff": max_rel,
    }


def job_compare(spec: dict[str, Any]) -> dict[str, Any]:
    """Compare the DuckDB and Spark outputs of one step."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{spec['memory_limit']}'")
    con.execute(f"SET threads = {spec['threads']}")
    Path(spec["temp_dir"]).mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory = '{spec['temp_dir']}'")
    d, s = Path(spec["duckdb_out"]), Path(spec["spark_out"])
    report: dict[str, Any] = {}
    if spec["step"] == "views":
        for name, info in spec["views"].items():
            keys = list(info["keys"]) + ["cutoff"]
            left = _reader(d / info["file"])
            right = _reader(s / spec["spark_files"][name])
            cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {left}").fetchall()}
            report[name] = _compare_sql(
                con, left, right, [k for k in keys if k in cols], spec["rtol"], spec["atol"]
            )
            _say(f"{name}: {'identical' if report[name]['identical'] else report[name]}")
    else:
        left = _reader(d / "scores.parquet")
        right = _reader(s / "scores")
        report["churn scores"] = _compare_sql(
            con, left, right, ["customer_id"], spec["rtol"], spec["atol"]
        )
        _say(f"scores: {report['churn scores']}")
    return {"report": report, "identical": all(r["identical"] for r in report.values())}


JOBS = {
    "generate": job_generate,
    "train": job_train,
    "views": job_views,
    "score": job_score,
    "compare": job_compare,
}


# --------------------------------------------------------------------------- measuring
def run_child(spec: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    """Run ``spec`` in a fresh interpreter; add wall time and the process tree's peak RSS."""
    import psutil

    cmd = [sys.executable, str(Path(__file__).resolve()), "--job", json.dumps(spec)]
    t0 = time.perf_counter()
    load = os.getloadavg()[0]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    errors: list[str] = []

    def relay() -> None:  # pass the child's log through, keep its last error line
        assert proc.stderr is not None
        for line in proc.stderr:
            print(line, end="", file=sys.stderr)
            if re.match(r"^[\w.]*(Error|Exception)\b", line):
                errors[:] = [line.strip()[:300]]

    relay_thread = threading.Thread(target=relay, daemon=True)
    relay_thread.start()
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], tree_rss(ps))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.extend(proc.stdout or []), daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_tree(proc.pid)
        proc.wait()
    stop.set()
    sampler.join()
    reader.join(timeout=5)
    relay_thread.join(timeout=5)
    out = "".join(chunks)
    wall = time.perf_counter() - t0
    result = None
    tail: list[str] = []
    for line in (out or "").splitlines():
        if line.startswith(RESULT_TAG):
            result = json.loads(line[len(RESULT_TAG) :])
        elif line.strip():
            tail.append(line)
            print(line, file=sys.stderr)
    base = {
        "process_seconds": wall,
        "peak_rss_bytes": peak[0],
        "load_start": load,
        "load_end": os.getloadavg()[0],
    }
    partial = Path(spec.get("partial_file") or "/nonexistent")
    if timed_out or proc.returncode != 0 or result is None:
        if partial.exists():
            base["finished_views"] = json.loads(partial.read_text())
    if timed_out:
        return {**base, "failed": f"timeout after {timeout:.0f} s"}
    if proc.returncode != 0 or result is None:
        reason = f"exit code {proc.returncode}"
        if proc.returncode in (-9, 137):
            reason += " (killed: out of memory?)"
        if errors:
            reason += f": {errors[0]}"
        return {**base, "failed": reason}
    return {**result, **base}


# --------------------------------------------------------------------------- orchestration
def load_results(results_dir: Path) -> dict[str, Any]:
    """Every saved result: one JSON file per size and step and engine under ``runs/``, so
    several invocations (e.g. one per engine) can run at the same time without losing any."""
    results: dict[str, Any] = {"sizes": {}}
    runs = sorted((results_dir / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime)
    for f in runs:
        rec = json.loads(f.read_text())
        if rec["kind"] == "environment":
            results["environment"] = rec["value"]
            continue
        entry = results["sizes"].setdefault(rec["label"], {"n": rec["n"]})
        if rec["kind"] == "data":
            entry["data"] = rec["value"]
        else:
            entry.setdefault("steps", {}).setdefault(rec["step"], {})[rec["kind"]] = rec["value"]
    return results


def record(
    results_dir: Path, kind: str, value: Any, *, label: str = "", n: int = 0, step: str = ""
) -> None:
    """Save one result (atomically) as ``runs/<label>__<step>__<kind>.json``."""
    runs = results_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    name = "__".join(x for x in (label, step, kind) if x) + ".json"
    tmp = runs / f".{name}.{os.getpid()}.tmp"
    rec = {"kind": kind, "label": label, "n": n, "step": step, "value": value}
    tmp.write_text(json.dumps(rec, indent=2, default=str))
    tmp.replace(runs / name)


def environment(args: argparse.Namespace) -> dict[str, Any]:
    import duckdb

    def git(*cmd: str) -> str:
        try:
            return subprocess.run(
                ["git", *cmd], cwd=HERE, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "?"

    try:
        import pyspark

        spark_version = pyspark.__version__
    except ImportError:
        spark_version = None
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pyspark": spark_version,
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB, 1),
        "duckdb_memory_limit": args.memory_limit,
        "spark_master": args.master,
        "spark_driver_memory": args.driver_memory,
        "seed": args.seed,
        "events_ratio": args.events_ratio,
    }


def _base_spec(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "memory_limit": args.memory_limit,
        "threads": args.threads,
        "master": args.master,
        "driver_memory": args.driver_memory,
        "temp_dir": str(args.data_dir / "_spark_bench_tmp"),
    }


def ensure_model(args: argparse.Namespace, n: int) -> Path:
    """The churn model trained once on the ``n``-line shop (cached)."""
    model_dir = args.data_dir / f"spark_churn_model_{size_label(n)}_s{args.seed}"
    if (model_dir / "metadata.json").exists() or any(model_dir.glob("*.json")):
        return model_dir
    shop = ensure_data(args, n)
    print(f"[model] training the churn model on {size_label(n)} ...", file=sys.stderr)
    res = run_child(
        {
            **_base_spec(args),
            "job": "train",
            "shop": str(shop),
            "model_dir": str(model_dir),
            "cutoff": args.cutoff,
            "max_cutoffs": 4,
        }
    )
    if res.get("failed"):
        raise SystemExit(f"training the churn model failed: {res['failed']}")
    print(f"[model] trained in {res['seconds']:.0f} s: {res['model']}", file=sys.stderr)
    return model_dir


def ensure_data(args: argparse.Namespace, n: int) -> Path:
    res = run_child(
        {
            "job": "generate",
            "data_dir": str(args.data_dir),
            "n": n,
            "seed": args.seed,
            "events_ratio": args.events_ratio,
            "label": size_label(n),
        }
    )
    if res.get("failed"):
        raise SystemExit(f"generating {size_label(n)} failed: {res['failed']}")
    return Path(res["shop"])


def shuffle_partitions(args: argparse.Namespace, n: int) -> int:
    """``--shuffle-partitions`` or, by default, one per 2M lines (at least 8)."""
    return args.shuffle_partitions or max(8, n // 2_000_000)


def measure(args: argparse.Namespace) -> None:
    rdir = args.results_dir
    env = environment(args)
    record(rdir, "environment", env)
    model_dir = ensure_model(args, args.model_size) if "score" in args.steps else None
    for n in args.sizes:
        label = size_label(n)
        print(f"[{label}] data ...", file=sys.stderr)
        t0 = time.perf_counter()
        shop = ensure_data(args, n)
        meta = json.loads((shop / "_meta.json").read_text())
        record(rdir, "data", {**meta, "shop": str(shop)}, label=label, n=n)
        _say(
            f"data ready in {time.perf_counter() - t0:.0f} s ({meta['seconds']:.0f} s to "
            f"generate, {meta['disk_bytes'] / GIB:.2f} GiB)"
        )
        for step in args.steps:
            for engine in args.engines:
                out = rdir / "outputs" / label / f"{engine}_{step}"
                if out.exists():
                    shutil.rmtree(out)
                spec = {
                    **_base_spec(args),
                    "job": step,
                    "engine": engine,
                    "shop": str(shop),
                    "out_dir": str(out),
                    "cutoff": args.cutoff,
                    "model_dir": str(model_dir) if model_dir else None,
                    "shuffle_partitions": shuffle_partitions(args, n),
                    "partial_file": str(out) + ".partial.json",
                }
                out.parent.mkdir(parents=True, exist_ok=True)
                Path(spec["partial_file"]).unlink(missing_ok=True)
                print(f"[{label}] {step} on {engine} ...", file=sys.stderr)
                res = run_child(spec, timeout=args.timeout)
                res["out_dir"] = str(out)
                res["commit"] = env["commit"]
                record(rdir, engine, res, label=label, n=n, step=step)
                status = res.get("failed") or f"{res['seconds']:.1f} s"
                _say(
                    f"{step} on {engine}: {status}, peak RSS {res['peak_rss_bytes'] / GIB:.2f} GiB"
                )
            compare_step(args, label, n, step)


def compare_step(args: argparse.Namespace, label: str, n: int, step: str) -> None:
    """Compare the two engines' outputs of ``step`` when both ran and kept their outputs."""
    steps = load_results(args.results_dir)["sizes"][label].get("steps", {}).get(step, {})
    d, s = steps.get("duckdb"), steps.get("spark")
    if not (_ok(d) and _ok(s) and Path(d["out_dir"]).exists() and Path(s["out_dir"]).exists()):
        return
    print(f"[{label}] comparing {step} outputs ...", file=sys.stderr)
    spec = {
        **_base_spec(args),
        "job": "compare",
        "step": step,
        "duckdb_out": d["out_dir"],
        "spark_out": s["out_dir"],
        "rtol": args.rtol,
        "atol": args.atol,
        "views": d.get("views", {}),
        "spark_files": {k: v["file"] for k, v in s.get("views", {}).items()},
    }
    res = run_child(spec, timeout=args.timeout)
    record(args.results_dir, "compare", res, label=label, n=n, step=step)


# --------------------------------------------------------------------------- report
def _fmt_s(res: dict[str, Any] | None) -> str:
    if not res:
        return "not run"
    if res.get("failed"):
        done = res.get("finished_views")
        if done:
            return (
                f"FAILED ({res['failed']}; {len(done)} views done in "
                f"{sum(done.values()):.0f} s: {', '.join(done)})"
            )
        return f"FAILED ({res['failed']})"
    s = f"{res['seconds']:.1f}"
    if res.get("session_seconds") is not None:
        s += f" ({res['session_seconds']:.0f} start)"
    return s


def _fmt_rss(res: dict[str, Any] | None) -> str:
    if not res:
        return "-"
    return f"{res['peak_rss_bytes'] / GIB:.2f}"


def _ok(res: dict[str, Any] | None) -> bool:
    return bool(res) and not res.get("failed")


def _load(res: dict[str, Any] | None) -> str:
    """The machine's 1-minute load average at the start and end of a run."""
    if not res or "load_start" not in res:
        return "-"
    return f"{res['load_start']:.0f}-{res['load_end']:.0f}"


def summary_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for label, entry in sorted(results["sizes"].items(), key=lambda kv: kv[1]["n"]):
        for step in STEPS:
            runs = entry.get("steps", {}).get(step)
            if not runs:
                continue
            d, s = runs.get("duckdb"), runs.get("spark")
            ratio = f"{s['seconds'] / d['seconds']:.2f}" if _ok(d) and _ok(s) else "-"
            cmp = runs.get("compare")
            if not cmp:
                ident = "-"
            elif cmp.get("failed"):
                ident = f"check failed ({cmp['failed']})"
            else:
                ident = "yes" if cmp["identical"] else "NO"
            rows.append(
                [
                    label,
                    step,
                    _fmt_s(d),
                    _fmt_s(s),
                    ratio,
                    _fmt_rss(d),
                    _fmt_rss(s),
                    ident,
                    f"{_load(d)} / {_load(s)}",
                ]
            )
    return rows


def view_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for label, entry in sorted(results["sizes"].items(), key=lambda kv: kv[1]["n"]):
        runs = entry.get("steps", {}).get("views", {})
        d, s = runs.get("duckdb") or {}, runs.get("spark") or {}
        report = (runs.get("compare") or {}).get("report", {})
        for name in d.get("views") or s.get("views") or {}:
            dv, sv = (d.get("views") or {}).get(name, {}), (s.get("views") or {}).get(name, {})
            if not sv and name in (s.get("finished_views") or {}):
                sv = {"seconds": s["finished_views"][name]}
            r = report.get(name)
            ident = (
                "-"
                if r is None
                else ("yes" if r["identical"] else "NO: " + "; ".join(r["problems"][:3]))
            )
            rel = "-" if r is None else f"{r['max_rel_diff']:.1e}"
            ds, ss = dv.get("seconds"), sv.get("seconds")
            rows.append(
                [
                    label,
                    name,
                    f"{dv.get('rows', sv.get('rows', 0)):,}",
                    "-" if ds is None else f"{ds:.1f}",
                    "-" if ss is None else f"{ss:.1f}",
                    f"{ss / ds:.1f}" if ds and ss else "-",
                    ident,
                    rel,
                ]
            )
        score = (entry.get("steps", {}).get("score", {}).get("compare") or {}).get("report", {})
        for name, r in score.items():
            rows.append(
                [
                    label,
                    name,
                    f"{r['rows']:,}",
                    "-",
                    "-",
                    "-",
                    "yes" if r["identical"] else "NO: " + "; ".join(r["problems"][:3]),
                    f"{r['max_rel_diff']:.1e}",
                ]
            )
    return rows


def crossover(results: dict[str, Any]) -> str:
    """Per step: the size from which Spark is no slower than DuckDB, or the trend."""
    lines = []
    for step in STEPS:
        pts = []
        for label, entry in sorted(results["sizes"].items(), key=lambda kv: kv[1]["n"]):
            runs = entry.get("steps", {}).get(step, {})
            d, s = runs.get("duckdb"), runs.get("spark")
            if _ok(d) and _ok(s):
                pts.append((label, s["seconds"] / d["seconds"]))
        if not pts:
            continue
        trend = ", ".join(f"{lab}: {r:.2f}x" for lab, r in pts)
        faster = [lab for lab, r in pts if r <= 1.0]
        if faster:
            lines.append(f"{step}: Spark is no slower than DuckDB from {faster[0]} on ({trend}).")
        else:
            lines.append(
                f"{step}: Spark on one machine is slower than DuckDB at every size where both "
                f"finished, up to {pts[-1][0]} (Spark/DuckDB time: {trend})."
            )
    return "\n\n".join(lines) or "No size has both engines measured."


def _table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(
        [
            fmt.format(*header),
            fmt.format(*("-" * w for w in widths)),
            *(fmt.format(*r) for r in rows),
        ]
    )


def render(results: dict[str, Any], markdown: bool = False) -> str:
    env = results.get("environment", {})
    head = [
        "size",
        "step",
        "DuckDB s",
        "Spark s",
        "Spark/DuckDB",
        "DuckDB peak GiB",
        "Spark peak GiB",
        "identical",
        "load avg D / S",
    ]
    vhead = ["size", "view", "rows", "DuckDB s", "Spark s", "ratio", "identical", "max rel diff"]
    data = []
    for label, entry in sorted(results["sizes"].items(), key=lambda kv: kv[1]["n"]):
        m = entry.get("data", {})
        if m:
            data.append(
                [
                    label,
                    f"{m['n']:,}",
                    f"{m.get('customers', 0):,}",
                    f"{m.get('skus', 0):,}",
                    f"{m.get('events', 0):,}",
                    f"{m.get('disk_bytes', 0) / GIB:.2f}",
                    f"{m.get('seconds', 0):.0f}",
                ]
            )
    parts = [
        f"Machine: {env.get('cpus')} CPUs, {env.get('memory_gib')} GiB; DuckDB "
        f"{env.get('duckdb')} (memory_limit {env.get('duckdb_memory_limit')}, 2 threads); "
        f"Spark {env.get('pyspark')} {env.get('spark_master')} (driver memory "
        f"{env.get('spark_driver_memory')}); commit {env.get('commit')}.",
        "",
        _table(
            ["size", "lines", "customers", "SKUs", "events", "Parquet GiB", "generated s"],
            data,
            markdown,
        ),
        "",
        _table(head, summary_rows(results), markdown),
        "",
        _table(vhead, view_rows(results), markdown),
        "",
        crossover(results),
    ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument(
        "--sizes",
        default="1M,10M,50M",
        help="transaction lines per shop, comma-separated (default 1M,10M,50M)",
    )
    parser.add_argument("--steps", default="views,score", help="views, score or both")
    parser.add_argument("--engines", default="duckdb,spark", help="duckdb, spark or both")
    parser.add_argument(
        "--timeout",
        type=float,
        default=2400.0,
        help="seconds before a step is killed and recorded as failed",
    )
    parser.add_argument(
        "--model-size",
        type=parse_size,
        default=1_000_000,
        help="train the churn model (once, cached) on the shop of this size (default 1M)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--events-ratio",
        type=float,
        default=0.5,
        help="events (views, carts, purchases) per transaction line",
    )
    parser.add_argument(
        "--cutoff", default="2025-01-01", help="as-of date (exclusive); the data ends 2024-12-31"
    )
    parser.add_argument("--memory-limit", default="8GB", help="DuckDB memory_limit")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    parser.add_argument("--master", default="local[2]", help="Spark master")
    parser.add_argument("--driver-memory", default="12g", help="Spark driver memory")
    parser.add_argument(
        "--shuffle-partitions",
        type=int,
        default=None,
        help="spark.sql.shuffle.partitions (default: one per 2M lines, >= 8)",
    )
    parser.add_argument(
        "--rtol", type=float, default=1e-9, help="relative tolerance of numeric columns"
    )
    parser.add_argument(
        "--atol", type=float, default=1e-9, help="absolute tolerance of numeric columns"
    )
    parser.add_argument("--data-dir", type=Path, default=HERE / "_data")
    parser.add_argument("--results-dir", type=Path, default=HERE / "_results")
    parser.add_argument(
        "--report-only", action="store_true", help="print the saved results without measuring"
    )
    parser.add_argument(
        "--compare-only",
        action="store_true",
        help="only compare the saved outputs of both engines (for --sizes and --steps)",
    )
    parser.add_argument("--markdown", type=Path, default=None, help="also write Markdown here")
    args = parser.parse_args(argv)

    if args.job:
        spec = json.loads(args.job)
        _emit(JOBS[spec["job"]](spec))
        return 0
    args.sizes = sorted(parse_size(s) for s in args.sizes.split(",") if s.strip())
    args.steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for bad in set(args.steps) - set(STEPS):
        parser.error(f"unknown step {bad!r}; choose from {', '.join(STEPS)}")
    for bad in set(args.engines) - set(ENGINES):
        parser.error(f"unknown engine {bad!r}; choose from {', '.join(ENGINES)}")
    if args.compare_only:
        for label, entry in load_results(args.results_dir)["sizes"].items():
            if entry["n"] in args.sizes:
                for step in args.steps:
                    compare_step(args, label, entry["n"], step)
    elif not args.report_only:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        measure(args)
    results = load_results(args.results_dir)
    print(render(results))
    if args.markdown:
        args.markdown.write_text(render(results, markdown=True) + "\n")
        print(f"wrote {args.markdown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
