"""``ecomml price elasticity``: each SKU's own-price elasticity with its interval.

Reads the shop (transactions, and the catalog's categories and the calendar's
promotion days when given), fits :class:`~ecomml.pricing.ElasticityModel` on the sales
before ``--cutoff`` and writes one row per SKU; the console shows the categories and how
far the naive estimate is from the adjusted one; the PNGs show the categories and the
demand curves of the best sellers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ecomml._io import atomic_write_table, check_output_name
from ecomml._validation import day_after_last
from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.pricing.panel import by_sku
from ecomml.task import Action, Option, Report, Say, Shown, Written

if TYPE_CHECKING:
    from ecomml.data.shop import ShopData

__all__ = ["ACTIONS", "RUNNERS"]

_OUTPUT = Option("output", "--output", ..., "Output file: .csv or .parquet.", Path, short="-o",
                 file="out")  # fmt: skip
_ELASTICITIES = Option("elasticities", "--elasticities", None, "Elasticity table from `ecomml "
                       "price elasticity` (default: estimate now).", Path, file="in")  # fmt: skip

ACTIONS: tuple[Action, ...] = (
    Action("elasticity", """Estimate every SKU's own-price elasticity from its sales history,
    with a --interval interval (90 % by default).

    Confounding is handled explicitly: quantity-tier prices are removed from the price
    index, and units and price are both residualised on season, trend, promotion days,
    shop traffic and the SKU's level and category (double/debiased ML with LightGBM);
    each SKU's own price moves identify its elasticity, pooled toward its category and
    the category toward the shop. A SKU with fewer than --min-price-changes price changes
    (or almost no price variation) gets its category's value, flagged in `source`.

    Columns: sku, category, elasticity, elasticity_low, elasticity_high, n_price_changes,
    source (sku: its own price changes; category or shop: pooled), own_estimate, own_se,
    naive_elasticity (log units on log price paid, no controls), price_variation,
    tier_slope, ref_price, units, n_sale_periods.""", (
        Option("cutoff", "--cutoff", None, "Use sales before this date (default: all).",
               "date"),
        _OUTPUT,
        Option("interval", "--interval", 0.9, "Coverage of elasticity_low/high."),
        Option("freq", "--freq", "W", "Panel period: W (weeks) or D (days)."),
        Option("min_price_changes", "--min-price-changes", 2, "Price changes a SKU needs for "
               "an estimate of its own.", min=1),
        Option("tier_adjust", "--tier-adjust/--no-tier-adjust", True, "Remove quantity-tier "
               "prices (big lines, lower unit prices) from the price index."),
        Option("seed", "--seed", 0, "Seed of the cross-fitting folds and nuisance models."),
        Option("plots_dir", "--plots-dir", None, "PNG folder (default: plots/ beside "
               "--output).", Path),
    )),
    Action("recommend", """Recommend a price per SKU: the one with the highest expected profit
    over the next --horizon-weeks, within the rules (--min-margin, --max-change per step,
    --ending, never above the catalog's list price unless --ceiling none).

    Expected units at a price are the baseline units at today's price (--forecast, the
    output of `ecomml predict forecast`, summed over the horizon; else the mean weekly units
    of the last --history-weeks) times (price / today's) ** elasticity, averaged over the
    elasticity's uncertainty. Elasticities come from --elasticities (the output of `ecomml
    price elasticity`) or are estimated now. Today's price is the price paid on the SKU's
    last sale day; cost and list price come from --catalog (price, cost). A SKU whose
    response is unknown, that has no cost or whose rules contradict keeps its price, and
    `reason` says why. With the catalog's pack_group and pack_size columns, a bigger pack
    never costs more per unit than a smaller pack of its group.

    Columns: sku, current_price, recommended_price, elasticity, elasticity_low,
    elasticity_high, expected_units, expected_revenue_change, expected_profit_change,
    reason, change, cost, baseline_units, source.""", (
        Option("cutoff", "--cutoff", None, "Price as of this date (default: the day after "
               "the last sale).", "date"),
        _OUTPUT,
        _ELASTICITIES,
        Option("forecast", "--forecast", None, "Forecast from `ecomml predict forecast` "
               "(sku, ds, mean) for the baseline units.", Path, file="in"),
        Option("horizon_weeks", "--horizon-weeks", 8, "Weeks the price is meant to hold.",
               min=1),
        Option("history_weeks", "--history-weeks", 8, "Weeks of recent sales for the "
               "baseline when there is no --forecast.", min=1),
        Option("min_margin", "--min-margin", 0.1, "Smallest allowed (price - cost) / price."),
        Option("max_change", "--max-change", 0.1, "Largest relative price move per step."),
        Option("ending", "--ending", ".99", "Price ending: .99, .9 or none."),
        Option("ceiling", "--ceiling", "list", "list: never above the catalog's list price; "
               "none: no ceiling."),
        Option("min_confidence", "--min-confidence", 0.8, "Change only SKUs whose elasticity "
               "is below 0 with this probability."),
        Option("interval", "--interval", 0.9, "Coverage of the elasticity intervals."),
        Option("seed", "--seed", 0, "Seed of the elasticity estimate (without --elasticities)."),
        Option("plots_dir", "--plots-dir", None, "PNG folder (default: plots/ beside "
               "--output).", Path),
    )),
    Action("markdown", """Plan weekly markdowns that clear slow stock by --clear-by at the best
    expected recovered revenue.

    Reads the stock to clear from --clearance (the output of `ecomml inventory classify
    --clearance-output`: sku, on_hand, unit_cost, weekly_units...); --forecast (the output
    of `ecomml predict forecast`) replaces the table's average weekly units with the
    forecast of the weeks to come, which knows the season and the promotions. Per SKU, every
    two-phase schedule (one discount from the --levels grid, then a deeper one from a
    chosen week) is simulated on the demand distribution (Poisson weekly demand at
    weekly_units x (1 - discount) ** elasticity, the elasticity drawn from its interval,
    sales capped by the stock left) and the one with the highest mean revenue (plus
    --salvage x unit cost for what is left) is written, beside keeping the price and a
    uniform 30 % markdown on the same simulated futures.

    Columns: sku, on_hand, current_price, schedule (the discount in % of each week,
    comma-separated), first_markdown_week (0: none), final_discount, expected_units_sold,
    expected_clear_share, expected_revenue, revenue_no_markdown, revenue_uniform_30,
    expected_leftover, elasticity, weekly_units, unit_cost, reason.""", (
        Option("clearance", "--clearance", ..., "Stock to clear: the --clearance-output of "
               "`ecomml inventory classify`.", Path, file="in"),
        Option("clear_by", "--clear-by", ..., "Date the stock should be gone by.", "date"),
        Option("cutoff", "--cutoff", None, "Plan from this date (default: the day after the "
               "last sale).", "date"),
        _OUTPUT,
        _ELASTICITIES,
        Option("forecast", "--forecast", None, "Forecast from `ecomml predict forecast` "
               "(sku, ds, mean) for the weekly units at today's price (default: the "
               "clearance table's weekly_units, the average of its lookback window).", Path,
               file="in"),
        Option("levels", "--levels", "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7", "Discount levels to "
               "choose from, comma-separated."),
        Option("salvage", "--salvage", 0.0, "What a unit left at --clear-by is worth, as a "
               "share of its unit cost."),
        Option("paths", "--paths", 200, "Simulated futures per SKU.", min=10),
        Option("interval", "--interval", 0.9, "Coverage of the elasticity intervals."),
        Option("seed", "--seed", 0, "Seed of the simulation (and of the elasticity estimate)."),
    )),
    Action("tiers", """Is a standing discount for a member tier worth its margin? For each
    tier of --tiers (the output of `ecomml predict churn`: customer_id, tier), the price
    response of its members' purchases is estimated, and each discount of --discounts is
    judged by the tier's expected margin over --horizon-weeks (units at today's prices:
    the tier's rate of the last --history-weeks; margin with the catalog's cost).

    A tier's own response is used only where the data supports it (its interval below 0
    and no wider than --max-width); otherwise the whole shop's stands in and `source`
    says shop. Columns: tier, customers, baseline_units, baseline_revenue,
    baseline_margin, elasticity, elasticity_low, elasticity_high, source,
    recommended_discount, expected_margin_change, expected_revenue_change, reason.""", (
        Option("tiers", "--tiers", ..., "Customer tiers: the output of `ecomml predict "
               "churn` (customer_id, tier).", Path, file="in"),
        Option("cutoff", "--cutoff", None, "Plan from this date (default: the day after the "
               "last sale).", "date"),
        _OUTPUT,
        Option("discounts", "--discounts", "0.05,0.1,0.15,0.2", "Discounts to judge, "
               "comma-separated."),
        Option("horizon_weeks", "--horizon-weeks", 8, "Weeks the discount would run.", min=1),
        Option("history_weeks", "--history-weeks", 8, "Weeks of recent sales for the "
               "baseline.", min=1),
        Option("max_width", "--max-width", 1.0, "Widest elasticity interval a tier's own "
               "estimate may have to be used."),
        Option("interval", "--interval", 0.9, "Coverage of the elasticity intervals."),
        Option("seed", "--seed", 0, "Seed of the elasticity estimates."),
    )),
)  # fmt: skip


