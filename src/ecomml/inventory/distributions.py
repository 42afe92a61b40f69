"""Demand distributions for stock levels: per-period sample paths, and exact pmfs of the
demand summed over the lead time (+ review) on a per-SKU integer grid.

Negative binomial forecasts (``nb_size``) give exact pmfs: a sum of negative binomials
with the same ``mean / size`` ratio is negative binomial, and other sums are matched on
their first two moments. Forecasts with quantiles only are sampled (inverse CDF through
the quantiles) and histogrammed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from ecomml._validation import check_random_state
from ecomml.metrics.forecast import QUANTILE_COLUMNS

__all__ = [
    "Distributions",
    "demand_distributions",
    "hist_pmf",
    "nb_bucket_pmf",
    "sample_period_demand",
    "shortfall",
]


def sample_period_demand(
    forecast: pd.DataFrame, n_per: int, n_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """(n_sku, n_samples, n_per) draws of each period's demand (rows sorted by sku, ds)."""
    from ecomml.forecasting.leadtime import sample_from_quantiles

    n = len(forecast) // n_per
    mean = forecast["mean"].to_numpy(np.float64).reshape(n, n_per)
    out = np.empty((n, n_samples, n_per), dtype=np.float32)
    if "nb_size" in forecast.columns and forecast["nb_size"].notna().all():
        size = forecast["nb_size"].to_numpy(np.float64).reshape(n, n_per)
        for j in range(n_per):
            mu, k = np.maximum(mean[:, j], 1e-12), np.clip(size[:, j], 1e-3, 1e6)
            lam = rng.gamma(k[:, None], (mu / k)[:, None], size=(n, n_samples))
            out[:, :, j] = rng.poisson(lam)
    else:
        Q = forecast[list(QUANTILE_COLUMNS)].to_numpy(np.float64).reshape(n, n_per, -1)
        for j in range(n_per):
            out[:, :, j] = np.maximum(sample_from_quantiles(Q[:, j], rng.random((n, n_samples))), 0)
    return out


@dataclass
class Distributions:
    """Demand pmfs on a per-SKU grid: bucket ``b`` of SKU ``i`` is ``b * unit[i]`` units.

    ``cycle`` is one review cycle's demand; ``lead[t]`` the demand over the lead time plus
    ``t`` periods (``t = 0 .. R``), mixed over the lead-time distribution.
    """

    unit: np.ndarray
    cycle: np.ndarray
    lead: list[np.ndarray]
    mean_cycle: np.ndarray
    mean_period: np.ndarray

    @property
    def grid(self) -> int:
        return self.lead[0].shape[1]


def nb_bucket_pmf(mean: np.ndarray, size: np.ndarray, unit: np.ndarray, grid: int) -> np.ndarray:
    """(n, grid) pmf of NB(mean, size) rounded *up* to a bucket (bucket ``b`` holds demand
    ``((b - 1) u, b u]``, so a level of ``b u`` covers its whole bucket: service and
    shortage are never overstated), tail in the last."""
    mean = np.maximum(mean, 0.0)
    size = np.clip(size, 1e-6, 1e9)
    edges = np.arange(grid)[None, :] * unit[:, None]  # the last unit of each bucket
    p = size / (size + np.maximum(mean, 1e-300))
    cdf = special.betainc(size[:, None], edges + 1.0, p[:, None])  # NB cdf, without checks
    cdf[:, -1] = 1.0
    out = np.diff(cdf, axis=1, prepend=0.0)
    out[mean <= 0] = 0.0
    out[mean <= 0, 0] = 1.0
    return np.maximum(out, 0.0)


def hist_pmf(x: np.ndarray, unit: np.ndarray, grid: int) -> np.ndarray:
    """(n, grid) histogram pmf of samples x (n, m) in buckets of ``unit``."""
    n, m = x.shape
    b = np.clip(np.ceil(x / unit[:, None] - 1e-9), 0, grid - 1).astype(np.int64)  # rounded up
    flat = (np.arange(n)[:, None] * grid + b).ravel()
    return np.bincount(flat, minlength=n * grid).reshape(n, grid) / float(m)


