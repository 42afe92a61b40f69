"""The recommendation task: top-K lists per customer from implicit feedback.

The one file of :mod:`ecomml.recommend` that knows the feature store and the task
contract; the recommenders themselves take interaction frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from ecomml._io import atomic_write_json, atomic_write_table
from ecomml.exceptions import DataQualityError, ModelLoadError
from ecomml.recommend._base import RECOMMEND_COLUMNS, BaseRecommender
from ecomml.recommend.evaluate import evaluate_recommendations, plot_metrics_at_k, temporal_split
from ecomml.recommend.interactions import build_interactions
from ecomml.recommend.pipeline import STORE_VIEWS, RecommenderPipeline
from ecomml.task import Evaluation, ModelTask, Option, StepResult, TaskData, Trained, quiet

if TYPE_CHECKING:
    from ecomml.data.shop import ShopData
    from ecomml.features.store import FeatureStore
    from ecomml.task import Folds, Params, Say, StepContext

__all__ = ["RecommendTask"]

_HOLDOUT_DAYS = 56


def _pipeline(params: Mapping[str, Any]) -> RecommenderPipeline:
    p = dict(params)
    if isinstance(p.get("generators"), (list, str)):
        g = p["generators"]
        p["generators"] = tuple(x.strip() for x in g.split(",")) if isinstance(g, str) else tuple(g)
    return RecommenderPipeline(**p)


class RecommendTask(ModelTask):
    """Candidate generators re-ranked by LambdaRank, with business rules.

    ``params``: ``k`` (list length in evaluation), ``window_days`` (label window of each
    fold), ``use_store`` (feature-store features in the ranker), plus any
    :class:`~ecomml.recommend.RecommenderPipeline` parameter.
    """

    name: ClassVar[str] = "recommend"
    headline_metrics: ClassVar[tuple[str, ...]] = ("val_ndcg_at_20", "ndcg_at_20")
    min_data: ClassVar[Mapping[str, int]] = {"customers": 200, "SKUs": 50}
    title: ClassVar[str] = "recommendations"
    output_columns: ClassVar[tuple[str, ...]] = tuple(RECOMMEND_COLUMNS)
    metrics: ClassVar[tuple[str, ...]] = tuple(
        f"{m}_at_{k}"
        for k in (10, 20)
        for m in ("ndcg", "recall", "precision", "map", "hit", "coverage", "novelty")
    )
    params: ClassVar[Mapping[str, Any]] = {"k": 20, "window_days": 91, "use_store": True}
    models: ClassVar[tuple[str, ...]] = ("pipeline",)
    fold_unit: ClassVar[str] = "days"
    serving_inputs: ClassVar[tuple[tuple[str, str], ...]] = (("customer_id", "string"),)
    serving_params: ClassVar[tuple[tuple[str, str, Any], ...]] = (
        ("k", "long", 10), ("exclude_seen", "boolean", False), ("new_items", "long", 0),
    )  # fmt: skip
    output_types: ClassVar[Mapping[str, str]] = {
        "customer_id": "string", "sku": "string", "rank": "long", "source": "string",
    }  # fmt: skip

    commands: ClassVar[tuple[str, ...]] = ("train", "predict")
    command_groups: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "train": ("tracking", "ids"), "predict": ("ids", "spark"),
    }  # fmt: skip
    command_help: ClassVar[Mapping[str, str]] = {
        "train": "Train the recommender (generators + LambdaRank re-ranker) on purchases before "
        "--cutoff.\n\nWith --hash-ids the model folder and its MLflow copy hold pseudonyms, "
        "no raw ids: predict with --hash-ids and the same key.",
        "predict": "Write top-K recommendations: customer_id, sku, rank, score, source.",
    }
    train_options: ClassVar[tuple[Option, ...]] = (
        Option("generators", "--generators", "buy-again,recent-popular,item-bm25,ease",
               "Candidate generators: buy-again, popular, recent-popular, item-bm25, "
               "item-cosine, ease, als."),
        Option("n_candidates", "--candidates", 50, "Candidates per generator and customer.", min=1),
        Option("n_estimators", "--n-estimators", 200, "LambdaRank trees.", min=1),
        Option("horizon_days", "--horizon-days", 91, "Label window the ranker learns from.", min=1),
        Option("eval_days", "--eval-days", 91,
               "Holdout days before the cutoff for validation metrics (0: none)."),
        Option("report_dir", "--report-dir", Path("reports/recommend"),
               "Folder for metrics and plots."),
        Option("use_store", "--store/--no-store", True,
               "Use feature-store views as ranker features."),
        Option("fallback", "--fallback", "auto", "auto: serve the buy-again + popularity "
               "blend where the ranker loses on the history's last label window; never: the "
               "ranker."),
    )  # fmt: skip
    predict_options: ClassVar[tuple[Option, ...]] = (
        Option("k", "--k", 20, "Items per customer.", min=1),
        Option("customers", "--customers", None, "CSV/Parquet with customer_id (default: every "
               "known customer).", Path, file="in"),
        Option("exclude_purchased", "--exclude-purchased", False,
               "Leave out SKUs the customer already bought."),
        Option("max_per_category", "--max-per-category", None,
               "At most N SKUs of one category per list.", int, min=1),
        Option("boost", "--boost", None, "CSV/Parquet with sku, boost: added to the score "
               "(negative buries).", Path, file="in"),
        Option("new_items", "--new-items", 0, "The last N places of each list go to new SKUs "
               "(first seen in the last 30 days, or launched by the catalog's launched_at) "
               "that fit the customer.", int, min=0),
    )  # fmt: skip

    def train(self, data: TaskData, options: Mapping[str, Any], progress: Say = quiet) -> Trained:
        o = options
        gens = tuple(g.strip() for g in o["generators"].split(",") if g.strip())
        params: dict[str, Any] = {"generators": gens, "n_candidates": o["n_candidates"],
                                  "n_estimators": o["n_estimators"],
                                  "horizon_days": o["horizon_days"], "use_store": o["use_store"],
                                  "fallback": o["fallback"]}  # fmt: skip
        model = self.fit(data, params=params, progress=progress)
        metrics: dict[str, float] = {}
        figures, shown, warnings = {}, [], []
        if o["eval_days"] > 0:
            try:
                progress("validating on a holdout")
                ev, figures["metrics_at_k.png"] = self.holdout(
                    data, days=o["eval_days"], params=params, new_items=True
                )
                # MLflow names may not contain "@"
                metrics = {f"val_{k}".replace("@", "_at_"): v for k, v in ev.items()}
            except DataQualityError as err:
                warnings.append(f"validation skipped: {err}")
        atomic_write_json(Path(o["report_dir"]) / "metrics.json", metrics)
        keys = ("val_ndcg_at_20", "val_recall_at_20", "val_buyagain_ndcg_at_20",
                "val_new_ndcg_at_20")  # fmt: skip
        shown = [f"  {k}: {metrics[k]:.4f}" for k in keys if k in metrics]
        shown += [f"  {line}" for line in self.describe(model)]
        stats = {f"train.{k}": v for k, v in model.train_stats_.items()
                 if isinstance(v, (int, float))}  # fmt: skip
        # the fit's own validation of the ranker against the blend (MLflow: no "@")
        stats.update({f"fit_val.{k}".replace("@", "_at_"): v
                      for k, v in getattr(model, "validation_", {}).items()
                      if isinstance(v, (int, float))})  # fmt: skip
        return Trained(
            model, params, metrics={**metrics, **stats}, figures=figures, shown=shown,
            plots_dir=Path(o["report_dir"]), warnings=warnings,
            run_params={"eval_days": o["eval_days"], "use_store": o["use_store"]},
        )  # fmt: skip

    def score_options(self, options: Mapping[str, Any], key: str | None = None) -> dict[str, Any]:
        from ecomml.data import read_frame
        from ecomml.privacy import pseudonymize_frame

        who = boosts = None
        if options["customers"] is not None:
            who = read_frame(options["customers"], what="--customers",
                             required=("customer_id",), text=None)  # fmt: skip
            who = who.dropna(subset=["customer_id"]).astype({"customer_id": str})
            if key is not None:  # the model knows customers by pseudonym only
                who = pseudonymize_frame(who, key, keep_pseudonyms=True)
        if options["boost"] is not None:
            b = read_frame(options["boost"], what="--boost", required=("sku", "boost"),
                           text=None, numeric=("boost",))  # fmt: skip
            boosts = b.assign(sku=b["sku"].astype(str)).set_index("sku")["boost"]
            boosts = pd.to_numeric(boosts, errors="coerce").fillna(0.0)
        return {"k": options["k"], "customers": who,
                "exclude_purchased": options["exclude_purchased"],
                "max_per_category": options["max_per_category"], "boost": boosts,
                **({"new_items": options["new_items"]} if options.get("new_items") else {})}  # fmt: skip

    def scored_line(self, frame: pd.DataFrame, model: Any, shop: ShopData | None,
                    cutoff: pd.Timestamp, output: Path) -> str:  # fmt: skip
        cold = frame.loc[frame["source"] == "popular-cold-start", "customer_id"].nunique()
        unknown = 0
        if shop is not None:
            inter = self.interactions(shop, cutoff)
            known = set(model.sku_index_)
            unknown = int((~inter["sku"].isin(known)).sum()) if len(inter) else 0
        return (
            f"{frame['customer_id'].nunique()} customers, {len(frame)} rows -> {output}"
            + (f"; {cold} without history got popular SKUs" if cold else "")
            + (f"; {unknown} interactions with SKUs unknown to the model were ignored"
               if unknown else "")
        )  # fmt: skip

    def make_model(self, params: Params = None) -> RecommenderPipeline:
        """An unfitted :class:`RecommenderPipeline` from the model params."""
        return _pipeline(self.model_params(params))

    def views(self, model: Any) -> list[str]:
        return list(STORE_VIEWS) if getattr(model, "uses_store_", False) else []

    @staticmethod
    def _store(data: TaskData, use: bool) -> FeatureStore | None:
        """The store when the ranker uses feature-store features, else None."""
        return data.store if use else None

    def interactions(self, shop: ShopData, cutoff: pd.Timestamp) -> pd.DataFrame:
        """Purchases (and events) with a customer id before ``cutoff``."""
        return build_interactions(shop.transactions, shop.events, cutoff=cutoff)

    def fit(
        self, data: TaskData, *, params: Params = None, progress: Say = quiet
    ) -> RecommenderPipeline:
        inter = self.interactions(data.shop, data.cutoff)
        if inter.empty:
            raise DataQualityError(
                f"{data.shop.source}: no purchases with a customer id before {data.cutoff.date()}; "
                "recommendations need customer ids"
            )
        st = self._store(data, bool(self.task_params(params)["use_store"]))
        progress("fitting generators and ranker")
        return self.make_model(params).fit(
            inter, cutoff=data.cutoff, store=st, catalog=data.shop.catalog
        )

    def evaluate(
        self, data: TaskData, folds: Folds, *, params: Params = None, progress: Say = quiet
    ) -> Evaluation:
        tp = self.task_params(params)
        window = int(tp["window_days"])
        step, n = int(folds.step or window), folds.n
        inter = self.interactions(data.shop, data.cutoff)
        st = self._store(data, bool(tp["use_store"]))
        rows, figures = [], {}
        for i in range(n):
            fc = data.cutoff - pd.Timedelta(days=window + step * (n - 1 - i))
            progress(f"fold {i + 1}/{n} (cutoff {fc.date()})")
            train, test = temporal_split(inter, cutoff=fc, end=fc + pd.Timedelta(days=window))
            model = self.make_model(params).fit(
                train, cutoff=fc, store=st, catalog=data.shop.catalog
            )
            cust = test["customer_id"].drop_duplicates()
            recs = model.recommend(cust, max(20, int(tp["k"])), store=st)
            met = evaluate_recommendations(recs, test, train, ks=(10, 20))
            row: dict[str, Any] = {"fold": i + 1, "cutoff": fc}
            row.update({k.replace("@", "_at_"): float(v) for k, v in met.items()})
            rows.append(row)
            if i == n - 1:
                figures["metrics_at_k.png"] = plot_metrics_at_k(recs, test, train)
        return Evaluation(pd.DataFrame(rows), figures)

    def holdout(
        self,
        data: TaskData,
        *,
        days: int,
        params: Params = None,
        k: int = 20,
        map_k: int | None = None,
        new_items: bool = False,
    ) -> tuple[dict[str, float], Any]:
        """Fit on everything before ``cutoff - days``, score the last ``days``; metrics of
        the model (``<metric>@k``), of buy-again (``buyagain_...``) and, with
        ``new_items``, of lists without bought SKUs (``new_...``); and the metrics@K figure.
        Raises :class:`DataQualityError` when the history is too short for a holdout."""
        from ecomml.recommend.candidates import BuyAgainRecommender

        inter = self.interactions(data.shop, data.cutoff)
        st = self._store(data, bool(self.task_params(params)["use_store"]))
        start = data.cutoff - pd.Timedelta(days=days)
        train, test = temporal_split(inter, cutoff=start, end=data.cutoff)
        model_v = self.make_model(params).fit(
            train, cutoff=start, store=st, catalog=data.shop.catalog
        )
        cust = test["customer_id"].drop_duplicates()
        kw: dict[str, Any] = {"ks": (k,), "map_k": map_k} if map_k else {}
        recs = model_v.recommend(cust, k, store=st)
        metrics = dict(evaluate_recommendations(recs, test, train, **kw))
        if new_items:
            recs_new = model_v.recommend(cust, k, exclude_seen=True, store=st)
            for key, value in evaluate_recommendations(
                recs_new, test, train, new_only=True, **kw
            ).items():
                metrics[f"new_{key}"] = value
        base = BuyAgainRecommender().fit(train, cutoff=start)
        base_recs = base.recommend(cust, k, exclude_seen=False)
        for key, value in evaluate_recommendations(base_recs, test, train, **kw).items():
            metrics[f"buyagain_{key}"] = value
        return metrics, plot_metrics_at_k(recs, test, train)

    def score(
        self,
        model: Any,
        data: TaskData,
        *,
        k: int = 20,
        customers: Any = None,
        exclude_purchased: bool = False,
        max_per_category: int | None = None,
        boost: pd.Series | None = None,
        new_items: int = 0,
        **options: Any,
    ) -> pd.DataFrame:
        """Top-``k`` lists for ``customers`` (default: every customer the history knows)."""
        self.check_model(model)
        inter = self.interactions(data.shop, data.cutoff)
        kwargs: dict[str, Any] = {
            "exclude_seen": exclude_purchased,
            "history": inter if len(inter) else None,
            "cutoff": data.cutoff,
        }
        if hasattr(model, "ranker_"):
            st = self._store(data, bool(getattr(model, "uses_store_", False)))
            kwargs.update(
                store=st, catalog=data.shop.catalog, max_per_category=max_per_category,
                boost=boost, new_items=new_items,
            )  # fmt: skip
        elif new_items:
            from ecomml.exceptions import ConfigError

            raise ConfigError(
                "--new-items needs a recommender pipeline model (this one is a single "
                f"{type(model).__name__}); train one with `ecomml train recommend`"
            )
        return self.check_output(model.recommend(customers, k, **kwargs))

    def serve(self, model: Any, model_input: pd.DataFrame, params: Params = None) -> pd.DataFrame:
        """Top-k lists for the request's ``customer_id`` column (``params``: ``k``,
        ``exclude_seen``)."""
        from ecomml.exceptions import ConfigError, SchemaError

        params = dict(params or {})
        if "customer_id" not in model_input.columns:
            raise SchemaError(
                "recommendation requests need a customer_id column; got "
                f"{list(model_input.columns)}",
                missing=["customer_id"],
                columns=list(model_input.columns),
            )
        if getattr(model, "uses_store_", False):
            raise ConfigError(
                "this recommender ranks with feature-store features, which a REST request "
                "cannot carry; serve a model trained without them (`ecomml train recommend "
                "--no-store`, or task_params.use_store: false in the experiment config), or "
                "use `ecomml predict recommend`"
            )
        customers = model_input["customer_id"].dropna().astype(str).drop_duplicates()
        k = int(params.get("k", 10))
        exclude = bool(params.get("exclude_seen", False))
        extra = {"new_items": int(params["new_items"])} if params.get("new_items") else {}
        if extra and not hasattr(model, "new_items_"):
            raise ConfigError(
                f"new_items needs a recommender pipeline model, not a {type(model).__name__}"
            )
        out = model.recommend(customers, k, exclude_seen=exclude, **extra).reset_index(drop=True)
        return self.check_output(out)

    def check_model(self, model: Any) -> None:
        if not isinstance(model, BaseRecommender):
            raise ModelLoadError(
                f"a {type(model).__name__} is not a recommender; train one with "
                "`ecomml train recommend`"
            )

    def metadata(self, model: Any, shop: ShopData, params: Mapping[str, Any]) -> dict[str, Any]:
        meta: dict[str, Any] = {"train_stats": getattr(model, "train_stats_", {})}
        if hasattr(model, "choice_"):  # what serves the lists, and the validation behind it
            meta.update(
                choice=model.choice_,
                choice_new_items=model.choice_new_,
                choice_reason=model.choice_reason_,
                fit_validation=model.validation_,
            )
        return meta

    def describe(self, model: Any) -> list[str]:
        """The ranker-or-blend decision of the fit and its validation scores."""
        reason = getattr(model, "choice_reason_", "")
        return [reason] if reason else []

    def training_window(self, model: Any, shop: ShopData) -> tuple[Any, Any] | None:
        inter = build_interactions(shop.transactions, shop.events, cutoff=model.cutoff_)
        return (inter["ts"].min(), inter["ts"].max()) if len(inter) else None

    def run_quickstart(self, ctx: StepContext) -> StepResult:
        """Validate the recommender on the last weeks before the cutoff, then write top-20
        lists for every customer as of the cutoff, a metrics plot and a summary."""
        from ecomml.plots import save_figure

        out = ctx.out_dir / self.name
        shop = ctx.shop
        result = StepResult(task=self.name)
        if self.interactions(shop, ctx.cutoff).empty:
            result.summary = {"skipped": "no purchases with customer ids"}
            return result
        params: dict[str, Any] = {
            "n_estimators": 60,
            "learning_rate": 0.1,
            "n_candidates": 25,
            "generators": ("buy-again", "recent-popular", "item-bm25"),
            "max_train_customers": 1500,
            "horizon_days": _HOLDOUT_DAYS,
            "new_items_ranker": False,  # the shelves written here keep re-orders
        }
        metrics: dict[str, float] = {}
        try:
            ctx.say("validating on the last 8 weeks")
            ev, fig = self.holdout(ctx.data, days=_HOLDOUT_DAYS, params=params, map_k=12)
            metrics = {
                "ndcg_at_20": ev["ndcg@20"],
                "recall_at_20": ev["recall@20"],
                "map_at_12": ev["map@12"],
                "coverage_at_20": ev["coverage@20"],
                "buyagain_ndcg_at_20": ev["buyagain_ndcg@20"],
            }
            result.outputs["plots/recommend/metrics_at_k.png"] = save_figure(
                fig, ctx.out_dir / "plots" / self.name / "metrics_at_k.png"
            )
        except DataQualityError as err:  # too little history for a holdout: still recommend
            result.summary["validation_skipped"] = str(err)
        ctx.say("fitting on all history")
        model = self.fit(ctx.data, params=params)
        recs = model.recommend(None, 20, store=ctx.store, catalog=shop.catalog)
        result.outputs["recommend/recommendations"] = atomic_write_table(
            out / "recommendations.parquet", recs
        )
        if len(recs):
            sim = model.similar_items(recs["sku"].iloc[0], 10)
            result.outputs["recommend/similar_items_example"] = atomic_write_table(
                out / "similar_items_example.csv", sim
            )
        result.metrics = {k: float(v) for k, v in metrics.items() if pd.notna(v)}
        result.summary.update(
            {
                "customers": int(recs["customer_id"].nunique()),
                "rows": int(len(recs)),
                "sources": {str(k): int(v) for k, v in recs["source"].value_counts().items()},
                "validation": {k: round(float(v), 4) for k, v in metrics.items()},
                "holdout_days": _HOLDOUT_DAYS,
                "model": model.choice_reason_,  # ranker or blend, and why (issue 17)
            }
        )
        result.outputs["recommend/summary"] = atomic_write_json(
            out / "summary.json", result.summary
        )
        result.model, result.params = model, params
        return result
