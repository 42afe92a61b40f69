"""Private base of every ecomml estimator: scikit-learn's parameter plumbing, ecomml errors.

:class:`EcommlEstimator` is :class:`sklearn.base.BaseEstimator` (``get_params`` from the
``__init__`` signature, ``clone``, ``repr``) with one difference: ``set_params`` with a
name the estimator does not have raises :class:`~ecomml.exceptions.ConfigError` (a
``ValueError``, as sklearn's own check expects) naming the valid parameters.

:func:`estimator` declares an estimator's hyper-parameters once, as annotated class
fields, and writes the ``__init__`` scikit-learn's contract asks for: keyword-only, each
argument stored unchanged under its own name, nothing else. Fields a decorated base
declares (``freq``, ``horizon``, ... of every forecaster) are inherited, so they are
written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self, TypeVar

from sklearn.base import BaseEstimator

from ecomml.exceptions import ConfigError

__all__ = ["EcommlEstimator", "LightGBMParams", "estimator"]

T = TypeVar("T", bound=type)


class EcommlEstimator(BaseEstimator):
    """``BaseEstimator`` whose ``set_params`` raises ``ConfigError`` for an unknown name."""

    def set_params(self, **params: Any) -> Self:
        """Set hyper-parameters (``name=value``; ``step__name=value`` for nested estimators).

        Raises
        ------
        ConfigError
            A name that is not a parameter of this estimator.
        """
        valid = self.get_params(deep=False)
        for key in params:
            name = key.split("__", 1)[0]
            if name not in valid:
                raise ConfigError(
                    f"{type(self).__name__} has no parameter {name!r}; valid parameters are "
                    f"{', '.join(sorted(valid))}. See help({type(self).__name__})."
                )
        super().set_params(**params)
        return self


def estimator(cls: T) -> T:
    """Class decorator: the class's annotated fields are its hyper-parameters.

    Generates a keyword-only ``__init__`` that only stores them, as a dataclass with
    ``BaseEstimator``'s ``repr`` and identity equality kept (``eq=False``: two models
    with equal parameters are still different objects). Fitted state (``name_``) is never
    a field; class-level constants without an annotation are not fields either.
    """
    return dataclass(eq=False, repr=False, kw_only=True)(cls)


@estimator
class LightGBMParams:
    """Mixin: the LightGBM settings every boosted ecomml model exposes, declared once.

    A model overrides a default by declaring the field again. :meth:`_tree_params` gives
    them under LightGBM's own names (``lgb.train`` params and the scikit-learn API alike).
    """

    n_estimators: int = 200
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_child_samples: int = 50

    def _tree_params(self) -> dict[str, Any]:
        return {
            "learning_rate": float(self.learning_rate),
            "num_leaves": int(self.num_leaves),
            "min_child_samples": int(self.min_child_samples),
        }
