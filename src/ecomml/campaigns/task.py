"""The campaign tasks: ``ecomml abtest analyze|plan``, ``ecomml uplift train|predict`` and
``ecomml promo``.

Each is a :class:`~ecomml.task.Task` of actions only: the commands are declared (help and
options) and run (``RUNNERS``) in their ``*commands`` module, and offered as
``ecomml <task> <action>`` (``ecomml promo`` for the one action named like its task),
never in the main job, experiments or serving.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

from ecomml.campaigns import commands, promo_commands, uplift_commands
from ecomml.task import Action, Report, Task

__all__ = ["AbTestTask", "PromoTask", "UpliftTask"]


class AbTestTask(Task):
    """Did the change work, and how many units does the next test need?

    ``analyze``: every variant against the control on each metric (Welch, the delta method
    for ratio metrics, CUPED, an always-valid sequential test, Holm/BH adjustment,
    segments, sample-ratio check). ``plan``: sample size or detectable effect. Both read
    the files named in their options, never the shop.
    """

    name: ClassVar[str] = "abtest"
    title: ClassVar[str] = "A/B test analysis and planning"
    actions: ClassVar[tuple[Action, ...]] = commands.ACTIONS
    runners: ClassVar[Mapping[str, Callable[..., Report]]] = commands.RUNNERS


class UpliftTask(Task):
    """Whom did a past campaign's offer change, and who should get the next one?

    ``train``: an uplift model from a randomised campaign, judged on held-out customers
    against targeting by churn risk, by likely response and at random. ``predict``: uplift
    per customer and the send list (``uplift x margin - cost > 0``, within a budget).
    Its model folder is its own, not a registered model. The shop is read only for a
    campaign given by its send date (``--start``).
    """

    name: ClassVar[str] = "uplift"
    title: ClassVar[str] = "Uplift targeting: whom an offer changes"
    actions: ClassVar[tuple[Action, ...]] = uplift_commands.ACTIONS
    runners: ClassVar[Mapping[str, Callable[..., Report]]] = uplift_commands.RUNNERS


class PromoTask(Task):
    """What did a past promotion earn? Actual sales against the forecaster's counterfactual
    (trained as if the event had never run), net of pull-forward and cannibalisation, with
    intervals and ROI. One action named like the task: the command is ``ecomml promo``.
    """

    name: ClassVar[str] = "promo"
    title: ClassVar[str] = "Promotion ROI: what a past promotion earned"
    actions: ClassVar[tuple[Action, ...]] = promo_commands.ACTIONS
    runners: ClassVar[Mapping[str, Callable[..., Report]]] = promo_commands.RUNNERS
