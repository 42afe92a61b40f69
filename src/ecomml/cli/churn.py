"""``ecomml train|predict churn``: churn, repurchase and customer value (ecomml.churn)."""

from __future__ import annotations

from pathlib import Path

import typer

from ecomml.cli._common import configure_tracking, console, handle_errors, make_progress
from ecomml.cli._load import (
    AllowFutureOpt,
    CalendarOpt,
    CatalogOpt,
    EncodingOpt,
    EventsOpt,
    FormatOpt,
    MapFileOpt,
    MapOpt,
    TransactionsOpt,
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


def _require_transactions(transactions: Path | None) -> Path:
    if transactions is None:
        from ecomml.exceptions import ConfigError

        raise ConfigError(
            "--transactions FILE is required: the shop's order history (CSV, Parquet or Excel)"
        )
    return transactions


def _load(
    transactions,
    format,
    map_items,
    map_file,
    events,
    catalog,
    calendar,
    encoding,
    allow_future,
    cutoff,
):  # type: ignore[no-untyped-def]
    return shop_from_options(
        _require_transactions(transactions), cutoff=cutoff, format=format,
        map_items=map_items, map_file=map_file, events=events, catalog=catalog,
        calendar=calendar, encoding=encoding, allow_future=allow_future,
    )  # fmt: skip


def train_churn(
    transactions: Path | None = TransactionsOpt,
    cutoff: str = typer.Option(
        ..., "--cutoff", help="Train on history before this date (exclusive)."
    ),
    horizon: int = typer.Option(..., "--horizon", help="Churn = no purchase in this many days."),
    model_dir: Path = typer.Option(
        Path("models/churn"), "--model-dir", help="Where to save the model."
    ),
    register: str | None = typer.Option(
        None, "--register", help="Register the model in MLflow under this name."
    ),
    format: str = FormatOpt,
    map_items: list[str] | None = MapOpt,
    map_file: Path | None = MapFileOpt,
    events: Path | None = EventsOpt,
    catalog: Path | None = CatalogOpt,
    calendar: Path | None = CalendarOpt,
    encoding: str | None = EncodingOpt,
    allow_future: bool = AllowFutureOpt,
    btyd: str = typer.Option("auto", "--btyd", help="auto, bgnbd or mbgnbd."),
    step: int = typer.Option(30, "--step", help="Days between stacked training cutoffs."),
    max_cutoffs: int = typer.Option(12, "--max-cutoffs", help="Most training cutoffs to stack."),
    repurchase_days: int = typer.Option(30, "--repurchase-days", help="Window of p_repurchase."),
    discount_rate: float = typer.Option(
        0.10, "--discount-rate", help="Annual discount rate of expected_value."
    ),
    out: Path = typer.Option(
        Path("ecomml-output"), "--out", help="Folder for the evaluation plots."
    ),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log to MLflow."),
) -> None:
    """Fit BG/NBD, Gamma-Gamma and (when earlier label windows are complete) the LightGBM
    churn classifier on the history before --cutoff."""
    with handle_errors():
        from ecomml._validation import check_cutoff
        from ecomml.churn.quickstart import write_plots
        from ecomml.churn.scoring import ChurnModel
        from ecomml.modelstore import feature_hashes, save_model
        from ecomml.privacy import scrub_mapping

        cut = check_cutoff(cutoff, name="--cutoff")
        uri = None if no_track else configure_tracking()
        with make_progress() as bar:
            task = bar.add_task("reading data", total=None)
            shop = _load(
                transactions,
                format,
                map_items,
                map_file,
                events,
                catalog,
                calendar,
                encoding,
                allow_future,
                cut,
            )
            store = store_from_shop(shop)
            model = ChurnModel(
                horizon,
                btyd=btyd,
                step=step,
                max_cutoffs=max_cutoffs,
                repurchase_days=repurchase_days,
                discount_rate=discount_rate,
            )
            model.fit(
                shop.transactions,
                store,
                cutoff=cut,
                events=shop.events is not None and len(shop.events) > 0,
                progress=lambda msg: bar.update(task, description=msg),
            )
            bar.update(task, description="scoring the training cutoff")
            scored = model.score(shop.transactions, store, cutoff=cut)
            plots = write_plots(model, scored, out / "plots" / "churn")
            val = model.validation_ or {}
            metrics = {
                f"holdout_{who}_{k}": float(v)
                for who in ("classifier", "btyd")
                for k, v in (val.get(who) or {}).items()
            }
            rep = val.get("repurchase") or {}
            metrics.update(
                {
                    f"holdout_repurchase_{who}_{k}": float(v)
                    for who in ("classifier", "btyd")
                    for k, v in (rep.get(who) or {}).items()
                }
            )
            tx = shop.transactions
            saved = save_model(
                model,
                model_dir,
                task="churn",
                cutoff=cut,
                metrics=metrics,
                features=feature_hashes([store.view(v) for v in model.views_]),
                training_window=(tx["ts"].min(), tx["ts"].max()),
                extra={
                    "horizon": horizon,
                    **model.describe(),
                    "data": scrub_mapping(shop.fingerprint),
                },
            )
            run_id = None
            if uri is not None:
                bar.update(task, description="logging to MLflow")
                run_id = _log_run(model, shop, cut, metrics, plots, saved, register)
        if model.note_:
            console.print(f"[yellow]note:[/yellow] {model.note_}", soft_wrap=True)
        p = model.btyd_model_.params_
        console.print(
            f"{model.btyd_kind_.upper()}: r={p['r']:.3f} alpha={p['alpha']:.3f} a={p['a']:.3f} "
            f"b={p['b']:.3f} on {model.btyd_model_.n_customers_:,} customers",
            soft_wrap=True,
        )
        if model.classifier_ is not None:
            console.print(
                f"classifier: LightGBM on {model.n_training_rows_:,} rows from "
                f"{len(model.training_cutoffs_)} cutoffs, calibration {model.classifier_.calibration_}",
                soft_wrap=True,
            )
        if val:
            for who in ("classifier", "btyd"):
                m = val[who]
                console.print(
                    f"holdout {val['cutoff'][:10]} {who:10s} AUC {m['roc_auc']:.3f}  PR-AUC "
                    f"{m['pr_auc']:.3f}  Brier {m['brier']:.3f}  top-decile lift "
                    f"{m['lift_top_decile']:.2f}",
                    soft_wrap=True,
                )
        if val.get("repurchase"):
            rep = val["repurchase"]
            console.print(
                f"repurchase within {repurchase_days} days, {rep['customers']:,} first-order "
                f"customers at {rep['cutoff'][:10]}: classifier AUC "
                f"{rep['classifier']['roc_auc']:.3f} Brier {rep['classifier']['brier']:.3f}; "
                f"BG/NBD AUC {rep['btyd']['roc_auc']:.3f} Brier {rep['btyd']['brier']:.3f}",
                soft_wrap=True,
            )
        console.print(f"model saved to {saved}", soft_wrap=True)
        if run_id:
            console.print(f"MLflow run {run_id} in {uri}", soft_wrap=True)


def _log_run(model, shop, cut, metrics, plots, model_dir, register):  # type: ignore[no-untyped-def]
    import mlflow

    from ecomml.modelstore import log_model
    from ecomml.tracking import log_fingerprint, log_params, tracked_run

    with tracked_run(
        "ecomml-churn", run_name=f"churn-{cut.date()}", tags={"ecomml.task": "churn"}
    ) as run:
        log_fingerprint(shop.fingerprint, cutoff=cut)
        params = {k: v for k, v in model.get_params().items() if k != "classifier"}
        params.update({f"btyd.{k}": v for k, v in model.btyd_model_.params_.items()})
        params["btyd.kind"] = model.btyd_kind_
        params["training_cutoffs"] = len(model.training_cutoffs_)
        if model.classifier_ is not None:
            params["calibration"] = model.classifier_.calibration_
        log_params(params)
        if metrics:
            mlflow.log_metrics(metrics)
        for path in plots.values():
            mlflow.log_artifact(str(path), artifact_path="plots/churn")
        log_model(model_dir, registered_model_name=register)
        return str(run.info.run_id)


def predict_churn(
    model: str = typer.Option(..., "--model", help="Model directory, runs:/... or models:/..."),
    transactions: Path | None = TransactionsOpt,
    cutoff: str = typer.Option(..., "--cutoff", help="Score as of this date (exclusive)."),
    output: Path = typer.Option(..., "--output", help="Scored list: .csv or .parquet."),
    hash_ids: bool = typer.Option(
        False,
        "--hash-ids",
        help=f"Replace customer ids with keyed pseudonyms (pid_...; key from ${ID_KEY_ENV}, "
        "never stored).",
    ),
    id_key_env: str = typer.Option(
        ID_KEY_ENV, "--id-key-env", help="Environment variable holding the pseudonym key."
    ),
    extra_columns: bool = typer.Option(
        False,
        "--extra-columns",
        help="Also write p_alive, RFM scores, recency, frequency, monetary.",
    ),
    format: str = FormatOpt,
    map_items: list[str] | None = MapOpt,
    map_file: Path | None = MapFileOpt,
    events: Path | None = EventsOpt,
    catalog: Path | None = CatalogOpt,
    calendar: Path | None = CalendarOpt,
    encoding: str | None = EncodingOpt,
    allow_future: bool = AllowFutureOpt,
    engine: str = EngineOpt,
    spark_master: str | None = SparkMasterOpt,
    spark_conf: list[str] | None = SparkConfOpt,
    spark_partitions: int | None = SparkPartitionsOpt,
) -> None:
    """Score every customer with a purchase before --cutoff; sorted by value at risk."""
    with handle_errors():
        from ecomml._io import atomic_path
        from ecomml._validation import check_cutoff
        from ecomml.churn.scoring import SCORED_COLUMNS
        from ecomml.exceptions import ConfigError
        from ecomml.modelstore import check_feature_hashes, load_model
        from ecomml.privacy import (
            check_model_ids,
            key_from_env,
            pseudonymize_frame,
            pseudonymize_shop,
        )

        cut = check_cutoff(cutoff, name="--cutoff")
        suffix = output.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise ConfigError(f"--output {output}: use a .csv or .parquet file name")
        key = key_from_env(id_key_env) if hash_ids else None
        from ecomml.modelstore import is_mlflow_uri

        if is_mlflow_uri(model):
            configure_tracking()
        spark_engine = use_spark(engine, format=format, mapped=bool(map_items or map_file))
        with make_progress() as bar:
            task = bar.add_task("loading model", total=None)
            loaded = load_model(model, task="churn")
            m = loaded.model
            hashed_model = check_model_ids(loaded.metadata, key, model=model, env=id_key_env)
            if spark_engine:
                from ecomml.spark.commands import churn_frame

                if hashed_model:
                    raise ConfigError(
                        "--engine spark scores models trained on real customer ids; this one "
                        "knows pseudonyms only: score it with the local engine"
                    )
                bar.update(task, description="scoring customers on Spark")
                scored = churn_frame(
                    model, transactions, cut, events=events, catalog=catalog,
                    calendar=calendar, extra_columns=extra_columns, master=spark_master,
                    conf=spark_conf, partitions=spark_partitions,
                )  # fmt: skip
            else:
                bar.update(task, description="reading data")
                shop = _load(
                    transactions,
                    format,
                    map_items,
                    map_file,
                    events,
                    catalog,
                    calendar,
                    encoding,
                    allow_future,
                    cut,
                )
                if hashed_model:  # the model knows customers by pseudonym only
                    shop = pseudonymize_shop(shop, key)
                if "customer_events" in m.views_ and (shop.events is None or shop.events.empty):
                    raise ConfigError(
                        "this churn model was trained with an events log: pass --events FILE "
                        "(customer_id, sku, ts, event) covering the history before --cutoff"
                    )
                store = store_from_shop(shop)
                check_feature_hashes(loaded, [store.view(v) for v in m.views_])
                bar.update(task, description="scoring customers")
                scored = m.score(shop.transactions, store, cutoff=cut)
                cols = list(scored.columns) if extra_columns else list(SCORED_COLUMNS)
                scored = scored[cols]
            if key is not None and not hashed_model:
                scored = pseudonymize_frame(scored, key)
            with atomic_path(output, suffix=f".tmp{suffix}") as tmp:
                if suffix == ".csv":
                    scored.to_csv(tmp, index=False)
                else:
                    scored.to_parquet(tmp, index=False)
        console.print(
            f"scored {len(scored):,} customers as of {cut.date()}: mean P(churn) "
            f"{scored['p_churn'].mean():.3f}, value at risk {scored['value_at_risk'].sum():,.0f}; "
            f"written to {output}",
            soft_wrap=True,
        )


def backtest_churn(
    transactions: Path | None = TransactionsOpt,
    cutoff: str = typer.Option(..., "--cutoff", help="Use data before this date (exclusive)."),
    horizon: int = typer.Option(..., "--horizon", help="Churn = no purchase in this many days."),
    folds: int = typer.Option(3, "--folds", help="Number of fold cutoffs."),
    fold_step: int | None = typer.Option(
        None, "--fold-step", help="Days between fold cutoffs (default: the horizon)."
    ),
    output: Path | None = typer.Option(None, "--output", help="Write the metrics (.csv/.parquet)."),
    format: str = FormatOpt,
    map_items: list[str] | None = MapOpt,
    map_file: Path | None = MapFileOpt,
    events: Path | None = EventsOpt,
    catalog: Path | None = CatalogOpt,
    calendar: Path | None = CalendarOpt,
    encoding: str | None = EncodingOpt,
    allow_future: bool = AllowFutureOpt,
) -> None:
    """Refit the churn model at rolling fold cutoffs and compare it (and BG/NBD alone) with
    what happened in the following --horizon days."""
    with handle_errors():
        from rich.table import Table

        from ecomml._io import atomic_path
        from ecomml._validation import check_cutoff
        from ecomml.churn.backtest import backtest_churn as _backtest
        from ecomml.exceptions import ConfigError

        cut = check_cutoff(cutoff, name="--cutoff")
        if output is not None and output.suffix.lower() not in (".csv", ".parquet"):
            raise ConfigError(f"--output {output}: use a .csv or .parquet file name")
        with make_progress() as bar:
            task = bar.add_task("reading data", total=None)
            shop = _load(
                transactions,
                format,
                map_items,
                map_file,
                events,
                catalog,
                calendar,
                encoding,
                allow_future,
                cut,
            )
            res = _backtest(
                shop,
                cutoff=cut,
                horizon=horizon,
                folds=folds,
                step=fold_step,
                progress=lambda msg: bar.update(task, description=msg),
            )
        table = Table(title=f"churn backtest, {horizon}-day horizon")
        for col in (
            "cutoff",
            "model",
            "customers",
            "roc_auc",
            "pr_auc",
            "brier",
            "lift_top_decile",
            "base_rate",
            "mean_predicted",
        ):
            table.add_column(col, justify="left" if col in ("cutoff", "model") else "right")
        for r in res.itertuples(index=False):
            table.add_row(
                str(r.cutoff.date()),
                r.model,
                f"{r.customers:,}",
                f"{r.roc_auc:.3f}",
                f"{r.pr_auc:.3f}",
                f"{r.brier:.3f}",
                f"{r.lift_top_decile:.2f}",
                f"{r.base_rate:.3f}",
                f"{r.mean_predicted:.3f}",
            )
        console.print(table)
        if output is not None:
            with atomic_path(output, suffix=f".tmp{output.suffix.lower()}") as tmp:
                if output.suffix.lower() == ".csv":
                    res.to_csv(tmp, index=False)
                else:
                    res.to_parquet(tmp, index=False)
            console.print(f"metrics written to {output}", soft_wrap=True)


def register(*, train: typer.Typer, predict: typer.Typer, backtest: typer.Typer) -> None:
    """Add this task's commands to the ``train``, ``predict`` and ``backtest`` groups."""
    train.command("churn")(train_churn)
    predict.command("churn")(predict_churn)
    backtest.command("churn")(backtest_churn)
