"""The inventory step of the main job (``ecomml quickstart``): classes and a replenishment
plan from the forecast step's output."""

from __future__ import annotations

import pandas as pd

from ecomml._io import atomic_path
from ecomml.task import StepContext, StepResult

__all__ = ["run_quickstart_step"]

TASK = "inventory"


def _parquet(frame: pd.DataFrame, path: object) -> None:
    with atomic_path(path, suffix=".tmp.parquet") as tmp:  # type: ignore[arg-type]
        frame.to_parquet(tmp, index=False)


def run_quickstart_step(ctx: StepContext) -> StepResult:
    """ABC/XYZ classes by revenue and a plan (2-week lead time, weekly review, 95% fill
    rate, nothing in stock) from ``forecast/forecast.parquet``; Pareto and matrix plots."""
    from ecomml.exceptions import DataQualityError
    from ecomml.inventory.classify import abc_xyz_matrix
    from ecomml.inventory.plan import replenishment_plan
    from ecomml.inventory.plots import plot_abc_xyz_heatmap, plot_pareto_classes
    from ecomml.plots import save_figure

    src = ctx.out_dir / "forecast" / "forecast.parquet"
    if not src.exists():
        raise DataQualityError(
            f"the inventory step plans from the forecast step's output {src}, which is "
            "missing; run the forecasting step first"
        )
    out = ctx.out_dir / TASK
    plots = ctx.out_dir / "plots" / TASK
    ctx.say("classes + plan")
    fc = pd.read_parquet(src)
    res = replenishment_plan(
        fc, ctx.shop.transactions, ctx.cutoff, lead_time=14, service_level=0.95,
        catalog=ctx.shop.catalog, on_mismatch="drop", n_samples=1000,
    )  # fmt: skip
    classes = res.classes.dropna(subset=["value"])
    outputs = {}
    for name, frame in (("plan", res.plan), ("classes", classes)):
        _parquet(frame, out / f"{name}.parquet")
        outputs[f"{TASK}/{name}.parquet"] = out / f"{name}.parquet"
    ctx.say("plots")
    figs = {
        "pareto.png": plot_pareto_classes(classes),
        "abc_xyz.png": plot_abc_xyz_heatmap(abc_xyz_matrix(classes)),
    }
    for fname, fig in figs.items():
        outputs[f"plots/{TASK}/{fname}"] = save_figure(fig, plots / fname)
    s = res.summary
    metrics = {
        "expected_fill_rate": s["expected_fill_rate"],
        "expected_turns": s["expected_turns"],
        "expected_avg_inventory_value": s["expected_avg_inventory_value"],
        "slow_mover_share": s["slow_mover_share"],
        "order_value": s["order_value"],
    }
    summary = {k: v for k, v in s.items() if k != "by_class"}
    summary["classes"] = res.plan["abc"].value_counts().to_dict()
    return StepResult(task=TASK, outputs=outputs, metrics=metrics, summary=summary)
