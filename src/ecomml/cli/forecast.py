"""``ecomml train|predict|backtest forecast``: demand forecasting (ecomml.forecasting)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ecomml.cli._common import console, handle_errors, make_progress, print_frame
from ecomml.cli._task import save_and_log, score_command, steps
from ecomml.cli.options import (
    DataOptions,
    RegisterOpt,
    SparkOptions,
    TrackOptions,
    TrustPickleOpt,
    with_groups,
)

TASK = "forecast"
MODEL_HELP = "Model: lgbm (global LightGBM), auto (best per demand pattern), or a baseline: " "naive, snaive, ma, ets, croston, sba, tsb."  # fmt: skip
CutoffOpt = typer.Option(..., "--cutoff", help="Learn from rows with ts < cutoff (exclusive).")
FreqOpt = typer.Option("W", "--freq", help="W (weeks starting Monday) or D (days).")
HorizonOpt = typer.Option(8, "--horizon", help="Periods to forecast: 1-8 weeks or 1-56 days.")


def _metrics_table(metrics: Any, title: str) -> None:
    cols = {"wape": "wape", "bias": "bias", "mase": "mase", "rmsse": "rmsse",
            "scaled_pinball": "sc.pinball", "coverage_80": "cov80",
            "below_q10": "<q10", "above_q90": ">q90"}  # fmt: skip
    names = [
        "all" if g == "all" else str(v) if g == "model" else f"{g}={v}"
        for g, v in zip(metrics["group"], metrics["value"], strict=True)
    ]
    frame = metrics.assign(slice=names, series=metrics["n_series"].astype(int))
    fmt = {"slice": "{}", "series": "{}", **dict.fromkeys(cols.values(), "{:.3f}")}
    print_frame(frame.rename(columns=cols), title, fmt, left=("slice",))


def _save_plots(bt: Any, panel: Any, plot_dir: Path, track: bool) -> dict[str, Path]:
    from ecomml.forecasting.task import backtest_figures
    from ecomml.plots import save_figure

    paths = {k: save_figure(f, plot_dir / k) for k, f in backtest_figures(bt, panel).items()}
    if track:
        from ecomml.tracking import log_files

        log_files(paths.values(), "plots")
    return paths


def _flat(summary: Any, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for _, r in summary.iterrows():
        key = "" if r["group"] == "all" else f"{r['group']}.{r['value']}."
        for c in ("wape", "bias", "mase", "rmsse", "scaled_pinball", "coverage_80", "coverage_90", "below_q10", "above_q90"):  # fmt: skip
            v = float(r[c])
            if v == v:  # not NaN
                out[f"{prefix}{key}{c}"] = v
    return out


def register(*, train: typer.Typer, predict: typer.Typer, backtest: typer.Typer) -> None:
    """Add this task's commands to the ``train``, ``predict`` and ``backtest`` groups."""
    train.command(TASK)(train_forecast)
    predict.command(TASK)(predict_forecast)
    backtest.command(TASK)(backtest_forecast)


