"""The main job: shop data -> feature store -> every task's model -> outputs and MLflow runs.

``load_shop`` reads a user's export (or builds the built-in sample shop) into canonical
tables; ``run_quickstart`` builds every feature view as of a cutoff, writes outputs and
plots, runs every task step in ``TASK_STEPS`` on the same store, and logs one MLflow run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ecomml._io import atomic_write_json, atomic_write_table
from ecomml._validation import check_cutoff

if TYPE_CHECKING:
    from ecomml.features.engines import Engine
    from ecomml.features.store import FeatureStore

__all__ = [
    "ShopData",
    "load_shop",
    "run_quickstart",
    "QuickstartResult",
    "default_cutoff",
    "StepContext",
    "StepResult",
    "TASK_STEPS",
]

Progress = Callable[[str, float], None]

#: Modules whose ``run_quickstart_step(ctx: StepContext) -> StepResult`` the main job runs,
#: in order, after the feature store is built.
TASK_STEPS: tuple[str, ...] = (
    "ecomml.churn",
    "ecomml.recommend",
    "ecomml.forecasting",
    "ecomml.inventory",
)


@dataclass
class StepContext:
    """What a task step of the main job gets: the shop (already cut), its store, the cutoff."""

    shop: ShopData
    store: FeatureStore
    cutoff: pd.Timestamp
    out_dir: Path
    features_dir: Path
    manifest: dict[str, Any]
    #: report progress within the step: ``ctx.say("fitting")`` shows on the progress bar
    say: Callable[[str], None]


@dataclass
class StepResult:
    """What a task step produced.

    ``outputs`` keys are paths relative to ``out_dir`` (PNG files under ``plots/`` are
    logged to MLflow as plots); ``metrics`` are logged with the task name as prefix;
    ``summary`` goes into ``summary.json`` under the task name.
    """

    task: str
    outputs: dict[str, Path] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class ShopData:
    """Canonical tables of one shop plus where they came from and how they were cleaned."""

    transactions: pd.DataFrame
    events: pd.DataFrame | None = None
    catalog: pd.DataFrame | None = None
    calendar: pd.DataFrame | None = None
    source: str = "sample shop"
    cleaning: Any = None
    fingerprint: dict[str, Any] = field(default_factory=dict)

    def to_store(self, engine: Engine | None = None) -> FeatureStore:
        """A feature store (built-in views) with every table of this shop registered."""
        from ecomml.features.store import FeatureStore

        store = FeatureStore(engine)
        for table in ("transactions", "events", "catalog", "calendar"):
            frame = getattr(self, table)
            if frame is not None:
                store.register(table, frame)
        return store


def load_shop(
    transactions: str | os.PathLike[str] | None = None,
    *,
    format: str = "auto",
    mapping: Mapping[str, str] | None = None,
    events: str | os.PathLike[str] | None = None,
    catalog: str | os.PathLike[str] | None = None,
    calendar: str | os.PathLike[str] | None = None,
    encoding: str | None = None,
    clean: bool = True,
    seed: int = 0,
    max_ts: Any = None,
    cutoff: Any = None,
) -> ShopData:
    """Read a shop's tables (validated and cleaned), or build the seeded sample shop when
    ``transactions`` is None.

    With ``cutoff``, rows at or after it are dropped *before* cleaning, so no cleaning
    rule can use the future (e.g. a cancellation after the cutoff never removes the sale
    it reverses from the history before it).
    """
    from ecomml.tracking import data_fingerprint

    cut = check_cutoff(cutoff) if cutoff is not None else None

    if transactions is None:
        from ecomml.data.synth import make_shop

        shop = make_shop(seed=seed)
        data = ShopData(
            transactions=shop.transactions,
            events=shop.events,
            catalog=shop.catalog,
            calendar=shop.calendar,
            source=f"built-in sample shop (seed={seed})",
        )
        data.fingerprint = data_fingerprint(shop.transactions)
        data.fingerprint["path"] = data.source
        if cut is not None:
            data.transactions = _before(shop.transactions, cut)
            data.events = _before(shop.events, cut)
        return data

    from ecomml.data import clean_transactions, read_transactions

    tx, report = read_transactions(
        transactions,
        format=format,
        mapping=dict(mapping or {}),
        clean=clean and cut is None,
        encoding=encoding,
        max_ts=max_ts,
    )
    if cut is not None:
        tx = _before(tx, cut)
        if clean:
            tx, report = clean_transactions(tx)
    data = ShopData(transactions=tx, source=str(transactions), cleaning=report if clean else None)
    data.fingerprint = data_fingerprint(transactions)
    if events is not None:
        data.events = _read_side_table(events, "events", max_ts=max_ts)
        if cut is not None:
            data.events = _before(data.events, cut)
    if catalog is not None:
        data.catalog = _read_side_table(catalog, "catalog")
    if calendar is not None:
        data.calendar = _read_side_table(calendar, "calendar")
    return data


def _read_side_table(
    path: str | os.PathLike[str], table: str, *, max_ts: Any = None
) -> pd.DataFrame:
    """Read an events/catalog/calendar file, which must already use canonical column names."""
    from ecomml.data import read_table
    from ecomml.exceptions import SchemaError

    try:
        return read_table(path, table=table, max_ts=max_ts)
    except SchemaError as err:
        raise SchemaError(
            f"{str(err).split('. ')[0]}. --{table} files are read with canonical column names "
            f"({', '.join(err.missing) or 'see the README'} missing): rename them, or convert "
            f"the file first with `ecomml data convert {Path(path).name} {table}.parquet "
            f"--table {table} --map Source=canonical`.",
            missing=err.missing,
            columns=err.columns,
        ) from err


def _before(frame: pd.DataFrame | None, cutoff: pd.Timestamp) -> pd.DataFrame | None:
    if frame is None:
        return None
    return frame.loc[frame["ts"] < cutoff].reset_index(drop=True)


def default_cutoff(transactions: pd.DataFrame) -> pd.Timestamp:
    """The day after the last transaction: every row of the data is history."""
    if transactions.empty:
        from ecomml.exceptions import DataQualityError

        raise DataQualityError("transactions has no rows after cleaning; nothing to build")
    return pd.Timestamp(transactions["ts"].max()).normalize() + pd.Timedelta(days=1)


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


def run_quickstart(
    shop: ShopData,
    *,
    out_dir: str | os.PathLike[str] = "ecomml-output",
    cutoff: Any = None,
    track: bool = True,
    experiment: str = "ecomml-quickstart",
    progress: Progress | None = None,
) -> QuickstartResult:
    """Run the main job on ``shop`` and write everything under ``out_dir``.

    Steps: canonical data and cleaning report; every built-in feature view
    materialized as of ``cutoff`` (default: the day after the last transaction) with
    its manifest; overview plots; a summary. With ``track=True`` one MLflow run is
    logged to the tracking URI the caller configured.
    """
    from ecomml.features.materialize import materialize_views, read_materialized
    from ecomml.plots import plot_daily_sales, plot_pareto, plot_rfm_overview, save_figure

    tx = shop.transactions
    cut = check_cutoff(cutoff) if cutoff is not None else default_cutoff(tx)
    # Everything below (outputs, summary, plots) sees only the history before the cutoff.
    tx = _before(tx, cut)
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
        events=_before(shop.events, cut),
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
    store = shop.to_store()
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
    for i, module in enumerate(TASK_STEPS):
        import importlib

        lo, hi = 0.55 + 0.4 * i / len(TASK_STEPS), 0.55 + 0.4 * (i + 1) / len(TASK_STEPS)
        task_name = module.rsplit(".", 1)[-1]
        say(task_name, lo)
        t0 = time.perf_counter()
        ctx = StepContext(
            shop=shop,
            store=store,
            cutoff=cut,
            out_dir=out,
            features_dir=feat_dir,
            manifest=manifest,
            say=lambda msg, _lo=lo, _name=task_name: say(f"{_name}: {msg}", _lo),
        )
        res = importlib.import_module(module).run_quickstart_step(ctx)
        outputs.update(res.outputs)
        step_metrics.update({f"{res.task}.{k}": float(v) for k, v in res.metrics.items()})
        step_summaries[res.task] = res.summary
        seconds[res.task] = time.perf_counter() - t0
        say(f"{task_name} done", hi)

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
        **step_summaries,
    }
    outputs["summary"] = atomic_write_json(out / "summary.json", summary)

    run_id = None
    if track:
        say("logging to MLflow", 0.95)
        run_id = _log_run(shop, manifest, outputs, summary, cut, experiment, step_metrics)
    say("done", 1.0)
    return QuickstartResult(out, cut, outputs, view_rows, seconds, run_id, summary, step_metrics)


def _log_run(
    shop: ShopData,
    manifest: dict[str, Any],
    outputs: dict[str, Path],
    summary: dict[str, Any],
    cutoff: pd.Timestamp,
    experiment: str,
    step_metrics: Mapping[str, float] | None = None,
) -> str:
    import mlflow

    from ecomml.tracking import log_feature_manifest, log_fingerprint, tracked_run

    with tracked_run(experiment, run_name="quickstart", tags={"ecomml.task": "quickstart"}) as run:
        log_fingerprint(shop.fingerprint, cutoff=cutoff)
        log_feature_manifest(manifest)
        mlflow.log_metrics(
            {
                "transactions": summary["transactions"],
                "customers": summary["customers"],
                "skus": summary["skus"],
                **{f"rows.{k}": v for k, v in summary["feature_rows"].items()},
            }
        )
        if step_metrics:
            mlflow.log_metrics(dict(step_metrics))
        if shop.cleaning is not None:
            mlflow.log_metrics({f"cleaning.{r.rule}": float(r.rows) for r in shop.cleaning.rules})
        for key, path in outputs.items():
            if key.startswith("plots/") and Path(path).is_file():
                sub = str(Path(key).parent)
                mlflow.log_artifact(str(path), artifact_path=sub)
        if "cleaning_report" in outputs:
            mlflow.log_artifact(str(outputs["cleaning_report"]), artifact_path="data")
        mlflow.log_artifact(str(outputs["summary"]))
        return str(run.info.run_id)
