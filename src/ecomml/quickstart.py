"""The main job: shop data -> feature store -> every registered task -> outputs and MLflow.

``run_quickstart`` builds every feature view as of a cutoff, writes outputs and overview
plots, runs every task of :mod:`ecomml.registry` (``Task.run_quickstart``) on the same
store, and logs one MLflow run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ecomml._io import atomic_write_json, atomic_write_table
from ecomml._validation import check_cutoff
from ecomml.data.shop import ShopData, before_cutoff, default_cutoff
from ecomml.features.store import store_from_shop
from ecomml.task import StepContext

__all__ = [
    "TASK_STEPS",
    "QuickstartResult",
    "run_quickstart",
]

Progress = Callable[[str, float], None]

#: The tasks the main job runs, in order (default: every registered task); tests may
#: narrow it.
TASK_STEPS: tuple[str, ...] | None = None


@dataclass
class QuickstartResult:
    """What the main job produced."""

    out_dir: Path
    cutoff: pd.Timestamp
    outputs: dict[str, Path]
    view_rows: dict[str, int]
    seconds: dict[str, float]
    run_id: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    #: headline metrics of the task steps, ``{"<task>.<metric>": value}``
    metrics: dict[str, float] = field(default_factory=dict)
    #: the saved model folder of each task that fits one
    models: dict[str, Path] = field(default_factory=dict)

    def _inputs(self) -> str:
        """The data options that read the shop's cleaned tables back."""
        data = self.out_dir / "data"
        inputs = f"-t {data / 'transactions.parquet'} --format canonical"
        for table in ("events", "catalog", "calendar"):
            if (data / f"{table}.parquet").exists():
                inputs += f" --{table} {data / f'{table}.parquet'}"
        return inputs

    def predict_commands(self, prog: str = "ecomml") -> list[str]:
        """Commands that score the shop again with each saved model (``prog`` is how
        ecomml is invoked)."""
        inputs = self._inputs()
        return [f"{prog} predict {task} --model {path} {inputs} --cutoff {self.cutoff.date()} "
                f"--output {task}-scores.csv" for task, path in self.models.items()]  # fmt: skip

    def promo_command(self, prog: str = "ecomml") -> str | None:
        """The command that judges the shop's last Double 11 (else its last promotion)
        that ended at least 4 weeks before the cutoff; None without a calendar."""
        path = self.out_dir / "data" / "calendar.parquet"
        if not path.exists():
            return None
        cal = pd.read_parquet(path)
        days = pd.to_datetime(cal["date"])
        promo = cal.loc[cal["is_promo"].fillna(False).astype(bool)
                        & (days < self.cutoff - pd.Timedelta(weeks=4))]  # fmt: skip
        if promo.empty:
            return None
        last = promo.assign(date=pd.to_datetime(promo["date"])).sort_values("date")
        event = "double_11" if (last["event"] == "double_11").any() else str(last["event"].iat[-1])
        year = int(last.loc[last["event"] == event, "date"].max().year)
        return (f"{prog} promo {self._inputs()} --event {event} --year {year} "
                "--output promo.csv")  # fmt: skip

    def pseudonymize_lists(self, key: str) -> list[Path]:
        """Rewrite the lists people act on (every output but the cleaned tables and the
        features, which stay internal) with keyed customer pseudonyms; returns the files
        rewritten (:func:`~ecomml.privacy.pseudonymize_files`)."""
        from ecomml.privacy import pseudonymize_files

        lists = [p for k, p in self.outputs.items() if not k.startswith(("data/", "features"))]
        return pseudonymize_files(lists, key)

    def serve_command(self, uri: str | None, bin_dir: str | None = None) -> str | None:
        """The command that serves the first registered model over REST from the tracking
        store at ``uri`` (None without a run or a store)."""
        if not (self.models and self.run_id and uri):
            return None
        # mlflow starts uvicorn from the PATH: the environment's bin folder goes first
        path_env = f"PATH={bin_dir}:$PATH " if bin_dir else ""
        return (
            f"{path_env}MLFLOW_TRACKING_URI={uri} mlflow models serve -m "
            f"models:/ecomml-{next(iter(self.models))}/latest --env-manager local --port 5001"
        )


