"""``ecomml inventory classify|plan|simulate``: ABC/XYZ, replenishment plans, policy replay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import typer

from ecomml.cli._common import console, handle_errors, make_progress, print_frame
from ecomml.cli.options import DataOptions, TrackOptions, log_written, with_groups

app = typer.Typer(no_args_is_help=True)
TASK = "inventory"

ByOpt = typer.Option("revenue", "--by", help="ABC measure: revenue, units or margin.")
LeadTimeOpt = typer.Option(..., "--lead-time", help="Mean lead time in days (> 0).")
LeadSdOpt = typer.Option(0.0, "--lead-time-sd", help="Lead-time standard deviation in days.")
ServiceOpt = typer.Option(0.95, "--service-level", help="Target service level in (0, 1).")
TargetOpt = typer.Option(
    "fill", "--target", help="fill (share of demand served) or cycle (no stock-out in a cycle)."
)
CellsOpt = typer.Option(
    None,
    "--cell-targets",
    help="Per ABC-XYZ cell targets instead of one --service-level: 'default' or "
    "overrides such as AX=0.99,CZ=0.8.",
)


_SIDE_FILES = {  # required columns, numeric columns of the side inputs
    "forecasts": (("sku", "ds", "mean"), ("mean",)),
    "on-hand": (("sku", "on_hand"), ("on_hand", "on_order", "unit_cost", "moq", "pack_size")),
}


def _read_frame(path: Path, name: str) -> Any:
    # the adapters' file checks; SKUs stay text (an on-hand 0007 must match the sales' 0007)
    from ecomml.data import read_frame

    required, numeric = _SIDE_FILES[name]
    return read_frame(path, what=name, required=required, text=("sku", "ds"), numeric=numeric)


def _cuts(text: str, name: str) -> tuple[float, float]:
    from ecomml.exceptions import ConfigError

    try:
        a, b = (float(x) for x in text.split(","))
    except ValueError:
        raise ConfigError(
            f"{name} takes two comma-separated numbers, e.g. 0.8,0.95; got {text!r}"
        ) from None
    return a, b


def _cells(text: str | None) -> dict[str, float] | None:
    from ecomml.cli._common import parse_map
    from ecomml.exceptions import ConfigError

    if text is None:
        return None
    if text.strip().lower() == "default":
        return {}
    out = {}
    for k, v in parse_map([text]).items():
        try:
            out[k] = float(v)
        except ValueError:
            raise ConfigError(f"--cell-targets value for {k} is not a number: {v!r}") from None
    return out


@app.command("classify")
@with_groups
def classify(
    data: DataOptions,
    tracking: TrackOptions,
    cutoff: str = typer.Option(..., "--cutoff", help="Classify on rows with ts < cutoff."),
    by: str = ByOpt,
    output: Path = typer.Option(..., "--output", "-o", help="Classes file (CSV or Parquet)."),
    abc_cutoffs: str = typer.Option(
        "0.8,0.95", "--abc-cutoffs", help="Cumulative shares closing A and B."
    ),
    xyz_cutoffs: str = typer.Option("0.5,1.0", "--xyz-cutoffs", help="CV limits of X and Y."),
    lookback_days: int = typer.Option(365, "--lookback-days", help="Window before the cutoff."),
    dead_days: int = typer.Option(
        90, "--dead-days", help="No sale in this many days = dead stock."
    ),
    on_hand: Path | None = typer.Option(
        None, "--on-hand", help="sku,on_hand file: adds cover and turnover."
    ),
    compare_cutoff: str | None = typer.Option(
        None,
        "--compare-cutoff",
        help="Earlier cutoff: also write class migration (<output>.migration.csv).",
    ),
    cell_targets: str | None = CellsOpt,
    plots_dir: Path | None = typer.Option(
        None, "--plots-dir", help="PNG folder (default <output>-plots)."
    ),
    clearance_output: Path | None = typer.Option(
        None,
        "--clearance-output",
        help="Also write the clearance table (dead, slow and class-C stock with weeks of "
        "cover and money tied up) to this file; needs --on-hand.",
    ),
) -> None:
    """ABC (by --by) and XYZ classes, demand pattern, service target, slow movers and dead
    stock per SKU, from the history before --cutoff (+ <output>.by_class.csv per ABC class).

    Columns: sku, value, share, cum_share, rank, abc, xyz, cell, service_target, pattern,
    cv, mean_demand, units, revenue, weekly_units, last_sale, days_since_sale, dead, slow_mover.
    """  # fmt: skip
    with handle_errors():
        from ecomml.inventory import abc_xyz_matrix, class_migration, classify_skus
        from ecomml.inventory.outputs import write_classes

        cut = data.date(cutoff)
        data.refuse_overwrite(("--output", output), inputs=[on_hand])
        if clearance_output is not None:
            from ecomml.exceptions import ConfigError

            if on_hand is None:
                raise ConfigError(
                    "--clearance-output needs --on-hand (sku,on_hand[,unit_cost]): the table "
                    "lists stock to clear and the money tied up in it"
                )
            data.refuse_overwrite(("--clearance-output", clearance_output), inputs=[on_hand])
        ac, xc = _cuts(abc_cutoffs, "--abc-cutoffs"), _cuts(xyz_cutoffs, "--xyz-cutoffs")
        oh = _read_frame(on_hand, "on-hand") if on_hand is not None else None
        with make_progress(transient=True) as progress:
            task = progress.add_task("loading data", total=3)
            shop = data.shop(cut)
            progress.update(task, advance=1, description="classifying")
            kw = dict(by=by, lookback_days=lookback_days, dead_days=dead_days,  # noqa: C408
                      catalog=shop.catalog, cell_overrides=_cells(cell_targets))  # fmt: skip
            classes = classify_skus(
                shop.transactions, cut, abc_cutoffs=ac, xyz_cutoffs=xc, on_hand=oh, **kw
            )
            mig = None
            if compare_cutoff is not None:
                mig = class_migration(shop.transactions, data.date(compare_cutoff, "--compare-cutoff"), cut,
                                      abc_cutoffs=ac, xyz_cutoffs=xc, **kw)  # fmt: skip
            clear = None
            if clearance_output is not None and oh is not None:
                from ecomml.inventory import clearance_candidates, unit_costs

                cost = unit_costs(shop.transactions.loc[shop.transactions["ts"] < cut],
                                  oh["sku"].astype(str).unique(), shop.catalog)  # fmt: skip
                clear = clearance_candidates(classes, oh, unit_cost=cost)
            progress.update(task, advance=1, description="writing")
            with tracking.run(TASK, "classify") as run:
                written = write_classes(classes, output, migration=mig, plots_dir=plots_dir, by=by,
                                        clearance=clear, clearance_output=clearance_output)  # fmt: skip
                log_written(run, written, {"by": by, "cutoff": cut.date(), "abc_cutoffs": abc_cutoffs,
                                           "xyz_cutoffs": xyz_cutoffs})  # fmt: skip
            progress.update(task, advance=1, description="done")
        m = abc_xyz_matrix(classes)
        m["cell"] = [
            f"{int(n)} ({v:.1%})" for n, v in zip(m["skus"], m["value_share"], strict=True)
        ]
        grid = m.pivot(index="abc", columns="xyz", values="cell").reindex(list("ABC"))
        grid = grid.reindex(columns=list("XYZ")).rename_axis("class").reset_index()
        title = f"ABC-XYZ matrix by {by} ({len(classes)} SKUs, cutoff {cut.date()})"
        print_frame(grid, title, dict.fromkeys(("class", "X", "Y", "Z"), "{}"))
        console.print(
            f"{int(classes['slow_mover'].sum())} slow movers, {int(classes['dead'].sum())} dead "
            f"(no sale in {dead_days} days) -> {output}"
            + (f"; {len(mig)} SKUs changed class since {compare_cutoff}" if mig is not None else "")
        )
        if clear is not None:
            console.print(
                f"clearance: {len(clear)} SKUs in stock to clear (dead, slow or class C), "
                f"{clear['stock_value'].sum():,.0f} tied up -> {clearance_output}"
            )


@app.command("plan")
@with_groups
def plan(
    data: DataOptions,
    tracking: TrackOptions,
    forecasts: Path = typer.Option(..., "--forecasts", help="Output of `ecomml predict forecast`."),
    cutoff: str = typer.Option(
        ..., "--cutoff", help="Plan date (history = rows with ts < cutoff)."
    ),
    lead_time: float = LeadTimeOpt,
    lead_time_sd: float = LeadSdOpt,
    service_level: float = ServiceOpt,
    output: Path = typer.Option(..., "--output", "-o", help="Plan file (CSV or Parquet)."),
    lead_times: str | None = typer.Option(
        None,
        "--lead-times",
        help="Observed lead times in days (e.g. 9,12,14,21): an empirical "
        "lead-time distribution used instead of --lead-time/--lead-time-sd for the forecast policy.",
    ),
    on_hand: Path | None = typer.Option(
        None,
        "--on-hand",
        help="sku,on_hand[,on_order,unit_cost,moq,pack_size] file (default: nothing in stock).",
    ),
    policy: str = typer.Option(
        "forecast", "--policy", help="forecast (quantile) or classic (z*sigma*sqrt(L))."
    ),
    target: str = TargetOpt,
    review: str = typer.Option(
        "periodic", "--review", help="periodic (order-up-to) or continuous (s, Q)."
    ),
    review_period: int = typer.Option(1, "--review-period", help="Periods between reviews."),
    cell_targets: str | None = CellsOpt,
    moq: float = typer.Option(0.0, "--moq", help="Minimum order quantity (units)."),
    pack_size: float = typer.Option(1.0, "--pack-size", help="Orders are multiples of this."),
    max_order_value: float | None = typer.Option(
        None, "--max-order-value", help="Budget of the whole order."
    ),
    budget: float | None = typer.Option(
        None,
        "--budget",
        help="Money for this order, allocated by expected margin per unit of money "
        "(greedy marginal analysis; respects --moq/--pack-size). Not with --max-order-value.",
    ),
    margin_rate: float | None = typer.Option(
        None,
        "--margin-rate",
        help="Margin as a share of the price for SKUs without a cost (default 0.3); with --budget.",
    ),
    on_mismatch: str = typer.Option(
        "error",
        "--on-mismatch",
        help="SKUs only in the forecast or only in the transactions: error or drop.",
    ),
    by: str = ByOpt,
    seed: int = typer.Option(0, "--seed", help="Seed of the demand sample paths."),
    plots_dir: Path | None = typer.Option(
        None, "--plots-dir", help="PNG folder (default <output>-plots)."
    ),
) -> None:
    """Replenishment plan: order-up-to levels from the forecast's lead-time demand
    distribution (lead time + review period, mixed over the lead-time distribution) and
    today's order per SKU. Writes <output> and <output>.summary.json.

    Columns: sku, abc, xyz, pattern, on_hand, on_order, lead_time_demand_q50, safety_stock,
    reorder_point, order_up_to, order_qty, expected_fill_rate, expected_cover_weeks (+ more).
    """  # fmt: skip
    with handle_errors():
        from ecomml.inventory import replenishment_plan
        from ecomml.inventory.outputs import write_plan
        from ecomml.inventory.policy import check_service_level

        cut = data.date(cutoff)
        data.refuse_overwrite(("--output", output), inputs=[forecasts, on_hand])
        check_service_level(service_level)
        cells = _cells(cell_targets)
        with make_progress(transient=True) as progress:
            task = progress.add_task("loading data", total=3)
            fc = _read_frame(forecasts, "forecasts")
            oh = _read_frame(on_hand, "on-hand") if on_hand is not None else None
            shop = data.shop(cut)
            progress.update(task, advance=1, description="stock levels")
            lt: Any = lead_time
            if lead_times:
                from ecomml.exceptions import ConfigError

                try:
                    lt = [float(x) for x in lead_times.split(",") if x.strip()]
                except ValueError:
                    raise ConfigError(
                        f"--lead-times takes numbers of days, got {lead_times!r}"
                    ) from None
            res = replenishment_plan(
                fc, shop.transactions, cut, lead_time=lt, lead_time_sd=lead_time_sd,
                service_level=None if cells is not None else service_level, cell_targets=cells,
                target=target, review=review, review_period=review_period, policy=policy,
                on_hand=oh, catalog=shop.catalog, by=by, moq=moq, pack_size=pack_size,
                max_order_value=max_order_value, on_mismatch=on_mismatch, random_state=seed,
                budget=budget, margin_rate=margin_rate,
            )  # fmt: skip
            progress.update(task, advance=1, description="writing")
            summary = {**res.summary, "cutoff": str(cut.date()), "policy": policy, "target": target,
                       "lead_time_days": lead_time, "lead_time_sd_days": lead_time_sd,
                       "service_level": "per cell" if cells is not None else service_level}  # fmt: skip
            with tracking.run(TASK, f"plan-{policy}") as run:
                written = write_plan(res, summary, output, plots_dir=plots_dir, by=by)
                log_written(run, written, {"policy": policy, "target": target, "lead_time": lead_time,
                            "lead_time_sd": lead_time_sd, "service_level": service_level, "review": review})  # fmt: skip
            progress.update(task, advance=1, description="done")
        s = res.summary
        console.print(
            f"{s['skus']} SKUs, {s['skus_to_order']} to order ({s['order_units']:.0f} units, value "
            f"{s['order_value']:,.0f}); expected fill rate {s['expected_fill_rate']:.3f}, expected "
            f"average inventory {s['expected_avg_inventory_value']:,.0f}, turns "
            f"{s['expected_turns']:.1f}, slow movers {s['slow_mover_share']:.1%} of stock -> {output}"
        )
        if budget is not None:
            ba = s["budget_allocation"]
            console.print(
                f"budget {ba['budget']:,.0f} of {ba['unconstrained_order_value']:,.0f} "
                f"unconstrained: spent {s['budget_spent']:,.0f}; expected margin lost "
                f"{s['lost_margin']:,.0f} (pro-rata cut {s['lost_margin_pro_rata']:,.0f}, "
                f"--max-order-value cut {s['lost_margin_priority_cut']:,.0f})"
            )


@app.command("simulate")
@with_groups
def simulate(
    data: DataOptions,
    tracking: TrackOptions,
    start: str = typer.Option(..., "--start", help="First simulated period (its week)."),
    end: str = typer.Option(..., "--end", help="End of the simulation (exclusive)."),
    policy: str = typer.Option("forecast", "--policy", help="forecast or classic."),
    lead_time: float = LeadTimeOpt,
    lead_time_sd: float = LeadSdOpt,
    service_level: float = ServiceOpt,
    output: Path = typer.Option(..., "--output", "-o", help="Output folder."),
    target: str = TargetOpt,
    review_period: int = typer.Option(1, "--review-period", help="Periods between reviews."),
    refit_every: int = typer.Option(
        4, "--refit-every", help="Refit the forecaster every K periods."
    ),
    freq: str = typer.Option("W", "--freq", help="W (weeks from Monday) or D."),
    backorder: bool = typer.Option(
        False, "--backorder", help="Backorder unmet demand (default: lost sales)."
    ),
    min_periods: int = typer.Option(
        1,
        "--min-periods",
        help="Simulate SKUs with sales in at least this many periods before --start.",
    ),
    curve: str = typer.Option(
        "0.8,0.9,0.95,0.98",
        "--curve",
        help="Target levels of the service-vs-inventory curve ('none' to skip).",
    ),
    trace_skus: str | None = typer.Option(
        None, "--trace-skus", help="Comma-separated SKUs to plot."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed (lead times, sample paths)."),
) -> None:
    """Replay --start..--end against a policy: review each period, orders arrive after the
    lead time, lost sales (or --backorder). Writes per_sku, per_class, traces, tradeoff,
    summary.json and plots/ to --output.
    """  # fmt: skip
    with handle_errors():
        from ecomml.exceptions import ConfigError
        from ecomml.forecasting.panel import check_freq
        from ecomml.inventory import simulate_policy, tradeoff_curve
        from ecomml.inventory.outputs import simulation_panel, write_simulation
        from ecomml.inventory.policy import check_service_level

        f = check_freq(freq)
        t0, t1 = data.date(start, "--start"), data.date(end, "--end")
        data.refuse_overwrite(("--output", output))
        if t1 <= t0:
            raise ConfigError(f"--end ({t1.date()}) must be after --start ({t0.date()})")
        check_service_level(service_level)
        levels = (
            []
            if curve.strip().lower() == "none"
            else [float(x) for x in curve.split(",") if x.strip()]
        )
        for lv in levels:
            check_service_level(lv)
        with make_progress() as progress:
            task = progress.add_task("loading data", total=1.0)
            shop = data.shop(t1)
            panel, cost = simulation_panel(shop, t0, t1, f, min_periods=min_periods)
            cache: dict[Any, Any] = {}
            kw = dict(lead_time=lead_time, lead_time_sd=lead_time_sd, target=target,  # noqa: C408
                      review_period=review_period, freq=f, refit_every=refit_every, backorder=backorder,
                      unit_cost=cost, random_state=seed, forecast_cache=cache)  # fmt: skip
            n_runs = 1 + len(levels) * (2 if policy == "forecast" else 1)

            def say(done: float) -> Any:
                return lambda msg, frac: progress.update(
                    task, completed=(done + frac) / n_runs, description=msg
                )

            res = simulate_policy(panel, t0, t1, policy=policy, service_level=service_level,
                                  progress=say(0), **kw)  # fmt: skip
            curve_df = None
            if levels:
                pols = ("forecast", "classic") if policy == "forecast" else (policy,)
                curve_df = tradeoff_curve(panel, t0, t1, service_levels=levels, policies=pols,
                                          progress=lambda m, fr: say(1)(m, fr * (n_runs - 1)), **kw)  # fmt: skip
            progress.update(task, completed=1.0, description="writing")
            skus = [s.strip() for s in trace_skus.split(",")] if trace_skus else None
            with tracking.run(TASK, f"simulate-{policy}") as run:
                written = write_simulation(res, output, curve=curve_df, trace_skus=skus)
                log_written(run, written, {"policy": policy, "target": target, "lead_time": lead_time,
                            "service_level": service_level, "refit_every": refit_every, "start": t0.date(),
                            "end": t1.date(), "backorder": backorder})  # fmt: skip
        s = res.summary
        rows = pd.concat([res.per_class, pd.DataFrame([{**s, "abc": "all"}])], ignore_index=True)
        names = {"abc": "class", "fill_rate": "fill rate", "cycle_service": "cycle service",
                 "stockout_periods": "stock-out periods", "avg_value": "avg value"}  # fmt: skip
        fmt = {"class": "{}", "skus": "{}", "fill rate": "{:.3f}", "cycle service": "{:.3f}",
               "stock-out periods": "{:.0f}", "avg value": "{:,.0f}", "turns": "{:.1f}"}  # fmt: skip
        title = f"{policy} policy, target {target} {service_level:g}, {s['periods']} periods, {s['skus']} SKUs"
        print_frame(rows.rename(columns=names), title, fmt)
        console.print(f"results -> {output}")
