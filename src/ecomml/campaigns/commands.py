"""``ecomml abtest analyze|plan``: what each command does, as data and code.

Each command is an :class:`~ecomml.task.Action` of the A/B test task (its help and
options, declared once) and a function here that reads the file, computes through
:mod:`ecomml.campaigns.analysis`, writes the table (atomic, CSV or Parquet by suffix),
the summary and the plots, and reports what to log to MLflow and show.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecomml._io import atomic_write_json, atomic_write_table, check_output_name
from ecomml.campaigns.abtest import DEFAULT_TAU, detectable_effect, sample_size
from ecomml.campaigns.analysis import SRM_ALARM, analyze_experiment
from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.task import Action, Option, Report, Say, Shown, Written

__all__ = ["ACTIONS", "RUNNERS", "Written", "parse_mde"]


_ALPHA = Option("alpha", "--alpha", 0.05, "1 - alpha intervals, two-sided tests.")
_DATA_HELP = "One row per unit: CSV, Parquet or Excel."

ACTIONS: tuple[Action, ...] = (
    Action("analyze", """Did the change work? Every variant against the control on each metric:
    means, difference and relative lift with their intervals, p-value (Welch; ratio metrics
    by the delta method; CUPED with --covariates, and CUPAC with two or more of them; an
    always-valid sequential test with --sequential), p-values adjusted for the number of comparisons, sample-ratio check.
    Writes <output>, <output>.summary.json, an interval plot per metric and <output>.html
    (the results and the plots in one self-contained page).

    Columns: metric, variant, (segment with --segment,) control, n_control, n_variant, mean_control,
    mean_variant, diff, diff_low, diff_high, rel_lift, rel_lift_low, rel_lift_high, p_value,
    method, se, p_value_adj, variance_reduction, looks, srm_p_value.""", (
        Option("data", "--data", ..., _DATA_HELP, Path, file="in"),
        Option("variant", "--variant", ..., "The column of the assigned variant.", str),
        Option("control", "--control", ..., "The control's value in --variant.", str),
        Option("metrics", "--metrics", None, "Outcome columns, comma-separated (mean per "
               "unit: conversion 0/1, revenue, visits...).", str),
        Option("output", "--output", ..., "Results file (.csv or .parquet).", Path, short="-o",
               file="out"),
        Option("covariates", "--covariates", None, "Pre-period columns, comma-separated: adds "
               "a CUPED row per metric.", str),
        Option("cupac", "--cupac/--no-cupac", True, "With two or more --covariates, also a "
               "CUPAC row per metric: CUPED on a cross-fitted LightGBM prediction of the "
               "metric from them (catches non-linear relations)."),
        Option("segment", "--segment", None, "Also every result per value of this column.",
               str),
        Option("sequential", "--sequential", False, "Add an always-valid sequential test "
               "(mSPRT) row per metric, safe to look at every day."),
        Option("ratio", "--ratio", None, "Ratio metrics num/den, comma-separated (e.g. "
               "spend/visit: revenue per visit, by the delta method).", str),
        Option("time", "--time", None, "Assignment time column: the sequential test's looks "
               "(days) and a cumulative-lift plot.", str),
        _ALPHA,
        Option("correction", "--correction", "holm", "p_value_adj over variants x metrics: "
               "holm (family-wise), bh (false discovery rate) or none."),
        Option("tau", "--tau", DEFAULT_TAU, "Sequential test's mixture sd, in metric sds "
               "(the effect size it is most sensitive to)."),
        Option("expected_shares", "--expected-shares", None, "Planned split for the "
               "sample-ratio check, in sorted variant order, e.g. 0.5,0.25,0.25 (default "
               "equal).", str),
        Option("plots_dir", "--plots-dir", None, "PNG folder (default <output>-plots).", Path),
    ), reads_shop=False),
    Action("plan", """How many units per arm to detect a change (--mde), or the smallest
    change a given --n per arm can detect, at --power and --alpha (two-sided), with CUPED's
    reduction (--cuped-r2, or estimated from --covariates in --data). The baseline is
    --baseline-rate (0/1 metric), --baseline-mean with --sd, or the --metric column of --data.""", (
        Option("baseline_rate", "--baseline-rate", None, "Control conversion rate in (0, 1).",
               float),
        Option("baseline_mean", "--baseline-mean", None, "Control mean (give --sd too).", float),
        Option("sd", "--sd", None, "Standard deviation of the metric per unit.", float),
        Option("mde", "--mde", None, "Change to detect: absolute (0.01) or relative (5%).",
               str),
        Option("n", "--n", None, "Units per arm: gives the detectable change instead.", int),
        Option("power", "--power", 0.8, "Chance to detect the change when it is real."),
        _ALPHA,
        Option("cuped_r2", "--cuped-r2", 0.0, "Share of the metric's variance CUPED's "
               "covariates explain (from a past test)."),
        Option("data", "--data", None, "Past data (one row per unit) for the baseline.", Path,
               file="in"),
        Option("metric", "--metric", None, "The metric's column in --data.", str),
        Option("covariates", "--covariates", None, "Pre-period columns of --data: estimates "
               "--cuped-r2.", str),
        Option("output", "--output", None, "Also write the plan as a one-row table.", Path,
               short="-o", file="out"),
    ), reads_shop=False),
)  # fmt: skip


def _names(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _ratios(text: str | None) -> list[tuple[str, str]]:
    out = []
    for part in _names(text):
        num, slash, den = part.partition("/")
        if not slash or not num.strip() or not den.strip():
            raise ConfigError(f"--ratio takes num/den column pairs, e.g. spend/visit; got {part!r}")
        out.append((num.strip(), den.strip()))
    return out


def _shares(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        shares = [float(x) for x in _names(text)]
    except ValueError:
        shares = []
    if not shares or min(shares) <= 0:
        raise ConfigError(f"--expected-shares takes positive numbers, e.g. 0.5,0.5; got {text!r}")
    return shares


def _read(path: Path, text: list[str]) -> pd.DataFrame:
    from ecomml.data import read_frame

    return read_frame(path, what=f"--data {path}", text=text)


def _analyze(o: Mapping[str, Any], _shop: Any, say: Say) -> Report:
    from ecomml.campaigns.plots import cumulative_lift, plot_cumulative_lift, plot_intervals
    from ecomml.plots import save_figure

    output: Path = o["output"]
    check_output_name(output)
    metrics, ratios, covs = _names(o["metrics"]), _ratios(o["ratio"]), _names(o["covariates"])
    if o["correction"] not in ("holm", "bh", "none"):
        raise ConfigError(f"--correction must be holm, bh or none; got {o['correction']!r}")
    say("reading data")
    frame = _read(o["data"], [c for c in (o["variant"], o["segment"]) if c])
    say("testing")
    res = analyze_experiment(
        frame, variant_col=o["variant"], control=o["control"], metrics=metrics,
        covariates=covs, ratios=ratios, segment_col=o["segment"], time_col=o["time"],
        sequential=o["sequential"], cupac=o["cupac"], alpha=o["alpha"], correction=o["correction"],
        tau=o["tau"], expected_shares=_shares(o["expected_shares"]), source=str(o["data"]),
    )  # fmt: skip
    say("writing")
    table = res.table
    summary = {
        "units": res.counts, "srm_p_value": res.srm_p_value, "srm": res.srm,
        "control": o["control"], "alpha": o["alpha"], "correction": o["correction"],
        "data": str(o["data"]),
    }  # fmt: skip
    files = [atomic_write_table(output, table),
             atomic_write_json(output.with_name(output.stem + ".summary.json"), summary)]  # fmt: skip
    plots_dir = Path(o["plots_dir"] or output.with_name(output.stem + "-plots"))
    plots = {}
    for m in table["metric"].unique():
        name = f"lift_{str(m).replace('/', '_per_')}.png"
        plots[name] = save_figure(plot_intervals(table, m), plots_dir / name)
        if o["time"] is not None and m in metrics:
            lift = cumulative_lift(frame, variant_col=o["variant"], control=o["control"],
                                   metric=m, time_col=o["time"])  # fmt: skip
            name = f"cumulative_lift_{m}.png"
            plots[name] = save_figure(plot_cumulative_lift(lift, m, o["control"]), plots_dir / name)
    overall = table.loc[table.get("segment", pd.Series("", index=table.index)).isin(["", "(all)"])]
    metrics_out = {"srm_p_value": res.srm_p_value}
    for r in overall.itertuples(index=False):
        key = f"{r.metric}.{r.variant}.{r.method}".replace(" ", "_").replace("/", "_per_")
        metrics_out |= {f"{key}.rel_lift": r.rel_lift, f"{key}.p_value": r.p_value}
    metrics_out = {k: float(v) for k, v in metrics_out.items() if np.isfinite(v)}
    shown: list[Any] = []
    counts = ", ".join(f"{k} {v:,}" for k, v in res.counts.items())
    if res.srm:
        shown.append(
            f"[bold red]SAMPLE RATIO MISMATCH: units per variant {counts} are implausible "
            f"under the planned split (chi-square p = {res.srm_p_value:.2g} < {SRM_ALARM}); the "
            "assignment or the logging is broken: do not trust these results.[/bold red]"
        )
    view = overall.assign(
        lift=[f"{x:+.2%} [{lo:+.2%}, {hi:+.2%}]" for x, lo, hi in
              zip(overall["rel_lift"], overall["rel_lift_low"], overall["rel_lift_high"],
                  strict=True)],  # fmt: skip
    )[["metric", "variant", "method", "mean_control", "mean_variant", "lift", "p_value",
       "p_value_adj"]]  # fmt: skip
    fmt = {"metric": "{}", "variant": "{}", "method": "{}", "mean_control": "{:.4g}",
           "mean_variant": "{:.4g}", "lift": "{}", "p_value": "{:.2g}", "p_value_adj": "{:.2g}"}  # fmt: skip
    ci = f"{1 - o['alpha']:.0%}"
    shown.append(Shown(view, f"Lift vs {o['control']} ({ci} intervals)", fmt,
                       left=("metric", "variant", "method", "lift")))  # fmt: skip
    from ecomml.html_page import write_page

    facts = [("data", str(o["data"])), ("control", str(o["control"])), ("units", counts),
             ("sample-ratio check p", f"{res.srm_p_value:.3g}"
              + (" - SAMPLE RATIO MISMATCH: do not trust these results" if res.srm else "")),
             ("intervals", ci), ("p_value_adj", str(o["correction"]))]  # fmt: skip
    page = write_page(
        output.with_name(output.stem + ".html"), f"A/B test: every variant vs {o['control']}",
        facts=facts, plots=plots,
        sections=[(f"Lift vs {o['control']}", view), *(("Warning", w) for w in res.warnings),
                  ("Every row", table)],
    )  # fmt: skip
    files.append(page)
    shown.append(
        f"units: {counts} (sample-ratio check p = {res.srm_p_value:.3g}) -> {output}, {page.name}"
    )
    shown += [f"[yellow]warning: {w}[/yellow]" for w in res.warnings]
    params = {k: o[k] for k in ("variant", "control", "metrics", "covariates", "segment",
                                "sequential", "ratio", "alpha", "correction")}  # fmt: skip
    return Report(Written(files, plots, metrics_out), params, "analyze", shown)


def parse_mde(text: str, baseline: float) -> float:
    """``--mde``: ``"0.01"`` (absolute) or ``"5%"`` (relative to ``baseline``) as an
    absolute change."""
    t = text.strip()
    try:
        value = float(t[:-1]) / 100 * baseline if t.endswith("%") else float(t)
    except ValueError:
        raise ConfigError(
            f"--mde takes a number (0.01) or a percentage (5%); got {text!r}"
        ) from None
    return abs(value)


def _baseline(o: Mapping[str, Any]) -> tuple[float, float | None, str, float]:
    """``(baseline, sd or None for a rate, where from, cuped r2)``."""
    r2 = float(o["cuped_r2"])
    if o["data"] is not None:
        if o["metric"] is None:
            raise ConfigError("--data needs --metric COL: the metric to plan for")
        from ecomml.campaigns.analysis import _numeric

        df = _read(o["data"], [])
        src = str(o["data"])
        covs = _names(o["covariates"])
        for col, what in [(o["metric"], "metric"), *((c, "covariate") for c in covs)]:
            _numeric(df, col, "--metric" if what == "metric" else "--covariates", src, what=what)
        y = df[o["metric"]].astype(float).to_numpy()
        if not y.any():
            raise DataQualityError(f"{src}: metric column {o['metric']!r} is zero for every unit")
        if covs:
            from ecomml.campaigns.abtest import cuped_adjust

            adj, _ = cuped_adjust(y, df[covs].astype(float).to_numpy())
            r2 = float(1 - adj.var() / y.var())
        binary = bool(np.isin(y, (0.0, 1.0)).all())
        where = f"{o['metric']} in {src} ({len(y):,} units)"
        return float(y.mean()), None if binary else float(y.std(ddof=1)), where, r2
    if o["baseline_rate"] is not None:
        return float(o["baseline_rate"]), None, "--baseline-rate", r2
    if o["baseline_mean"] is not None:
        if o["sd"] is None:
            raise ConfigError("--baseline-mean needs --sd (the metric's standard deviation)")
        return float(o["baseline_mean"]), float(o["sd"]), "--baseline-mean", r2
    raise ConfigError("give the baseline: --baseline-rate, --baseline-mean with --sd, or "
                      "--data FILE --metric COL")  # fmt: skip


def _plan(o: Mapping[str, Any], _shop: Any, say: Say) -> Report:
    if o["output"] is not None:
        check_output_name(o["output"])
    if (o["mde"] is None) == (o["n"] is None):
        raise ConfigError("give either --mde (to get n per arm) or --n (to get the detectable "
                          "change)")  # fmt: skip
    base, sd, where, r2 = _baseline(o)
    kw = dict(baseline=base, sd=sd, alpha=o["alpha"], power=o["power"], cuped_r2=r2)  # noqa: C408
    plain = {**kw, "cuped_r2": 0.0}
    if o["mde"] is not None:
        mde = parse_mde(o["mde"], base)
        n = sample_size(mde, **kw)
        n_plain = sample_size(mde, **plain)
    else:
        n = n_plain = int(o["n"])
        mde = detectable_effect(n, **kw)
    row = {"baseline": base, "sd": sd if sd is not None else math.sqrt(base * (1 - base)),
           "metric_kind": "rate" if sd is None else "mean", "mde": mde,
           "mde_rel": mde / base if base else float("nan"), "n_per_arm": n,
           "n_total_2_arms": 2 * n, "n_per_arm_without_cuped": n_plain, "alpha": o["alpha"],
           "power": o["power"], "cuped_r2": r2}  # fmt: skip
    files = []
    if o["output"] is not None:
        files.append(atomic_write_table(o["output"], pd.DataFrame([row])))
    cuped = f" ({n_plain:,} without CUPED, r2 {r2:.2f})" if r2 > 0 and o["mde"] else ""
    if r2 > 0 and o["n"] is not None:
        cuped = f" (with CUPED r2 {r2:.2f})"
    line = (
        f"baseline {base:.4g} from {where}: {n:,} units per arm{cuped if o['mde'] else ''} "
        f"detect a change of {mde:+.4g} ({row['mde_rel']:+.1%}) with power {o['power']:.0%} "
        f"at alpha {o['alpha']:g} (two-sided){cuped if o['n'] is not None else ''}"
    )
    numbers = {k: float(v) for k, v in row.items() if isinstance(v, (int, float)) and v == v}
    params = {k: o[k] for k in ("mde", "n", "power", "alpha")} | {"baseline": base}
    return Report(Written(files, {}, numbers), params, "plan", [line])


#: each command's function: ``(options, shop, progress) -> Report`` (no shop is read)
RUNNERS = {"analyze": _analyze, "plan": _plan}
