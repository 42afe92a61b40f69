"""The LightGBM churn classifier: calibrated probabilities and reason codes.

``ChurnClassifier`` learns ``P(churn)`` from a feature frame (feature-store columns
``{view}__{feature}`` plus any extra numeric columns such as BG/NBD outputs). Its
probabilities are calibrated by isotonic regression or Platt scaling, whichever has the
lower Brier score on out-of-fold predictions (folds grouped by customer, so one
customer's stacked cutoffs never sit on both sides). ``reasons`` turns LightGBM's
per-row feature contributions into the top drivers in words a marketer understands.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin

from ecomml._estimator import EcommlEstimator, LightGBMParams, estimator
from ecomml._validation import check_fitted, require_columns
from ecomml.exceptions import ConfigError, DataQualityError, SchemaError

__all__ = ["ChurnClassifier", "describe_driver"]

_KEY_COLUMNS = ("customer_id", "cutoff")


class _Calibrator:
    """Isotonic (piecewise-linear interpolation of the fitted steps), Platt or identity."""

    def __init__(self, method: str, params: dict[str, Any] | None = None) -> None:
        self.method = method
        self.params = params or {}

    @staticmethod
    def _logit(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))

    @classmethod
    def fit(cls, method: str, p: np.ndarray, y: np.ndarray) -> _Calibrator:
        if method == "none":
            return cls("none")
        if method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(p, y)
            return cls(
                "isotonic",
                {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()},
            )
        if method == "platt":
            from sklearn.linear_model import LogisticRegression

            lr = LogisticRegression(C=1e6).fit(cls._logit(p)[:, None], y)
            return cls(
                "platt", {"coef": float(lr.coef_[0, 0]), "intercept": float(lr.intercept_[0])}
            )
        raise ConfigError(f"calibration must be auto, isotonic, platt or none, got {method!r}")

    def transform(self, p: np.ndarray) -> np.ndarray:
        if self.method == "isotonic":
            return np.interp(p, self.params["x"], self.params["y"])
        if self.method == "platt":
            z = self.params["coef"] * self._logit(p) + self.params["intercept"]
            return 1.0 / (1.0 + np.exp(-z))
        return p


@estimator
class ChurnClassifier(ClassifierMixin, LightGBMParams, EcommlEstimator):
    """LightGBM binary classifier of churn with calibrated probabilities.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree,
    reg_lambda : LightGBM settings.
    calibration : {"auto", "isotonic", "platt", "none"}
        ``auto`` picks the method with the lowest out-of-fold Brier score.
    n_folds : int
        Folds (grouped by customer) for the out-of-fold calibration predictions.
    n_jobs : int
        LightGBM threads.
    random_state : int

    Attributes
    ----------
    feature_names_ : list of str
    booster_ : lightgbm.Booster
    calibration_ : str
        The chosen method.
    oof_scores_ : dict
        Out-of-fold Brier score of every candidate calibration.
    """

    n_estimators: int = 300
    learning_rate: float = 0.03
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    calibration: str = "auto"
    n_folds: int = 3
    n_jobs: int = 1
    random_state: int = 0

    def _lgb_params(self) -> dict[str, Any]:
        return {
            "objective": "binary",
            **self._tree_params(),
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "num_threads": self.n_jobs,
            "seed": self.random_state,
            "deterministic": True,
            "verbosity": -1,
        }

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # LightGBM treats NaN as missing
        return tags

    @staticmethod
    def _features(X: pd.DataFrame) -> list[str]:
        return [
            c
            for c in X.columns
            if c not in _KEY_COLUMNS and pd.api.types.is_numeric_dtype(X[c]) and X[c].dtype != bool
        ] + [c for c in X.columns if c not in _KEY_COLUMNS and X[c].dtype == bool]

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        if not isinstance(X, pd.DataFrame):
            X = _as_frame(X)
            n = getattr(self, "n_features_in_", X.shape[1])
            if X.shape[1] != n:
                raise SchemaError(
                    f"X has {X.shape[1]} features, but ChurnClassifier is expecting {n} "
                    "features as input; pass the columns the model was trained on"
                )
        require_columns(
            X.columns,
            self.feature_names_,
            lambda missing: (
                f"features {missing[:5]} the churn model was trained on are missing; score with "
                "the same feature views (and events, if the model used them)"
            ),
        )
        return X[self.feature_names_].astype("float64").to_numpy()

    def _train(self, M: np.ndarray, y: np.ndarray) -> Any:
        import lightgbm as lgb

        ds = lgb.Dataset(
            M, label=y, feature_name=[str(c) for c in self.feature_names_], free_raw_data=True
        )
        return lgb.train(self._lgb_params(), ds, num_boost_round=self.n_estimators)

    def fit(self, X: pd.DataFrame, y: Any, *, groups: Any = None) -> Self:
        """Fit on feature frame ``X`` (numeric columns other than customer_id/cutoff are
        features; a 2-D array gives features ``x0, x1, ...``) and binary labels ``y``
        (churn = 1, or the larger of two labels); ``groups`` (e.g. customer ids) keeps a
        customer's rows in one calibration fold."""
        X = _as_frame(X)
        if y is None:
            raise DataQualityError(
                "ChurnClassifier requires y to be passed, but the target y is None"
            )
        from sklearn.utils.multiclass import type_of_target

        if type_of_target(y) == "continuous":
            raise DataQualityError("Unknown label type: continuous; churn labels must be 0 or 1")
        ya = np.asarray(y).ravel()
        if len(ya) != len(X):
            raise DataQualityError(f"X has {len(X)} rows but y has {len(ya)}")
        if pd.isna(ya).any():
            raise DataQualityError("churn labels must be 0 or 1; y has missing values")
        classes = np.unique(ya)
        if len(classes) > 2:
            raise DataQualityError(
                f"churn labels must be 0 or 1 (two classes); y has {len(classes)} classes "
                f"{classes[:5].tolist()}"
            )
        if len(classes) < 2:
            raise DataQualityError(
                f"every training label is {classes[0]} (one class): the classifier needs both churners and "
                "returning customers; use more cutoffs or a different horizon"
            )
        yv = (ya == classes[1]).astype("float64")
        self.n_features_in_ = int(X.shape[1])
        self.feature_names_ = self._features(X)
        if not self.feature_names_:
            raise SchemaError("X has no numeric feature columns")
        M = self._matrix(X)
        method = self.calibration
        self.oof_scores_: dict[str, float] = {}
        if method != "none":
            g = np.asarray(groups if groups is not None else np.arange(len(yv)))
            codes = pd.factorize(pd.Series(g).astype(str))[0]
            rng = np.random.default_rng(self.random_state)
            fold_of = rng.integers(0, self.n_folds, codes.max() + 1)[codes]
            oof = np.empty(len(yv))
            for k in range(self.n_folds):
                tr, te = fold_of != k, fold_of == k
                if te.sum() == 0 or np.unique(yv[tr]).size < 2:
                    oof[te] = yv[tr].mean() if tr.any() else 0.5
                    continue
                oof[te] = self._train(M[tr], yv[tr]).predict(M[te])
            cands = ["isotonic", "platt", "none"] if method == "auto" else [method]
            half = rng.random(len(yv)) < 0.5
            for cand in cands:
                err = 0.0
                for a, b in ((half, ~half), (~half, half)):
                    cal = _Calibrator.fit(cand, oof[a], yv[a])
                    err += float(np.sum((cal.transform(oof[b]) - yv[b]) ** 2))
                self.oof_scores_[cand] = err / len(yv)
            method = min(self.oof_scores_, key=self.oof_scores_.__getitem__)
            self.calibrator_ = _Calibrator.fit(method, oof, yv)
        else:
            self.calibrator_ = _Calibrator("none")
        self.calibration_ = method
        self.booster_ = self._train(M, yv)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            med = np.nanmedian(np.where(np.isfinite(M), M, np.nan), axis=0)
        self.feature_medians_ = {
            n: float(v) for n, v in zip(self.feature_names_, med, strict=True) if np.isfinite(v)
        }
        self.base_rate_ = float(yv.mean())
        self.classes_ = classes
        return self

    def predict_raw(self, X: pd.DataFrame) -> np.ndarray:
        """Uncalibrated LightGBM probabilities of churn."""
        check_fitted(self, ["booster_"])
        return np.asarray(self.booster_.predict(self._matrix(X)), dtype="float64")

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated ``[P(stay), P(churn)]`` per row."""
        check_fitted(self, ["booster_", "calibrator_"])
        p = np.clip(self.calibrator_.transform(self.predict_raw(X)), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The churn label (1, or the larger training label) where the calibrated
        ``P(churn)`` is at least 0.5, else the other label."""
        churn = self.predict_proba(X)[:, 1] >= 0.5
        return self.classes_[churn.astype(np.int64)]

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-row feature contributions to the churn log-odds: LightGBM's ``pred_contrib``
        (path-dependent TreeSHAP), from tables made once per model
        (:mod:`ecomml.churn.treeshap`: equal to 1e-12, about ten times faster)."""
        from ecomml.churn.treeshap import TreeContributions

        check_fitted(self, ["booster_"])
        M = self._matrix(X)
        tables = getattr(self, "_shap_tables", None)
        if tables is None or tables[0] is not self.booster_:
            tables = self._shap_tables = (self.booster_, TreeContributions(self.booster_))
        if tables[1].ok:
            c = tables[1].contributions(M, n_jobs=int(self.n_jobs or 1))
        else:  # a tree the tables cannot hold: LightGBM's own walk
            c = self.booster_.predict(M, pred_contrib=True)[:, :-1]
        return pd.DataFrame(c, columns=self.feature_names_, index=X.index)

    def reasons(self, X: pd.DataFrame, *, top: int = 3, horizon: int = 90) -> list[str]:
        """The ``top`` features pushing each customer towards churn, in words."""
        contrib = self.contributions(X).to_numpy()
        order = np.argsort(-contrib, axis=1)[:, : top + 4]
        out = []
        # plain dicts: a Series per row (X.iloc[i]) made this loop most of scoring's time
        for i, row in enumerate(X.to_dict("records")):
            parts: list[str] = []
            season = False
            for j in order[i]:
                if contrib[i, j] <= 0:
                    break
                if len(parts) == top:
                    break
                name = self.feature_names_[j]
                if name.startswith("season__"):
                    season = True  # a real driver, but nothing to act on: listed last
                    continue
                text = describe_driver(
                    name, row, horizon=horizon, median=self.feature_medians_.get(name)
                )
                if text and text not in parts:
                    parts.append(text)
            if season and len(parts) < top:
                parts.append("seasonally quiet period ahead")
            out.append("; ".join(parts) if parts else "no strong churn signal")
        return out

    # ------------------------------------------------------------------ persistence
    def save_artifacts(self, path: Path) -> None:
        """Write ``classifier.txt`` (LightGBM text model) and ``classifier.json``."""
        check_fitted(self, ["booster_"])
        path = Path(path)
        self.booster_.save_model(str(path / "classifier.txt"))
        state = {
            "params": self.get_params(),
            "feature_names": self.feature_names_,
            "calibration": self.calibration_,
            "calibrator": self.calibrator_.params,
            "oof_scores": self.oof_scores_,
            "base_rate": self.base_rate_,
            "feature_medians": self.feature_medians_,
        }
        (path / "classifier.json").write_text(json.dumps(state, indent=2))

    @classmethod
    def load_artifacts(cls, path: Path) -> ChurnClassifier:
        """Rebuild from :meth:`save_artifacts`."""
        import lightgbm as lgb

        path = Path(path)
        state = json.loads((path / "classifier.json").read_text())
        m = cls(**state["params"])
        m.booster_ = lgb.Booster(model_file=str(path / "classifier.txt"))
        m.feature_names_ = list(state["feature_names"])
        m.calibration_ = state["calibration"]
        m.calibrator_ = _Calibrator(state["calibration"], state["calibrator"])
        m.oof_scores_ = dict(state["oof_scores"])
        m.base_rate_ = float(state["base_rate"])
        m.feature_medians_ = dict(state["feature_medians"])
        m.classes_ = np.array([0, 1])  # the churn model trains on 0/1 labels
        return m


def _as_frame(X: Any) -> pd.DataFrame:
    """``X`` itself when it is a DataFrame; a 2-D array-like as columns ``x0, x1, ...``."""
    if isinstance(X, pd.DataFrame):
        return X
    from sklearn.utils import check_array

    arr = check_array(X, accept_sparse=False, ensure_all_finite="allow-nan", dtype="numeric")
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])


def _num(row: Mapping[str, Any] | pd.Series, col: str) -> float | None:
    for c in (
        col,
        f"customer_rfm__{col}",
        f"customer_events__{col}",
        f"btyd__{col}",
        f"hist__{col}",
    ):
        if c in row:  # a Series (its index) or a dict (its keys)
            v = row[c]
            try:
                f = float(v)
            except (TypeError, ValueError):
                return None
            return None if not np.isfinite(f) else f
    return None


#: Features where a *high* value signals churn (+1) or a *low* value does (-1).
_DIRECTION = {
    "recency_days": 1,
    "days_since_last_event": 1,
    "return_rate": 1,
    "n_returns": 1,
    "returned_units": 1,
    "frequency": -1,
    "monetary": -1,
    "avg_order_value": -1,
    "orders_90d": -1,
    "spend_90d": -1,
    "spend_trend": -1,
    "tenure_days": -1,
    "category_diversity": -1,
    "n_skus": -1,
    "p_alive": -1,
    "expected_purchases": -1,
    "p_purchase": -1,
    "p_repurchase": -1,
    "expected_spend": -1,
    "n_events": -1,
    "n_views": -1,
    "n_carts": -1,
    "n_purchases": -1,
    "active_days": -1,
    "days_30": -1,
    "days_180": -1,
    "days_365": -1,
    "value_365": -1,
    "decay_30": -1,
    "decay_90": -1,
    "overdue": 1,
}


# features whose reason is their own value in a sentence
_PLAIN_REASONS = {
    "recency_days": "no purchase for {v:.0f} days",
    "tenure_days": "new customer (first order {v:.0f} days ago)",
    "monetary": "low lifetime spend ({v:,.0f})",
    "avg_order_value": "small average order ({v:,.0f})",
    "category_diversity": "buys from few categories ({v:.0f})",
    "days_since_last_event": "no site visit for {v:.0f} days",
    "value_365": "spent only {v:,.0f} in the last year",
    "overdue": "overdue: {v:.1f}x their usual gap between purchases",
    "expected_spend": "low expected order value ({v:,.0f})",
}


def describe_driver(
    feature: str,
    row: Mapping[str, Any] | pd.Series,
    *,
    horizon: int = 90,
    median: float | None = None,
) -> str | None:
    """One feature of one customer in marketer words, e.g. ``"no purchase for 120 days"``.

    With the training ``median`` of the feature, a directional feature whose value sits
    on the "safe" side of the median gives None: LightGBM may credit it with pushing
    towards churn through an interaction, but it is no reason a marketer can act on.
    """
    name = feature.split("__", 1)[-1]
    if feature.startswith("season__"):
        return "seasonally quiet period ahead"
    v = _num(row, feature) if feature in row else _num(row, name)
    d = _DIRECTION.get(name)
    if d is not None and v is not None and median is not None and np.isfinite(median):
        if (d > 0 and v < median) or (d < 0 and v > median):
            return None
    template = _PLAIN_REASONS.get(name)
    if template is not None:
        return None if v is None else template.format(v=v)
    if name == "frequency" and v is not None:
        return "only one order so far" if v <= 1 else f"only {v:.0f} orders so far"
    if name in ("spend_trend", "spend_90d", "spend_prev_90d"):
        now, prev = _num(row, "spend_90d"), _num(row, "spend_prev_90d")
        if now == 0 and prev is not None and prev > 0:
            return f"no spend in the last 90 days (after {prev:,.0f} the quarter before)"
        if now is not None and prev is not None and prev > 0 and now < prev:
            return f"spend fell {100 * (prev - now) / prev:.0f}% vs previous quarter"
        if now == 0:
            return "no spend in the last 90 days"
        return None
    if name == "orders_90d" and v is not None:
        if v == 0:
            return "no orders in the last 90 days"
        return f"only {v:.0f} order(s) in the last 90 days"
    if name in ("ipi_mean_days", "ipi_std_days"):
        gap, rec = _num(row, "ipi_mean_days"), _num(row, "recency_days")
        if gap is not None and rec is not None and rec > 1.5 * gap:
            return f"overdue: usually buys every {gap:.0f} days, last {rec:.0f} days ago"
        return None if gap is not None else "no repeat purchase yet"
    if name in ("return_rate", "n_returns", "returned_units"):
        rr = _num(row, "return_rate")
        return f"returns {100 * rr:.0f}% of units" if rr is not None and rr >= 0.01 else None
    if name == "n_skus" and v is not None:
        return f"narrow assortment ({v:.0f} product{'s' if v != 1 else ''} bought)"
    if name == "promo_share":
        return "buys mostly on promotions" if (v or 0) >= 0.5 else None
    if name == "p_alive" and v is not None:
        return f"buying pattern says {100 * (1 - v):.0f}% chance they have already left"
    if name in ("expected_purchases", "p_purchase", "p_repurchase"):
        exp = _num(row, "expected_purchases")
        if exp is None:
            return None
        return f"expected to buy only {exp:.1f} times in the next {horizon} days"
    if name in ("n_events", "n_views", "active_days", "n_carts", "n_purchases"):
        return "little browsing on the site lately"
    if name == "cart_to_purchase_rate":
        return "abandons carts" if v is not None and v < 0.5 else None
    if name in ("days_30", "days_180", "days_365", "decay_30", "decay_90"):
        n365 = _num(row, "hist__days_365")
        if n365 == 0:
            return "no purchase in the last year"
        n180 = _num(row, "hist__days_180")
        if n180 is None:
            return None
        if n180 == 0:
            return "no purchase in the last 6 months"
        return f"only {n180:.0f} purchase{'s' if n180 > 1 else ''} in the last 6 months"
    return None
