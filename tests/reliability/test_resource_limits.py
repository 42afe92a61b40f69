"""Resource limits: a feature build over input larger than DuckDB's memory limit spills to
its temp directory and completes, instead of being killed or failing.

The build runs in a child process (as a nightly job would); the parent watches the spill
folder and samples the child's own peak RSS (``VmHWM``). Memory bounds, never timings.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

CUTOFF = "2025-01-01"

CHILD = textwrap.dedent(
    """
    import sys
    from ecomml.features.engines import DuckDBEngine
    from ecomml.features.materialize import materialize_views
    from ecomml.features.store import FeatureStore

    src, out, spill, memory_limit, views = sys.argv[1:6]
    engine = DuckDBEngine(memory_limit=memory_limit, threads=1, temp_directory=spill)
    store = FeatureStore(engine)
    store.register("transactions", src)
    manifest = materialize_views(store, views.split(","), cutoff=sys.argv[6], out_dir=out)
    print(sorted(manifest["views"]))
    """
)


def _make_transactions(folder: Path, n_rows: int, *, compression: str = "zstd") -> Path:
    """Canonical transactions with ~n/8 customers x 50k SKUs: nearly every pair is new,
    so the aggregation state grows with the input."""
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute(
        f"""COPY (
        SELECT 'O' || lpad(CAST(i // 3 AS VARCHAR), 10, '0') AS order_id,
               'C' || lpad(CAST(hash(i // 3) % {max(n_rows // 8, 1)} AS VARCHAR), 9, '0')
                 AS customer_id,
               'S' || lpad(CAST(hash(i * 7 + 1) % 50000 AS VARCHAR), 6, '0') AS sku,
               TIMESTAMP '2023-01-01'
                 + to_seconds(CAST(hash(i // 3 + 11) % 63072000 AS BIGINT)) AS ts,
               CAST(1 + hash(i + 3) % 5 AS DOUBLE) AS quantity,
               round(1 + (hash(i + 5) % 10000) / 100.0, 2) AS price
        FROM range({n_rows}) t(i)
        ) TO '{folder}/part-0.parquet' (FORMAT parquet, COMPRESSION {compression})"""
    )
    con.close()
    return folder


def _expected_rows(src: Path, view: str) -> int:
    con = duckdb.connect()
    glob = f"'{src}/*.parquet'"
    if view == "customer_sku":
        q = f"SELECT count(*) FROM (SELECT DISTINCT customer_id, sku FROM {glob} WHERE quantity > 0)"
    else:
        q = f"SELECT count(DISTINCT customer_id) FROM {glob} WHERE quantity > 0"
    n = con.execute(q).fetchone()
    con.close()
    assert n is not None
    return int(n[0])


def _dir_size(folder: Path) -> int:
    """Bytes under ``folder``; files (or the folder) DuckDB removes meanwhile count 0."""
    size = 0
    for root, _dirs, files in os.walk(folder):  # os.walk ignores vanished folders
        for f in files:
            try:
                size += os.stat(os.path.join(root, f)).st_size
            except FileNotFoundError:
                pass
    return size


def _vm_hwm(pid: int) -> int:
    """Peak resident set (bytes) of the program running as ``pid`` (0 once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _run_measured(cmd: list[str], tmp_path: Path) -> dict[str, object]:
    """Run a build in a child; its rows (from the manifest), peak spill size and peak RSS
    (``os.wait4``)."""
    from ecomml.features.materialize import read_manifest

    spill = tmp_path / "spill"
    with open(tmp_path / "stdout.txt", "w") as out_f, open(tmp_path / "stderr.txt", "w") as err_f:
        proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f)
        spilled = peak = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            spilled = max(spilled, _dir_size(spill))
            peak = max(peak, _vm_hwm(proc.pid))
            time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, (tmp_path / "stderr.txt").read_text()[-2000:]
    manifest = read_manifest(tmp_path / "features")
    return {
        "rows": {v: next(iter(e.values()))["rows"] for v, e in manifest["views"].items()},
        "spilled": spilled,
        # ru_maxrss of a child forked from a big pytest process keeps the parent's pages
        # (it survives execve); VmHWM belongs to the new program image only
        "peak_rss": peak or usage.ru_maxrss * 1024,
    }


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss units differ")
def test_build_spills_beyond_the_memory_limit(tmp_path: Path) -> None:
    """``ecomml features build --memory-limit 100MB --temp-dir ... --threads 1``."""
    src = _make_transactions(tmp_path / "tx", 700_000)
    cmd = [str(Path(sys.executable).with_name("ecomml")), "features", "build",
           "-t", str(src), "--format", "canonical", "--cutoff", CUTOFF,
           "--views", "customer_sku", "--out", str(tmp_path / "features"),
           "--memory-limit", "100MB", "--temp-dir", str(tmp_path / "spill"),
           "--threads", "1"]  # fmt: skip
    res = _run_measured(cmd, tmp_path)
    print("700k rows, memory_limit 100MB:", res)
    assert res["rows"] == {"customer_sku": _expected_rows(src, "customer_sku")}
    # the aggregation state did not fit in 100 MB: DuckDB wrote it to the temp directory
    assert res["spilled"] > 64 * 2**20, res
    # and the process stayed far below what the data needs in memory
    assert res["peak_rss"] < 900 * 2**20, res
    # DuckDB removes its spill files when done
    assert _dir_size(tmp_path / "spill") == 0


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss units differ")
def test_build_of_hundreds_of_megabytes_within_a_small_limit(tmp_path: Path) -> None:
    src = _make_transactions(tmp_path / "tx", 6_000_000, compression="uncompressed")
    size = sum(p.stat().st_size for p in src.glob("*.parquet"))
    assert size > 250 * 2**20
    script = tmp_path / "build.py"
    script.write_text(CHILD)
    cmd = [sys.executable, str(script), str(src), str(tmp_path / "features"),
           str(tmp_path / "spill"), "250MB", "customer_sku,customer_rfm", CUTOFF]  # fmt: skip
    res = _run_measured(cmd, tmp_path)
    print(f"6M rows, {size / 2**20:.0f} MB Parquet, memory_limit 250MB:", res)
    assert res["rows"] == {
        "customer_sku": _expected_rows(src, "customer_sku"),
        "customer_rfm": _expected_rows(src, "customer_rfm"),
    }
    assert res["spilled"] > 250 * 2**20, res
    assert res["peak_rss"] < 1200 * 2**20, res
