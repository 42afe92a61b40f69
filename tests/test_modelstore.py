"""Model directories: atomic save, verified load, MLflow round trip and registry tags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from ecomml.exceptions import FeatureMismatchError, ModelLoadError
from ecomml.features.views import builtin_views
from ecomml.modelstore import (
    MANIFEST_FILE,
    METADATA_FILE,
    MODEL_KEY_ENV,
    SIGNATURE_FILE,
    check_feature_hashes,
    feature_hashes,
    load_model,
    log_model,
    save_model,
)
from ecomml.tracking import tracked_run


@pytest.fixture(autouse=True)
def _trust_pickles(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests exercise the store with a custom scikit-learn estimator, which is
    saved as a pickle: trusted here (the trust rule is tested in test_safe_loading)."""
    monkeypatch.setenv("ECOMML_TRUST_PICKLE", "1")


def _fit(rng: np.random.Generator) -> tuple[LogisticRegression, pd.DataFrame]:
    X = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    y = (X["a"] + rng.normal(scale=0.5, size=80) > 0).astype(int)
    return LogisticRegression().fit(X, y), X


class _ArtifactModel:
    """A model that writes its own (non-pickle) files."""

    def __init__(self, coef: list[float]) -> None:
        self.coef = coef

    def save_artifacts(self, path: Path) -> None:
        (path / "coef.json").write_text(json.dumps(self.coef))

    @classmethod
    def load_artifacts(cls, path: Path) -> _ArtifactModel:
        return cls(json.loads((path / "coef.json").read_text()))

    def pyfunc_predict(self, X: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        return pd.DataFrame({"score": X["a"] * self.coef[0]})


def test_save_load_roundtrip(tmp_path: Path, rng: np.random.Generator) -> None:
    est, X = _fit(rng)
    views = builtin_views()
    d = save_model(
        est,
        tmp_path / "m",
        task="churn",
        cutoff="2021-01-01",
        metrics={"auc": 0.8},
        features=feature_hashes(views),
        training_window=("2020-01-01", "2020-12-31"),
        extra={"horizon": 90},
    )
    loaded = load_model(d, task="churn")
    np.testing.assert_allclose(loaded.model.predict_proba(X), est.predict_proba(X))
    assert loaded.task == "churn"
    assert loaded.metadata["cutoff"].startswith("2021-01-01")
    assert loaded.metadata["horizon"] == 90
    assert loaded.metadata["params"]["C"] == 1.0
    check_feature_hashes(loaded, views)


def test_save_replaces_previous_atomically(tmp_path: Path, rng: np.random.Generator) -> None:
    est, _ = _fit(rng)
    save_model(est, tmp_path / "m", task="churn")

    class Boom:
        def save_artifacts(self, path: Path) -> None:
            (path / "half.bin").write_bytes(b"x")
            raise RuntimeError("crash while writing")

    with pytest.raises(RuntimeError, match="crash"):
        save_model(Boom(), tmp_path / "m", task="churn")
    assert load_model(tmp_path / "m").metadata["class"].endswith("LogisticRegression")
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_tampered_and_wrong_task_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    est, _ = _fit(rng)
    d = save_model(est, tmp_path / "m", task="churn")
    with pytest.raises(ModelLoadError, match="not a 'forecast' model"):
        load_model(d, task="forecast")
    (d / "extra.pkl").write_bytes(b"evil")
    with pytest.raises(ModelLoadError, match="files not in the manifest"):
        load_model(d)
    (d / "extra.pkl").unlink()
    with open(d / "model.joblib", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelLoadError, match="does not match the manifest"):
        load_model(d)
    (d / MANIFEST_FILE).unlink()
    with pytest.raises(ModelLoadError, match="unverified"):
        load_model(d)


def test_missing_and_file_paths(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        load_model(tmp_path / "nope")
    f = tmp_path / "f.joblib"
    f.write_bytes(b"")
    with pytest.raises(ModelLoadError, match="is a file"):
        load_model(f)


def test_version_and_feature_mismatch(tmp_path: Path, rng: np.random.Generator) -> None:
    est, _ = _fit(rng)
    d = save_model(est, tmp_path / "m", task="churn", features={"customer_rfm": "0" * 64})
    loaded = load_model(d)
    with pytest.raises(FeatureMismatchError, match="changed definitions: customer_rfm"):
        check_feature_hashes(loaded, builtin_views())
    from tests._models import rewrite_metadata

    rewrite_metadata(d, ecomml_version="99.1.0")
    with pytest.raises(ModelLoadError, match="trained with ecomml 99.1.0"):
        load_model(d)


def test_artifact_format_never_unpickles(tmp_path: Path) -> None:
    d = save_model(_ArtifactModel([2.0]), tmp_path / "m", task="demo")
    assert not (d / "model.joblib").exists()
    meta = json.loads((d / METADATA_FILE).read_text())
    assert meta["format"] == "artifacts"
    # classes outside ecomml are never imported from metadata
    with pytest.raises(ModelLoadError, match="non-ecomml class"):
        load_model(d)


@pytest.mark.mlflow
def test_log_model_runs_and_registry_uris(mlflow_uri: str, rng: np.random.Generator) -> None:
    import mlflow

    est, X = _fit(rng)
    d = save_model(
        est, Path("models") / "churn", task="churn", metrics={"auc": 0.75, "ndcg@20": 0.5}
    )
    with tracked_run("tests"):
        info = log_model(
            d, registered_model_name="churn-demo", input_example=X.head(2),
            headline=("ndcg@20", 0.5),
        )  # fmt: skip
    by_run = load_model(info.model_uri, task="churn")
    np.testing.assert_allclose(by_run.model.predict_proba(X), est.predict_proba(X))
    by_name = load_model("models:/churn-demo/1", task="churn")
    assert by_name.metadata["metrics"] == {"auc": 0.75, "ndcg@20": 0.5}
    mv = mlflow.MlflowClient().get_model_version("churn-demo", "1")
    assert mv.tags["ecomml.task"] == "churn"
    # only the headline metric is a registry tag (the others stay on the run)
    assert mv.tags["metric.ndcg_20"] == "0.5"  # tag keys cannot hold "@"
    assert "metric.auc" not in mv.tags
    pyfunc = mlflow.pyfunc.load_model("models:/churn-demo/1")
    # the store holds data only: MLflow imports the installed ecomml.serving, no stored code
    assert pyfunc.loader_module == "ecomml.serving"
    local = Path(mlflow.artifacts.download_artifacts(info.model_uri))
    stored = [p.name for p in local.rglob("*") if p.is_file()]
    assert not [n for n in stored if n.endswith((".py", ".pkl", ".cloudpickle"))], stored
    out = pyfunc.predict(X.head(3))
    np.testing.assert_allclose(out["score"].to_numpy(), est.predict_proba(X.head(3))[:, 1])
    with pytest.raises(ModelLoadError, match="cannot download model"):
        load_model("models:/no-such-model/1")


@pytest.mark.parametrize(
    ("cls", "task", "inputs", "params"),
    [
        ("ecomml.forecasting.baselines.MovingAverage", "forecast", ["sku", "ds", "y"], ["start"]),
        ("ecomml.churn.model.ChurnModel", "churn",
         ["order_id", "customer_id", "sku", "ts", "quantity", "price", "category", "channel",
          "region", "return_of", "event"], ["cutoff"]),
        ("ecomml.recommend.pipeline.RecommenderPipeline", "recommend", ["customer_id"],
         ["k", "exclude_seen", "new_items"]),
    ],
)  # fmt: skip
def test_task_signatures(cls: str, task: str, inputs: list[str], params: list[str]) -> None:
    from ecomml.registry import get_task

    sig = get_task(task).signature()
    assert [c.name for c in sig.inputs.inputs] == inputs
    # the canonical transaction columns are required, the rest optional
    required = {c.name for c in sig.inputs.inputs if c.required}
    assert required == set(inputs[:6]) if task == "churn" else required == set(inputs)
    assert [p.name for p in sig.params.params] == params
    assert sig.outputs is not None


def test_foreign_estimators_get_no_declared_signature() -> None:
    from ecomml.modelstore import pyfunc_signature

    meta = {"class": "sklearn.linear_model.LogisticRegression", "task": "churn"}
    assert pyfunc_signature(meta) is None
    assert pyfunc_signature({"class": "ecomml.x.Y", "task": "unknown"}) is None


def test_mlflow_downloads_are_removed(
    mlflow_uri: str, rng: np.random.Generator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading a runs:/ model leaves no ecomml-model-* folder behind, in the library
    (clear_downloads) or when the process exits."""
    import os
    import subprocess
    import sys
    import tempfile

    from ecomml.modelstore import clear_downloads

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    est, X = _fit(rng)
    d = save_model(est, tmp_path / "m", task="churn")
    with tracked_run("tests"):
        info = log_model(d)
    loaded = load_model(info.model_uri, task="churn")
    assert loaded.path.is_dir() and loaded.path.is_relative_to(tmp)
    clear_downloads()
    assert not list(tmp.glob("ecomml-model-*"))

    env = {**os.environ, "TMPDIR": str(tmp), "MLFLOW_TRACKING_URI": mlflow_uri}
    code = "import sys; from ecomml.modelstore import load_model; load_model(sys.argv[1])"
    subprocess.run([sys.executable, "-c", code, info.model_uri], env=env, check=True)
    assert not list(tmp.glob("ecomml-model-*"))


KEY = "k" * 24


def test_signed_models_load_only_with_their_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With $ECOMML_MODEL_KEY set, the manifest is signed (HMAC-SHA256) and only folders
    signed with that key load: rewriting a file together with its manifest entry, the
    attack a checksum alone cannot stop, is refused."""
    from ecomml.data.fingerprint import file_sha256
    from ecomml.forecasting import MovingAverageForecaster

    panel = pd.DataFrame(
        {"sku": ["a"] * 6, "ds": pd.date_range("2024-01-01", periods=6, freq="W-MON"), "y": 1.0}
    )
    unsigned = save_model(MovingAverageForecaster().fit(panel), tmp_path / "u", task="forecast")
    assert not (unsigned / SIGNATURE_FILE).exists()
    monkeypatch.setenv(MODEL_KEY_ENV, KEY)
    d = save_model(MovingAverageForecaster().fit(panel), tmp_path / "m", task="forecast")
    assert (d / SIGNATURE_FILE).exists()
    assert load_model(d, task="forecast").model.n_skus_ == 1
    with pytest.raises(ModelLoadError, match="not signed"):
        load_model(unsigned)
    monkeypatch.setenv(MODEL_KEY_ENV, "x" * 24)
    with pytest.raises(ModelLoadError, match="signature does not match"):
        load_model(d)
    # a planted file with a rewritten manifest: the checksums agree, the signature does not
    monkeypatch.setenv(MODEL_KEY_ENV, KEY)
    meta = json.loads((d / METADATA_FILE).read_text())
    meta["params"]["window"] = 2
    (d / METADATA_FILE).write_text(json.dumps(meta))
    man = json.loads((d / MANIFEST_FILE).read_text())
    man[METADATA_FILE] = file_sha256(d / METADATA_FILE)
    (d / MANIFEST_FILE).write_text(json.dumps(man, indent=2, sort_keys=True))
    with pytest.raises(ModelLoadError, match="rewritten after training"):
        load_model(d)
    # without the key set, signatures are not required (and a signed folder still loads)
    monkeypatch.delenv(MODEL_KEY_ENV)
    assert load_model(unsigned, task="forecast").model.n_skus_ == 1
    monkeypatch.setenv(MODEL_KEY_ENV, "short")
    with pytest.raises(Exception, match="ECOMML_MODEL_KEY"):
        load_model(unsigned)
