"""``ecomml inventory classify|plan|simulate``: what each command does, as data and code.

Each command is an :class:`~ecomml.task.Action` of the inventory task (its help and
options, declared once) and a function here that reads the shop and the side files,
computes, writes its files and reports what to log and show. The CLI only builds the
flags, checks the paths and logs the run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ecomml.exceptions import ConfigError
from ecomml.task import Action, Option, Report, Say, Shown

__all__ = ["ACTIONS", "RUNNERS", "read_side_file"]

_BY = Option("by", "--by", "revenue", "ABC measure: revenue, units or margin.")
_LEAD = Option("lead_time", "--lead-time", ..., "Mean lead time in days (> 0).", float)
_LEAD_SD = Option("lead_time_sd", "--lead-time-sd", 0.0, "Lead-time standard deviation in days.")
_SERVICE = Option("service_level", "--service-level", 0.95, "Target service level in (0, 1).")
_TARGET = Option("target", "--target", "fill",
                 "fill (share of demand served) or cycle (no stock-out in a cycle).")  # fmt: skip
_CELLS = Option("cell_targets", "--cell-targets", None, "Per ABC-XYZ cell targets instead of "
                "one --service-level: 'default' or overrides such as AX=0.99,CZ=0.8.", str)  # fmt: skip
_REVIEW_PERIOD = Option("review_period", "--review-period", 1, "Periods between reviews.")
_PLOTS = Option("plots_dir", "--plots-dir", None, "PNG folder (default <output>-plots).", Path)
_ON_HAND = "sku,on_hand[,on_order,unit_cost,moq,pack_size] file (default: nothing in stock)."


def _output(help: str) -> Option:
    return Option("output", "--output", ..., help, Path, short="-o", file="out")


ACTIONS: tuple[Action, ...] = (
    Action("classify", """ABC (by --by) and XYZ classes, demand pattern, service target, slow
    movers and dead stock per SKU, from the history before --cutoff (+ <output>.by_class.csv
    per ABC class).

    Columns: sku, value, share, cum_share, rank, abc, xyz, cell, service_target, pattern, cv,
    mean_demand, units, revenue, weekly_units, last_sale, days_since_sale, dead, slow_mover.""", (
        Option("cutoff", "--cutoff", ..., "Classify on rows with ts < cutoff.", "date"),
        _BY, _output("Classes file (CSV or Parquet)."),
        Option("abc_cutoffs", "--abc-cutoffs", "0.8,0.95", "Cumulative shares closing A and B."),
        Option("xyz_cutoffs", "--xyz-cutoffs", "0.5,1.0", "CV limits of X and Y."),
        Option("lookback_days", "--lookback-days", 365, "Window before the cutoff."),
        Option("dead_days", "--dead-days", 90, "No sale in this many days = dead stock."),
        Option("on_hand", "--on-hand", None, "sku,on_hand file: adds cover and turnover.", Path,
               file="in"),
        Option("compare_cutoff", "--compare-cutoff", None, "Earlier cutoff: also write class "
               "migration (<output>.migration.csv).", "date"),
        _CELLS, _PLOTS,
        Option("clearance_output", "--clearance-output", None, "Also write the clearance table "
               "(dead, slow and class-C stock with weeks of cover and money tied up) to this "
               "file; needs --on-hand.", Path, file="out"),
    )),
    Action("plan", """Replenishment plan: order-up-to levels from the forecast's lead-time
    demand distribution (lead time + review period, mixed over the lead-time distribution)
    and today's order per SKU. Writes <output> and <output>.summary.json.

    Columns: sku, abc, xyz, pattern, on_hand, on_order, lead_time_demand_q50, safety_stock,
    reorder_point, order_up_to, order_qty, expected_fill_rate, expected_cover_weeks (+ more).""", (
        Option("forecasts", "--forecasts", ..., "Output of `ecomml predict forecast`.", Path,
               file="in"),
        Option("cutoff", "--cutoff", ..., "Plan date (history = rows with ts < cutoff).", "date"),
        _LEAD, _LEAD_SD, _SERVICE, _output("Plan file (CSV or Parquet)."),
        Option("lead_times", "--lead-times", None, "Observed lead times in days (e.g. "
               "9,12,14,21): an empirical lead-time distribution used instead of --lead-time/"
               "--lead-time-sd for the forecast policy.", str),
        Option("on_hand", "--on-hand", None, _ON_HAND, Path, file="in"),
        Option("policy", "--policy", "forecast", "forecast (quantile) or classic (z*sigma*sqrt(L))."),
        _TARGET,
        Option("review", "--review", "periodic", "periodic (order-up-to) or continuous (s, Q)."),
        _REVIEW_PERIOD, _CELLS,
        Option("moq", "--moq", 0.0, "Minimum order quantity (units)."),
        Option("pack_size", "--pack-size", 1.0, "Orders are multiples of this."),
        Option("max_order_value", "--max-order-value", None, "Budget of the whole order.", float),
        Option("budget", "--budget", None, "Money for this order, allocated by expected margin "
               "per unit of money (greedy marginal analysis; respects --moq/--pack-size). Not "
               "with --max-order-value.", float),
        Option("margin_rate", "--margin-rate", None, "Margin as a share of the price for SKUs "
               "without a cost (default 0.3); with --budget.", float),
        Option("objective", "--objective", "service", "service (levels for --service-level) "
               "or cost (levels minimising expected holding + shortage + order cost)."),
        Option("holding_rate", "--holding-rate", None, "Holding cost per year as a share of "
               "the unit value (default 0.25); with --objective cost.", float),
        Option("shortage_cost", "--shortage-cost", None, "Cost of one unit short (default: "
               "its lost margin; per unit and period with --backorder); with --objective "
               "cost.", float),
        Option("order_cost", "--order-cost", 0.0, "Fixed cost of one order line: > 0 gives "
               "(s, S) levels; with --objective cost."),
        Option("backorder", "--backorder", False, "Unmet demand is backordered (default: "
               "lost sales); with --objective cost."),
        Option("calibrate_on", "--calibrate-on", None, "Backtest forecasts with actuals "
               "(`ecomml backtest forecast --models lgbm --forecasts-output`): correct the "
               "mean and spread of the lead-time demand on these past windows first.", Path,
               file="in"),
        Option("on_mismatch", "--on-mismatch", "error", "SKUs only in the forecast or only in "
               "the transactions: error or drop."),
        _BY, Option("seed", "--seed", 0, "Seed of the demand sample paths."), _PLOTS,
    )),
    Action("simulate", """Replay --start..--end against a policy: review each period, orders
    arrive after the lead time, lost sales (or --backorder). Writes per_sku, per_class,
    traces, tradeoff, summary.json and plots/ to --output.""", (
        Option("start", "--start", ..., "First simulated period (its week).", "date"),
        Option("end", "--end", ..., "End of the simulation (exclusive).", "date"),
        Option("policy", "--policy", "forecast", "forecast or classic."),
        _LEAD, _LEAD_SD, _SERVICE,
        Option("output", "--output", ..., "Output folder.", Path, short="-o", file="out"),
        _TARGET, _REVIEW_PERIOD,
        Option("refit_every", "--refit-every", 4, "Refit the forecaster every K periods."),
        Option("calibrate_folds", "--calibrate-folds", 0, "Calibrate the forecast policy's "
               "lead-time demand on a backtest of this many origins before --start (0: off)."),
        Option("freq", "--freq", "W", "W (weeks from Monday) or D."),
        Option("backorder", "--backorder", False, "Backorder unmet demand (default: lost sales)."),
        Option("min_periods", "--min-periods", 1,
               "Simulate SKUs with sales in at least this many periods before --start."),
        Option("curve", "--curve", "0.8,0.9,0.95,0.98",
               "Target levels of the service-vs-inventory curve ('none' to skip)."),
        Option("trace_skus", "--trace-skus", None, "Comma-separated SKUs to plot.", str),
        Option("seed", "--seed", 0, "Random seed (lead times, sample paths)."),
    )),
)  # fmt: skip

_SIDE_FILES = {  # required columns, numeric columns of the side inputs
    "forecasts": (("sku", "ds", "mean"), ("mean",)),
    "on-hand": (("sku", "on_hand"), ("on_hand", "on_order", "unit_cost", "moq", "pack_size")),
    "backtest forecasts": (("origin", "sku", "ds", "mean", "y"), ("mean", "y", "nb_size")),
}


def read_side_file(path: Path, name: str) -> pd.DataFrame:
    """A forecasts or on-hand file (``name``), with the adapters' file checks; SKUs stay
    text (an on-hand 0007 must match the sales' 0007)."""
    from ecomml.data import read_frame

    required, numeric = _SIDE_FILES[name]
    return read_frame(path, what=name, required=required, text=("sku", "ds"), numeric=numeric)


def _numbers(text: str, option: str, n: int | None = None) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        values = []
    if not values or (n is not None and len(values) != n):
        if n == 2:
            raise ConfigError(
                f"{option} takes two comma-separated numbers, e.g. 0.8,0.95; got {text!r}"
            )
        raise ConfigError(f"{option} takes numbers, e.g. 9,12,14, got {text!r}")
    return values


def _cells(text: str | None) -> dict[str, float] | None:
    """``--cell-targets``: None, {} for 'default', else ``{"AX": 0.99, ...}``."""
    if text is None:
        return None
    if text.strip().lower() == "default":
        return {}
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, eq, value = part.partition("=")
        try:
            out[key.strip()] = float(value) if eq else float("nan")
        except ValueError:
            out[key.strip()] = float("nan")
        if out[key.strip()] != out[key.strip()]:
            raise ConfigError(
                f"--cell-targets entry {part!r} must look like CELL=number, e.g. AX=0.99"
            )
    return out


def _classify(o: Mapping[str, Any], shop: Callable[[Any], Any], say: Say) -> Report:
    from ecomml.inventory.classify import abc_xyz_matrix, class_migration, classify_skus
    from ecomml.inventory.outputs import write_classes

    cut, by = o["cutoff"], o["by"]
    ac = tuple(_numbers(o["abc_cutoffs"], "--abc-cutoffs", 2))
    xc = tuple(_numbers(o["xyz_cutoffs"], "--xyz-cutoffs", 2))
    if o["clearance_output"] is not None and o["on_hand"] is None:
        raise ConfigError(
            "--clearance-output needs --on-hand (sku,on_hand[,unit_cost]): the table "
            "lists stock to clear and the money tied up in it"
        )
    oh = read_side_file(o["on_hand"], "on-hand") if o["on_hand"] is not None else None
    cells = _cells(o["cell_targets"])
    data = shop(cut)
    say("classifying")
    kw = dict(by=by, lookback_days=o["lookback_days"], dead_days=o["dead_days"],  # noqa: C408
              catalog=data.catalog, cell_overrides=cells)  # fmt: skip
    classes = classify_skus(
        data.transactions, cut, abc_cutoffs=ac, xyz_cutoffs=xc, on_hand=oh, **kw
    )
    mig = None
    if o["compare_cutoff"] is not None:
        mig = class_migration(data.transactions, o["compare_cutoff"], cut, abc_cutoffs=ac,
                              xyz_cutoffs=xc, **kw)  # fmt: skip
    clear = None
    if o["clearance_output"] is not None and oh is not None:
        from ecomml.inventory.classify import clearance_candidates
        from ecomml.inventory.plan import unit_costs

        tx = data.transactions
        cost = unit_costs(tx.loc[tx["ts"] < cut], oh["sku"].astype(str).unique(), data.catalog)
        clear = clearance_candidates(classes, oh, unit_cost=cost)
    say("writing")
    written = write_classes(classes, o["output"], migration=mig, plots_dir=o["plots_dir"], by=by,
                            clearance=clear, clearance_output=o["clearance_output"])  # fmt: skip
    m = abc_xyz_matrix(classes)
    m["cell"] = [f"{int(n)} ({v:.1%})" for n, v in zip(m["skus"], m["value_share"], strict=True)]
    grid = m.pivot(index="abc", columns="xyz", values="cell").reindex(list("ABC"))
    grid = grid.reindex(columns=list("XYZ")).rename_axis("class").reset_index()
    title = f"ABC-XYZ matrix by {by} ({len(classes)} SKUs, cutoff {cut.date()})"
    line = (
        f"{int(classes['slow_mover'].sum())} slow movers, {int(classes['dead'].sum())} dead "
        f"(no sale in {o['dead_days']} days) -> {o['output']}"
        + (f"; {len(mig)} SKUs changed class since {o['compare_cutoff'].date()}" if mig is not None else "")
    )  # fmt: skip
    params = {"by": by, "cutoff": cut.date(), "abc_cutoffs": o["abc_cutoffs"],
              "xyz_cutoffs": o["xyz_cutoffs"]}  # fmt: skip
    shown: list[Any] = [Shown(grid, title, dict.fromkeys(("class", "X", "Y", "Z"), "{}")), line]
    if clear is not None:
        shown.append(
            f"clearance: {len(clear)} SKUs in stock to clear (dead, slow or class C), "
            f"{clear['stock_value'].sum():,.0f} tied up -> {o['clearance_output']}"
        )
    return Report(written, params, "classify", shown)


def _plan(o: Mapping[str, Any], shop: Callable[[Any], Any], say: Say) -> Report:
    from ecomml.inventory.outputs import write_plan
    from ecomml.inventory.plan import replenishment_plan
    from ecomml.inventory.policy import check_service_level

    cut, policy, target = o["cutoff"], o["policy"], o["target"]
    check_service_level(o["service_level"])
    cells = _cells(o["cell_targets"])
    lt: Any = _numbers(o["lead_times"], "--lead-times") if o["lead_times"] else o["lead_time"]
    fc = read_side_file(o["forecasts"], "forecasts")
    oh = read_side_file(o["on_hand"], "on-hand") if o["on_hand"] is not None else None
    cal = o["calibrate_on"]
    bt = read_side_file(cal, "backtest forecasts") if cal is not None else None
    data = shop(cut)
    say("stock levels")
    res = replenishment_plan(
        fc, data.transactions, cut, lead_time=lt, lead_time_sd=o["lead_time_sd"],
        service_level=None if cells is not None else o["service_level"], cell_targets=cells,
        target=target, review=o["review"], review_period=o["review_period"], policy=policy,
        on_hand=oh, catalog=data.catalog, by=o["by"], moq=o["moq"], pack_size=o["pack_size"],
        max_order_value=o["max_order_value"], on_mismatch=o["on_mismatch"], random_state=o["seed"],
        budget=o["budget"], margin_rate=o["margin_rate"], objective=o["objective"],
        holding_rate=o["holding_rate"], shortage_cost=o["shortage_cost"],
        order_cost=o["order_cost"], backorder=o["backorder"], calibrate_on=bt,
    )  # fmt: skip
    say("writing")
    summary = {**res.summary, "cutoff": str(cut.date()), "policy": policy, "target": target,
               "lead_time_days": o["lead_time"], "lead_time_sd_days": o["lead_time_sd"],
               "service_level": "per cell" if cells is not None else o["service_level"],
               "objective": o["objective"]}  # fmt: skip
    written = write_plan(res, summary, o["output"], plots_dir=o["plots_dir"], by=o["by"])
    s = res.summary
    line = (
        f"{s['skus']} SKUs, {s['skus_to_order']} to order ({s['order_units']:.0f} units, value "
        f"{s['order_value']:,.0f}); expected fill rate {s['expected_fill_rate']:.3f}, expected "
        f"average inventory {s['expected_avg_inventory_value']:,.0f}, turns "
        f"{s['expected_turns']:.1f}, slow movers {s['slow_mover_share']:.1%} of stock -> "
        f"{o['output']}"
    )
    params = {k: o[k] for k in ("policy", "target", "lead_time", "lead_time_sd", "service_level", "budget",
                                "review", "objective", "holding_rate", "shortage_cost",
                                "order_cost", "backorder")}  # fmt: skip
    shown = [line]
    if o["objective"] == "cost":
        shown.append(
            f"expected cost per week {s['expected_cost_per_week']:,.0f}: holding "
            f"{s['expected_holding_cost_per_week']:,.0f}, shortage "
            f"{s['expected_shortage_cost_per_week']:,.0f}, ordering "
            f"{s['expected_order_cost_per_week']:,.0f}"
        )
    if o["budget"] is not None:
        ba = s["budget_allocation"]
        shown.append(
            f"budget {ba['budget']:,.0f} of {ba['unconstrained_order_value']:,.0f} "
            f"unconstrained: spent {s['budget_spent']:,.0f}; expected margin lost "
            f"{s['lost_margin']:,.0f} (pro-rata cut {s['lost_margin_pro_rata']:,.0f}, "
            f"--max-order-value cut {s['lost_margin_priority_cut']:,.0f})"
        )
    return Report(written, params, f"plan-{policy}", shown)


def _simulate(o: Mapping[str, Any], shop: Callable[[Any], Any], say: Say) -> Report:
    from ecomml.forecasting.panel import check_freq
    from ecomml.inventory.outputs import simulation_panel, write_simulation
    from ecomml.inventory.policy import check_service_level
    from ecomml.inventory.simulate import simulate_policy, tradeoff_curve

    f, t0, t1, policy = check_freq(o["freq"]), o["start"], o["end"], o["policy"]
    if t1 <= t0:
        raise ConfigError(f"--end ({t1.date()}) must be after --start ({t0.date()})")
    check_service_level(o["service_level"])
    curve = o["curve"].strip().lower()
    levels = [] if curve == "none" else _numbers(o["curve"], "--curve")
    for lv in levels:
        check_service_level(lv)
    panel, cost = simulation_panel(shop(t1), t0, t1, f, min_periods=o["min_periods"])
    kw = dict(lead_time=o["lead_time"], lead_time_sd=o["lead_time_sd"], target=o["target"],  # noqa: C408
              review_period=o["review_period"], freq=f, refit_every=o["refit_every"],
              backorder=o["backorder"], unit_cost=cost, random_state=o["seed"],
              forecast_cache={})  # fmt: skip
    kw["calibrate_folds"] = o["calibrate_folds"]
    n_runs = 1 + len(levels) * (2 if policy == "forecast" else 1)

    def progress(done: float) -> Callable[[str, float], None]:
        return lambda msg, frac: say(f"{msg} ({(done + frac) / n_runs:.0%})")

    res = simulate_policy(panel, t0, t1, policy=policy, service_level=o["service_level"],
                          progress=progress(0), **kw)  # fmt: skip
    curve_df = None
    if levels:
        pols = ("forecast", "classic") if policy == "forecast" else (policy,)
        curve_df = tradeoff_curve(panel, t0, t1, service_levels=levels, policies=pols,
                                  progress=lambda m, fr: progress(1)(m, fr * (n_runs - 1)), **kw)  # fmt: skip
    say("writing")
    skus = [s.strip() for s in o["trace_skus"].split(",")] if o["trace_skus"] else None
    written = write_simulation(res, o["output"], curve=curve_df, trace_skus=skus)
    s = res.summary
    rows = pd.concat([res.per_class, pd.DataFrame([{**s, "abc": "all"}])], ignore_index=True)
    names = {"abc": "class", "fill_rate": "fill rate", "cycle_service": "cycle service",
             "stockout_periods": "stock-out periods", "avg_value": "avg value"}  # fmt: skip
    fmt = {"class": "{}", "skus": "{}", "fill rate": "{:.3f}", "cycle service": "{:.3f}",
           "stock-out periods": "{:.0f}", "avg value": "{:,.0f}", "turns": "{:.1f}"}  # fmt: skip
    title = (f"{policy} policy, target {o['target']} {o['service_level']:g}, {s['periods']} "
             f"periods, {s['skus']} SKUs")  # fmt: skip
    params = {"policy": policy, "target": o["target"], "lead_time": o["lead_time"],
              "service_level": o["service_level"], "refit_every": o["refit_every"],
              "start": t0.date(), "end": t1.date(), "backorder": o["backorder"],
              "calibrate_folds": o["calibrate_folds"]}  # fmt: skip
    shown = [Shown(rows.rename(columns=names), title, fmt), f"results -> {o['output']}"]
    return Report(written, params, f"simulate-{policy}", shown)


#: each command's function: ``(options, shop, progress) -> Report``; ``shop(cutoff)`` reads
#: the shop's history before ``cutoff`` (dates already parsed)
RUNNERS = {"classify": _classify, "plan": _plan, "simulate": _simulate}
