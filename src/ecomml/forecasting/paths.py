"""Sampled demand paths from forecast quantiles: what sums of forecasts (a category, a
promotion's weeks) are uncertain by, without summing quantiles.

Each forecast's quantiles (q05 .. q95) define a piecewise-linear quantile function;
:func:`draw_paths` samples it (scaled to the forecast's mean) and :func:`shock` draws the
mean-one factors that make the draws of a group move together.
"""

from __future__ import annotations

import numpy as np

from ecomml.forecasting._base import QUANTILES as _Q

__all__ = ["draw_paths", "quantile_variance", "shock"]


def quantile_variance(q: np.ndarray) -> np.ndarray:
    """Variance of the piecewise-linear distribution through the quantiles (see draw_paths), in
    closed form: on a segment from ``a`` to ``b`` of probability width ``w`` the quantile
    function contributes ``w (a + b) / 2`` to the mean and ``w (a^2 + ab + b^2) / 3`` to
    the second moment."""
    vals = _knot_values(q.reshape(-1, len(_Q)))
    w = np.diff(np.concatenate([[0.0], _Q, [1.0]]))
    a, b = vals[:, :-1], vals[:, 1:]
    mean = (w * (a + b) / 2).sum(axis=1)
    second = (w * (a * a + a * b + b * b) / 3).sum(axis=1)
    return np.maximum(second - mean * mean, 0.0).reshape(q.shape[:-1])


def _knot_values(q: np.ndarray) -> np.ndarray:
    """The quantile function's values at p = 0, the quantile levels and p = 1."""
    lo = np.maximum(2 * q[:, :1] - q[:, 1:2], 0.0)
    hi = 2 * q[:, -1:] - q[:, -2:-1]
    return np.concatenate([lo, q, hi], axis=1)


def _quantile_function(q: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Piecewise-linear quantile functions through the rows of ``q`` at probabilities
    ``u`` ``(rows, n)``: linear from ``max(0, 2 q05 - q10)`` at p=0 to q05, through the
    quantiles, and on beyond q95 with the q90-q95 step to p=1."""
    knots = np.concatenate([[0.0], _Q, [1.0]])
    vals = _knot_values(q)
    k = np.clip(np.searchsorted(knots, u, side="right") - 1, 0, len(knots) - 2)
    w = (u - knots[k]) / (knots[k + 1] - knots[k])
    return (
        np.take_along_axis(vals, k, axis=1) * (1 - w) + np.take_along_axis(vals, k + 1, axis=1) * w
    )


def draw_paths(q: np.ndarray, mean: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` draws ``(n, skus)`` from each SKU's quantile function, scaled to its mean."""
    x = _quantile_function(q, rng.random((q.shape[0], n)))
    m = x.mean(axis=1, keepdims=True)
    x = np.where(m > 1e-12, x * (mean[:, None] / np.maximum(m, 1e-12)), x)
    return x.T


def shock(rng: np.random.Generator, sd: float, n: int) -> np.ndarray:
    """Mean-one lognormal factors with relative sd ``sd``."""
    if sd <= 0:
        return np.ones(n)
    s2 = np.log1p(sd * sd)
    return np.exp(rng.normal(-s2 / 2, np.sqrt(s2), n))
