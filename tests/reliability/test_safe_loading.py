"""Safe model loading: nothing in a model folder is used before its SHA-256 is checked.

ecomml's own models are LightGBM text models, JSON, Parquet and ``.npy`` (loaded with
``allow_pickle=False``); a foreign estimator is stored with joblib and unpickled only
from the very bytes that matched the manifest. A malicious pickle must never run: the
tests plant one that would create a marker file and assert the marker never appears.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from ecomml.exceptions import ModelLoadError
from ecomml.forecasting import LightGBMForecaster
from ecomml.modelstore import MANIFEST_FILE, METADATA_FILE, MODEL_FILE, load_model, save_model
from ecomml.recommend import ItemKNNRecommender
from ecomml.tracking import file_sha256


class _Evil:
    """Unpickling this runs ``open(marker, "w")``: the attack the manifest must stop."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (self.marker, "w"))


def _evil_pickle(marker: Path) -> bytes:
    return pickle.dumps(_Evil(marker))


def _panel() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ds = pd.date_range("2023-01-02", periods=40, freq="7D")
    return pd.concat(
        [pd.DataFrame({"sku": f"S{i}", "ds": ds, "y": rng.poisson(3.0, len(ds)).astype(float)})
         for i in range(6)],
        ignore_index=True,
    )  # fmt: skip


