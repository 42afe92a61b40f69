"""The README walk-through, run as a new user runs it: ``ecomml quickstart``, then the
``predict`` and ``promo`` commands it prints, then the ``mlflow models serve`` command it
prints, then a REST request to that server. Every command is taken from quickstart's own output and run
as printed (shell-parsed), in a fresh folder; only the serve port is swapped for a free one.
Slow (a full quickstart on the sample shop): a twin, run by CI with ``-m twin``."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests._server import free_port, invoke, running_server

pytestmark = [pytest.mark.slow, pytest.mark.twin, pytest.mark.mlflow]


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
    promo = [ln.split("or judge a past promotion:", 1)[1].strip() for ln in out.splitlines()
             if "or judge a past promotion:" in ln]  # fmt: skip
    assert predict and serve and promo, out[-3000:]

    # the printed predict command, as printed
    p = subprocess.run(shlex.split(predict[0]), cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=600)  # fmt: skip
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    scores = pd.read_csv(tmp_path / "churn-scores.csv")
    assert {"customer_id", "p_churn", "value_at_risk", "segment"} <= set(scores.columns)
    assert len(scores) > 100

    # the printed promotion command, as printed: the sample shop's last Double 11
    r = subprocess.run(shlex.split(promo[0]) + ["--no-track"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    from ecomml.campaigns.promo import PROMO_COLUMNS

    judged = pd.read_csv(tmp_path / "promo.csv")
    assert list(judged.columns) == PROMO_COLUMNS and len(judged) == 1
    assert judged["event"].iat[0] == "double_11" and (tmp_path / "promo.html").exists()

    # the request: 20 customers' lines, with the category the store would have looked up in
    # the catalog, and their events (the quickstart's churn model learnt from the events
    # log too) as rows of the same frame with an `event` column
    data = tmp_path / "ecomml-output" / "data"
    cutoff = re.search(r"--cutoff (\S+)", predict[0]).group(1)  # type: ignore[union-attr]
    tx = pd.read_parquet(data / "transactions.parquet")
    who = tx["customer_id"].dropna().drop_duplicates().head(20)
    batch = tx.loc[tx["customer_id"].isin(who) & (tx["ts"] < pd.Timestamp(cutoff)),
                   ["order_id", "customer_id", "sku", "ts", "quantity", "price", "category",
                    "channel", "region"]]  # fmt: skip
    cat = pd.read_parquet(data / "catalog.parquet").drop_duplicates("sku").set_index("sku")
    batch["category"] = batch["category"].fillna(batch["sku"].map(cat["category"]))
    ev = pd.read_parquet(data / "events.parquet")
    ev = ev.loc[ev["customer_id"].isin(who) & (ev["ts"] < pd.Timestamp(cutoff)),
                ["customer_id", "sku", "ts", "event"]]  # fmt: skip
    batch = pd.concat([batch.assign(event=None), ev], ignore_index=True)

    # the printed serve command, as printed but on a free port
    port = free_port()
    cmd = ["bash", "-c", re.sub(r"--port \d+", f"--port {port}", serve[0])]
    with running_server(cmd, port, tmp_path / "serve.log", env=env, cwd=tmp_path,
                        timeout=180) as base:  # fmt: skip
        got = invoke(base, batch, {"cutoff": cutoff})
    assert isinstance(got, pd.DataFrame), got
    assert set(got["customer_id"]) == set(who)
    # the server scores like the printed predict command did
    m = got.merge(scores, on="customer_id", suffixes=("", "_cli"))
    assert len(m) == len(who)
    assert (m["p_churn"] - m["p_churn_cli"]).abs().max() < 1e-6
