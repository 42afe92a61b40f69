"""``auto`` mode: per demand pattern, the candidate method that backtests best."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ecomml._estimator import estimator
from ecomml._validation import check_fitted
from ecomml.exceptions import ConfigError
from ecomml.forecasting._base import BaseForecaster
from ecomml.forecasting.backtest import backtest
from ecomml.forecasting.baselines import get_baseline
from ecomml.forecasting.lgbm import LightGBMForecaster
from ecomml.forecasting.patterns import PATTERNS

__all__ = ["AutoForecaster", "make_forecaster"]


def reads_calendar(model: Any) -> bool:
    """Whether ``model.fit`` takes the promotion calendar (``calendar=``)."""
    from ecomml.forecasting.lgbm import LightGBMForecaster

    return isinstance(model, (LightGBMForecaster, AutoForecaster))


def make_forecaster(name: str, *, freq: str, horizon: int, **kw: Any) -> BaseForecaster:
    """A forecaster by name: ``lgbm``, ``auto`` or a baseline (naive, snaive, ma, ets,
    croston, sba, tsb)."""
    if name == "lgbm":
        return LightGBMForecaster(freq=freq, horizon=horizon, **kw)
    if name == "auto":
        return AutoForecaster(freq=freq, horizon=horizon, **kw)
    return get_baseline(name, freq=freq, horizon=horizon, **kw)


@estimator
class AutoForecaster(BaseForecaster):
    """Backtest every candidate on the training history (rolling origin, ``folds``
    folds) and forecast each SKU with the candidate that scored best on its demand
    pattern (lowest ``metric``, averaged over folds).

    Attributes
    ----------
    choice_ : dict
        Pattern -> chosen candidate.
    scores_ : DataFrame
        Backtest metric per candidate and pattern.
    """

    candidates: Sequence[str] = ("lgbm", "tsb", "sba", "ma", "snaive")
    folds: int = 2
    metric: str = "scaled_pinball"
    min_history: int = 4
    n_jobs: int = 2

    def _make(self, name: str) -> BaseForecaster:
        kw: dict[str, Any] = {"min_history": self.min_history}
        if name == "lgbm":
            kw["n_jobs"] = self.n_jobs
        return make_forecaster(name, freq=self.freq, horizon=self.horizon, **kw)

    def fit(self, df: pd.DataFrame, y: Any = None, **fit_params: Any) -> AutoForecaster:
        """Backtest the candidates, pick one per pattern, refit the chosen ones on ``df``."""
        if not self.candidates:
            raise ConfigError("AutoForecaster needs at least one candidate")
        self._check_params()
        rows = []
        for name in self.candidates:
            est = self._make(name)
            fp = fit_params if name == "lgbm" else {}
            res = backtest(est, df, folds=self.folds, fit_params=fp, by=("pattern",))
            s = res.summary()
            s = s.loc[s["group"] == "pattern", ["value", self.metric]]
            rows.append(s.assign(candidate=name))
        scores = pd.concat(rows, ignore_index=True).rename(columns={"value": "pattern"})
        self.scores_ = scores
        best = scores.dropna(subset=[self.metric]).sort_values(self.metric, kind="mergesort")
        best = best.drop_duplicates("pattern").set_index("pattern")["candidate"].to_dict()
        overall = (
            scores.groupby("candidate")[self.metric].mean().sort_values().index[0]
            if len(scores)
            else self.candidates[0]
        )
        self.choice_ = {p: best.get(p, overall) for p in (*PATTERNS, "new")}
        self.models_ = {}
        for name in sorted(set(self.choice_.values())):
            fp = fit_params if name == "lgbm" else {}
            self.models_[name] = self._make(name).fit(df, **fp)
        super().fit(df)
        return self

    def _fit(self, panel: Any) -> None:
        self.fitted_ = True

    def predict(self, df: pd.DataFrame, **kw: Any) -> pd.DataFrame:
        """Forecast every SKU with the model chosen for its pattern (``method`` column)."""
        check_fitted(self, ["models_", "choice_"])
        parts = []
        for name, model in self.models_.items():
            kk = dict(kw)
            if not isinstance(model, LightGBMForecaster):
                kk.pop("calendar", None)
            fc = model.predict(df, **kk)
            chosen = fc["pattern"].map(self.choice_).fillna(name) == name
            parts.append(fc.loc[chosen].assign(method=name))
        out = pd.concat(parts, ignore_index=True)
        return out.sort_values(["sku", "ds"], kind="mergesort").reset_index(drop=True)

    def _forecast(self, panel: Any, steps: np.ndarray, **kw: Any) -> Any:  # pragma: no cover
        raise NotImplementedError("AutoForecaster.predict dispatches to its chosen models")
