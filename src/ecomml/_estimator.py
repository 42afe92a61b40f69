"""Private base of every ecomml estimator: scikit-learn's parameter plumbing, ecomml errors.

:class:`EcommlEstimator` is :class:`sklearn.base.BaseEstimator` (``get_params`` from the
``__init__`` signature, ``clone``, ``repr``) with one difference: ``set_params`` with a
name the estimator does not have raises :class:`~ecomml.exceptions.ConfigError` (a
``ValueError``, as sklearn's own check expects) naming the valid parameters.
"""

from __future__ import annotations

from typing import Any, Self

from sklearn.base import BaseEstimator

from ecomml.exceptions import ConfigError

__all__ = ["EcommlEstimator"]


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
