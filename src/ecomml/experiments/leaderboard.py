"""Leaderboard of experiment runs from the MLflow store (what ``ecomml experiment compare`` prints)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ecomml._io import atomic_path
from ecomml.exceptions import ConfigError, TrackingError
from ecomml.experiments.runner import rank_value
from ecomml.task import Shown

__all__ = ["LEADERBOARD_COLUMNS", "leaderboard", "leaderboard_tables", "write_leaderboard"]

#: Leading columns; the task's metrics follow.
LEADERBOARD_COLUMNS: tuple[str, ...] = (
    "rank", "experiment", "run_id", "run_name", "task", "model", "params", "cutoff",
    "primary_metric", "score",
)  # fmt: skip


def leaderboard(experiment: str | None = None) -> pd.DataFrame:
    """Candidate runs (experiment runs and grid points), best first within each experiment.

    ``experiment`` is an MLflow experiment name; None = every experiment with ecomml
    experiment runs. ``score`` is the value of each run's primary metric.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        if experiment is not None:
            exp = mlflow.get_experiment_by_name(experiment)
            if exp is None:
                names = [e.name for e in mlflow.search_experiments()]
                raise ConfigError(
                    f"no MLflow experiment named {experiment!r} at {mlflow.get_tracking_uri()}; "
                    f"known: {', '.join(names) or 'none'}"
                )
            ids = [exp.experiment_id]
        else:
            ids = [e.experiment_id for e in mlflow.search_experiments()]
        runs = mlflow.search_runs(
            experiment_ids=ids,
            filter_string="tags.`ecomml.candidate` = 'true' and attributes.status = 'FINISHED'",
            output_format="pandas",
        )
        exp_names = {i: mlflow.get_experiment(i).name for i in ids}
    except MlflowException as err:
        raise TrackingError(
            f"cannot read runs from {mlflow.get_tracking_uri()}: {err.message}"
        ) from err
    cols = list(LEADERBOARD_COLUMNS)
    if runs.empty:
        return pd.DataFrame(columns=cols)

    def tag(r: pd.Series, k: str) -> str:
        v = r.get(f"tags.{k}")
        return "" if v is None or v != v else str(v)

    rows = []
    for _, r in runs.iterrows():
        task = tag(r, "ecomml.task")
        pm = tag(r, "ecomml.primary_metric")
        params = {
            c[len("params.model.") :]: r[c]
            for c in runs.columns
            if c.startswith("params.model.") and r[c] is not None and r[c] == r[c]
        }
        row = {
            "experiment": exp_names.get(r["experiment_id"], r["experiment_id"]),
            "run_id": r["run_id"],
            "run_name": tag(r, "mlflow.runName"),
            "task": task,
            "model": r.get("params.model", ""),
            "params": ", ".join(f"{k}={v}" for k, v in sorted(params.items())),
            "cutoff": r.get("params.cutoff", ""),
            "primary_metric": pm,
            "score": r.get(f"metrics.{pm}", float("nan")),
        }
        for m in _task_metrics(task):
            if f"metrics.{m}" in runs.columns:
                row[m] = r[f"metrics.{m}"]
        row["_start"] = r["start_time"]
        rows.append(row)
    df = pd.DataFrame(rows)
    listed: dict[str, list[str]] = {}
    for _, r in runs.sort_values("start_time").iterrows():
        names = tag(r, "ecomml.metrics")
        if names:
            listed[exp_names.get(r["experiment_id"], r["experiment_id"])] = names.split(",")
    df["_key"] = [
        rank_value(p, float(s)) for p, s in zip(df["primary_metric"], df["score"], strict=True)
    ]
    df = df.sort_values(["experiment", "_key", "_start"], ascending=[True, True, False])
    df["rank"] = df.groupby("experiment").cumcount() + 1
    metric_cols = [c for c in df.columns if c not in cols and not c.startswith("_")]
    metric_cols = [c for c in metric_cols if df[c].notna().any()]
    out = df[cols + metric_cols].reset_index(drop=True)
    out.attrs["metrics"] = listed  # the metrics each experiment's config lists
    return out


def write_leaderboard(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write the leaderboard as CSV (``.csv``) or Markdown (``.md``), atomically."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".md", ".markdown"):
        raise ConfigError(f"--output {p}: use a .csv or .md file name")
    with atomic_path(p, suffix=f".tmp{suffix}") as tmp:
        if suffix == ".csv":
            df.to_csv(tmp, index=False)
        else:
            tmp.write_text(_markdown(df), encoding="utf-8")
    return p


def _markdown(df: pd.DataFrame) -> str:
    def fmt(v: object) -> str:
        if isinstance(v, float):
            return "" if v != v else f"{v:.4g}"
        return str(v).replace("|", "\\|")

    head = "| " + " | ".join(df.columns) + " |"
    sep = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body]) + "\n"


def _task_metrics(task: str) -> tuple[str, ...]:
    """The metrics a registered task reports (none for an unknown task name)."""
    from ecomml.registry import get_model_task, model_task_names

    return tuple(get_model_task(task).metrics) if task in model_task_names() else ()


def leaderboard_tables(board: pd.DataFrame, top: int = 20) -> list[Shown]:
    """One console table per experiment of a :func:`leaderboard`: its ``top`` runs, the
    primary metric starred, then the config's other metrics (or the first three filled)."""
    listed = board.attrs.get("metrics", {})
    tables = []
    for name, part in board.groupby("experiment", sort=True):
        part = part.loc[part["rank"] <= top].copy()
        pm = str(part["primary_metric"].iloc[0])
        metrics = [m for m in listed.get(name, []) if m in part.columns]
        if not metrics:
            rest = [c for c in part.columns[len(LEADERBOARD_COLUMNS) :] if c != pm]
            metrics = [pm, *[c for c in rest if part[c].notna().any()][:3]]
        part["run_id"] = part["run_id"].astype(str).str[:8]
        shown = part.rename(columns={pm: f"{pm} *"})
        cols = ["rank", "run_id", "run_name", "params", "cutoff"]
        formats = {**dict.fromkeys(cols, "{}"),
                   **{m + (" *" if m == pm else ""): "{:.4f}" for m in metrics}}  # fmt: skip
        title = f"{name} ({part['task'].iloc[0]}): best first by {pm}"
        tables.append(Shown(shown, title, formats, left=tuple(cols[1:])))
    return tables
