"""``ecomml train|predict|backtest churn``: the churn task (:class:`ecomml.churn.ChurnTask`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ecomml.cli._common import console, handle_errors, print_frame
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

TASK = "churn"


@with_groups
def train_churn(
    data: DataOptions,
    tracking: TrackOptions,
    cutoff: str = typer.Option(
        ..., "--cutoff", help="Train on history before this date (exclusive)."
    ),
    horizon: int = typer.Option(..., "--horizon", help="Churn = no purchase in this many days."),
    model_dir: Path = typer.Option(
        Path("models/churn"), "--model-dir", help="Where to save the model."
    ),
    register: str | None = RegisterOpt,
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
) -> None:
    """Fit BG/NBD, Gamma-Gamma and (when earlier label windows are complete) the LightGBM
    churn classifier on the history before --cutoff."""
    with handle_errors():
        from ecomml.churn.task import ChurnTask
        from ecomml.task import TaskData

        task = ChurnTask()
        cut = data.date(cutoff)
        params = {"horizon": horizon, "btyd": btyd, "step": step, "max_cutoffs": max_cutoffs,
                  "repurchase_days": repurchase_days, "discount_rate": discount_rate}  # fmt: skip
        with steps("reading data") as say:
            td = TaskData(data.shop(cut), cut)
            model = task.fit(td, params=params, progress=say)
            say("scoring the training cutoff")
            saved, run_id = save_and_log(
                task, model, td, model_dir=model_dir, tracking=tracking, params=params,
                metrics=task.holdout_metrics(model), figures=task.figures(model, td),
                plots_dir=out / "plots" / TASK, register=register, say=say, run_name=f"churn-{cut.date()}",
                run_params={"btyd.kind": model.btyd_kind_, **{
                    f"btyd.{k}": v for k, v in model.btyd_model_.params_.items()},
                    "training_cutoffs": len(model.training_cutoffs_)},
            )  # fmt: skip
        for line in task.describe(model):
            console.print(line, soft_wrap=True)
        console.print(f"model saved to {saved}", soft_wrap=True)
        if run_id:
            console.print(f"MLflow run {run_id} in {tracking.uri()}", soft_wrap=True)


@with_groups
def predict_churn(
    data: DataOptions,
    ids: IdOptions,
    spark: SparkOptions,
    model: str = typer.Option(..., "--model", help="Model directory, runs:/... or models:/..."),
    cutoff: str = typer.Option(..., "--cutoff", help="Score as of this date (exclusive)."),
    output: Path = typer.Option(..., "--output", help="Scored list: .csv or .parquet."),
    trust_pickle: bool = TrustPickleOpt,
    extra_columns: bool = typer.Option(
        False,
        "--extra-columns",
        help="Also write p_alive, RFM scores, recency, frequency, monetary.",
    ),
) -> None:
    """Score every customer with a purchase before --cutoff; sorted by value at risk."""
    with handle_errors():

        def on_spark(cut: Any, opts: dict) -> Any:
            from ecomml.spark.commands import churn_frame

            return churn_frame(
                model, data.transactions, cut, events=data.events, catalog=data.catalog,
                calendar=data.calendar, extra_columns=extra_columns, master=spark.spark_master,
                conf=spark.spark_conf, partitions=spark.spark_partitions,
            )  # fmt: skip

        res = score_command(
            TASK, data=data, model=model, cutoff=cutoff, output=output, spark=spark, ids=ids,
            spark_score=on_spark, options=lambda key: {"extra_columns": extra_columns},
            trust_pickle=trust_pickle,
        )  # fmt: skip
        scored = res.frame
        console.print(
            f"scored {len(scored):,} customers as of {res.cutoff.date()}: mean P(churn) "
            f"{scored['p_churn'].mean():.3f}, value at risk {scored['value_at_risk'].sum():,.0f}; "
            f"written to {output}",
            soft_wrap=True,
        )


@with_groups
def backtest_churn(
    data: DataOptions,
    cutoff: str = typer.Option(..., "--cutoff", help="Use data before this date (exclusive)."),
    horizon: int = typer.Option(..., "--horizon", help="Churn = no purchase in this many days."),
    folds: int = typer.Option(3, "--folds", help="Number of fold cutoffs."),
    fold_step: int | None = typer.Option(
        None, "--fold-step", help="Days between fold cutoffs (default: the horizon)."
    ),
    output: Path | None = typer.Option(None, "--output", help="Write the metrics (.csv/.parquet)."),
) -> None:
    """Refit the churn model at rolling fold cutoffs and compare it (and BG/NBD alone) with
    what happened in the following --horizon days."""
    with handle_errors():
        from ecomml.churn.backtest import backtest_churn as _backtest
        from ecomml.runner import check_output_name, write_output

        cut = data.date(cutoff)
        check_output_name(output)
        data.refuse_overwrite(("--output", output))
        with steps("reading data") as say:
            shop = data.shop(cut)
            res = _backtest(shop, cutoff=cut, horizon=horizon, folds=folds, step=fold_step,
                            progress=say)  # fmt: skip
        fmt = {"cutoff": "{:%Y-%m-%d}", "model": "{}", "customers": "{:,}", "roc_auc": "{:.3f}",
               "pr_auc": "{:.3f}", "brier": "{:.3f}", "lift_top_decile": "{:.2f}",
               "base_rate": "{:.3f}", "mean_predicted": "{:.3f}"}  # fmt: skip
        print_frame(res, f"churn backtest, {horizon}-day horizon", fmt, left=("cutoff", "model"))
        if output is not None:
            write_output(res, output)
            console.print(f"metrics written to {output}", soft_wrap=True)


def register(*, train: typer.Typer, predict: typer.Typer, backtest: typer.Typer) -> None:
    """Add this task's commands to the ``train``, ``predict`` and ``backtest`` groups."""
    train.command(TASK)(train_churn)
    predict.command(TASK)(predict_churn)
    backtest.command(TASK)(backtest_churn)
