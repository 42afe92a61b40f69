"""Two real processes writing the same model folder or feature materialization at once.

Model folders are built under a hidden name and exchanged with the old folder in one
step under a lock, so a reader running alongside always loads a complete, verified
model, and the folder never mixes two writers' files. Materialization appends to its
manifest under an inter-process lock, so no job loses another job's entries.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecomml._io import is_temp_name
from ecomml._lock import LockTimeoutError, file_lock
from ecomml.data.synth import make_shop
from ecomml.exceptions import EcommlError
from ecomml.features.materialize import read_manifest, read_materialized
from ecomml.features.views import builtin_views
from ecomml.modelstore import load_model, save_model

MODEL_WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from ecomml.modelstore import save_model

    target, writer, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sys.stdin.readline()  # start together
    for i in range(n):
        blob = np.full(100_000, i, dtype="int64")
        model = {"writer": writer, "i": i, "blob": blob}
        save_model(model, target, task="demo", extra={"writer": writer, "i": i})
    print("done", flush=True)
    """
)

MATERIALIZER = textwrap.dedent(
    """
    import sys
    from ecomml.features.engines import DuckDBEngine
    from ecomml.features.store import FeatureStore
    from ecomml.features.materialize import materialize_views

    tx, out, cutoffs = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    store = FeatureStore(DuckDBEngine(threads=1))
    store.register("transactions", tx)
    sys.stdin.readline()  # start together
    for c in cutoffs:
        materialize_views(store, ["customer_rfm", "sku_demand"], cutoff=c, out_dir=out)
    print("done", flush=True)
    """
)


@pytest.fixture(autouse=True)
def _trust_pickles(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's crash and concurrency rules are tested with tiny pickled objects:
    trusted here (the trust rule itself is tested in test_safe_loading)."""
    monkeypatch.setenv("ECOMML_TRUST_PICKLE", "1")


def _start(script: Path, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), *map(str, args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _go(*procs: subprocess.Popen[str]) -> None:
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()


def _finish(p: subprocess.Popen[str]) -> None:
    out, err = p.communicate(timeout=240)
    assert p.returncode == 0, err
    assert out.strip().endswith("done")


def test_two_processes_save_the_same_model_folder(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(MODEL_WRITER)
    target = tmp_path / "models" / "demo"
    save_model({"writer": "init", "i": -1, "blob": None}, target, task="demo",
               extra={"writer": "init", "i": -1})  # fmt: skip
    a = _start(script, target, "A", 8)
    b = _start(script, target, "B", 8)
    time.sleep(0.5)
    _go(a, b)
    loads, seen = 0, set()
    # a reader loads the folder over and over while both writers replace it
    while a.poll() is None or b.poll() is None:
        loaded = load_model(target, task="demo")  # verifies every SHA-256
        model, meta = loaded.model, loaded.metadata
        assert (model["writer"], model["i"]) == (meta["writer"], meta["i"])
        if model["blob"] is not None:
            assert set(np.unique(model["blob"])) == {model["i"]}
        seen.add(meta["writer"])
        loads += 1
    _finish(a)
    _finish(b)
    final = load_model(target, task="demo")
    assert final.metadata["writer"] in {"A", "B"} and final.metadata["i"] == 7
    assert loads > 0
    leftovers = [p.name for p in target.parent.iterdir() if p.name != "demo"]
    assert all(is_temp_name(n) or n.endswith(".lock") for n in leftovers), leftovers
    assert not [n for n in leftovers if is_temp_name(n)], "a finished writer left a temporary"


@pytest.fixture(scope="module")
def tx_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("conc")
    shop = make_shop(n_customers=200, n_skus=30, days=200, seed=9, include_events=False)
    path = d / "tx.parquet"
    shop.transactions.to_parquet(path, index=False)
    return path


def test_two_processes_materialize_into_one_folder(tx_file: Path, tmp_path: Path) -> None:
    script = tmp_path / "mat.py"
    script.write_text(MATERIALIZER)
    out = tmp_path / "features"
    weeks = [d.date().isoformat() for d in pd.date_range("2023-03-06", periods=6, freq="7D")]
    first = ",".join(weeks[0::2] + [weeks[-1]])
    second = ",".join(weeks[1::2] + [weeks[-1]])  # both build the last week
    a = _start(script, tx_file, out, first)
    b = _start(script, tx_file, out, second)
    time.sleep(0.5)
    _go(a, b)
    _finish(a)
    _finish(b)
    manifest = read_manifest(out)
    views = {v.name: v for v in builtin_views()}
    for name in ("customer_rfm", "sku_demand"):
        entries = manifest["views"][name]
        # no job lost the other's entries
        assert len(entries) == len(weeks), sorted(entries)
        for entry in entries.values():
            df = read_materialized(out, name, cutoff=entry["cutoff"],
                                   expected_hash=views[name].sql_hash)  # fmt: skip
            assert len(df) == entry["rows"]
    visible = {p.name for p in out.rglob("*") if not p.name.startswith(".")}
    assert not [n for n in visible if n.endswith(".tmp")]
    assert not [p for p in out.rglob("*") if is_temp_name(p.name)]


def test_lock_timeout_names_the_holder(tmp_path: Path) -> None:
    lock = tmp_path / ".demo.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from ecomml._lock import file_lock\n"
         f"with file_lock({str(lock)!r}):\n"
         "    print('held', flush=True)\n"
         "    sys.stdin.readline()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockTimeoutError, match=rf"locked by pid {holder.pid} on ") as err:
            with file_lock(lock, timeout=0.3):
                pass
        assert isinstance(err.value, EcommlError)
        assert str(lock) in str(err.value)
    finally:
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    # released with its holder: the lock is free again, and removed after use
    with file_lock(lock, timeout=5):
        pass
    assert not lock.exists()


def test_lock_of_a_killed_holder_is_taken_over(tmp_path: Path) -> None:
    lock = tmp_path / ".demo.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import os, signal\n"
         "from ecomml._lock import file_lock\n"
         f"with file_lock({str(lock)!r}):\n"
         "    os.kill(os.getpid(), signal.SIGKILL)\n"],
    )  # fmt: skip
    holder.wait(timeout=30)
    assert holder.returncode == -9
    assert lock.exists()  # left behind by the killed holder
    with file_lock(lock, timeout=2):
        pass


def test_model_folder_swap_waits_for_the_lock(tmp_path: Path) -> None:
    target = tmp_path / "m"
    save_model({"v": 1}, target, task="demo")
    with file_lock(tmp_path / ".m.lock"), pytest.raises(EcommlError, match="locked by pid"):
        from ecomml._io import atomic_dir

        atomic_dir(target, lambda d: (d / "x").write_text("2"), lock_timeout=0.2)
    assert load_model(target).model == {"v": 1}
    assert sorted(os.listdir(tmp_path)) == ["m"]


def test_a_writer_that_makes_a_folder_of_parts_replaces_the_folder(tmp_path: Path) -> None:
    """Spark-style writers replace the temporary file with a folder of parts; the folder
    is swapped in like a model folder, also over an earlier folder or file."""
    from ecomml._io import atomic_path

    target = tmp_path / "view.parquet"
    target.write_text("an earlier single-file output")
    for i in range(3):
        with atomic_path(target) as tmp:
            tmp.unlink()
            tmp.mkdir()
            (tmp / f"part-{i}.parquet").write_text(str(i))
        assert sorted(os.listdir(target)) == [f"part-{i}.parquet"]
        assert sorted(os.listdir(tmp_path)) == ["view.parquet"]
