"""Whom does an offer change? Meta-learners of the conditional treatment effect.

From a past randomised campaign (who got the offer, what they did afterwards, their
features before it), :class:`UpliftModel` learns ``uplift(x) = E[y | x, offer] - E[y | x,
no offer]`` with LightGBM inside one of three meta-learners:

* ``"s"`` — one model with the offer as a feature; uplift is its prediction with the offer
  minus without (the regularised baseline: an offer that changes little stays near 0).
* ``"t"`` — two models, one per arm; uplift is their difference (the plain baseline).
* ``"x"`` — Künzel et al. (2019): each arm's outcome minus the other arm's model is an
  imputed effect; two effect models, mixed by the propensity.
* ``"dr"`` — Kennedy's doubly robust learner: cross-fitted outcome models (each unit is
  predicted by models that never saw it) give the AIPW pseudo-outcome, regressed on ``x``.
* ``"auto"`` — the one of the three with the best area under the uplift curve on ``cv``
  validation folds of the training data (each fitted on the other folds) is refitted on
  all of it.

Saved without pickle: LightGBM's text models and a JSON state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd

from ecomml._estimator import EcommlEstimator, LightGBMParams, estimator
from ecomml._validation import check_fitted
from ecomml.campaigns.uplift_metrics import auuc
from ecomml.exceptions import ConfigError, DataQualityError, ModelLoadError

__all__ = ["LEARNERS", "UpliftModel", "encode_treatment"]

LEARNERS = ("s", "t", "x", "dr")
_ARM = "__offer__"  # the S-learner's treatment column
_PROPENSITY_CLIP = 0.01


def _as_frame(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise DataQualityError(f"X must be 2-D (units x features), got shape {arr.shape}")
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])


@estimator
class UpliftModel(LightGBMParams, EcommlEstimator):
    """Uplift (conditional average treatment effect) of an offer, per customer.

    Parameters
    ----------
    learner : ``"s"``, ``"t"``, ``"x"``, ``"dr"`` or ``"auto"`` (chosen on validation folds).
    n_folds : cross-fitting folds of the DR-learner's outcome models.
    cv : validation folds of ``learner="auto"``.
    n_estimators, learning_rate, num_leaves, min_child_samples : LightGBM settings of every
        model inside the learner.
    propensity : share of units treated; None takes the training data's share (a randomised
        campaign). Used by the X- and DR-learners.
    random_state : seed of the folds and of LightGBM.

    Attributes
    ----------
    learner_ : the learner used (``learner`` or the one ``"auto"`` chose).
    validation_ : ``{learner: mean validation AUUC}`` over the ``cv`` folds (``"auto"`` only).
    feature_names_ : the columns of ``X`` at fit.
    categories_ : ``{column: categories}`` of the text columns (unseen values → missing).
    binary_outcome_ : True when the outcome is 0/1 (the arm models are classifiers).
    propensity_ : the treated share used.
    boosters_ : ``{name: lightgbm.Booster}``: ``s`` (the S-learner's one model), or
        ``mu0``/``mu1`` (arm outcome models) and the effect models (``tau0``/``tau1`` for X,
        ``tau`` for DR).
    """

    learner: str = "auto"
    n_folds: int = 5
    cv: int = 3
    learning_rate: float = 0.03
    min_child_samples: int = 100
    propensity: float | None = None
    random_state: int | None = 0

    # ------------------------------------------------------------------ inputs
    def _check_params(self) -> None:
        if self.learner not in (*LEARNERS, "auto"):
            raise ConfigError(f"learner must be one of s, t, x, dr or auto; got {self.learner!r}")
        for name in ("n_folds", "cv"):
            if int(getattr(self, name)) < 2:
                raise ConfigError(f"{name} must be at least 2, got {getattr(self, name)}")
        if self.propensity is not None and not 0 < float(self.propensity) < 1:
            raise ConfigError(f"propensity must be in (0, 1), got {self.propensity}")

    def _matrix(self, X: Any, *, fitting: bool = False) -> pd.DataFrame:
        """``X`` as LightGBM reads it: numbers as float, text as fixed categories."""
        X = _as_frame(X)
        if fitting:
            self.feature_names_ = [str(c) for c in X.columns]
            self.categories_ = {
                str(c): sorted(X[c].dropna().astype(str).unique().tolist())
                for c in X.columns
                if not pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])
            }
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if missing:
            raise DataQualityError(
                f"features {missing[:5]} the uplift model was trained on are missing; score "
                "data with the same columns as the campaign it learnt from"
            )
        out = {}
        for c in self.feature_names_:
            col = X[c]
            if c in self.categories_:
                out[c] = pd.Categorical(col.astype(str).where(col.notna()),
                                        categories=self.categories_[c])  # fmt: skip
            else:
                try:
                    out[c] = pd.to_numeric(col, errors="raise").astype("float64")
                except (TypeError, ValueError):
                    bad = col[pd.to_numeric(col, errors="coerce").isna() & col.notna()]
                    raise DataQualityError(
                        f"feature {c!r} was numeric at fit but has text such as "
                        f"{bad.iloc[0]!r} (row {bad.index[0]})"
                    ) from None
        return pd.DataFrame(out, index=X.index)

    @staticmethod
    def _targets(treatment: Any, y: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(treatment).ravel()
        ya = pd.to_numeric(pd.Series(np.asarray(y).ravel()), errors="coerce").to_numpy("float64")
        if len(t) != n or len(ya) != n:
            raise DataQualityError(f"X has {n} rows, treatment {len(t)} and outcome {len(ya)}")
        if pd.isna(t).any() or not np.isin(t.astype("float64"), (0.0, 1.0)).all():
            raise DataQualityError("treatment must be 0 (no offer) or 1 (offer) for every unit")
        if np.isnan(ya).any():
            rows = np.flatnonzero(np.isnan(ya))[:5].tolist()
            raise DataQualityError(f"the outcome is missing or not a number in rows {rows}")
        t = t.astype("float64")
        for arm, name in ((1.0, "treated"), (0.0, "control")):
            if (t == arm).sum() < 20:
                raise DataQualityError(f"only {(t == arm).sum()} {name} units: need at least 20")
        return t, ya

    # ------------------------------------------------------------------ LightGBM
    def _lgb(self, M: pd.DataFrame, target: np.ndarray, *, classify: bool) -> Any:
        import lightgbm as lgb

        params = {
            "objective": "binary" if classify else "regression",
            **self._tree_params(),
            "seed": int(self.random_state or 0),
            "deterministic": True,
            "num_threads": 1,
            "verbosity": -1,
        }
        ds = lgb.Dataset(M, label=target, free_raw_data=True)
        return lgb.train(params, ds, num_boost_round=int(self.n_estimators))

    def _arm_models(self, M: pd.DataFrame, t: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        c = self.binary_outcome_
        return self._lgb(M[t == 0], y[t == 0], classify=c), self._lgb(
            M[t == 1], y[t == 1], classify=c
        )

    def _fit_learner(
        self, learner: str, M: pd.DataFrame, t: np.ndarray, y: np.ndarray
    ) -> dict[str, Any]:
        if learner == "s":
            return {"s": self._lgb(M.assign(**{_ARM: t}), y, classify=self.binary_outcome_)}
        mu0, mu1 = self._arm_models(M, t, y)
        models = {"mu0": mu0, "mu1": mu1}
        if learner == "x":
            d1 = y[t == 1] - mu0.predict(M[t == 1])
            d0 = mu1.predict(M[t == 0]) - y[t == 0]
            models["tau1"] = self._lgb(M[t == 1], d1, classify=False)
            models["tau0"] = self._lgb(M[t == 0], d0, classify=False)
        elif learner == "dr":
            rng = np.random.default_rng(self.random_state)
            folds = rng.permutation(len(t)) % int(self.n_folds)
            m0, m1 = np.empty(len(t)), np.empty(len(t))
            for k in range(int(self.n_folds)):
                out = folds == k
                f0, f1 = self._arm_models(M[~out], t[~out], y[~out])
                m0[out], m1[out] = f0.predict(M[out]), f1.predict(M[out])
            e = self.propensity_
            pseudo = m1 - m0 + t * (y - m1) / e - (1 - t) * (y - m0) / (1 - e)
            models["tau"] = self._lgb(M, pseudo, classify=False)
        return models

    @staticmethod
    def _arms(models: dict[str, Any], M: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Expected outcome without and with the offer."""
        if "s" in models:
            return models["s"].predict(M.assign(**{_ARM: 0.0})), models["s"].predict(
                M.assign(**{_ARM: 1.0})
            )
        return models["mu0"].predict(M), models["mu1"].predict(M)

    def _effect(self, learner: str, models: dict[str, Any], M: pd.DataFrame) -> np.ndarray:
        if learner in ("t", "s"):
            mu0, mu1 = self._arms(models, M)
            return np.asarray(mu1 - mu0, dtype="float64")
        if learner == "x":
            e = self.propensity_
            return e * models["tau0"].predict(M) + (1 - e) * models["tau1"].predict(M)
        return np.asarray(models["tau"].predict(M), dtype="float64")

    # ------------------------------------------------------------------ API
    def fit(self, X: Any, treatment: Any, y: Any) -> Self:
        """Learn the uplift from features ``X`` (a frame; text columns are categories), the
        0/1 ``treatment`` each unit got and its outcome ``y`` (0/1 or an amount)."""
        self._check_params()
        M = self._matrix(X, fitting=True)
        t, ya = self._targets(treatment, y, len(M))
        self.binary_outcome_ = bool(np.isin(ya, (0.0, 1.0)).all())
        share = float(t.mean()) if self.propensity is None else float(self.propensity)
        self.propensity_ = float(np.clip(share, _PROPENSITY_CLIP, 1 - _PROPENSITY_CLIP))
        learner = self.learner
        self.validation_: dict[str, float] = {}
        if learner == "auto":
            folds = np.random.default_rng(self.random_state).permutation(len(t)) % int(self.cv)
            for name in LEARNERS:
                scores = []
                for k in range(int(self.cv)):
                    val = folds == k
                    models = self._fit_learner(name, M[~val], t[~val], ya[~val])
                    scores.append(auuc(ya[val], t[val], self._effect(name, models, M[val])))
                self.validation_[name] = float(np.mean(scores))
            learner = max(self.validation_, key=lambda k: self.validation_[k])
        self.learner_ = learner
        self.boosters_ = self._fit_learner(learner, M, t, ya)
        self.n_features_in_ = M.shape[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Uplift per row of ``X``: expected outcome with the offer minus without."""
        check_fitted(self, ["boosters_"])
        return self._effect(self.learner_, self.boosters_, self._matrix(X))

    def predict_outcomes(self, X: Any) -> pd.DataFrame:
        """Expected outcome per row without (``outcome_control``) and with the offer
        (``outcome_treated``), from the arm models, and the learner's ``uplift``."""
        check_fitted(self, ["boosters_"])
        M = self._matrix(X)
        mu0, mu1 = self._arms(self.boosters_, M)
        return pd.DataFrame(
            {
                "outcome_control": mu0,
                "outcome_treated": mu1,
                "uplift": self._effect(self.learner_, self.boosters_, M),
            },
            index=M.index,
        )

    # ------------------------------------------------------------------ persistence
    def save_artifacts(self, path: Path) -> None:
        """Write ``uplift.json`` and one LightGBM text model per booster into ``path``."""
        check_fitted(self, ["boosters_"])
        path = Path(path)
        for name, booster in self.boosters_.items():
            booster.save_model(str(path / f"{name}.txt"))
        state = {
            "params": self.get_params(deep=False),
            "learner": self.learner_,
            "validation": self.validation_,
            "feature_names": self.feature_names_,
            "categories": self.categories_,
            "binary_outcome": self.binary_outcome_,
            "propensity": self.propensity_,
            "boosters": sorted(self.boosters_),
        }
        (path / "uplift.json").write_text(json.dumps(state, indent=2), encoding="utf-8")

    @classmethod
    def load_artifacts(cls, path: Path) -> UpliftModel:
        """Rebuild from :meth:`save_artifacts`."""
        import lightgbm as lgb

        from ecomml._state import read_model_json

        path = Path(path)
        state = read_model_json(path, "uplift.json")
        try:
            m = cls(**state["params"])
            m.learner_ = state["learner"]
            m.validation_ = dict(state["validation"])
            m.feature_names_ = list(state["feature_names"])
            m.categories_ = {k: list(v) for k, v in state["categories"].items()}
            m.binary_outcome_ = bool(state["binary_outcome"])
            m.propensity_ = float(state["propensity"])
            m.boosters_ = {n: lgb.Booster(model_file=str(path / f"{n}.txt"))
                           for n in state["boosters"]}  # fmt: skip
        except (KeyError, TypeError, lgb.basic.LightGBMError) as err:
            raise ModelLoadError(f"{path}: not a complete uplift model ({err})") from err
        m.n_features_in_ = len(m.feature_names_)
        return m


_FALSY = {"0", "0.0", "false", "no", "none", "control", "n"}


def encode_treatment(
    values: pd.Series, *, control: str | None = None, treated: str | None = None, source: str = ""
) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Which rows are in the comparison and which of them got the offer.

    ``values`` is the campaign's treatment column. ``control`` is the no-offer value (by
    default the one of two values that reads as "no": 0, false, no, control...);
    ``treated`` picks one arm when there are more than two (other arms' rows are left
    out). Returns ``(kept rows mask, 0/1 treatment of the kept rows, control, treated)``.
    """
    where = f"{source}: " if source else ""
    text = values.astype(str).where(values.notna())
    levels = sorted(text.dropna().unique().tolist())
    if values.isna().any():
        rows = np.flatnonzero(values.isna().to_numpy())[:5].tolist()
        raise DataQualityError(f"{where}treatment column {values.name!r} is empty in rows {rows}")
    if len(levels) < 2:
        raise DataQualityError(
            f"{where}treatment column {values.name!r} has one value ({levels[0]!r} in every "
            "row): uplift needs units with and without the offer"
            if levels
            else f"{where}treatment column {values.name!r} has no rows"
        )
    if control is None:
        falsy = [v for v in levels if v.strip().lower() in _FALSY]
        if len(levels) != 2 or len(falsy) != 1:
            raise ConfigError(
                f"{where}say which value of {values.name!r} is the control (no offer) with "
                f"--control; its values are {levels[:10]}"
            )
        control = falsy[0]
    control = str(control)
    if control not in levels:
        raise ConfigError(
            f"{where}--control {control!r} is not a value of {values.name!r}: {levels[:10]}"
        )
    arms = [v for v in levels if v != control]
    if treated is None:
        if len(arms) > 1:
            raise ConfigError(
                f"{where}{values.name!r} has {len(arms)} treated arms {arms[:10]}: pick one with "
                "--treated (the other arms' rows are left out)"
            )
        treated = arms[0]
    treated = str(treated)
    if treated not in arms:
        raise ConfigError(
            f"{where}--treated {treated!r} is not a treated value of {values.name!r}: {arms[:10]}"
        )
    keep = text.isin([control, treated]).to_numpy()
    return keep, (text[keep] == treated).to_numpy(dtype="float64"), control, treated