def run_quickstart(
    shop: ShopData,
    *,
    out_dir: str | os.PathLike[str] = "ecomml-output",
    cutoff: Any = None,
    track: bool = True,
    experiment: str = "ecomml-quickstart",
    progress: Progress | None = None,
    register: bool = True,
    save_models: bool = True,
) -> QuickstartResult:
    """Run the main job on ``shop`` and write everything under ``out_dir``.

    Steps: canonical data and cleaning report; every built-in feature view
    materialized as of ``cutoff`` (default: the day after the last transaction) with
    its manifest; overview plots; every task's outputs and its model folder under
    ``models/<task>``; a summary. With ``track=True`` one MLflow run is logged to the
    tracking URI the caller configured, holding each model (registered as
    ``ecomml-<task>`` with ``register``). ``save_models=False`` keeps no model (a model
    remembers customer ids: the CLI's ``--hash-ids`` run saves none).
    """
    from ecomml.features.materialize import materialize_views, read_materialized
    from ecomml.plots import plot_daily_sales, plot_pareto, plot_rfm_overview, save_figure

    tx = shop.transactions
    cut = check_cutoff(cutoff) if cutoff is not None else default_cutoff(tx)
    # Everything below (outputs, summary, plots) sees only the history before the cutoff.
    tx = before_cutoff(tx, cut)
    if tx is None or tx.empty:
        from ecomml.exceptions import DataQualityError

        first = shop.transactions["ts"].min() if len(shop.transactions) else None
        raise DataQualityError(
            f"--cutoff {cut.date()} leaves no transactions before it"
            + (f" (the data starts {pd.Timestamp(first).date()})" if first is not None else "")
            + "; choose a later cutoff"
        )
    shop = ShopData(
        transactions=tx,
        events=before_cutoff(shop.events, cut),
        catalog=shop.catalog,
        calendar=shop.calendar,
        source=shop.source,
        cleaning=shop.cleaning,
        fingerprint=shop.fingerprint,
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    outputs: dict[str, Path] = {}
    say = progress or (lambda msg, frac: None)

    t0 = time.perf_counter()
    say("writing canonical data", 0.05)
    for name, frame in (
        ("transactions", tx),
        ("events", shop.events),
        ("catalog", shop.catalog),
        ("calendar", shop.calendar),
    ):
        if frame is None:
            continue
        path = out / "data" / f"{name}.parquet"
        outputs[f"data/{name}"] = atomic_write_table(path, frame)
    if shop.cleaning is not None:
        rep = shop.cleaning.to_dict() if hasattr(shop.cleaning, "to_dict") else dict(shop.cleaning)
        outputs["cleaning_report"] = atomic_write_json(out / "data" / "cleaning_report.json", rep)
    seconds["data"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    store = store_from_shop(shop)
    names = list(store.views)
    view_rows: dict[str, int] = {}
    feat_dir = out / "features"

    def _done(view_name: str) -> None:
        view_rows[view_name] = -1
        say(f"feature view {view_name}", 0.1 + 0.4 * len(view_rows) / len(names))

    manifest = materialize_views(store, names, cutoff=cut, out_dir=feat_dir, progress=_done)
    for name in names:
        view_rows[name] = int(manifest["views"][name][cut.isoformat()]["rows"])
    outputs["features"] = feat_dir
    seconds["features"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say("plots", 0.5)
    plots = out / "plots"
    cal = shop.calendar
    if cal is None:
        from ecomml.data.calendar import promo_calendar

        cal = promo_calendar(tx["ts"].min(), cut)
    # the plots read the views just materialized instead of computing them again
    figs = {
        "daily_sales.png": plot_daily_sales(tx, cal),
        "sku_revenue_pareto.png": plot_pareto(
            read_materialized(feat_dir, "sku_demand", cutoff=cut)["revenue"]
        ),
        "customer_rfm.png": plot_rfm_overview(
            read_materialized(feat_dir, "customer_rfm", cutoff=cut)
        ),
    }
    for fname, fig in figs.items():
        outputs[f"plots/{fname}"] = save_figure(fig, plots / fname)
    seconds["plots"] = time.perf_counter() - t0

    step_metrics: dict[str, float] = {}
    step_summaries: dict[str, Any] = {}
    models: dict[str, Path] = {}
    warnings: list[str] = []
    notes: list[str] = []
    sizes: dict[str, int] | None = None
    from ecomml.registry import get_model_task, model_task_names

    names = model_task_names() if TASK_STEPS is None else TASK_STEPS
    steps = [get_model_task(n) for n in names]
    steps = [task for task in steps if task.in_quickstart]
    for i, task in enumerate(steps):
        lo, hi = 0.55 + 0.4 * i / len(steps), 0.55 + 0.4 * (i + 1) / len(steps)
        say(task.name, lo)
        t0 = time.perf_counter()
        ctx = StepContext(
            shop=shop,
            store=store,
            cutoff=cut,
            out_dir=out,
            features_dir=feat_dir,
            manifest=manifest,
            say=lambda msg, _lo=lo, _name=task.name: say(f"{_name}: {msg}", _lo),
        )
        res = task.run_quickstart(ctx)
        sizes = sizes if sizes is not None else task.data_sizes(shop, cut)
        warnings.extend(task.data_warnings(shop, cut, sizes))
        outputs.update(res.outputs)
        if res.model is not None and save_models:  # for `ecomml predict` and `mlflow models serve`
            from ecomml.runner import save_task_model

            ctx.say("saving the model")
            models[task.name] = save_task_model(
                task, res.model, out / "models" / task.name, ctx.data, params=res.params,
                metrics=res.metrics,
            )  # fmt: skip
            outputs[f"models/{task.name}"] = models[task.name]
        step_metrics.update({f"{res.task}.{k}": float(v) for k, v in res.metrics.items()})
        step_summaries[res.task] = res.summary
        notes.extend(f"{res.task}: {n}" for n in res.notes)
        seconds[res.task] = time.perf_counter() - t0
        say(f"{task.name} done", hi)

    summary = {
        "source": shop.source,
        "cutoff": cut.isoformat(),
        "transactions": int(len(tx)),
        "customers": int(tx["customer_id"].nunique()),
        "skus": int(tx["sku"].nunique()),
        "first_ts": str(tx["ts"].min()),
        "last_ts": str(tx["ts"].max()),
        "feature_rows": view_rows,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "models": {k: str(v) for k, v in models.items()},
        "warnings": warnings,
        "notes": notes,
        **step_summaries,
    }
    outputs["summary"] = atomic_write_json(out / "summary.json", summary)

    run_id = None
    if track:
        say("logging to MLflow", 0.95)
        run_id = _log_run(
            shop, manifest, outputs, summary, cut, experiment, step_metrics, models, register
        )
    say("done", 1.0)
    return QuickstartResult(
        out, cut, outputs, view_rows, seconds, run_id, summary, step_metrics, models
    )


def _log_run(
    shop: ShopData,
    manifest: dict[str, Any],
    outputs: dict[str, Path],
    summary: dict[str, Any],
    cutoff: pd.Timestamp,
    experiment: str,
    step_metrics: Mapping[str, float] | None = None,
    models: Mapping[str, Path] | None = None,
    register: bool = True,
) -> str:
    from ecomml.tracking import (
        log_feature_manifest,
        log_files,
        log_fingerprint,
        log_metrics,
        tracked_run,
    )

    with tracked_run(experiment, run_name="quickstart", tags={"ecomml.task": "quickstart"}) as run:
        log_fingerprint(shop.fingerprint, cutoff=cutoff)
        log_feature_manifest(manifest)
        log_metrics(
            {
                "transactions": summary["transactions"],
                "customers": summary["customers"],
                "skus": summary["skus"],
                **{f"rows.{k}": v for k, v in summary["feature_rows"].items()},
                **(step_metrics or {}),
            }
        )
        if shop.cleaning is not None:
            log_metrics({f"cleaning.{r.rule}": r.rows for r in shop.cleaning.rules})
        for key, path in outputs.items():
            if key.startswith("plots/"):
                log_files([path], str(Path(key).parent))
        if "cleaning_report" in outputs:
            log_files([outputs["cleaning_report"]], "data")
        log_files([outputs["summary"]])
        from ecomml.runner import log_model

        for task, path in (models or {}).items():
            log_model(path, name=f"{task}-model", register=f"ecomml-{task}" if register else None)
        return str(run.info.run_id)
