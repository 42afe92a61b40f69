"""What ``ecomml train|predict|backtest TASK`` do, as library functions: train on a shop
and save the model (optionally on keyed customer pseudonyms, logged to MLflow), score a
saved model to a file, and backtest with plots. The CLI only parses options, chooses the
engine and prints; a library user calls the same functions.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ecomml import runner
from ecomml.exceptions import ConfigError, DataQualityWarning
from ecomml.privacy import ID_KEY_ENV
from ecomml.task import Evaluation, ModelTask, Option, Say, TaskData, Trained, Written, quiet

if TYPE_CHECKING:
    from ecomml.data.shop import ShopData

__all__ = ["Scored", "backtest", "save_trained", "score_to_file", "train_and_save"]


def _with_defaults(declared: Iterable[Option], options: Mapping[str, Any]) -> dict[str, Any]:
    """``options``, and the default of each ``declared`` option not given."""
    return {**{o.dest: o.default for o in declared if o.default is not ...}, **options}


def save_trained(
    task: ModelTask | str,
    trained: Trained,
    data: TaskData,
    model_dir: str | os.PathLike[str],
    *,
    experiment: str | None = None,
    register: str | None = None,
    run_params: Mapping[str, Any] | None = None,
    progress: Say = quiet,
) -> runner.TrainResult:
    """Save what :meth:`~ecomml.task.ModelTask.train` (or a Spark job) fitted on ``data``:
    the model folder, its figures as PNG (where ``trained.plots_dir`` says) and, with
    ``experiment``, one MLflow run (with ``run_params``; ``register``: a registry version)
    in the tracking store the caller configured."""
    from ecomml.plots import save_figure

    if register and experiment is None:
        raise ConfigError(f"register={register!r} needs an MLflow experiment to log the run to")
    t = runner.as_task(task)
    progress("saving the model")
    path = runner.save_task_model(
        t, trained.model, model_dir, data, params=trained.params, metrics=trained.metrics
    )
    plots = {}
    if trained.plots_dir is not None:
        plots = {n: save_figure(f, trained.plots_dir / n) for n, f in trained.figures.items()}
    result = runner.TrainResult(t, trained.model, path, dict(trained.metrics),
                                figures=trained.figures, trained=trained, plots=plots)  # fmt: skip
    if experiment is not None:
        progress("logging to MLflow")
        runner.log_training_run(
            result, data.shop, cutoff=data.cutoff, experiment=experiment,
            run_name=trained.run_name, plots=plots, register=register,
            params={**trained.run_params, **dict(run_params or {})},
        )  # fmt: skip
    return result


def train_and_save(
    task: ModelTask | str,
    shop: ShopData,
    cutoff: pd.Timestamp,
    options: Mapping[str, Any],
    model_dir: str | os.PathLike[str],
    *,
    key: str | None = None,
    experiment: str | None = None,
    register: str | None = None,
    run_params: Mapping[str, Any] | None = None,
    progress: Say = quiet,
    warn: Say | None = None,
) -> runner.TrainResult:
    """Train ``task`` on ``shop`` before ``cutoff`` with the train command's ``options``
    (its declared :attr:`~ecomml.task.Task.train_options`; defaults fill the rest) and save it in ``model_dir``
    (:func:`save_trained`). With ``key`` the model knows customers by keyed
    pseudonym only. ``warn`` hears that the data is too small to mean much, before the
    training starts (default: a :class:`~ecomml.exceptions.DataQualityWarning`)."""
    t = runner.as_task(task)
    if key is not None:
        from ecomml.privacy import pseudonymize_shop

        shop = pseudonymize_shop(shop, key)
    data = TaskData(shop, cutoff)
    for warning in t.data_warnings(shop, cutoff):
        if warn is None:
            warnings.warn(warning, DataQualityWarning, stacklevel=2)
        else:
            warn(warning)
    options = {**_with_defaults(t.train_options, options), "model_dir": Path(model_dir)}
    trained = t.train(data, options, progress=progress)
    return save_trained(t, trained, data, model_dir, experiment=experiment, register=register,
                        run_params=run_params, progress=progress)  # fmt: skip


@dataclass
class Scored:
    """What :func:`score_to_file` did: the scored table (as written), the model that scored
    it, the shop it read (None when another engine scored) and whether the model knows
    customers by pseudonym only."""

    frame: pd.DataFrame
    model: Any
    shop: ShopData | None
    hashed: bool


def score_to_file(
    task: ModelTask | str,
    model: str | os.PathLike[str],
    shop: ShopData | Callable[[pd.Timestamp], ShopData],
    cutoff: pd.Timestamp,
    output: str | os.PathLike[str],
    options: Mapping[str, Any],
    *,
    key: str | None = None,
    key_env: str = ID_KEY_ENV,
    trust_pickle: bool | None = None,
    engine: Callable[[dict[str, Any]], pd.DataFrame] | None = None,
    progress: Say = quiet,
) -> Scored:
    """Score the saved ``model`` as of ``cutoff`` with the predict command's ``options``
    (its declared :attr:`~ecomml.task.Task.predict_options`; defaults fill the rest) and write ``output`` and the task's side outputs.

    ``shop``: the shop, or ``shop(cutoff)`` reading it once the model has loaded.
    ``engine(score_options)`` scores elsewhere instead (Spark), for models that know real
    customer ids only. With ``key`` the written customer ids are pseudonyms; a model
    trained on pseudonyms (with that key, read from ``key_env``) is scored on
    pseudonymised input.
    """
    from ecomml.privacy import check_model_ids, pseudonymize_frame, pseudonymize_shop

    t = runner.as_task(task)
    options = _with_defaults(t.predict_options, options)
    if t.predict_format is None:
        runner.check_output_name(output)
    loaded = runner.load_task_model(model, t, trust_pickle=trust_pickle)
    hashed = check_model_ids(loaded.metadata, key, model=str(model), env=key_env)
    if engine is not None and hashed:
        raise ConfigError(
            "--engine spark scores models trained on real customer ids; this one "
            "knows pseudonyms only: score it with the local engine"
        )
    score_opts = t.score_options(options, key if hashed else None)
    read = None
    side: dict[str, pd.DataFrame] = {}
    if engine is not None:
        frame = engine(score_opts)
    else:
        progress("reading data")
        read = shop(cutoff) if callable(shop) else shop
        if hashed:  # the model knows customers by pseudonym only
            read = pseudonymize_shop(read, key)
        progress(f"scoring {t.name}")
        frame, side = runner.score_tables(t, loaded, TaskData(read, cutoff), **score_opts)
    if key is not None and not hashed:
        frame = pseudonymize_frame(frame, key)
    progress("writing")
    runner.write_output(frame, output, default_format=t.predict_format)
    for flag, path, table in t.side_outputs(frame, options, side):
        runner.write_output(table, path, option=flag, default_format="parquet")
    return Scored(frame, getattr(loaded, "model", loaded), read, hashed)


def backtest(
    task: ModelTask | str,
    shop: ShopData,
    cutoff: pd.Timestamp,
    options: Mapping[str, Any],
    *,
    plots_dir: str | os.PathLike[str] | None = None,
    log: bool = False,
    progress: Say = quiet,
) -> tuple[Evaluation, dict[str, Path]]:
    """The backtest command's report on ``shop`` before ``cutoff`` with its ``options``
    (the task's :attr:`~ecomml.task.Task.backtest_options`; defaults fill the rest), and
    its figures saved as PNG in ``plots_dir``. With ``log`` the metrics, the task's own options and the
    plots go to the active MLflow run (which the caller started)."""
    from ecomml.plots import save_figure
    from ecomml.tracking import log_written

    t = runner.as_task(task)
    options = _with_defaults(t.backtest_options, options)
    report = t.backtest_report(TaskData(shop, cutoff), options, progress=progress)
    plots = {}
    if plots_dir is not None:
        plots = {n: save_figure(f, Path(plots_dir) / n) for n, f in report.figures.items()}
    if log:
        params = {o.dest: options[o.dest] for o in t.backtest_options if o.file is None}
        log_written(Written(plots=plots, metrics=report.extra), params)
    return report, plots
