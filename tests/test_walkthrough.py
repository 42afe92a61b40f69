"""The README walk-through, run as a new user runs it: ``ecomml quickstart``, then the
``predict`` command it prints, then the ``mlflow models serve`` command it prints, then a
REST request to that server. Every command is taken from quickstart's own output and run
as printed (shell-parsed), in a fresh folder; only the serve port is swapped for a free one.
Slow (a full quickstart on the sample shop): a twin, run by CI with ``-m twin``."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.twin, pytest.mark.mlflow]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["COLUMNS"] = "400"  # a wide terminal: the printed commands stay on one line
    env["ECOMML_NO_PROGRESS"] = "1"
    return env


def test_quickstart_then_predict_then_serve(tmp_path: Path) -> None:
    ecomml = Path(sys.executable).parent / "ecomml"
    assert ecomml.exists(), f"the ecomml entry point is missing beside {sys.executable}"
    env = _env()
    run = subprocess.run([str(ecomml), "quickstart"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=900)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    predict = [ln.strip() for ln in out.splitlines() if " predict churn --model " in ln]
    serve = [ln.split("or serve one over REST:", 1)[1].strip() for ln in out.splitlines()
             if "or serve one over REST:" in ln]  # fmt: skip
    assert predict and serve, out[-3000:]

    # the printed predict command, as printed
    p = subprocess.run(shlex.split(predict[0]), cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=600)  # fmt: skip
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    scores = pd.read_csv(tmp_path / "churn-scores.csv")
    assert {"customer_id", "p_churn", "value_at_risk", "segment"} <= set(scores.columns)
    assert len(scores) > 100

    # the printed serve command, as printed but on a free port
    port = _free_port()
    cmd = re.sub(r"--port \d+", f"--port {port}", serve[0])
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(["bash", "-c", cmd], cwd=tmp_path, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
                with urllib.request.urlopen(f"{base}/ping", timeout=2) as r:
                    if r.status == 200:
                        break
            assert time.monotonic() < deadline, "the served model did not answer /ping in 180 s"
            time.sleep(0.5)
        tx = pd.read_parquet(tmp_path / "ecomml-output" / "data" / "transactions.parquet")
        cutoff = re.search(r"--cutoff (\S+)", predict[0]).group(1)  # type: ignore[union-attr]
        who = tx["customer_id"].dropna().drop_duplicates().head(20)
        batch = tx.loc[tx["customer_id"].isin(who) & (tx["ts"] < pd.Timestamp(cutoff)),
                       ["order_id", "customer_id", "sku", "ts", "quantity", "price",
                        "category", "channel", "region"]]  # fmt: skip
        # a line without its own category takes the catalog's, as the store does
        cat = pd.read_parquet(tmp_path / "ecomml-output" / "data" / "catalog.parquet")
        batch["category"] = batch["category"].fillna(
            batch["sku"].map(cat.drop_duplicates("sku").set_index("sku")["category"])
        )
        # the quickstart's churn model learnt from the events log too: its events ride in
        # the same request as rows with an `event` column
        ev = pd.read_parquet(tmp_path / "ecomml-output" / "data" / "events.parquet")
        ev = ev.loc[ev["customer_id"].isin(who) & (ev["ts"] < pd.Timestamp(cutoff)),
                    ["customer_id", "sku", "ts", "event"]]  # fmt: skip
        batch = pd.concat([batch.assign(event=None), ev], ignore_index=True)
        split = json.loads(batch.to_json(orient="split", index=False, date_format="iso"))
        body = {"dataframe_split": split, "params": {"cutoff": cutoff}}
        req = urllib.request.Request(f"{base}/invocations", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                got = pd.DataFrame(json.loads(r.read())["predictions"])
        except urllib.error.HTTPError as err:
            raise AssertionError(f"{err.code}: {err.read().decode()[:2000]}") from err
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
    assert set(got["customer_id"]) == set(who)
    # the server scores like the printed predict command did
    m = got.merge(scores, on="customer_id", suffixes=("", "_cli"))
    assert len(m) == len(who)
    assert (m["p_churn"] - m["p_churn_cli"]).abs().max() < 1e-6
