"""MLflow tracking helpers against a real (temporary SQLite) MLflow store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from ecomml.exceptions import TrackingError
from ecomml.tracking import (
    data_fingerprint,
    file_sha256,
    load_estimator,
    log_estimator,
    log_feature_manifest,
    log_fingerprint,
    tracked_run,
)

pytestmark = pytest.mark.mlflow


def _frame(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.Series]:
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    return X, (X["a"] + 0.3 * X["b"] > 0).astype(int)


def test_fingerprint_is_stable_and_sensitive(tmp_path: Path) -> None:
    df = pd.DataFrame({"ts": pd.to_datetime(["2020-01-01", "2020-01-02"]), "q": [1.0, 2.0]})
    a, b = data_fingerprint(df), data_fingerprint(df.copy())
    assert a["sha256"] == b["sha256"] and a["rows"] == 2 and a["max_ts"] == "2020-01-02 00:00:00"
    assert data_fingerprint(df.assign(q=[1.0, 2.5]))["sha256"] != a["sha256"]
    path = tmp_path / "d.parquet"
    df.to_parquet(path)
    fp = data_fingerprint(path)
    assert fp["rows"] == 2 and fp["sha256"] == file_sha256(path)


def test_log_estimator_roundtrip_as_pyfunc(mlflow_uri: str, rng: np.random.Generator) -> None:
    import mlflow

    X, y = _frame(rng)
    est = LogisticRegression().fit(X, y)
    with tracked_run("tests", run_name="lr", tags={"ecomml.task": "test"}) as run:
        log_fingerprint(data_fingerprint(X), cutoff="2020-01-01")
        digest = log_feature_manifest({"views": {"v": {"2020-01-01": {"sql_hash": "abc"}}}})
        info = log_estimator(
            est, metrics={"auc": 0.9}, cutoff="2020-01-01", input_example=X.head(2)
        )
    got = mlflow.get_run(run.info.run_id)
    assert got.data.metrics["auc"] == 0.9
    assert got.data.params["model.C"] == "1.0"
    assert got.data.params["cutoff"] == "2020-01-01"
    assert got.data.tags["ecomml.feature_manifest_hash"] == digest
    assert "ecomml.version" in got.data.tags
    model = mlflow.pyfunc.load_model(info.model_uri)
    pred = model.predict(X.head(5))
    np.testing.assert_allclose(pred["score"].to_numpy(), est.predict_proba(X.head(5))[:, 1])


def test_log_estimator_needs_active_run(mlflow_uri: str, rng: np.random.Generator) -> None:
    X, y = _frame(rng)
    with pytest.raises(TrackingError, match="needs an active MLflow run"):
        log_estimator(LogisticRegression().fit(X, y))


def test_tampered_artifact_is_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    import json

    import joblib

    X, y = _frame(rng)
    path = tmp_path / "estimator.joblib"
    joblib.dump(LogisticRegression().fit(X, y), path)
    (tmp_path / "artifact_manifest.json").write_text(
        json.dumps({"estimator.joblib": file_sha256(path)})
    )
    assert load_estimator(path).predict(X).shape == (60,)
    with open(path, "ab") as fh:
        fh.write(b"\x00")
    with pytest.raises(TrackingError, match="does not match the manifest"):
        load_estimator(path)
    (tmp_path / "artifact_manifest.json").unlink()
    with pytest.raises(TrackingError, match="refusing to load an unverified pickle"):
        load_estimator(path)


def test_default_tracking_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ecomml.tracking import default_tracking_uri

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert default_tracking_uri(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'mlruns.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    assert default_tracking_uri(tmp_path) == "http://mlflow:5000"
