"""``ecomml train|predict|backtest TASK``: every registered task's commands, built from the
options and hooks its :class:`~ecomml.task.Task` declares. No task is known here by name."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer

from ecomml._io import refuse_overwrite
from ecomml.cli._common import console, err_console, handle_errors, reflow, show, steps
from ecomml.cli.options import (
    DataOptions,
    IdOptions,
    SparkOptions,
    TrackOptions,
    TrustPickleOpt,
    with_groups,
)
from ecomml.privacy import ID_KEY_ENV
from ecomml.runner import check_output_name, write_output
from ecomml.task import Action, ModelTask, Option, Task
from ecomml.tracking import log_written

__all__ = ["register_tasks"]

_GROUPS: dict[str, type] = {"tracking": TrackOptions, "ids": IdOptions, "spark": SparkOptions}
_CUTOFF = Option("cutoff", "--cutoff", ..., "As-of date: rows with ts < cutoff.", str)

#: the options every command of a kind takes, before the task's own
_COMMON: dict[str, tuple[Option, ...]] = {
    "train": (
        _CUTOFF,
        Option("model_dir", "--model-dir", None, "Model folder.", Path, file="out"),
        Option(
            "register", "--register", None, "Register the model in MLflow under this name.", str
        ),  # fmt: skip
    ),
    "predict": (
        Option(
            "model", "--model", ..., "Model folder, runs:/<id>/model or models:/NAME@alias.", str
        ),  # fmt: skip
        _CUTOFF,
        Option("output", "--output", ..., "Output file: .csv or .parquet.", Path, short="-o"),
    ),
    "backtest": (_CUTOFF,),
}


def _parameter(opt: Option) -> inspect.Parameter:
    """The Typer parameter of one declared option."""
    kind = str if opt.type == "date" else opt.type if opt.type is not None else type(opt.default)
    required = opt.default is ...
    annotation = kind if required or opt.default is not None else kind | None
    names = [opt.flag, *([opt.short] if opt.short else [])]
    extra = {"min": opt.min} if opt.min is not None else {}
    default = typer.Option(opt.default, *names, help=opt.help, **extra)
    return inspect.Parameter(
        opt.dest, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def _typer_command(
    name: str, doc: str, group_names: tuple[str, ...], options: tuple[Option, ...],
    body: Callable[[dict[str, Any], dict[str, Any]], None], *, reads_shop: bool = True,
) -> Callable[..., None]:  # fmt: skip
    """A Typer command taking the data options (unless not ``reads_shop``), the
    ``group_names`` groups and ``options``; ``body(groups, options)`` runs under the CLI's
    error handling, with every ``type="date"`` option parsed as the shop's dates are."""
    data = {"data": DataOptions} if reads_shop else {}
    groups = {**data, **{g: _GROUPS[g] for g in group_names}}
    dates = [o for o in options if o.type == "date"]

    def command(**kwargs: Any) -> None:
        given = {g: kwargs.pop(g) for g in groups}
        with handle_errors():
            for o in dates:
                if kwargs[o.dest] is not None and "data" in given:
                    kwargs[o.dest] = given["data"].date(kwargs[o.dest], o.flag)
            body(given, kwargs)

    params = [inspect.Parameter(g, inspect.Parameter.KEYWORD_ONLY, annotation=c)
              for g, c in groups.items()]  # fmt: skip
    params += [_parameter(o) for o in options]
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
    command.__doc__ = doc
    command.__name__ = name
    return with_groups(command)


def _command(task: ModelTask, kind: str, body: Callable[..., None]) -> Callable[..., None]:
    """The ``ecomml <kind> <task>`` command: the common options of ``kind``, then the
    task's own; ``body(task, groups, options)``."""
    options = _options(task, kind)
    if kind == "train":  # each task's models in their own folder
        options = tuple(replace(o, default=Path("models") / task.name)
                        if o.dest == "model_dir" else o for o in options)  # fmt: skip
    if kind == "predict":
        options = (*options, Option("trust_pickle", "--trust-pickle", False, TrustPickleOpt.help))
    return _typer_command(
        f"{kind}_{task.name}", task.command_help.get(kind, f"{kind} {task.name}"),
        task.command_groups.get(kind, ()), options, lambda g, o: body(task, g, o),
    )  # fmt: skip


