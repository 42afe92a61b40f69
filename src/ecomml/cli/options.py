"""Option groups defined once: the data options, the Spark engine options and the
customer-id pseudonym options, added to any command with :func:`with_groups`.

A command declares ``data: DataOptions`` and gets ``--transactions --format --map
--map-file --events --catalog --calendar --encoding --date-format --dayfirst/--monthfirst
--allow-future``; the values arrive as
one :class:`DataOptions` object. The same for ``spark: SparkOptions`` and
``ids: IdOptions``.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import typer

from ecomml._io import refuse_overwrite
from ecomml.privacy import ID_KEY_ENV

__all__ = [
    "ID_KEY_ENV",
    "DataOptions",
    "IdOptions",
    "ReadOptions",
    "SparkOptions",
    "TrackOptions",
    "TrustPickleOpt",
    "with_groups",
]

F = TypeVar("F", bound=Callable[..., Any])


FORMAT_HELP = "Input layout: auto, canonical, online-retail, online-retail-ii, cdnow."
DateFormatOpt = typer.Option(
    None,
    "--date-format",
    help="How the files write dates (strftime), e.g. '%d/%m/%Y %H:%M'. Default: ISO and "
    "year-first dates; day/month dates only when the column proves the order.",
)
DayFirstOpt = typer.Option(
    None,
    "--dayfirst/--monthfirst",
    help="Day/month dates such as 01/04/2024 are day-first (1 April) or month-first.",
    show_default=False,
)


SparkMasterOpt = typer.Option(
    None,
    "--spark-master",
    help="Spark master: local[N], yarn, spark://host:7077, k8s://..., sc://host "
    "(default: the active session under spark-submit, else local[2]).",
)
SparkConfOpt = typer.Option(
    None,
    "--spark-conf",
    help="A Spark setting key=value (repeatable), e.g. spark.executor.memory=8g.",
)


def max_ts_for(allow_future: bool) -> Any:
    """Latest acceptable timestamp: the end of tomorrow, to absorb time-zone skew (None
    with ``--allow-future``). The CLI may read the clock; the library never does."""
    if allow_future:
        return None
    import pandas as pd

    return pd.Timestamp.now().normalize() + pd.Timedelta(days=2)


@dataclass
class ReadOptions:
    """How to read the shop's files: layout, column mapping, encoding and dates."""

    PANEL: ClassVar[str] = "Data (the shop's files)"

    format: str = typer.Option("auto", "--format", "-f", help=FORMAT_HELP)
    map_items: list[str] | None = typer.Option(
        None, "--map", "-m", help="Column mapping Source=canonical, comma-separated or repeated."
    )
    map_file: Path | None = typer.Option(
        None, "--map-file", help="YAML file with a column mapping."
    )
    encoding: str | None = typer.Option(
        None, "--encoding", help="Text encoding of CSV input, e.g. gbk, gb18030, latin-1, utf-16."
    )
    date_format: str | None = DateFormatOpt
    dayfirst: bool | None = DayFirstOpt
    allow_future: bool = typer.Option(
        False,
        "--allow-future",
        help="Accept timestamps after tomorrow (e.g. a clock-skewed export).",
    )

    @functools.cached_property
    def dates(self) -> Any:
        """How the files write dates (:class:`~ecomml.dates.DateFormat`; the map file is
        read once)."""
        from ecomml.data.adapters.mapping import dates_from

        return dates_from(self.date_format, self.dayfirst, self.map_file)

    @property
    def mapping(self) -> dict[str, str]:
        """The column mapping of ``--map-file`` and ``--map`` (the latter wins)."""
        from ecomml.data.adapters.mapping import mapping_from

        return mapping_from(self.map_items, self.map_file)

    @property
    def max_ts(self) -> Any:
        """The latest timestamp accepted (:func:`max_ts_for`)."""
        return max_ts_for(self.allow_future)


