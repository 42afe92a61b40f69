"""The churn step of the main job (``ecomml quickstart``): fit, validate, score, plot."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ecomml._io import atomic_path, atomic_write_json

if TYPE_CHECKING:
    from ecomml.task import StepContext, StepResult

__all__ = ["run_quickstart_step", "write_plots"]

TASK = "churn"


def write_plots(model: Any, scored: Any, plot_dir: Path) -> dict[str, Path]:
    """Save the evaluation PNGs of a fitted :class:`ChurnModel` under ``plot_dir``;
    returns ``{file name: path}``."""
    from ecomml.churn.plots import plot_calibration, plot_gains, plot_roc_pr, plot_segments
    from ecomml.plots import save_figure

    out: dict[str, Path] = {}
    out["segments.png"] = save_figure(plot_segments(scored), plot_dir / "segments.png")
    val = getattr(model, "validation_", None) or {}
    if val.get("y"):
        y = np.asarray(val["y"])
        if 0 < y.mean() < 1:
            scores = {
                "classifier": np.asarray(val["p_classifier"]),
                "BG/NBD": np.asarray(val["p_btyd"]),
            }
            out["calibration.png"] = save_figure(
                plot_calibration(y, scores), plot_dir / "calibration.png"
            )
            out["gains.png"] = save_figure(plot_gains(y, scores), plot_dir / "gains.png")
            out["roc_pr.png"] = save_figure(plot_roc_pr(y, scores), plot_dir / "roc_pr.png")
    return out


def run_quickstart_step(ctx: StepContext) -> StepResult:
    """Fit a 90-day churn model as of the main job's cutoff and write the scored list."""
    from ecomml.churn.scoring import ChurnModel
    from ecomml.task import StepResult

    tx = ctx.shop.transactions
    events = ctx.shop.events is not None and len(ctx.shop.events) > 0
    model = ChurnModel(
        90, step=60, max_cutoffs=6, classifier={"n_estimators": 200, "learning_rate": 0.05}
    )
    model.fit(tx, ctx.store, cutoff=ctx.cutoff, events=events, progress=ctx.say)
    ctx.say("scoring customers")
    scored = model.score(tx, ctx.store, cutoff=ctx.cutoff)
    out_dir = ctx.out_dir / TASK
    path = out_dir / "scored_customers.parquet"
    with atomic_path(path, suffix=".tmp.parquet") as tmp:
        scored.to_parquet(tmp, index=False)
    ctx.say("plots")
    plots = write_plots(model, scored, ctx.out_dir / "plots" / TASK)
    outputs: dict[str, Path] = {"churn/scored_customers": path}
    outputs.update({f"plots/{TASK}/{name}": p for name, p in plots.items()})
    metrics: dict[str, float] = {
        "customers": float(len(scored)),
        "mean_p_churn": float(scored["p_churn"].mean()),
        "value_at_risk": float(scored["value_at_risk"].sum()),
    }
    val = model.validation_ or {}
    for who in ("classifier", "btyd"):
        for k in ("roc_auc", "brier", "lift_top_decile"):
            if who in val:
                metrics[f"holdout_{who}_{k}"] = float(val[who][k])
    summary = {
        **model.describe(),
        "validation_cutoff": val.get("cutoff"),
        "segments": scored["segment"].value_counts().to_dict(),
        "tiers": scored["tier"].value_counts().to_dict(),
        "metrics": metrics,
    }
    outputs["churn/summary"] = atomic_write_json(out_dir / "summary.json", summary)
    return StepResult(task=TASK, outputs=outputs, metrics=metrics, summary=summary)
