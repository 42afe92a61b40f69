"""Private checks shared by every module: frames, columns, cutoffs, fitted state."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ecomml.dates import DateFormat, parse_date
from ecomml.exceptions import (
    ConfigError,
    DataQualityError,
    NotFittedError,
    SchemaError,
    short_repr,
)

__all__ = [
    "check_cutoff",
    "check_fitted",
    "check_frame",
    "check_random_state",
    "check_unique_columns",
    "closest_name",
    "day_after_last",
    "did_you_mean",
    "parse_timestamp",
    "parse_timestamps",
    "require_columns",
]


def closest_name(name: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate most similar to ``name`` (case-insensitive), or None."""
    cands = list(candidates)
    lowered = {c.lower().replace(" ", "").replace("_", ""): c for c in cands}
    key = name.lower().replace(" ", "").replace("_", "")
    if key in lowered:
        return lowered[key]
    match = difflib.get_close_matches(key, list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` naming the candidate closest to ``name`` (see
    :func:`closest_name`); empty when none is close."""
    near = closest_name(name, candidates)
    return f" (did you mean '{near}'?)" if near else ""


def check_frame(
    df: Any,
    *,
    required: Sequence[str],
    name: str = "frame",
    source: str | None = None,
) -> pd.DataFrame:
    """Check that ``df`` is a DataFrame with the ``required`` columns.

    Raises
    ------
    SchemaError
        Naming the missing columns, the closest existing column for each, and the
        source file if given.
    """
    where = f"{name} ({source})" if source else name
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"{where} must be a pandas DataFrame, got {type(df).__name__}.")
    cols = [str(c) for c in df.columns]
    missing = [c for c in required if c not in cols]
    if missing:
        spare = [c for c in cols if c not in required]
        hints = [f"'{m}'" + did_you_mean(m, spare) for m in missing]
        raise SchemaError(
            f"{where} is missing required column(s) {', '.join(hints)}; found columns "
            f"{short_repr(cols)}. Rename them, or pass a column mapping such as "
            f"--map <your column>={missing[0]}.",
            missing=missing,
            columns=cols,
        )
    return df


def require_columns(
    columns: Iterable[str], required: Iterable[str], message: Callable[[list[str]], str]
) -> None:
    """Raise :class:`SchemaError` with ``message(missing)`` (and ``missing``, ``columns``
    attached) when any of the ``required`` columns is not among ``columns``."""
    cols = list(columns)
    present = set(cols)
    missing = [c for c in required if c not in present]
    if missing:
        raise SchemaError(message(missing), missing=missing, columns=cols)


def check_unique_columns(names: Sequence[str], *, where: str, context: str = "") -> None:
    """Refuse repeated column ``names`` (of ``where``; ``context`` ends the "what": e.g.
    ``" in its header"``) with a :class:`SchemaError` that lists them."""
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SchemaError(
            f"{where} has duplicate column names {short_repr(dupes)}{context}; give each "
            "column a unique name.",
            columns=list(names),
        )


def parse_timestamp(
    value: Any,
    *,
    name: str,
    error: type[Exception] = DataQualityError,
    dates: DateFormat | None = None,
) -> pd.Timestamp:
    """Parse a date-like ``value`` into a timezone-naive (UTC) ``pd.Timestamp``.

    Text is read as written (:func:`ecomml.dates.parse_date`: ISO, year-first or the
    declared ``dates`` format; a day/month date is never guessed). Raises ``error``
    naming ``name`` when the value is not a date.
    """
    message = f"{name} {value!r} is not a date; use ISO format, e.g. 2011-09-01."
    if isinstance(value, str) and not _has_offset(value):
        return parse_date(value, dates, name=name, error=error)
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as err:
        raise error(message) from err
    if ts is pd.NaT:
        raise error(message)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def parse_timestamps(values: pd.Series, *, name: str) -> pd.Series:
    """Parse a column of date-likes into timezone-naive (UTC) datetimes.

    Raises :class:`DataQualityError` naming ``name`` (e.g. ``"labels column 'cutoff'"``)
    when a value is not a date; missing values stay missing.
    """
    try:
        out = pd.to_datetime(values)
    except (ValueError, TypeError) as err:
        raise DataQualityError(f"{name} has values that are not dates: {err}") from err
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def _has_offset(text: str) -> bool:
    """True for ``2024-01-01T00:00:00+08:00`` / ``...Z``: pandas converts those to UTC."""
    return bool(re.search(r"(?:[+-]\d{2}:?\d{2}|Z|UTC|GMT)\s*$", text.strip()))


def check_cutoff(
    cutoff: Any, *, name: str = "cutoff", dates: DateFormat | None = None
) -> pd.Timestamp:
    """Parse a cutoff into a timezone-naive ``pd.Timestamp`` (text as written, see
    :func:`parse_timestamp`).

    The cutoff is exclusive everywhere in ecomml: computations use ``ts < cutoff``.
    """
    if cutoff is None:
        raise DataQualityError(
            f"{name} is required: ecomml never defaults to 'now'. Pass a date such as 2011-09-01."
        )
    return parse_timestamp(cutoff, name=name, dates=dates)


def day_after_last(ts: pd.Series) -> pd.Timestamp:
    """The default cutoff of data with timestamps ``ts``: midnight after the last one, so
    every row is history."""
    return pd.Timestamp(ts.max()).normalize() + pd.Timedelta(days=1)


def check_fitted(estimator: Any, attributes: Sequence[str]) -> None:
    """Raise :class:`NotFittedError` unless every attribute in ``attributes`` is set."""
    if not all(hasattr(estimator, a) for a in attributes):
        raise NotFittedError(
            f"This {type(estimator).__name__} is not fitted yet; call fit() before using it."
        )


def check_random_state(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """Turn ``None``, an int seed or a Generator into a ``np.random.Generator``."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


def check_n_jobs(n_jobs: int | None) -> int:
    """Threads for a compiled library: ``None`` = every core the process may use
    (``OMP_NUM_THREADS`` when set, which is how a shared machine or a test run caps
    OpenMP), a negative number counts back from the cores as in joblib (-1 = all)."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = max(int(cores or 1), 1)
    if n_jobs is None:
        env = os.environ.get("OMP_NUM_THREADS", "").strip()
        return max(int(env), 1) if env.isdigit() else cores
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ConfigError(f"n_jobs must be a non-zero integer or None (all cores), got {n_jobs!r}")
    return int(n_jobs) if n_jobs > 0 else max(cores + 1 + int(n_jobs), 1)
