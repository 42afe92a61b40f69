"""Feature-store benchmark: build the customer and SKU views on synthetic shops.

For each size (default 1M, 10M and 50M transactions) this script

1. generates the synthetic shop once with :func:`ecomml.data.synth.write_shop` into
   ``<data-dir>/shop_<size>/`` (reused when present; generation is timed separately);
2. runs each measurement in a **fresh subprocess** and reads that process's own peak RSS
   (``getrusage(RUSAGE_SELF).ru_maxrss``) and wall time:

   * ``ecomml all views``: ``FeatureStore(DuckDBEngine(memory_limit=...))`` over the
     Parquet files in place, then ``materialize`` of every customer and SKU view as of the
     cutoff (computing and writing Parquet);
   * ``ecomml customer views``: the same, customer views only (``customer_rfm``,
     ``customer_events`` when the shop has events, ``customer_sku``);
   * ``pandas customer views`` (``--pandas-sizes``): the plain pandas peer in
     ``benchmarks/_pandas_reference.py`` computing the same customer views;

3. checks that pandas and ecomml produce the same customer features (rtol 1e-6), and
4. prints a table (rows, wall s, peak RSS, speed-up vs pandas, s per 1M rows) and the
   verdict on each target; ``--markdown PATH`` writes the same report as Markdown.

Run ``python benchmarks/features.py --help`` for the options; ``benchmarks/README.md``
explains the method and ``BENCHMARKS.md`` holds the results.
"""

from __future__ import annotations

import argparse
import json
import math
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

HERE = Path(__file__).resolve().parent
RESULT_TAG = "@@BENCH_RESULT "
GIB = 1024**3

#: Entities whose views count as "customer" and "SKU" views.
CUSTOMER_ENTITIES = ("customer", "customer_sku")
SKU_ENTITIES = ("sku", "sku_day", "sku_week")

IMPLS = ("ecomml-all", "ecomml-customer", "pandas-customer")
IMPL_LABEL = {
    "ecomml-all": "ecomml, all customer + SKU views",
    "ecomml-customer": "ecomml, customer views",
    "pandas-customer": "pandas, customer views",
}

# Targets from the issue.
TARGET_SPEEDUP = 5.0
TARGET_SPEEDUP_SIZE = 10_000_000
TARGET_RSS_GIB = 8.0
TARGET_RSS_SIZE = 50_000_000


# --------------------------------------------------------------------------- helpers
def parse_size(text: str) -> int:
    """``"1M"`` -> 1_000_000, ``"500k"`` -> 500_000, ``"2500"`` -> 2500."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r}; use e.g. 1M, 500k or 2500")
    mult = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[m.group(2).lower()]
    return int(float(m.group(1)) * mult)


def size_label(n: int) -> str:
    """1_000_000 -> ``"1M"``, 500_000 -> ``"500k"``."""
    for unit, mult in (("M", 10**6), ("k", 10**3)):
        if n >= mult and n % mult == 0:
            return f"{n // mult}{unit}"
    return str(n)


def parse_sizes(text: str) -> list[int]:
    return [parse_size(s) for s in text.split(",") if s.strip()]


def _peak_rss_bytes() -> int:
    import resource

    # Linux reports ru_maxrss in KiB.
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _cpu_seconds() -> float:
    """User + system CPU time of this process so far, all threads."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _emit(result: dict[str, Any]) -> None:
    print(RESULT_TAG + json.dumps(result, default=str), flush=True)


# --------------------------------------------------------------------------- child jobs
def job_views(_: dict[str, Any]) -> dict[str, Any]:
    """The built-in views grouped by entity."""
    from ecomml.features.views import builtin_views

    return {"views": [{"name": v.name, "entity": v.entity.name} for v in builtin_views()]}


def job_generate(spec: dict[str, Any]) -> dict[str, Any]:
    """Write one synthetic shop and describe it (rows, time span)."""
    from ecomml.data.synth import write_shop

    out = Path(spec["out_dir"])
    kwargs: dict[str, Any] = {"seed": spec["seed"], "chunk_rows": spec["chunk_rows"]}
    if spec.get("include_events") is not None:
        kwargs["include_events"] = spec["include_events"]

    def progress(*args: Any, **kw: Any) -> None:
        print(
            "  generate:", *args, *(f"{k}={v}" for k, v in kw.items()), file=sys.stderr, flush=True
        )

    t0 = time.perf_counter()
    info = write_shop(out, n_transactions=spec["n"], progress=progress, **kwargs)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "peak_rss_bytes": _peak_rss_bytes(),
        "write_shop": info,
        **describe_shop(out),
    }


