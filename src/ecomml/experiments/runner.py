"""Run an experiment config: rolling folds (or a parameter grid), the final model, MLflow runs.

Without a grid the parent run holds the aggregate metrics, the plots and the model, and
each fold is a child run. With a grid every point is a child run (per-fold metrics as
steps, the aggregate, plots and its own model) and the parent records the best point.
The caller configures the MLflow tracking URI; this module never sets it.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecomml.exceptions import ConfigError
from ecomml.experiments.config import ExperimentConfig, metric_direction
from ecomml.experiments.report import write_report
from ecomml.experiments.tasks import FoldScores, evaluate, fit_final, load_data
from ecomml.task import Shown
from ecomml.tracking import log_files, log_params, redacted_user_tags

__all__ = ["ExperimentResult", "git_commit", "rank_value", "run_experiment"]

Say = Callable[[str], None]


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` produced."""

    config: ExperimentConfig
    points: pd.DataFrame
    best: int
    out_dir: Path
    model_dir: Path
    report: Path
    parent_run_id: str | None = None
    model_uri: str | None = None
    registered: tuple[str, str] | None = None
    folds: dict[int, pd.DataFrame] = field(default_factory=dict)

    def points_table(self) -> Shown:
        """The console table of the points: each one's params and mean metrics (the
        primary metric starred)."""
        cfg, pts = self.config, self.points
        star = {m: m + (" *" if m == cfg.primary_metric else "")
                for m in cfg.metrics if m in pts.columns}  # fmt: skip
        fmt = {"point": "{}", "params": "{}", **dict.fromkeys(star.values(), "{:.4f}")}
        title = (
            f"{cfg.name}: {cfg.task} / {cfg.model}, {cfg.folds} fold(s) before {cfg.cutoff.date()}"
        )
        shown = pts.drop(columns="params").rename(columns={"label": "params", **star})
        return Shown(shown, title, fmt, left=("params",))

    def summary_lines(self, uri: str | None = None) -> list[str]:
        """Where the run's results are: the best model, the report, the MLflow runs at
        ``uri``, the model URI and the registered version (with how to promote it)."""
        lines = [f"best model saved to {self.model_dir}", f"report: {self.report}"]
        if self.parent_run_id:
            lines.append(f"MLflow experiment {self.config.name!r}, parent run "
                         f"{self.parent_run_id} in {uri}")  # fmt: skip
        if self.model_uri:
            run_uri = f"runs:/{self.best_run_id}/model" if self.best_run_id else ""
            lines.append(f"model URI: {self.model_uri} {run_uri}".rstrip())
        if self.registered:
            name, version = self.registered
            lines.append(f"registered {name} version {version}; promote it with "
                         f"`ecomml model promote {name} {version} --alias champion`")  # fmt: skip
        return lines

    @property
    def best_run_id(self) -> str | None:
        """The MLflow run holding the best model (the parent without a grid)."""
        if self.parent_run_id is None:
            return None
        if "run_id" in self.points.columns:
            rid = str(self.points.loc[self.points["point"] == self.best, "run_id"].iloc[0])
            return rid or self.parent_run_id
        return self.parent_run_id

    @property
    def best_metrics(self) -> dict[str, float]:
        """Aggregate metrics of the best point."""
        row = self.points.loc[self.points["point"] == self.best].iloc[0]
        return {m: float(row[m]) for m in self.config.metrics if m in row}


def git_commit(folder: str | Path) -> dict[str, str] | None:
    """``{"commit", "dirty"}`` of the git repository holding ``folder``, or None outside one."""
    try:
        head = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        status = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--", "."],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head, "dirty": "true" if status else "false"} if head else None


_NOMINAL = {"coverage_80": 0.8, "coverage_90": 0.9}


def rank_value(metric: str, value: float) -> float:
    """A number where smaller is better, whatever the metric's direction."""
    if value != value:  # NaN ranks last
        return np.inf
    d = metric_direction(metric)
    if d == "max":
        return -value
    if d == "target":
        return abs(value - _NOMINAL.get(metric, 0.0))
    return abs(value) if metric == "bias" else value


def _feature_manifest(views: list[Any], cutoff: pd.Timestamp) -> dict[str, Any]:
    from ecomml import __version__

    return {
        "ecomml_version": __version__,
        "views": {
            v.name: {
                cutoff.isoformat(): {
                    "sql_hash": v.sql_hash,
                    "cutoff": cutoff.isoformat(),
                    "entity": getattr(v.entity, "name", str(v.entity)),
                }
            }
            for v in views
        },
    }


def _point_label(params: dict[str, Any], grid: dict[str, list[Any]]) -> str:
    if not grid:
        return "base"
    return ",".join(f"{k}={params[k]}" for k in grid)


