"""The full recommender: candidate generators -> LightGBM LambdaRank re-ranker -> business rules.

The re-ranker is trained on an earlier cutoff than the model is used at: generators are
fitted on history before ``cutoff - horizon_days``, their candidates labelled with what
each customer bought in ``[cutoff - horizon_days, cutoff)``, and features taken as of
``cutoff - horizon_days``. The generators are then refitted on all history before the
cutoff, and the ranker scores their candidates with features as of the cutoff.

Never worse than its own parts (issue 17): a shop with little history gets a shorter
label window (:func:`~ecomml.recommend._fallback.ranker_horizon`), and with
``fallback="auto"`` the fit validates the ranker against the buy-again + popularity blend
on the last window of the training history; when the ranker loses (or cannot be trained)
the model serves the blend, and says so in ``choice_``, ``validation_`` and
``choice_reason_``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd

from ecomml._estimator import LightGBMParams, estimator
from ecomml._state import read_model_json
from ecomml._validation import (
    check_cutoff,
    check_fitted,
    check_n_jobs,
    check_random_state,
    day_after_last,
)
from ecomml.exceptions import ConfigError, DataQualityError, FeatureMismatchError
from ecomml.recommend._base import COLD_START, BaseRecommender, customers_from
from ecomml.recommend._fallback import (
    BLEND,
    FALLBACKS,
    RANKER,
    choice_message,
    choose,
    ranker_horizon,
)
from ecomml.recommend.als import ALSRecommender
from ecomml.recommend.candidates import (
    BuyAgainRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
)
from ecomml.recommend.history import customer_slices, history_tables
from ecomml.recommend.interactions import check_interactions
from ecomml.recommend.new_items import NewItemsRecommender
from ecomml.recommend.ranking import (
    candidate_union,
    catalog_maps,
    feature_matrix,
    generator_states,
    key_index,
    ranker_features,
    sku_union,
)
from ecomml.recommend.rules import apply_business_rules, available_skus, reserve_slots

if TYPE_CHECKING:
    from ecomml.features.store import FeatureStore

__all__ = ["GENERATORS", "STORE_VIEWS", "RecommenderPipeline", "history_tables", "make_generator"]

GENERATORS = (
    "buy-again", "popular", "recent-popular", "item-bm25", "item-cosine", "ease", "als", "new-items",
)  # fmt: skip
STORE_VIEWS = ("customer_rfm", "sku_demand", "customer_sku")


def make_generator(name: str, random_state: int | None = 0) -> BaseRecommender:
    """A candidate generator by name (one of :data:`GENERATORS`)."""
    gens: dict[str, BaseRecommender] = {
        "buy-again": BuyAgainRecommender(fill_popular=False),
        "popular": PopularityRecommender(),
        "recent-popular": PopularityRecommender(window_days=30),
        "item-bm25": ItemKNNRecommender(similarity="bm25"),
        "item-cosine": ItemKNNRecommender(similarity="cosine"),
        "ease": EASERecommender(),
        "als": ALSRecommender(random_state=random_state, binary=True),
        "new-items": NewItemsRecommender(),
    }
    if name not in gens:
        raise ConfigError(f"unknown candidate generator {name!r}; choose from {GENERATORS}")
    gen = gens[name]
    gen.source_name = name
    return gen


@estimator
class RecommenderPipeline(BaseRecommender, LightGBMParams):
    """Candidate generators, a LightGBM LambdaRank re-ranker and business rules.

    Parameters
    ----------
    generators : names of the candidate generators (see :data:`GENERATORS`).
    n_candidates : candidates taken from each generator per customer.
    horizon_days : length of the label window the ranker learns from.
    max_train_customers : customers sampled for the ranker's training lists.
    n_estimators, learning_rate, num_leaves, min_child_samples : LightGBM settings.
    n_jobs : LightGBM threads for training and scoring; None (default) uses every core
        (``OMP_NUM_THREADS`` caps it), -1 likewise, 1 a single thread. On a machine busy
        with other jobs, OpenMP threads waiting for a core can make LambdaRank several
        times slower: set 1 there.
    random_state : seed of sampling, ALS and LightGBM.
    new_items_ranker : also train a ranker for ``exclude_seen=True`` lists, on fresh
        candidates labelled with first-time purchases.
    fallback : ``"auto"``: hold out the last label window of the training history, score
        the pipeline and the buy-again + popularity blend on it (NDCG@20) and serve the
        blend where the ranker does not beat it, or when the history is too short to
        train or validate a ranker; ``"never"``: always serve the ranker (a history too
        short for any label window raises :class:`DataQualityError`). Either way the
        label window shrinks to fit the history (see ``horizon_`` after fit).
    refit_ranker : with ``fallback="auto"``, train the served rankers again on the latest
        label window (True) or serve the rankers the validation just trained and scored,
        one label window earlier (False: two LambdaRank fits fewer).

    Attributes
    ----------
    choice_ : ``"ranker"`` or ``"blend"``, what serves lists with re-orders.
    choice_new_ : the same for ``exclude_seen=True`` lists.
    choice_reason_ : the decision in words (shown by ``ecomml train recommend``).
    validation_ : validation NDCG@20 of both (``ranker_ndcg@20``, ``blend_ndcg@20``,
        ``ranker_new_ndcg@20``, ``blend_new_ndcg@20``), the validation cutoff and window.
    horizon_ : the label window the ranker learnt from (None when no ranker was trained).
    """

    source_name = "ranker"

    generators: tuple[str, ...] = ("buy-again", "recent-popular", "item-bm25", "ease")
    n_candidates: int = 50
    horizon_days: int = 91
    max_train_customers: int = 5000
    num_leaves: int = 31
    n_jobs: int | None = None
    random_state: int | None = 0
    new_items_ranker: bool = True
    fallback: str = "auto"
    refit_ranker: bool = True

    # BaseRecommender's matrix hooks are not used: the pipeline delegates to its generators.
    def _fit(self, codes: Any) -> None:  # pragma: no cover - not called
        raise NotImplementedError

    def _score(self, state: Any, rows: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers
    def _fit_generators(
        self, df: pd.DataFrame, cutoff: pd.Timestamp, catalog: pd.DataFrame | None = None
    ) -> dict[str, BaseRecommender]:
        return {name: self._fit_generator(name, df, cutoff, catalog) for name in self.generators}

    def _fit_generator(
        self, name: str, df: pd.DataFrame, cutoff: pd.Timestamp, catalog: pd.DataFrame | None
    ) -> BaseRecommender:
        gen = make_generator(name, random_state=self.random_state)
        if isinstance(gen, NewItemsRecommender):  # SKUs' attributes come from the catalog
            return gen.fit(df, cutoff=cutoff, catalog=catalog)
        return gen.fit(df, cutoff=cutoff)

    def _train_ranker(self, x: pd.DataFrame, groups: np.ndarray) -> Any:
        import lightgbm as lgb

        return lgb.LGBMRanker(
            objective="lambdarank",
            n_estimators=self.n_estimators,
            **self._tree_params(),
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            lambdarank_truncation_level=30,
            n_jobs=check_n_jobs(self.n_jobs),
            random_state=self.random_state,
            verbose=-1,
        ).fit(feature_matrix(x, self.feature_names_), x["_y"].to_numpy(), group=groups)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        interactions: pd.DataFrame,
        *,
        cutoff: Any = None,
        store: FeatureStore | None = None,
        catalog: pd.DataFrame | None = None,
    ) -> Self:
        """Fit generators and the ranker on ``interactions`` before ``cutoff``.

        ``store`` (a :class:`~ecomml.features.FeatureStore` over the same shop) adds the
        ``customer_rfm``, ``sku_demand`` and ``customer_sku`` views as ranker features;
        ``catalog`` adds price and category. With ``fallback="auto"`` the ranker is first
        validated against the buy-again + popularity blend (see the class docstring).
        """
        if self.fallback not in FALLBACKS:
            raise ConfigError(f"fallback must be one of {FALLBACKS}, got {self.fallback!r}")
        check_n_jobs(self.n_jobs)
        df = check_interactions(interactions)
        if "ts" not in df.columns:
            raise DataQualityError("RecommenderPipeline needs a 'ts' column in the interactions")
        cut = check_cutoff(cutoff) if cutoff is not None else day_after_last(df["ts"])
        df = df.loc[df["ts"] < cut]
        if df.empty:
            raise DataQualityError(f"no interactions before the cutoff {cut.date()}")
        span = (cut - df["ts"].min()) / pd.Timedelta(days=1)
        horizon = ranker_horizon(span, int(self.horizon_days))
        auto = self.fallback == "auto"
        if horizon is None and not auto:
            raise DataQualityError(
                f"{span:.0f} days of history (data {df['ts'].min().date()}..{df['ts'].max().date()}) "
                f"leave no label window for the ranker: it needs about 3x the label window "
                f"(horizon_days={self.horizon_days}) of history; use more history or "
                'fallback="auto" (serves the buy-again + popularity blend)'
            )
        category, price = catalog_maps(df, catalog)
        validation: dict[str, Any] = {}
        shared: dict[str, BaseRecommender] | None = None
        inner: RecommenderPipeline | None = None
        choice = choice_new = RANKER
        reason = ""
        if horizon is None:
            choice = choice_new = BLEND
            reason = (
                f"{span:.0f} days of history are too short for the ranker (horizon_days="
                f"{self.horizon_days}): the model uses the buy-again + popularity blend"
            )
        elif auto:
            validation, inner = self._validate_ranker(df, cut, horizon, store, catalog)
            if inner is not None:  # fitted on the history before cut - horizon, the
                # ranker's label cutoff: its generators are the ranker's own
                shared = inner.generators_
            if "skipped" in validation:
                choice = choice_new = BLEND
                reason = (
                    f"the ranker could not be validated ({validation['skipped']}): the model "
                    "uses the buy-again + popularity blend"
                )
            else:
                choice = choose(validation["ranker_ndcg@20"], validation["blend_ndcg@20"])
                choice_new = choose(
                    validation["ranker_new_ndcg@20"], validation["blend_new_ndcg@20"]
                )
        self.ranker_: Any = None
        self.ranker_new_: Any = None
        self.feature_names_: list[str] = []
        self.train_stats_: dict[str, Any] = {}
        self.horizon_: int | None = None
        if RANKER in (choice, choice_new) and inner is not None and not self.refit_ranker:
            self._reuse_ranker(inner)
        elif RANKER in (choice, choice_new):
            try:
                self._fit_ranker(
                    df,
                    cut,
                    horizon,
                    store,
                    category,
                    price,
                    shared,
                    catalog=catalog,  # type: ignore[arg-type]
                )
            except DataQualityError as err:
                if not auto:
                    raise
                choice = choice_new = BLEND
                reason = f"the ranker could not be trained ({err}): the model uses the blend"
        if not reason:
            reason = choice_message(choice, validation, new_items=False)
            if choice_new != choice:
                reason += "; " + choice_message(choice_new, validation, new_items=True)
        if horizon is not None and horizon < int(self.horizon_days):
            reason = (
                f"label window {horizon} days (horizon_days={self.horizon_days} shrunk to fit "
                f"{span:.0f} days of history); {reason}"
            )
        self.choice_, self.choice_new_ = choice, choice_new
        self.choice_reason_ = reason
        self.validation_ = validation
        # refit the generators on all history before the cutoff
        self.generators_ = self._fit_generators(df, cut, catalog)
        self.blend_: BaseRecommender | None = BuyAgainRecommender().fit(df, cutoff=cut)
        self.tables_ = history_tables(df, cut, category)
        self.category_ = category
        self.price_ = price
        self.uses_store_ = store is not None and self.ranker_ is not None
        base = self.generators_[self.generators[0]]
        self.cutoff_ = cut
        who, _ = key_index([g.customer_index_ for g in self.generators_.values()])
        self.customer_index_ = pd.Index(who.to_numpy())
        self.sku_index_ = base.sku_index_
        self.popular_ = PopularityRecommender(window_days=90).fit(df, cutoff=cut)
        self.new_items_ = self.generators_.get("new-items")
        if self.new_items_ is None:
            self.new_items_ = NewItemsRecommender().fit(df, cutoff=cut, catalog=catalog)
        self.state_ = {"weight": base.state_["weight"]}
        return self

    def _reuse_ranker(self, inner: RecommenderPipeline) -> None:
        """Serve the rankers of ``inner``, the pipeline the validation fitted and scored
        (trained one label window before the latest)."""
        self.ranker_, self.ranker_new_ = inner.ranker_, inner.ranker_new_
        self.feature_names_ = list(inner.feature_names_)
        self.horizon_ = inner.horizon_
        self.train_stats_ = {**inner.train_stats_, "reused_validation_ranker": True}

    def _validate_ranker(
        self,
        df: pd.DataFrame,
        cut: pd.Timestamp,
        horizon: int,
        store: FeatureStore | None,
        catalog: pd.DataFrame | None,
    ) -> tuple[dict[str, Any], RecommenderPipeline | None]:
        """NDCG@20 of the ranker and of the blend on ``[cut - horizon, cut)``, both fitted
        on the history before it (``{"skipped": why}`` when that is impossible), and that
        fitted pipeline."""
        from sklearn.base import clone

        from ecomml.recommend.evaluate import evaluate_recommendations, temporal_split

        vcut = cut - pd.Timedelta(days=horizon)
        out: dict[str, Any] = {"cutoff": vcut.isoformat(), "days": int(horizon)}
        before = (vcut - df["ts"].min()) / pd.Timedelta(days=1)
        if ranker_horizon(before, horizon) is None:
            return {
                **out,
                "skipped": f"{max(before, 0):.0f} days of history before the validation window "
                f"[{vcut.date()}, {cut.date()}) are too short to train a ranker",
            }, None
        try:
            train, test = temporal_split(df, cutoff=vcut, end=cut)
            inner = clone(self).set_params(fallback="never", horizon_days=horizon)
            inner.fit(train, cutoff=vcut, store=store, catalog=catalog)
        except DataQualityError as err:
            return {**out, "skipped": str(err)}, None
        cust = np.sort(test["customer_id"].unique())
        if len(cust) > self.max_train_customers:
            rng = check_random_state(self.random_state)
            cust = np.sort(rng.choice(cust, self.max_train_customers, replace=False))
            test = test.loc[test["customer_id"].isin(set(cust))]
        out["customers"] = int(len(cust))
        out["label_days"] = inner.horizon_
        for who in (RANKER, BLEND):
            inner.choice_ = inner.choice_new_ = who
            for new in (False, True):
                recs = inner.recommend(cust, 20, exclude_seen=new, store=store)
                met = evaluate_recommendations(
                    recs, test, train, ks=(20,), map_k=None, new_only=new
                )
                out[f"{who}_{'new_' if new else ''}ndcg@20"] = float(met["ndcg@20"])
        return out, inner

    def _fit_ranker(
        self,
        df: pd.DataFrame,
        cut: pd.Timestamp,
        horizon: int,
        store: FeatureStore | None,
        category: pd.Series | None,
        price: pd.Series | None,
        shared: dict[str, BaseRecommender] | None = None,
        *,
        catalog: pd.DataFrame | None = None,
    ) -> None:
        """Train ``ranker_`` (and ``ranker_new_``) on the label window ``[cut - horizon, cut)``;
        ``shared`` are the generators already fitted on the history before its start."""
        t0 = cut - pd.Timedelta(days=int(horizon))
        hist0 = df.loc[df["ts"] < t0]
        label = df.loc[(df["ts"] >= t0) & (df["event"] == "purchase"), ["customer_id", "sku"]]
        label = label.drop_duplicates()
        if hist0.empty or label.empty:
            raise DataQualityError(
                f"the ranker learns from purchases in [{t0.date()}, {cut.date()}) by customers "
                f"with history before {t0.date()}, and there are none "
                f"(data {df['ts'].min().date()}..{df['ts'].max().date()}); use more history or "
                "a shorter horizon_days"
            )
        rng = check_random_state(self.random_state)
        train_cust = np.intersect1d(label["customer_id"].unique(), hist0["customer_id"].unique())
        if len(train_cust) == 0:
            raise DataQualityError(
                f"no customer bought in [{t0.date()}, {cut.date()}) and before {t0.date()}; the "
                "ranker has nothing to learn from. Use more history or a longer horizon_days"
            )
        if len(train_cust) > self.max_train_customers:
            train_cust = np.sort(rng.choice(train_cust, self.max_train_customers, replace=False))
        gens0 = shared if shared is not None else self._fit_generators(hist0, t0, catalog)
        cand = candidate_union(gens0, train_cust, self.n_candidates)
        tables0 = history_tables(hist0, t0, category)
        x = ranker_features(cand, tables0, t0, store, price, category)
        y = x.merge(label.assign(_y=1), on=["customer_id", "sku"], how="left")["_y"].fillna(0)
        x["_y"] = y.to_numpy()
        pos = x.groupby("customer_id")["_y"].transform("sum")
        x = x.loc[pos > 0].sort_values("customer_id", kind="stable")
        if x.empty:
            raise DataQualityError(
                f"no candidate of any customer was bought in [{t0.date()}, {cut.date()}); the "
                "ranker has nothing to learn from. Use more history or more n_candidates"
            )
        self.feature_names_ = [
            c
            for c in x.columns
            if c not in ("customer_id", "sku", "_source", "_y")
            and pd.api.types.is_numeric_dtype(x[c])
        ]
        groups = x.groupby("customer_id", sort=False).size().to_numpy()
        self.ranker_ = self._train_ranker(x, groups)
        # a second ranker for lists without already-bought SKUs: fresh candidates only,
        # labelled with the SKUs each customer bought for the first time
        n_new = 0
        if self.new_items_ranker:
            cand_n = candidate_union(gens0, train_cust, self.n_candidates, exclude_seen=True)
            if not cand_n.empty:
                xn = ranker_features(cand_n, tables0, t0, store, price, category)
                seen0 = tables0["pair"][["customer_id", "sku"]].assign(_seen=1)
                fresh = label.merge(seen0, on=["customer_id", "sku"], how="left")
                fresh = fresh.loc[fresh["_seen"].isna(), ["customer_id", "sku"]]
                yn = xn.merge(fresh.assign(_y=1), on=["customer_id", "sku"], how="left")["_y"]
                xn["_y"] = yn.fillna(0).to_numpy()
                posn = xn.groupby("customer_id")["_y"].transform("sum")
                xn = xn.loc[posn > 0].sort_values("customer_id", kind="stable")
                if len(xn):
                    gn = xn.groupby("customer_id", sort=False).size().to_numpy()
                    self.ranker_new_ = self._train_ranker(xn, gn)
                    n_new = int(len(gn))
        self.horizon_ = int(horizon)
        self.train_stats_ = {
            "label_cutoff": t0.isoformat(),
            "horizon_days": int(horizon),
            "train_customers": int(len(groups)),
            "train_rows": int(len(x)),
            "new_items_train_customers": n_new,
            "candidate_recall": float(
                x["_y"].sum() / max(len(label.loc[label["customer_id"].isin(train_cust)]), 1)
            ),
        }

    # ------------------------------------------------------------------ recommend
    def recommend(  # type: ignore[override]  # no history_state; store, catalog, rules added
        self,
        customers: Any = None,
        k: int = 10,
        *,
        exclude_seen: bool = False,
        history: pd.DataFrame | None = None,
        cutoff: Any = None,
        store: FeatureStore | None = None,
        catalog: pd.DataFrame | None = None,
        max_per_category: int | None = None,
        boost: pd.Series | None = None,
        batch_size: int = 10000,
        sku_stats: pd.DataFrame | None = None,
        sku_category: pd.Series | None = None,
        new_items: int = 0,
    ) -> pd.DataFrame:
        """Ranked lists ``customer_id, sku, rank, score, source`` after business rules.

        Parameters
        ----------
        customers : ids or a frame with ``customer_id``; None = every known customer.
        k : list length.
        exclude_seen : drop SKUs the customer already bought; the generators then propose
            only SKUs the customer has not interacted with (bought, viewed or carted).
        history : newer interactions to recommend from (predict time); the model's own
            history by default. ``cutoff`` is its as-of time.
        store : the feature store, required when the model was trained with one.
        catalog : ``sku[, category, price, active, stock]``: inactive or out-of-stock SKUs
            are never recommended.
        max_per_category : cap of SKUs per category in one list.
        boost : ``sku -> number`` added to the ranker score (positive boosts, negative
            buries).
        batch_size : customers ranked per block.
        sku_stats : with ``history``, the SKU table of :func:`history_tables` computed over
            the whole population, used instead of the one from ``history`` (a Spark
            partition holds some customers only, but SKU popularity is everyone's).
        sku_category : with ``history``, the ``sku -> category`` map of the whole shop,
            used instead of the one from ``history``.
        new_items : the last ``new_items`` places of each list go to new SKUs (first seen
            in the last 30 days or launched by the catalog's ``launched_at``), chosen by
            :class:`~ecomml.recommend.NewItemsRecommender` for the customer (``source``
            ``"new-items"``): SKUs without sales the ranker cannot learn to place yet.
        """
        check_fitted(self, ["generators_"])
        slots = self._check_slots(new_items, k)
        use_blend = (self.choice_new_ if exclude_seen else self.choice_) == BLEND
        use_blend = use_blend and self.blend_ is not None
        if self.uses_store_ and store is None and not use_blend:
            raise FeatureMismatchError(
                "this model was trained with feature-store features; pass store= (a FeatureStore "
                "over the same shop)"
            )
        asked = None if customers is None else customers_from(customers)
        if history is not None:
            hist = check_interactions(history, name="history")
            cut = check_cutoff(cutoff) if cutoff is not None else day_after_last(hist["ts"])
            hist = hist.loc[hist["ts"] < cut]
            if sku_category is not None:
                category, price = sku_category, catalog_maps(hist.iloc[:0], catalog)[1]
            else:
                category, price = catalog_maps(hist, catalog)
            category = category if category is not None else self.category_
            price = price if price is not None else self.price_
            want = None
            full_hist = hist
            if asked is not None:  # per-customer work for the customers asked only
                want = pd.Index(asked.unique())
            tables = history_tables(hist, cut, category, customers=want)
            if sku_stats is not None:
                tables["sku"] = sku_stats
            if want is not None:
                full_hist = hist  # new SKUs' age and interest are everyone's
                hist = hist.loc[hist["customer_id"].isin(want)]
            known_ids = pd.Index(hist["customer_id"].unique())
        else:
            hist, cut, tables = None, self.cutoff_, self.tables_
            full_hist = None
            category, price = self.category_, self.price_
            if catalog is not None:
                c2, p2 = catalog_maps(pd.DataFrame(columns=["sku"]), catalog)
                category = c2 if c2 is not None else category
                price = p2 if p2 is not None else price
            known_ids = self.customer_index_
        allowed = available_skus(catalog) if catalog is not None else None
        states = None
        gens: dict[str, BaseRecommender] = self.generators_
        if use_blend:
            gens = {BLEND: self.blend_}  # type: ignore[dict-item]
        if hist is not None:
            states = {}
            for name, gen in gens.items():
                index, state, _ = gen.history_state(hist, cutoff=cut)
                states[name] = (index, state)
        ids = pd.Series(known_ids.to_numpy()) if asked is None else asked
        known = ids.isin(set(known_ids)).to_numpy()
        over = (
            k if (allowed is None and max_per_category is None and not exclude_seen) else 3 * k + 20
        )
        frames = []
        kids = ids.to_numpy()[known]
        sliced = keys_of = skus = None
        if not use_blend:
            sliced = customer_slices(tables)
            keys_of = key_index([ix for ix, _ in generator_states(gens, states).values()])
            skus = sku_union(self.generators_)
        for start in range(0, len(kids), batch_size):
            chunk = kids[start : start + batch_size]
            if use_blend:
                frames.append(self._blend_lists(chunk, over, exclude_seen, states))
                continue
            cand = candidate_union(
                self.generators_, chunk, self.n_candidates, history=states,
                exclude_seen=exclude_seen, keys_of=keys_of, skus=skus,
            )  # fmt: skip
            if cand.empty:
                continue
            x = ranker_features(cand, sliced(chunk), cut, store, price, category)  # type: ignore[misc]
            ranker = self.ranker_
            if exclude_seen and self.ranker_new_ is not None:
                ranker = self.ranker_new_
            x["score"] = ranker.predict(
                feature_matrix(x, self.feature_names_), num_threads=check_n_jobs(self.n_jobs)
            )
            x = x.sort_values(["customer_id", "score"], ascending=[True, False], kind="stable")
            x["rank"] = x.groupby("customer_id").cumcount() + 1
            x = x.loc[x["rank"] <= over, ["customer_id", "sku", "rank", "score", "_source"]]
            frames.append(x.rename(columns={"_source": "source"}))
        # known customers without any candidate (e.g. everything excluded) count as cold
        frames = [f for f in frames if len(f)]
        ranked = set(pd.concat(frames)["customer_id"]) if frames else set()
        known &= ids.isin(ranked).to_numpy()
        cold_ids = ids.to_numpy()[~known]
        if len(cold_ids) or not frames:
            cust_arg = (
                customers.loc[~known]
                if isinstance(customers, pd.DataFrame) and len(customers) == len(ids)
                else cold_ids
            )
            cold = self.popular_.recommend(cust_arg if len(cold_ids) else [], over)
            cold = cold.assign(source=COLD_START)
            frames.append(cold)
        out = pd.concat(frames, ignore_index=True)
        exclude = None
        if exclude_seen:
            exclude = tables["pair"][["customer_id", "sku"]]
        out = apply_business_rules(
            out,
            k=k,
            allowed=allowed,
            exclude=exclude,
            category=category,
            max_per_category=max_per_category,
            boost=boost,
        )
        if slots:
            fresh = self._new_item_lists(
                out["customer_id"].unique(), k, exclude_seen, full_hist, cut, allowed, exclude,
                catalog,
            )  # fmt: skip
            out = reserve_slots(out, fresh, k=k, slots=slots)
        return out.astype(
            {
                "customer_id": "string",
                "sku": "string",
                "rank": "int64",
                "score": "float64",
                "source": "string",
            }
        )

    def _check_slots(self, new_items: Any, k: int) -> int:
        if (
            not isinstance(new_items, (int, np.integer))
            or isinstance(new_items, bool)
            or not (0 <= new_items <= k)
        ):
            raise ConfigError(f"new_items must be an integer from 0 to k={k}, got {new_items!r}")
        if new_items and getattr(self, "new_items_", None) is None:
            raise ConfigError(
                "this model was saved before new-item slots existed; retrain it with "
                "`ecomml train recommend` to use new_items"
            )
        return int(new_items)

    def _new_item_lists(
        self,
        customers: np.ndarray,
        k: int,
        exclude_seen: bool,
        hist: pd.DataFrame | None,
        cut: pd.Timestamp,
        allowed: set[str] | None,
        exclude: pd.DataFrame | None,
        catalog: pd.DataFrame | None,
    ) -> pd.DataFrame:
        """Each customer's best new SKUs (after the catalog and exclusion rules). With a
        newer ``hist`` the new SKUs, their age and early interest are taken as of its
        cutoff (a SKU new at training time may be old now, and others have appeared)."""
        from sklearn.base import clone

        gen = self.new_items_
        assert gen is not None
        if hist is not None:
            gen = clone(gen).fit(hist, cutoff=cut, catalog=catalog)
        fresh = gen.recommend(customers, k, exclude_seen=exclude_seen)
        fresh = apply_business_rules(fresh, k=k, allowed=allowed, exclude=exclude)
        return fresh.assign(source=gen.source_name)

    def _blend_lists(
        self,
        customers: np.ndarray,
        k: int,
        exclude_seen: bool,
        states: dict[str, Any] | None,
    ) -> pd.DataFrame:
        """The buy-again + popularity blend's lists (``source`` says which part)."""
        blend = self.blend_
        assert blend is not None
        hs = None if states is None else states[BLEND]
        r = blend.recommend(customers, k, exclude_seen=exclude_seen, history_state=hs)
        r = r.loc[r["source"] != COLD_START, ["customer_id", "sku", "rank", "score"]]
        # bought SKUs score 1 + the re-order score, the popular fill below 1
        r["source"] = np.where(r["score"].to_numpy() >= 1.0, "buy-again", "popular")
        return r

    def similar_items(self, sku: Any, k: int = 10) -> pd.DataFrame:
        """Co-purchase neighbours from the item-item generator (cosine on purchases if absent)."""
        check_fitted(self, ["generators_"])
        for name in ("item-bm25", "item-cosine", "ease", "als"):
            if name in self.generators_:
                return self.generators_[name].similar_items(sku, k)
        return self.popular_.similar_items(sku, k)

    # ------------------------------------------------------------------ artifacts
    def save_artifacts(self, path: str | os.PathLike[str]) -> None:
        """Generators (NumPy/Parquet), the ranker (LightGBM text model), tables (Parquet)."""
        check_fitted(self, ["generators_"])
        d = Path(path)
        d.mkdir(parents=True, exist_ok=True)
        params = self.get_params()
        params["generators"] = list(params["generators"])
        meta = {
            "class": type(self).__name__,
            "params": params,
            "cutoff": self.cutoff_.isoformat(),
            "feature_names": self.feature_names_,
            "uses_store": self.uses_store_,
            "train_stats": self.train_stats_,
            "choice": self.choice_,
            "choice_new": self.choice_new_,
            "choice_reason": self.choice_reason_,
            "validation": self.validation_,
            "horizon": self.horizon_,
        }
        (d / "pipeline.json").write_text(json.dumps(meta, indent=2))
        if self.ranker_ is not None:
            self.ranker_.booster_.save_model(str(d / "ranker.txt"))
        if self.ranker_new_ is not None:
            self.ranker_new_.booster_.save_model(str(d / "ranker_new_items.txt"))
        for name, gen in self.generators_.items():
            gen.save_artifacts(d / "generators" / name)
        self.popular_.save_artifacts(d / "generators" / "_cold_start")
        if self.new_items_ is not None and "new-items" not in self.generators_:
            self.new_items_.save_artifacts(d / "generators" / "_new_items")
        if self.blend_ is not None:
            self.blend_.save_artifacts(d / "generators" / "_blend")
        for name, t in self.tables_.items():
            t.to_parquet(d / f"table_{name}.parquet", index=False)
        maps = pd.DataFrame({"sku": sku_union(self.generators_).to_numpy()})
        maps["category"] = maps["sku"].map(self.category_) if self.category_ is not None else None
        maps["price"] = maps["sku"].map(self.price_) if self.price_ is not None else np.nan
        maps.to_parquet(d / "sku_maps.parquet", index=False)
        pd.DataFrame({"customer_id": self.customer_index_.to_numpy()}).to_parquet(
            d / "customers.parquet", index=False
        )

    @classmethod
    def load_artifacts(cls, path: str | os.PathLike[str]) -> Self:
        """Rebuild a pipeline written by :meth:`save_artifacts`."""
        import lightgbm as lgb

        d = Path(path)
        meta = read_model_json(d, "pipeline.json")
        params = dict(meta["params"])
        params["generators"] = tuple(params["generators"])
        # folders saved before issue 17 always served the ranker
        params.setdefault("fallback", "never")
        model = cls(**params)
        model.cutoff_ = pd.Timestamp(meta["cutoff"])
        model.feature_names_ = list(meta["feature_names"])
        model.uses_store_ = bool(meta["uses_store"])
        model.train_stats_ = meta.get("train_stats", {})
        model.choice_ = meta.get("choice", RANKER)
        model.choice_new_ = meta.get("choice_new", model.choice_)
        model.choice_reason_ = meta.get("choice_reason", "")
        model.validation_ = meta.get("validation", {})
        model.horizon_ = meta.get("horizon", model.train_stats_.get("horizon_days"))
        ranker = d / "ranker.txt"
        model.ranker_ = (
            _BoosterRanker(lgb.Booster(model_file=str(ranker))) if ranker.exists() else None
        )
        new = d / "ranker_new_items.txt"
        model.ranker_new_ = (
            _BoosterRanker(lgb.Booster(model_file=str(new))) if new.exists() else None
        )
        model.generators_ = {}
        for name in model.generators:
            gen = make_generator(name, random_state=model.random_state)
            loaded = type(gen).load_artifacts(d / "generators" / name)
            loaded.source_name = name
            model.generators_[name] = loaded
        model.popular_ = PopularityRecommender.load_artifacts(d / "generators" / "_cold_start")
        blend = d / "generators" / "_blend"
        model.blend_ = BuyAgainRecommender.load_artifacts(blend) if blend.exists() else None
        new = d / "generators" / "_new_items"  # absent: saved before new-item slots existed
        model.new_items_ = model.generators_.get("new-items") or (
            NewItemsRecommender.load_artifacts(new) if new.exists() else None
        )
        model.tables_ = {
            p.stem[len("table_") :]: pd.read_parquet(p) for p in sorted(d.glob("table_*.parquet"))
        }
        maps = pd.read_parquet(d / "sku_maps.parquet").set_index("sku")
        cat = maps["category"].dropna()
        model.category_ = cat.astype(str) if len(cat) else None
        pr = maps["price"].dropna()
        model.price_ = pr.astype(float) if len(pr) else None
        base = model.generators_[model.generators[0]]
        model.sku_index_ = base.sku_index_
        model.state_ = {"weight": base.state_["weight"]}
        model.customer_index_ = pd.Index(
            pd.read_parquet(d / "customers.parquet")["customer_id"].astype(str).to_numpy()
        )
        return model


class _BoosterRanker:
    """A loaded LightGBM booster with the ``predict`` the pipeline uses."""

    def __init__(self, booster: Any) -> None:
        self.booster_ = booster

    def predict(self, x: np.ndarray, num_threads: int = 2) -> np.ndarray:
        return np.asarray(self.booster_.predict(x, num_threads=num_threads))