def _elasticity(o: Mapping[str, Any], shop: Callable[[Any], ShopData], say: Say) -> Report:
    from ecomml.plots import save_figure
    from ecomml.pricing.elasticity import ElasticityModel
    from ecomml.pricing.plots import plot_categories, plot_demand_curves

    check_output_name(o["output"])
    if str(o["freq"]).upper() not in ("W", "D"):
        raise ConfigError(f"--freq {o['freq']!r}: use W (weeks) or D (days)")
    say("reading data")
    data = shop(o["cutoff"])
    tx = data.transactions
    cutoff = _cutoff_of(o, tx)
    say(f"estimating elasticities from sales before {cutoff.date()}")
    model = ElasticityModel(
        freq=str(o["freq"]).upper(), interval=float(o["interval"]),
        min_price_changes=int(o["min_price_changes"]), tier_adjust=bool(o["tier_adjust"]),
        random_state=int(o["seed"]),
    ).fit(tx, data.catalog, data.calendar, cutoff=cutoff)  # fmt: skip
    table = model.elasticities_
    say("writing")
    path = atomic_write_table(o["output"], table)
    plots_dir = Path(o["plots_dir"] or Path(o["output"]).parent / "plots")
    plots = {
        "price_elasticity_categories.png": save_figure(
            plot_categories(model.categories_), plots_dir / "price_elasticity_categories.png"
        ),
        "price_demand_curves.png": save_figure(
            plot_demand_curves(table), plots_dir / "price_demand_curves.png"
        ),
    }
    own = table["source"] == "sku"
    shop_e, shop_se = model.shop_elasticity_
    metrics = {
        "skus": float(len(table)),
        "skus_own_estimate": float(own.sum()),
        "shop_elasticity": float(shop_e),
        "median_elasticity": float(table["elasticity"].median()),
        "median_naive_elasticity": float(table["naive_elasticity"].median()),
        "se_inflation": float(model.se_inflation_),
    }
    pooled = table.loc[~own, "source"].value_counts()
    fmt = {"category": "{}", "n_skus": "{:,}", "elasticity": "{:.2f}", "elasticity_low": "{:.2f}",
           "elasticity_high": "{:.2f}", "naive_median": "{:.2f}"}  # fmt: skip
    shown: list[Any] = [
        Shown(model.categories_.drop(columns="tau"), "Elasticity by category (pooled from "
              "the SKUs with their own estimate; naive: median of log units on log price)",
              fmt, left=("category",)),
        f"{len(table):,} SKUs: {int(own.sum()):,} estimated from their own price changes, "
        + (", ".join(f"{n:,} from their {s}" for s, n in pooled.items()) or "none pooled")
        + f"; shop elasticity {shop_e:.2f} (se {shop_se:.2f}); median SKU {metrics['median_elasticity']:.2f} "
        f"vs naive {metrics['median_naive_elasticity']:.2f}",
        f"written to {path}; plots in {plots_dir}",
    ]  # fmt: skip
    if not np.isfinite(shop_e):
        shown.append(
            "no SKU has enough price variation for an estimate of its own: the elasticities "
            "are missing (NaN); more history or more price changes are needed"
        )
    params = {k: o[k] for k in ("interval", "freq", "min_price_changes", "tier_adjust", "seed")}
    params["cutoff"] = str(cutoff.date())
    return Report(Written([path], plots, metrics), params, f"price-elasticity-{cutoff.date()}",
                  shown)  # fmt: skip


