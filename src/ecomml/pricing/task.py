"""The pricing task: ``ecomml price elasticity|recommend|markdown|tiers``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

from ecomml.pricing.commands import ACTIONS, RUNNERS
from ecomml.task import Action, Report, Task

__all__ = ["PriceTask"]


class PriceTask(Task):
    """How does each SKU's demand respond to its price?

    ``elasticity``: own-price elasticity per SKU with its interval, from the shop's sales
    (double/debiased ML on a tier-adjusted price panel, pooled toward the category).
    ``recommend``: the price per SKU with the highest expected profit within the rules.
    ``markdown``: weekly markdowns that clear slow stock by a date at the best revenue.
    ``tiers``: whether a standing discount per member tier is worth its margin. Each reads
    the shop as of its ``--cutoff``."""

    name: ClassVar[str] = "price"
    title: ClassVar[str] = "Pricing: elasticity, prices, markdowns and member-tier discounts"
    actions: ClassVar[tuple[Action, ...]] = ACTIONS
    runners: ClassVar[Mapping[str, Callable[..., Report]]] = RUNNERS
