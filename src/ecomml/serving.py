"""The MLflow "models from code" file: MLflow stores this file, not a pickled wrapper.

``load_context`` verifies and loads the model directory saved by
``ecomml.modelstore.save_model`` (or a bare joblib estimator from ``log_estimator``);
``predict`` hands the request to the model's task (``Task.serve``, found through
:mod:`ecomml.registry`); a bare estimator is scored by what it offers (``predict_proba`` or
``predict``). Parameters left at their signature default of None (or sent empty) are not
passed on.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class EcommlPyfuncModel(PythonModel):
    """Serve any ecomml estimator through MLflow pyfunc."""

    def load_context(self, context: Any) -> None:
        """Load the estimator after checking its SHA-256 against the training manifest."""
        if "model_dir" in context.artifacts:
            from ecomml.modelstore import load_model

            loaded = load_model(context.artifacts["model_dir"])
            self.estimator, self.task = loaded.model, loaded.task
            return
        from ecomml.tracking import load_estimator

        self.estimator = load_estimator(
            context.artifacts["estimator"], manifest=context.artifacts.get("manifest")
        )
        self.task = ""

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Score ``model_input`` with the estimator; returns a frame with key columns."""
        est = self.estimator
        params = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        from ecomml.registry import get_model_task, model_task_names

        task = getattr(self, "task", "")
        if task in model_task_names() and type(est).__module__.startswith("ecomml."):
            return get_model_task(task).serve(est, model_input, params)
        if hasattr(est, "pyfunc_predict"):
            return est.pyfunc_predict(model_input, params=params)
        if hasattr(est, "predict_proba"):
            proba = est.predict_proba(model_input)
            return pd.DataFrame({"score": proba[:, -1]}, index=model_input.index)
        out = est.predict(model_input)
        if isinstance(out, pd.DataFrame):
            return out
        return pd.DataFrame({"prediction": out}, index=model_input.index)


mlflow.models.set_model(EcommlPyfuncModel())