def _current_prices(tx: pd.DataFrame, cutoff: pd.Timestamp) -> pd.Series:
    """Per SKU: the median unit price of its sale lines on its last sale day before
    ``cutoff``."""
    sale = tx.loc[(tx["ts"] < cutoff) & (tx["quantity"] > 0) & (tx["price"] > 0),
                  ["sku", "ts", "price"]].assign(day=lambda d: d["ts"].dt.normalize())  # fmt: skip
    last = sale.groupby("sku")["day"].transform("max")
    return sale.loc[sale["day"] == last].groupby("sku")["price"].median()


def _baseline_units(
    tx: pd.DataFrame, cutoff: pd.Timestamp, o: Mapping[str, Any]
) -> tuple[pd.Series, str]:
    """Expected units per SKU over the horizon at today's price, and where they came from."""
    weeks = int(o["horizon_weeks"])
    if o["forecast"] is not None:
        from ecomml.data import read_frame

        fc = read_frame(o["forecast"], what=f"--forecast {o['forecast']}", text=["sku"])
        missing = {"sku", "ds", "mean"} - set(fc.columns)
        if missing:
            raise DataQualityError(
                f"--forecast {o['forecast']}: missing column(s) {', '.join(sorted(missing))}; "
                "give the output of `ecomml predict forecast`"
            )
        ds = pd.to_datetime(fc["ds"], errors="coerce")
        if ds.isna().any():
            bad = fc.index[ds.isna()][:5].tolist()
            raise DataQualityError(f"--forecast {o['forecast']}: column ds has values that are "
                                   f"not dates (rows {bad})")  # fmt: skip
        if "level" in fc.columns:
            fc = fc.loc[fc["level"].astype(str).str.lower().isin(["sku", "nan"])]
        # weekly rows are labelled by their Monday: the week holding the cutoff counts
        step = pd.Series(ds.sort_values().unique()).diff().median()
        start = cutoff - pd.Timedelta(days=6) if step >= pd.Timedelta(days=7) else cutoff
        inside = (ds >= start) & (ds < start + pd.Timedelta(weeks=weeks))
        return fc.loc[inside].groupby(fc["sku"].astype(str))["mean"].sum(), str(o["forecast"])
    hist = int(o["history_weeks"])
    recent = tx.loc[(tx["ts"] < cutoff) & (tx["ts"] >= cutoff - pd.Timedelta(weeks=hist))
                    & (tx["quantity"] > 0)]  # fmt: skip
    rate = recent.groupby(recent["sku"].astype(str))["quantity"].sum() / hist
    return rate * weeks, f"the mean weekly units of the last {hist} weeks"


