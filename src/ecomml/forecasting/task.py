"""The forecasting task, and forecasting on a shop: panel, forecast, load a trained model.

:class:`ForecastTask` is what ``ecomml train|predict|backtest forecast``, experiments and
the main job run; the one file of :mod:`ecomml.forecasting` that knows the feature store.
Replenishment jobs can call the shop functions directly::

    from ecomml.forecasting import load_forecaster, forecast_shop
    model = load_forecaster("models:/demand@prod")
    fc = forecast_shop(model, load_shop("orders.parquet", cutoff="2026-11-23"), cutoff="2026-11-23")
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from ecomml._validation import check_cutoff
from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.features.store import store_from_shop
from ecomml.forecasting._base import BaseForecaster
from ecomml.forecasting.panel import check_freq, panel_from_store, period_start
from ecomml.task import Evaluation, ModelTask, Option, Shown, StepResult, TaskData, Trained, quiet

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ecomml.data.shop import ShopData
    from ecomml.features.store import FeatureStore
    from ecomml.task import Folds, Params, Say, SideOutput, SideTables, StepContext

__all__ = [
    "ForecastTask",
    "TrainedForecaster",
    "forecast_shop",
    "load_forecaster",
    "shop_panel",
    "view_for",
]


_MODEL_HELP = "Model: lgbm (global LightGBM), auto (best per demand pattern), or a baseline: " "naive, snaive, ma, ets, croston, sba, tsb."  # fmt: skip
_FREQ = Option("freq", "--freq", "W", "W (weeks starting Monday) or D (days).")
_HORIZON = Option("horizon", "--horizon", 8, "Periods to forecast: 1-8 weeks or 1-56 days.")
#: the metric columns of a backtest summary and their console names
_SHOWN = {"wape": "wape", "bias": "bias", "mase": "mase", "rmsse": "rmsse",
          "scaled_pinball": "sc.pinball", "coverage_80": "cov80", "below_q10": "<q10",
          "above_q90": ">q90"}  # fmt: skip


def metrics_table(summary: pd.DataFrame, title: str) -> Shown:
    """A backtest summary (``group, value, n_series, <metrics>``) as a console table."""
    names = [
        "all" if g == "all" else str(v) if g == "model" else f"{g}={v}"
        for g, v in zip(summary["group"], summary["value"], strict=True)
    ]
    frame = summary.assign(slice=names, series=summary["n_series"].astype(int))
    fmt = {"slice": "{}", "series": "{}", **dict.fromkeys(_SHOWN.values(), "{:.3f}")}
    return Shown(frame.rename(columns=_SHOWN), title, fmt, left=("slice",))


def flat_metrics(summary: pd.DataFrame, prefix: str = "") -> dict[str, float]:
    """A backtest summary as flat MLflow metrics: ``<prefix>[<group>.<value>.]<metric>``."""
    out: dict[str, float] = {}
    for _, r in summary.iterrows():
        key = "" if r["group"] == "all" else f"{r['group']}.{r['value']}."
        for c in (*_SHOWN, "coverage_90"):
            v = float(r[c])
            if v == v:  # not NaN
                out[f"{prefix}{key}{c}"] = v
    return out


def view_for(freq: str) -> str:
    """The feature view a forecaster of ``freq`` is trained on."""
    return "sku_weekly" if check_freq(freq) == "W" else "sku_daily"


def shop_panel(
    shop: ShopData, cutoff: Any, freq: str, store: FeatureStore | None = None
) -> tuple[pd.DataFrame, FeatureStore]:
    """The ``sku, ds, y, category`` panel of ``shop`` as of ``cutoff`` (from its store)."""
    cut = check_cutoff(cutoff)
    store = store if store is not None else store_from_shop(shop)
    panel = panel_from_store(store, cut, freq, catalog=shop.catalog)
    if panel.empty:
        raise DataQualityError(
            f"no complete {'week' if check_freq(freq) == 'W' else 'day'} with sales before the "
            f"cutoff {cut.date()}; choose a later --cutoff"
        )
    return panel, store


@dataclass
class TrainedForecaster:
    """A loaded forecaster, its metadata and where it came from."""

    estimator: BaseForecaster
    metadata: dict[str, Any]
    uri: str
    loaded: Any = None

    @property
    def freq(self) -> str:
        return str(self.estimator.freq_)

    @property
    def horizon(self) -> int:
        return int(self.estimator.horizon)

    def forecast(self, shop: ShopData, cutoff: Any) -> pd.DataFrame:
        """Forecast ``horizon`` periods from the cutoff's period with ``shop``'s history."""
        return forecast_shop(self, shop, cutoff)


def load_forecaster(uri: str | os.PathLike[str]) -> TrainedForecaster:
    """Load a forecaster saved by ``ecomml train forecast`` from a model directory,
    ``runs:/<id>/model`` or ``models:/NAME@alias`` (verified against its manifest)."""
    from ecomml.modelstore import load_model

    loaded = load_model(uri, task="forecast")
    return TrainedForecaster(loaded.model, loaded.metadata, os.fspath(uri), loaded)


def forecast_shop(
    model: TrainedForecaster,
    shop: ShopData,
    cutoff: Any,
    *,
    check_features: bool = True,
    store: FeatureStore | None = None,
) -> pd.DataFrame:
    """Forecast with ``model`` from ``shop``'s history before ``cutoff``.

    The forecast starts at the period holding the cutoff (weeks start on Monday) and
    covers the model's horizon; catalog SKUs marked active that never sold get the
    category fallback.
    """
    cut = check_cutoff(cutoff)
    panel, store = shop_panel(shop, cut, model.freq, store=store)
    if check_features and model.loaded is not None:
        from ecomml.modelstore import check_feature_hashes

        check_feature_hashes(model.loaded, [store.view(view_for(model.freq))])
    new = None
    if shop.catalog is not None and "sku" in shop.catalog.columns:
        cat = shop.catalog
        if "active" in cat.columns:
            cat = cat.loc[cat["active"].fillna(True).astype(bool)]
        new = cat[[c for c in ("sku", "category") if c in cat.columns]]
    kw: dict[str, Any] = {"start": period_start(cut, model.freq), "new_skus": new}
    if shop.calendar is not None:
        kw["calendar"] = shop.calendar
    return model.estimator.predict(panel, **kw)


_FOLD_METRICS = ("wape", "bias", "mase", "rmsse", "scaled_pinball", "coverage_80", "coverage_90")


def _explainable(model: Any) -> Any:
    """The LightGBM forecaster behind ``model`` (itself, or a reconciled model's SKU
    forecaster), or None: the one model whose forecasts :meth:`explain` breaks down."""
    from ecomml.forecasting.hierarchy import HierarchicalForecaster
    from ecomml.forecasting.lgbm import LightGBMForecaster

    est = model.forecaster_ if isinstance(model, HierarchicalForecaster) else model
    return est if isinstance(est, LightGBMForecaster) else None


#: side tables of a scored forecast (every level, the drivers) until predict writes them


class ForecastTask(ModelTask):
    """Quantile demand forecasts per SKU.

    ``params``: ``model`` (lgbm, auto or a baseline), ``freq`` (W or D), ``horizon``
    (periods), plus the forecaster's own parameters (e.g. ``strategy``, ``n_estimators``).
    """

    name: ClassVar[str] = "forecast"
    headline_metrics: ClassVar[tuple[str, ...]] = (
        "val.scaled_pinball",
        "val.mase",
        "scaled_pinball",
        "mase",
    )
    min_data: ClassVar[Mapping[str, int]] = {"SKUs": 20, "weeks of history": 26}
    title: ClassVar[str] = "demand forecasting"
    output_columns: ClassVar[tuple[str, ...]] = ("sku", "ds", "mean", "q05", "q10", "q25",
                                                 "q50", "q75", "q90", "q95", "pattern",
                                                 "fallback")  # fmt: skip
    metrics: ClassVar[tuple[str, ...]] = ("scaled_pinball", "wape", "mase", "rmsse", "bias",
                                          "coverage_80", "coverage_90")  # fmt: skip
    params: ClassVar[Mapping[str, Any]] = {"freq": "W", "horizon": 8}
    models: ClassVar[tuple[str, ...]] = ("lgbm", "auto", "naive", "snaive", "ma", "ets",
                                         "croston", "sba", "tsb")  # fmt: skip
    fold_unit: ClassVar[str] = "periods"
    serving_inputs: ClassVar[tuple[tuple[str, str], ...]] = (
        ("sku", "string"), ("ds", "datetime"), ("y", "number"),
    )  # fmt: skip
    serving_params: ClassVar[tuple[tuple[str, str, Any], ...]] = (("start", "string", None),)
    output_types: ClassVar[Mapping[str, str]] = {
        "sku": "string", "ds": "datetime", "pattern": "string", "fallback": "boolean",
    }  # fmt: skip

    commands: ClassVar[tuple[str, ...]] = ("train", "predict", "backtest")
    command_groups: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "train": ("tracking", "spark"), "predict": ("spark",), "backtest": ("tracking",),
    }  # fmt: skip
    needs_transactions: ClassVar[bool] = False
    predict_format: ClassVar[str | None] = "parquet"
    command_help: ClassVar[Mapping[str, str]] = {
        "train": "Train a demand forecaster on the history before --cutoff and save it to "
        "--model-dir.",
        "predict": "Forecast the model's horizon from the period holding --cutoff, using rows "
        "before it.\n\nColumns: sku, ds, mean, q05, q10, q25, q50, q75, q90, q95, pattern, "
        "fallback.",
        "backtest": "Rolling-origin backtest on the history before --cutoff: --folds origins, "
        "each refit on the periods before it and scored on the next --horizon periods.",
    }
    train_options: ClassVar[tuple[Option, ...]] = (
        _FREQ, _HORIZON,
        Option("model", "--model", "lgbm", _MODEL_HELP),
        Option("strategy", "--strategy", "direct", "direct or recursive (lgbm)."),
        Option("validate_folds", "--validate-folds", 1,
               "Rolling-origin folds scored before the final fit (0: none)."),
        Option("plots_dir", "--plots-dir", None,
               "Where PNG plots go (default: <model-dir>-plots).", Path),
        Option("partition_by", "--partition-by", None, "Train one model per value of this SKU "
               "attribute (e.g. category) and route each SKU to its partition's model.", str),
        Option("reconcile", "--reconcile", "none", "Make SKU, category and total forecasts "
               "add up: none, auto (chosen on validation), bottom-up or mint-shrink; "
               "`predict --levels-output` then writes every level."),
    )  # fmt: skip
    predict_options: ClassVar[tuple[Option, ...]] = (
        Option("lead_time", "--lead-time", None, "Lead time in periods.", int),
        Option("review_period", "--review-period", 0, "Review period in periods."),
        Option("lead_time_output", "--lead-time-output", None,
               "Parquet file for lead-time demand quantiles per SKU.", Path, file="out"),
        Option("levels_output", "--levels-output", None, "CSV/Parquet for the coherent SKU, "
               "category and total forecasts (level, node, sku, ds, mean, q05..q95; a model "
               "trained with --reconcile).", Path, file="out"),
        Option("explain_output", "--explain-output", None, "CSV/Parquet with why each "
               "forecast is what it is: baseline and one factor per driver (history, season, "
               "promotion, price, other; the lgbm model).", Path, file="out"),
    )  # fmt: skip
    backtest_options: ClassVar[tuple[Option, ...]] = (
        _FREQ, _HORIZON,
        Option("folds", "--folds", 3, "Rolling origins (the last ends at the cutoff)."),
        Option("step", "--step", None, "Periods between origins (default: horizon).", int),
        Option("models", "--models", "lgbm,snaive,tsb",
               "Comma-separated models to compare. " + _MODEL_HELP),
        Option("output", "--output", None, "Write the metrics table (CSV or Parquet).", Path,
               short="-o", file="out"),
        Option("plots_dir", "--plots-dir", Path("reports/forecast-backtest"), "PNG plots folder."),
        Option("forecasts_output", "--forecasts-output", None, "Also write every fold's "
               "forecasts of the first model with what sold (fold, origin, sku, ds, mean, "
               "q05..q95, nb_size, y): the input of `ecomml inventory plan --calibrate-on`.",
               Path, file="out"),
    )  # fmt: skip

    def train_model(self, options: Mapping[str, Any]) -> Any:
        """The unfitted model of the train command's ``options`` (one per partition with
        ``--partition-by``)."""
        from ecomml.forecasting.partitioned import PartitionedForecaster

        est = self.make_model(self._train_params(options))
        if options.get("partition_by"):
            kw = {"strategy": options["strategy"]} if options["model"] == "lgbm" else {}
            est = PartitionedForecaster(
                freq=est.freq, horizon=est.horizon, model=options["model"],
                partition_col=options["partition_by"], params=kw,
            )  # fmt: skip
        return est

    @staticmethod
    def reconciled(est: Any, options: Mapping[str, Any]) -> Any:
        """``est`` wrapped in a :class:`HierarchicalForecaster` when ``--reconcile`` asks."""
        from ecomml.forecasting.hierarchy import RECONCILIATIONS, HierarchicalForecaster

        method = str(options.get("reconcile") or "none")
        if method == "none":
            return est
        if method not in RECONCILIATIONS:
            raise ConfigError(
                f"--reconcile must be none or one of {', '.join(RECONCILIATIONS)}, got {method!r}"
            )
        if options.get("partition_by"):
            raise ConfigError("--reconcile and --partition-by cannot be combined yet; pick one")
        return HierarchicalForecaster(forecaster=est, method=method)

    @staticmethod
    def _train_params(options: Mapping[str, Any]) -> dict[str, Any]:
        params = {"model": options["model"], "freq": str(options["freq"]).upper(),
                  "horizon": options["horizon"]}  # fmt: skip
        if options["model"] == "lgbm":
            params["strategy"] = options["strategy"]
        return params

    def train(self, data: TaskData, options: Mapping[str, Any], progress: Say = quiet) -> Trained:
        est = self.train_model(options)
        metrics: dict[str, float] = {}
        figures: dict[str, Any] = {}
        shown: list[Any] = []
        folds = int(options["validate_folds"])
        if folds > 0:
            progress("validation backtest")
            bt, panel = self.backtest(data, folds=folds, estimator=est)
            metrics = flat_metrics(bt.summary(), "val.")
            figures = backtest_figures(bt, panel)
            shown = [metrics_table(bt.summary(), "validation (mean over folds)")]
        progress(f"fitting {options['model']}")
        panel, _ = shop_panel(data.shop, data.cutoff, est.freq, store=data.store)
        final = self.reconciled(est, options)
        final.fit(panel, **self.fit_kwargs(est, data.shop))
        figures.update(self._driver_figure(final, panel, data.shop))
        if final is not est:
            errs = ", ".join(f"{k.removesuffix('_error')} {v:.3f}"
                             for k, v in final.validation_.items() if k.endswith("_error"))  # fmt: skip
            shown.append(f"  reconciliation: {final.method_}"
                         + (f" (validation error per level: {errs})" if errs else ""))  # fmt: skip
        return self.trained(final, options, metrics, figures, shown, validate_folds=folds)

    def trained(
        self, model: Any, options: Mapping[str, Any], metrics: Mapping[str, float] | None = None,
        figures: Mapping[str, Any] | None = None, shown: list[Any] | None = None, *,
        validate_folds: int = 0, engine: str = "local",
    ) -> Trained:  # fmt: skip
        """What the train command saves and shows for a fitted ``model``."""
        model_dir = Path(options["model_dir"])
        o = options
        return Trained(
            model, {**self._train_params(o), "partition_by": o["partition_by"]},
            metrics=dict(metrics or {}), figures=dict(figures or {}), shown=list(shown or []),
            plots_dir=o["plots_dir"] or model_dir.with_name(model_dir.name + "-plots"),
            run_name=f"train-{o['model']}",
            run_params={"freq": str(o["freq"]).upper(), "horizon": o["horizon"],
                        "model": o["model"], "strategy": o["strategy"],
                        "validate_folds": validate_folds, "partition_by": o["partition_by"] or "",
                        "engine": engine},
        )  # fmt: skip

    def score_options(self, options: Mapping[str, Any], key: str | None = None) -> dict[str, Any]:
        if (options["lead_time"] is None) != (options["lead_time_output"] is None):
            raise ConfigError("--lead-time and --lead-time-output go together; give both")
        out = {}
        for name in ("levels", "explain"):
            if options.get(f"{name}_output") is not None:
                out[name] = True
        return out

    def side_outputs(
        self, frame: pd.DataFrame, options: Mapping[str, Any], side: SideTables | None = None
    ) -> list[SideOutput]:
        out = []
        side = side or {}
        for name in ("levels", "explain"):
            if options.get(f"{name}_output") is not None:
                if name not in side:
                    raise ConfigError(
                        f"--{name}-output is written by the local engine only; drop it or "
                        "score without --engine spark"
                    )
                out.append((f"--{name}-output", Path(options[f"{name}_output"]), side[name]))
        if options["lead_time"] is None:
            return out
        from ecomml.forecasting.leadtime import lead_time_demand

        ltd = lead_time_demand(
            frame, lead_time=options["lead_time"], review_period=options["review_period"]
        )
        return [*out, ("--lead-time-output", Path(options["lead_time_output"]), ltd)]

    def scored_line(self, frame: pd.DataFrame, model: Any, shop: ShopData | None,
                    cutoff: pd.Timestamp, output: Path) -> str:  # fmt: skip
        n_fb = int(frame.loc[frame["fallback"], "sku"].nunique())
        return (
            f"{frame['sku'].nunique()} SKUs x {int(model.horizon)} periods from "
            f"{frame['ds'].min().date()} ({n_fb} with the category fallback) -> {output}"
        )

    def backtest_report(
        self, data: TaskData, options: Mapping[str, Any], progress: Say = quiet
    ) -> Evaluation:
        f, horizon, folds = str(options["freq"]).upper(), options["horizon"], options["folds"]
        names = [m.strip() for m in options["models"].split(",") if m.strip()]
        ests = {m: self.make_model({"model": m, "freq": f, "horizon": horizon}) for m in names}
        rows, metrics, figures = [], {}, {}
        for name, est in ests.items():
            bt, panel = self.backtest(
                data, folds=folds, step=options["step"], estimator=est,
                progress=lambda msg, _n=name: progress(f"{_n}: {msg}"),
            )  # fmt: skip
            summ = bt.summary()
            rows.append(summ.assign(model=name, seconds=sum(bt.seconds.values())))
            metrics.update(flat_metrics(summ, f"{name}."))
            if name == names[0]:
                figures = backtest_figures(bt, panel)
                if options.get("forecasts_output") is not None:
                    from ecomml._io import atomic_write_table

                    atomic_write_table(options["forecasts_output"], bt.forecasts)
        table = pd.concat(rows, ignore_index=True)
        overall = table.loc[table["group"] == "all"].assign(group="model", value=table["model"])
        first = table.loc[(table["model"] == names[0]) & (table["group"] != "all")]
        shown = [
            metrics_table(overall, f"backtest: {folds} folds x {horizon} periods, mean over folds"),
            metrics_table(first, f"{names[0]} by pattern and ABC class"),
        ]
        return Evaluation(table, figures, metrics, shown)

    def check_task_params(self, params: Params) -> dict[str, Any]:
        tp = super().check_task_params(params)
        if str(tp["freq"]).upper() not in ("W", "D"):
            raise ConfigError(f"task_params.freq must be W or D, got {tp['freq']!r}")
        return {**tp, "freq": str(tp["freq"]).upper()}

    def make_model(self, params: Params = None) -> BaseForecaster:
        """An unfitted forecaster; bad parameters raise :class:`ConfigError` here."""
        from ecomml.forecasting.auto import make_forecaster

        tp = self.task_params(params)
        name = str((params or {}).get("model", "lgbm"))
        est = make_forecaster(
            name, freq=str(tp["freq"]).upper(), horizon=int(tp["horizon"]),
            **self.model_params(params),
        )  # fmt: skip
        est._check_params()
        return est

    @staticmethod
    def fit_kwargs(model: Any, shop: ShopData) -> dict[str, Any]:
        """What ``fit`` takes beside the panel: the promotion calendar, for the models
        that read it."""
        from ecomml.forecasting.auto import reads_calendar

        if reads_calendar(model) and shop.calendar is not None:
            return {"calendar": shop.calendar}
        return {}

    def views(self, model: Any) -> list[str]:
        return [view_for(str(model.freq))]

    def fit(
        self, data: TaskData, *, params: Params = None, progress: Say = quiet
    ) -> BaseForecaster:
        est = self.make_model(params)
        panel, _ = shop_panel(data.shop, data.cutoff, est.freq, store=data.store)
        progress(f"fitting {type(est).__name__} on {panel['sku'].nunique()} SKUs")
        return est.fit(panel, **self.fit_kwargs(est, data.shop))

    def backtest(
        self,
        data: TaskData,
        *,
        folds: int,
        step: int | None = None,
        params: Params = None,
        estimator: Any = None,
        progress: Say = quiet,
    ) -> tuple[Any, pd.DataFrame]:
        """The rolling-origin backtest (:func:`~ecomml.forecasting.backtest`) of ``params``
        (or of ``estimator``) on the shop's panel; returns ``(result, panel)``."""
        from ecomml.forecasting.backtest import backtest

        est = estimator if estimator is not None else self.make_model(params)
        panel, _ = shop_panel(data.shop, data.cutoff, est.freq, store=data.store)
        res = backtest(
            est, panel, folds=folds, step=step, fit_params=self.fit_kwargs(est, data.shop),
            progress=lambda msg, frac: progress(msg),
        )  # fmt: skip
        return res, panel

    def evaluate(
        self, data: TaskData, folds: Folds, *, params: Params = None, progress: Say = quiet
    ) -> Evaluation:
        bt, panel = self.backtest(
            data, folds=folds.n, step=folds.step, params=params, progress=progress
        )
        m = bt.metrics
        rows = m.loc[(m["group"] == "all") & (m["fold"] != "mean")]
        origins = bt.forecasts.groupby("fold")["origin"].first()
        cols = [c for c in _FOLD_METRICS if c in rows.columns]
        table = rows[["fold", *cols]].assign(fold=lambda f: f["fold"].astype(int))
        table.insert(1, "cutoff", table["fold"].map(origins).to_numpy())
        return Evaluation(table.reset_index(drop=True), backtest_figures(bt, panel))

    def score(self, model: Any, data: TaskData, **options: Any) -> pd.DataFrame:
        """The forecast of the model's horizon from the period holding ``cutoff``: the SKU
        rows (:meth:`score_tables` also gives the side tables)."""
        return self.score_tables(model, data, **options)[0]

    def score_tables(
        self,
        model: Any,
        data: TaskData,
        *,
        levels: bool = False,
        explain: bool = False,
        **options: Any,
    ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
        """The SKU forecast and, on request, the side tables ``levels`` (a reconciled
        model: every level) and ``explain`` (the drivers of each forecast)."""
        self.check_model(model)
        trained = (
            model if isinstance(model, TrainedForecaster) else TrainedForecaster(model, {}, "")
        )
        fc = forecast_shop(trained, data.shop, data.cutoff, check_features=False, store=data.store)
        side: dict[str, pd.DataFrame] = {}
        if "level" in fc.columns:
            if levels:
                side["levels"] = fc.drop(columns=["pattern", "fallback"])
            fc = fc.loc[fc["level"] == "sku", list(self.output_columns)].reset_index(drop=True)
            fc["sku"] = fc["sku"].astype(str)
        elif levels:
            raise ConfigError(
                "--levels-output needs a model trained with --reconcile (auto, bottom-up or "
                "mint-shrink); retrain with `ecomml train forecast --reconcile auto`"
            )
        if explain:
            side["explain"] = self._explain(trained, data)
        return self.check_output(fc), side

    @staticmethod
    def _driver_figure(model: Any, panel: pd.DataFrame, shop: ShopData) -> dict[str, Any]:
        """``drivers.png``: why the fitted model's first forecast is what it is (lgbm)."""
        from ecomml.forecasting.plots import plot_drivers

        est = _explainable(model)
        if est is None or est.strategy != "direct":
            return {}
        kw = {"calendar": shop.calendar} if shop.calendar is not None else {}
        # the plot shows the top sellers: explain those only (SKUs are scored independently)
        top = panel.groupby("sku")["y"].sum().nlargest(6).index
        return {"drivers.png": plot_drivers(est.explain(panel.loc[panel["sku"].isin(top)], **kw))}

    @staticmethod
    def _explain(trained: TrainedForecaster, data: TaskData) -> pd.DataFrame:
        est = _explainable(trained.estimator)
        if est is None:
            raise ConfigError(
                "--explain-output needs the lgbm model (this one is a "
                f"{type(trained.estimator).__name__}); train one with "
                "`ecomml train forecast --model lgbm`"
            )
        panel, _ = shop_panel(data.shop, data.cutoff, est.freq_, store=data.store)
        kw: dict[str, Any] = {"start": period_start(data.cutoff, est.freq_)}
        if data.shop.calendar is not None:
            kw["calendar"] = data.shop.calendar
        return est.explain(panel, **kw)

    def check_model(self, model: Any) -> None:
        est = model.estimator if isinstance(model, TrainedForecaster) else model
        if not hasattr(est, "freq_") or not hasattr(est, "predict"):
            from ecomml.exceptions import ModelLoadError

            raise ModelLoadError(
                f"a {type(est).__name__} is not a fitted forecaster; train one with "
                "`ecomml train forecast`"
            )

    def metadata(self, model: Any, shop: ShopData, params: Mapping[str, Any]) -> dict[str, Any]:
        tp = self.task_params(params)
        return {
            "freq": str(model.freq_),
            "horizon": int(tp["horizon"]),
            "model": str(params.get("model", "lgbm")),
            "strategy": params.get("strategy", "direct"),
            "n_skus": getattr(model, "n_skus_", None),
            "source": shop.source,
            **({"partition_by": params["partition_by"]} if params.get("partition_by") else {}),
        }

    def run_quickstart(self, ctx: StepContext) -> StepResult:
        """Weekly demand forecast (8 weeks) from the cutoff, a one-fold holdout backtest
        against a moving average, lead-time demand (2 weeks + 1 week review) and plots."""
        from ecomml._io import atomic_write_table
        from ecomml.forecasting.baselines import MovingAverageForecaster
        from ecomml.forecasting.leadtime import lead_time_demand
        from ecomml.forecasting.lgbm import LightGBMForecaster
        from ecomml.plots import save_figure

        out = ctx.out_dir / self.name
        plots = ctx.out_dir / "plots" / self.name
        horizon = 8
        ctx.say("weekly panel")
        panel, _ = shop_panel(ctx.shop, ctx.cutoff, "W", store=ctx.store)
        model = LightGBMForecaster(
            freq="W", horizon=horizon, dispersion="insample", n_estimators=100,
            max_train_rows=80_000,
        )  # fmt: skip
        ctx.say("backtest (last 8 weeks held out)")
        bt, _ = self.backtest(ctx.data, folds=1, estimator=model)
        baseline = MovingAverageForecaster(freq="W", horizon=horizon)
        base, _ = self.backtest(ctx.data, folds=1, estimator=baseline)
        ctx.say("fit + forecast")
        model.fit(panel, calendar=ctx.shop.calendar)
        fc = model.predict(panel, start=ctx.cutoff, calendar=ctx.shop.calendar)
        ltd = lead_time_demand(fc, lead_time=2, review_period=1)
        outputs = {}
        for name, frame in (
            ("forecast", fc),
            ("lead_time_demand", ltd),
            ("backtest_metrics", bt.metrics),
        ):
            outputs[f"{self.name}/{name}.parquet"] = atomic_write_table(
                out / f"{name}.parquet", frame
            )
        ctx.say("plots")
        figs = backtest_figures(bt, panel, last_fold_only=False)
        for fname, fig in figs.items():
            outputs[f"plots/{self.name}/{fname}"] = save_figure(fig, plots / fname)
        s = bt.summary().iloc[0]
        b = base.summary().iloc[0]
        metrics = {
            "wape": float(s["wape"]),
            "mase": float(s["mase"]),
            "bias": float(s["bias"]),
            "scaled_pinball": float(s["scaled_pinball"]),
            "coverage_80": float(s["coverage_80"]),
            "baseline_ma_mase": float(b["mase"]),
            "baseline_ma_scaled_pinball": float(b["scaled_pinball"]),
            "mase_q50": float(s["mase_q50"]),
            "baseline_ma_mase_q50": float(b["mase_q50"]),
            "rpit_below_10": float(s["rpit_below_10"]),
            "rpit_above_90": float(s["rpit_above_90"]),
        }
        summary = {
            "freq": "W",
            "horizon": horizon,
            "skus": int(fc["sku"].nunique()),
            "fallback_skus": int(fc.loc[fc["fallback"], "sku"].nunique()),
            "patterns": fc.drop_duplicates("sku")["pattern"].value_counts().to_dict(),
            "holdout": {k: round(v, 4) for k, v in metrics.items()},
        }
        params = {"model": "lgbm", "freq": "W", "horizon": horizon, **model.get_params()}
        notes = baseline_notes(metrics, skus=summary["skus"], weeks=int(panel["ds"].nunique()))
        return StepResult(self.name, outputs, metrics, summary, model=model, params=params,
                          notes=notes)  # fmt: skip


def baseline_notes(m: Mapping[str, float], *, skus: int, weeks: int) -> list[str]:
    """What to tell a user whose forecaster does not beat the moving average on every
    headline metric of the quickstart's holdout (nothing when it does)."""
    worse_mase = m["mase"] > m["baseline_ma_mase"]
    worse_pin = m["scaled_pinball"] > m["baseline_ma_scaled_pinball"]
    if not (worse_mase or worse_pin):
        return []
    vs = (f"MASE {m['mase']:.3f} vs {m['baseline_ma_mase']:.3f}, median (q50) MASE "
          f"{m['mase_q50']:.3f} vs {m['baseline_ma_mase_q50']:.3f}, scaled pinball "
          f"{m['scaled_pinball']:.3f} vs {m['baseline_ma_scaled_pinball']:.3f}")  # fmt: skip
    if worse_mase and not worse_pin:
        return [
            f"the LightGBM forecast loses to the 4-week moving average on MASE but wins on "
            f"scaled pinball on the 8-week holdout ({vs}). MASE scores the mean column's "
            "absolute error, which a median minimises, and most SKUs here sell a few units a "
            "month; scaled pinball scores the quantiles, which the inventory plan uses. "
            "Compare more models with `ecomml backtest forecast --models lgbm,ma,tsb,auto`."
        ]
    return [
        f"the LightGBM forecast does not beat the 4-week moving average on this holdout "
        f"({vs}); {skus} SKUs and {weeks} weeks of history give it little to learn from. "
        "Compare models with `ecomml backtest forecast --models lgbm,ma,tsb,auto` and train "
        "the winner with `--model`."
    ]


def backtest_figures(
    bt: Any, panel: pd.DataFrame, *, last_fold_only: bool = True
) -> dict[str, Figure]:
    """Fan charts, error by demand class and quantile coverage of a backtest."""
    from ecomml.forecasting.backtest import quantile_calibration
    from ecomml.forecasting.plots import (
        plot_error_by_class,
        plot_fan_charts,
        plot_quantile_coverage,
    )

    fc = bt.forecasts
    if last_fold_only:
        fc = fc.loc[fc["fold"] == fc["fold"].max()]
    return {
        "fan.png": plot_fan_charts(panel, fc),
        "error_by_class.png": plot_error_by_class(bt.summary()),
        "coverage.png": plot_quantile_coverage(quantile_calibration(bt.forecasts)),
    }
