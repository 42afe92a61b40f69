"""The list of tasks. Every application (CLI, experiments, quickstart, serving) loops over it.

A new task is a ``task.py`` in its domain package and one line here. The CLI offers every
task's commands and actions; what needs a fitted model (the main job, experiments, saving,
scoring, serving) loops over the model tasks only (:func:`model_tasks`), so a task of
actions only (an A/B test analysis) is offered as ``ecomml <task> <action>`` alone. Tasks are imported
on first use, so ``import ecomml`` and ``ecomml --help`` stay fast.
"""

from __future__ import annotations

import difflib
import importlib
from functools import cache
from typing import TYPE_CHECKING

from ecomml.exceptions import UnknownEntityError

if TYPE_CHECKING:
    from ecomml.task import ModelTask, Task

__all__ = [
    "TASKS",
    "all_tasks",
    "get_model_task",
    "get_task",
    "model_task_names",
    "model_tasks",
    "task_names",
]

#: ``name -> "module:Class"``, in the order the main job runs them (inventory plans from
#: the forecast's output, so it comes after forecasting). ``abtest``, ``uplift``, ``promo`` and ``price`` have actions only (``uplift``'s
#: model folder is its own, not a registered model).
TASKS: dict[str, str] = {
    "churn": "ecomml.churn.task:ChurnTask",
    "recommend": "ecomml.recommend.task:RecommendTask",
    "forecast": "ecomml.forecasting.task:ForecastTask",
    "inventory": "ecomml.inventory.task:InventoryTask",
    "abtest": "ecomml.campaigns.task:AbTestTask",
    "uplift": "ecomml.campaigns.task:UpliftTask",
    "promo": "ecomml.campaigns.task:PromoTask",
    "price": "ecomml.pricing.task:PriceTask",
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


def model_tasks() -> list[ModelTask]:
    """The registered tasks that fit a model (:class:`~ecomml.task.ModelTask`), in
    registry order: what the main job, experiments, the runner and serving loop over."""
    from ecomml.task import ModelTask

    return [t for t in all_tasks() if isinstance(t, ModelTask)]


def model_task_names() -> tuple[str, ...]:
    """The names of :func:`model_tasks`, in registry order."""
    return tuple(t.name for t in model_tasks())


def get_model_task(name: str) -> ModelTask:
    """The registered task ``name``, which must fit a model.

    Raises
    ------
    UnknownEntityError
        For a name that is not registered, or a task without a model (with its actions).
    """
    from ecomml.task import ModelTask

    task = get_task(name)
    if not isinstance(task, ModelTask):
        actions = ", ".join(f"`ecomml {name} {a.name}`" for a in task.actions)
        raise UnknownEntityError(
            f"task {name!r} has no model to train, score or serve; use {actions or 'its actions'}"
            f" (tasks with a model: {', '.join(model_task_names())})"
        )
    return task
