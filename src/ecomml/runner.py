"""Fit, evaluate, save and score any registered task on a shop: the one place that writes
model metadata, saves a model folder and logs a training run to MLflow.

The CLI (``ecomml train|predict|backtest TASK``), experiments and the MLflow wrapper call
these functions; they never save or log a model themselves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ecomml._io import atomic_write_table
from ecomml.exceptions import InputFileError
from ecomml.registry import get_task
from ecomml.task import Evaluation, Say, Task, _quiet

if TYPE_CHECKING:
    from ecomml.data.shop import ShopData
    from ecomml.features.store import FeatureStore
    from ecomml.modelstore import LoadedModel

__all__ = [
    "TrainResult",
    "as_task",
    "model_metadata",
    "save_task_model",
    "train",
    "load_task_model",
    "score",
    "write_output",
    "OUTPUT_SUFFIXES",
]

#: file endings the one table writer accepts
OUTPUT_SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".pq")


def as_task(task: Task | str) -> Task:
    """A task object from a task or its registered name."""
    return get_task(task) if isinstance(task, str) else task


@dataclass
class TrainResult:
    """A fitted model, where it was saved, its validation metrics and figures."""

    task: Task
    model: Any
    path: Path
    metrics: dict[str, float] = field(default_factory=dict)
    evaluation: Evaluation | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None


def model_metadata(
    task: Task, model: Any, shop: ShopData, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Everything saved beside a model besides its class, params and metrics: the task's
    own metadata, the data fingerprint and source (scrubbed of e-mail-like text), and
    whether the model knows customers by keyed pseudonym."""
    from ecomml.privacy import id_metadata, scrub, scrub_mapping

    return {
        **task.metadata(model, shop, params),
        "source": scrub(str(shop.source)),
        "data": scrub_mapping(dict(shop.fingerprint or {})),
        **id_metadata(getattr(shop, "id_key", None)),
    }


def save_task_model(
    task: Task | str,
    model: Any,
    model_dir: str | os.PathLike[str],
    *,
    shop: ShopData,
    store: FeatureStore | None,
    cutoff: pd.Timestamp,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
) -> Path:
    """Save ``model`` with the one metadata layout every task shares (atomic, verified)."""
    from ecomml.features.store import store_from_shop
    from ecomml.modelstore import feature_hashes, save_model

    t = as_task(task)
    names = t.views(model)
    views = []
    if names:
        st = store if store is not None else store_from_shop(shop)
        views = [st.view(v) for v in names]
    clean = {k: float(v) for k, v in (metrics or {}).items() if pd.notna(v)}
    return save_model(
        model,
        model_dir,
        task=t.name,
        cutoff=cutoff,
        metrics=clean,
        features=feature_hashes(views),
        training_window=t.training_window(model, shop),
        extra=model_metadata(t, model, shop, dict(params or {})),
    )


def train(
    task: Task | str,
    shop: ShopData,
    *,
    cutoff: pd.Timestamp,
    model_dir: str | os.PathLike[str],
    params: Mapping[str, Any] | None = None,
    store: FeatureStore | None = None,
    metrics: Mapping[str, float] | None = None,
    progress: Say = _quiet,
) -> TrainResult:
    """Fit ``task`` on ``shop`` before ``cutoff`` and save the model folder."""
    t = as_task(task)
    model = t.fit(shop, store, cutoff=cutoff, params=params, progress=progress)
    progress("saving the model")
    path = save_task_model(
        t, model, model_dir, shop=shop, store=store, cutoff=cutoff, params=params,
        metrics=metrics,
    )  # fmt: skip
    return TrainResult(t, model, path, dict(metrics or {}))


def load_task_model(uri: str | os.PathLike[str], task: Task | str) -> LoadedModel:
    """Load a model folder or MLflow URI saved for ``task`` (verified, task checked)."""
    from ecomml.modelstore import load_model

    t = as_task(task)
    loaded = load_model(uri, task=t.name)
    t.check_model(loaded.model)
    return loaded


def score(
    task: Task | str,
    loaded: LoadedModel,
    shop: ShopData,
    *,
    cutoff: pd.Timestamp,
    store: FeatureStore | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Score a loaded model on ``shop`` as of ``cutoff``, after checking that the store's
    feature views are the ones the model was trained on."""
    from ecomml.features.store import store_from_shop
    from ecomml.modelstore import check_feature_hashes

    t = as_task(task)
    names = t.views(loaded.model)
    if names:
        store = store if store is not None else store_from_shop(shop)
        check_feature_hashes(loaded, [store.view(v) for v in names])
    return t.score(loaded.model, shop, store, cutoff=cutoff, **options)


def write_output(
    frame: pd.DataFrame, path: str | os.PathLike[str], *, option: str = "--output"
) -> Path:
    """The one table writer: Parquet or CSV by suffix, atomic, microsecond timestamps."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise InputFileError(f"{option} {path}: use a .csv or .parquet file name")
    return atomic_write_table(path, frame, fmt="csv" if suffix == ".csv" else "parquet")