def _action(task: Task, action: Action) -> Callable[..., None]:
    """The ``ecomml <task> <action>`` command: check the paths, run, log, show."""

    def body(groups: dict[str, Any], opts: dict[str, Any]) -> None:
        data: DataOptions | None = groups.get("data")
        inputs = [p for _, p in _files(action.options, opts, "in")]
        refuse = data.refuse_overwrite if data is not None else refuse_overwrite
        refuse(*_files(action.options, opts, "out"), inputs=inputs)
        with steps("loading data", transient=True) as say:
            report = task.act(action.name, data.shop if data else _no_shop, opts, progress=say)
            tracking = groups.get("tracking")
            if tracking is not None:
                with tracking.run(task.name, report.run_name) as run:
                    if run is not None:
                        log_written(report.written, report.params)
        show(report.shown)

    return _typer_command(
        f"{task.name}_{action.name}", action.help, action.groups, action.options, body,
        reads_shop=action.reads_shop,
    )  # fmt: skip


def _no_shop(cutoff: Any) -> Any:
    """The shop of an action that reads its own files only: there is none."""
    raise NotImplementedError("this action takes no shop data (Action.reads_shop is False)")


def _options(task: ModelTask, kind: str) -> tuple[Option, ...]:
    """The options of ``ecomml <kind> <task>``: those of every ``kind`` command, then the task's."""
    return (*_COMMON[kind], *getattr(task, f"{kind}_options"))


def _files(options: Iterable[Option], opts: Mapping[str, Any], role: str) -> list[tuple[str, Any]]:
    """``(flag, path)`` of the given file ``options`` of ``role`` (in/out)."""
    return [(o.flag, opts[o.dest]) for o in options if o.file == role and opts.get(o.dest)]


def _train(task: ModelTask, groups: Mapping[str, Any], opts: dict[str, Any]) -> None:
    """Train on the shop (locally or on Spark) and save (:func:`~ecomml.workflows.save_trained`)."""
    from ecomml.exceptions import ConfigError
    from ecomml.workflows import save_trained, train_and_save

    data: DataOptions = groups["data"]
    tracking: TrackOptions = groups["tracking"]
    spark: SparkOptions | None = groups.get("spark")
    ids: IdOptions | None = groups.get("ids")
    if opts["register"] and not tracking.track:
        raise ConfigError("--register needs MLflow tracking; drop --no-track")
    cut = data.date(opts["cutoff"])
    opts["model_dir"] = model_dir = opts["model_dir"] or Path("models") / task.name
    uri = tracking.uri()
    save = {"experiment": tracking.name(task.name) if uri else None, "register": opts["register"],
            "run_params": {"hash_ids": ids.hash_ids} if ids else None}  # fmt: skip
    with steps("loading data") as say:
        if spark is not None and spark.use(data):
            from ecomml.spark.commands import train_on_spark

            trained, td = train_on_spark(task, data, cut, spark, opts, progress=say)
            res = save_trained(task, trained, td, model_dir, progress=say, **save)
        else:
            shop = data.shop(cut, required=task.needs_transactions)
            res = train_and_save(
                task, shop, cut, opts, model_dir, key=ids.key() if ids else None, progress=say,
                warn=lambda w: err_console.print(f"[yellow]warning: {w}[/yellow]", soft_wrap=True),
                **save,
            )  # fmt: skip
    for warning in res.trained.warnings if res.trained else ():
        err_console.print(f"[yellow]{warning}[/yellow]", soft_wrap=True)
    show(res.trained.shown if res.trained else ())
    console.print(f"model saved to {res.path}", soft_wrap=True)
    if res.run_id:
        console.print(f"MLflow run {res.run_id} in {uri}", soft_wrap=True)