@dataclass
class DataOptions(ReadOptions):
    """Where a command reads the shop from (the shared data options)."""

    transactions: Path | None = typer.Option(
        None, "--transactions", "-t", help="Transactions file (CSV, Parquet, Excel).",
        show_default=False,
    )  # fmt: skip
    events: Path | None = typer.Option(
        None, "--events", help="Events file (customer_id, sku, ts, event)."
    )
    catalog: Path | None = typer.Option(
        None, "--catalog", help="Catalog file (sku, category, price, cost, active)."
    )
    calendar: Path | None = typer.Option(
        None, "--calendar", help="Promotion calendar (date, event, is_promo); default: built-in."
    )

    def date(self, value: Any, name: str = "--cutoff") -> Any:
        """A date option (``--cutoff``...) read like the files' dates: ISO, year-first or
        the declared format, never a guessed day/month order."""
        from ecomml._validation import check_cutoff

        return check_cutoff(value, name=name, dates=self.dates)

    def refuse_overwrite(self, *outputs: tuple[str, Path | None], inputs: Any = ()) -> None:
        """:func:`refuse_overwrite` with the data files and map file as inputs too."""
        given = [self.transactions, self.events, self.catalog, self.calendar, self.map_file]
        refuse_overwrite(*outputs, inputs=[*given, *inputs])

    @property
    def mapped(self) -> bool:
        """True when a column mapping was given."""
        return bool(self.map_items or self.map_file)

    def shop(self, cutoff: Any, *, required: bool = True, seed: int = 0) -> Any:
        """The shop before ``cutoff`` (``required``: --transactions must be given; else
        the built-in sample shop of ``seed`` stands in)."""
        if required and self.transactions is None:
            from ecomml.exceptions import ConfigError

            raise ConfigError(
                "--transactions FILE is required: the shop's order history (CSV, Parquet or Excel)"
            )
        from ecomml.data.shop import load_shop

        return load_shop(
            self.transactions, format=self.format, cutoff=cutoff, events=self.events,
            mapping=self.mapping, catalog=self.catalog, calendar=self.calendar,
            encoding=self.encoding, seed=seed, dates=self.dates, max_ts=self.max_ts,
        )  # fmt: skip


@dataclass
class SparkOptions:
    """``--engine spark`` and the session it runs on."""

    PANEL: ClassVar[str] = "Engine (local or Spark)"

    engine: str = typer.Option(
        "local",
        "--engine",
        help="local (this machine) or spark (distributed scoring; the inputs must be "
        "canonical Parquet/CSV tables or Spark catalog tables).",
    )
    spark_master: str | None = SparkMasterOpt
    spark_conf: list[str] | None = SparkConfOpt
    spark_partitions: int | None = typer.Option(
        None, "--spark-partitions", min=1, help="Groups to score in (default 4x the parallelism)."
    )

    def use(self, data: DataOptions) -> bool:
        """True for ``--engine spark`` (refuses adapter options, which are local only)."""
        from ecomml.spark.commands import use_spark

        return use_spark(self.engine, format=data.format, mapped=data.mapped)


@dataclass
class IdOptions:
    """Keyed customer pseudonyms (``--hash-ids``)."""

    PANEL: ClassVar[str] = "Customer-id pseudonyms"

    hash_ids: bool = typer.Option(
        False,
        "--hash-ids",
        help=f"Replace customer ids with keyed pseudonyms (pid_...; key from ${ID_KEY_ENV}, "
        "never stored).",
    )
    id_key_env: str = typer.Option(
        ID_KEY_ENV, "--id-key-env", help="Environment variable holding the pseudonym key."
    )

    def key(self) -> str | None:
        """The pseudonym key (None without ``--hash-ids``)."""
        from ecomml.privacy import key_from_env

        return key_from_env(self.id_key_env) if self.hash_ids else None


