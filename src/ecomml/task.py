"""The task contract: what every task (forecast, inventory, churn, recommend, ...) defines once.

A task is one object in its domain package's ``task.py``. It names the feature views it
reads, fits a model on a shop's canonical tables and feature store as of a cutoff,
evaluates parameters on rolling folds, scores a fitted model into a table with a declared
output schema, and runs its part of the main job. The runner (:mod:`ecomml.runner`), the
CLI, experiments, the quickstart and the MLflow wrapper are loops over
:mod:`ecomml.registry`; none of them knows a task by name.

Adding a task: subclass :class:`ModelTask` (a task with a fitted model) or :class:`Task`
(a task of actions only, such as an A/B test analysis) in ``<domain>/task.py`` and add one
line to ``ecomml.registry.TASKS``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from ecomml._validation import require_columns
from ecomml.exceptions import ConfigError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ecomml.data.shop import ShopData
    from ecomml.features.store import FeatureStore

__all__ = [
    "Action",
    "Evaluation",
    "Folds",
    "ModelTask",
    "Option",
    "Params",
    "Report",
    "Say",
    "Shown",
    "SideOutput",
    "SideTables",
    "StepContext",
    "StepResult",
    "Task",
    "TaskData",
    "Trained",
    "Written",
    "quiet",
]

#: MLflow column type (``output_types``) -> the pandas dtype of a scored column
_PANDAS_TYPES: dict[str, str] = {
    "string": "object",
    "double": "float64",
    "float": "float64",
    "long": "int64",
    "integer": "int64",
    "boolean": "bool",
    "datetime": "datetime64[ns]",
}

#: A progress callback: ``say("fitting the ranker")``.
Say = Callable[[str], None]
#: A task's parameters: its task options (``Task.params``) and its model's own parameters.
Params = Mapping[str, Any] | None
#: Side tables of one scoring, by name (:meth:`Task.score_tables`).
SideTables = Mapping[str, pd.DataFrame]
#: One more table the predict command writes: ``(option, path, table)``.
SideOutput = tuple[str, Path, pd.DataFrame]


def quiet(msg: str) -> None:
    """The progress callback that says nothing."""


@dataclass
class TaskData:
    """What every task method reads: a shop's canonical tables as of ``cutoff`` (exclusive)
    and the feature store over them (built on first use when not given)."""

    shop: ShopData
    cutoff: pd.Timestamp
    _store: FeatureStore | None = None

    @property
    def store(self) -> FeatureStore:
        """The feature store over :attr:`shop` (the built-in views)."""
        if self._store is None:
            from ecomml.features.store import store_from_shop

            self._store = store_from_shop(self.shop)
        return self._store

    @classmethod
    def of(cls, shop: ShopData, cutoff: Any, store: FeatureStore | None = None) -> TaskData:
        """A :class:`TaskData` with ``cutoff`` checked (any date spelling pandas reads)."""
        from ecomml._validation import check_cutoff

        return cls(shop, check_cutoff(cutoff), store)


@dataclass(frozen=True)
class Folds:
    """Rolling-origin folds: ``n`` fold cutoffs before the cutoff, ``step`` apart (in the
    task's ``fold_unit``; None: the task's horizon)."""

    n: int
    step: int | None = None


@dataclass
class Evaluation:
    """Per-fold metrics (``fold, cutoff, <metric>...``) and the evaluation figures."""

    folds: pd.DataFrame
    figures: dict[str, Figure] = field(default_factory=dict)
    extra: dict[str, float] = field(default_factory=dict)
    #: what the console shows (the backtest command's tables and lines)
    shown: list[Any] = field(default_factory=list)

    def aggregate(self) -> dict[str, float]:
        """Mean of every metric over the folds (NaN folds ignored)."""
        num = self.folds.drop(columns=["fold", "cutoff"], errors="ignore")
        means = num.apply(pd.to_numeric, errors="coerce").mean()
        return {k: float(v) for k, v in means.items() if np.isfinite(v)}


@dataclass
class StepContext:
    """What a task gets in the main job: the shop (already cut), its store, the cutoff."""

    shop: ShopData
    store: FeatureStore
    cutoff: pd.Timestamp
    out_dir: Path
    features_dir: Path
    manifest: dict[str, Any]
    #: report progress within the step: ``ctx.say("fitting")`` shows on the progress bar
    say: Callable[[str], None]

    @property
    def data(self) -> TaskData:
        """The shop, cutoff and store as the task methods take them."""
        return TaskData(self.shop, self.cutoff, self.store)


@dataclass
class StepResult:
    """What a task produced in the main job.

    ``outputs`` keys are paths relative to ``out_dir`` (PNG files under ``plots/`` are
    logged to MLflow as plots); ``metrics`` are logged with the task name as prefix;
    ``summary`` goes into ``summary.json`` under the task name. A fitted ``model`` (with
    the ``params`` it was made from) is saved under ``models/<task>`` and logged, so the
    user can predict and serve with it afterwards.
    """

    task: str
    outputs: dict[str, Path] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    #: plain remarks the console shows under the metrics (e.g. why a model loses to its
    #: baseline on this shop)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Option:
    """One option of a task's ``train``/``predict``/``backtest`` command, declared as data:
    the CLI makes the flag, experiments and tests read the same default.

    ``dest`` is the name the task's hooks read; ``flag`` the command-line spelling
    (``"--store/--no-store"`` for an on/off pair); ``default`` ``...`` makes it required;
    ``type`` defaults to the default's type (give it when the default is None).
    """

    dest: str
    flag: str
    default: Any = None
    help: str = ""
    type: Any = None
    min: float | None = None
    short: str | None = None
    #: ``"in"``: a file the command reads; ``"out"``: a file it writes (never over an input)
    file: str | None = None


@dataclass(frozen=True)
class Action:
    """A command ``ecomml <task> <name>`` beside train/predict/backtest: its help (first
    paragraph: the summary), its options and the option groups it takes besides the data
    options. An option of ``type="date"`` arrives parsed as the shop's dates are.
    ``reads_shop=False``: the action reads its own files only (no data options; the
    ``shop`` handed to :meth:`Task.act` then refuses to read)."""

    name: str
    help: str
    options: tuple[Option, ...]
    groups: tuple[str, ...] = ("tracking",)
    reads_shop: bool = True


@dataclass
class Written:
    """Files an action wrote (logged as outputs), its PNG plots and its headline metrics."""

    files: list[Path] = field(default_factory=list)
    plots: dict[str, Path] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class Report:
    """What an action did: the files it wrote (``written``: ``files``, ``plots`` and
    ``metrics``, logged to MLflow), the run's params and name, and what the console shows."""

    written: Any
    params: dict[str, Any]
    run_name: str
    shown: list[Any] = field(default_factory=list)


