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

from ecomml._io import OUTPUT_SUFFIXES, atomic_write_table, check_output_name
from ecomml.registry import get_model_task, model_task_names
from ecomml.task import Evaluation, ModelTask, Say, TaskData, Trained, quiet

if TYPE_CHECKING:
    from ecomml.data.shop import ShopData
    from ecomml.modelstore import LoadedModel

__all__ = [
    "OUTPUT_SUFFIXES",
    "TrainResult",
    "as_task",
    "check_output_name",
    "load_task_model",
    "log_training_run",
    "model_metadata",
    "save_task_model",
    "score",
    "train",
    "write_output",
]

#: file endings the one table writer accepts


def as_task(task: ModelTask | str) -> ModelTask:
    """A task object from a task or its registered name (a task with a model)."""
    return get_model_task(task) if isinstance(task, str) else task


@dataclass
class TrainResult:
    """A fitted model, where it was saved, its validation metrics and figures; from
    :func:`save_trained` also what the task's training handed back (``trained``: console
    lines and warnings) and the figures' PNG files (``plots``)."""

    task: ModelTask
    model: Any
    path: Path
    metrics: dict[str, float] = field(default_factory=dict)
    evaluation: Evaluation | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    trained: Trained | None = None
    plots: dict[str, Path] = field(default_factory=dict)


def model_metadata(
    task: ModelTask, model: Any, shop: ShopData, params: Mapping[str, Any]
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
    task: ModelTask | str,
    model: Any,
    model_dir: str | os.PathLike[str],
    data: TaskData,
    *,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
) -> Path:
    """Save ``model`` with the one metadata layout every task shares (atomic, verified):
    the task, cutoff, feature-view hashes, training window, params and metrics, the data
    fingerprint and the task's own metadata."""
    from ecomml.modelstore import feature_hashes, save_model

    t = as_task(task)
    views = [data.store.view(v) for v in t.views(model)]
    clean = {k: float(v) for k, v in (metrics or {}).items() if pd.notna(v)}
    return save_model(
        model,
        model_dir,
        task=t.name,
        cutoff=data.cutoff,
        metrics=clean,
        features=feature_hashes(views),
        training_window=t.training_window(model, data.shop),
        extra=model_metadata(t, model, data.shop, dict(params or {})),
    )


def train(
    task: ModelTask | str,
    data: TaskData,
    model_dir: str | os.PathLike[str],
    *,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    progress: Say = quiet,
) -> TrainResult:
    """Fit ``task`` on ``data`` and save the model folder."""
    t = as_task(task)
    model = t.fit(data, params=params, progress=progress)
    progress("saving the model")
    path = save_task_model(t, model, model_dir, data, params=params, metrics=metrics)
    return TrainResult(t, model, path, dict(metrics or {}))


def load_task_model(
    uri: str | os.PathLike[str], task: ModelTask | str, *, trust_pickle: bool | None = None
) -> LoadedModel:
    """Load a model folder or MLflow URI saved for ``task`` (verified, task checked; a
    pickled model only with ``trust_pickle``, see :func:`ecomml.modelstore.load_model`)."""
    from ecomml.modelstore import load_model

    t = as_task(task)
    loaded = load_model(uri, task=t.name, trust_pickle=trust_pickle)
    t.check_model(loaded.model)
    return loaded


def score(
    task: ModelTask | str, loaded: LoadedModel, data: TaskData, **options: Any
) -> pd.DataFrame:
    """Score a loaded model on ``data``, after checking that the store's feature views are
    the ones the model was trained on."""
    return score_tables(task, loaded, data, **options)[0]


def score_tables(
    task: ModelTask | str, loaded: LoadedModel, data: TaskData, **options: Any
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """:func:`score` with the task's side tables (:meth:`~ecomml.task.Task.score_tables`)."""
    from ecomml.modelstore import check_feature_hashes

    t = as_task(task)
    names = t.views(loaded.model)
    if names:
        check_feature_hashes(loaded, [data.store.view(v) for v in names])
    return t.score_tables(loaded.model, data, **options)


def write_output(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    option: str = "--output",
    default_format: str | None = None,
) -> Path:
    """The one table writer: Parquet or CSV by suffix, atomic, microsecond timestamps.

    Another suffix is refused, unless ``default_format`` (``"parquet"``) says what to write.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        if default_format is None:
            check_output_name(path, option)
        return atomic_write_table(path, frame, fmt=default_format)
    return atomic_write_table(path, frame, fmt="csv" if suffix == ".csv" else "parquet")


def model_signature(model_dir: str | os.PathLike[str]) -> Any:
    """The MLflow signature of a saved model: its class's own, else its task's."""
    from ecomml.modelstore import pyfunc_signature, read_metadata

    meta = read_metadata(model_dir, verify=False)  # modelstore.log_model verifies the folder
    sig = pyfunc_signature(meta)
    if sig is None and str(meta.get("class", "")).startswith("ecomml."):
        name = str(meta.get("task", ""))
        sig = get_model_task(name).signature() if name in model_task_names() else None
    return sig


def log_model(
    model_dir: str | os.PathLike[str], *, register: str | None = None, name: str = "model"
) -> Any:
    """Log a saved model folder as an MLflow pyfunc with its task's signature."""
    from ecomml import modelstore

    meta = modelstore.read_metadata(model_dir, verify=False)  # log_model verifies the folder
    headline = None
    if meta.get("task") in model_task_names():
        headline = get_model_task(str(meta["task"])).headline(meta.get("metrics") or {})
    return modelstore.log_model(
        model_dir, name=name, registered_model_name=register, signature=model_signature(model_dir),
        headline=headline,
    )  # fmt: skip


def _flat_params(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        if isinstance(v, (list, tuple)):
            out[k] = ",".join(map(str, v))
        elif isinstance(v, Mapping):
            out.update({f"{k}.{kk}": vv for kk, vv in v.items()})
        else:
            out[k] = v
    return out


def log_training_run(
    result: TrainResult,
    shop: ShopData,
    *,
    cutoff: pd.Timestamp,
    experiment: str,
    run_name: str | None = None,
    params: Mapping[str, Any] | None = None,
    plots: Mapping[str, os.PathLike[str] | str] | None = None,
    register: str | None = None,
) -> str:
    """Log one training run (fingerprint, params, metrics, plots, the model as a pyfunc,
    optionally a registry version) to the tracking URI the caller configured; returns
    the run id. Params and metadata pass through the scrubbing of :mod:`ecomml.tracking`."""

    from ecomml.tracking import log_files, log_fingerprint, log_metrics, log_params, tracked_run

    t = result.task
    with tracked_run(
        experiment, run_name=run_name or f"train-{t.name}", tags={"ecomml.task": t.name}
    ) as run:
        log_fingerprint(shop.fingerprint, cutoff=cutoff)
        model_params = {}
        if hasattr(result.model, "get_params"):
            model_params = {
                k: v
                for k, v in result.model.get_params(deep=False).items()
                if v is None or isinstance(v, (str, int, float, bool, list, tuple, dict))
            }
        log_params(_flat_params({**model_params, **dict(params or {})}))
        log_metrics(result.metrics)
        log_files((plots or {}).values(), f"plots/{t.name}")
        log_model(result.path, register=register)
        result.run_id = str(run.info.run_id)
        return result.run_id
