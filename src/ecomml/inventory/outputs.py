"""The files an inventory job leaves behind: class lists, plans and simulation folders.

Each writer is atomic (a crash leaves the previous result intact), saves the pictures
that go with its table and returns what it wrote as :class:`Written`, so the CLI (and a
scheduler calling the library) only has to log it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ecomml._io import atomic_dir, atomic_write_json, atomic_write_table
from ecomml.exceptions import DataQualityError
from ecomml.plots import save_figure
from ecomml.task import Written

__all__ = [
    "Written",
    "numeric",
    "sibling",
    "simulation_panel",
    "write_classes",
    "write_plan",
    "write_simulation",
]


def numeric(summary: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of a summary (its metrics): not booleans, not text, not nested."""
    return {
        k: float(v)
        for k, v in summary.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def sibling(output: Path, tail: str) -> Path:
    """``plan.csv`` + ``.summary.json`` -> ``plan.summary.json`` (a file beside ``output``)."""
    return output.with_name(output.stem + tail)


def _class_plots(classes: pd.DataFrame, plots_dir: Path, measure: str) -> dict[str, Path]:
    from ecomml.inventory.plots import class_figures

    figs = class_figures(classes, measure=measure)
    return {name: save_figure(fig, plots_dir / name) for name, fig in figs.items()}


def write_classes(
    classes: pd.DataFrame,
    output: Path,
    *,
    migration: pd.DataFrame | None = None,
    plots_dir: Path | None = None,
    by: str = "revenue",
    clearance: pd.DataFrame | None = None,
    clearance_output: Path | None = None,
) -> Written:
    """``output`` (one row per SKU), ``<output>.by_class.csv``, ``<output>.migration.csv``
    (with ``migration``), the clearance table at ``clearance_output`` (default
    ``<output>.clearance.csv``, with ``clearance``) and the Pareto and ABC-XYZ plots
    (default ``<output>-plots/``)."""
    from ecomml.inventory.classify import class_summary

    files = [
        atomic_write_table(output, classes),
        atomic_write_table(sibling(output, ".by_class.csv"), class_summary(classes)),
    ]
    if migration is not None:
        files.append(atomic_write_table(sibling(output, ".migration.csv"), migration))
    if clearance is not None:
        target = clearance_output or sibling(output, ".clearance.csv")
        files.append(atomic_write_table(target, clearance))
    metrics = {f"skus_{c}": float((classes["abc"] == c).sum()) for c in "ABC"}
    metrics.update(
        slow_movers=float(classes["slow_mover"].sum()), dead=float(classes["dead"].sum())
    )
    if clearance is not None:
        metrics.update(
            clearance_skus=float(len(clearance)),
            clearance_stock_value=float(clearance["stock_value"].sum()),
        )
    plots = _class_plots(classes, plots_dir or sibling(output, "-plots"), by)
    return Written(files, plots, metrics)


def write_plan(
    plan: Any, summary: Mapping[str, Any], output: Path, *, plots_dir: Path | None = None,
    by: str = "revenue",
) -> Written:  # fmt: skip
    """``output`` (the plan of a :class:`~ecomml.inventory.ReplenishmentPlan`),
    ``<output>.summary.json``, the class plots of the SKUs with sales and, for a cost
    objective, ``<output>.cost_curve.csv`` and ``cost_tradeoff.png``."""
    files = [
        atomic_write_table(output, plan.plan),
        atomic_write_json(sibling(output, ".summary.json"), summary),
    ]
    classes = plan.classes.dropna(subset=["value"]) if plan.classes is not None else None
    plots = {}
    pdir = plots_dir or sibling(output, "-plots")
    if classes is not None and len(classes):
        plots = _class_plots(classes, pdir, by)
    if plan.cost_curve is not None and len(plan.cost_curve):
        from ecomml.inventory.plots import plot_cost_tradeoff

        files.append(atomic_write_table(sibling(output, ".cost_curve.csv"), plan.cost_curve))
        s = plan.summary
        chosen = {"expected_fill_rate": s["expected_fill_rate"],
                  "expected_cost": s["expected_cost_per_week"] / s["periods_per_week"]}  # fmt: skip
        fig = plot_cost_tradeoff(plan.cost_curve, chosen, per_week=s["periods_per_week"])
        plots["cost_tradeoff.png"] = save_figure(fig, pdir / "cost_tradeoff.png")
    return Written(files, plots, numeric(summary))


def simulation_panel(
    shop: Any, start: pd.Timestamp, end: pd.Timestamp, freq: str, *, min_periods: int = 1
) -> tuple[pd.DataFrame, pd.Series]:
    """The demand panel to replay from ``start`` to ``end`` (SKUs sold in at least
    ``min_periods`` periods before ``start``) and their unit costs as of ``start``."""
    from ecomml.forecasting.panel import panel_from_transactions, period_start
    from ecomml.inventory.plan import unit_costs

    panel = panel_from_transactions(shop.transactions, end, freq)
    hist = panel.loc[panel["ds"] < period_start(start, freq)]
    active = hist.loc[hist["y"] > 0].groupby("sku").size()
    keep = active.index[active >= min_periods]
    if len(keep) == 0:
        raise DataQualityError(
            f"no SKU sold in >= {min_periods} periods before --start {start.date()}"
        )
    tx = shop.transactions
    cost = unit_costs(tx.loc[tx["ts"] < start], keep, shop.catalog)
    return panel.loc[panel["sku"].isin(keep)], cost


def write_simulation(
    res: Any,
    output: Path,
    *,
    curve: pd.DataFrame | None = None,
    trace_skus: list[str] | None = None,
) -> Written:
    """The folder ``output``: per_sku.parquet, per_class.csv, traces.parquet, tradeoff.csv
    (with ``curve``), summary.json and plots/ (inventory traces, the trade-off curve),
    swapped in whole."""
    from ecomml.inventory.plots import plot_inventory_traces, plot_tradeoff

    if trace_skus:
        unknown = sorted(set(trace_skus) - set(res.per_sku["sku"]))
        if unknown:
            raise DataQualityError(
                f"--trace-skus not simulated (no history before --start): {unknown}"
            )

    def fill(tmp: Path) -> None:
        atomic_write_table(tmp / "per_sku.parquet", res.per_sku)
        res.per_class.to_csv(tmp / "per_class.csv", index=False)
        atomic_write_table(tmp / "traces.parquet", res.traces)
        if curve is not None:
            curve.to_csv(tmp / "tradeoff.csv", index=False)
        atomic_write_json(tmp / "summary.json", res.summary)
        save_figure(plot_inventory_traces(res.traces, trace_skus), tmp / "plots" / "traces.png")
        if curve is not None:
            save_figure(plot_tradeoff(curve), tmp / "plots" / "tradeoff.png")

    atomic_dir(output, fill)
    files = [output / n for n in ("per_class.csv", "summary.json", "tradeoff.csv")]
    plots = {p.name: p for p in (output / "plots").glob("*.png")}
    return Written(files, plots, numeric(res.summary))