def _recommend(o: Mapping[str, Any], shop: Callable[[Any], ShopData], say: Say) -> Report:
    from ecomml.pricing.recommend import PriceRules, consistent_packs, recommend_prices

    check_output_name(o["output"])
    rules = PriceRules(min_margin=float(o["min_margin"]), max_change=float(o["max_change"]),
                       ending=str(o["ending"]), ceiling=str(o["ceiling"]),
                       min_confidence=float(o["min_confidence"])).check()  # fmt: skip
    say("reading data")
    data = shop(o["cutoff"])
    tx = data.transactions
    cutoff = _cutoff_of(o, tx)
    cat = data.catalog
    cost = _costs(cat, "recommend")
    el = _elasticity_table(o, data, cutoff, say)
    base, base_from = _baseline_units(tx, cutoff, o)
    current = _current_prices(tx, cutoff)
    skus = el["sku"][el["sku"].isin(current.index)]
    table = el.set_index("sku").loc[skus].reset_index()
    table["current_price"] = current.reindex(skus).to_numpy()
    table["cost"] = cost.reindex(skus).to_numpy(np.float64)
    listed = by_sku(cat, "price")
    table["ceiling_price"] = (
        np.inf
        if listed is None
        else listed.reindex(skus).astype(np.float64).fillna(np.inf).to_numpy()
    )
    table["baseline_units"] = base.reindex(skus).fillna(0.0).to_numpy()
    say(f"pricing {len(table):,} SKUs")
    out = recommend_prices(table, rules, interval=float(o["interval"]))
    if cat is not None and {"pack_group", "pack_size"} <= set(cat.columns):
        out = consistent_packs(out, cat, rules, interval=float(o["interval"]))
    say("writing")
    path = atomic_write_table(o["output"], out)
    from ecomml.plots import save_figure
    from ecomml.pricing.plots import plot_profit_curves

    plots_dir = Path(o["plots_dir"] or Path(o["output"]).parent / "plots")
    plots = {"price_profit_curves.png": save_figure(
        plot_profit_curves(out, rules.max_change), plots_dir / "price_profit_curves.png")}  # fmt: skip
    moved = out["recommended_price"] != out["current_price"]
    gain = float(out["expected_profit_change"].sum())
    now = float(((out["current_price"] - out["cost"]) * out["baseline_units"]).clip(lower=None)
                .sum())  # fmt: skip
    metrics = {"skus": float(len(out)), "price_changes": float(moved.sum()),
               "raises": float((out["change"] > 0).sum()), "cuts": float((out["change"] < 0).sum()),
               "expected_profit_change": gain,
               "expected_profit_change_share": gain / now if now else float("nan")}  # fmt: skip
    kept = out.loc[~moved, "reason"].str.split(":").str[1].str.strip().str.split(r" \(").str[0]
    shown: list[Any] = [
        f"{len(out):,} SKUs priced over the next {int(o['horizon_weeks'])} weeks (baseline: "
        f"{base_from}): raise {int(metrics['raises']):,}, cut {int(metrics['cuts']):,}, keep "
        f"{int((~moved).sum()):,}; expected profit {gain:+,.0f}"
        + (f" ({metrics['expected_profit_change_share']:+.1%} on {now:,.0f})" if now else ""),
        *(f"kept, {n:,} SKUs: {r}" for r, n in kept.value_counts().head(4).items()),
        f"written to {path}; profit curves in {plots_dir}",
    ]  # fmt: skip
    params = {k: o[k] for k in ("min_margin", "max_change", "ending", "ceiling", "min_confidence",
                                "horizon_weeks", "history_weeks", "interval")}  # fmt: skip
    params |= {"cutoff": str(cutoff.date()), "baseline": base_from}
    return Report(Written([path], plots, metrics), params, f"price-recommend-{cutoff.date()}",
                  shown)  # fmt: skip


