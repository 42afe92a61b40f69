"""Public test helpers: check the point-in-time rule of anything that takes a cutoff.

The rule every ecomml command with ``--cutoff`` obeys: its output is identical whether or
not the input also holds rows at or after the cutoff. :func:`assert_cutoff_invariant`
checks it for any function of a transactions frame; :func:`make_future_rows` makes the
rows that must not matter.

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({"order_id": ["1", "2"], "customer_id": ["a", "b"],
...                    "sku": ["x", "y"], "ts": pd.to_datetime(["2024-01-01", "2024-01-03"]),
...                    "quantity": [1.0, 2.0], "price": [5.0, 7.0]})
>>> cut = pd.Timestamp("2024-01-02")
>>> def units(df):  # respects the cutoff
...     df = df[df["ts"] < cut]
...     return df.groupby("sku", as_index=False)["quantity"].sum()
>>> assert_cutoff_invariant(units, tx, cut)
>>> def leaky(df):  # forgets it
...     return df.groupby("sku", as_index=False)["quantity"].sum()
>>> assert_cutoff_invariant(leaky, tx, cut)  # doctest: +ELLIPSIS
Traceback (most recent call last):
AssertionError: output changed when rows at or after the cutoff 2024-01-02 00:00:00 were added...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ecomml._validation import check_cutoff, check_frame, check_random_state
from ecomml.exceptions import ConfigError, DataQualityError, SchemaError

__all__ = ["assert_cutoff_invariant", "make_future_rows"]


def make_future_rows(
    transactions: pd.DataFrame,
    cutoff: Any,
    n: int = 50,
    rng: int | np.random.Generator | None = None,
    *,
    ts_col: str = "ts",
    horizon_days: float = 120.0,
    id_cols: tuple[str, ...] = ("customer_id", "sku"),
    order_col: str = "order_id",
) -> pd.DataFrame:
    """Rows dated at or after ``cutoff``, made from copies of real rows.

    The copies keep every column and dtype of ``transactions`` and are shifted to random
    times in ``[cutoff, cutoff + horizon_days)``. At least one copy (up to a quarter of
    ``n``) sits exactly at the cutoff, the most common off-by-one. About one row in ten
    gets a brand-new id in each of ``id_cols`` (a customer or SKU that exists only after
    the cutoff), and order ids get a ``future-`` prefix so they never merge with real
    orders.

    Parameters
    ----------
    transactions : DataFrame
        Source rows (any frame with a timestamp column, e.g. events); must not be empty.
    cutoff : date-like
        The exclusive cutoff: every returned row has ``ts >= cutoff``.
    n : int
        Number of rows to make.
    rng : int, Generator or None
        Seed or generator for the sampling.
    ts_col : str
        Timestamp column.
    horizon_days : float
        How far past the cutoff the copies may land.
    id_cols : tuple of str
        Id columns that sometimes get new, unseen values (missing columns are skipped).
    order_col : str
        Order id column to prefix with ``future-`` (skipped if missing).

    Returns
    -------
    DataFrame
        ``n`` rows with the columns of ``transactions``, index 0..n-1.

    Raises
    ------
    DataQualityError
        If ``transactions`` is empty (a ``ValueError``).
    ConfigError
        If ``n`` is negative (a ``ValueError``).
    SchemaError
        If ``ts_col`` is missing or not datetime64.
    """
    _check_ts(transactions, ts_col, "transactions")
    cut = check_cutoff(cutoff)
    if n < 0:
        raise ConfigError(f"n must be >= 0, got {n}")
    if len(transactions) == 0:
        raise DataQualityError(
            "make_future_rows needs at least one row to copy; pass future_rows= explicitly "
            "for an empty frame"
        )
    gen = check_random_state(rng)
    idx = gen.integers(0, len(transactions), size=n)
    out = transactions.iloc[idx].reset_index(drop=True).copy()
    if n == 0:
        return out
    ts = out[ts_col]
    tz = getattr(ts.dt, "tz", None)
    base = cut.tz_localize("UTC").tz_convert(tz) if tz is not None else cut
    offsets = pd.to_timedelta(gen.uniform(0.0, horizon_days, size=n), unit="D").round("s")
    n_at = max(1, n // 4)
    offsets = offsets.where(np.arange(n) >= n_at, pd.Timedelta(0))
    out[ts_col] = pd.Series(base + offsets, index=out.index).astype(ts.dtype)
    fresh = gen.random(n) < 0.1
    for col in id_cols:
        if col in out.columns and fresh.any():
            out[col] = _new_ids(transactions[col], out[col], fresh, prefix=f"future-{col}-")
    if order_col in out.columns:
        out[order_col] = _new_ids(
            transactions[order_col], out[order_col], np.ones(n, dtype=bool), prefix="future-"
        )
    return out


def _new_ids(source: pd.Series, values: pd.Series, mask: np.ndarray, *, prefix: str) -> pd.Series:
    """Replace ``values[mask]`` with ids absent from ``source``, keeping the dtype family."""
    k = int(mask.sum())
    if pd.api.types.is_numeric_dtype(source.dtype) and not pd.api.types.is_bool_dtype(source):
        start = (source.max() if source.notna().any() else 0) + 1
        vals = values.to_numpy(copy=True)
        vals[mask] = start + np.arange(k)
        return pd.Series(vals, index=values.index, dtype=source.dtype)
    vals = values.astype(object).to_numpy(copy=True)
    vals[mask] = [f"{prefix}{i}" for i in range(k)]
    dtype = source.dtype if isinstance(source.dtype, pd.StringDtype) else object
    return pd.Series(vals, index=values.index, dtype=dtype)


def _check_ts(frame: pd.DataFrame, ts_col: str, name: str) -> None:
    check_frame(frame, required=[ts_col], name=name)
    if not pd.api.types.is_datetime64_any_dtype(frame[ts_col]):
        raise SchemaError(
            f"{name} column {ts_col!r} must be datetime64, got {frame[ts_col].dtype}; "
            f"convert it first, e.g. {name}[{ts_col!r}] = pd.to_datetime({name}[{ts_col!r}])",
            columns=list(frame.columns),
        )


def assert_cutoff_invariant(
    run: Callable[[pd.DataFrame], Any],
    transactions: pd.DataFrame,
    cutoff: Any,
    *,
    future_rows: pd.DataFrame | None = None,
    n_future: int = 50,
    rng: int | np.random.Generator | None = None,
    ts_col: str = "ts",
    rtol: float = 1e-9,
) -> None:
    """Assert that ``run`` gives the same output with or without rows at/after ``cutoff``.

    ``run`` is called twice: on ``transactions`` truncated to ``ts < cutoff``, and on all
    of ``transactions`` (including any rows it already has at or after the cutoff) plus
    ``future_rows``. ``run`` is responsible for applying the cutoff itself (it is what a
    ``--cutoff`` command does); the two outputs must be equal.

    Parameters
    ----------
    run : callable
        Takes a transactions frame, returns a DataFrame, Series, array or scalar.
    transactions : DataFrame
        The input data.
    cutoff : date-like
        The cutoff ``run`` applies (exclusive).
    future_rows : DataFrame or None
        Extra rows dated at or after the cutoff; None makes ``n_future`` of them with
        :func:`make_future_rows`.
    n_future : int
        Number of generated rows when ``future_rows`` is None.
    rng : int, Generator or None
        Seed or generator for :func:`make_future_rows`.
    ts_col : str
        Timestamp column.
    rtol : float
        Relative tolerance for floats (absorbs summation-order noise of parallel
        engines); 0 demands exact equality.

    Raises
    ------
    AssertionError
        If the outputs differ (the message says where), or if ``future_rows`` holds a row
        dated before the cutoff.
    """
    _check_ts(transactions, ts_col, "transactions")
    cut = check_cutoff(cutoff)
    ts = transactions[ts_col]
    if getattr(ts.dt, "tz", None) is not None:
        cut = cut.tz_localize("UTC").tz_convert(ts.dt.tz)
    if future_rows is None:
        future_rows = make_future_rows(transactions, cut, n_future, rng, ts_col=ts_col)
    else:
        _check_ts(future_rows, ts_col, "future_rows")
    early = future_rows[future_rows[ts_col] < cut]
    if len(early):
        raise AssertionError(
            f"future_rows has {len(early)} row(s) dated before the cutoff {cut} (first: "
            f"{early[ts_col].min()}); they would legitimately change the output"
        )
    past = transactions[transactions[ts_col] < cut].reset_index(drop=True)
    full = pd.concat([transactions, future_rows], ignore_index=True)
    n_after = int((full[ts_col] >= cut).sum())
    before = run(past.copy())
    after = run(full.copy())
    context = (
        f"output changed when rows at or after the cutoff {cut} were added "
        f"({len(past)} rows before it, {n_after} at or after it). Something reads rows with "
        f"ts >= cutoff: filter with ts < cutoff before any computation"
    )
    _assert_same(before, after, context, rtol=rtol)


def _assert_same(before: Any, after: Any, context: str, *, rtol: float) -> None:
    exact = rtol == 0
    kw: dict[str, Any] = {"check_exact": True} if exact else {"check_exact": False, "rtol": rtol}
    try:
        if isinstance(before, pd.DataFrame) and isinstance(after, pd.DataFrame):
            pd.testing.assert_frame_equal(before, after, **kw)
        elif isinstance(before, pd.Series) and isinstance(after, pd.Series):
            pd.testing.assert_series_equal(before, after, **kw)
        elif isinstance(before, np.ndarray | list | tuple):
            if exact:
                np.testing.assert_array_equal(np.asarray(before), np.asarray(after))
            else:
                np.testing.assert_allclose(
                    np.asarray(before), np.asarray(after), rtol=rtol, equal_nan=True
                )
        elif type(before) is not type(after):
            raise AssertionError(f"type {type(before).__name__} != {type(after).__name__}")
        elif before != after and not (
            isinstance(before, float) and np.isclose(before, after, rtol=rtol, equal_nan=True)
        ):
            raise AssertionError(f"{before!r} != {after!r}")
    except AssertionError as err:
        raise AssertionError(f"{context}:\n{err}") from err
