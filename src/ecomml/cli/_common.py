"""Shared CLI plumbing: error mapping, verbosity, progress bars and the default stores."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ecomml.exceptions import EcommlError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "configure_tracking",
    "console",
    "err_console",
    "handle_errors",
    "make_progress",
    "print_frame",
    "print_pairs",
    "reflow",
    "show",
    "state",
    "steps",
]

# Piped or redirected output (CI logs, `> report.txt`) would be cut at 80 columns: give
# tables room unless the user set COLUMNS.
_WIDE = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
console = Console(width=_WIDE)
err_console = Console(stderr=True)


class _State:
    verbose: bool = False


state = _State()


@contextlib.contextmanager
def handle_errors() -> Iterator[None]:
    """Turn ecomml errors (and common OS errors) into one line on stderr and exit code 1.

    Anything else is a bug or an input ecomml does not yet check: it still gets one line
    and exit code 1 (the traceback with ``--verbose``), never a bare traceback.
    """
    try:
        yield
    except typer.Exit:
        raise
    except EcommlError as err:
        if state.verbose:
            err_console.print_exception()
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    except (FileNotFoundError, IsADirectoryError, PermissionError) as err:
        if state.verbose:
            err_console.print_exception()
        typer.echo(f"error: {err.strerror or err}: {err.filename}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted; previous outputs are left intact.", err=True)
        raise typer.Exit(130) from None
    except Exception as err:  # the CLI boundary: never a bare traceback
        if state.verbose:
            err_console.print_exception()
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        typer.echo(
            f"error: unexpected {type(err).__name__}: {first} (previous outputs are left "
            "intact; rerun with --verbose for the traceback and report it)",
            err=True,
        )
        raise typer.Exit(1) from None


def make_progress(*, transient: bool = False) -> Progress:
    """A Rich progress bar that writes to stderr, so stdout stays machine-readable.

    It is shown on a terminal only: in logs and pipes (nightly jobs) a frozen bar would
    only push the ``error:`` line down. ``ECOMML_PROGRESS=1`` forces it on,
    ``ECOMML_NO_PROGRESS=1`` off.
    """
    forced = os.environ.get("ECOMML_PROGRESS") == "1"
    off = os.environ.get("ECOMML_NO_PROGRESS") == "1"
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=transient,
        disable=off or not (forced or err_console.is_terminal),
    )


@contextlib.contextmanager
def steps(first: str, *, transient: bool = False) -> Iterator[Callable[[str], None]]:
    """A progress spinner whose description each step replaces: ``say("fitting")``."""
    with make_progress(transient=transient) as bar:
        task = bar.add_task(first, total=None)
        yield lambda msg: bar.update(task, description=msg)


def configure_tracking(workdir: Path | None = None) -> str:
    """Point MLflow at the default store. Only the CLI calls this; library code never does."""
    import logging

    import mlflow

    from ecomml.tracking import default_tracking_uri

    # MLflow's INFO chatter (database migrations, experiment creation) is noise on a terminal.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    # ...and so are its per-file download bars when a model is logged or loaded.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = default_tracking_uri(workdir)
    mlflow.set_tracking_uri(uri)
    return uri


def reflow(doc: str | None) -> str | None:
    """A command docstring as help text: each paragraph on one line (the terminal wraps
    it), so a line break in the source never cuts a sentence on screen."""
    if not doc:
        return doc
    import inspect

    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def print_frame(
    frame: pd.DataFrame,
    title: str,
    formats: Mapping[str, str],
    *,
    left: tuple[str, ...] = (),
) -> None:
    """Print the ``formats`` columns of ``frame`` as a table (``{:.3f}``-style formats;
    ``left`` columns are left-aligned text that may wrap; the others are numbers; a
    missing value is blank)."""
    table = Table(title=title)
    for col in formats:
        table.add_column(col, justify="left" if col in left else "right", no_wrap=col not in left)
    for row in frame[list(formats)].itertuples(index=False):
        table.add_row(*("" if isinstance(v, float) and v != v else fmt.format(v)  # NaN: blank
                        for fmt, v in zip(formats.values(), row, strict=True)))  # fmt: skip
    console.print(table)


def print_pairs(title: str, rows: Iterable[tuple[str, str]]) -> None:
    """Print ``(what, value)`` rows as a two-column table."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    for what, value in rows:
        table.add_row(what, value)
    console.print(table)


def show(items: Iterable[Any]) -> None:
    """Print what a command hands the console: tables (:class:`~ecomml.task.Shown`) and lines."""
    from ecomml.task import Shown

    for item in items:
        if isinstance(item, Shown):
            print_frame(item.frame, item.title, item.formats, left=item.left)
        else:
            console.print(item, soft_wrap=True)
