"""``ecomml promo``: what a past promotion earned, as a command.

Reads the shop, finds the runs of ``--event`` in its calendar (or takes ``--start`` ..
``--end``), computes each run's effect through :mod:`ecomml.campaigns.promo` and writes
the summary (one row per run), the optional per-SKU and per-category tables and a plot
of actual against counterfactual sales per run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ecomml._io import atomic_write_table, check_output_name
from ecomml.campaigns.promo import (
    PROMO_COLUMNS,
    PromoResult,
    PromoWindow,
    promo_windows,
    promotion_effect,
)
from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.task import Action, Option, Report, Say, Shown, Written

if TYPE_CHECKING:
    from ecomml.data.shop import ShopData

__all__ = ["ACTIONS", "RUNNERS"]

SUMMARY_COLUMNS = ", ".join(PROMO_COLUMNS)

ACTIONS: tuple[Action, ...] = (
    Action("promo", f"""What did a past promotion earn? Incremental units, revenue and margin
    against a counterfactual forecast, net of pull-forward and cannibalisation, with
    intervals and ROI.

    The counterfactual is the demand forecaster trained on the sales before it, with the event's earlier runs masked
    from that history and the event taken off the calendar. Incremental units, revenue
    and margin in the promotion's periods; pull-forward (the change over --post-periods
    after it) and cannibalisation (the other SKUs of the promoted categories, with --skus
    or --category) netted out; ROI = (net incremental margin - --fixed-cost) / (discount
    given + --fixed-cost). Intervals come from sampled counterfactual paths sized on
    --placebos promotion-free windows before it, whose mean error also corrects the
    counterfactual's level.

    Every run of --event in the data (or the one starting in --year; or --start ..
    --end) is one row of --output. Columns: {SUMMARY_COLUMNS}. --sku-output: one row per
    SKU and run; --category-output: one per category and run. A plot per run in
    --plots-dir; the tables and plots in one page, <output>.html.""", (
        Option("event", "--event", None, "Calendar event to judge (e.g. double_11, 618, "
               "black_friday; the shop's --calendar or the built-in one).", str),
        Option("year", "--year", None, "Only the event's run that starts in this year.", int),
        Option("start", "--start", None, "First day of a promotion not in the calendar "
               "(with --end).", "date"),
        Option("end", "--end", None, "Last day of that promotion.", "date"),
        Option("output", "--output", ..., "Summary file, one row per run (.csv or .parquet).",
               Path, short="-o", file="out"),
        Option("sku_output", "--sku-output", None, "Per-SKU effects (.csv or .parquet).",
               Path, file="out"),
        Option("category_output", "--category-output", None, "Per-category effects.", Path,
               file="out"),
        Option("skus", "--skus", None, "Promoted SKUs, comma-separated (default: all).", str),
        Option("category", "--category", None, "Promoted categories, comma-separated.", str),
        Option("freq", "--freq", "W", "Period: W (weeks) or D (days)."),
        Option("post_periods", "--post-periods", 2, "Periods after the promotion that count "
               "for pull-forward."),
        Option("placebos", "--placebos", 4, "Promotion-free windows before it that size the "
               "interval and correct the counterfactual's level (0: neither)."),
        Option("bias_correct", "--bias-correct/--no-bias-correct", True, "Correct the "
               "counterfactual by the placebo windows' recency-weighted mean error."),
        Option("min_history", "--min-history", None, "Periods a SKU must have sold for "
               "before the promotion to be judged (default 8 weeks / 56 days); newer SKUs' "
               "units are reported, not counted.", int),
        Option("model", "--model", "lgbm", "Counterfactual forecaster: lgbm, auto or a "
               "baseline (ets, ma, snaive, tsb, ...)."),
        Option("fixed_cost", "--fixed-cost", 0.0, "The promotion's cost besides discounts "
               "(fees, ads), per run."),
        Option("margin_rate", "--margin-rate", None, "Margin share of the regular price for "
               "SKUs without a catalog cost.", float),
        Option("interval", "--interval", 0.9, "Coverage of the intervals."),
        Option("paths", "--paths", 1000, "Sampled counterfactual paths.", min=50),
        Option("seed", "--seed", 0, "Seed of the paths and the forecaster."),
        Option("plots_dir", "--plots-dir", None, "PNG folder (default: <output>-plots).",
               Path),
    )),
)  # fmt: skip


def _csv(text: str | None) -> list[str] | None:
    if text is None:
        return None
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    return items or None


def _windows(o: Mapping[str, Any], calendar: pd.DataFrame) -> list[PromoWindow]:
    if o["start"] is not None or o["end"] is not None:
        if o["start"] is None or o["end"] is None:
            raise ConfigError("--start and --end go together: the promotion's first and last day")
        start, end = pd.Timestamp(o["start"]).normalize(), pd.Timestamp(o["end"]).normalize()
        if end < start:
            raise ConfigError(f"--end {end.date()} is before --start {start.date()}")
        return [PromoWindow(str(o["event"] or "custom"), start, end)]
    if not o["event"]:
        raise ConfigError("name the promotion: --event NAME (a calendar event) or --start/--end")
    return promo_windows(calendar, str(o["event"]), year=o["year"])


def _promo(o: Mapping[str, Any], shop: Callable[[Any], ShopData], say: Say) -> Report:
    from ecomml.campaigns.plots import plot_promotion
    from ecomml.data.calendar import promo_calendar
    from ecomml.plots import save_figure

    for key in ("output", "sku_output", "category_output"):
        if o[key] is not None:
            check_output_name(o[key])
    if str(o["freq"]).upper() not in ("W", "D"):
        raise ConfigError(f"--freq {o['freq']!r}: use W (weeks) or D (days)")
    if o["skus"] and o["category"]:
        raise ConfigError("give --skus or --category, not both")
    say("reading data")
    data = shop(None)
    tx = data.transactions
    calendar = data.calendar
    if calendar is None or calendar.empty:
        calendar = promo_calendar(
            tx["ts"].min().normalize(), tx["ts"].max().normalize() + pd.Timedelta(days=400)
        )
    windows = _windows(o, calendar)
    results: list[PromoResult] = []
    skipped: list[str] = []
    for w in windows:
        try:
            results.append(
                promotion_effect(
                    tx, w, catalog=data.catalog, calendar=calendar, skus=_csv(o["skus"]),
                    categories=_csv(o["category"]), freq=str(o["freq"]).upper(),
                    post_periods=int(o["post_periods"]), placebos=int(o["placebos"]),
                    bias_correct=bool(o["bias_correct"]), min_history=o["min_history"],
                    model=str(o["model"]),
                    fixed_cost=float(o["fixed_cost"]), margin_rate=o["margin_rate"],
                    interval=float(o["interval"]), n_paths=int(o["paths"]),
                    random_state=int(o["seed"]), progress=say,
                )
            )  # fmt: skip
        except DataQualityError as e:
            if len(windows) == 1:
                raise
            skipped.append(f"{w.event} {w.start.date()}: {e}")
    if not results:
        raise DataQualityError(
            "no run of the promotion could be judged:\n  " + "\n  ".join(skipped)
        )
    say("writing")
    summary = pd.concat([r.summary for r in results], ignore_index=True)
    files = [atomic_write_table(o["output"], summary)]
    for key, attr in (("sku_output", "skus"), ("category_output", "categories")):
        if o[key] is not None:
            table = pd.concat(
                [getattr(r, attr).assign(event=r.window.event, start=r.window.start)
                 for r in results], ignore_index=True,
            )  # fmt: skip
            files.append(atomic_write_table(o[key], table))
    plots_dir = Path(o["plots_dir"] or f"{Path(o['output']).with_suffix('')}-plots")
    plots: dict[str, Path] = {}
    for r in results:
        name = f"promo_{r.window.event}_{r.window.start.date()}.png"
        title = (f"{r.window.event} {r.window.start.date()}..{r.window.end.date()}: "
                 "actual vs counterfactual")  # fmt: skip
        plots[name] = save_figure(plot_promotion(r.periods, title), plots_dir / name)
    last = summary.iloc[-1]
    metrics = {k: float(last[k]) for k in ("incremental_units", "net_incremental_units",
               "net_incremental_revenue", "net_incremental_margin", "roi", "placebo_error")}  # fmt: skip

    def span(lo: str, hi: str, f: str) -> pd.Series:
        return summary[lo].map(f.format) + " .. " + summary[hi].map(f.format)

    table = pd.DataFrame({
        "event": summary["event"], "start": summary["start"].dt.strftime("%Y-%m-%d"),
        "incremental": summary["incremental_units"],
        "pull_forward": summary["pull_forward_units"],
        "cannibalised": summary["cannibalised_units"],
        "net_units": summary["net_incremental_units"],
        "net_interval": span("net_incremental_units_low", "net_incremental_units_high",
                             "{:,.0f}"),
        "net_margin": summary["net_incremental_margin"], "roi": summary["roi"],
        "roi_interval": span("roi_low", "roi_high", "{:.2f}"),
    })  # fmt: skip
    fmt = {"event": "{}", "start": "{}", "incremental": "{:,.0f}", "pull_forward": "{:,.0f}",
           "cannibalised": "{:,.0f}", "net_units": "{:,.0f}", "net_interval": "{}",
           "net_margin": "{:,.0f}", "roi": "{:.2f}", "roi_interval": "{}"}  # fmt: skip
    shown: list[Any] = [
        Shown(table, f"Promotion effect in units (intervals {o['interval']:.0%}; net = "
              "incremental + pull-forward + cannibalised)", fmt,
              left=("event", "start", "net_interval", "roi_interval")),
    ]  # fmt: skip
    for r in results:
        shown += [f"{r.window.event} {r.window.start.date()}: {n}" for n in r.notes]
    shown += [f"skipped {s}" for s in skipped]
    from ecomml.html_page import write_page

    page = write_page(
        Path(o["output"]).with_suffix(".html"), "Promotion effect",
        facts=[("intervals", f"{o['interval']:.0%}"), ("counterfactual model", str(o["model"])),
               ("post periods", str(o["post_periods"])), ("placebo windows", str(o["placebos"]))],
        sections=[("Effect in units", table), ("Every column", summary),
                  *(("Note", n) for r in results for n in r.notes),
                  *(("Skipped", k) for k in skipped)],
        plots=plots,
    )  # fmt: skip
    files.append(page)
    shown.append(f"written to {', '.join(map(str, files))}; plots in {plots_dir}")
    params = {k: o[k] for k in ("event", "year", "skus", "category", "freq", "post_periods",
              "placebos", "bias_correct", "min_history", "model", "fixed_cost", "margin_rate", "interval",
              "paths", "seed")}  # fmt: skip
    params["start"] = str(o["start"]) if o["start"] is not None else None
    params["end"] = str(o["end"]) if o["end"] is not None else None
    run = f"promo-{results[-1].window.event}-{results[-1].window.start.date()}"
    return Report(Written(files, plots, metrics), params, run, shown)


#: the command's function: ``(options, shop, progress) -> Report``
RUNNERS = {"promo": _promo}
