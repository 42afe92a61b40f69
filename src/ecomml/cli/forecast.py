"""``ecomml train|predict|backtest forecast``: demand forecasting (ecomml.forecasting)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import typer

from ecomml.cli._common import console, handle_errors, make_progress
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
from ecomml.spark.commands import (
    EngineOpt,
    SparkConfOpt,
    SparkMasterOpt,
    SparkPartitionsOpt,
    use_spark,
)

TASK = "forecast"
MODEL_HELP = "Model: lgbm (global LightGBM), auto (best per demand pattern), or a baseline: " "naive, snaive, ma, ets, croston, sba, tsb."  # fmt: skip
CutoffOpt = typer.Option(..., "--cutoff", help="Learn from rows with ts < cutoff (exclusive).")
FreqOpt = typer.Option("W", "--freq", help="W (weeks starting Monday) or D (days).")
HorizonOpt = typer.Option(8, "--horizon", help="Periods to forecast: 1-8 weeks or 1-56 days.")
NoTrackOpt = typer.Option(False, "--no-track", help="Do not log to MLflow.")
ExperimentOpt = typer.Option("ecomml-forecast", "--experiment", help="MLflow experiment.")


def _shop(
    transactions: Path | None,
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
    from ecomml._validation import check_cutoff

    cut = check_cutoff(cutoff)
    shop = shop_from_options(
        transactions, cutoff=cut, format=format, map_items=map_items, map_file=map_file,
        events=events, catalog=catalog, calendar=calendar, encoding=encoding,
        allow_future=allow_future,
    )  # fmt: skip
    return shop, cut


def _metrics_table(metrics: Any, title: str) -> Any:
    from rich.table import Table

    cols = {"wape": "wape", "bias": "bias", "mase": "mase", "rmsse": "rmsse",
            "scaled_pinball": "sc.pinball", "coverage_80": "cov80",
            "below_q10": "<q10", "above_q90": ">q90"}  # fmt: skip
    t = Table(title=title)
    t.add_column("slice", no_wrap=True)
    t.add_column("series", justify="right")
    for c in cols.values():
        t.add_column(c, justify="right", no_wrap=True)
    for _, r in metrics.iterrows():
        name = "all" if r["group"] == "all" else (
            str(r["value"]) if r["group"] == "model" else f"{r['group']}={r['value']}"
        )  # fmt: skip
        t.add_row(name, f"{int(r['n_series'])}", *[f"{float(r[c]):.3f}" for c in cols])
    return t


def _log_plots(bt: Any, panel: Any, plot_dir: Path, track: bool) -> dict[str, Path]:
    from ecomml.forecasting.backtest import quantile_calibration
    from ecomml.forecasting.plots import (
        plot_error_by_class,
        plot_fan_charts,
        plot_quantile_coverage,
    )
    from ecomml.plots import save_figure

    figs = {
        "fan.png": plot_fan_charts(
            panel, bt.forecasts.loc[bt.forecasts["fold"] == bt.forecasts["fold"].max()]
        ),
        "error_by_class.png": plot_error_by_class(bt.summary()),
        "coverage.png": plot_quantile_coverage(quantile_calibration(bt.forecasts)),
    }
    paths = {k: save_figure(f, plot_dir / k) for k, f in figs.items()}
    if track:
        import mlflow

        for p in paths.values():
            mlflow.log_artifact(str(p), artifact_path="plots")
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


def train_forecast(
    transactions: Path | None = typer.Option(
        None, "--transactions", "-t", help="Transactions file (omit for the built-in sample shop)."
    ),
    cutoff: str = CutoffOpt,
    freq: str = FreqOpt,
    horizon: int = HorizonOpt,
    model_dir: Path = typer.Option(Path("models/forecast"), "--model-dir", help="Model folder."),
    register_name: str | None = typer.Option(
        None, "--register", help="Register the model in MLflow under this name."
    ),
    model: str = typer.Option("lgbm", "--model", help=MODEL_HELP),
    strategy: str = typer.Option("direct", "--strategy", help="direct or recursive (lgbm)."),
    validate_folds: int = typer.Option(
        1, "--validate-folds", help="Rolling-origin folds scored before the final fit (0: none)."
    ),
    plots_dir: Path | None = typer.Option(
        None, "--plots-dir", help="Where PNG plots go (default: <model-dir>-plots)."
    ),
    format: str = FormatOpt,
    map_items: list[str] | None = MapOpt,
    map_file: Path | None = MapFileOpt,
    events: Path | None = EventsOpt,
    catalog: Path | None = CatalogOpt,
    calendar: Path | None = CalendarOpt,
    encoding: str | None = EncodingOpt,
    allow_future: bool = AllowFutureOpt,
    no_track: bool = NoTrackOpt,
    experiment: str = ExperimentOpt,
    partition_by: str | None = typer.Option(
        None,
        "--partition-by",
        help="Train one model per value of this SKU attribute "
        "(e.g. category) and route each SKU to its partition's model.",
    ),  # fmt: skip
    engine: str = EngineOpt,
    spark_master: str | None = SparkMasterOpt,
    spark_conf: list[str] | None = SparkConfOpt,
) -> None:
    """Train a demand forecaster on the history before --cutoff and save it to --model-dir."""
    with handle_errors():
        import contextlib

        from ecomml.exceptions import ConfigError
        from ecomml.forecasting.auto import make_forecaster
        from ecomml.forecasting.backtest import backtest as run_backtest
        from ecomml.forecasting.task import shop_panel, view_for
        from ecomml.modelstore import feature_hashes, save_model

        if register_name and no_track:
            raise ConfigError("--register needs MLflow tracking; drop --no-track")
        f = freq.upper()
        kw: dict[str, Any] = {"strategy": strategy} if model == "lgbm" else {}
        est = make_forecaster(model, freq=f, horizon=horizon, **kw)
        est._check_params()
        spark_engine = use_spark(engine, format=format, mapped=bool(map_items or map_file))
        if partition_by:
            from ecomml.spark.partitioned import PartitionedForecaster

            est = PartitionedForecaster(
                freq=f, horizon=horizon, model=model, partition_col=partition_by, params=kw
            )
        elif spark_engine:
            raise ConfigError(
                "--engine spark trains one model per partition in parallel: add --partition-by "
                "COLUMN (e.g. category); one global model trains with the local engine"
            )
        track = not no_track
        with make_progress() as progress:
            task = progress.add_task("loading data", total=4)
            panel: Any = None
            if spark_engine:
                from ecomml._validation import check_cutoff
                from ecomml.features.views import builtin_views
                from ecomml.spark.commands import train_forecast_frame

                cut = check_cutoff(cutoff)
                progress.update(task, description=f"fitting {model} per {partition_by} on Spark")
                est, window, n_skus = train_forecast_frame(
                    transactions, cut, catalog=catalog, calendar=calendar, est=est,
                    master=spark_master, conf=spark_conf,
                )  # fmt: skip
                view = {v.name: v for v in builtin_views()}[view_for(f)]
                source, fit_kw = str(transactions), {}
            else:
                shop, cut = _shop(
                    transactions, cutoff, format, map_items, map_file, events, catalog, calendar,
                    encoding, allow_future,
                )  # fmt: skip
                panel, store = shop_panel(shop, cut, f)
                fit_kw = {"calendar": shop.calendar} if model in ("lgbm", "auto") else {}
                view = store.view(view_for(f))
                window = (panel["ds"].min(), panel["ds"].max())
                n_skus, source = int(panel["sku"].nunique()), shop.source
            progress.update(task, advance=1, description="validation backtest")
            run_ctx: Any = contextlib.nullcontext()
            if track:
                from ecomml.cli._common import configure_tracking
                from ecomml.tracking import tracked_run

                configure_tracking()
                run_ctx = tracked_run(
                    experiment, run_name=f"train-{model}", tags={"ecomml.task": TASK}
                )
            with run_ctx as run:
                metrics: dict[str, float] = {}
                bt = None
                if validate_folds > 0 and panel is not None:
                    bt = run_backtest(est, panel, folds=validate_folds, fit_params=fit_kw)
                    metrics = _flat(bt.summary(), "val.")
                progress.update(task, advance=1, description=f"fitting {model}")
                if panel is not None:
                    est.fit(panel, **fit_kw)
                progress.update(task, advance=1, description="saving")
                path = save_model(
                    est, model_dir, task=TASK, cutoff=cut, metrics=metrics,
                    features=feature_hashes([view]), training_window=window,
                    extra={"freq": f, "horizon": horizon, "model": model,
                           "strategy": strategy, "n_skus": n_skus, "source": source,
                           "partition_by": partition_by},
                )  # fmt: skip
                pdir = plots_dir or model_dir.with_name(model_dir.name + "-plots")
                if bt is not None:
                    _log_plots(bt, panel, pdir, track)
                if track:
                    import mlflow

                    from ecomml.modelstore import log_model
                    from ecomml.tracking import log_fingerprint, log_params

                    if panel is not None:
                        log_fingerprint(shop.fingerprint, cutoff=cut)
                    log_params(
                        {"freq": f, "horizon": horizon, "model": model, "strategy": strategy,
                         "validate_folds": validate_folds if panel is not None else 0,
                         "n_skus": n_skus, "partition_by": partition_by or "", "engine": engine}
                    )  # fmt: skip
                    if metrics:
                        mlflow.log_metrics(metrics)
                    log_model(path, registered_model_name=register_name)
            progress.update(task, advance=1, description="done")
        if bt is not None:
            console.print(_metrics_table(bt.summary(), "validation (mean over folds)"))
        console.print(
            f"model saved to {path}" + (f" (MLflow run {run.info.run_id})" if track else "")
        )


def predict_forecast(
    model: str = typer.Option(
        ..., "--model", help="Model folder, runs:/<id>/model or models:/NAME@alias."
    ),
    transactions: Path | None = typer.Option(
        None, "--transactions", "-t", help="Transactions file (omit for the built-in sample shop)."
    ),
    cutoff: str = CutoffOpt,
    output: Path = typer.Option(..., "--output", "-o", help="Forecast Parquet file."),
    lead_time: int | None = typer.Option(None, "--lead-time", help="Lead time in periods."),
    review_period: int = typer.Option(0, "--review-period", help="Review period in periods."),
    lead_time_output: Path | None = typer.Option(
        None, "--lead-time-output", help="Parquet file for lead-time demand quantiles per SKU."
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
    """Forecast the model's horizon from the period holding --cutoff, using rows before it.

    Columns: sku, ds, mean, q05, q10, q25, q50, q75, q90, q95, pattern, fallback.
    """
    with handle_errors():
        from ecomml._io import atomic_path
        from ecomml._validation import check_cutoff
        from ecomml.exceptions import ConfigError
        from ecomml.forecasting.leadtime import lead_time_demand
        from ecomml.forecasting.task import forecast_shop, load_forecaster
        from ecomml.modelstore import is_mlflow_uri

        if (lead_time is None) != (lead_time_output is None):
            raise ConfigError("--lead-time and --lead-time-output go together; give both")
        if is_mlflow_uri(model):
            from ecomml.cli._common import configure_tracking

            configure_tracking()
        with make_progress(transient=True) as progress:
            task = progress.add_task("loading model", total=3)
            fm = load_forecaster(model)
            if use_spark(engine, format=format, mapped=bool(map_items or map_file)):
                from ecomml.spark.commands import forecast_frame

                progress.update(task, advance=1, description="forecasting on Spark")
                fc = forecast_frame(
                    model, transactions, check_cutoff(cutoff), catalog=catalog,
                    calendar=calendar, master=spark_master, conf=spark_conf,
                    partitions=spark_partitions,
                )  # fmt: skip
            else:
                progress.update(task, advance=1, description="loading data")
                shop, cut = _shop(
                    transactions, cutoff, format, map_items, map_file, events, catalog,
                    calendar, encoding, allow_future,
                )  # fmt: skip
                progress.update(task, advance=1, description="forecasting")
                fc = forecast_shop(fm, shop, cut)
            with atomic_path(output, suffix=".tmp.parquet") as tmp:
                fc.to_parquet(tmp, index=False)
            if lead_time is not None and lead_time_output is not None:
                ltd = lead_time_demand(fc, lead_time=lead_time, review_period=review_period)
                with atomic_path(lead_time_output, suffix=".tmp.parquet") as tmp:
                    ltd.to_parquet(tmp, index=False)
            progress.update(task, advance=1, description="done")
        n_fb = int(fc.loc[fc["fallback"], "sku"].nunique())
        console.print(
            f"{fc['sku'].nunique()} SKUs x {fm.horizon} periods from {fc['ds'].min().date()} "
            f"({n_fb} with the category fallback) -> {output}"
        )


def backtest_forecast(
    transactions: Path | None = typer.Option(
        None, "--transactions", "-t", help="Transactions file (omit for the built-in sample shop)."
    ),
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
    format: str = FormatOpt,
    map_items: list[str] | None = MapOpt,
    map_file: Path | None = MapFileOpt,
    events: Path | None = EventsOpt,
    catalog: Path | None = CatalogOpt,
    calendar: Path | None = CalendarOpt,
    encoding: str | None = EncodingOpt,
    allow_future: bool = AllowFutureOpt,
    no_track: bool = NoTrackOpt,
    experiment: str = ExperimentOpt,
) -> None:
    """Rolling-origin backtest on the history before --cutoff: --folds origins, each
    refit on the periods before it and scored on the next --horizon periods."""
    with handle_errors():
        import contextlib

        import pandas as pd

        from ecomml._io import atomic_path
        from ecomml.forecasting.auto import make_forecaster
        from ecomml.forecasting.backtest import backtest as run_backtest
        from ecomml.forecasting.task import shop_panel

        f = freq.upper()
        names = [m.strip() for m in models.split(",") if m.strip()]
        ests = {m: make_forecaster(m, freq=f, horizon=horizon) for m in names}
        for e in ests.values():
            e._check_params()
        track = not no_track
        shop, cut = _shop(
            transactions, cutoff, format, map_items, map_file, events, catalog, calendar,
            encoding, allow_future,
        )  # fmt: skip
        panel, _ = shop_panel(shop, cut, f)
        run_ctx: Any = contextlib.nullcontext()
        if track:
            from ecomml.cli._common import configure_tracking
            from ecomml.tracking import tracked_run

            configure_tracking()
            run_ctx = tracked_run(experiment, run_name="backtest", tags={"ecomml.task": TASK})
        rows = []
        with run_ctx, make_progress() as progress:
            task = progress.add_task("backtest", total=len(ests) * folds)
            for i, (name, est) in enumerate(ests.items()):
                fit_kw = {"calendar": shop.calendar} if name in ("lgbm", "auto") else {}

                def say(msg: str, frac: float, _n: str = name, _i: int = i) -> None:
                    progress.update(
                        task, completed=_i * folds + frac * folds, description=f"{_n}: {msg}"
                    )

                bt = run_backtest(
                    est, panel, folds=folds, step=step, fit_params=fit_kw, progress=say
                )
                summ = bt.summary()
                rows.append(summ.assign(model=name, seconds=sum(bt.seconds.values())))
                if track:
                    import mlflow

                    mlflow.log_metrics(_flat(summ, f"{name}."))
                if name == names[0]:
                    with tempfile.TemporaryDirectory() as tmp:
                        _log_plots(bt, panel, plots_dir if plots_dir else Path(tmp), track)
            if track:
                from ecomml.tracking import log_params

                log_params({"freq": f, "horizon": horizon, "folds": folds, "models": models})
        table = pd.concat(rows, ignore_index=True)
        overall = table.loc[table["group"] == "all"].assign(
            group="model", value=lambda d: d["model"]
        )
        console.print(
            _metrics_table(overall, f"backtest: {folds} folds x {horizon} periods, mean over folds")
        )
        console.print(
            _metrics_table(
                table.loc[(table["model"] == names[0]) & (table["group"] != "all")],
                f"{names[0]} by pattern and ABC class",
            )
        )
        if output is not None:
            suffix = output.suffix.lower()
            with atomic_path(output, suffix=".tmp" + suffix) as tmp:
                if suffix in (".parquet", ".pq"):
                    table.to_parquet(tmp, index=False)
                else:
                    table.to_csv(tmp, index=False)
            console.print(f"metrics -> {output}")
