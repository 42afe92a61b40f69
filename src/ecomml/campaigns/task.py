"""The campaign tasks: ``ecomml abtest analyze|plan``, ``ecomml uplift train|predict`` and
``ecomml promo``.

An A/B analysis has no fitted model: it is a :class:`~ecomml.task.Task` of actions only
(the statistics in :mod:`ecomml.campaigns.abtest`, the commands declared in
:mod:`ecomml.campaigns.commands`), offered as ``ecomml abtest <action>`` and never in the
main job, experiments or serving.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ecomml.campaigns import promo_commands, uplift_commands
from ecomml.campaigns.commands import ACTIONS, run_action
from ecomml.task import Action, Report, Task, quiet

if TYPE_CHECKING:
    from ecomml.data.shop import ShopData
    from ecomml.task import Say

__all__ = ["AbTestTask", "UpliftTask", "PromoTask"]


class AbTestTask(Task):
    """Did the change work, and how many units does the next test need?

    ``analyze``: every variant against the control on each metric (Welch, the delta method
    for ratio metrics, CUPED, an always-valid sequential test, Holm/BH adjustment,
    segments, sample-ratio check). ``plan``: sample size or detectable effect.
    """

    name: ClassVar[str] = "abtest"
    title: ClassVar[str] = "A/B test analysis and planning"
    actions: ClassVar[tuple[Action, ...]] = ACTIONS

    def act(
        self, name: str, shop: Callable[[Any], ShopData], options: Mapping[str, Any],
        progress: Say = quiet,
    ) -> Report:  # fmt: skip
        """Run ``analyze`` or ``plan`` on the files named in ``options`` (no shop read)."""
        return run_action(name, options, progress)


class UpliftTask(Task):
    """Whom did a past campaign's offer change, and who should get the next one?

    ``train``: an uplift model from a randomised campaign, judged on held-out customers
    against targeting by churn risk, by likely response and at random. ``predict``: uplift
    per customer and the send list (``uplift x margin - cost > 0``, within a budget).
    Its model folder is its own, not a registered model.
    """

    name: ClassVar[str] = "uplift"
    title: ClassVar[str] = "Uplift targeting: whom an offer changes"
    actions: ClassVar[tuple[Action, ...]] = uplift_commands.ACTIONS

    def act(
        self, name: str, shop: Callable[[Any], ShopData], options: Mapping[str, Any],
        progress: Say = quiet,
    ) -> Report:  # fmt: skip
        """Run ``train`` or ``predict`` on the files named in ``options`` (the shop is read
        only for a campaign given by its send date, ``--start``)."""
        return uplift_commands.run_action(name, options, progress, shop)


class PromoTask(Task):
    """What did a past promotion earn? Actual sales against the forecaster's counterfactual
    (trained as if the event had never run), net of pull-forward and cannibalisation, with
    intervals and ROI. One action named like the task: the command is ``ecomml promo``.
    """

    name: ClassVar[str] = "promo"
    title: ClassVar[str] = "Promotion ROI: what a past promotion earned"
    actions: ClassVar[tuple[Action, ...]] = promo_commands.ACTIONS

    def act(
        self, name: str, shop: Callable[[Any], ShopData], options: Mapping[str, Any],
        progress: Say = quiet,
    ) -> Report:  # fmt: skip
        """Run ``promo`` on the shop's sales."""
        return promo_commands.run_action(name, options, progress, shop)
