"""The steps every ``ecomml train|predict TASK`` command shares: read the shop, save and log
a fitted model, load a model and score it (locally or on Spark) under the pseudonym rules,
write the table. The task modules of :mod:`ecomml.cli` only add their own options.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ecomml.cli._common import make_progress
from ecomml.cli.options import ID_KEY_ENV, DataOptions, IdOptions, SparkOptions, TrackOptions

__all__ = ["steps", "Scored", "score_command", "save_and_log"]


@contextmanager
def steps(first: str, *, transient: bool = False) -> Iterator[Callable[[str], None]]:
    """A progress spinner whose description each step replaces: ``say("fitting")``."""
    with make_progress(transient=transient) as bar:
        task = bar.add_task(first, total=None)
        yield lambda msg: bar.update(task, description=msg)


@dataclass
class Scored:
    """What a predict command scored: the table, the loaded model and (locally) the shop."""

    frame: pd.DataFrame
    loaded: Any
    shop: Any
    cutoff: pd.Timestamp


def score_command(
    task: str,
    *,
    data: DataOptions,
    model: str,
    cutoff: str,
    output: Path,
    spark: SparkOptions | None = None,
    ids: IdOptions | None = None,
    spark_score: Callable[[pd.Timestamp, dict[str, Any]], pd.DataFrame] | None = None,
    options: Callable[[Any], Mapping[str, Any]] | None = None,
    required: bool = True,
    default_format: str | None = None,
    inputs: tuple[Path | None, ...] = (),
    trust_pickle: bool = False,
) -> Scored:
    """Load ``model`` for ``task``, score it as of ``cutoff`` and write ``output``.

    With ``--engine spark`` ``spark_score(cutoff, options)`` scores instead of the local store. With
    ``--hash-ids`` (``ids``) the output's customer ids are pseudonyms; a model trained on
    pseudonyms is scored on pseudonymised input (and refused on Spark). ``options(key)``
    gives the task's scoring options (``key``: the pseudonym key the model's ids need).
    """
    from ecomml.cli._common import configure_tracking
    from ecomml.exceptions import ConfigError
    from ecomml.modelstore import is_mlflow_uri
    from ecomml.privacy import check_model_ids, pseudonymize_frame, pseudonymize_shop
    from ecomml.runner import check_output_name, load_task_model, score, write_output
    from ecomml.task import TaskData

    cut = data.date(cutoff)
    data.refuse_overwrite(("--output", output), inputs=[model, *inputs])
    if default_format is None:
        check_output_name(output)
    key = ids.key() if ids is not None else None
    if is_mlflow_uri(model):
        configure_tracking()  # the CLI's store, where --register put the model
    on_spark = spark is not None and spark.use(data)
    shop = None
    with steps("loading model") as say:
        loaded = load_task_model(model, task, trust_pickle=trust_pickle or None)
        env = ids.id_key_env if ids is not None else ID_KEY_ENV
        hashed = check_model_ids(loaded.metadata, key, model=model, env=env)
        if on_spark and hashed:
            raise ConfigError(
                "--engine spark scores models trained on real customer ids; this one "
                "knows pseudonyms only: score it with the local engine"
            )
        opts = dict(options(key if hashed else None)) if options is not None else {}
        if on_spark and spark_score is not None:
            say(f"scoring {task} on Spark")
            frame = spark_score(cut, opts)
        else:
            say("reading data")
            shop = data.shop(cut, required=required)
            if hashed:  # the model knows customers by pseudonym only
                shop = pseudonymize_shop(shop, key)
            say(f"scoring {task}")
            frame = score(task, loaded, TaskData(shop, cut), **opts)
        if key is not None and not hashed:
            frame = pseudonymize_frame(frame, key)
        say("writing")
        write_output(frame, output, default_format=default_format)
    return Scored(frame, loaded, shop, cut)


def save_and_log(
    task: Any,
    model: Any,
    data: Any,
    *,
    model_dir: Path,
    tracking: TrackOptions,
    params: Mapping[str, Any],
    metrics: Mapping[str, float] | None = None,
    figures: Mapping[str, Any] | None = None,
    plots_dir: Path | None = None,
    run_name: str | None = None,
    run_params: Mapping[str, Any] | None = None,
    register: str | None = None,
    say: Callable[[str], None] = lambda msg: None,
) -> tuple[Path, str | None]:
    """Save a fitted model with the one metadata writer, save its figures as PNGs in
    ``plots_dir`` and log the training run (unless ``--no-track``); returns the model
    folder and the MLflow run id."""
    from ecomml.cli._common import err_console
    from ecomml.plots import save_figure
    from ecomml.runner import TrainResult, log_training_run, save_task_model

    if {"customer_id", "order_id", "sku"} <= set(data.shop.transactions.columns):
        for warning in task.data_warnings(data.shop, data.cutoff):
            err_console.print(f"[yellow]warning: {warning}[/yellow]", soft_wrap=True)
    say("saving the model")
    path = save_task_model(task, model, model_dir, data, params=params, metrics=metrics)
    plots = {}
    if figures and plots_dir is not None:
        plots = {n: save_figure(f, plots_dir / n) for n, f in figures.items()}
    run_id = None
    if tracking.uri() is not None:
        say("logging to MLflow")
        run_id = log_training_run(
            TrainResult(task, model, path, dict(metrics or {})), data.shop, cutoff=data.cutoff,
            experiment=tracking.name(task.name), run_name=run_name,
            plots=plots, register=register, params=run_params,
        )  # fmt: skip
    return path, run_id