def _flat_params(cfg: ExperimentConfig, params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "task": cfg.task,
        "model": cfg.model,
        "cutoff": str(cfg.cutoff.date()),
        "folds": cfg.folds,
        "fold_step": cfg.fold_step,
    }
    out.update({f"task.{k}": v for k, v in cfg.task_params.items()})
    for k, v in params.items():
        out[f"model.{k}"] = ",".join(map(str, v)) if isinstance(v, (list, tuple)) else v
    return {k: ("" if v is None else str(v)[:500]) for k, v in out.items()}


def run_experiment(
    cfg: ExperimentConfig,
    *,
    grid: bool = False,
    register: str | None = None,
    out_dir: str | Path = "ecomml-output/experiments",
    track: bool = True,
    say: Say | None = None,
) -> ExperimentResult:
    """Run ``cfg``: score its folds (every grid point with ``grid``), fit and save the final
    model(s), write a report, and (with ``track``) log parent/child MLflow runs.

    ``register`` (or the config's ``register``) creates a registry version of the best
    model, tagged with its metrics, training window, ecomml version and feature hash.
    """
    say = say or (lambda msg: None)
    register = register or cfg.register
    if register and not track:
        raise ConfigError("registering a model needs MLflow tracking; drop --no-track")
    if grid and not cfg.grid:
        where = cfg.path or "the config"
        raise ConfigError(
            f"{where} has no grid: section; add e.g. `grid: {{n_estimators: [50, 100]}}` "
            "or run without --grid"
        )
    points = cfg.grid_points() if grid else [dict(cfg.model_params)]
    out = Path(out_dir) / cfg.name
    say("loading data")
    shop = load_data(cfg)
    if track:
        return _run_tracked(cfg, shop, points, grid, register, out, say)
    return _run(cfg, shop, points, grid, out, say, None)


def _run(
    cfg: ExperimentConfig,
    shop: Any,
    points: list[dict[str, Any]],
    grid: bool,
    out: Path,
    say: Say,
    mlflow_mod: Any,
) -> ExperimentResult:
    from ecomml.plots import save_figure

    rows: list[dict[str, Any]] = []
    fold_frames: dict[int, pd.DataFrame] = {}
    pngs: dict[int, dict[str, Path]] = {}
    model_dirs: dict[int, Path] = {}
    logged: dict[int, str] = {}
    views: list[Any] = []
    window: tuple[Any, Any] | None = None
    for i, params in enumerate(points):
        label = _point_label(params, cfg.grid if grid else {})
        sub = out / (f"point-{i + 1}" if grid else "run")
        child_ctx: Any = contextlib.nullcontext()
        if mlflow_mod is not None and grid:
            child_ctx = mlflow_mod.start_run(
                run_name=f"{cfg.model} {label}", nested=True, tags=redacted_user_tags()
            )
        with child_ctx:  # a failing point ends its child run as FAILED
            if mlflow_mod is not None and grid:
                mlflow_mod.set_tags(
                    {"ecomml.task": cfg.task, "ecomml.kind": "grid-point",
                     "ecomml.candidate": "true", "ecomml.primary_metric": cfg.primary_metric,
                     "ecomml.point": label, "ecomml.metrics": ",".join(cfg.metrics)}
                )  # fmt: skip
                log_params(_flat_params(cfg, params))
            say(f"[{i + 1}/{len(points)}] {label}: folds")
            scores = evaluate(cfg, shop, params, say)
            agg = scores.aggregate()
            fold_frames[i + 1] = scores.folds
            say(f"[{i + 1}/{len(points)}] {label}: final model")
            final = fit_final(cfg, shop, params, sub / "model", agg, say)
            views, window = final.views, final.training_window
            model_dirs[i + 1] = final.path
            files = {k: save_figure(f, sub / "plots" / k) for k, f in scores.figures.items()}
            files.update(final.pngs)
            pngs[i + 1] = files
            rows_id = ""
            if mlflow_mod is not None:
                _log_scores(mlflow_mod, scores, agg, per_fold_children=not grid, cfg=cfg)
                log_files(files.values(), "plots")
                if grid:
                    from ecomml.runner import log_model

                    logged[i + 1] = log_model(final.path).model_uri
                rows_id = mlflow_mod.active_run().info.run_id
        rows.append({"point": i + 1, "label": label, "params": json.dumps(params, default=str),
                     "run_id": rows_id, **agg})  # fmt: skip
    table = pd.DataFrame(rows)
    pm = cfg.primary_metric
    if pm in table.columns:
        table["_rank"] = [rank_value(pm, float(v)) for v in table[pm]]
        table = table.sort_values("_rank", kind="stable").drop(columns="_rank")
    best = int(table["point"].iloc[0])
    report = write_report(
        out / "report.html",
        title=f"{cfg.name}: {cfg.task} / {cfg.model}",
        config=cfg,
        points=table,
        folds=fold_frames[best],
        plots=pngs[best],
    )
    res = ExperimentResult(
        config=cfg,
        points=table.reset_index(drop=True),
        best=best,
        out_dir=out,
        model_dir=model_dirs[best],
        report=report,
        folds=fold_frames,
    )
    res.model_uri = logged.get(best)
    res._views = views  # type: ignore[attr-defined]
    res._window = window  # type: ignore[attr-defined]
    return res