@dataclass
class Shown:
    """A table for the console: ``formats`` maps each shown column to a ``{:.3f}``-style
    format; ``left`` columns are left-aligned text."""

    frame: pd.DataFrame
    title: str
    formats: Mapping[str, str]
    left: tuple[str, ...] = ()


@dataclass
class Trained:
    """What :meth:`ModelTask.train` hands the train command: the fitted model, the params it was
    made from (saved with it), its validation metrics and figures, the run's extra MLflow
    params, and what the console shows (lines and tables)."""

    model: Any
    params: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    run_params: dict[str, Any] = field(default_factory=dict)
    run_name: str | None = None
    shown: list[str | Shown] = field(default_factory=list)
    #: where the figures are saved as PNG (None: not saved, still logged)
    plots_dir: Path | None = None
    #: what went wrong without stopping the training (the CLI prints them on stderr)
    warnings: list[str] = field(default_factory=list)


class Task(abc.ABC):
    """One task, defined once and run the same way by every entry point: its name, the
    commands it offers and how they are declared (as data), and its own actions
    (``ecomml <task> <action>``, :meth:`act`).

    A task that fits a model (and so runs in the main job, in experiments, is saved,
    scored and served) is a :class:`ModelTask`. A task without a model, such as an A/B
    test analysis, subclasses :class:`Task` directly and offers only its ``actions``.

    - ``name``: the task's name on the command line, in configs and in model metadata;
    - ``title``: one line for the task's command group.
    """

    name: ClassVar[str]
    title: ClassVar[str] = ""

    # ------------------------------------------------------------------ commands
    #: the ``ecomml train|predict|backtest <name>`` commands the task offers
    commands: ClassVar[tuple[str, ...]] = ()
    #: each command's help (its first line is the summary) and its own options
    command_help: ClassVar[Mapping[str, str]] = {}
    train_options: ClassVar[tuple[Option, ...]] = ()
    predict_options: ClassVar[tuple[Option, ...]] = ()
    backtest_options: ClassVar[tuple[Option, ...]] = ()
    #: option groups a command takes beside the data options: ``"tracking"`` (MLflow),
    #: ``"ids"`` (customer-id pseudonyms), ``"spark"`` (the Spark engine)
    command_groups: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    #: False: without ``--transactions`` the commands run on the built-in sample shop
    needs_transactions: ClassVar[bool] = True
    #: what ``predict --output`` writes when the name has no .csv/.parquet suffix
    #: (None: such a name is refused)
    predict_format: ClassVar[str | None] = None

    #: the task's own commands, ``ecomml <task> <action>``
    actions: ClassVar[tuple[Action, ...]] = ()

    #: the function behind each action: ``runner(options, shop, progress) -> Report``
    runners: ClassVar[Mapping[str, Callable[..., Report]]] = {}

    def act(
        self, name: str, shop: Callable[[Any], ShopData], options: Mapping[str, Any],
        progress: Say = quiet,
    ) -> Report:  # fmt: skip
        """Run the action ``name`` through its :attr:`runners` entry: ``shop(cutoff)`` reads
        the history before ``cutoff`` (an action with ``reads_shop=False`` never calls it)."""
        if name not in self.runners:
            raise NotImplementedError(f"task {self.name!r} has no action {name!r}")
        return self.runners[name](options, shop, progress)

    #: the smallest data (what -> how many) below which the task's numbers mean little
    min_data: ClassVar[Mapping[str, int]] = {}

    def data_sizes(self, shop: ShopData, cutoff: Any) -> dict[str, int]:
        """How much of what :attr:`min_data` counts the shop holds before ``cutoff``."""
        tx = shop.transactions
        tx = tx.loc[tx["ts"] < pd.Timestamp(cutoff)]
        buyers = tx.dropna(subset=["customer_id"])
        orders = buyers.groupby("customer_id")["order_id"].nunique()
        weeks = (tx["ts"].max() - tx["ts"].min()).days // 7 if len(tx) else 0
        return {
            "customers": int(orders.size),
            "repeat customers": int((orders >= 2).sum()),
            "SKUs": int(tx["sku"].nunique()),
            "weeks of history": int(weeks),
        }

    def data_warnings(
        self, shop: ShopData, cutoff: Any, sizes: Mapping[str, int] | None = None
    ) -> list[str]:
        """One line per size below :attr:`min_data`: the data is too small for the task's
        metrics (and its model) to mean much, and how much it needs. ``sizes``: the
        :meth:`data_sizes` already counted (the main job counts once for every task)."""
        if not self.min_data:
            return []
        sizes = sizes if sizes is not None else self.data_sizes(shop, cutoff)
        return [
            f"{self.name}: only {sizes[k]:,} {k} before the cutoff; below about {v:,} its "
            "holdout metrics are mostly noise and the model little better than its baseline"
            for k, v in self.min_data.items()
            if sizes.get(k, v) < v
        ]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class ModelTask(Task):
    """A task with a fitted model: fit, evaluate, score, save, serve, run in the main job.

    Class attributes declare what the applications need to know without running anything:

    - ``output_columns``: the declared output schema of :meth:`score` (in order);
    - ``extra_columns``: the columns :meth:`score` adds after them on request;
    - ``metrics``: the metrics :meth:`evaluate` reports, the first one ranks runs;
    - ``params``: task options (outside the model's own parameters) and their defaults;
    - ``models``: the model names a config may choose;
    - ``fold_unit``: what ``step`` between fold cutoffs counts (``"periods"`` or ``"days"``);
    - ``serving_inputs``, ``serving_params`` and ``output_types``: the MLflow signature of
      the served model (``(column, mlflow type)`` pairs, ``"number"`` for integers or
      decimals, a trailing ``?`` for a column a request may leave out; ``(name, type,
      default)`` for
      params; output columns not in ``output_types`` are ``"double"``). A task without
      ``serving_inputs`` is not served over REST and has no signature.
    """

    output_columns: ClassVar[tuple[str, ...]] = ()
    extra_columns: ClassVar[tuple[str, ...]] = ()
    metrics: ClassVar[tuple[str, ...]] = ()
    params: ClassVar[Mapping[str, Any]] = {}
    models: ClassVar[tuple[str, ...]] = ()
    fold_unit: ClassVar[str] = "days"
    #: the main job runs tasks in registry order; later tasks may read earlier outputs
    in_quickstart: ClassVar[bool] = True
    serving_inputs: ClassVar[tuple[tuple[str, str], ...]] = ()
    serving_params: ClassVar[tuple[tuple[str, str, Any], ...]] = ()
    output_types: ClassVar[Mapping[str, str]] = {}

    # ------------------------------------------------------------------ parameters
    def task_params(self, params: Params) -> dict[str, Any]:
        """The task options in ``params`` with their defaults filled in."""
        given = dict(params or {})
        return {k: given.get(k, v) for k, v in self.params.items()}

    def check_task_params(self, params: Params) -> dict[str, Any]:
        """The task options with defaults filled in, each checked against its default's
        type (a flag must be true/false, a count a whole number >= 1, a share a number);
        a bad value raises ConfigError naming the option. Tasks add their own rules."""
        tp = self.task_params(params)
        for key, default in self.params.items():
            v = tp[key]
            if isinstance(default, bool):
                ok, want = isinstance(v, bool), "true or false"
            elif isinstance(default, int):
                ok = isinstance(v, int) and not isinstance(v, bool) and v >= 1
                want = "an integer >= 1"
            elif isinstance(default, float):
                ok = isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
                want = "a number"
            else:
                ok, want = isinstance(v, type(default)) or default is None, type(default).__name__
            if not ok:
                raise ConfigError(f"task_params.{key} must be {want}, got {v!r}")
        return tp

    def model_params(self, params: Params) -> dict[str, Any]:
        """The model's own parameters in ``params`` (everything that is not a task option)."""
        return {k: v for k, v in (params or {}).items() if k not in self.params and k != "model"}

    def model_param_names(self, params: Params = None) -> tuple[str, ...]:
        """The parameters the task's model (as chosen by ``params``) accepts."""
        names = self.make_model(params).get_params(deep=False)
        return tuple(n for n in names if n not in self.params)

    # ------------------------------------------------------------------ the contract
    @abc.abstractmethod
    def make_model(self, params: Params = None) -> Any:
        """An unfitted model from ``params``; unknown or bad values raise ConfigError."""

    @abc.abstractmethod
    def views(self, model: Any) -> list[str]:
        """The feature views a fitted ``model`` reads (their SQL hashes go with the model)."""

    @abc.abstractmethod
    def fit(self, data: TaskData, *, params: Params = None, progress: Say = quiet) -> Any:
        """Fit the task's model on everything before ``cutoff``; returns the fitted model."""

    @abc.abstractmethod
    def evaluate(
        self, data: TaskData, folds: Folds, *, params: Params = None, progress: Say = quiet
    ) -> Evaluation:
        """Refit ``params`` at ``folds`` rolling cutoffs before ``cutoff`` and score each fold."""

    @abc.abstractmethod
    def score(
        self,
        model: Any,
        data: TaskData,
        **options: Any,
    ) -> pd.DataFrame:
        """Score with a fitted model as of ``cutoff``; columns start with ``output_columns``."""

    def score_tables(
        self, model: Any, data: TaskData, **options: Any
    ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
        """:meth:`score`'s frame and the side tables computed on the way, by name (what
        :meth:`side_outputs` writes, e.g. the forecast's other levels). The default has
        none; a task whose scoring yields more than one table overrides this."""
        return self.score(model, data, **options), {}

    @abc.abstractmethod
    def run_quickstart(self, ctx: StepContext) -> StepResult:
        """The task's part of the main job: fit, validate against a baseline, write outputs."""

    # ------------------------------------------------------------------ optional hooks
    def metadata(self, model: Any, shop: ShopData, params: Mapping[str, Any]) -> dict[str, Any]:
        """Task-specific metadata saved with the model (JSON-able)."""
        return {}

    #: the metric a registry version is tagged with and ``ecomml model list`` shows: the
    #: first of these names found among the model's saved metrics
    headline_metrics: ClassVar[tuple[str, ...]] = ()

    def headline(self, metrics: Mapping[str, Any]) -> tuple[str, float] | None:
        """``(name, value)`` of the model's headline metric, or None."""
        for name in self.headline_metrics:
            v = metrics.get(name)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return name, float(v)
        return None

    def training_window(self, model: Any, shop: ShopData) -> tuple[Any, Any] | None:
        """First and last timestamp the model learnt from."""
        tx = shop.transactions
        if tx.empty:
            return None
        return tx["ts"].min(), tx["ts"].max()

    def figures(self, model: Any, data: TaskData) -> dict[str, Figure]:
        """Pictures of a fitted model (validation curves, ...), saved as PNG and logged."""
        return {}

    def describe(self, model: Any) -> list[str]:
        """Short lines for the console after training."""
        return []

    def train(self, data: TaskData, options: Mapping[str, Any], progress: Say = quiet) -> Trained:
        """The train command's work on ``data``: fit on the command's ``options`` (the task
        options and model parameters it declares), validate where the task does, and
        say what the console shows. The default fits ``options`` as params."""
        params = {o.dest: options[o.dest] for o in self.train_options if o.dest in options}
        model = self.fit(data, params=params, progress=progress)
        return Trained(model, params, shown=list(self.describe(model)))

    def score_options(self, options: Mapping[str, Any], key: str | None = None) -> dict[str, Any]:
        """The keyword arguments of :meth:`score` from the predict command's ``options``
        (files read; ``key``: the pseudonym key of a model that knows customers by
        pseudonym only)."""
        return {}

    def side_outputs(
        self, frame: pd.DataFrame, options: Mapping[str, Any], side: SideTables | None = None
    ) -> list[SideOutput]:
        """More tables the predict command writes from the scored ``frame`` and the
        ``side`` tables of :meth:`score_tables`: ``(option, path, table)``."""
        return []

    def scored_line(self, frame: pd.DataFrame, model: Any, shop: ShopData | None,
                    cutoff: pd.Timestamp, output: Path) -> str:  # fmt: skip
        """The console line after predict (``shop``: None when Spark scored)."""
        return f"{len(frame):,} rows as of {cutoff.date()} -> {output}"

    def backtest_report(
        self, data: TaskData, options: Mapping[str, Any], progress: Say = quiet
    ) -> Evaluation:
        """The backtest command's work: ``folds`` is the table it writes with ``--output``,
        ``figures`` its plots, ``extra`` metrics for MLflow, ``shown`` the console tables."""
        raise NotImplementedError(f"task {self.name!r} has no backtest command")

    def serve(self, model: Any, model_input: pd.DataFrame, params: Params = None) -> pd.DataFrame:
        """Answer one MLflow serving request (``mlflow models serve``) with ``model``.

        The default hands the request frame to the model's ``pyfunc_predict``.
        """
        if not hasattr(model, "pyfunc_predict"):
            from ecomml.exceptions import ConfigError

            raise ConfigError(
                f"{type(model).__name__} models of task {self.name!r} cannot be served over "
                f"REST; score them with `ecomml predict {self.name}`"
            )
        return self.check_output(model.pyfunc_predict(model_input, params=dict(params or {})))

    def signature(self) -> Any:
        """The MLflow ``ModelSignature`` of the task's served model (None when not served)."""
        if not self.serving_inputs:
            return None
        from mlflow.models import ModelSignature
        from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

        def spec(name: str, kind: str) -> ColSpec:
            optional = kind.endswith("?")  # "string?": a column a request may leave out
            kind = kind.rstrip("?")
            if kind == "number":  # integers or decimals: counts naturally come as integers
                from mlflow.types.schema import AnyType

                return ColSpec(AnyType(), name, required=not optional)
            return ColSpec(kind, name, required=not optional)

        return ModelSignature(
            inputs=Schema([spec(n, t) for n, t in self.serving_inputs]),
            outputs=Schema(
                [ColSpec(self.output_types.get(c, "double"), c) for c in self.output_columns]
            ),
            params=ParamSchema([ParamSpec(n, t, d) for n, t, d in self.serving_params])
            if self.serving_params
            else None,
        )

    def output_dtypes(self, columns: Iterable[str] | None = None) -> dict[str, np.dtype[Any]]:
        """pandas dtypes of output ``columns`` (default: ``output_columns`` then
        ``extra_columns``) from ``output_types``: what an engine that collects scored
        partitions declares for them."""
        cols = [*self.output_columns, *self.extra_columns] if columns is None else columns
        return {c: np.dtype(_PANDAS_TYPES[self.output_types.get(c, "double")]) for c in cols}

    def check_output(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Refuse a scored table that lacks a declared output column."""
        require_columns(
            frame.columns, self.output_columns,
            lambda missing: f"task {self.name!r} produced a table without its declared columns "
            f"{missing}; this is a bug in the task's score()",
        )  # fmt: skip
        return frame

    def check_model(self, model: Any) -> None:
        """Refuse a model that is not this task's (e.g. a forecaster given to churn).

        The default accepts any model; tasks override it.
        """
        return None
