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

from ecomml._io import atomic_write_table
from ecomml.exceptions import ConfigError, InputFileError
from ecomml.task import Action, Option, Report, Say, Shown, Written

if TYPE_CHECKING:
    from ecomml.data.shop import ShopData

__all__ = ["ACTIONS", "run_action"]

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
        Option("output", "--output", ..., "Output file: .csv or .parquet.", Path, short="-o",
               file="out"),
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
)  # fmt: skip


def _check_output(path: Path) -> None:
    if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise InputFileError(f"--output {path}: use a .csv or .parquet file name")


def _elasticity(o: Mapping[str, Any], shop: Callable[[Any], ShopData], say: Say) -> Report:
    from ecomml.plots import save_figure
    from ecomml.pricing.elasticity import ElasticityModel
    from ecomml.pricing.plots import plot_categories, plot_demand_curves

    _check_output(o["output"])
    if str(o["freq"]).upper() not in ("W", "D"):
        raise ConfigError(f"--freq {o['freq']!r}: use W (weeks) or D (days)")
    say("reading data")
    data = shop(o["cutoff"])
    tx = data.transactions
    cutoff = o["cutoff"]
    if cutoff is None:
        cutoff = pd.Timestamp(tx["ts"].max()).normalize() + pd.Timedelta(days=1)
    cutoff = pd.Timestamp(cutoff)
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


_RUN = {"elasticity": _elasticity}


def run_action(
    name: str, options: Mapping[str, Any], progress: Say, shop: Callable[[Any], ShopData]
) -> Report:
    """Run the pricing command ``name`` with its ``options`` (``shop(cutoff)`` reads the shop)."""
    return _RUN[name](options, shop, progress)