def _nb_sum(mu: np.ndarray, size: np.ndarray, upto: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and moment-matched NB size of the sum of the first ``upto`` periods."""
    if upto <= 0:
        z = np.zeros(len(mu))
        return z, np.full(len(mu), 1e9)
    m = mu[:, :upto].sum(axis=1)
    extra = (mu[:, :upto] ** 2 / size[:, :upto]).sum(axis=1)  # variance above Poisson
    return m, np.where(extra > 1e-12, m**2 / np.maximum(extra, 1e-300), 1e9)


def demand_distributions(
    forecast: pd.DataFrame,
    *,
    ks: np.ndarray,
    pk: np.ndarray,
    review_period: int,
    grid: int = 256,
    n_samples: int = 4000,
    rng: np.random.Generator | None = None,
    room: float = 2.0,
    cycle: bool = True,
    extra: np.ndarray | None = None,
) -> Distributions:
    """The pmfs the cost model needs, from each SKU's protection-window forecast rows
    (sorted by ``sku, ds``; ``max(ks) + R`` rows per SKU).

    The grid spans ``room`` times the 0.9999 quantile of the protection demand (2 leaves
    space for an ``(s, S)`` policy's cycle stock), with at most ``grid`` buckets; fewer
    when every SKU fits, and at least ``extra`` units (per SKU) above that quantile (an
    ``(s, S)`` policy's order size). ``cycle=False`` leaves the review cycle's pmf out.
    """
    R = max(int(review_period), 1)
    n_per = int(ks.max()) + R
    n = len(forecast) // n_per
    mu = np.maximum(forecast["mean"].to_numpy(np.float64).reshape(n, n_per), 0.0)
    exact = "nb_size" in forecast.columns and forecast["nb_size"].notna().all()
    mean_period = mu.mean(axis=1)
    if exact:
        size = np.clip(forecast["nb_size"].to_numpy(np.float64).reshape(n, n_per), 1e-6, 1e9)
        sums = {u: _nb_sum(mu, size, u) for u in range(n_per + 1)}
        top_m, top_k = sums[n_per]
        hi = stats.nbinom.ppf(0.9999, top_k, top_k / (top_k + np.maximum(top_m, 1e-300)))
        hi = np.nan_to_num(hi, nan=0.0)
    else:
        rng = check_random_state(rng)
        D = sample_period_demand(forecast, n_per, int(n_samples), rng).astype(np.float64)
        cum = np.concatenate([np.zeros((n, D.shape[1], 1)), np.cumsum(D, axis=2)], axis=2)
        hi = cum[:, :, -1].max(axis=1)
    span = (hi + 1.0) * float(room)
    if extra is not None:
        span = np.maximum(span, hi + 1.0 + np.minimum(np.nan_to_num(extra), 50.0 * (hi + 1.0)))
    unit = np.maximum(np.ceil(span / grid), 1.0)
    grid = int(min(grid, max(np.ceil(span / unit).max() + 1, 8)))
    mc = mean_period * R
    if exact:
        kc = np.median(size, axis=1) * R
        cyc = nb_bucket_pmf(mc, kc, unit, grid) if cycle else np.zeros((n, 0))
        lead = []
        for t in range(R + 1):
            mix = np.zeros((n, grid))
            for k, w in zip(ks, pk, strict=True):
                m, kk = sums[int(k) + t]
                mix += w * nb_bucket_pmf(m, kk, unit, grid)
            lead.append(mix)
    else:
        kdraw = ks[rng.choice(len(ks), size=(n, D.shape[1]), p=pk)]
        rows, cols = np.arange(n)[:, None], np.arange(D.shape[1])[None, :]
        lead = [hist_pmf(cum[rows, cols, kdraw + t], unit, grid) for t in range(R + 1)]
        # the first R periods: a typical cycle
        cyc = hist_pmf(cum[:, :, R], unit, grid) if cycle else np.zeros((n, 0))
    return Distributions(unit, cyc, lead, mc, mean_period)


def shortfall(pmf: np.ndarray) -> np.ndarray:
    """E[(D - j)^+] in buckets for j = 0 .. grid-1 (pmf (n, grid))."""
    tail = 1.0 - np.cumsum(pmf, axis=1)  # P(D > j)
    return np.cumsum(tail[:, ::-1], axis=1)[:, ::-1]
