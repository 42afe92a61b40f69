"""The estimator contract (issue 16, item 4): the scikit-learn rules every public estimator keeps.

``EstimatorContract`` is the one mixin every estimator's contract test class inherits (as
implicit's ``RecommenderBaseTestMixin`` does). A subclass says which class it covers and
supplies three small hooks:

* ``make_estimator()`` - an unfitted estimator with small, fast parameters;
* ``fit_data()`` - ``(args, kwargs)`` for ``fit``;
* ``predict_calls()`` - ``[(method_name, args, kwargs), ...]``: every predicting, scoring
  or recommending method to check (before fit, after pickling, after cloning).

The rules: ``__init__`` only stores its arguments; ``get_params``/``set_params`` work and an
unknown name raises :class:`~ecomml.exceptions.ConfigError` (a ``ValueError``);
``sklearn.base.clone`` works fitted or not; every prediction method raises
``NotFittedError`` before ``fit``; ``fit`` returns ``self``; refitting (on a clone) gives
the same predictions; a pickled fitted model predicts the same; ``repr`` is readable.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import sklearn.exceptions
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from ecomml.exceptions import ConfigError, NotFittedError

Call = tuple[str, tuple[Any, ...], dict[str, Any]]


def assert_same_output(a: Any, b: Any, *, context: str = "") -> None:
    """Two prediction outputs are equal (frames, arrays, lists or scalars)."""
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, obj=context or "DataFrame")
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, obj=context or "Series")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=context)
    else:
        assert a == b, context


class EstimatorContract:
    """The contract; subclasses set ``estimator_class`` and override the hooks."""

    #: the public class this test class covers (the coverage test in test_common reads it)
    estimator_class: ClassVar[type]
    #: a reason to skip every check that needs a fitted model (e.g. it needs a Spark JVM)
    fit_skip_reason: ClassVar[str | None] = None

    # ------------------------------------------------------------------ hooks
    def make_estimator(self) -> Any:
        """An unfitted estimator with small, fast parameters."""
        return self.estimator_class()

    def fit_data(self) -> tuple[Sequence[Any], dict[str, Any]]:
        """``(args, kwargs)`` for ``fit``."""
        raise NotImplementedError

    def predict_calls(self) -> list[Call]:
        """``[(method, args, kwargs), ...]``: the prediction methods to check."""
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers
    def _fit(self, est: Any) -> Any:
        args, kwargs = self.fit_data()
        return est.fit(*args, **kwargs)

    def _predictions(self, est: Any) -> list[Any]:
        return [getattr(est, m)(*a, **kw) for m, a, kw in self.predict_calls()]

    def _assert_predicts_as(self, expected: list[Any], est: Any) -> None:
        """``est`` predicts ``expected`` (the fitted estimator's predictions)."""
        for (m, _a, _kw), pa, pb in zip(
            self.predict_calls(), expected, self._predictions(est), strict=True
        ):
            assert_same_output(pa, pb, context=f"{type(est).__name__}.{m}")

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls) -> Any:
        """One fitted estimator per test class (fitted once: fits are the slow part)."""
        if cls.fit_skip_reason:
            pytest.skip(cls.fit_skip_reason)
        hooks = cls()
        est = hooks.make_estimator()
        out = hooks._fit(est)
        assert out is est, f"{type(est).__name__}.fit must return self"
        return est

    @pytest.fixture(scope="class")
    @classmethod
    def fitted_predictions(cls, fitted: Any) -> list[Any]:
        """The fitted estimator's predictions, made once per test class (the refit and
        pickle checks compare with them)."""
        return cls()._predictions(fitted)

    # ------------------------------------------------------------------ unfitted rules
    def test_is_the_covered_class(self) -> None:
        assert type(self.make_estimator()) is self.estimator_class

    def test_init_only_stores_its_arguments(self) -> None:
        name = self.estimator_class.__name__
        check_parameters_default_constructible(name, self.estimator_class())
        check_no_attributes_set_in_init(name, self.make_estimator())

    def test_get_params_and_set_params(self) -> None:
        name = self.estimator_class.__name__
        check_get_params_invariance(name, self.make_estimator())
        check_set_params(name, self.make_estimator())
        est = self.make_estimator()
        params = est.get_params(deep=False)
        assert est.set_params(**params) is est
        assert est.get_params(deep=False).keys() == params.keys()

    def test_set_params_rejects_an_unknown_name(self) -> None:
        est = self.make_estimator()
        with pytest.raises(ConfigError, match="has no parameter 'no_such_param'"):
            est.set_params(no_such_param=1)
        with pytest.raises(ValueError):  # what sklearn's own tools catch
            est.set_params(no_such_param=1)

    def test_clone_unfitted(self) -> None:
        est = self.make_estimator()
        twin = clone(est)
        assert type(twin) is type(est)
        assert twin.get_params(deep=False).keys() == est.get_params(deep=False).keys()

    def test_repr_is_readable(self) -> None:
        est = self.make_estimator()
        text = repr(est)
        assert text.startswith(f"{type(est).__name__}(") and text.endswith(")")
        assert "object at 0x" not in text
        assert repr(self.estimator_class()) == f"{type(est).__name__}()"

    def test_predicting_before_fit_raises_not_fitted(self) -> None:
        for method, args, kwargs in self.predict_calls():
            est = self.make_estimator()
            with pytest.raises(NotFittedError, match="not fitted"):
                getattr(est, method)(*args, **kwargs)
            with pytest.raises(sklearn.exceptions.NotFittedError):
                getattr(est, method)(*args, **kwargs)

    # ------------------------------------------------------------------ fitted rules
    def test_fitted_state_has_trailing_underscores(self, fitted: Any) -> None:
        learnt = [k for k in vars(fitted) if k.endswith("_") and not k.startswith("__")]
        assert learnt, f"{type(fitted).__name__} stores no fitted attribute ending in '_'"
        params = fitted.get_params(deep=False)
        assert all(not k.endswith("_") for k in params)

    def test_clone_fitted_is_unfitted_with_the_same_params(self, fitted: Any) -> None:
        twin = clone(fitted)
        assert repr(twin) == repr(fitted)
        assert not [k for k in vars(twin) if k.endswith("_") and not k.startswith("__")]
        method, args, kwargs = self.predict_calls()[0]
        with pytest.raises(NotFittedError):
            getattr(twin, method)(*args, **kwargs)

    def test_refit_of_a_clone_predicts_the_same(
        self, fitted: Any, fitted_predictions: list[Any]
    ) -> None:
        twin = self._fit(clone(fitted))
        self._assert_predicts_as(fitted_predictions, twin)

    def test_pickle_round_trip_predicts_the_same(
        self, fitted: Any, fitted_predictions: list[Any]
    ) -> None:
        back = pickle.loads(pickle.dumps(fitted))
        assert type(back) is type(fitted)
        self._assert_predicts_as(fitted_predictions, back)
