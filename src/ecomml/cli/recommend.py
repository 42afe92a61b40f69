"""``ecomml train|predict recommend``: the recommendation task (:class:`ecomml.recommend.RecommendTask`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ecomml.cli._common import console, err_console, handle_errors
from ecomml.cli._task import save_and_log, score_command, steps
from ecomml.cli.options import (
    DataOptions,
    IdOptions,
    RegisterOpt,
    SparkOptions,
    TrackOptions,
    TrustPickleOpt,
    with_groups,
)

TASK = "recommend"


def _read_table(path: Path, what: str) -> Any:
    # the adapters' file checks (encoding, gzip, corrupt Parquet...); ids stay text
    from ecomml.data import read_frame

    boost = what == "--boost"
    required = ("sku", "boost") if boost else ("customer_id",)
    numeric = ("boost",) if boost else ()
    return read_frame(path, what=what, required=required, text=None, numeric=numeric)


@with_groups
def train_recommend(
    data: DataOptions,
    tracking: TrackOptions,
    ids: IdOptions,
    cutoff: str = typer.Option(..., "--cutoff", help="Train on ts < cutoff."),
    model_dir: Path = typer.Option(Path("models/recommend"), "--model-dir", help="Model folder."),
    register: str | None = RegisterOpt,
    generators: str = typer.Option(
        "buy-again,recent-popular,item-bm25,ease",
        "--generators",
        help="Candidate generators: buy-again, popular, recent-popular, item-bm25, "
        "item-cosine, ease, als.",
    ),
    n_candidates: int = typer.Option(
        50, "--candidates", min=1, help="Candidates per generator and customer."
    ),
    n_estimators: int = typer.Option(200, "--n-estimators", min=1, help="LambdaRank trees."),
    horizon_days: int = typer.Option(
        91, "--horizon-days", min=1, help="Label window the ranker learns from."
    ),
    eval_days: int = typer.Option(
        91, "--eval-days", help="Holdout days before the cutoff for validation metrics (0: none)."
    ),
    report_dir: Path = typer.Option(
        Path("reports/recommend"), "--report-dir", help="Folder for metrics and plots."
    ),
    use_store: bool = typer.Option(
        True, "--store/--no-store", help="Use feature-store views as ranker features."
    ),
    fallback: str = typer.Option(
        "auto",
        "--fallback",
        help="auto: validate the ranker on the last label window of the history and serve "
        "the buy-again + popularity blend where it does not win; never: always the ranker.",
    ),
) -> None:
    """Train the recommender (generators + LambdaRank re-ranker) on purchases before --cutoff.

    With --hash-ids the model folder and its MLflow copy hold pseudonyms, no raw ids:
    predict with --hash-ids and the same key."""
    with handle_errors():
        from ecomml._io import atomic_write_json
        from ecomml.exceptions import DataQualityError
        from ecomml.privacy import pseudonymize_shop
        from ecomml.recommend.task import RecommendTask
        from ecomml.task import TaskData

        task = RecommendTask()
        id_key = ids.key()
        gens = tuple(g.strip() for g in generators.split(",") if g.strip())
        params: dict[str, Any] = {"generators": gens, "n_candidates": n_candidates,
                                  "n_estimators": n_estimators, "horizon_days": horizon_days,
                                  "use_store": use_store, "fallback": fallback}  # fmt: skip
        with steps("loading data") as say:
            cut = data.date(cutoff)
            shop = data.shop(cut)
            if id_key is not None:  # the model will know customers by pseudonym only
                shop = pseudonymize_shop(shop, id_key)
                shop.id_key = id_key  # type: ignore[attr-defined]  # a key check, never stored
            if task.interactions(shop, cut).empty:
                raise DataQualityError(
                    f"{data.transactions}: no purchases with a customer id before {cut.date()}; "
                    "recommendations need customer ids"
                )
            td = TaskData(shop, cut)
            metrics: dict[str, float] = {}
            figures = {}
            if eval_days > 0:
                try:
                    say("validating on a holdout")
                    ev, figures["metrics_at_k.png"] = task.holdout(
                        td, days=eval_days, params=params, new_items=True
                    )
                    # MLflow names may not contain "@"
                    metrics = {f"val_{k}".replace("@", "_at_"): v for k, v in ev.items()}
                except DataQualityError as err:
                    err_console.print(f"[yellow]validation skipped: {err}[/yellow]")
            say("fitting generators and ranker")
            model = task.fit(td, params=params)
            train_stats = {f"train.{k}": v for k, v in model.train_stats_.items()
                           if isinstance(v, (int, float))}  # fmt: skip
            # the fit's own validation of the ranker against the blend (MLflow: no "@")
            train_stats.update({f"fit_val.{k}".replace("@", "_at_"): v
                                for k, v in getattr(model, "validation_", {}).items()
                                if isinstance(v, (int, float))})  # fmt: skip
            path, run_id = save_and_log(
                task, model, td, model_dir=model_dir, tracking=tracking, params=params,
                metrics={**metrics, **train_stats}, figures=figures, plots_dir=report_dir,
                register=register, say=say,
                run_params={"eval_days": eval_days, "use_store": use_store, "hash_ids": ids.hash_ids},
            )  # fmt: skip
            atomic_write_json(report_dir / "metrics.json", metrics)
        console.print(f"model saved to {path}" + (f" (MLflow run {run_id})" if run_id else ""))
        for key in ("val_ndcg_at_20", "val_recall_at_20", "val_buyagain_ndcg_at_20",
                    "val_new_ndcg_at_20"):  # fmt: skip
            if key in metrics:
                console.print(f"  {key}: {metrics[key]:.4f}")
        for line in task.describe(model):
            console.print(f"  {line}")


@with_groups
def predict_recommend(
    data: DataOptions,
    ids: IdOptions,
    spark: SparkOptions,
    model: str = typer.Option(..., "--model", help="Model folder, runs:/... or models:/..."),
    cutoff: str = typer.Option(..., "--cutoff", help="Recommend as of this date (ts < cutoff)."),
    trust_pickle: bool = TrustPickleOpt,
    k: int = typer.Option(20, "--k", min=1, help="Items per customer."),
    output: Path = typer.Option(..., "--output", "-o", help="Output .csv or .parquet."),
    customers: Path | None = typer.Option(
        None, "--customers", help="CSV/Parquet with customer_id (default: every known customer)."
    ),
    exclude_purchased: bool = typer.Option(
        False, "--exclude-purchased", help="Leave out SKUs the customer already bought."
    ),
    max_per_category: int | None = typer.Option(
        None, "--max-per-category", min=1, help="At most N SKUs of one category per list."
    ),
    boost: Path | None = typer.Option(
        None, "--boost", help="CSV/Parquet with sku, boost: added to the score (negative buries)."
    ),
) -> None:
    """Write top-K recommendations: customer_id, sku, rank, score, source."""
    with handle_errors():
        import pandas as pd

        from ecomml.privacy import pseudonymize_frame

        def options(key: str | None) -> dict[str, Any]:
            who = boosts = None
            if customers is not None:
                who = _read_table(customers, "--customers")
                who = who.dropna(subset=["customer_id"]).astype({"customer_id": str})
                if key is not None:  # the model knows customers by pseudonym only
                    who = pseudonymize_frame(who, key, keep_pseudonyms=True)
            if boost is not None:
                b = _read_table(boost, "--boost")  # sku, boost checked by the reader
                boosts = b.assign(sku=b["sku"].astype(str)).set_index("sku")["boost"]
                boosts = pd.to_numeric(boosts, errors="coerce").fillna(0.0)
            return {"k": k, "customers": who, "exclude_purchased": exclude_purchased,
                    "max_per_category": max_per_category, "boost": boosts}  # fmt: skip

        def on_spark(cut: Any, opts: dict[str, Any]) -> Any:
            from ecomml.spark.commands import recommend_frame

            return recommend_frame(
                model, data.transactions, cut, k=k, events=data.events,
                catalog=data.catalog, calendar=data.calendar, customers=opts["customers"],
                exclude_purchased=exclude_purchased, max_per_category=max_per_category,
                boost=None if opts["boost"] is None else opts["boost"].reset_index(),
                master=spark.spark_master,
                conf=spark.spark_conf, partitions=spark.spark_partitions,
            )  # fmt: skip

        res = score_command(
            TASK, data=data, model=model, cutoff=cutoff, output=output, spark=spark, ids=ids,
            spark_score=on_spark, options=options, inputs=(customers, boost),
            trust_pickle=trust_pickle,
        )  # fmt: skip
        recs = res.frame
        n_cold = int((recs["source"] == "popular-cold-start").sum()) // max(k, 1)
        unknown = 0
        if res.shop is not None:
            from ecomml.recommend.task import RecommendTask

            inter = RecommendTask().interactions(res.shop, res.cutoff)
            known = set(res.loaded.model.sku_index_)
            unknown = int((~inter["sku"].isin(known)).sum()) if len(inter) else 0
        console.print(
            f"{recs['customer_id'].nunique()} customers, {len(recs)} rows -> {output}"
            + (f"; {n_cold} without history got popular SKUs" if n_cold else "")
            + (
                f"; {unknown} interactions with SKUs unknown to the model were ignored"
                if unknown
                else ""
            )
        )


def register(*, train: typer.Typer, predict: typer.Typer, backtest: typer.Typer) -> None:
    """Add this task's commands to the ``train``, ``predict`` and ``backtest`` groups."""
    train.command(TASK)(train_recommend)
    predict.command(TASK)(predict_recommend)