@with_groups
def train_forecast(
    data: DataOptions,
    spark: SparkOptions,
    tracking: TrackOptions,
    cutoff: str = CutoffOpt,
    freq: str = FreqOpt,
    horizon: int = HorizonOpt,
    model_dir: Path = typer.Option(Path("models/forecast"), "--model-dir", help="Model folder."),
    register_name: str | None = RegisterOpt,
    model: str = typer.Option("lgbm", "--model", help=MODEL_HELP),
    strategy: str = typer.Option("direct", "--strategy", help="direct or recursive (lgbm)."),
    validate_folds: int = typer.Option(
        1, "--validate-folds", help="Rolling-origin folds scored before the final fit (0: none)."
    ),
    plots_dir: Path | None = typer.Option(
        None, "--plots-dir", help="Where PNG plots go (default: <model-dir>-plots)."
    ),
    partition_by: str | None = typer.Option(
        None,
        "--partition-by",
        help="Train one model per value of this SKU attribute "
        "(e.g. category) and route each SKU to its partition's model.",
    ),  # fmt: skip
) -> None:
    """Train a demand forecaster on the history before --cutoff and save it to --model-dir."""
    with handle_errors():
        from ecomml.exceptions import ConfigError
        from ecomml.forecasting.task import ForecastTask, backtest_figures, shop_panel
        from ecomml.task import TaskData

        if register_name and not tracking.track:
            raise ConfigError("--register needs MLflow tracking; drop --no-track")
        task = ForecastTask()
        f = freq.upper()
        params: dict[str, Any] = {"model": model, "freq": f, "horizon": horizon}
        if model == "lgbm":
            params["strategy"] = strategy
        est = task.make_model(params)
        spark_engine = spark.use(data)
        if partition_by:
            from ecomml.spark.partitioned import PartitionedForecaster

            kw = {"strategy": strategy} if model == "lgbm" else {}
            est = PartitionedForecaster(
                freq=f, horizon=horizon, model=model, partition_col=partition_by, params=kw
            )
        elif spark_engine:
            raise ConfigError(
                "--engine spark trains one model per partition in parallel: add --partition-by "
                "COLUMN (e.g. category); one global model trains with the local engine"
            )
        cut = data.date(cutoff)
        metrics: dict[str, float] = {}
        bt = None
        figures = {}
        with steps("loading data") as say:
            if spark_engine:
                from ecomml.features.store import FeatureStore
                from ecomml.spark.commands import train_forecast_frame

                say(f"fitting {model} per {partition_by} on Spark")
                est, window, n_skus = train_forecast_frame(
                    data.transactions, cut, catalog=data.catalog, calendar=data.calendar,
                    est=est, master=spark.spark_master, conf=spark.spark_conf,
                )  # fmt: skip
                # the view definitions only, for the model's feature hashes
                td = TaskData(_window_shop(window, data.transactions), cut, FeatureStore())
            else:
                td = TaskData(data.shop(cut, required=False), cut)
                if validate_folds > 0:
                    say("validation backtest")
                    bt, panel = task.backtest(td, folds=validate_folds, estimator=est)
                    metrics = _flat(bt.summary(), "val.")
                    figures = backtest_figures(bt, panel)
                say(f"fitting {model}")
                panel, _ = shop_panel(td.shop, cut, f, store=td.store)
                est.fit(panel, **task.fit_kwargs(est, td.shop))
            path, run_id = save_and_log(
                task, est, td, model_dir=model_dir, tracking=tracking,
                params={**params, "partition_by": partition_by}, metrics=metrics,
                figures=figures, plots_dir=plots_dir or model_dir.with_name(model_dir.name + "-plots"),
                run_name=f"train-{model}", register=register_name, say=say,
                run_params={"freq": f, "horizon": horizon, "model": model, "strategy": strategy,
                            "validate_folds": validate_folds if not spark_engine else 0,
                            "partition_by": partition_by or "", "engine": spark.engine},
            )  # fmt: skip
        if bt is not None:
            _metrics_table(bt.summary(), "validation (mean over folds)")
        console.print(f"model saved to {path}" + (f" (MLflow run {run_id})" if run_id else ""))


def _window_shop(window: tuple[Any, Any], source: Any) -> Any:
    """A stand-in shop holding only the time window a Spark job trained on."""
    import pandas as pd

    from ecomml.data.shop import ShopData

    return ShopData(
        transactions=pd.DataFrame({"ts": pd.to_datetime(list(window))}), source=str(source)
    )


