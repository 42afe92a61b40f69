"""The MLflow "models from code" file: MLflow stores this file, not a pickled wrapper.

``load_context`` verifies and loads the model directory saved by
``ecomml.modelstore.save_model`` (or a bare joblib estimator from ``log_estimator``); ``predict`` dispatches on
what the estimator offers (``pyfunc_predict``, ``predict_proba`` or ``predict``).
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

            self.estimator = load_model(context.artifacts["model_dir"]).model
            return
        from ecomml.tracking import load_estimator

        self.estimator = load_estimator(
            context.artifacts["estimator"], manifest=context.artifacts.get("manifest")
        )

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Score ``model_input`` with the estimator; returns a frame with key columns."""
        est = self.estimator
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
