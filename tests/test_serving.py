"""``mlflow models serve`` answers REST scoring requests for every task's registered model.

Each test trains a small model, registers it, points ``@champion`` at it, starts the real
server (``--env-manager local``) on a free loopback port, waits for ``/ping``, POSTs
``dataframe_split`` requests to ``/invocations`` and compares the answers with the Python
API. The server is always stopped.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ecomml.data.synth import make_shop
from ecomml.features.store import store_from_shop
from ecomml.modelstore import feature_hashes, save_model, set_model_alias
from ecomml.runner import log_model
from ecomml.tracking import tracked_run
from tests._server import free_port, invoke, running_server

CUTOFF = pd.Timestamp("2024-04-22")


@pytest.fixture(scope="module")
def _store(
    tmp_path_factory: pytest.TempPathFactory, new_mlflow_store: Callable[[Path], str]
) -> str:
    """One SQLite store for the module."""
    return new_mlflow_store(tmp_path_factory.mktemp("serving"))


@pytest.fixture
def mlflow_uri(_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", _store)
    monkeypatch.chdir(tmp_path)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(_store)
    yield _store
    mlflow.set_tracking_uri(previous)


@pytest.fixture(scope="module")
def shop() -> Any:
    return make_shop(n_customers=300, n_skus=40, days=480, seed=5, include_events=False)


@contextlib.contextmanager
def serve(uri: str, tmp: Path) -> Iterator[str]:
    """Run `mlflow models serve -m URI` and yield its base URL; always stop it."""
    port = free_port()
    cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", uri, "--env-manager",
           "local", "-h", "127.0.0.1", "-p", str(port), "--workers", "1"]  # fmt: skip
    # the server runs `uvicorn` from PATH: put this interpreter's scripts folder first
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    with running_server(cmd, port, tmp / f"serve-{port}.log", env=env) as base:
        yield base


def _register(model_dir: Path, name: str) -> str:
    with tracked_run("serving-tests"):
        info = log_model(model_dir, register=name)
    set_model_alias(name, info.registered_model_version, "champion")
    return f"models:/{name}@champion"


def test_serve_forecast(mlflow_uri: str, tmp_path: Path, shop: Any) -> None:
    from ecomml.data.shop import ShopData
    from ecomml.forecasting.auto import make_forecaster
    from ecomml.forecasting.task import shop_panel, view_for

    data = ShopData(transactions=shop.transactions.loc[shop.transactions["ts"] < CUTOFF])
    panel, store = shop_panel(data, CUTOFF, "W")
    est = make_forecaster("ma", freq="W", horizon=4).fit(panel)
    d = save_model(est, tmp_path / "fc", task="forecast", cutoff=CUTOFF,
                   features=feature_hashes([store.view(view_for("W"))]),
                   extra={"freq": "W", "horizon": 4})  # fmt: skip
    uri = _register(d, "fc-serve")
    skus = sorted(panel["sku"].unique())[:5]
    hist = panel.loc[panel["sku"].isin(skus), ["sku", "ds", "y"]].reset_index(drop=True)
    expected = est.predict(hist, start=CUTOFF)
    # in Python, counts passed as integers are accepted by the signature (as decimals are)
    import mlflow

    ints = hist.assign(y=hist["y"].round().astype("int64"))
    out = mlflow.pyfunc.load_model(uri).predict(ints, params={"start": str(CUTOFF.date())})
    assert len(out) == 5 * 4 and out["mean"].notna().all()
    with serve(uri, tmp_path) as base:
        got = invoke(base, hist, {"start": str(CUTOFF.date())})
        bad = invoke(base, hist.drop(columns="y"))
    assert isinstance(got, pd.DataFrame), got
    assert sorted(got["sku"].unique()) == skus
    assert len(got) == 5 * 4
    got["ds"] = pd.to_datetime(got["ds"])
    np.testing.assert_allclose(got["mean"], expected["mean"], rtol=1e-6)
    np.testing.assert_allclose(got["q90"], expected["q90"], rtol=1e-6)
    assert (got["ds"].min()) == CUTOFF
    # a request without the y column is refused by the declared signature
    assert isinstance(bad, tuple) and bad[0] == 400 and "y" in bad[1]


@pytest.mark.slow
def test_serve_churn(mlflow_uri: str, tmp_path: Path, shop: Any) -> None:
    from ecomml.churn.model import SCORED_COLUMNS, ChurnModel
    from ecomml.data.shop import ShopData

    tx = shop.transactions.loc[shop.transactions["ts"] < CUTOFF].reset_index(drop=True)
    store = store_from_shop(ShopData(transactions=tx))
    model = ChurnModel(60, max_cutoffs=3).fit(tx, store, cutoff=CUTOFF)
    d = save_model(model, tmp_path / "churn", task="churn", cutoff=CUTOFF,
                   features=feature_hashes([store.view(v) for v in model.views_]))  # fmt: skip
    uri = _register(d, "churn-serve")
    batch = tx.loc[tx["customer_id"].isin(tx["customer_id"].drop_duplicates().head(25))]
    batch = batch[["order_id", "customer_id", "sku", "ts", "quantity", "price"]]
    expected = model.pyfunc_predict(batch.reset_index(drop=True), {"cutoff": str(CUTOFF.date())})
    with serve(uri, tmp_path) as base:
        got = invoke(base, batch, {"cutoff": str(CUTOFF.date())})
    assert isinstance(got, pd.DataFrame), got
    assert list(got.columns) == list(SCORED_COLUMNS)
    assert set(got["customer_id"]) == set(batch["customer_id"])
    m = got.merge(expected, on="customer_id", suffixes=("", "_py"))
    np.testing.assert_allclose(m["p_churn"], m["p_churn_py"], rtol=1e-6)


@pytest.mark.slow
def test_serve_recommend(mlflow_uri: str, tmp_path: Path, shop: Any) -> None:
    from ecomml.recommend import RecommenderPipeline, build_interactions

    inter = build_interactions(shop.transactions, None, cutoff=CUTOFF)
    model = RecommenderPipeline(
        generators=("buy-again", "recent-popular", "item-bm25"), n_estimators=30
    ).fit(inter, cutoff=CUTOFF)
    d = save_model(model, tmp_path / "rec", task="recommend", cutoff=CUTOFF)
    uri = _register(d, "rec-serve")
    who = pd.DataFrame({"customer_id": [*inter["customer_id"].drop_duplicates().head(4), "new"]})
    expected = model.recommend(who["customer_id"].astype(str), 5)
    with serve(uri, tmp_path) as base:
        got = invoke(base, who, {"k": 5})
    assert isinstance(got, pd.DataFrame), got
    assert list(got.columns) == ["customer_id", "sku", "rank", "score", "source"]
    assert got.groupby("customer_id").size().eq(5).all()
    assert set(got["customer_id"]) == set(who["customer_id"].astype(str))
    assert (got.loc[got["customer_id"] == "new", "source"] == "popular-cold-start").all()
    pd.testing.assert_frame_equal(
        got[["customer_id", "sku", "rank"]].reset_index(drop=True),
        expected[["customer_id", "sku", "rank"]].reset_index(drop=True),
        check_dtype=False,
    )