def _elasticity_table(o: Mapping[str, Any], data: ShopData, cutoff: pd.Timestamp,
                      say: Say) -> pd.DataFrame:  # fmt: skip
    """The ``--elasticities`` table, or one estimated now from the sales before ``cutoff``."""
    from ecomml.pricing.elasticity import ElasticityModel

    if o["elasticities"] is None:
        say(f"estimating elasticities from sales before {cutoff.date()}")
        return ElasticityModel(interval=float(o["interval"]), random_state=int(o["seed"])).fit(
            data.transactions, data.catalog, data.calendar, cutoff=cutoff).elasticities_  # fmt: skip
    from ecomml.data import read_frame

    el = read_frame(o["elasticities"], what=f"--elasticities {o['elasticities']}",
                    text=["sku", "source"])  # fmt: skip
    need = {"sku", "elasticity", "elasticity_low", "elasticity_high", "source"}
    if need - set(el.columns):
        raise DataQualityError(
            f"--elasticities {o['elasticities']}: missing column(s) "
            f"{', '.join(sorted(need - set(el.columns)))}; give the output of `ecomml "
            "price elasticity`"
        )
    return el.assign(sku=el["sku"].astype(str))


def _shares(text: Any, flag: str, example: str) -> tuple[float, ...]:
    """Comma-separated discounts (shares in [0, 1)) of option ``flag``."""
    try:
        values = tuple(float(v) for v in str(text).split(",") if v.strip())
    except ValueError as err:
        raise ConfigError(f"{flag} {text!r}: comma-separated shares such as {example}") from err
    if not values or min(values) < 0 or max(values) >= 1:
        raise ConfigError(f"{flag} {text!r}: each discount must be in [0, 1), e.g. {example}")
    return values


