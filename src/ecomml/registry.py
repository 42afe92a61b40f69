"""The list of tasks. Every application (CLI, experiments, quickstart, serving) loops over it.

A new task is a ``task.py`` in its domain package and one line here. Tasks are imported
on first use, so ``import ecomml`` and ``ecomml --help`` stay fast.
"""

from __future__ import annotations

import difflib
import importlib
from functools import cache
from typing import TYPE_CHECKING

from ecomml.exceptions import UnknownEntityError

if TYPE_CHECKING:
    from ecomml.task import Task

__all__ = ["TASKS", "get_task", "all_tasks", "task_names"]

#: ``name -> "module:Class"``, in the order the main job runs them (inventory plans from
#: the forecast's output, so it comes after forecasting).
TASKS: dict[str, str] = {
    "churn": "ecomml.churn.task:ChurnTask",
    "recommend": "ecomml.recommend.task:RecommendTask",
    "forecast": "ecomml.forecasting.task:ForecastTask",
    "inventory": "ecomml.inventory.task:InventoryTask",
}


def task_names() -> tuple[str, ...]:
    """The registered task names, in registry order."""
    return tuple(TASKS)


@cache
def get_task(name: str) -> Task:
    """The task registered as ``name``.

    Raises
    ------
    UnknownEntityError
        For a name that is not registered (with the closest registered name).
    """
    if name not in TASKS:
        close = difflib.get_close_matches(str(name), list(TASKS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownEntityError(
            f"unknown task {name!r}{hint} Registered tasks: {', '.join(TASKS)}"
        )
    module, _, cls = TASKS[name].partition(":")
    return getattr(importlib.import_module(module), cls)()


def all_tasks() -> list[Task]:
    """Every registered task, in registry order."""
    return [get_task(name) for name in TASKS]
