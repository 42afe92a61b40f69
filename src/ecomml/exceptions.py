"""The ecomml exception and warning hierarchy.

Every error ecomml raises on purpose derives from :class:`EcommlError`, and also from
the matching built-in, so ``except ValueError`` keeps working. Messages say what is
wrong, where (file, column, rows) and how to fix it. This module imports only the
standard library and scikit-learn's exceptions.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable, Sequence
from typing import Any

from sklearn.exceptions import NotFittedError as _SkNotFittedError

__all__ = [
    "ConfigError",
    "ConvergenceError",
    "DataQualityError",
    "DataQualityWarning",
    "EcommlError",
    "EcommlWarning",
    "FeatureMismatchError",
    "InputFileError",
    "LeakageError",
    "LockTimeoutError",
    "ModelLoadError",
    "NotFittedError",
    "SchemaError",
    "SparkUnavailableError",
    "SqlTranslationError",
    "TrackingError",
    "UnknownEntityError",
    "format_rows",
    "short_repr",
]

_repr = reprlib.Repr()
_repr.maxlist = 8
_repr.maxtuple = 8
_repr.maxset = 8
_repr.maxstring = 60
_repr.maxother = 60


def short_repr(values: Any) -> str:
    """Shorten a collection of ids or values for an error message."""
    if isinstance(values, (set, frozenset)):
        values = sorted(values, key=str)
    if not isinstance(values, (list, tuple, str)) and isinstance(values, Iterable):
        values = list(values)
    return _repr.repr(values)


def format_rows(rows: Sequence[int], *, limit: int = 5) -> str:
    """Format 1-based row/line numbers, e.g. ``"lines 3, 7, 9 (and 12 more)"``."""
    rows = list(rows)
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    more = f" (and {len(rows) - limit} more)" if len(rows) > limit else ""
    word = "line" if len(rows) == 1 else "lines"
    return f"{word} {shown}{more}"


class EcommlError(Exception):
    """Root of every ecomml error."""


class SchemaError(EcommlError, ValueError):
    """Missing, misspelled or extra columns, or columns of the wrong type.

    Attributes
    ----------
    missing : list of str
        Required columns that were not found.
    columns : list of str
        The columns that were found.
    """

    def __init__(
        self,
        message: str,
        *,
        missing: Sequence[str] = (),
        columns: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.missing = list(missing)
        self.columns = list(columns)


class DataQualityError(EcommlError, ValueError):
    """Values that cannot be used: unparseable dates, duplicate keys, mixed time zones...

    Attributes
    ----------
    bad_rows : list of int
        1-based line numbers (data rows, header excluded) that fail, where known.
    bad_keys : list
        Offending key values, where the problem is about keys.
    """

    def __init__(
        self,
        message: str,
        *,
        bad_rows: Sequence[int] = (),
        bad_keys: Sequence[Any] = (),
    ) -> None:
        super().__init__(message)
        self.bad_rows = list(bad_rows)
        self.bad_keys = list(bad_keys)


class InputFileError(EcommlError, OSError):
    """A file that cannot be read: missing, empty, a directory, wrong format or encoding."""


class LeakageError(EcommlError, ValueError):
    """Data at or after a cutoff reached a computation that must only see the past."""


class NotFittedError(EcommlError, _SkNotFittedError):
    """An estimator was used before ``fit``."""


class UnknownEntityError(EcommlError, LookupError):
    """An unknown customer, SKU, feature view or model name."""


class ConvergenceError(EcommlError, RuntimeError):
    """An optimiser did not converge."""


class TrackingError(EcommlError, RuntimeError):
    """MLflow tracking or registry failed; wraps the MlflowException."""


class ConfigError(EcommlError, ValueError):
    """An invalid configuration file or option."""


class EcommlWarning(UserWarning):
    """Root of ecomml's warnings."""


class DataQualityWarning(EcommlWarning):
    """Data was cleaned or is suspicious, but usable."""


class FeatureMismatchError(EcommlError, ValueError):
    """Features were built by a different view definition (SQL hash) than a model expects."""


class ModelLoadError(EcommlError, ValueError):
    """A model directory or MLflow model cannot be used: missing, tampered, wrong task or version."""


class SparkUnavailableError(EcommlError, RuntimeError):
    """A Spark session cannot be had: pyspark is not installed, no Java runtime, or the JVM fails."""


class LockTimeoutError(EcommlError, TimeoutError):
    """Another job held a lock (model folder swap, manifest update) longer than the timeout."""


class SqlTranslationError(EcommlError, ValueError):
    """A feature view uses SQL that cannot be translated to another engine's dialect.

    Attributes
    ----------
    view : str
        The feature view (or relation) whose SQL failed.
    construct : str
        The construct that has no translation.
    """

    def __init__(self, message: str, *, view: str = "", construct: str = "") -> None:
        super().__init__(message)
        self.view = view
        self.construct = construct

    def in_view(self, view: str) -> SqlTranslationError:
        """This error, attributed to feature view ``view`` (unchanged if it names one)."""
        text = str(self) if self.view else f"feature view {view!r}: {self}"
        return SqlTranslationError(text, view=self.view or view, construct=self.construct)
