"""Partial pooling of per-SKU estimates: SKU -> category -> shop (empirical Bayes).

Each SKU's own estimate ``b`` with standard error ``se`` is shrunk toward its
category's mean by how noisy it is against how much SKUs of the category really differ
(``tau``, DerSimonian-Laird); a category's mean is shrunk toward the shop's the same
way. SKUs without an estimate of their own get the category's predictive distribution
for a new SKU (``source="category"``), or the shop's when the category has no
estimated SKU (``source="shop"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Pooled", "dersimonian_laird", "pool"]


def dersimonian_laird(b: np.ndarray, se: np.ndarray) -> tuple[float, float, float]:
    """Random-effects mean, its variance and the between-unit variance ``tau**2``
    (DerSimonian-Laird moment estimator) of estimates ``b`` with standard errors ``se``."""
    b = np.asarray(b, dtype=np.float64)
    v = np.asarray(se, dtype=np.float64) ** 2
    if b.size == 0:
        return float("nan"), float("inf"), 0.0
    w = 1.0 / v
    mean_fe = float(np.sum(w * b) / np.sum(w))
    if b.size == 1:
        return mean_fe, float(v[0]), 0.0
    q = float(np.sum(w * (b - mean_fe) ** 2))
    c = float(np.sum(w) - np.sum(w * w) / np.sum(w))
    tau2 = max(0.0, (q - (b.size - 1)) / c) if c > 0 else 0.0
    w_re = 1.0 / (v + tau2)
    return float(np.sum(w_re * b) / np.sum(w_re)), float(1.0 / np.sum(w_re)), tau2


@dataclass
class Pooled:
    """Per unit: posterior ``mean`` and ``sd`` and the ``source`` (``unit``, ``group`` or
    ``all``); per group: ``groups`` (``group, n_units, mean, sd, tau``); the overall
    ``shop_mean``, ``shop_sd`` and the within-group spread ``tau``."""

    mean: np.ndarray
    sd: np.ndarray
    source: np.ndarray
    groups: pd.DataFrame
    shop_mean: float
    shop_sd: float
    tau: float


def pool(b: np.ndarray, se: np.ndarray, group: np.ndarray, own: np.ndarray) -> Pooled:
    """Shrink the estimates ``b`` (standard errors ``se``) of the units where ``own`` is
    True toward their ``group``'s mean, and give the other units their group's
    predictive distribution (or the shop's for a group with no own estimate).

    The within-group spread ``tau`` is one DerSimonian-Laird estimate over the units'
    deviations from their group's fixed-effect mean (pooled across groups, so a group of
    two SKUs does not claim it knows its own spread); the group means are pooled toward
    the shop's with their own between-group variance."""
    b = np.asarray(b, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    group = np.asarray(group).astype(str)
    own = np.asarray(own, dtype=bool) & np.isfinite(b) & np.isfinite(se) & (se > 0)
    names = np.unique(group)
    n = b.size
    mean = np.full(n, np.nan)
    sd = np.full(n, np.nan)
    source = np.full(n, "all", dtype=object)
    if not own.any():
        groups = pd.DataFrame({"group": names, "n_units": 0, "mean": np.nan, "sd": np.nan,
                               "tau": np.nan})  # fmt: skip
        return Pooled(mean, sd, source, groups, float("nan"), float("nan"), float("nan"))

    # within-group spread: deviations from each group's fixed-effect mean, pooled
    w = np.where(own, 1.0 / np.where(own, se, 1.0) ** 2, 0.0)
    codes = np.searchsorted(names, group)
    sw = np.bincount(codes, w, minlength=names.size)
    fe = np.divide(np.bincount(codes, w * np.where(own, b, 0.0), minlength=names.size), sw,
                   out=np.zeros(names.size), where=sw > 0)  # fmt: skip
    q = float(np.sum(w * (np.where(own, b, 0.0) - fe[codes]) ** 2))
    k = int(np.count_nonzero(sw > 0))
    c = float(np.sum(sw[sw > 0] - np.bincount(codes, w * w, minlength=names.size)[sw > 0]
                     / sw[sw > 0]))  # fmt: skip
    tau2 = max(0.0, (q - (own.sum() - k)) / c) if c > 0 else 0.0

    # group means with that spread, then pooled toward the shop
    wr = np.where(own, 1.0 / (np.where(own, se, 1.0) ** 2 + tau2), 0.0)
    swr = np.bincount(codes, wr, minlength=names.size)
    has = swr > 0
    raw = np.divide(np.bincount(codes, wr * np.where(own, b, 0.0), minlength=names.size), swr,
                    out=np.full(names.size, np.nan), where=has)  # fmt: skip
    raw_var = np.divide(1.0, swr, out=np.full(names.size, np.inf), where=has)
    shop, shop_var, between = dersimonian_laird(raw[has], np.sqrt(raw_var[has]))
    g_var = np.where(has, 1.0 / (1.0 / raw_var + 1.0 / max(between, 1e-12)), between + shop_var)
    g_mean = np.where(has, g_var * (np.nan_to_num(raw) / raw_var + shop / max(between, 1e-12)),
                      shop)  # fmt: skip

    # units: own estimate shrunk toward the group; others get the group's predictive
    prior_mean = g_mean[codes]
    prior_var = tau2 + g_var[codes]
    post_var = np.where(own, 1.0 / (1.0 / np.where(own, se, 1.0) ** 2 + 1.0 / prior_var), 0.0)
    mean = np.where(own, post_var * (np.where(own, b, 0.0) / np.where(own, se, 1.0) ** 2
                                     + prior_mean / prior_var), prior_mean)  # fmt: skip
    sd = np.sqrt(np.where(own, post_var, prior_var))
    source = np.where(own, "unit", np.where(has[codes], "group", "all")).astype(object)
    groups = pd.DataFrame(
        {
            "group": names,
            "n_units": np.bincount(codes, own.astype(np.int64), minlength=names.size),
            "mean": g_mean,
            "sd": np.sqrt(g_var),
            "tau": np.sqrt(tau2),
        }
    )
    return Pooled(mean, sd, source, groups, shop, float(np.sqrt(shop_var)), float(np.sqrt(tau2)))