def _cutoff_of(o: Mapping[str, Any], tx: pd.DataFrame) -> pd.Timestamp:
    if o["cutoff"] is not None:
        return pd.Timestamp(o["cutoff"])
    return day_after_last(tx["ts"])


def _markdown(o: Mapping[str, Any], shop: Callable[[Any], ShopData], say: Say) -> Report:
    from ecomml.data import read_frame
    from ecomml.inventory.classify import CLEARANCE_COLUMNS
    from ecomml.pricing.markdown import markdown_plans

    check_output_name(o["output"])
    levels = _shares(o["levels"], "--levels", "0,0.1,0.2,0.3")
    src = f"--clearance {o['clearance']}"
    clear = read_frame(o["clearance"], what=src, text=["sku"])
    need = {"sku", "on_hand", "unit_cost", "weekly_units"}
    if need - set(clear.columns):
        raise DataQualityError(
            f"{src}: missing column(s) {', '.join(sorted(need - set(clear.columns)))}; give the "
            f"--clearance-output of `ecomml inventory classify` ({', '.join(CLEARANCE_COLUMNS)})"
        )
    bad = clear.index[pd.to_numeric(clear["on_hand"], errors="coerce").isna()].tolist()
    if bad:
        raise DataQualityError(f"{src}: column on_hand is not a number in rows {bad[:5]}")
    say("reading data")
    data = shop(o["cutoff"])
    cutoff = _cutoff_of(o, data.transactions)
    clear_by = pd.Timestamp(o["clear_by"])
    weeks = int(np.ceil((clear_by - cutoff).days / 7))
    if weeks < 1:
        raise ConfigError(f"--clear-by {clear_by.date()} must be at least a week after the "
                          f"cutoff {cutoff.date()}")  # fmt: skip
    el = _elasticity_table(o, data, cutoff, say).set_index("sku")
    clear = clear.assign(sku=clear["sku"].astype(str))
    if o["forecast"] is not None:  # the forecast knows the season and promotions ahead
        units, _ = _baseline_units(data.transactions, cutoff,
                                   {"forecast": o["forecast"], "horizon_weeks": weeks})  # fmt: skip
        clear["weekly_units"] = (units / weeks).reindex(clear["sku"]).fillna(0.0).to_numpy()
    clear = clear.loc[pd.to_numeric(clear["on_hand"]) > 0].drop_duplicates("sku")
    current = _current_prices(data.transactions, cutoff)
    listed = by_sku(data.catalog, "price")
    if listed is not None:  # never sold before the cutoff: the list price
        current = current.combine_first(listed.astype(np.float64))
    table = clear.assign(
        current_price=current.reindex(clear["sku"]).to_numpy(),
        elasticity=el["elasticity"].reindex(clear["sku"]).to_numpy(),
        elasticity_low=el["elasticity_low"].reindex(clear["sku"]).to_numpy(),
        elasticity_high=el["elasticity_high"].reindex(clear["sku"]).to_numpy(),
    )
    unpriced = table["current_price"].isna() | table["elasticity"].isna()
    if unpriced.all():
        raise DataQualityError(
            f"{src}: none of its SKUs has a price (no sale before {cutoff.date()} and no catalog "
            "price) and an elasticity; check that --clearance and --transactions describe the "
            "same shop"
        )
    say(f"simulating markdowns for {int((~unpriced).sum()):,} SKUs over {weeks} weeks")
    out = markdown_plans(table.loc[~unpriced], weeks=weeks, levels=levels,
                         salvage=float(o["salvage"]), paths=int(o["paths"]),
                         interval=float(o["interval"]), seed=int(o["seed"]))  # fmt: skip
    say("writing")
    path = atomic_write_table(o["output"], out)
    rev, no, uni = (float(out[c].sum()) for c in
                    ("expected_revenue", "revenue_no_markdown", "revenue_uniform_30"))  # fmt: skip
    metrics = {"skus": float(len(out)), "expected_revenue": rev, "revenue_no_markdown": no,
               "revenue_uniform_30": uni,
               "clear_share": float(out["expected_units_sold"].sum() / out["on_hand"].sum())
               if len(out) else float("nan")}  # fmt: skip
    shown: list[Any] = [
        f"{len(out):,} SKUs to clear by {clear_by.date()} ({weeks} weeks): expected revenue "
        f"{rev:,.0f} (keeping the price {no:,.0f}, a uniform 30 % markdown {uni:,.0f}); "
        f"{metrics['clear_share']:.0%} of the units sold",
        *([f"{int(unpriced.sum()):,} SKUs without a price or elasticity were left out"]
          if unpriced.any() else []),
        *(["planned on the clearance table's weekly_units (its lookback's average): before a "
           "busy season that is too low and the markdowns too deep; give --forecast"]
          if o["forecast"] is None else []),
        f"written to {path}",
    ]  # fmt: skip
    params = {"clear_by": str(clear_by.date()), "cutoff": str(cutoff.date()), "weeks": weeks,
              "levels": str(o["levels"]), "salvage": o["salvage"], "paths": o["paths"]}  # fmt: skip
    return Report(Written([path], {}, metrics), params, f"price-markdown-{cutoff.date()}", shown)