@with_groups
def predict_forecast(
    data: DataOptions,
    spark: SparkOptions,
    model: str = typer.Option(
        ..., "--model", help="Model folder, runs:/<id>/model or models:/NAME@alias."
    ),
    cutoff: str = CutoffOpt,
    output: Path = typer.Option(..., "--output", "-o", help="Forecast Parquet file."),
    trust_pickle: bool = TrustPickleOpt,
    lead_time: int | None = typer.Option(None, "--lead-time", help="Lead time in periods."),
    review_period: int = typer.Option(0, "--review-period", help="Review period in periods."),
    lead_time_output: Path | None = typer.Option(
        None, "--lead-time-output", help="Parquet file for lead-time demand quantiles per SKU."
    ),
) -> None:
    """Forecast the model's horizon from the period holding --cutoff, using rows before it.

    Columns: sku, ds, mean, q05, q10, q25, q50, q75, q90, q95, pattern, fallback.
    """
    with handle_errors():
        from ecomml.exceptions import ConfigError
        from ecomml.forecasting.leadtime import lead_time_demand
        from ecomml.runner import write_output

        if (lead_time is None) != (lead_time_output is None):
            raise ConfigError("--lead-time and --lead-time-output go together; give both")
        data.refuse_overwrite(("--lead-time-output", lead_time_output), inputs=[model])

        def on_spark(cut: Any, opts: dict) -> Any:
            from ecomml.spark.commands import forecast_frame

            return forecast_frame(
                model, data.transactions, cut, catalog=data.catalog,
                calendar=data.calendar, master=spark.spark_master, conf=spark.spark_conf,
                partitions=spark.spark_partitions,
            )  # fmt: skip

        res = score_command(
            TASK, data=data, model=model, cutoff=cutoff, output=output, spark=spark,
            spark_score=on_spark, required=False, default_format="parquet",
            trust_pickle=trust_pickle,
        )  # fmt: skip
        fc = res.frame
        if lead_time is not None and lead_time_output is not None:
            ltd = lead_time_demand(fc, lead_time=lead_time, review_period=review_period)
            write_output(ltd, lead_time_output, default_format="parquet")
        n_fb = int(fc.loc[fc["fallback"], "sku"].nunique())
        console.print(
            f"{fc['sku'].nunique()} SKUs x {int(res.loaded.model.horizon)} periods from "
            f"{fc['ds'].min().date()} ({n_fb} with the category fallback) -> {output}"
        )


@with_groups
def backtest_forecast(
    data: DataOptions,
    tracking: TrackOptions,
    cutoff: str = CutoffOpt,
    freq: str = FreqOpt,
    horizon: int = HorizonOpt,
    folds: int = typer.Option(3, "--folds", help="Rolling origins (the last ends at the cutoff)."),
    step: int | None = typer.Option(
        None, "--step", help="Periods between origins (default: horizon)."
    ),
    models: str = typer.Option(
        "lgbm,snaive,tsb", "--models", help="Comma-separated models to compare. " + MODEL_HELP
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the metrics table (CSV or Parquet)."
    ),
    plots_dir: Path = typer.Option(
        Path("reports/forecast-backtest"), "--plots-dir", help="PNG plots folder."
    ),
) -> None:
    """Rolling-origin backtest on the history before --cutoff: --folds origins, each
    refit on the periods before it and scored on the next --horizon periods."""
    with handle_errors():
        import pandas as pd

        from ecomml.forecasting.task import ForecastTask
        from ecomml.runner import write_output
        from ecomml.task import TaskData

        task = ForecastTask()
        f = freq.upper()
        names = [m.strip() for m in models.split(",") if m.strip()]
        ests = {m: task.make_model({"model": m, "freq": f, "horizon": horizon}) for m in names}
        track = tracking.track
        cut = data.date(cutoff)
        data.refuse_overwrite(("--output", output))
        td = TaskData(data.shop(cut, required=False), cut)
        run_ctx = tracking.run(TASK, "backtest")
        rows = []
        with run_ctx, make_progress() as progress:
            bar = progress.add_task("backtest", total=len(ests) * folds)
            for i, (name, est) in enumerate(ests.items()):

                def say(msg: str, _n: str = name, _i: int = i) -> None:
                    progress.update(bar, completed=_i * folds, description=f"{_n}: {msg}")

                bt, panel = task.backtest(td, folds=folds, step=step, estimator=est, progress=say)
                summ = bt.summary()
                rows.append(summ.assign(model=name, seconds=sum(bt.seconds.values())))
                if track:
                    from ecomml.tracking import log_metrics

                    log_metrics(_flat(summ, f"{name}."))
                if name == names[0]:
                    _save_plots(bt, panel, plots_dir, track)
            if track:
                from ecomml.tracking import log_params

                log_params({"freq": f, "horizon": horizon, "folds": folds, "models": models})
        table = pd.concat(rows, ignore_index=True)
        overall = table.loc[table["group"] == "all"].assign(
            group="model", value=lambda d: d["model"]
        )
        _metrics_table(overall, f"backtest: {folds} folds x {horizon} periods, mean over folds")
        _metrics_table(
            table.loc[(table["model"] == names[0]) & (table["group"] != "all")],
            f"{names[0]} by pattern and ABC class",
        )
        if output is not None:
            write_output(table, output, default_format="csv")
            console.print(f"metrics -> {output}")