def _predict(task: ModelTask, groups: Mapping[str, Any], opts: dict[str, Any]) -> None:
    """Score the model (locally or on Spark) and write the table
    (:func:`~ecomml.workflows.score_to_file`)."""
    from ecomml.cli._common import configure_tracking
    from ecomml.modelstore import is_mlflow_uri
    from ecomml.workflows import score_to_file

    data: DataOptions = groups["data"]
    spark: SparkOptions | None = groups.get("spark")
    ids: IdOptions | None = groups.get("ids")
    model, output = opts["model"], opts["output"]
    inputs = [p for _, p in _files(_options(task, "predict"), opts, "in")]
    data.refuse_overwrite(("--output", output), *_files(_options(task, "predict"), opts, "out"),
                          inputs=[model, *inputs])  # fmt: skip
    cut = data.date(opts["cutoff"])
    if task.predict_format is None:
        check_output_name(output)
    key = ids.key() if ids is not None else None
    if is_mlflow_uri(model):
        configure_tracking()  # the CLI's store, where --register put the model
    with steps("loading model") as say:
        engine = None
        if spark is not None and spark.use(data):

            def engine(score_opts: dict[str, Any]) -> Any:
                from ecomml.spark.commands import score_on_spark

                say(f"scoring {task.name} on Spark")
                return score_on_spark(task.name, model, data, cut, spark, score_opts)

        res = score_to_file(
            task, model, lambda c: data.shop(c, required=task.needs_transactions), cut, output,
            opts, key=key, key_env=ids.id_key_env if ids is not None else ID_KEY_ENV,
            trust_pickle=opts["trust_pickle"] or None, engine=engine, progress=say,
        )  # fmt: skip
    console.print(task.scored_line(res.frame, res.model, res.shop, cut, output), soft_wrap=True)


def _backtest(task: ModelTask, groups: Mapping[str, Any], opts: dict[str, Any]) -> None:
    from ecomml.workflows import backtest

    data: DataOptions = groups["data"]
    tracking: TrackOptions | None = groups.get("tracking")
    output = opts.get("output")
    if output is not None and Path(output).suffix:
        check_output_name(output)
    data.refuse_overwrite(*_files(_options(task, "backtest"), opts, "out"))
    cut = data.date(opts["cutoff"])
    run = tracking.run(task.name, "backtest") if tracking else contextlib.nullcontext()
    with run as active, steps("reading data") as say:
        report, _ = backtest(
            task, data.shop(cut, required=task.needs_transactions), cut, opts,
            plots_dir=opts.get("plots_dir"), log=active is not None, progress=say,
        )  # fmt: skip
    show(report.shown)
    if output is not None:
        write_output(report.folds, output, default_format="csv")
        console.print(f"metrics written to {output}", soft_wrap=True)


_BODIES = {"train": _train, "predict": _predict, "backtest": _backtest}


def register_tasks(app: typer.Typer, groups: Mapping[str, typer.Typer]) -> None:
    """Add every registered task's commands to the ``train``, ``predict`` and ``backtest``
    groups, and its actions to ``app`` as ``ecomml <task> <action>`` (a task whose only action
    bears its own name as ``ecomml <task>``)."""
    from ecomml.registry import all_tasks

    for task in all_tasks():
        for kind in task.commands if isinstance(task, ModelTask) else ():
            cmd = _command(task, kind, _BODIES[kind])
            groups[kind].command(task.name, help=reflow(cmd.__doc__))(cmd)
        if [a.name for a in task.actions] == [task.name]:  # one action: ``ecomml <task>``
            cmd = _action(task, task.actions[0])
            app.command(task.name, help=reflow(task.actions[0].help))(cmd)
        elif task.actions:
            sub = typer.Typer(no_args_is_help=True)
            for action in task.actions:
                cmd = _action(task, action)
                sub.command(action.name, help=reflow(action.help))(cmd)
            app.add_typer(sub, name=task.name, help=task.title)
