"""FeatureView: a named set of features, written as one SQL query over the canonical tables.

The SQL contract (the same for every engine, DuckDB dialect; translated for Spark):

* The query reads the relations ``transactions``, ``events``, ``dates`` (each with an
  extra ``cutoff`` TIMESTAMP column and **only rows with ts < cutoff**, and within the
  view's ``lookback``), ``cutoffs`` (one column ``cutoff``), ``catalog`` and
  ``calendar`` (not time-filtered: a planned promotion is known in advance).
  One query serves many cutoffs at once: the store joins each source to every
  requested cutoff, so a view must ``GROUP BY cutoff, <keys>`` (or partition window
  functions by ``cutoff``) and must never compare against a literal date.
* ``dates`` holds one row per complete calendar day (``date`` DATE) from the first
  transaction day to the day before the cutoff's date (a cutoff at 14:00 does not make
  its own, partial, day part of the grid): the dense grid for time-series views.
* The result has the columns ``cutoff``, the entity's keys, then the features. The
  store prefixes feature columns with ``{view}__``.
* Views never read the clock, files or MLflow.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ecomml.exceptions import ConfigError
from ecomml.features.entity import Entity

__all__ = ["SOURCE_TABLES", "FeatureView"]

SOURCE_TABLES = ("transactions", "events", "catalog", "calendar", "dates", "cutoffs")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class FeatureView:
    """A named feature view.

    Parameters
    ----------
    name : str
        Lower-case identifier, used as the column prefix ``{name}__``.
    entity : Entity
        What a row is about; its keys are the view's join keys.
    sql : str
        The query (see the module docstring for the contract).
    lookback : timedelta or None
        Only rows with ``cutoff - lookback <= ts < cutoff`` are visible; None means all history.
    description : str
        One line for ``ecomml features show``.
    fill : dict
        Values for features of keys the view has no row for (e.g. counts -> 0), when keys
        are requested explicitly. A NULL inside a row the view returned stays NULL.
    features : tuple of str
        Optional documentation of the feature columns, ``(name, description)`` pairs
        joined by ``": "``.
    """

    name: str
    entity: Entity
    sql: str
    lookback: timedelta | None = None
    description: str = ""
    fill: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    features: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigError(f"view name {self.name!r} must be lower_snake_case")
        if self.lookback is not None and self.lookback <= timedelta(0):
            raise ConfigError(
                f"view {self.name!r}: lookback must be positive or None (all history)"
            )

    @property
    def sql_hash(self) -> str:
        """SHA-256 of the normalised SQL plus lookback: changes whenever the definition does."""
        norm = " ".join(self.sql.split())
        text = f"{norm}|lookback={self.lookback}|keys={self.entity.keys}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