def _log_scores(
    mlflow_mod: Any,
    scores: FoldScores,
    agg: dict[str, float],
    *,
    per_fold_children: bool,
    cfg: ExperimentConfig,
) -> None:
    """Per-fold metrics (child runs, or steps of this run) and the aggregate."""
    from ecomml.tracking import log_frame

    for _, r in scores.folds.iterrows():
        fold = int(r["fold"])
        vals = {
            k: float(v)
            for k, v in r.items()
            if k not in ("fold", "cutoff") and isinstance(v, (int, float, np.number))
            and np.isfinite(v)
        }  # fmt: skip
        if per_fold_children:
            with mlflow_mod.start_run(
                run_name=f"fold {fold}", nested=True, tags=redacted_user_tags()
            ):
                mlflow_mod.set_tags({"ecomml.task": cfg.task, "ecomml.kind": "fold"})
                log_params({"fold": fold, "fold_cutoff": str(pd.Timestamp(r["cutoff"]).date())})
                mlflow_mod.log_metrics(vals)
        else:
            mlflow_mod.log_metrics({f"fold.{k}": v for k, v in vals.items()}, step=fold)
    mlflow_mod.log_metrics(agg)
    std = scores.folds.drop(columns=["fold", "cutoff"], errors="ignore")
    std = std.apply(pd.to_numeric, errors="coerce").std(ddof=0)
    mlflow_mod.log_metrics({f"{k}_std": float(v) for k, v in std.items() if np.isfinite(v)})
    log_frame(scores.folds, "metrics/folds.csv")


def _run_tracked(
    cfg: ExperimentConfig,
    shop: Any,
    points: list[dict[str, Any]],
    grid: bool,
    register: str | None,
    out: Path,
    say: Say,
) -> ExperimentResult:
    import mlflow

    from ecomml.modelstore import register_model
    from ecomml.runner import log_model
    from ecomml.tracking import log_feature_manifest, log_fingerprint, log_frame, tracked_run

    tags = {"ecomml.task": cfg.task, "ecomml.kind": "experiment" if not grid else "grid",
            "ecomml.primary_metric": cfg.primary_metric,
            "ecomml.metrics": ",".join(cfg.metrics)}  # fmt: skip
    if not grid:
        tags["ecomml.candidate"] = "true"
    if cfg.path is not None:
        tags["ecomml.config"] = cfg.path.name
        git = git_commit(cfg.path.resolve().parent)
        if git is not None:
            tags.update({"mlflow.source.git.commit": git["commit"],
                         "ecomml.git_commit": git["commit"], "ecomml.git_dirty": git["dirty"]})  # fmt: skip
    run_name = f"{cfg.model} grid" if grid else f"{cfg.model} {cfg.cutoff.date()}"
    with tracked_run(cfg.name, run_name=run_name, tags=tags) as run:
        log_fingerprint(shop.fingerprint, cutoff=cfg.cutoff)
        if cfg.path is not None:
            mlflow.log_artifact(str(cfg.path), artifact_path="config")
        if not grid:
            log_params(_flat_params(cfg, points[0]))
        else:
            log_params({"task": cfg.task, "model": cfg.model, "grid_points": len(points),
                               "grid": json.dumps(cfg.grid, default=str)[:500]})  # fmt: skip
        res = _run(cfg, shop, points, grid, out, say, mlflow)
        res.parent_run_id = run.info.run_id
        log_feature_manifest(_feature_manifest(res._views, cfg.cutoff))  # type: ignore[attr-defined]
        log_frame(res.points, "leaderboard.csv")
        mlflow.log_artifact(str(res.report), artifact_path="report")
        if grid:
            best = res.points.iloc[0]
            mlflow.set_tags({"ecomml.best_run_id": str(best["run_id"]),
                             "ecomml.best_point": str(best["label"])})  # fmt: skip
            mlflow.log_metrics({f"best.{k}": v for k, v in res.best_metrics.items()})
            if register and res.model_uri:
                from ecomml.modelstore import read_metadata
                from ecomml.registry import get_model_task

                metrics = read_metadata(res.model_dir).get("metrics") or {}
                res.registered = register_model(
                    res.model_uri,
                    register,
                    res.model_dir,
                    get_model_task(cfg.task).headline(metrics),
                )
        else:
            info = log_model(res.model_dir, register=register)
            res.model_uri = info.model_uri
            if register and info.registered_model_version is not None:
                res.registered = (register, str(info.registered_model_version))
    return res
