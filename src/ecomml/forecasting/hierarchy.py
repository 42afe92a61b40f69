"""Coherent SKU -> category -> total forecasts ("does the SKU plan add up to the budget?").

:class:`HierarchicalForecaster` forecasts every SKU with a panel forecaster and every
aggregate (each category, the total) with another, then reconciles them so that SKUs sum
exactly to their category and categories to the total: bottom-up, or MinT with a shrunk
error covariance (:mod:`ecomml.forecasting.reconcile`), non-negative, chosen on a
validation window. Quantiles of aggregates come from sampled paths (never sums of
quantiles): each SKU is drawn from its own forecast quantiles, and shared shocks per
aggregate, sized on the validation window, carry the correlation that independent SKU
draws would miss.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone

from ecomml._estimator import estimator
from ecomml._state import read_state, write_state
from ecomml._validation import check_fitted, check_random_state
from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.forecasting._base import ForecasterInterface
from ecomml.forecasting.panel import check_freq, period_index
from ecomml.forecasting.paths import draw_paths, quantile_variance, shock
from ecomml.forecasting.reconcile import ErrorCovariance, mint, shrunk_covariance
from ecomml.metrics.forecast import QUANTILE_COLUMNS

__all__ = ["HIERARCHY_COLUMNS", "RECONCILIATIONS", "HierarchicalForecaster"]

RECONCILIATIONS = ("auto", "bottom-up", "mint-shrink")
HIERARCHY_COLUMNS = ["level", "node", "sku", "ds", "mean", *QUANTILE_COLUMNS, "pattern", "fallback"]
_Q = np.array(list(QUANTILE_COLUMNS.values()))
_TOTAL = "total"


@dataclass
class _Tree:
    """SKUs, aggregates (``level``, ``node``) and the 0/1 matrix summing SKUs into them."""

    skus: np.ndarray
    levels: np.ndarray
    nodes: np.ndarray
    a: sp.csr_matrix

    @classmethod
    def of(cls, df: pd.DataFrame) -> _Tree:
        skus = np.sort(df["sku"].astype(str).unique())
        levels, nodes, rows, cols = (
            [_TOTAL],
            [_TOTAL],
            [np.zeros(len(skus), int)],
            [np.arange(len(skus))],
        )
        if "category" in df.columns and df["category"].notna().any():
            cat = df.dropna(subset=["category"]).drop_duplicates("sku", keep="last")
            cat = cat.set_index(cat["sku"].astype(str))["category"].astype(str)
            names = cat.reindex(skus).fillna("(none)").to_numpy()
            uniq = np.sort(np.unique(names.astype(str)))
            if len(uniq) > 1:
                levels += ["category"] * len(uniq)
                nodes += list(uniq)
                rows.append(1 + np.searchsorted(uniq, names))
                cols.append(np.arange(len(skus)))
        r, c = np.concatenate(rows), np.concatenate(cols)
        a = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(nodes), len(skus)))
        return cls(skus, np.array(levels), np.array(nodes, dtype=object), a)

    def ids(self) -> np.ndarray:
        """Series ids of the aggregates in a forecaster's panel."""
        return np.array([f"{lv}:{nd}" for lv, nd in zip(self.levels, self.nodes, strict=True)])


