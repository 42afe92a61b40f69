"""The statistics of an A/B test: pure functions over arrays, no files, no frames.

Every test compares one variant against the control and returns the same fields
(:data:`FIELDS`): the two means, their difference with its interval, the relative lift
with its delta-method interval and a two-sided p-value.

- :func:`welch_test`: difference of means, Welch's unequal-variance t-test (equal to
  ``scipy.stats.ttest_ind(variant, control, equal_var=False)``);
- :func:`ratio_test`: a ratio metric (revenue per visit: ``sum(num) / sum(den)`` per arm)
  by the delta method;
- :func:`cuped_test`: CUPED (Deng, Xu, Kohavi, Walker; WSDM 2013), the outcome adjusted
  by pre-period covariates with ``theta`` fitted by least squares on the pooled arms;
  :func:`cupac_predictions` gives CUPAC's single covariate (Tang, Huang, Li, Kohavi; 2020):
  a cross-fitted LightGBM prediction of the outcome from several covariates, which catches
  what a linear adjustment misses;
- :func:`sequential_test`: an always-valid mixture SPRT (Johari, Pekelis, Walsh 2017) for
  teams that look every day;
- :func:`adjust_pvalues` (Holm, Benjamini-Hochberg), :func:`srm_test` (sample ratio
  mismatch), :func:`sample_size` and :func:`detectable_effect` (planning).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import optimize, stats

from ecomml.exceptions import ConfigError

__all__ = [
    "DEFAULT_TAU",
    "FIELDS",
    "adjust_pvalues",
    "confidence_sequence_radius",
    "cupac_predictions",
    "cuped_adjust",
    "cuped_test",
    "detectable_effect",
    "msprt_statistic",
    "ratio_test",
    "relative_lift",
    "sample_size",
    "sequential_test",
    "srm_test",
    "welch_from_stats",
    "welch_test",
]

#: what every test returns, in output order
FIELDS: tuple[str, ...] = (
    "n_control", "n_variant", "mean_control", "mean_variant", "diff", "diff_low",
    "diff_high", "rel_lift", "rel_lift_low", "rel_lift_high", "p_value", "se",
)  # fmt: skip

#: the sequential test's mixing standard deviation, in standard deviations of the metric:
#: the test is most powerful against effects of about this size
DEFAULT_TAU: float = 0.05


def _z(alpha: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2))


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be in (0, 1), e.g. 0.05; got {alpha!r}")


def relative_lift(
    mean_control: Any, mean_variant: Any, var_control: Any, var_variant: Any, *,
    alpha: float = 0.05,
) -> tuple[Any, Any, Any]:  # fmt: skip
    """``mean_variant / mean_control - 1`` and its delta-method interval.

    ``var_*`` are the variances of the two (independent) means. The first-order variance
    of the ratio is ``var_v / m_c**2 + m_v**2 var_c / m_c**4``; the interval is normal.
    Works elementwise on arrays; a zero control mean gives NaN.
    """
    mc, mv = np.asarray(mean_control, float), np.asarray(mean_variant, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = mv / mc - 1
        se = np.sqrt(np.asarray(var_variant) / mc**2 + mv**2 * np.asarray(var_control) / mc**4)
    half = _z(alpha) * se
    return rel, rel - half, rel + half


def welch_from_stats(
    mean_control: Any, var_control: Any, n_control: Any,
    mean_variant: Any, var_variant: Any, n_variant: Any, *, alpha: float = 0.05,
) -> dict[str, Any]:  # fmt: skip
    """Welch's test from each arm's mean, sample variance (``ddof=1``) and size.

    Elementwise over arrays (thousands of simulated experiments at once). The interval is
    ``diff +- t(1 - alpha/2, df) * se`` with Welch-Satterthwaite ``df``; the relative lift
    interval is the delta method's (:func:`relative_lift`).
    """
    _check_alpha(alpha)
    vc = np.asarray(var_control, float) / np.asarray(n_control, float)
    vv = np.asarray(var_variant, float) / np.asarray(n_variant, float)
    diff = np.asarray(mean_variant, float) - np.asarray(mean_control, float)
    se = np.sqrt(vc + vv)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (vc + vv) ** 2 / (vc**2 / (np.asarray(n_control) - 1)
                               + vv**2 / (np.asarray(n_variant) - 1))  # fmt: skip
        t = diff / se
    p = 2 * stats.t.sf(np.abs(t), df)
    half = stats.t.ppf(1 - alpha / 2, df) * se
    rel, lo, hi = relative_lift(mean_control, mean_variant, vc, vv, alpha=alpha)
    return {
        "n_control": n_control, "n_variant": n_variant, "mean_control": mean_control,
        "mean_variant": mean_variant, "diff": diff, "diff_low": diff - half,
        "diff_high": diff + half, "rel_lift": rel, "rel_lift_low": lo, "rel_lift_high": hi,
        "p_value": p, "se": se,
    }  # fmt: skip


def _scalars(out: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in out.items()}


def welch_test(control: Any, variant: Any, *, alpha: float = 0.05) -> dict[str, float]:
    """Difference of means (variant - control) by Welch's t-test.

    Examples
    --------
    >>> r = welch_test([0, 1, 0, 2], [1, 3, 2, 2])
    >>> round(r["diff"], 3), round(r["rel_lift"], 3)
    (1.25, 1.667)
    """
    c, v = np.asarray(control, float), np.asarray(variant, float)
    return _scalars(
        welch_from_stats(
            c.mean(), c.var(ddof=1), c.size, v.mean(), v.var(ddof=1), v.size, alpha=alpha
        )  # fmt: skip
    )


def _ratio_moments(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """``sum(num)/sum(den)`` and the delta-method variance of that ratio."""
    n = num.size
    mn, md = num.mean(), den.mean()
    r = mn / md
    cov = np.cov(num, den, ddof=1)
    var = (cov[0, 0] - 2 * r * cov[0, 1] + r**2 * cov[1, 1]) / (md**2 * n)
    return float(r), float(var)


def ratio_test(
    num_control: Any, den_control: Any, num_variant: Any, den_variant: Any, *,
    alpha: float = 0.05,
) -> dict[str, float]:  # fmt: skip
    """A ratio metric (``sum(num) / sum(den)`` per arm, e.g. revenue per visit) by the
    delta method: the units are randomised, the visits are not, so the visits of one
    customer are correlated and a per-visit t-test would be too narrow. Normal interval
    and z-test on the difference of the two ratios."""
    _check_alpha(alpha)
    nc, dc = np.asarray(num_control, float), np.asarray(den_control, float)
    nv, dv = np.asarray(num_variant, float), np.asarray(den_variant, float)
    rc, vc = _ratio_moments(nc, dc)
    rv, vv = _ratio_moments(nv, dv)
    diff, se = rv - rc, float(np.sqrt(vc + vv))
    half = _z(alpha) * se
    p = float(2 * stats.norm.sf(abs(diff / se))) if se > 0 else float("nan")
    rel, lo, hi = relative_lift(rc, rv, vc, vv, alpha=alpha)
    return {
        "n_control": nc.size, "n_variant": nv.size, "mean_control": rc, "mean_variant": rv,
        "diff": diff, "diff_low": diff - half, "diff_high": diff + half, "rel_lift": float(rel),
        "rel_lift_low": float(lo), "rel_lift_high": float(hi), "p_value": p, "se": se,
    }  # fmt: skip


def cuped_adjust(y: Any, covariates: Any) -> tuple[np.ndarray, np.ndarray]:
    """CUPED: ``y - (X - mean(X)) @ theta`` with ``theta`` the least-squares slope of ``y``
    on the pre-period covariates ``X`` (one column per covariate), fitted on all the units
    given (pool both arms: the covariates are measured before the assignment, so the
    adjustment cannot absorb the treatment effect). Returns the adjusted outcome and
    ``theta``."""
    y = np.asarray(y, float)
    x = np.asarray(covariates, float).reshape(y.size, -1)
    xc = x - x.mean(axis=0)
    theta, *_ = np.linalg.lstsq(xc, y - y.mean(), rcond=None)
    return y - xc @ theta, theta


def cuped_test(
    control: Any, variant: Any, covariates_control: Any, covariates_variant: Any, *,
    alpha: float = 0.05,
) -> dict[str, float]:  # fmt: skip
    """Welch's test on the CUPED-adjusted outcome (``theta`` from both arms pooled).

    The means reported are the adjusted means (each arm's mean corrected for its
    covariates' chance imbalance); the difference is unbiased as the plain one is, with a
    variance smaller by the share of the outcome's variance the covariates explain.
    """
    c, v = np.asarray(control, float), np.asarray(variant, float)
    x = np.vstack([np.asarray(covariates_control, float).reshape(c.size, -1),
                   np.asarray(covariates_variant, float).reshape(v.size, -1)])  # fmt: skip
    adj, theta = cuped_adjust(np.concatenate([c, v]), x)
    out = welch_test(adj[: c.size], adj[c.size :], alpha=alpha)
    out["variance_reduction"] = 1 - float(np.var(adj, ddof=1) / np.var(np.r_[c, v], ddof=1))
    return out


def cupac_predictions(
    y: Any, covariates: Any, *, folds: int = 5, random_state: int = 0
) -> np.ndarray:
    """Out-of-fold LightGBM predictions of the outcome ``y`` from the pre-period
    ``covariates`` (CUPAC's covariate), pooled over the arms.

    Each unit's prediction comes from a model that never saw it, so the prediction is a
    pre-period quantity as far as that unit is concerned; used as CUPED's covariate
    (:func:`cuped_test`) it removes the share of the variance it explains, however
    non-linear, and the difference of adjusted means stays consistent.
    """
    import lightgbm as lgb

    y = np.asarray(y, float)
    x = np.asarray(covariates, float).reshape(y.size, -1)
    if y.size < 10 * folds:
        raise ConfigError(f"CUPAC needs at least {10 * folds} units, got {y.size}")
    order = np.random.default_rng(random_state).permutation(y.size)
    fold = np.empty(y.size, dtype=np.int64)
    fold[order] = np.arange(y.size) % folds
    out = np.empty(y.size)
    params = {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 15,
              "min_child_samples": 50, "subsample": 0.8, "subsample_freq": 1,
              "random_state": random_state, "verbose": -1, "n_jobs": 1}  # fmt: skip
    for k in range(folds):
        test = fold == k
        model = lgb.LGBMRegressor(**params).fit(x[~test], y[~test])
        out[test] = model.predict(x[test])
    return out


def msprt_statistic(diff: Any, var: Any, tau2: Any) -> Any:
    """The mixture likelihood ratio of the mSPRT for a difference of means.

    ``diff`` is the observed difference, ``var`` its variance, ``tau2`` the variance of
    the normal mixture over the true difference under the alternative:
    ``sqrt(var / (var + tau2)) * exp(tau2 * diff**2 / (2 var (var + tau2)))``.
    Elementwise over arrays.
    """
    var, tau2 = np.asarray(var, float), np.asarray(tau2, float)
    log_l = 0.5 * np.log(var / (var + tau2)) + tau2 * np.asarray(diff) ** 2 / (
        2 * var * (var + tau2)
    )
    return np.exp(np.minimum(log_l, 700.0))


def confidence_sequence_radius(var: Any, tau2: Any, alpha: float) -> Any:
    """Half-width of the mSPRT's always-valid interval: the differences ``theta`` with
    ``msprt_statistic(diff - theta, var, tau2) < 1 / alpha``."""
    var, tau2 = np.asarray(var, float), np.asarray(tau2, float)
    return np.sqrt(var * (var + tau2) / tau2 * (2 * np.log(1 / alpha) + np.log((var + tau2) / var)))


def sequential_test(
    control: Any, variant: Any, *, looks_control: Any = None, looks_variant: Any = None,
    alpha: float = 0.05, tau: float = DEFAULT_TAU,
) -> dict[str, float]:  # fmt: skip
    """An always-valid test of a difference of means: the mixture SPRT (mSPRT) of
    Johari, Pekelis and Walsh ("Always valid inference", Operations Research 2022).

    **Guarantee.** Under the null hypothesis of equal means, and to the accuracy of the
    normal approximation of the difference of the two running means (the central limit
    theorem, with the variance estimated at each look), the probability that the
    always-valid p-value ever falls below ``alpha`` -- at any look, however many looks,
    stopping whenever one likes -- is at most ``alpha``. Likewise the interval covers the
    true difference at every look simultaneously with probability ``1 - alpha``. The price
    is a wider interval than a test read once at a planned sample size.

    ``looks_*`` give each unit's look (e.g. its assignment day); the statistic is computed
    on the units seen up to each distinct look, the p-value is the running minimum of
    ``1 / Lambda`` and the interval the running intersection. Without looks there is one
    look, at the end. The mixture is normal with standard deviation ``tau`` times the
    metric's pooled standard deviation at the look (:data:`DEFAULT_TAU`): the test is most
    sensitive to effects of about that size; its validity does not depend on ``tau``.
    """
    _check_alpha(alpha)
    if not tau > 0:
        raise ConfigError(f"tau must be > 0 (the mixture's sd in metric sds); got {tau!r}")
    c, v = np.asarray(control, float), np.asarray(variant, float)
    if looks_control is None or looks_variant is None:
        looks_control, looks_variant = np.zeros(c.size), np.zeros(v.size)
    lc, lv = np.asarray(looks_control), np.asarray(looks_variant)
    grid = np.unique(np.concatenate([lc, lv]))

    def running(y: np.ndarray, look: np.ndarray) -> tuple[np.ndarray, ...]:
        idx = np.searchsorted(grid, look)
        n = np.cumsum(np.bincount(idx, minlength=grid.size))
        s1 = np.cumsum(np.bincount(idx, weights=y, minlength=grid.size))
        s2 = np.cumsum(np.bincount(idx, weights=y * y, minlength=grid.size))
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = s1 / n
            var = (s2 - n * mean**2) / (n - 1)
        return n, mean, var

    nc, mc, vc = running(c, lc)
    nv, mv, vv = running(v, lv)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = vc / nc + vv / nv
        pooled = ((nc - 1) * vc + (nv - 1) * vv) / (nc + nv - 2)
    ok = (nc >= 2) & (nv >= 2) & (var > 0)
    if not ok.any():
        return {**welch_test(c, v, alpha=alpha), "p_value": float("nan")}
    diff = (mv - mc)[ok]
    tau2 = tau**2 * pooled[ok]
    lam = msprt_statistic(diff, var[ok], tau2)
    p = np.minimum.accumulate(np.minimum(1.0, 1 / lam))
    r = confidence_sequence_radius(var[ok], tau2, alpha)
    low, high = np.maximum.accumulate(diff - r)[-1], np.minimum.accumulate(diff + r)[-1]
    out = welch_test(c, v, alpha=alpha)
    scale = (out["rel_lift_high"] - out["rel_lift"]) / (out["diff_high"] - out["diff"])
    d = out["diff"]
    out.update(diff_low=float(low), diff_high=float(high), p_value=float(p[-1]),
               rel_lift_low=out["rel_lift"] - (d - low) * scale,
               rel_lift_high=out["rel_lift"] + (high - d) * scale, looks=float(ok.sum()))  # fmt: skip
    return out


def adjust_pvalues(p_values: Sequence[float], method: str = "holm") -> np.ndarray:
    """p-values adjusted for several comparisons: ``"holm"`` (family-wise error, Holm's
    step-down), ``"bh"`` (false discovery rate, Benjamini-Hochberg) or ``"none"``. NaN
    p-values stay NaN and do not count."""
    p = np.asarray(p_values, float)
    if method not in ("holm", "bh", "none"):
        raise ConfigError(f"--correction must be holm, bh or none; got {method!r}")
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if method == "none" or m == 0:
        return p.copy()
    order = np.argsort(p[ok])
    ps = p[ok][order]
    rank = np.arange(1, m + 1)
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (m - rank + 1) * ps))
    else:
        adj = np.minimum.accumulate((m * ps / rank)[::-1])[::-1].clip(max=1.0)
    back = np.empty(m)
    back[order] = adj
    out[ok] = back
    return out


def srm_test(counts: Sequence[int], expected_shares: Sequence[float] | None = None) -> float:
    """The p-value of a sample-ratio-mismatch check: Pearson's chi-square of the units per
    variant against the planned shares (default: equal). A tiny p-value (below 0.001, the
    usual alarm) means the assignment or the logging is broken and the comparison is not
    to be trusted."""
    obs = np.asarray(counts, float)
    shares = np.full(obs.size, 1 / obs.size) if expected_shares is None else np.asarray(
        expected_shares, float) / np.sum(expected_shares)  # fmt: skip
    return float(stats.chisquare(obs, shares * obs.sum()).pvalue)


# ---------------------------------------------------------------------- planning
def _variances(baseline: float, delta: float, sd: float | None) -> float:
    """The sum of the two arms' unit variances for a change ``delta`` from ``baseline``
    (a rate when ``sd`` is None)."""
    if sd is not None:
        return 2 * sd**2
    p2 = baseline + delta
    return baseline * (1 - baseline) + p2 * (1 - p2)


def _check_plan(baseline: float, sd: float | None, alpha: float, power: float, r2: float) -> None:
    _check_alpha(alpha)
    if not 0 < power < 1:
        raise ConfigError(f"--power must be in (0, 1), e.g. 0.8; got {power!r}")
    if not 0 <= r2 < 1:
        raise ConfigError(f"--cuped-r2 must be in [0, 1); got {r2!r}")
    if sd is None and not 0 < baseline < 1:
        raise ConfigError(f"--baseline-rate must be in (0, 1); got {baseline!r}")
    if sd is not None and not sd > 0:
        raise ConfigError(f"--sd must be > 0; got {sd!r}")


def sample_size(
    mde: float, *, baseline: float, sd: float | None = None, alpha: float = 0.05,
    power: float = 0.8, cuped_r2: float = 0.0,
) -> int:  # fmt: skip
    """Units per arm to detect an absolute change ``mde`` with a two-sided test.

    ``baseline`` is the control's rate (``sd=None``: a 0/1 metric) or mean (give the
    unit-level ``sd``). ``n = (z_{1-alpha/2} + z_{power})^2 (var_c + var_v) (1 - r2) /
    mde^2``, where ``r2`` is the share of the variance CUPED's covariates explain.

    Examples
    --------
    >>> sample_size(0.01, baseline=0.10)
    14749
    """
    _check_plan(baseline, sd, alpha, power, cuped_r2)
    if not mde > 0:
        raise ConfigError(f"--mde must be > 0; got {mde!r}")
    if sd is None and not baseline + mde < 1:
        raise ConfigError(f"--mde {mde} takes the rate {baseline} past 1")
    z = _z(alpha) + float(stats.norm.ppf(power))
    return int(np.ceil(z**2 * _variances(baseline, mde, sd) * (1 - cuped_r2) / mde**2))


def detectable_effect(
    n: int, *, baseline: float, sd: float | None = None, alpha: float = 0.05,
    power: float = 0.8, cuped_r2: float = 0.0,
) -> float:  # fmt: skip
    """The smallest absolute increase detectable with ``n`` units per arm (the inverse of
    :func:`sample_size`)."""
    _check_plan(baseline, sd, alpha, power, cuped_r2)
    if not n >= 2:
        raise ConfigError(f"--n must be at least 2 units per arm; got {n!r}")
    z = _z(alpha) + float(stats.norm.ppf(power))

    def gap(d: float) -> float:
        return d - z * np.sqrt(_variances(baseline, d, sd) * (1 - cuped_r2) / n)

    if sd is not None:
        return float(z * np.sqrt(2 * sd**2 * (1 - cuped_r2) / n))
    if gap(1 - baseline - 1e-12) < 0:
        raise ConfigError(f"{n} units per arm cannot detect any change of the rate {baseline}")
    return float(optimize.brentq(gap, 1e-12, 1 - baseline - 1e-12, xtol=1e-12))
