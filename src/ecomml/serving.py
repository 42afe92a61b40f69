"""MLflow pyfunc loader module: MLflow imports this installed module, never code from the store.

Models are logged with ``loader_module="ecomml.serving"`` and their files as the pyfunc's
``data``: the model folder saved by :func:`ecomml.modelstore.save_model`, or a bare joblib
estimator with its manifest from :func:`ecomml.tracking.log_estimator`. MLflow calls
:func:`_load_pyfunc` on that data, which verifies the files (SHA-256 manifest, and the HMAC
signature when ``ECOMML_MODEL_KEY`` is set) before anything is parsed. A tampered store
cannot make MLflow run code: there is no code in it. ``predict`` hands the request to the
model's task (``Task.serve``, found through :mod:`ecomml.registry`); a bare estimator is
scored by what it offers (``predict_proba`` or ``predict``). Parameters left at their
signature default of None (or sent empty) are not passed on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel

__all__ = ["EcommlPyfuncModel", "ServedModel"]


class ServedModel:
    """An estimator (and its task) that answers MLflow serving requests."""

    def __init__(self, estimator: Any, task: str = "") -> None:
        self.estimator = estimator
        self.task = task

    def predict(
        self, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Score ``model_input`` with the estimator; returns a frame with key columns."""
        est = self.estimator
        params = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        from ecomml.registry import get_model_task, model_task_names

        if self.task in model_task_names() and type(est).__module__.startswith("ecomml."):
            return get_model_task(self.task).serve(est, model_input, params)
        if hasattr(est, "pyfunc_predict"):
            return est.pyfunc_predict(model_input, params=params)
        if hasattr(est, "predict_proba"):
            proba = est.predict_proba(model_input)
            return pd.DataFrame({"score": proba[:, -1]}, index=model_input.index)
        out = est.predict(model_input)
        if isinstance(out, pd.DataFrame):
            return out
        return pd.DataFrame({"prediction": out}, index=model_input.index)


def load_served(path: str | os.PathLike[str]) -> ServedModel:
    """The model stored at ``path`` (a model folder, or a joblib estimator and its
    manifest), verified before it is read."""
    from ecomml.modelstore import METADATA_FILE, load_model

    p = Path(path)
    if (p / METADATA_FILE).exists():
        loaded = load_model(p)
        return ServedModel(loaded.model, loaded.task)
    from ecomml.tracking import load_estimator

    return ServedModel(
        load_estimator(p / "estimator.joblib", manifest=p / "artifact_manifest.json")
    )


def _load_pyfunc(data_path: str) -> ServedModel:
    """MLflow's loader-module entry point (``mlflow.pyfunc.load_model``, ``models serve``)."""
    return load_served(data_path)


class EcommlPyfuncModel(PythonModel):
    """Kept so that wrappers pickled by ecomml 0.1 (``ecomml._pyfunc_model``) still resolve;
    new models are logged with the loader module above."""

    def load_context(self, context: Any) -> None:
        arts = context.artifacts
        self._served = (
            load_served(arts["model_dir"])
            if "model_dir" in arts
            else load_served(Path(arts["estimator"]).parent)
        )

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        return self._served.predict(model_input, params)
