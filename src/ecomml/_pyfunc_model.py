"""The MLflow "models from code" file: MLflow stores this file, not a pickled wrapper.

``load_context`` verifies and loads the model directory saved by
``ecomml.modelstore.save_model`` (or a bare joblib estimator from ``log_estimator``); ``predict`` dispatches on
what the estimator offers (``pyfunc_predict``, ``recommend``, ``predict_proba`` or ``predict``).
Parameters left at their signature default of None (or sent empty) are not passed on.
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
        params = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        if hasattr(est, "pyfunc_predict"):
            return est.pyfunc_predict(model_input, params=params)
        if hasattr(est, "recommend"):
            return _recommend(est, model_input, params)
        if hasattr(est, "predict_proba"):
            proba = est.predict_proba(model_input)
            return pd.DataFrame({"score": proba[:, -1]}, index=model_input.index)
        out = est.predict(model_input)
        if isinstance(out, pd.DataFrame):
            return out
        return pd.DataFrame({"prediction": out}, index=model_input.index)


def _recommend(est: Any, model_input: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Top-k lists for the ``customer_id`` column (``params``: ``k``, ``exclude_seen``)."""
    from ecomml.exceptions import ConfigError, SchemaError

    if "customer_id" not in model_input.columns:
        raise SchemaError(
            f"recommendation requests need a customer_id column; got {list(model_input.columns)}",
            missing=["customer_id"],
            columns=list(model_input.columns),
        )
    if getattr(est, "uses_store_", False):
        raise ConfigError(
            "this recommender ranks with feature-store features, which a REST request cannot "
            "carry; serve a model trained without them (`ecomml train recommend --no-store`, "
            "or task_params.use_store: false in the experiment config), or use "
            "`ecomml predict recommend`"
        )
    customers = model_input["customer_id"].dropna().astype(str).drop_duplicates()
    k = int(params.get("k", 10))
    exclude = bool(params.get("exclude_seen", False))
    return est.recommend(customers, k, exclude_seen=exclude).reset_index(drop=True)


mlflow.models.set_model(EcommlPyfuncModel())