@dataclass
class TrackOptions:
    """``--track/--no-track`` and ``--experiment``: the MLflow run a command logs."""

    PANEL: ClassVar[str] = "Tracking (MLflow)"

    track: bool = typer.Option(True, "--track/--no-track", help="Log an MLflow run.")
    experiment: str | None = typer.Option(
        None, "--experiment", help="MLflow experiment (default: ecomml-TASK)."
    )

    def name(self, task: str) -> str:
        """The experiment runs of ``task`` go to."""
        return self.experiment or f"ecomml-{task}"

    def uri(self) -> str | None:
        """Point MLflow at the CLI's store and return its URI (None with ``--no-track``)."""
        from ecomml.cli._common import configure_tracking

        return configure_tracking() if self.track else None

    @contextlib.contextmanager
    def run(self, task: str, run_name: str) -> Iterator[Any]:
        """An MLflow run tagged with ``task`` (None with ``--no-track``)."""
        if self.uri() is None:
            yield None
            return
        from ecomml.tracking import tracked_run

        with tracked_run(self.name(task), run_name=run_name, tags={"ecomml.task": task}) as run:
            yield run


TrustPickleOpt = typer.Option(
    False,
    "--trust-pickle",
    help="Also load a pickled model (a custom estimator, or one saved by an older ecomml); "
    "unpickling runs the code the file holds: only for models from a source you trust.",
)


def with_groups(fn: F) -> F:
    """Expand every parameter of ``fn`` annotated with an option group (a dataclass whose
    defaults are Typer options) into the group's options, and hand the command one group
    object per parameter."""
    hints = dict(inspect.get_annotations(fn, eval_str=True))
    sig = inspect.signature(fn, eval_str=True)
    groups = {n: hints[n] for n in sig.parameters if is_dataclass(hints.get(n))}
    params: list[inspect.Parameter] = []
    annotations: dict[str, Any] = {"return": hints.get("return")}
    for p in sig.parameters.values():
        if p.name in groups:
            cls = groups[p.name]
            for f in _own_fields_first(cls):
                default = copy.copy(f.default)  # shown under the group's own help panel
                if hasattr(default, "rich_help_panel"):
                    default.rich_help_panel = getattr(cls, "PANEL", None)
                default = _flag_without_metavar(default, hints_of(cls)[f.name])
                params.append(
                    inspect.Parameter(
                        f.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                        annotation=hints_of(cls)[f.name],
                    )
                )  # fmt: skip
                annotations[f.name] = hints_of(groups[p.name])[f.name]
        else:
            default = _flag_without_metavar(p.default, hints.get(p.name))
            params.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY, default=default))
            annotations[p.name] = hints.get(p.name, p.annotation)

    @functools.wraps(fn)
    def command(**kwargs: Any) -> Any:
        for name, cls in groups.items():
            kwargs[name] = cls(**{f.name: kwargs.pop(f.name) for f in fields(cls)})
        return fn(**kwargs)

    command.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    command.__annotations__ = annotations
    del command.__wrapped__  # Typer must read the expanded signature, not fn's
    return command  # type: ignore[return-value]


def _own_fields_first(cls: type) -> list[Any]:
    """A group's fields, its own before those it inherits (``--transactions`` before the
    read options of :class:`ReadOptions`)."""
    own = set(vars(cls).get("__annotations__", {}))
    return sorted(fields(cls), key=lambda f: f.name not in own)


def _flag_without_metavar(default: Any, annotation: Any) -> Any:
    """A flag takes no value: its help shows no ``<bool>`` type (``--no-track``, not
    ``--no-track <bool>``)."""
    if annotation in (bool, bool | None) and getattr(default, "metavar", "") is None:
        default = copy.copy(default)
        default.metavar = ""
    return default


@functools.cache
def hints_of(cls: type) -> dict[str, Any]:
    """The evaluated field annotations of an option-group class."""
    import typing

    return typing.get_type_hints(cls)