def describe_shop(shop: Path) -> dict[str, Any]:
    """Row counts, time span and disk size of a generated shop (DuckDB over Parquet)."""
    import duckdb

    con = duckdb.connect()
    tx = f"read_parquet('{shop / 'transactions'}/**/*.parquet')"
    n, lo, hi, n_cust, n_sku = con.execute(
        f"SELECT count(*), min(ts), max(ts), approx_count_distinct(customer_id), "
        f"approx_count_distinct(sku) FROM {tx}"
    ).fetchone()
    events = _events_path(shop)
    n_events = None
    if events is not None:
        pattern = f"{events}/**/*.parquet" if events.is_dir() else str(events)
        n_events = con.execute(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchone()[0]
    con.close()
    disk = sum(p.stat().st_size for p in shop.rglob("*") if p.is_file())
    return {
        "transactions": int(n),
        "first_ts": str(lo),
        "last_ts": str(hi),
        "customers_approx": int(n_cust),
        "skus_approx": int(n_sku),
        "events": None if n_events is None else int(n_events),
        "disk_bytes": disk,
    }


def _events_path(shop: Path) -> Path | None:
    for candidate in (shop / "events", shop / "events.parquet"):
        if candidate.exists():
            return candidate
    return None


def job_ecomml(spec: dict[str, Any]) -> dict[str, Any]:
    """Register the shop's Parquet in place and materialize ``spec['views']``."""
    import pandas as pd

    from ecomml.features.engines import DuckDBEngine
    from ecomml.features.materialize import materialize_views
    from ecomml.features.store import FeatureStore

    shop = Path(spec["data_dir"])
    per_view: list[dict[str, Any]] = []
    load_start = os.getloadavg()[0]
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    # DuckDB creates only the last level of temp_directory, and only when it spills.
    Path(spec["temp_dir"]).mkdir(parents=True, exist_ok=True)
    engine = DuckDBEngine(
        memory_limit=spec["memory_limit"],
        threads=spec.get("threads"),
        temp_directory=spec["temp_dir"],
    )
    store = FeatureStore(engine)
    store.register("transactions", shop / "transactions")
    store.register("catalog", shop / "catalog.parquet")
    store.register("calendar", shop / "calendar.parquet")
    events = _events_path(shop)
    if events is not None:
        store.register("events", events)
    t_setup = time.perf_counter()
    last = [t_setup, _cpu_seconds()]

    def progress(name: str) -> None:
        now, cpu = time.perf_counter(), _cpu_seconds()
        per_view.append(
            {
                "view": name,
                "seconds": now - last[0],
                "cpu_seconds": cpu - last[1],
                "peak_rss_so_far": _peak_rss_bytes(),
            }
        )
        last[:] = [now, cpu]
        v = per_view[-1]
        print(
            f"  {name}: {v['seconds']:.1f} s wall, {v['cpu_seconds']:.1f} s CPU, peak RSS so "
            f"far {v['peak_rss_so_far'] / GIB:.2f} GiB",
            file=sys.stderr,
            flush=True,
        )

    # store.materialize(...) is materialize_views(store, ...) without the progress hook;
    # calling the function directly times each view on the same code path.
    manifest = materialize_views(
        store,
        spec["views"],
        cutoff=pd.Timestamp(spec["cutoff"]),
        out_dir=Path(spec["out_dir"]),
        progress=progress,
    )
    seconds = time.perf_counter() - t0
    cpu_seconds = _cpu_seconds() - cpu0
    engine.close()
    rows = {
        name: next(iter(by_cut.values()))["rows"]
        for name, by_cut in manifest["views"].items()
        if name in spec["views"]
    }
    return {
        "seconds": seconds,
        "setup_seconds": t_setup - t0,
        "cpu_seconds": cpu_seconds,
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
        "peak_rss_bytes": _peak_rss_bytes(),
        "per_view": per_view,
        "output_rows": rows,
    }


def job_pandas(spec: dict[str, Any]) -> dict[str, Any]:
    """The pandas peer: read Parquet, filter, groupby, write Parquet."""
    sys.path.insert(0, str(HERE))
    import pandas as pd
    from _pandas_reference import build_customer_views

    load_start = os.getloadavg()[0]
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    rows = build_customer_views(
        spec["data_dir"],
        cutoff=pd.Timestamp(spec["cutoff"]),
        out_dir=spec["out_dir"],
        views=spec["views"],
    )
    return {
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": _cpu_seconds() - cpu0,
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
        "peak_rss_bytes": _peak_rss_bytes(),
        "output_rows": rows,
    }


def job_check(spec: dict[str, Any]) -> dict[str, Any]:
    """Compare ecomml's materialized customer views with the pandas outputs."""
    sys.path.insert(0, str(HERE))
    import pandas as pd
    from _pandas_reference import compare_outputs

    from ecomml.features.materialize import read_materialized

    keys = {
        "customer_rfm": ["customer_id"],
        "customer_events": ["customer_id"],
        "customer_sku": ["customer_id", "sku"],
    }
    report: dict[str, list[str]] = {}
    for view in spec["views"]:
        ours = read_materialized(spec["ecomml_out"], view, cutoff=pd.Timestamp(spec["cutoff"]))
        theirs = pd.read_parquet(Path(spec["pandas_out"]) / f"{view}.parquet")
        report[view] = compare_outputs(ours, theirs, keys[view], rtol=spec["rtol"])
    return {"problems": report, "match": not any(report.values())}


JOBS = {
    "views": job_views,
    "generate": job_generate,
    "ecomml": job_ecomml,
    "pandas": job_pandas,
    "check": job_check,
}


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``spec`` in a fresh interpreter; return its result plus the wall time seen here.

    The parent also samples the child's RSS with psutil (when installed) every 0.2 s, as a
    cross-check of the child's own ``ru_maxrss``.
    """
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

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    stop.set()
    sampler.join()
    wall = time.perf_counter() - t0
    result = None
    for line in out.splitlines():
        if line.startswith(RESULT_TAG):
            result = json.loads(line[len(RESULT_TAG) :])
        elif line.strip():
            print(line, file=sys.stderr)
    if proc.returncode != 0 or result is None:
        return {
            "failed": True,
            "returncode": proc.returncode,
            "process_seconds": wall,
            "sampled_peak_rss_bytes": sampled[0],
        }
    result["process_seconds"] = wall
    result["sampled_peak_rss_bytes"] = sampled[0]
    return result


# --------------------------------------------------------------------------- orchestration
def ensure_shop(n: int, args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """The shop of ``n`` transactions, generated unless already cached with its metadata."""
    shop = args.data_dir / f"shop_{size_label(n)}"
    meta_path = shop / "_benchmark.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        print(
            f"[{size_label(n)}] reusing {shop} (generated in {meta['seconds']:.0f} s)",
            file=sys.stderr,
        )
        return shop, meta
    partial = shop.with_name(shop.name + ".partial")
    for stale in (shop, partial):
        if stale.exists():
            shutil.rmtree(stale)
    print(f"[{size_label(n)}] generating {n:,} transactions into {shop} ...", file=sys.stderr)
    meta = run_child(
        {
            "job": "generate",
            "n": n,
            "out_dir": str(partial),
            "seed": args.seed,
            "chunk_rows": args.chunk_rows,
            "include_events": args.events,
        }
    )
    if meta.get("failed"):
        raise SystemExit(f"generating {size_label(n)} failed (exit {meta['returncode']})")
    meta["n"] = n
    meta["seed"] = args.seed
    (partial / "_benchmark.json").write_text(json.dumps(meta, indent=2, default=str))
    partial.rename(shop)
    print(
        f"[{size_label(n)}] generated in {meta['seconds']:.0f} s, "
        f"{meta['disk_bytes'] / GIB:.2f} GiB on disk",
        file=sys.stderr,
    )
    return shop, meta


def cutoff_for(meta: dict[str, Any]) -> str:
    """The day after the last transaction (midnight), so every row is before the cutoff."""
    from datetime import datetime, timedelta

    last = datetime.fromisoformat(str(meta["last_ts"]).replace(" ", "T"))
    day = datetime(last.year, last.month, last.day) + timedelta(days=1)
    return day.isoformat()


def view_groups(shop: Path, catalogue: list[dict[str, str]]) -> dict[str, list[str]]:
    """Customer views and all customer + SKU views; ``customer_events`` needs an events table."""
    has_events = _events_path(shop) is not None
    names = [
        v["name"]
        for v in catalogue
        if v["entity"] in CUSTOMER_ENTITIES + SKU_ENTITIES
        and (has_events or v["name"] != "customer_events")
    ]
    entity = {v["name"]: v["entity"] for v in catalogue}
    return {
        "all": names,
        "customer": [n for n in names if entity[n] in CUSTOMER_ENTITIES],
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run every requested measurement; results merge into ``args.results``."""
    results = load_results(args.results)
    catalogue = run_child({"job": "views"})["views"]
    for n in args.sizes:
        label = size_label(n)
        shop, meta = ensure_shop(n, args)
        results.setdefault("datasets", {})[label] = meta
        cutoff = cutoff_for(meta)
        groups = view_groups(shop, catalogue)
        run_root = args.data_dir / "_runs" / label
        if run_root.exists():
            shutil.rmtree(run_root)
        impls = [i for i in ("ecomml-all", "ecomml-customer") if i in args.impls]
        if n in args.pandas_sizes and "pandas-customer" in args.impls:
            impls.append("pandas-customer")
        runs = results.setdefault("runs", {}).setdefault(label, {})
        for impl in impls:
            runs[impl] = []
        # Repeats are interleaved (A B C A B C), so load from other jobs on the machine
        # spreads over every implementation instead of hitting one.
        for attempt in range(args.repeat):
            for impl in impls:
                out_dir = run_root / f"{impl}-{attempt}"
                spec: dict[str, Any] = {
                    "data_dir": str(shop),
                    "cutoff": cutoff,
                    "out_dir": str(out_dir),
                }
                if impl.startswith("ecomml"):
                    spec.update(
                        job="ecomml",
                        views=groups["all" if impl == "ecomml-all" else "customer"],
                        memory_limit=args.memory_limit,
                        threads=args.threads,
                        temp_dir=str(args.data_dir / "_duckdb_tmp" / f"{label}-{impl}"),
                    )
                else:
                    spec.update(job="pandas", views=groups["customer"])
                print(
                    f"[{label}] {IMPL_LABEL[impl]} (run {attempt + 1}/{args.repeat}) ...",
                    file=sys.stderr,
                )
                res = run_child(spec)
                shutil.rmtree(spec.get("temp_dir", out_dir / "_none"), ignore_errors=True)
                res.update(
                    views=spec["views"],
                    cutoff=cutoff,
                    command=args.command,
                    memory_limit=spec.get("memory_limit"),
                    attempt=attempt,
                    git_commit=environment(args)["git_commit"],
                )
                if res.get("failed"):
                    print(f"[{label}] {impl} FAILED (exit {res['returncode']})", file=sys.stderr)
                else:
                    print(
                        f"[{label}] {impl}: {res['seconds']:.1f} s, peak RSS "
                        f"{res['peak_rss_bytes'] / GIB:.2f} GiB",
                        file=sys.stderr,
                    )
                runs[impl].append(res)
                save_results(args.results, results)
        if n in args.pandas_sizes and {"ecomml-customer", "pandas-customer"} <= set(impls):
            ours = results["runs"][label]["ecomml-customer"][0]
            theirs = results["runs"][label]["pandas-customer"][0]
            if not (ours.get("failed") or theirs.get("failed")):
                check = run_child(
                    {
                        "job": "check",
                        "views": groups["customer"],
                        "cutoff": cutoff,
                        "ecomml_out": str(run_root / "ecomml-customer-0"),
                        "pandas_out": str(run_root / "pandas-customer-0"),
                        "rtol": args.rtol,
                    }
                )
                check["rtol"] = args.rtol
                results.setdefault("checks", {})[label] = check
                print(
                    f"[{label}] pandas vs ecomml outputs: "
                    f"{'match' if check.get('match') else check}",
                    file=sys.stderr,
                )
                save_results(args.results, results)
        if not args.keep_outputs:
            shutil.rmtree(run_root, ignore_errors=True)
    results["environment"] = environment(args)
    save_results(args.results, results)
    return results


def load_results(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def save_results(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2, default=str))
    tmp.replace(path)


def environment(args: argparse.Namespace) -> dict[str, Any]:
    """Machine and library versions (read in a child so the parent stays small)."""
    code = (
        "import json, duckdb, pandas, pyarrow, numpy; "
        "print(json.dumps({'duckdb': duckdb.__version__, 'pandas': pandas.__version__, "
        "'pyarrow': pyarrow.__version__, 'numpy': numpy.__version__}))"
    )
    versions = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def git(*cmd: str) -> str:
        try:
            return subprocess.run(
                ["git", *cmd], cwd=HERE, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    return {
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "git_dirty_src": git("status", "--porcelain", "--", "../src").splitlines(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_bytes": mem,
        **versions,
    }


# --------------------------------------------------------------------------- report
def summarise(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per size x implementation.

    Wall and CPU time are those of the fastest repeat (the usual estimator when other jobs
    can only slow a run down); peak RSS is the largest over the repeats.
    """
    rows = []
    for label, runs in sorted(results.get("runs", {}).items(), key=lambda kv: parse_size(kv[0])):
        n = results["datasets"][label]["transactions"]
        for impl in IMPLS:
            done = [r for r in runs.get(impl, []) if not r.get("failed")]
            if impl not in runs:
                continue
            row: dict[str, Any] = {
                "size": label,
                "nominal": parse_size(label),
                "n": n,
                "impl": impl,
                "runs": len(runs[impl]),
            }
            if not done:
                row["failed"] = True
            else:
                best = min(done, key=lambda r: r["seconds"])
                row["seconds"] = best["seconds"]
                row["cpu_seconds"] = best.get("cpu_seconds")
                row["load"] = best.get("load_start")
                row["peak_rss_gib"] = max(r["peak_rss_bytes"] for r in done) / GIB
                row["s_per_m"] = row["seconds"] / (n / 1e6)
            rows.append(row)
    by = {(r["size"], r["impl"]): r for r in rows}
    for r in rows:
        pandas = by.get((r["size"], "pandas-customer"))
        if r["impl"] == "ecomml-customer" and pandas and "seconds" in pandas and "seconds" in r:
            r["speedup"] = pandas["seconds"] / r["seconds"]
    return rows


def verdicts(results: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    by = {(r["nominal"], r["impl"]): r for r in rows}
    out = []
    # 1. speed-up at 10M
    r = by.get((TARGET_SPEEDUP_SIZE, "ecomml-customer"))
    if r is None or "speedup" not in r:
        out.append(
            f"- >= {TARGET_SPEEDUP:g}x faster than pandas at "
            f"{size_label(TARGET_SPEEDUP_SIZE)}: NOT MEASURED"
        )
    else:
        ok = r["speedup"] >= TARGET_SPEEDUP
        out.append(
            f"- >= {TARGET_SPEEDUP:g}x faster than pandas (customer views) at "
            f"{size_label(TARGET_SPEEDUP_SIZE)}: **{'met' if ok else 'NOT met'}** "
            f"({r['speedup']:.1f}x)"
        )
    # 2. 50M completes under 8 GiB
    r = by.get((TARGET_RSS_SIZE, "ecomml-all"))
    head = (
        f"- {size_label(TARGET_RSS_SIZE)} rows, all views, complete with peak RSS < "
        f"{TARGET_RSS_GIB:g} GiB"
    )
    if r is None:
        out.append(f"{head}: NOT MEASURED")
    elif r.get("failed"):
        out.append(f"{head}: **NOT met** (the run failed)")
    else:
        ok = r["peak_rss_gib"] < TARGET_RSS_GIB
        out.append(
            f"{head}: **{'met' if ok else 'NOT met'}** "
            f"({r['seconds']:.0f} s, peak RSS {r['peak_rss_gib']:.2f} GiB)"
        )
    # 3. linear scaling of the all-views build
    pts = sorted(
        (r["n"], r["seconds"], r["size"])
        for r in rows
        if r["impl"] == "ecomml-all" and "seconds" in r
    )
    if len(pts) < 2:
        out.append("- time grows no worse than linearly: NOT MEASURED (needs two sizes)")
    else:
        exps = [
            (a[2], b[2], math.log(b[1] / a[1]) / math.log(b[0] / a[0]))
            for a, b in zip(pts, pts[1:], strict=False)
        ]
        ok = all(e <= 1.0 for _, _, e in exps)
        detail = ", ".join(f"{a}->{b}: t ~ n^{e:.2f}" for a, b, e in exps)
        out.append(
            f"- time grows no worse than linearly (all views; exponent <= 1 between "
            f"consecutive sizes): **{'met' if ok else 'NOT met'}** ({detail})"
        )
    return out


def render(results: dict[str, Any]) -> str:
    """The Markdown report: results table, verdicts, output check, per-view breakdown."""
    rows = summarise(results)
    lines = [
        "| size | implementation | rows | runs | wall s | CPU s | peak RSS GiB "
        "| speed-up vs pandas | s per 1M rows | load at start |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r.get("failed"):
            lines.append(
                f"| {r['size']} | {IMPL_LABEL[r['impl']]} | {r['n']:,} | {r['runs']} "
                "| FAILED | | | | | |"
            )
            continue
        speed = f"{r['speedup']:.1f}x" if "speedup" in r else ""
        cpu = "" if r.get("cpu_seconds") is None else f"{r['cpu_seconds']:.1f}"
        load = "" if r.get("load") is None else f"{r['load']:.1f}"
        lines.append(
            f"| {r['size']} | {IMPL_LABEL[r['impl']]} | {r['n']:,} | {r['runs']} | "
            f"{r['seconds']:.1f} | {cpu} | {r['peak_rss_gib']:.2f} | {speed} | "
            f"{r['s_per_m']:.2f} | {load} |"
        )
    lines += ["", "Targets:", "", *verdicts(results, rows), ""]
    checks = results.get("checks", {})
    if checks:
        lines.append("pandas vs ecomml customer-view outputs:")
        lines.append("")
        for label, c in sorted(checks.items(), key=lambda kv: parse_size(kv[0])):
            if c.get("failed"):
                lines.append(f"- {label}: check FAILED to run")
            elif c["match"]:
                lines.append(
                    f"- {label}: **match** (every row and column of "
                    f"{', '.join(c['problems'])}; numbers within rtol {c['rtol']:g})"
                )
            else:
                bad = "; ".join(f"{v}: {', '.join(p)}" for v, p in c["problems"].items() if p)
                lines.append(f"- {label}: **MISMATCH**: {bad}")
        lines.append("")
    per_view = []
    for label, runs in sorted(results.get("runs", {}).items(), key=lambda kv: parse_size(kv[0])):
        done = [r for r in runs.get("ecomml-all", []) if not r.get("failed")]
        for r in sorted(done, key=lambda r: r["seconds"])[:1]:
            total = sum(v["seconds"] for v in r["per_view"])
            for v in r["per_view"]:
                cpu = "" if v.get("cpu_seconds") is None else f"{v['cpu_seconds']:.1f}"
                per_view.append(
                    f"| {label} | {v['view']} | {r['output_rows'].get(v['view'], 0):,} | "
                    f"{v['seconds']:.1f} | {cpu} | {100 * v['seconds'] / total:.0f} % | "
                    f"{v['peak_rss_so_far'] / GIB:.2f} |"
                )
    if per_view:
        lines += [
            "Per-view breakdown of the all-views build (the fastest run; peak RSS is the "
            "process peak so far, so a jump marks the view that caused it):",
            "",
            "| size | view | output rows | wall s | CPU s | share of wall | peak RSS so far GiB |",
            "|---|---|---:|---:|---:|---:|---:|",
            *per_view,
            "",
        ]
    gens = results.get("datasets", {})
    if gens:
        lines += [
            "Data generation (`write_shop`, not included above):",
            "",
            "| size | transactions | events | customers | SKUs | span "
            "| on disk GiB | generation s |",
            "|---|---:|---:|---:|---:|---|---:|---:|",
        ]
        for label, m in sorted(gens.items(), key=lambda kv: parse_size(kv[0])):
            ev = "" if m.get("events") is None else f"{m['events']:,}"
            info = m.get("write_shop") or {}
            customers = info.get("customers", m["customers_approx"])
            skus = info.get("skus", m["skus_approx"])
            lines.append(
                f"| {label} | {m['transactions']:,} | {ev} | {customers:,} | "
                f"{skus:,} | {m['first_ts'][:10]} to {m['last_ts'][:10]} | "
                f"{m['disk_bytes'] / GIB:.2f} | {m['seconds']:.0f} |"
            )
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark ecomml's feature store against pandas on synthetic shops."
    )
    parser.add_argument(
        "--sizes",
        default="1M,10M,50M",
        help="transaction counts to run, comma-separated (default 1M,10M,50M)",
    )
    parser.add_argument(
        "--pandas-sizes",
        default="1M,10M",
        help="sizes at which to run the pandas peer (default 1M,10M; '' = none)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=HERE / "_data",
        help="cache of generated shops and scratch space (git-ignored)",
    )
    parser.add_argument(
        "--impls",
        default=",".join(IMPLS),
        help=f"implementations to run (default {','.join(IMPLS)}); a size's "
        "other entries in --results are kept",
    )
    parser.add_argument("--memory-limit", default="6GB", help="DuckDB memory_limit (default 6GB)")
    parser.add_argument(
        "--threads", type=int, default=None, help="DuckDB threads (default: every core)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per measurement, interleaved; the table shows the fastest (default 1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="write_shop seed (default 0)")
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=1_000_000,
        help="write_shop chunk size (default 1,000,000)",
    )
    parser.add_argument(
        "--events",
        dest="events",
        action="store_true",
        default=None,
        help="generate an events table (default: write_shop's default)",
    )
    parser.add_argument("--no-events", dest="events", action="store_false")
    parser.add_argument(
        "--rtol",
        type=float,
        default=1e-6,
        help="relative tolerance of the pandas/ecomml output check",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="JSON file the measurements merge into (default <data-dir>/results.json)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="print the report from --results without running anything",
    )
    parser.add_argument(
        "--keep-outputs",
        action="store_true",
        help="keep the materialized outputs under <data-dir>/_runs",
    )
    parser.add_argument(
        "--markdown", type=Path, default=None, help="also write the report as Markdown to this path"
    )
    parser.add_argument("--job", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.job:
        spec = json.loads(args.job)
        _emit(JOBS[spec["job"]](spec))
        return 0

    args.sizes = parse_sizes(args.sizes)
    args.impls = [i.strip() for i in args.impls.split(",") if i.strip()]
    unknown = set(args.impls) - set(IMPLS)
    if unknown:
        parser.error(f"unknown --impls {sorted(unknown)}; choose from {list(IMPLS)}")
    args.pandas_sizes = parse_sizes(args.pandas_sizes)
    args.data_dir = args.data_dir.resolve()
    args.results = (args.results or args.data_dir / "results.json").resolve()
    args.command = "python benchmarks/features.py " + " ".join(
        a if re.fullmatch(r"[\w./,=:-]+", a) else repr(a) for a in (argv or sys.argv[1:])
    )
    results = load_results(args.results) if args.report_only else measure(args)
    env = results.get("environment", {})
    header = (
        f"Machine: {env.get('cores')} cores ({env.get('cpu')}), "
        f"{(env.get('memory_bytes') or 0) / GIB:.0f} GiB RAM; Python {env.get('python')}, "
        f"DuckDB {env.get('duckdb')}, pandas {env.get('pandas')}, pyarrow {env.get('pyarrow')}; "
        f"ecomml at {env.get('git_commit')}"
        + (
            f" with uncommitted changes in {len(env['git_dirty_src'])} src file(s)"
            if env.get("git_dirty_src")
            else ""
        )
    )
    report = header + "\n\n" + render(results)
    print(report)
    if args.markdown:
        args.markdown.write_text(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
