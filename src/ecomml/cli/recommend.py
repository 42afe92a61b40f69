"""``ecomml train|predict recommend``: recommendations (ecomml.recommend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ecomml.cli._common import (
    configure_tracking,
    console,
    err_console,
    handle_errors,
    make_progress,
)
from ecomml.cli._load import (
    AllowFutureOpt,
    CalendarOpt,
    CatalogOpt,
    EncodingOpt,
    EventsOpt,
    FormatOpt,
    MapFileOpt,
    MapOpt,
    shop_from_options,
)
from ecomml.features.store import store_from_shop
from ecomml.spark.commands import (
    EngineOpt,
    SparkConfOpt,
    SparkMasterOpt,
    SparkPartitionsOpt,
    use_spark,
)

ID_KEY_ENV = "ECOMML_ID_KEY"
HashIdsOpt = typer.Option(
    False,
    "--hash-ids",
    help=f"Pseudonymise customer ids (pid_...; keyed HMAC, key from ${ID_KEY_ENV}, never stored).",
)
IdKeyEnvOpt = typer.Option(
    ID_KEY_ENV, "--id-key-env", help="Environment variable holding the pseudonym key."
)


def _read_table(path: Path, what: str) -> Any:
    # the adapters' file checks (encoding, gzip, corrupt Parquet...); ids stay text
    from ecomml.data import read_frame

    boost = what == "--boost"
    required = ("sku", "boost") if boost else ("customer_id",)
    numeric = ("boost",) if boost else ()
    return read_frame(path, what=what, required=required, text=None, numeric=numeric)


def _write_output(frame: Any, path: Path) -> None:
    from ecomml._io import atomic_write_table
    from ecomml.exceptions import InputFileError

    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise InputFileError(f"--output {path}: use a .csv or .parquet file name")
    atomic_write_table(path, frame, fmt="csv" if suffix == ".csv" else "parquet")


def _shop(
    transactions: Path,
    *,
    cutoff: str,
    format: str,
    map_items: list[str] | None,
    map_file: Path | None,
    events: Path | None,
    catalog: Path | None,
    calendar: Path | None,
    encoding: str | None,
    allow_future: bool,
) -> Any:
    return shop_from_options(
        transactions, cutoff=cutoff, format=format, map_items=map_items, map_file=map_file,
        events=events, catalog=catalog, calendar=calendar, encoding=encoding,
        allow_future=allow_future,
    )  # fmt: skip


def train_recommend(
    transactions: Path = typer.Option(..., "--transactions", "-t", help="Transactions file."),
    cutoff: str = typer.Option(..., "--cutoff", help="Train on ts < cutoff."),
    model_dir: Path = typer.Option(Path("models/recommend"), "--model-dir", help="Model folder."),
    register: str | None = typer.Option(None, "--register", help="Register in MLflow as NAME."),
    events: Path | None = EventsOpt,
    catalog: Path | None = CatalogOpt,
    calendar: Path | None = CalendarOpt,
    format: str = FormatOpt,
    map_items: list[str] | None = MapOpt,
    map_file: Path | None = MapFileOpt,
    encoding: str | None = EncodingOpt,
    allow_future: bool = AllowFutureOpt,
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
    track: bool = typer.Option(True, "--track/--no-track", help="Log an MLflow run."),
    experiment: str = typer.Option("ecomml-recommend", "--experiment", help="MLflow experiment."),
    hash_ids: bool = typer.Option(
        False,
        "--hash-ids",
        help=f"Train on pseudonymised customer ids (key from ${ID_KEY_ENV}): the model folder "
        "and its MLflow copy then hold no raw ids; predict with --hash-ids and the same key.",
    ),
    id_key_env: str = IdKeyEnvOpt,
) -> None:
    """Train the recommender (generators + LambdaRank re-ranker) on purchases before --cutoff."""
    with handle_errors():
        import pandas as pd

        from ecomml._io import atomic_write_json
        from ecomml.exceptions import DataQualityError
        from ecomml.modelstore import feature_hashes, log_model, save_model
        from ecomml.plots import save_figure
        from ecomml.privacy import id_metadata, key_from_env, pseudonymize_shop, scrub
        from ecomml.recommend import (
            BuyAgainRecommender,
            RecommenderPipeline,
            build_interactions,
            evaluate_recommendations,
            plot_metrics_at_k,
            temporal_split,
        )
        from ecomml.recommend.pipeline import STORE_VIEWS

        id_key = key_from_env(id_key_env) if hash_ids else None
        gens = tuple(g.strip() for g in generators.split(",") if g.strip())
        pipe_params: dict[str, Any] = {
            "generators": gens,
            "n_candidates": n_candidates,
            "n_estimators": n_estimators,
            "horizon_days": horizon_days,
        }
        with make_progress() as progress:
            task = progress.add_task("loading data", total=5)
            shop = _shop(
                transactions,
                cutoff=cutoff,
                format=format,
                map_items=map_items,
                map_file=map_file,
                events=events,
                catalog=catalog,
                calendar=calendar,
                encoding=encoding,
                allow_future=allow_future,
            )
            if id_key is not None:  # the model will know customers by pseudonym only
                shop = pseudonymize_shop(shop, id_key)
            cut = pd.Timestamp(cutoff)
            inter = build_interactions(shop.transactions, shop.events, cutoff=cut)
            if inter.empty:
                raise DataQualityError(
                    f"{transactions}: no purchases with a customer id before {cut.date()}; "
                    "recommendations need customer ids"
                )
            store = store_from_shop(shop) if use_store else None
            metrics: dict[str, float] = {}
            plots: dict[str, Path] = {}
            if eval_days > 0:
                try:
                    progress.update(task, advance=1, description="validating on a holdout")
                    start = cut - pd.Timedelta(days=eval_days)
                    train, test = temporal_split(inter, cutoff=start, end=cut)
                    model_v = RecommenderPipeline(**pipe_params).fit(
                        train, cutoff=start, store=store, catalog=shop.catalog
                    )
                    cust = test["customer_id"].drop_duplicates()
                    recs = model_v.recommend(cust, 20, store=store)
                    for key, value in evaluate_recommendations(recs, test, train).items():
                        metrics[f"val_{key}"] = value
                    recs_new = model_v.recommend(cust, 20, exclude_seen=True, store=store)
                    for key, value in evaluate_recommendations(
                        recs_new, test, train, new_only=True
                    ).items():
                        metrics[f"val_new_{key}"] = value
                    base = BuyAgainRecommender().fit(train, cutoff=start)
                    base_recs = base.recommend(cust, 20, exclude_seen=False)
                    for key, value in evaluate_recommendations(base_recs, test, train).items():
                        metrics[f"val_buyagain_{key}"] = value
                    fig = plot_metrics_at_k(recs, test, train)
                    plots["metrics_at_k"] = save_figure(fig, report_dir / "metrics_at_k.png")
                except DataQualityError as err:
                    err_console.print(f"[yellow]validation skipped: {err}[/yellow]")
            # MLflow names may not contain "@"
            metrics = {k.replace("@", "_at_"): v for k, v in metrics.items()}
            progress.update(task, advance=1, description="fitting generators and ranker")
            model = RecommenderPipeline(**pipe_params).fit(
                inter, cutoff=cut, store=store, catalog=shop.catalog
            )
            progress.update(task, advance=1, description="saving the model")
            views = [store.view(v) for v in STORE_VIEWS] if store is not None else []
            save_model(
                model,
                model_dir,
                task="recommend",
                cutoff=cut,
                metrics={k: v for k, v in metrics.items() if pd.notna(v)},
                features=feature_hashes(views),
                training_window=(inter["ts"].min(), inter["ts"].max()),
                extra={
                    "train_stats": model.train_stats_,
                    "source": scrub(shop.source),
                    **id_metadata(id_key),
                },
            )
            atomic_write_json(report_dir / "metrics.json", metrics)
            run_id = None
            if track:
                progress.update(task, advance=1, description="logging to MLflow")
                import mlflow

                from ecomml.tracking import log_fingerprint, log_params, tracked_run

                configure_tracking()
                with tracked_run(
                    experiment, run_name="train-recommend", tags={"ecomml.task": "recommend"}
                ) as run:
                    log_fingerprint(shop.fingerprint, cutoff=cut)
                    log_params(
                        {
                            k: (",".join(v) if isinstance(v, tuple) else v)
                            for k, v in model.get_params().items()
                        }
                    )
                    log_params(
                        {"eval_days": eval_days, "use_store": use_store, "hash_ids": hash_ids}
                    )
                    clean = {k: float(v) for k, v in metrics.items() if pd.notna(v)}
                    clean.update(
                        {
                            f"train.{k}": v
                            for k, v in model.train_stats_.items()
                            if isinstance(v, (int, float))
                        }
                    )
                    mlflow.log_metrics(clean)
                    for path in plots.values():
                        mlflow.log_artifact(str(path), artifact_path="plots/recommend")
                    log_model(model_dir, registered_model_name=register)
                    run_id = run.info.run_id
            progress.update(task, completed=5, description="done")
        console.print(f"model saved to {model_dir}" + (f" (MLflow run {run_id})" if run_id else ""))
        for key in (
            "val_ndcg_at_20",
            "val_recall_at_20",
            "val_buyagain_ndcg_at_20",
            "val_new_ndcg_at_20",
        ):
            if key in metrics:
                console.print(f"  {key}: {metrics[key]:.4f}")


def predict_recommend(
    model: str = typer.Option(..., "--model", help="Model folder, runs:/... or models:/..."),
    transactions: Path = typer.Option(..., "--transactions", "-t", help="Transactions file."),
    cutoff: str = typer.Option(..., "--cutoff", help="Recommend as of this date (ts < cutoff)."),
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
    events: Path | None = EventsOpt,
    catalog: Path | None = CatalogOpt,
    calendar: Path | None = CalendarOpt,
    format: str = FormatOpt,
    map_items: list[str] | None = MapOpt,
    map_file: Path | None = MapFileOpt,
    encoding: str | None = EncodingOpt,
    allow_future: bool = AllowFutureOpt,
    hash_ids: bool = HashIdsOpt,
    id_key_env: str = IdKeyEnvOpt,
    engine: str = EngineOpt,
    spark_master: str | None = SparkMasterOpt,
    spark_conf: list[str] | None = SparkConfOpt,
    spark_partitions: int | None = SparkPartitionsOpt,
) -> None:
    """Write top-K recommendations: customer_id, sku, rank, score, source."""
    with handle_errors():
        import pandas as pd

        from ecomml.exceptions import SchemaError
        from ecomml.modelstore import check_feature_hashes, is_mlflow_uri, load_model
        from ecomml.privacy import (
            check_model_ids,
            key_from_env,
            pseudonymize_frame,
            pseudonymize_shop,
        )
        from ecomml.recommend import build_interactions
        from ecomml.recommend.pipeline import STORE_VIEWS

        id_key = key_from_env(id_key_env) if hash_ids else None
        if is_mlflow_uri(model):
            configure_tracking()  # the CLI's store, where --register put the model
        with make_progress() as progress:
            task = progress.add_task("loading model", total=4)
            loaded = load_model(model, task="recommend")
            hashed_model = check_model_ids(loaded.metadata, id_key, model=model, env=id_key_env)
            spark_engine = use_spark(engine, format=format, mapped=bool(map_items or map_file))
            if spark_engine and hashed_model:
                from ecomml.exceptions import ConfigError

                raise ConfigError(
                    "--engine spark scores models trained on real customer ids; this one "
                    "knows pseudonyms only: score it with the local engine"
                )
            if spark_engine:
                cut, rec = pd.Timestamp(cutoff), loaded.model
                inter = pd.DataFrame({"sku": pd.Series([], dtype=object)})
            else:
                progress.update(task, advance=1, description="loading data")
                shop = _shop(
                    transactions,
                    cutoff=cutoff,
                    format=format,
                    map_items=map_items,
                    map_file=map_file,
                    events=events,
                    catalog=catalog,
                    calendar=calendar,
                    encoding=encoding,
                    allow_future=allow_future,
                )
                if hashed_model:  # the model knows customers by pseudonym only
                    shop = pseudonymize_shop(shop, id_key)
                cut = pd.Timestamp(cutoff)
                rec = loaded.model
                store = None
                if getattr(rec, "uses_store_", False):
                    store = store_from_shop(shop)
                    check_feature_hashes(loaded, [store.view(v) for v in STORE_VIEWS])
                inter = build_interactions(shop.transactions, shop.events, cutoff=cut)
            who: Any = None
            if customers is not None:
                who = _read_table(customers, "--customers")
                if "customer_id" not in who.columns:
                    raise SchemaError(
                        f"--customers {customers} needs a customer_id column; found "
                        f"{list(who.columns)[:8]}",
                        missing=["customer_id"],
                        columns=list(who.columns),
                    )
                who = who.dropna(subset=["customer_id"]).astype({"customer_id": str})
                if hashed_model:
                    who = pseudonymize_frame(who, id_key, keep_pseudonyms=True)
            boosts = None
            if boost is not None:
                b = _read_table(boost, "--boost")
                if not {"sku", "boost"} <= set(b.columns):
                    raise SchemaError(
                        f"--boost {boost} needs columns sku, boost; found {list(b.columns)[:8]}",
                        missing=sorted({"sku", "boost"} - set(b.columns)),
                        columns=list(b.columns),
                    )
                boosts = b.assign(sku=b["sku"].astype(str)).set_index("sku")["boost"]
                boosts = pd.to_numeric(boosts, errors="coerce").fillna(0.0)
            progress.update(task, advance=1, description="ranking")
            kwargs: dict[str, Any] = {
                "exclude_seen": exclude_purchased,
                "history": inter if len(inter) else None,
                "cutoff": cut,
            }
            if hasattr(rec, "ranker_") and not spark_engine:
                kwargs.update(
                    store=store,
                    catalog=shop.catalog,
                    max_per_category=max_per_category,
                    boost=boosts,
                )
            if spark_engine:
                from ecomml.spark.commands import recommend_frame

                recs = recommend_frame(
                    model, transactions, cut, k=k, events=events, catalog=catalog,
                    calendar=calendar, customers=who, exclude_purchased=exclude_purchased,
                    max_per_category=max_per_category, boost=b if boost is not None else None,
                    master=spark_master, conf=spark_conf, partitions=spark_partitions,
                )  # fmt: skip
            else:
                recs = rec.recommend(who, k, **kwargs)
            if id_key is not None and not hashed_model:
                recs = pseudonymize_frame(recs, id_key)
            progress.update(task, advance=1, description="writing")
            _write_output(recs, output)
            progress.update(task, completed=4, description="done")
        n_cold = int((recs["source"] == "popular-cold-start").sum()) // max(k, 1)
        unknown = 0
        if len(inter):
            unknown = int((~inter["sku"].isin(set(rec.sku_index_))).sum())
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
    train.command("recommend")(train_recommend)
    predict.command("recommend")(predict_recommend)
