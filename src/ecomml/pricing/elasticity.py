"""Own-price elasticity per SKU: double/debiased ML with partial pooling.

Price in shop data is confounded: promotions come with traffic, seasons move prices and
demand together, and wholesale tiers lower the unit price of big orders. The model:

1. builds the SKU x period panel (:mod:`ecomml.pricing.panel`; tier-adjusted price
   index, log price relative to the SKU's median ``x``);
2. learns two nuisances with LightGBM, cross-fitted over ``n_folds`` folds, from the
   controls only (season, trend, promotion days, shop orders, the SKU's level and
   category): the expected units ``g(W)`` (Poisson) and the expected log price
   ``m(W)``;
3. per SKU, fits ``log E[units] = log g(W) + a + beta * (x - m(W))`` by Poisson
   maximum likelihood: only the SKU's own price moves that the controls do not explain
   identify ``beta``; its standard error is the sandwich (heteroskedasticity- and
   overdispersion-robust) one;
4. pools the SKU estimates toward their category and the categories toward the shop
   (:mod:`ecomml.pricing.pooling`). A SKU with fewer than ``min_price_changes`` price
   changes or too little residual price variation gets no estimate of its own: its
   row says so (``source`` = ``category`` or ``shop``) and carries the pooled value.

A naive elasticity (least squares of log units on log average price paid, over the
periods with a sale) is reported beside it to show what the confounding costs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ecomml._estimator import EcommlEstimator, LightGBMParams, estimator
from ecomml._validation import day_after_last
from ecomml.exceptions import ConfigError, DataQualityError, NotFittedError
from ecomml.pricing.panel import PricePanel, price_panel
from ecomml.pricing.pooling import pool

__all__ = ["OUTPUT_COLUMNS", "ElasticityModel"]

#: columns of :meth:`ElasticityModel.predict`, in order
OUTPUT_COLUMNS = [
    "sku",
    "category",
    "elasticity",
    "elasticity_low",
    "elasticity_high",
    "n_price_changes",
    "source",
    "own_estimate",
    "own_se",
    "naive_elasticity",
    "price_variation",
    "tier_slope",
    "ref_price",
    "units",
    "n_sale_periods",
]
_CONTROLS = ["season", "trend", "promo_days", "log_orders", "log_level", "category_code"]
_SOURCES = {"unit": "sku", "group": "category", "all": "shop"}


@estimator
class ElasticityModel(LightGBMParams, EcommlEstimator):
    """Own-price elasticity of demand per SKU with intervals (see the module docstring).

    Parameters
    ----------
    freq : ``"W"`` (weeks) or ``"D"`` (days): the panel's period.
    interval : coverage of ``elasticity_low``/``elasticity_high`` (0.9: 5 % and 95 %).
    min_price_changes : price changes a SKU needs for an estimate of its own.
    min_price_sd : standard deviation of its residual log price it needs, too.
    tier_adjust : remove quantity-tier pricing from the price index (wholesale data).
    own_trend, own_season : give each SKU its own trend and yearly season in step 3.
    block_periods : the standard errors treat runs of this many consecutive periods as
        one cluster (1: every period independent).
    n_folds : cross-fitting folds of the nuisance models.
    n_estimators, learning_rate, num_leaves, min_child_samples : the LightGBM nuisances.
    random_state : seed of the folds and the nuisance models.
    n_jobs : LightGBM threads.

    Attributes
    ----------
    elasticities_ : one row per SKU (:data:`OUTPUT_COLUMNS`).
    categories_ : per category ``category, n_skus, elasticity, elasticity_low,
        elasticity_high, tau, naive_median``.
    shop_elasticity_ : the shop-level mean elasticity and its standard error.
    cutoff_ : the cutoff of the data the model learnt from.
    """

    freq: str = "W"
    interval: float = 0.9
    min_price_changes: int = 2
    min_price_sd: float = 0.02
    tier_adjust: bool = True
    own_trend: bool = True
    own_season: bool = True
    block_periods: int = 4
    n_folds: int = 3
    random_state: int | None = 0
    n_jobs: int = 1

    # ------------------------------------------------------------------ fitting
    def _check_params(self) -> None:
        if not 0.0 < float(self.interval) < 1.0:
            raise ConfigError(f"interval must be between 0 and 1, got {self.interval}")
        if int(self.n_folds) < 2:
            raise ConfigError(f"n_folds must be at least 2, got {self.n_folds}")
        if int(self.min_price_changes) < 1:
            raise ConfigError(f"min_price_changes must be at least 1, got {self.min_price_changes}")
        if float(self.min_price_sd) < 0:
            raise ConfigError(f"min_price_sd must be >= 0, got {self.min_price_sd}")

    def fit(
        self,
        transactions: pd.DataFrame,
        catalog: pd.DataFrame | None = None,
        calendar: pd.DataFrame | None = None,
        cutoff: Any = None,
    ) -> ElasticityModel:
        """Estimate every SKU's elasticity from canonical ``transactions`` before
        ``cutoff`` (default: the day after the last transaction); ``catalog`` gives the
        categories, ``calendar`` the promotion days."""
        self._check_params()
        missing = {"order_id", "sku", "ts", "quantity", "price"} - set(transactions.columns)
        if missing:
            raise DataQualityError(
                f"transactions: missing column(s) {', '.join(sorted(missing))}; the canonical "
                "table has order_id, customer_id, sku, ts, quantity, price"
            )
        if cutoff is None:
            cutoff = day_after_last(transactions["ts"])
        panel = price_panel(
            transactions, cutoff=pd.Timestamp(cutoff), catalog=catalog, calendar=calendar,
            freq=self.freq, tier_adjust=bool(self.tier_adjust),
        )  # fmt: skip
        self.cutoff_ = panel.cutoff
        self._fit_panel(panel)
        return self

    def _nuisances(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Cross-fitted ``g(W)`` (expected units) and ``m(W)`` (expected log price)."""
        import lightgbm as lgb

        X = rows[_CONTROLS].to_numpy(np.float64)
        common = {
            "n_estimators": int(self.n_estimators), **self._tree_params(),
            "random_state": self.random_state, "n_jobs": int(self.n_jobs), "verbose": -1,
        }  # fmt: skip
        rng = np.random.default_rng(self.random_state)
        # folds of whole SKUs: a SKU's own level never leaks into its nuisances
        skus = rows["sku"].to_numpy()
        uniq, codes = np.unique(skus, return_inverse=True)
        fold = rng.integers(0, int(self.n_folds), uniq.size)[codes]
        g = np.empty(len(rows))
        m = np.empty(len(rows))
        y, x = rows["qty"].to_numpy(np.float64), rows["x"].to_numpy(np.float64)
        for k in range(int(self.n_folds)):
            test = fold == k
            if not test.any():
                continue
            train = ~test
            gm = lgb.LGBMRegressor(objective="poisson", **common).fit(X[train], y[train])
            g[test] = gm.predict(X[test])
            mm = lgb.LGBMRegressor(objective="regression", **common).fit(X[train], x[train])
            m[test] = mm.predict(X[test])
        return np.maximum(g, 1e-9), m

    def _blocks(self, rows: pd.DataFrame) -> np.ndarray | None:
        """Block id of each row: ``block_periods`` consecutive periods (None: rows are
        independent)."""
        if int(self.block_periods) <= 1:
            return None
        return (rows["trend"].to_numpy() // int(self.block_periods)).astype(np.int64)

    def _own_terms(self, rows: pd.DataFrame, codes: np.ndarray) -> np.ndarray | None:
        """Each SKU's own trend (per year, centred) and yearly season (sine, cosine):
        demand moves of one SKU that the shop-wide nuisances cannot know, and that would
        otherwise line up with its price moves by chance."""
        cols = []
        days = (rows["period"] - rows["period"].min()).dt.days.to_numpy(np.float64) / 365.25
        if self.own_trend:
            mean = np.bincount(codes, days) / np.maximum(np.bincount(codes), 1)
            cols.append(days - mean[codes])
        if self.own_season:
            cols += [np.sin(2 * np.pi * days), np.cos(2 * np.pi * days)]
        return np.stack(cols, axis=1) if cols else None

    def _fit_panel(self, panel: PricePanel) -> None:
        rows = panel.rows
        cats = pd.Categorical(rows["category"])
        rows = rows.assign(category_code=cats.codes.astype(np.float64))
        g, m = self._nuisances(rows)
        skus = panel.skus.set_index("sku")
        codes = pd.Categorical(rows["sku"], categories=skus.index).codes
        xt = rows["x"].to_numpy(np.float64) - m
        q, off, extra = rows["qty"].to_numpy(np.float64), np.log(g), self._own_terms(rows, codes)
        blocks = self._blocks(rows)
        b, se = _poisson_slopes(q, off, xt, codes, len(skus), extra=extra, blocks=blocks)
        self.se_inflation_ = _split_half_inflation(q, off, xt, codes, len(skus), extra, rows)
        se = se * self.se_inflation_
        obs = rows["observed"].to_numpy()
        n_obs = np.bincount(codes[obs], minlength=len(skus))
        s1 = np.bincount(codes[obs], xt[obs], minlength=len(skus))
        s2 = np.bincount(codes[obs], xt[obs] ** 2, minlength=len(skus))
        with np.errstate(invalid="ignore", divide="ignore"):
            variation = np.sqrt(np.maximum(s2 / n_obs - (s1 / n_obs) ** 2, 0.0))
        own = (
            (skus["n_price_changes"].to_numpy() >= int(self.min_price_changes))
            & (np.nan_to_num(variation) >= float(self.min_price_sd))
            & np.isfinite(b)
            & np.isfinite(se)
        )
        pooled = pool(b, se, skus["category"].to_numpy(), own)
        z = float(stats.norm.ppf(0.5 + float(self.interval) / 2.0))
        out = pd.DataFrame(
            {
                "sku": skus.index.to_numpy(),
                "category": skus["category"].to_numpy(),
                "elasticity": pooled.mean,
                "elasticity_low": pooled.mean - z * pooled.sd,
                "elasticity_high": pooled.mean + z * pooled.sd,
                "n_price_changes": skus["n_price_changes"].to_numpy(np.int64),
                "source": [_SOURCES[s] for s in pooled.source],
                "own_estimate": np.where(own, b, np.nan),
                "own_se": np.where(own, se, np.nan),
                "naive_elasticity": _naive_slopes(rows, codes, len(skus)),
                "price_variation": variation,
                "tier_slope": skus["tier_slope"].to_numpy(np.float64),
                "ref_price": skus["ref_price"].to_numpy(np.float64),
                "units": skus["units"].to_numpy(np.float64),
                "n_sale_periods": skus["n_sale_periods"].to_numpy(np.int64),
            }
        )
        self.elasticities_ = out[OUTPUT_COLUMNS]
        grp = pooled.groups.rename(columns={"group": "category", "n_units": "n_skus"})
        naive = out.groupby("category")["naive_elasticity"].median()
        self.categories_ = pd.DataFrame(
            {
                "category": grp["category"],
                "n_skus": grp["n_skus"].astype(np.int64),
                "elasticity": grp["mean"],
                "elasticity_low": grp["mean"] - z * grp["sd"],
                "elasticity_high": grp["mean"] + z * grp["sd"],
                "tau": grp["tau"],
                "naive_median": naive.reindex(grp["category"]).to_numpy(),
            }
        )
        self.shop_elasticity_ = (pooled.shop_mean, pooled.shop_sd)
        self.n_periods_ = int(rows["period"].nunique())

    # ------------------------------------------------------------------ using
    def _check_fitted(self) -> None:
        if not hasattr(self, "elasticities_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet: call fit(transactions) first."
            )

    def predict(self, skus: Any = None) -> pd.DataFrame:
        """The elasticity table (:data:`OUTPUT_COLUMNS`), for ``skus`` (default: all)."""
        self._check_fitted()
        if skus is None:
            return self.elasticities_.copy()
        want = pd.Index(pd.Series(list(skus)).astype(str))
        out = self.elasticities_.set_index("sku").reindex(want)
        unknown = want[out["elasticity"].isna().to_numpy()]
        if len(unknown):
            raise DataQualityError(
                f"{len(unknown)} SKU(s) without sales before the cutoff {self.cutoff_.date()}, "
                f"e.g. {', '.join(map(str, unknown[:5]))}: no elasticity to give"
            )
        return out.reset_index().rename(columns={"index": "sku"})[OUTPUT_COLUMNS]

    def demand_ratio(self, skus: Any, price_ratio: Any) -> pd.DataFrame:
        """Expected units at ``price_ratio`` x the reference price relative to units at
        the reference price, per SKU: ``ratio`` and its ``low``/``high`` bounds (from the
        elasticity interval); ``price_ratio`` is a scalar or one value per SKU."""
        table = self.predict(skus)
        r = np.broadcast_to(np.asarray(price_ratio, dtype=np.float64), (len(table),))
        if (r <= 0).any() or not np.isfinite(r).all():
            raise ConfigError("price_ratio must be positive and finite")
        lr = np.log(r)
        lo = np.exp(np.minimum(lr * table["elasticity_low"], lr * table["elasticity_high"]))
        hi = np.exp(np.maximum(lr * table["elasticity_low"], lr * table["elasticity_high"]))
        return pd.DataFrame(
            {"sku": table["sku"], "price_ratio": r, "ratio": np.exp(lr * table["elasticity"]),
             "low": lo, "high": hi}
        )  # fmt: skip


def _poisson_slopes(
    q: np.ndarray, offset: np.ndarray, x: np.ndarray, codes: np.ndarray, n: int,
    extra: np.ndarray | None = None, blocks: np.ndarray | None = None, iterations: int = 30,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per group ``c``: Poisson ML of ``log E[q] = offset + a_c + extra @ d_c + b_c * x``
    (``extra``: per-row columns with a coefficient per group, e.g. the group's own trend
    and season); returns ``b`` and its sandwich standard error, clustered on ``blocks``
    (per-row block ids, e.g. runs of consecutive periods) when given (NaN where the
    group's ``x`` does not vary)."""
    cols = [np.ones_like(x)] + ([] if extra is None else list(np.asarray(extra).T)) + [x]
    Z = np.stack(cols, axis=1)  # (rows, p); the last column is the price
    p = Z.shape[1]
    tot_q = np.bincount(codes, q, minlength=n)
    tot_g = np.bincount(codes, np.exp(offset), minlength=n)
    theta = np.zeros((n, p))
    with np.errstate(divide="ignore"):
        theta[:, 0] = np.log(np.maximum(tot_q, 1e-9) / tot_g)
    iu = np.triu_indices(p)

    def hessian(mu: np.ndarray) -> np.ndarray:
        H = np.empty((n, p, p))
        for i, j in zip(*iu, strict=True):
            H[:, i, j] = H[:, j, i] = np.bincount(codes, mu * Z[:, i] * Z[:, j], minlength=n)
        return H

    ridge = 1e-6 * np.eye(p)
    for _ in range(iterations):
        mu = np.exp(np.clip(offset + np.einsum("rp,rp->r", Z, theta[codes]), -50, 50))
        r = q - mu
        grad = np.stack([np.bincount(codes, r * Z[:, i], minlength=n) for i in range(p)], 1)
        H = hessian(mu)
        scale = np.maximum(np.einsum("nii->n", H), 1e-12)[:, None, None]
        step = np.linalg.solve(H + ridge * scale, grad[..., None])[..., 0]
        step = np.clip(step, -1.0, 1.0)
        theta += step
        if np.nanmax(np.abs(step[:, -1])) < 1e-8:
            break
    mu = np.exp(np.clip(offset + np.einsum("rp,rp->r", Z, theta[codes]), -50, 50))
    H = hessian(mu)
    # the meat from score sums per cluster: a block of consecutive periods of one SKU
    # (demand shocks that last a few periods are not independent evidence), else a row
    if blocks is None:
        cluster, owner = np.arange(codes.size), codes
    else:
        cell = codes.astype(np.int64) * (int(np.max(blocks)) + 1) + np.asarray(blocks)
        _, first, cluster = np.unique(cell, return_index=True, return_inverse=True)
        owner = codes[first]
    U = np.stack([np.bincount(cluster, (q - mu) * Z[:, i]) for i in range(p)], 1)
    M = np.empty((n, p, p))
    for i, j in zip(*iu, strict=True):
        M[:, i, j] = M[:, j, i] = np.bincount(owner, U[:, i] * U[:, j], minlength=n)
    rows = np.bincount(codes, minlength=n)
    scale = np.maximum(np.einsum("nii->n", H), 1e-12)[:, None, None]
    Hi = np.linalg.inv(H + ridge * scale)
    var = np.einsum("ni,nij,nj->n", Hi[:, -1], M, Hi[:, -1])
    var *= rows / np.maximum(rows - p, 1)  # small-sample correction (HC1)
    sx = np.bincount(codes, Z[:, -1] ** 2, minlength=n) - np.bincount(
        codes, Z[:, -1], minlength=n
    ) ** 2 / np.maximum(rows, 1)
    ok = (sx > 1e-10) & (tot_q > 0) & (var > 0) & (rows > p + 1) & np.isfinite(theta[:, -1])
    b = theta[:, -1]
    return np.where(ok, b, np.nan), np.where(ok, np.sqrt(np.where(ok, var, 1.0)), np.nan)


def _split_half_inflation(
    q: np.ndarray, offset: np.ndarray, x: np.ndarray, codes: np.ndarray, n: int,
    extra: np.ndarray | None, rows: pd.DataFrame, block: int = 8,
) -> float:  # fmt: skip
    """How much the standard errors understate the noise, measured on the data: each
    SKU's slope is estimated on two halves of its periods (alternating runs of ``block``
    periods, so both halves span the whole window); under correct standard errors
    ``(b1 - b2)**2 / (se1**2 + se2**2)`` is chi-square with one degree of freedom. The
    factor is the square root of its median over the median of that distribution (at
    least 1)."""
    half = (rows["trend"].to_numpy() // block).astype(np.int64) % 2 == 0
    est = []
    for part in (half, ~half):
        ex = None if extra is None else extra[part]
        est.append(_poisson_slopes(q[part], offset[part], x[part], codes[part], n, extra=ex))
    (b1, s1), (b2, s2) = est
    ratio = (b1 - b2) ** 2 / (s1**2 + s2**2)
    ratio = ratio[np.isfinite(ratio)]
    if ratio.size < 10:
        return 1.0
    return float(max(1.0, np.sqrt(np.median(ratio) / stats.chi2.ppf(0.5, 1))))


def _naive_slopes(rows: pd.DataFrame, codes: np.ndarray, n: int) -> np.ndarray:
    """Per SKU: least-squares slope of log units on log average price paid over the
    periods with a sale (no controls, no tier adjustment): the textbook estimate."""
    obs = rows["observed"].to_numpy()
    c = codes[obs]
    y = np.log(rows["qty"].to_numpy(np.float64)[obs])
    x = rows["log_price_raw"].to_numpy(np.float64)[obs]
    k = np.bincount(c, minlength=n).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.bincount(c, x, minlength=n) / k
        my = np.bincount(c, y, minlength=n) / k
        sxx = np.bincount(c, x * x, minlength=n) - k * mx**2
        sxy = np.bincount(c, x * y, minlength=n) - k * mx * my
        slope = sxy / sxx
    return np.where((k >= 3) & (sxx > 1e-10 * np.maximum(k, 1)), slope, np.nan)