def _interactions() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 300
    return pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in rng.integers(0, 40, n)],
            "sku": [f"S{i}" for i in rng.integers(0, 25, n)],
            "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90, n), "D"),
        }
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One model folder per storage format: LightGBM text+JSON+Parquet, .npy+Parquet, joblib."""
    d = tmp_path_factory.mktemp("safe")
    fc = LightGBMForecaster(horizon=2, n_estimators=10, max_origins=5).fit(_panel())
    rec = ItemKNNRecommender().fit(_interactions())
    X = np.random.default_rng(2).normal(size=(60, 3))
    lr = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    return {
        "forecast": save_model(fc, d / "forecast", task="forecast"),
        "recommend": save_model(rec, d / "recommend", task="recommend"),
        "joblib": save_model(lr, d / "joblib", task="churn"),
    }


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def _files(d: Path) -> list[str]:
    return sorted(json.loads((d / MANIFEST_FILE).read_text()))


def test_own_models_hold_no_pickle(saved: dict[str, Path]) -> None:
    for task in ("forecast", "recommend"):
        d = saved[task]
        assert json.loads((d / METADATA_FILE).read_text())["format"] == "artifacts"
        assert not [f for f in _files(d) if f.endswith((".pkl", ".joblib", ".pickle"))]
        load_model(d, task=task)


@pytest.mark.parametrize("kind", ["forecast", "recommend", "joblib"])
def test_a_flipped_byte_in_any_file_is_refused(
    kind: str, saved: dict[str, Path], tmp_path: Path
) -> None:
    files = _files(saved[kind])
    assert len(files) >= 2
    for i, rel in enumerate(files):
        d = _copy(saved[kind], tmp_path / f"m{i}")
        data = bytearray((d / rel).read_bytes())
        pos = len(data) // 2
        data[pos] ^= 0x01
        (d / rel).write_bytes(bytes(data))
        with pytest.raises(ModelLoadError, match="does not match the manifest") as err:
            load_model(d)
        assert rel.split("/")[-1] in str(err.value)


def test_malicious_pickle_is_never_executed(saved: dict[str, Path], tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    evil = _evil_pickle(marker)
    # sanity: this pickle really does run code when loaded
    pickle.loads(evil).close()
    assert marker.exists()
    marker.unlink()

    # 1. model.joblib replaced
    d = _copy(saved["joblib"], tmp_path / "swapped")
    (d / MODEL_FILE).write_bytes(evil)
    with pytest.raises(ModelLoadError, match=rf"{MODEL_FILE}: SHA-256 .* does not match"):
        load_model(d)
    # 2. an ecomml (pickle-free) model turned into a joblib one: the metadata changed
    d = _copy(saved["forecast"], tmp_path / "reformatted")
    meta = json.loads((d / METADATA_FILE).read_text())
    meta["format"] = "joblib"
    (d / METADATA_FILE).write_text(json.dumps(meta))
    (d / MODEL_FILE).write_bytes(evil)
    with pytest.raises(ModelLoadError, match="files not in the manifest: model.joblib"):
        load_model(d)
    (d / MODEL_FILE).unlink()
    with pytest.raises(ModelLoadError, match=rf"{METADATA_FILE}: SHA-256"):
        load_model(d)
    # 3. a pickle dropped beside a good model
    d = _copy(saved["recommend"], tmp_path / "extra")
    (d / "model.pkl").write_bytes(evil)
    with pytest.raises(ModelLoadError, match="files not in the manifest: model.pkl"):
        load_model(d)
    # 4. the manifest entry removed together with the pickle's hash check
    d = _copy(saved["joblib"], tmp_path / "unlisted")
    man = json.loads((d / MANIFEST_FILE).read_text())
    del man[MODEL_FILE]
    (d / MANIFEST_FILE).write_text(json.dumps(man))
    (d / MODEL_FILE).write_bytes(evil)
    with pytest.raises(ModelLoadError, match="files not in the manifest: model.joblib"):
        load_model(d)
    assert not marker.exists()


def test_incomplete_or_forged_folders_are_refused(saved: dict[str, Path], tmp_path: Path) -> None:
    cases = {}

    d = _copy(saved["forecast"], tmp_path / "no_manifest")
    (d / MANIFEST_FILE).unlink()
    cases["no_manifest"] = (d, "no artifact_manifest.json; refusing to load an unverified")

    d = _copy(saved["forecast"], tmp_path / "missing_file")
    (d / "lightgbm_model.txt").unlink()
    cases["missing_file"] = (d, "file lightgbm_model.txt listed in the manifest is missing")

    d = _copy(saved["recommend"], tmp_path / "extra_file")
    (d / "notes.txt").write_text("hello")
    cases["extra_file"] = (d, "files not in the manifest: notes.txt")

    d = _copy(saved["recommend"], tmp_path / "nested_extra")
    (d / "sub").mkdir()
    (d / "sub" / "x.npy").write_bytes(b"\x93NUMPY")
    cases["nested_extra"] = (d, "files not in the manifest: sub/x.npy")

    d = _copy(saved["forecast"], tmp_path / "bad_json")
    (d / MANIFEST_FILE).write_text("{not json")
    cases["bad_json"] = (d, "unreadable manifest")

    d = _copy(saved["forecast"], tmp_path / "not_hashes")
    (d / MANIFEST_FILE).write_text(json.dumps({"lightgbm_model.txt": "abc"}))
    cases["not_hashes"] = (d, "not an ecomml manifest")

    d = _copy(saved["forecast"], tmp_path / "escape")
    man = json.loads((d / MANIFEST_FILE).read_text())
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    man["../outside.txt"] = file_sha256(outside)
    (d / MANIFEST_FILE).write_text(json.dumps(man))
    cases["escape"] = (d, "points outside the model directory")

    d = _copy(saved["forecast"], tmp_path / "no_metadata")
    man = json.loads((d / MANIFEST_FILE).read_text())
    del man[METADATA_FILE]
    (d / METADATA_FILE).unlink()
    (d / MANIFEST_FILE).write_text(json.dumps(man))
    cases["no_metadata"] = (d, f"no {METADATA_FILE}; not an ecomml model directory")

    d = _copy(saved["forecast"], tmp_path / "symlink")
    target = d / "lightgbm_model.txt"
    real = tmp_path / "elsewhere.txt"
    real.write_bytes(target.read_bytes())
    target.unlink()
    os.symlink(real, target)
    cases["symlink"] = (d, "is a symbolic link")

    d = _copy(saved["forecast"], tmp_path / "foreign_class")
    meta = json.loads((d / METADATA_FILE).read_text())
    meta["class"] = "os.system"
    (d / METADATA_FILE).write_text(json.dumps(meta))
    man = json.loads((d / MANIFEST_FILE).read_text())
    man[METADATA_FILE] = file_sha256(d / METADATA_FILE)  # even with a consistent manifest
    (d / MANIFEST_FILE).write_text(json.dumps(man))
    cases["foreign_class"] = (d, "refusing to import non-ecomml class os.system")

    for name, (folder, message) in cases.items():
        with pytest.raises(ModelLoadError) as err:
            load_model(folder)
        assert message in str(err.value), (name, str(err.value))
        assert str(folder) in str(err.value), name


def test_mlflow_downloads_are_verified_the_same_way(
    saved: dict[str, Path], tmp_path: Path, mlflow_uri: str
) -> None:
    import mlflow

    from ecomml.modelstore import log_model
    from ecomml.tracking import tracked_run

    marker = tmp_path / "PWNED"
    with tracked_run("safe-loading"):
        info = log_model(saved["joblib"], registered_model_name="safe_demo")
        run_id = mlflow.active_run().info.run_id  # type: ignore[union-attr]
    uri = f"runs:/{run_id}/model"
    assert load_model(uri, task="churn", trust_pickle=True).metadata["task"] == "churn"
    meta = load_model("models:/safe_demo/1", task="churn", trust_pickle=True).metadata
    assert meta["task"] == "churn"
    # tamper with the stored artifact inside the MLflow artifact store
    stored = [
        p
        for p in (tmp_path / "mlruns").rglob(MODEL_FILE)
        if run_id in str(p) or info.model_id in str(p)
    ]
    assert stored, list((tmp_path / "mlruns").rglob("*"))[:20]
    for p in stored:
        p.write_bytes(_evil_pickle(marker))
    for target in (uri, "models:/safe_demo/1"):
        with pytest.raises(ModelLoadError, match=rf"{MODEL_FILE}: SHA-256 .* does not match"):
            load_model(target)
    # MLflow's own pyfunc loader goes through the same check
    with pytest.raises(ModelLoadError, match="does not match the manifest"):
        mlflow.pyfunc.load_model(uri)
    assert not marker.exists()


def test_documented_limit_a_rewritten_manifest_is_trusted(
    saved: dict[str, Path], tmp_path: Path
) -> None:
    """Without $ECOMML_MODEL_KEY the manifest is not signed: who can rewrite the folder
    can rewrite both. This test pins that documented limit (with a harmless object, not an
    exploit); with the key set the same rewrite is refused (tests/test_modelstore.py)."""
    import joblib

    d = _copy(saved["joblib"], tmp_path / "rewritten")
    marker = tmp_path / "PWNED"
    (d / MODEL_FILE).write_bytes(_evil_pickle(marker))
    man = json.loads((d / MANIFEST_FILE).read_text())
    man[MODEL_FILE] = file_sha256(d / MODEL_FILE)
    (d / MANIFEST_FILE).write_text(json.dumps(man))
    # a planted pickle with a rewritten manifest does not run: pickles need trust
    with pytest.raises(ModelLoadError, match="is a pickle"):
        load_model(d)
    assert not marker.exists()
    # trusting it is the documented limit (a harmless object here)
    joblib.dump({"replaced": True}, d / MODEL_FILE)
    man[MODEL_FILE] = file_sha256(d / MODEL_FILE)
    (d / MANIFEST_FILE).write_text(json.dumps(man))
    assert load_model(d, trust_pickle=True).model == {"replaced": True}


def test_ecomml_models_load_without_pickle(saved: dict[str, Path]) -> None:
    from ecomml.forecasting.baselines import TSBForecaster

    for name in ("forecast", "recommend"):
        assert not list(saved[name].rglob("*.joblib"))
        load_model(saved[name], trust_pickle=False)
    tsb = save_model(TSBForecaster(horizon=2).fit(_panel()), saved["forecast"].parent / "tsb",
                     task="forecast")  # fmt: skip
    assert not list(tsb.rglob("*.joblib"))
    assert isinstance(load_model(tsb, trust_pickle=False).model, TSBForecaster)
