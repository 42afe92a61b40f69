"""Lead-time demand: the distribution of total demand over lead time + review period.

An order-up-to or reorder-point policy needs quantiles of the *sum* of demand over the
protection interval; summing per-period quantiles overstates every tail (the q95 of a
sum is far below the sum of the q95s). :func:`lead_time_demand` draws sample paths
from each period's predictive distribution and takes quantiles of their sums: exact
negative binomial draws when the forecast carries ``nb_size`` (the LightGBM
forecaster), otherwise inverse-CDF draws through the forecast's quantiles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ecomml._validation import check_frame, check_random_state
from ecomml.exceptions import ConfigError, DataQualityError, short_repr
from ecomml.metrics.forecast import QUANTILE_COLUMNS

__all__ = ["lead_time_demand", "protection_window"]

_LEVELS = np.array(list(QUANTILE_COLUMNS.values()))


def sample_from_quantiles(q: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF samples: q (n, 7) quantiles, u (n, s) uniforms -> (n, s).

    Piecewise linear between the given levels; the tails below q05 / above q95 are
    extended linearly with the slope of the nearest segment (floored at 0)."""
    p = np.concatenate([[0.0], _LEVELS, [1.0]])
    lo = np.maximum(q[:, 0] - (q[:, 1] - q[:, 0]), 0.0)
    hi = q[:, -1] + (q[:, -1] - q[:, -2])
    knots = np.column_stack([lo, q, hi])
    idx = np.clip(np.searchsorted(p, u, side="right") - 1, 0, len(p) - 2)
    p0, p1 = p[idx], p[idx + 1]
    rows = np.arange(len(q))[:, None]
    v0, v1 = knots[rows, idx], knots[rows, idx + 1]
    return v0 + (v1 - v0) * (u - p0) / (p1 - p0)


def protection_window(
    forecast: pd.DataFrame, periods: int, *, start: object = None, needed: str, fix: str
) -> pd.DataFrame:
    """Each SKU's first ``periods`` rows of ``forecast`` from ``start`` (None: its first
    forecast period), sorted by ``sku, ds``.

    Raises
    ------
    DataQualityError
        Naming the SKUs (``bad_keys``) whose forecast covers fewer periods; ``needed``
        says how many periods and why, ``fix`` what else the caller may shorten.
    """
    f = forecast
    if start is not None:
        f = f.loc[pd.to_datetime(f["ds"]) >= pd.Timestamp(start)]
    f = f.sort_values(["sku", "ds"], kind="mergesort").groupby("sku", sort=True).head(periods)
    counts = f.groupby("sku", sort=True).size()
    short = counts[counts < periods]
    if len(short):
        raise DataQualityError(
            f"the forecast covers fewer than {needed} for {len(short)} SKU(s) "
            f"{short_repr(list(short.index))}; forecast a longer horizon or shorten {fix}",
            bad_keys=list(short.index),
        )
    return f


def lead_time_demand(
    forecast: pd.DataFrame,
    *,
    lead_time: int,
    review_period: int = 0,
    start: object = None,
    quantiles: Sequence[float] = tuple(QUANTILE_COLUMNS.values()),
    n_samples: int = 4000,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Quantiles of each SKU's total demand over ``lead_time + review_period`` periods.

    Parameters
    ----------
    forecast : DataFrame
        A forecaster's output: ``sku, ds, mean, q05 ... q95`` (+ ``nb_size``).
    lead_time : int
        Periods from placing an order to receiving it (>= 0).
    review_period : int
        Periods between two orders (0 = continuous review).
    start : date-like or None
        First period of the protection interval; None = each SKU's first forecast period.
    quantiles : sequence of float
        Levels to return, as columns ``q05``-style (``q{100*level:02.0f}``).
    n_samples : int
        Monte-Carlo sample paths per SKU.
    random_state : int, Generator or None

    Returns
    -------
    DataFrame
        ``sku, periods, mean`` and one column per quantile level. Periods are assumed
        independent given the forecast.

    Raises
    ------
    DataQualityError
        When the forecast does not cover the protection interval for some SKU.
    """
    check_frame(forecast, required=["sku", "ds", "mean", *QUANTILE_COLUMNS], name="forecast")
    n_per = int(lead_time) + int(review_period)
    if lead_time < 0 or review_period < 0 or n_per < 1:
        raise ConfigError(
            f"lead_time ({lead_time}) and review_period ({review_period}) must be >= 0 "
            "and cover at least one period"
        )
    levels = np.asarray(list(quantiles), dtype=np.float64)
    if ((levels <= 0) | (levels >= 1)).any():
        raise ConfigError(f"quantile levels must be in (0, 1), got {levels.tolist()}")
    rng = check_random_state(random_state)
    f = protection_window(
        forecast, n_per, start=start, needed=f"lead_time + review_period = {n_per} periods",
        fix="the interval",
    )  # fmt: skip
    skus = f["sku"].drop_duplicates().to_numpy()
    n = len(skus)
    mean = f["mean"].to_numpy(np.float64).reshape(n, n_per)
    total = np.zeros((n, int(n_samples)))
    if "nb_size" in f.columns and f["nb_size"].notna().all():
        size = f["nb_size"].to_numpy(np.float64).reshape(n, n_per)
        for j in range(n_per):
            mu, k = np.maximum(mean[:, j], 1e-12), np.clip(size[:, j], 1e-3, 1e6)
            lam = rng.gamma(k[:, None], (mu / k)[:, None], size=(n, int(n_samples)))
            total += rng.poisson(lam)
    else:
        Q = f[list(QUANTILE_COLUMNS)].to_numpy(np.float64).reshape(n, n_per, -1)
        for j in range(n_per):
            total += sample_from_quantiles(Q[:, j], rng.random((n, int(n_samples))))
    out = pd.DataFrame({"sku": skus, "periods": n_per, "mean": mean.sum(axis=1)})
    qs = np.quantile(total, levels, axis=1).T
    qs = np.maximum.accumulate(qs, axis=1)
    for j, lv in enumerate(levels):
        out[f"q{round(lv * 100):02d}"] = qs[:, j]
    return out