def _costs(cat: pd.DataFrame | None, command: str) -> pd.Series:
    """Each SKU's cost from the catalog; refuses a catalog without costs."""
    cost = by_sku(cat, "cost")
    if cost is None or cost.isna().all():
        raise DataQualityError(
            f"price {command} needs each SKU's cost: give --catalog FILE with columns sku, "
            "price (list price) and cost"
            + ("" if cat is None else " (the catalog given has no cost values)")
        )
    return cost.astype(np.float64)


def _tiers(o: Mapping[str, Any], shop: Callable[[Any], ShopData], say: Say) -> Report:
    from scipy import stats

    from ecomml.data import read_frame
    from ecomml.pricing.elasticity import ElasticityModel
    from ecomml.pricing.tiers import tier_discounts

    check_output_name(o["output"])
    discounts = _shares(o["discounts"], "--discounts", "0.05,0.1")
    src = f"--tiers {o['tiers']}"
    members = read_frame(o["tiers"], what=src, text=["customer_id", "tier"])
    missing = {"customer_id", "tier"} - set(members.columns)
    if missing:
        raise DataQualityError(f"{src}: missing column(s) {', '.join(sorted(missing))}; give "
                               "the output of `ecomml predict churn`")  # fmt: skip
    say("reading data")
    data = shop(o["cutoff"])
    tx = data.transactions
    cutoff = _cutoff_of(o, tx)
    cost = _costs(data.catalog, "tiers")
    tier_of = members.dropna(subset=["customer_id"]).drop_duplicates("customer_id")
    tier_of = tier_of.set_index(tier_of["customer_id"].astype(str))["tier"].astype(str)
    tx = tx.loc[tx["customer_id"].notna()].assign(tier=lambda d: d["customer_id"].astype(str)
                                                  .map(tier_of))  # fmt: skip
    if tx["tier"].isna().all():
        raise DataQualityError(f"{src}: none of its customers is in --transactions; check that "
                               "both describe the same shop")  # fmt: skip
    z = float(stats.norm.ppf(0.5 + float(o["interval"]) / 2))

    def response(frame: pd.DataFrame) -> tuple[float, float]:
        m = ElasticityModel(interval=float(o["interval"]), random_state=int(o["seed"]))
        m.fit(frame.drop(columns="tier"), data.catalog, data.calendar, cutoff=cutoff)
        return m.shop_elasticity_

    say("estimating the shop's price response")
    shop_e, shop_se = response(tx)
    rows = {}
    for tier, g in tx.dropna(subset=["tier"]).groupby("tier", sort=True):
        say(f"estimating the price response of tier {tier}")
        try:
            e, se = response(g)
        except DataQualityError:
            e, se = float("nan"), float("nan")
        own = (
            np.isfinite(e)
            and np.isfinite(se)
            and e + z * se < 0
            and 2 * z * se <= float(o["max_width"])
        )
        e, se = (e, se) if own else (shop_e, shop_se)
        rows[tier] = {"elasticity": e, "elasticity_low": e - z * se,
                      "elasticity_high": e + z * se, "source": "tier" if own else "shop"}  # fmt: skip
    resp = pd.DataFrame.from_dict(rows, orient="index")
    hist = int(o["history_weeks"])
    recent = tx.loc[(tx["ts"] < cutoff) & (tx["ts"] >= cutoff - pd.Timedelta(weeks=hist))
                    & (tx["quantity"] > 0) & tx["tier"].notna()]  # fmt: skip
    lines = recent.groupby(["tier", recent["sku"].astype(str)])["quantity"].sum().rename("units")
    lines = (lines * int(o["horizon_weeks"]) / hist).reset_index()
    lines["price"] = _current_prices(data.transactions, cutoff).reindex(lines["sku"]).to_numpy()
    lines["cost"] = cost.reindex(lines["sku"]).to_numpy()
    lines = lines.dropna(subset=["price", "cost"])
    lines["customers"] = lines["tier"].map(tier_of.value_counts()).fillna(0).astype(int)
    out = tier_discounts(lines, resp, discounts)
    say("writing")
    path = atomic_write_table(o["output"], out)
    fmt = {"tier": "{}", "customers": "{:,}", "elasticity": "{:.2f}", "source": "{}",
           "recommended_discount": "{:.0%}", "expected_margin_change": "{:+,.0f}"}  # fmt: skip
    shown: list[Any] = [
        Shown(out[list(fmt)], f"Member-tier discounts over the next {int(o['horizon_weeks'])} "
              f"weeks (shop elasticity {shop_e:.2f})", fmt, left=("tier", "source")),
        f"written to {path}",
    ]  # fmt: skip
    metrics = {"tiers": float(len(out)), "shop_elasticity": float(shop_e),
               "tiers_with_own_response": float((out["source"] == "tier").sum()),
               "expected_margin_change": float(out["expected_margin_change"].sum())}  # fmt: skip
    params = {k: o[k] for k in ("discounts", "horizon_weeks", "history_weeks", "max_width",
                                "interval")}  # fmt: skip
    params["cutoff"] = str(cutoff.date())
    return Report(Written([path], {}, metrics), params, f"price-tiers-{cutoff.date()}", shown)


#: each command's function: ``(options, shop, progress) -> Report``
RUNNERS = {"elasticity": _elasticity, "recommend": _recommend, "markdown": _markdown,
        "tiers": _tiers}  # fmt: skip