@estimator
class HierarchicalForecaster(ForecasterInterface):
    """SKU, category and total forecasts that add up.

    ``predict`` returns ``level, node, sku, ds, mean, q05 ... q95, pattern, fallback``:
    ``level`` is ``sku``, ``category`` or ``total``; ``node`` the SKU id, category name or
    ``total``; ``sku``, ``pattern`` and ``fallback`` as the SKU forecaster's on SKU rows
    (empty / False on aggregates). Means add up exactly at every level.

    Parameters
    ----------
    forecaster : the SKU-level forecaster (default :class:`LightGBMForecaster` weekly, 8).
    upper : the forecaster of the aggregates (category and total series); default
        exponential smoothing with a damped trend (:class:`ETSForecaster`), which made MinT's
        validation error lower than a LightGBM on the few aggregate series did.
    method : ``"bottom-up"`` (aggregates are the sums of the SKU forecasts),
        ``"mint-shrink"`` (MinT with a shrunk covariance of the validation errors) or
        ``"auto"`` (the one with the lower error on the last ``horizon`` periods, averaged
        over the levels; MinT's covariance then comes from the window before).
    n_paths : sample paths behind the aggregates' quantiles.
    nonnegative : keep reconciled forecasts at or above zero.
    random_state : seed of the sampled paths.

    Attributes
    ----------
    method_ : the reconciliation used; ``validation_`` the errors behind ``"auto"``.
    covariance_ : the error covariance MinT uses (None for bottom-up).
    shock_ : relative standard deviation of the shared shock per aggregate.
    """

    forecaster: Any = None
    upper: Any = None
    method: str = "auto"
    n_paths: int = 1000
    nonnegative: bool = True
    random_state: int | None = 0

    # ------------------------------------------------------------------ fit
    def _models(self) -> tuple[Any, Any]:
        from ecomml.forecasting.baselines import ETSForecaster
        from ecomml.forecasting.lgbm import LightGBMForecaster

        low = LightGBMForecaster() if self.forecaster is None else self.forecaster
        up = self.upper
        if up is None:  # chosen on the validation windows of benchmarks/hierarchy.py
            up = ETSForecaster(freq=low.freq, horizon=low.horizon, trend="add", damped_trend=True)
        return low, up

    def fit(self, df: pd.DataFrame, y: Any = None, *, calendar: pd.DataFrame | None = None) -> Self:
        """Fit on a long ``sku, ds, y[, category]`` panel (see the forecasters);
        ``calendar`` (the promotion calendar) goes to the forecasters that read it."""
        if self.method not in RECONCILIATIONS:
            raise ConfigError(f"method must be one of {RECONCILIATIONS}, got {self.method!r}")
        if not isinstance(self.n_paths, (int, np.integer)) or self.n_paths < 50:
            raise ConfigError(f"n_paths must be an integer >= 50, got {self.n_paths!r}")
        low, up = self._models()
        freq = check_freq(low.freq)
        h = int(low.horizon)
        if df.empty:
            raise DataQualityError("the training panel has no rows; there is nothing to forecast")
        tree = _Tree.of(df)
        periods = period_index(pd.to_datetime(df["ds"]), freq)
        last = int(periods.max())
        self.validation_: dict[str, Any] = {}
        errors = []
        # two validation origins: the errors at the earlier size MinT's covariance for the
        # later, where bottom-up and MinT are compared; the final covariance uses both
        origins = (last + 1 - 2 * h, last + 1 - h)
        for origin in origins:  # bottom-up needs the errors too: they size the shocks
            hist = df.loc[periods < origin]
            if hist.empty:
                continue
            try:
                low_v = _fit(clone(low), hist, calendar)
                up_v = None
                if self.method != "bottom-up":
                    up_v = _fit(clone(up), self._agg(hist, tree), calendar)
            except DataQualityError:  # too little history before this origin
                continue
            fc = self._base(hist, tree, low_v, up_v, calendar)
            errors.append((fc, self._actuals(df, tree, periods, origin, h)))
        method = self.method
        if method != "bottom-up" and len(errors) < (2 if method == "auto" else 1):
            method = "bottom-up"
            self.validation_["note"] = "too little history for a validation window"
        elif method == "auto":
            # each window scored with the covariance of the other, averaged: one 8-week
            # window alone picked MinT on a panel where it lost on the holdout
            scores = {"bottom-up": 0.0, "mint-shrink": 0.0}
            for (fc_w, act_w), (fc_t, act_t) in ((errors[0], errors[1]), (errors[1], errors[0])):
                cov_w = shrunk_covariance(_errors(fc_w, act_w, tree))
                for name in scores:
                    rec = self._reconcile(fc_t, tree, name, cov_w)
                    scores[name] += _level_error(rec, act_t, tree) / 2
            self.validation_.update({f"{k}_error": v for k, v in scores.items()})
            method = min(scores, key=lambda k: (scores[k], k != "bottom-up"))
        self.cov_d_ = self.cov_u_ = None
        self.shrinkage_: float | None = None
        if method == "mint-shrink":
            cov = shrunk_covariance(
                np.concatenate([_errors(fc, act, tree) for fc, act in errors], axis=1)
            )
            self.cov_d_, self.cov_u_, self.shrinkage_ = cov.d, cov.u, cov.shrinkage
        self.method_ = method
        # final models, then the shared shocks sized on the validation errors
        self.forecaster_ = _fit(clone(low), df, calendar)
        self.upper_ = None
        if method != "bottom-up":
            self.upper_ = _fit(clone(up), self._agg(df, tree), calendar)
        coo = tree.a.tocoo()
        self.skus_ = tree.skus.astype(str)
        self.levels_, self.nodes_ = tree.levels.astype(str), tree.nodes.astype(str)
        self.members_ = np.vstack([coo.row, coo.col]).astype(np.int64)
        self.freq_ = freq
        self.n_skus_ = len(tree.skus)
        self.shock_ = np.zeros(len(tree.nodes))
        if errors:
            self.shock_ = self._fit_shocks(errors, tree, method)
        return self

    @staticmethod
    def _agg(df: pd.DataFrame, tree: _Tree) -> pd.DataFrame:
        """The aggregates as a long panel (series id ``level:node``), one pass per level."""
        pos = pd.Index(tree.skus).get_indexer(df["sku"].astype(str))
        ok = pos >= 0
        frame = pd.DataFrame({"ds": pd.to_datetime(df["ds"]).to_numpy()[ok],
                              "y": df["y"].to_numpy(dtype=np.float64)[ok]})  # fmt: skip
        ids = tree.ids()
        coo = tree.a.tocoo()
        parts = []
        for level in np.unique(tree.levels):
            rows = np.flatnonzero(tree.levels == level)
            node_of = np.full(len(tree.skus), -1)
            on = np.isin(coo.row, rows)
            node_of[coo.col[on]] = coo.row[on]
            node = node_of[pos[ok]]
            g = frame.assign(node=node).loc[node >= 0].groupby(["node", "ds"], as_index=False)
            g = g["y"].sum()
            parts.append(g.assign(sku=ids[g["node"].to_numpy()], category=level))
        out = pd.concat(parts, ignore_index=True)
        return out[["sku", "ds", "y", "category"]]

    def _base(
        self, hist: pd.DataFrame, tree: _Tree, low: Any, up: Any | None, calendar: Any
    ) -> dict[str, Any]:
        """Base forecasts of SKUs and aggregates as ``(nodes, h)`` matrices."""
        fb = low.predict(hist, calendar=calendar)
        h = int(low.horizon)
        dates = np.sort(fb["ds"].unique())[:h]
        mb, qb = _matrices(fb, tree.skus, dates)
        out = {"dates": dates, "bottom_mean": mb, "bottom_q": qb}
        if up is not None:
            fa = up.predict(self._agg(hist, tree), calendar=calendar)
            ma, _ = _matrices(fa, tree.ids(), dates)
            out["agg_mean"] = ma
        return out

    @staticmethod
    def _actuals(df: pd.DataFrame, tree: _Tree, p: np.ndarray, origin: int, h: int) -> np.ndarray:
        """Actual demand ``(n_b, h)`` of the SKUs in the ``h`` periods from ``origin``
        (``p``: each row's period index)."""
        m = (p >= origin) & (p < origin + h)
        out = np.zeros((len(tree.skus), h))
        i = pd.Index(tree.skus).get_indexer(df.loc[m, "sku"].astype(str))
        ok = i >= 0
        np.add.at(out, (i[ok], (p[m] - origin)[ok]), df.loc[m, "y"].to_numpy(dtype=float)[ok])
        return out

    def _reconcile(
        self, fc: dict[str, Any], tree: _Tree, method: str, cov: ErrorCovariance | None
    ) -> np.ndarray:
        if method == "bottom-up" or cov is None:
            return fc["bottom_mean"]
        return mint(fc["agg_mean"], fc["bottom_mean"], tree.a, cov, nonnegative=self.nonnegative)

    def _fit_shocks(self, errors: list, tree: _Tree, method: str) -> np.ndarray:
        """Relative sd of a multiplicative shock per aggregate, shared by its SKUs, that
        brings the paths' variance of the aggregate to its observed squared error."""
        cov = self.covariance_ if method == "mint-shrink" else None
        obs = np.zeros(len(tree.nodes))
        model = np.zeros(len(tree.nodes))
        level2 = np.zeros(len(tree.nodes))
        for fc, act in errors:
            rec = self._reconcile(fc, tree, method, cov)
            q = _scaled_quantiles(fc["bottom_q"], fc["bottom_mean"], rec)
            var_b = quantile_variance(q)
            obs += ((tree.a @ act - tree.a @ rec) ** 2).sum(axis=1)
            model += (tree.a @ var_b).sum(axis=1)
            level2 += ((tree.a @ rec) ** 2).sum(axis=1)
        tau2 = np.maximum(obs - model, 0.0) / np.maximum(level2, 1e-12)
        # the total's shock is on top of its categories' shocks
        cats = tree.levels == "category"
        if cats.any():
            part = (tau2[cats] * level2[cats]).sum() / max(level2[0], 1e-12)
            tau2[0] = max(tau2[0] - part, 0.0)
        return np.sqrt(tau2)

    @property
    def freq(self) -> str:
        """The SKU forecaster's frequency."""
        return str(self._models()[0].freq)

    @property
    def horizon(self) -> int:
        """The SKU forecaster's horizon."""
        return int(self._models()[0].horizon)

    @property
    def tree_(self) -> _Tree:
        """The fitted hierarchy."""
        check_fitted(self, ["members_"])
        shape = (len(self.nodes_), len(self.skus_))
        a = sp.csr_matrix((np.ones(self.members_.shape[1]), tuple(self.members_)), shape=shape)
        return _Tree(self.skus_, self.levels_, self.nodes_.astype(object), a)

    @property
    def covariance_(self) -> ErrorCovariance | None:
        """The error covariance MinT uses (None for bottom-up)."""
        check_fitted(self, ["method_"])
        if self.cov_d_ is None:
            return None
        return ErrorCovariance(d=self.cov_d_, u=self.cov_u_, shrinkage=float(self.shrinkage_))

    def save_artifacts(self, path: str | Path) -> None:
        """Write the fitted model without pickle (:mod:`ecomml._state`)."""
        check_fitted(self, ["method_"])
        Path(path).mkdir(parents=True, exist_ok=True)
        write_state(self, path)

    @classmethod
    def load_artifacts(cls, path: str | Path) -> HierarchicalForecaster:
        """Rebuild a model written by :meth:`save_artifacts` (no code is run)."""
        return read_state(cls, path)

    # ------------------------------------------------------------------ predict
    def _predict(self, df: pd.DataFrame, start: Any, calendar: Any, new_skus: Any) -> pd.DataFrame:
        """Coherent forecasts of the SKUs in ``df`` the model was fitted on and of their
        aggregates (see the class docstring for the columns). SKUs outside the fitted
        hierarchy (``new_skus`` included) are left out: refit to take them in."""
        tree = self.tree_
        given = df["sku"].astype(str)
        missing = np.setdiff1d(tree.skus, given.unique())
        if len(missing):
            raise DataQualityError(
                f"the history lacks {len(missing)} of the {len(tree.skus)} SKUs this reconciled "
                f"model was fitted on (e.g. {', '.join(missing[:3])}): it forecasts the whole "
                "hierarchy at once, so pass every SKU's history (it cannot be scored per SKU "
                "bucket, e.g. on Spark)"
            )
        outside = given.nunique() - len(tree.skus)
        if outside > 0:
            import warnings

            from ecomml.exceptions import EcommlWarning

            warnings.warn(
                f"{outside} SKUs of the history are not in the fitted hierarchy and are left "
                "out of the reconciled forecast; retrain to take them in",
                EcommlWarning,
                stacklevel=3,
            )
        hist = df.loc[given.isin(set(tree.skus))]
        fb = self.forecaster_.predict(hist, start=start, calendar=calendar)
        h = int(self.forecaster_.horizon)
        dates = np.sort(fb["ds"].unique())[:h]
        mb, qb = _matrices(fb, tree.skus, dates)
        rec = mb
        if self.method_ == "mint-shrink":
            fa = self.upper_.predict(self._agg(hist, tree), start=start, calendar=calendar)
            ma, _ = _matrices(fa, tree.ids(), dates)
            rec = mint(ma, mb, tree.a, self.covariance_, nonnegative=self.nonnegative)
        q_b = _scaled_quantiles(qb, mb, rec)
        q_a = self._path_quantiles(q_b, rec)
        out = self._frame(tree, dates, rec, q_b, tree.a @ rec, q_a)
        info = fb.drop_duplicates("sku").set_index(fb["sku"].drop_duplicates().astype(str))
        sku = out["level"] == "sku"
        out["pattern"] = pd.array(
            out["node"].where(sku).map(info.get("pattern", {})), dtype="string"
        )
        fallback = out["node"].where(sku).map(info.get("fallback", {}))
        out["fallback"] = fallback.to_numpy(dtype=object) == True  # noqa: E712 - NaN is False
        return out

    def _path_quantiles(self, q_b: np.ndarray, mean_b: np.ndarray) -> np.ndarray:
        """Quantiles ``(n_a, h, 7)`` of the aggregates over sampled paths."""
        tree = self.tree_
        rng = check_random_state(self.random_state)
        n_a, (n_b, h) = len(tree.nodes), mean_b.shape
        n = int(self.n_paths)
        out = np.zeros((n_a, h, len(_Q)))
        cats = np.flatnonzero(tree.levels == "category")
        sku_cat = np.full(n_b, -1)
        if len(cats):
            sub = tree.a[cats].tocoo()
            sku_cat[sub.col] = sub.row
        chunk = max(1, 4_000_000 // n)
        for t in range(h):
            total_shock = shock(rng, self.shock_[0], n)
            cat_shock = (
                np.stack([shock(rng, self.shock_[c], n) for c in cats]) if len(cats) else None
            )
            sums = np.zeros((n, n_a))
            for s0 in range(0, n_b, chunk):
                sl = slice(s0, s0 + chunk)
                draws = draw_paths(q_b[sl, t], mean_b[sl, t], rng, n)  # (n, chunk)
                draws *= total_shock[:, None]
                if cat_shock is not None:
                    c = sku_cat[sl]
                    has = c >= 0
                    draws[:, has] *= cat_shock[c[has]].T
                sums += (tree.a[:, sl] @ draws.T).T
            out[:, t, :] = np.quantile(sums, _Q, axis=0).T
        return out

    def _frame(
        self, tree: _Tree, dates: np.ndarray, mean_b: np.ndarray, q_b: np.ndarray,
        mean_a: np.ndarray, q_a: np.ndarray,
    ) -> pd.DataFrame:  # fmt: skip
        h = len(dates)
        ds = pd.DatetimeIndex(dates).astype("datetime64[ns]")
        parts = []
        for level, nodes, sku, mean, q in (
            (tree.levels, tree.nodes, np.full(len(tree.nodes), None), mean_a, q_a),
            (np.full(len(tree.skus), "sku"), tree.skus, tree.skus, mean_b, q_b),
        ):
            f = pd.DataFrame({
                "level": np.repeat(level, h), "node": np.repeat(nodes.astype(str), h),
                "sku": pd.array(np.repeat(sku, h), dtype="string"), "ds": np.tile(ds, len(nodes)),
                "mean": mean.reshape(-1),
            })  # fmt: skip
            for j, name in enumerate(QUANTILE_COLUMNS):
                f[name] = q[:, :, j].reshape(-1)
            parts.append(f)
        return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------- helpers
def _fit(model: Any, df: pd.DataFrame, calendar: pd.DataFrame | None) -> Any:
    """``model.fit(df)``, with ``calendar`` for the forecasters that take one."""
    import inspect

    if calendar is not None and "calendar" in inspect.signature(model.fit).parameters:
        return model.fit(df, calendar=calendar)
    return model.fit(df)


def _matrices(
    fc: pd.DataFrame, ids: np.ndarray, dates: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(n, h)`` and quantiles ``(n, h, 7)`` of ``fc`` in the order of ``ids``."""
    i = pd.Index(ids).get_indexer(fc["sku"].astype(str))
    j = pd.Index(pd.DatetimeIndex(dates)).get_indexer(pd.to_datetime(fc["ds"]))
    ok = (i >= 0) & (j >= 0)
    mean = np.zeros((len(ids), len(dates)))
    q = np.zeros((len(ids), len(dates), len(_Q)))
    mean[i[ok], j[ok]] = fc["mean"].to_numpy(dtype=float)[ok]
    q[i[ok], j[ok]] = fc[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)[ok]
    return mean, q


def _errors(fc: dict[str, Any], actual: np.ndarray, tree: _Tree) -> np.ndarray:
    """Base errors ``(aggregates + SKUs, h)`` at one validation origin."""
    return np.vstack([fc["agg_mean"] - tree.a @ actual, fc["bottom_mean"] - actual])


def _level_error(rec: np.ndarray, actual: np.ndarray, tree: _Tree) -> float:
    """Mean over levels (SKUs, categories, total) of sum |error| / sum actual."""
    out = [np.abs(rec - actual).sum() / max(actual.sum(), 1e-12)]
    agg_r, agg_y = tree.a @ rec, tree.a @ actual
    for level in np.unique(tree.levels):
        m = tree.levels == level
        out.append(np.abs(agg_r[m] - agg_y[m]).sum() / max(agg_y[m].sum(), 1e-12))
    return float(np.mean(out))


def _scaled_quantiles(q: np.ndarray, base: np.ndarray, rec: np.ndarray) -> np.ndarray:
    """SKU quantiles moved with the reconciliation: scaled by ``rec / base`` (shifted where
    the base mean is zero), sorted, non-negative."""
    ratio = np.divide(rec, base, out=np.ones_like(rec), where=base > 1e-9)
    out = np.where((base > 1e-9)[..., None], q * ratio[..., None], q + rec[..., None])
    return np.sort(np.maximum(out, 0.0), axis=-1)
