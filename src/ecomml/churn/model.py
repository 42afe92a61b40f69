"""``ChurnModel``: BG/NBD + Gamma-Gamma + the LightGBM classifier, trained and scored as one.

``fit(transactions, store, cutoff=)`` fits the probabilistic models on the history
before the cutoff and, when earlier cutoffs have complete label windows, stacks them
into one training set (``FeatureStore.training_frame`` plus BG/NBD outputs computed as
of each cutoff) for the classifier. ``score`` returns the marketing list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd

from ecomml._estimator import EcommlEstimator, estimator
from ecomml._validation import check_cutoff, check_fitted
from ecomml.churn.btyd import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, ParetoNBDModel
from ecomml.churn.classifier import ChurnClassifier
from ecomml.churn.labels import (
    churn_labels,
    history_features,
    label_cutoffs,
    purchase_days,
    repurchase_labels,
    rfm_summary,
)
from ecomml.churn.population import (
    POPULATION_COLUMNS,
    PopulationCuts,
    apply_population_cuts,
    population_cuts,
)
from ecomml.churn.tiers import SegmentRules, TierRules, lifecycle_segments
from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.features.store import store_from_shop
from ecomml.metrics.classification import classification_report

if TYPE_CHECKING:
    from ecomml.features.store import FeatureStore

__all__ = [
    "CUSTOMER_COLUMNS",
    "EXTRA_COLUMNS",
    "SCORED_COLUMNS",
    "ChurnModel",
    "btyd_features",
    "hash_ids",
]

SCORED_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "p_churn",
    "p_repurchase",
    "expected_purchases",
    "expected_value",
    "value_at_risk",
    "tier",
    "segment",
    "reasons",
    "action",
)
#: columns ``extra_columns=True`` (``ecomml predict churn --extra-columns``) adds after
#: :data:`SCORED_COLUMNS`
EXTRA_COLUMNS: tuple[str, ...] = (
    "p_alive",
    "r_score",
    "f_score",
    "m_score",
    "rfm_score",
    "recency_days",
    "frequency",
    "monetary",
)
#: what :meth:`ChurnModel.score_customers` returns: the scored columns that depend on one
#: customer's rows and the model only
CUSTOMER_COLUMNS: tuple[str, ...] = tuple(
    c for c in (*SCORED_COLUMNS, *EXTRA_COLUMNS) if c not in POPULATION_COLUMNS
)


def hash_ids(ids: Sequence[Any] | pd.Series, key: str) -> pd.Series:
    """Keyed (HMAC-SHA256) hashes of customer ids, 16 hex characters.

    The older form of :func:`ecomml.privacy.pseudonymize` (which the CLI uses): the same
    digest without the ``pid_`` prefix and without the minimum key length. The key must
    stay with the data team: anyone holding it can re-identify customers.
    """
    from ecomml.privacy import keyed_digests

    if not key:
        raise ConfigError("an empty key cannot hash ids")
    return keyed_digests(ids, key).astype(object)


#: the probabilistic models ``ChurnModel(btyd=...)`` can use, in the order ``auto`` tries them
_BTYD: dict[str, type[BetaGeoModel] | type[ParetoNBDModel]] = {
    "bgnbd": BetaGeoModel,
    "mbgnbd": ModifiedBetaGeoModel,
    "pareto": ParetoNBDModel,
}


def btyd_features(
    summary: pd.DataFrame,
    btyd: BetaGeoModel | ParetoNBDModel,
    gg: GammaGammaModel | None,
    *,
    horizon: int,
    repurchase_days: int = 30,
    discount_rate: float = 0.0,
) -> pd.DataFrame:
    """P(alive), expected purchases, P(any purchase), expected spend and discounted value
    in the next ``horizon`` days for every row of an :func:`rfm_summary` (in days)."""
    x, tx, t = summary["frequency"], summary["recency"], summary["T"]
    steps = max(1, int(np.ceil(horizon / 30)))
    grid = np.linspace(horizon / steps, horizon, steps)
    cum = [btyd.predict_purchases(g, x, tx, t) for g in grid]
    spend = (
        gg.predict_spend(x, summary["monetary_value"])
        if gg is not None
        else np.full(len(summary), np.nan)
    )
    inc = np.diff(np.vstack([np.zeros(len(summary)), *cum]), axis=0)
    disc = (1.0 + discount_rate) ** (-grid / 365.0)
    value = (inc * disc[:, None]).sum(axis=0) * np.nan_to_num(spend)
    return pd.DataFrame(
        {
            "customer_id": summary["customer_id"].to_numpy(),
            "btyd__p_alive": btyd.predict_alive(x, tx, t),
            "btyd__expected_purchases": cum[-1],
            "btyd__p_purchase": btyd.predict_any_purchase(horizon, x, tx, t),
            "btyd__p_repurchase": btyd.predict_any_purchase(repurchase_days, x, tx, t),
            "btyd__expected_spend": spend,
            "btyd__expected_value": value,
        }
    )


def _season(cutoffs: pd.Series) -> pd.DataFrame:
    doy = pd.to_datetime(cutoffs).dt.dayofyear.to_numpy() / 365.25
    return pd.DataFrame(
        {"season__sin": np.sin(2 * np.pi * doy), "season__cos": np.cos(2 * np.pi * doy)},
        index=cutoffs.index,
    )


@estimator
class ChurnModel(EcommlEstimator):
    """Churn, repurchase and customer value for every customer, as of a cutoff.

    Parameters
    ----------
    horizon : int
        Churn = no purchase in the next ``horizon`` days.
    btyd : {"auto", "bgnbd", "mbgnbd", "pareto"}
        The probabilistic model (BG/NBD, MBG/NBD or Pareto/NBD); ``auto`` picks the one
        with the lowest Brier score of P(any purchase) on the latest complete label window
        (MBG/NBD without one), and says which in ``btyd_kind_`` and ``btyd_scores_``.
    repurchase_days : int
        ``p_repurchase`` is P(a purchase within this many days): from a classifier trained
        on first-order customers (one purchase day) at the training cutoffs when there are
        enough of them, else (and for repeat customers) from BG/NBD.
    discount_rate : float
        Annual discount rate of ``expected_value``.
    step, max_cutoffs, min_history : int
        Training cutoffs: every ``step`` days back from ``cutoff - horizon``, at most
        ``max_cutoffs``, each with ``min_history`` days of data before it.
    season_features : bool
        Give the classifier the day of year of the cutoff (churn moves with the season).
    history_features : bool
        Add purchase-rhythm features (:func:`~ecomml.churn.labels.history_features`).
    min_first_orders : int
        Fewest first-order customer rows (over the training cutoffs) to train the
        repurchase classifier.
    classifier : dict
        Keyword arguments of :class:`ChurnClassifier`.
    tier_rules, segment_rules : rule objects; see :mod:`ecomml.churn.tiers`.
    """

    horizon: int = field(default=90, kw_only=False)  # the one positional parameter
    btyd: str = "auto"
    repurchase_days: int = 30
    discount_rate: float = 0.10
    step: int = 30
    max_cutoffs: int = 12
    min_history: int = 90
    season_features: bool = True
    history_features: bool = True
    min_first_orders: int = 200
    classifier: dict[str, Any] | None = None
    tier_rules: TierRules | None = None
    segment_rules: SegmentRules | None = None

    def _json_params(self) -> dict[str, Any]:
        """The JSON-able hyper-parameters ``churn.json`` stores (the rules go beside them)."""
        params = self.get_params(deep=False)
        del params["tier_rules"], params["segment_rules"]
        params["classifier"] = dict(self.classifier or {})
        return params

    # ------------------------------------------------------------------ helpers
    def _fit_btyd(
        self, days: pd.DataFrame, cutoff: pd.Timestamp, kind: str
    ) -> tuple[BetaGeoModel | ParetoNBDModel, GammaGammaModel | None, pd.DataFrame]:
        s = rfm_summary(days=days, cutoff=cutoff)
        model = _BTYD[kind]().fit(s["frequency"], s["recency"], s["T"])
        gg: GammaGammaModel | None
        try:
            gg = GammaGammaModel().fit(s["frequency"], s["monetary_value"])
        except DataQualityError:
            gg = None
        return model, gg, s

    def _views(self, store: FeatureStore, events: bool) -> list[str]:
        return ["customer_rfm", "customer_events"] if events else ["customer_rfm"]

    def _frame(
        self,
        store: FeatureStore,
        days: pd.DataFrame,
        labels: pd.DataFrame,
        views: list[str],
        btyd_kind: str,
        say: Callable[[str], None],
    ) -> pd.DataFrame:
        """Point-in-time features for label rows [customer_id, cutoff, ...]."""
        feats = store.training_frame(labels, views)
        parts = []
        for cut in sorted(labels["cutoff"].unique()):
            cut = pd.Timestamp(cut)
            say(f"BG/NBD as of {cut.date()}")
            model, gg, s = self._fit_btyd(days, cut, btyd_kind)
            bf = btyd_features(
                s, model, gg, horizon=self.horizon, repurchase_days=self.repurchase_days
            )
            if self.history_features:
                bf = bf.merge(history_features(days, cutoff=cut), on="customer_id", how="left")
            bf.insert(1, "cutoff", cut)
            parts.append(bf)
        bt = pd.concat(parts, ignore_index=True)
        feats["customer_id"] = feats["customer_id"].astype(str)
        out = feats.merge(bt, on=["customer_id", "cutoff"], how="left")
        if self.season_features:
            out = pd.concat([out, _season(out["cutoff"])], axis=1)
        return out

    @staticmethod
    def _xcols(frame: pd.DataFrame) -> pd.DataFrame:
        drop = [c for c in ("churn", "n_purchases", "spend", "btyd__expected_value") if c in frame]
        return frame.drop(columns=drop)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        transactions: pd.DataFrame,
        store: FeatureStore,
        *,
        cutoff: Any,
        events: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> Self:
        """Fit on the history before ``cutoff``; see the class docstring.

        ``store`` must hold the same transactions (and events when ``events=True``).
        """
        say = progress or (lambda msg: None)
        cut = check_cutoff(cutoff)
        if self.horizon <= 0:
            raise ConfigError(f"horizon must be a positive number of days, got {self.horizon}")
        if self.btyd != "auto" and self.btyd not in _BTYD:
            raise ConfigError(f"btyd must be auto, bgnbd, mbgnbd or pareto, got {self.btyd!r}")
        days = purchase_days(transactions)
        days = days.loc[days["day"] < cut]
        if days.empty:
            raise DataQualityError(
                f"no purchases before the cutoff {cut.date()}; choose a later cutoff"
            )
        last = pd.Timestamp(days["day"].max())
        if cut > last + pd.Timedelta(days=max(self.horizon, 365)):
            raise DataQualityError(
                f"the cutoff {cut.date()} is more than {max(self.horizon, 365)} days after the "
                f"last purchase ({last.date()}); every customer would look churned. Use a cutoff "
                "within the data."
            )
        if days["day"].nunique() < 2:
            raise DataQualityError(
                f"all purchases before {cut.date()} fall on one day ({last.date()}); BG/NBD needs "
                "purchases spread over time to tell buying rates apart"
            )
        views = self._views(store, events)
        cuts = label_cutoffs(
            days["day"].min(),
            cut,
            horizon=self.horizon,
            step=self.step,
            min_history=self.min_history,
            max_cutoffs=self.max_cutoffs,
        )
        self.training_cutoffs_ = [c.isoformat() for c in cuts]
        self.views_ = views
        self.validation_: dict[str, Any] = {}
        kind = "mbgnbd" if self.btyd == "auto" else self.btyd
        if cuts and self.btyd == "auto":
            say("choosing BG/NBD or MBG/NBD")
            v = cuts[-1]
            lab = churn_labels(days=days, cutoffs=[v], horizon=self.horizon, data_end=cut)
            scores = {}
            for cand in _BTYD:
                m, _gg, s = self._fit_btyd(days, v, cand)
                p = m.predict_any_purchase(self.horizon, s["frequency"], s["recency"], s["T"])
                yy = 1 - lab.set_index("customer_id").loc[s["customer_id"], "churn"].to_numpy()
                scores[cand] = float(np.mean((p - yy) ** 2))
            kind = min(scores, key=scores.__getitem__)
            self.btyd_scores_ = scores
        self.btyd_kind_ = kind
        say("fitting BG/NBD and Gamma-Gamma")
        self.btyd_model_, self.gg_model_, _ = self._fit_btyd(days, cut, kind)
        self.classifier_: ChurnClassifier | None = None
        self.repurchase_classifier_: ChurnClassifier | None = None
        self.churn_weight_ = 1.0
        self.repurchase_weight_ = 1.0
        self.note_ = ""
        if not cuts:
            self.note_ = (
                f"no earlier cutoff has a complete {self.horizon}-day label window before "
                f"{cut.date()} with {self.min_history} days of history: fitted the probabilistic "
                "models (BG/NBD, Gamma-Gamma) alone"
            )
            return self
        say(f"labels at {len(cuts)} cutoffs")
        labels = churn_labels(days=days, cutoffs=cuts, horizon=self.horizon, data_end=cut)
        frame = self._frame(store, days, labels, views, kind, say)
        y = frame["churn"].to_numpy()
        if len(frame) < 100 or y.min() == y.max():
            self.note_ = (
                f"too few labelled rows ({len(frame)}) or one class only at the training cutoffs: "
                "fitted the probabilistic models alone"
            )
            return self
        params = dict(self.classifier or {})
        if len(cuts) >= 2:
            say("temporal validation on the latest cutoff")
            last_cut = pd.Timestamp(cuts[-1])
            tr = frame["cutoff"] < last_cut
            if np.unique(y[tr]).size == 2:
                clf = ChurnClassifier(**params).fit(
                    self._xcols(frame.loc[tr]), y[tr], groups=frame.loc[tr, "customer_id"]
                )
                te = ~tr
                p = clf.predict_proba(self._xcols(frame.loc[te]))[:, 1]
                pb = 1 - frame.loc[te, "btyd__p_purchase"].to_numpy()
                pb = np.clip(pb, 0, 1)
                w = validated_weight(y[te], p, pb)
                self.churn_weight_ = w
                self.validation_ = {
                    "cutoff": last_cut.isoformat(),
                    "classifier": classification_report(y[te], p),
                    "btyd": classification_report(y[te], pb),
                    "weight": w,
                    "blend": classification_report(y[te], w * p + (1 - w) * pb),
                    "y": y[te].tolist(),
                    "p_classifier": p.tolist(),
                    "p_btyd": pb.tolist(),
                }
        say("fitting the churn classifier")
        self.classifier_ = ChurnClassifier(**params).fit(
            self._xcols(frame), y, groups=frame["customer_id"]
        )
        self.n_training_rows_ = int(len(frame))
        self._fit_repurchase(days, frame, cuts, cut, params, say)
        return self

    def _fit_repurchase(
        self,
        days: pd.DataFrame,
        frame: pd.DataFrame,
        cuts: list[pd.Timestamp],
        cut: pd.Timestamp,
        params: dict[str, Any],
        say: Callable[[str], None],
    ) -> None:
        """First-order customers are their own population: a classifier of "buys again
        within ``repurchase_days``" on the same features, when there are enough of them."""
        rd = self.repurchase_days
        ok = [c for c in cuts if c + pd.Timedelta(days=rd) <= cut]
        if not ok:
            return
        rep = repurchase_labels(days=days, cutoffs=ok, days_ahead=rd, data_end=cut)
        rf = frame.merge(
            rep[["customer_id", "cutoff", "repurchase"]], on=["customer_id", "cutoff"], how="inner"
        )
        yr = rf["repurchase"].to_numpy()
        if len(rf) < self.min_first_orders or yr.sum() < 10 or yr.sum() == len(yr):
            return
        X = self._xcols(rf.drop(columns="repurchase"))
        last = pd.Timestamp(ok[-1])
        tr = (rf["cutoff"] < last).to_numpy()
        if len(ok) >= 2 and np.unique(yr[tr]).size == 2 and np.unique(yr[~tr]).size == 2:
            say("validating the repurchase model")
            clf = ChurnClassifier(**params).fit(X.loc[tr], yr[tr], groups=rf.loc[tr, "customer_id"])
            p = clf.predict_proba(X.loc[~tr])[:, 1]
            pb = np.clip(rf.loc[~tr, "btyd__p_repurchase"].to_numpy("float64"), 0, 1)
            w = validated_weight(yr[~tr], p, pb)
            self.repurchase_weight_ = w
            self.validation_["repurchase"] = {
                "cutoff": last.isoformat(),
                "customers": int((~tr).sum()),
                "classifier": classification_report(yr[~tr], p),
                "btyd": classification_report(yr[~tr], pb),
                "weight": w,
                "blend": classification_report(yr[~tr], w * p + (1 - w) * pb),
            }
        say("fitting the repurchase model")
        self.repurchase_classifier_ = ChurnClassifier(**params).fit(X, yr, groups=rf["customer_id"])

    # ------------------------------------------------------------------ score
    def score(
        self,
        transactions: pd.DataFrame,
        store: FeatureStore,
        *,
        cutoff: Any,
    ) -> pd.DataFrame:
        """The scored list for customers with a purchase before ``cutoff``, sorted by
        ``value_at_risk`` (descending); columns :data:`SCORED_COLUMNS` then
        :data:`EXTRA_COLUMNS`.

        The two steps, :meth:`score_customers` then :meth:`score_population` with the
        cuts of the customers scored; a distributed scorer runs the first per partition
        and gives the second the cuts of all partitions.
        """
        return self.score_population(self.score_customers(transactions, store, cutoff=cutoff))

    def score_customers(
        self,
        transactions: pd.DataFrame,
        store: FeatureStore,
        *,
        cutoff: Any,
    ) -> pd.DataFrame:
        """What each customer's own history and the model give: :data:`CUSTOMER_COLUMNS`,
        one row per customer with a purchase before ``cutoff`` (no order)."""
        check_fitted(self, ["btyd_model_"])
        cut = check_cutoff(cutoff)
        days = purchase_days(transactions)
        days = days.loc[days["day"] < cut]
        if days.empty:
            raise DataQualityError(
                f"no purchases before the cutoff {cut.date()}; choose a later cutoff"
            )
        s = rfm_summary(days=days, cutoff=cut)
        bf = btyd_features(
            s,
            self.btyd_model_,
            self.gg_model_,
            horizon=self.horizon,
            repurchase_days=self.repurchase_days,
            discount_rate=self.discount_rate,
        )
        if self.history_features:
            bf = bf.merge(history_features(days, cutoff=cut), on="customer_id", how="left")
        keys = pd.DataFrame({"customer_id": s["customer_id"].astype(str)})
        feats = store.get_features(self.views_, cutoff=cut, keys=keys)
        feats["customer_id"] = feats["customer_id"].astype(str)
        frame = feats.merge(bf, on="customer_id", how="left")
        if self.season_features:
            frame = pd.concat([frame, _season(frame["cutoff"])], axis=1)
        if self.classifier_ is not None:
            X = self._xcols(frame)
            w = float(getattr(self, "churn_weight_", 1.0))
            p_churn = self.classifier_.predict_proba(X)[:, 1]
            if w < 1.0:  # validation preferred BG/NBD, or a blend with it
                p_btyd = np.clip(1.0 - frame["btyd__p_purchase"].to_numpy("float64"), 0, 1)
                p_churn = w * p_churn + (1.0 - w) * p_btyd
            reasons = self.classifier_.reasons(X, horizon=self.horizon)
        else:
            p_churn = 1.0 - frame["btyd__p_purchase"].to_numpy()
            reasons = [_btyd_reasons(r, self.horizon) for _, r in frame.iterrows()]
        p_rep = frame["btyd__p_repurchase"].to_numpy("float64").copy()
        n_days = s.set_index("customer_id").loc[frame["customer_id"], "frequency"].to_numpy() + 1
        first = n_days == 1
        if self.repurchase_classifier_ is not None and first.any():
            Xf = self._xcols(frame.loc[first])
            wr = float(getattr(self, "repurchase_weight_", 1.0))
            pc = self.repurchase_classifier_.predict_proba(Xf)[:, 1]
            p_rep[first] = wr * pc + (1.0 - wr) * np.clip(p_rep[first], 0, 1)
        recency = frame["customer_rfm__recency_days"].to_numpy("float64")
        seg = lifecycle_segments(
            recency,
            n_days,
            frame["customer_rfm__tenure_days"].to_numpy("float64"),
            p_churn=p_churn,
            rules=self.segment_rules,
        )
        ev = frame["btyd__expected_value"].to_numpy("float64")
        out = pd.DataFrame(
            {
                "customer_id": frame["customer_id"].to_numpy(),
                "p_churn": p_churn,
                "p_repurchase": p_rep,
                "expected_purchases": frame["btyd__expected_purchases"].to_numpy("float64"),
                "expected_value": ev,
                "value_at_risk": p_churn * ev,
                "segment": seg,
                "reasons": reasons,
                "p_alive": frame["btyd__p_alive"].to_numpy("float64"),
                "recency_days": recency,
                "frequency": frame["customer_rfm__frequency"].to_numpy("float64"),
                "monetary": frame["customer_rfm__monetary"].to_numpy("float64"),
            }
        )
        return out[list(CUSTOMER_COLUMNS)]

    def score_population(
        self, customers: pd.DataFrame, cuts: PopulationCuts | None = None
    ) -> pd.DataFrame:
        """The scored list from :meth:`score_customers` rows: the RFM scores, tier and
        action from ``cuts`` (default: the cuts of ``customers`` themselves), sorted by
        ``value_at_risk`` (descending) then ``customer_id``."""
        cuts = population_cuts(customers) if cuts is None else cuts
        out = apply_population_cuts(customers, cuts, tier_rules=self.tier_rules)
        out = out[[*SCORED_COLUMNS, *EXTRA_COLUMNS]].sort_values(
            ["value_at_risk", "customer_id"], ascending=[False, True], kind="mergesort"
        )
        return out.reset_index(drop=True)

    def describe(self) -> dict[str, Any]:
        """What was fitted, for model metadata and run summaries (JSON-able)."""
        check_fitted(self, ["btyd_model_"])
        return {
            "btyd": self.btyd_kind_,
            "btyd_params": self.btyd_model_.params_,
            "training_cutoffs": self.training_cutoffs_,
            "classifier": self.classifier_ is not None,
            "churn_weight": float(getattr(self, "churn_weight_", 1.0)),
            "repurchase_weight": float(getattr(self, "repurchase_weight_", 1.0)),
            "note": self.note_,
        }

    def pyfunc_predict(
        self, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """MLflow serving: ``model_input`` is canonical transactions (``order_id,
        customer_id, sku, ts, quantity, price``, and ``category`` when the shop's lines carry
        it, as the features count categories) and, for a model trained with an events
        log, the customers' events as rows of the same frame with an ``event`` column
        (``customer_id, sku, ts, event``; view, cart or purchase; the transaction rows leave
        it empty). ``params["cutoff"]`` is the as-of date (default: the day after the last
        transaction). Returns the scored list."""
        from ecomml.data import clean_transactions, validate_table
        from ecomml.data.shop import ShopData, default_cutoff

        frame = model_input
        events = None
        if "event" in frame.columns:
            is_event = frame["event"].notna() & (frame["event"].astype(str).str.strip() != "")
            events = frame.loc[is_event, ["customer_id", "sku", "ts", "event"]]
            frame = frame.loc[~is_event].drop(columns="event")
        if "customer_events" in getattr(self, "views_", []) and (events is None or events.empty):
            raise ConfigError(
                "this churn model was trained with an events log: add the customers' events to "
                "the request as rows with customer_id, sku, ts and an event column (view, cart "
                "or purchase), or score it with `ecomml predict churn --events ...`"
            )
        tx = validate_table(frame.reset_index(drop=True), "transactions")
        cut = check_cutoff((params or {}).get("cutoff") or default_cutoff(tx))
        # cleaned as `ecomml predict churn` cleans what it reads (after the cutoff cut, so no
        # rule sees the future)
        tx, _ = clean_transactions(tx.loc[tx["ts"] < cut].reset_index(drop=True))
        ev = None
        if events is not None and not events.empty:
            ev = validate_table(events.reset_index(drop=True), "events")
            ev = ev.loc[ev["ts"] < cut].reset_index(drop=True)
        store = store_from_shop(ShopData(transactions=tx, events=ev))
        return self.score(tx, store, cutoff=cut)[list(SCORED_COLUMNS)]

    # ------------------------------------------------------------------ persistence
    def save_artifacts(self, path: Path) -> None:
        """``churn.json`` (parameters, BG/NBD and Gamma-Gamma state) plus the classifier's
        LightGBM text model, when there is one."""
        check_fitted(self, ["btyd_model_"])
        path = Path(path)
        state = {
            "params": self._json_params(),
            "tier_rules": None if self.tier_rules is None else vars(self.tier_rules),
            "segment_rules": None if self.segment_rules is None else vars(self.segment_rules),
            "btyd_kind": self.btyd_kind_,
            "btyd": self.btyd_model_.to_dict(),
            "gamma_gamma": None if self.gg_model_ is None else self.gg_model_.to_dict(),
            "views": self.views_,
            "training_cutoffs": self.training_cutoffs_,
            "note": self.note_,
            "has_classifier": self.classifier_ is not None,
            "has_repurchase_classifier": self.repurchase_classifier_ is not None,
            "churn_weight": float(getattr(self, "churn_weight_", 1.0)),
            "repurchase_weight": float(getattr(self, "repurchase_weight_", 1.0)),
        }
        (path / "churn.json").write_text(json.dumps(state, indent=2, default=str))
        if self.classifier_ is not None:
            self.classifier_.save_artifacts(path)
        if self.repurchase_classifier_ is not None:
            (path / "repurchase").mkdir()
            self.repurchase_classifier_.save_artifacts(path / "repurchase")

    @classmethod
    def load_artifacts(cls, path: Path) -> ChurnModel:
        """Rebuild from :meth:`save_artifacts`."""
        path = Path(path)
        state = json.loads((path / "churn.json").read_text())
        m = cls(
            **state["params"],
            tier_rules=TierRules(**state["tier_rules"]) if state.get("tier_rules") else None,
            segment_rules=SegmentRules(**state["segment_rules"])
            if state.get("segment_rules")
            else None,
        )
        m.btyd_kind_ = state["btyd_kind"]
        m.btyd_model_ = BetaGeoModel.from_dict(state["btyd"])
        m.gg_model_ = (
            GammaGammaModel.from_dict(state["gamma_gamma"]) if state["gamma_gamma"] else None
        )
        m.views_ = list(state["views"])
        m.training_cutoffs_ = list(state["training_cutoffs"])
        m.note_ = state["note"]
        m.churn_weight_ = float(state.get("churn_weight", 1.0))  # folders saved before: 1
        m.repurchase_weight_ = float(state.get("repurchase_weight", 1.0))
        m.validation_ = {}
        m.classifier_ = ChurnClassifier.load_artifacts(path) if state["has_classifier"] else None
        m.repurchase_classifier_ = (
            ChurnClassifier.load_artifacts(path / "repurchase")
            if state.get("has_repurchase_classifier")
            else None
        )
        return m


#: the classifier's weight in the blend with BG/NBD is chosen from these on validation
BLEND_WEIGHTS = np.linspace(0.0, 1.0, 11)


def validated_weight(y: Any, p_classifier: Any, p_btyd: Any) -> float:
    """The weight ``w`` of ``w * classifier + (1 - w) * BG/NBD`` with the lowest Brier score
    on a validation window (the larger weight on a tie): the model is never worse there than
    either of its parts."""
    y_, pc, pb = (np.asarray(a, dtype="float64") for a in (y, p_classifier, p_btyd))
    briers = [float(np.mean((w * pc + (1 - w) * pb - y_) ** 2)) for w in BLEND_WEIGHTS]
    best = min(briers)
    return float(max(w for w, b in zip(BLEND_WEIGHTS, briers, strict=True) if b <= best + 1e-12))


def _btyd_reasons(row: pd.Series, horizon: int) -> str:
    parts = []
    rec = row.get("customer_rfm__recency_days")
    if rec is not None and np.isfinite(rec):
        parts.append(f"no purchase for {rec:.0f} days")
    pa = row.get("btyd__p_alive")
    if pa is not None and np.isfinite(pa) and pa < 0.9:
        parts.append(f"buying pattern says {100 * (1 - pa):.0f}% chance they have already left")
    ep = row.get("btyd__expected_purchases")
    if ep is not None and np.isfinite(ep):
        parts.append(f"expected to buy {ep:.1f} times in the next {horizon} days")
    return "; ".join(parts[:3])
