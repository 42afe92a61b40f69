"""The SKU x period price panel the elasticity is estimated from.

One row per SKU and complete period (week or day) from the SKU's first to its last sale
before the cutoff: units sold, the period's price index, and the controls the demand
and price nuisances learn from (season, trend, promotion days, shop traffic, the SKU's
level and category).

The price index is the mean log unit price of the period's sale lines, **adjusted for
quantity tiers**: in wholesale data big lines get lower unit prices, so the average
price paid falls in exactly the weeks that sell the most units, and a regression of
units on that price reads the tier discount as price response (too negative, often by
a factor). Each SKU's tier slope (log unit price on log line quantity, within the same
period, so list-price moves do not enter it) is removed, and every line is priced at the
SKU's median line quantity. Periods without a sale carry the last known price forward
(``observed`` is False there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecomml.data.shop import by_sku
from ecomml.exceptions import ConfigError, DataQualityError

__all__ = ["PERIODS", "PricePanel", "by_sku", "price_panel"]

#: period code -> (length, what a row is)
PERIODS = {"W": (pd.Timedelta(days=7), "week"), "D": (pd.Timedelta(days=1), "day")}
#: a price index move smaller than this (in log points) is not a price change
CHANGE_TOL = 0.02


@dataclass
class PricePanel:
    """``rows``: one row per SKU and period (``sku, period, qty, log_price, log_price_raw,
    observed, promo_days, season, trend, log_orders, log_level, category``); ``skus``: per
    SKU ``sku, category, ref_price, tier_slope, n_lines, n_periods, n_sale_periods,
    n_price_changes, units``."""

    rows: pd.DataFrame
    skus: pd.DataFrame
    freq: str
    cutoff: pd.Timestamp


def _period_start(ts: pd.Series, freq: str) -> pd.Series:
    day = ts.dt.normalize()
    if freq == "D":
        return day
    return day - pd.to_timedelta(day.dt.weekday, unit="D")


def _tier_slopes(lines: pd.DataFrame, prior: float) -> pd.Series:
    """Per SKU: slope of log unit price on log line quantity within SKU-periods, shrunk
    toward 0 by ``prior`` (pseudo sum of squares) and clipped to [-1, 0]."""
    g = lines.groupby(["sku", "period"], sort=False, observed=True)
    dp = lines["lp"] - g["lp"].transform("mean")
    dq = lines["lq"] - g["lq"].transform("mean")
    num = (dp * dq).groupby(lines["sku"], observed=True).sum()
    den = (dq * dq).groupby(lines["sku"], observed=True).sum()
    return (num / (den + prior)).clip(-1.0, 0.0)


def price_panel(
    transactions: pd.DataFrame,
    *,
    cutoff: pd.Timestamp,
    catalog: pd.DataFrame | None = None,
    calendar: pd.DataFrame | None = None,
    freq: str = "W",
    tier_adjust: bool = True,
    tier_prior: float = 5.0,
) -> PricePanel:
    """Build the panel from canonical transactions (sale lines before ``cutoff`` with a
    positive price; returns and free lines are left out)."""
    if freq not in PERIODS:
        raise ConfigError(f"freq must be one of {', '.join(PERIODS)}, got {freq!r}")
    length, unit = PERIODS[freq]
    cutoff = pd.Timestamp(cutoff)
    tx = transactions
    keep = (tx["ts"] < cutoff) & (tx["quantity"] > 0) & (tx["price"] > 0) & tx["sku"].notna()
    lines = tx.loc[keep, ["order_id", "sku", "ts", "quantity", "price"]].copy()
    lines["period"] = _period_start(lines["ts"], freq)
    lines = lines[lines["period"] + length <= cutoff]
    if lines.empty:
        raise DataQualityError(
            f"no sale lines with a positive price in a complete {unit} before the cutoff "
            f"{cutoff.date()}: check --cutoff and the transactions' ts, quantity and price"
        )
    lines["sku"] = lines["sku"].astype(str)
    lines["lp"] = np.log(lines["price"].to_numpy(np.float64))
    lines["lq"] = np.log(lines["quantity"].to_numpy(np.float64))
    ref_lq = lines.groupby("sku")["lq"].median()
    if tier_adjust:
        slope = _tier_slopes(lines, tier_prior)
    else:
        slope = pd.Series(0.0, index=ref_lq.index)
    lines["lp_adj"] = lines["lp"] - slope.reindex(lines["sku"]).to_numpy() * (
        lines["lq"] - ref_lq.reindex(lines["sku"]).to_numpy()
    )
    lines["amount"] = lines["quantity"] * lines["price"]
    per = lines.groupby(["sku", "period"], sort=True).agg(
        qty=("quantity", "sum"),
        amount=("amount", "sum"),
        n_lines=("lp", "size"),
    )
    per["log_price_raw"] = np.log(per["amount"] / per["qty"])
    if freq == "W":
        per["log_price"] = _time_weighted(lines).reindex(per.index).to_numpy()
    else:
        per["log_price"] = lines.groupby(["sku", "period"], sort=True)["lp_adj"].mean()
    per = per.reset_index()

    # the grid: every period from the SKU's first to its last sale
    periods = pd.date_range(lines["period"].min(), lines["period"].max(), freq=length)
    pidx = pd.Series(np.arange(len(periods)), index=periods)
    span = per.groupby("sku")["period"].agg(["min", "max"])
    lo = pidx.reindex(span["min"]).to_numpy()
    hi = pidx.reindex(span["max"]).to_numpy()
    n = hi - lo + 1
    sku_of = np.repeat(span.index.to_numpy(), n)
    p_of = np.concatenate([np.arange(a, b + 1) for a, b in zip(lo, hi, strict=True)])
    rows = pd.DataFrame({"sku": sku_of, "period": periods[p_of]})
    rows = rows.merge(per, on=["sku", "period"], how="left")
    rows["observed"] = rows["qty"].notna()
    rows["qty"] = rows["qty"].fillna(0.0).astype(np.float64)
    for col in ("log_price", "log_price_raw"):
        rows[col] = rows.groupby("sku")[col].ffill()
    rows["n_lines"] = rows["n_lines"].fillna(0).astype(np.int64)

    # controls
    orders = lines.groupby("period")["order_id"].nunique()
    rows["log_orders"] = np.log1p(orders.reindex(rows["period"]).fillna(0).to_numpy())
    rows["trend"] = pidx.reindex(rows["period"]).to_numpy().astype(np.float64)
    doy = rows["period"].dt.dayofyear.to_numpy()
    rows["season"] = (doy // 7 if freq == "W" else doy).astype(np.float64)
    rows["weekday"] = rows["period"].dt.weekday.to_numpy().astype(np.float64)
    rows["promo_days"] = _promo_days(calendar, rows["period"], freq)
    level = rows.groupby("sku")["qty"].mean()
    rows["log_level"] = np.log(level.reindex(rows["sku"]).to_numpy())
    category = _categories(catalog, span.index)
    rows["category"] = category.reindex(rows["sku"]).to_numpy()

    obs = rows[rows["observed"]]
    ref = obs.groupby("sku")["log_price"].median()
    changes = obs.groupby("sku")["log_price"].diff().abs().gt(CHANGE_TOL).groupby(obs["sku"]).sum()
    skus = pd.DataFrame(
        {
            "category": category,
            "ref_price": np.exp(ref),
            "tier_slope": slope.reindex(span.index),
            "n_lines": lines.groupby("sku").size(),
            "n_periods": n.astype(np.int64),
            "n_sale_periods": obs.groupby("sku").size(),
            "n_price_changes": changes.astype(np.int64),
            "units": per.groupby("sku")["qty"].sum(),
        },
        index=span.index,
    )
    skus.index.name = "sku"
    rows["x"] = rows["log_price"] - ref.reindex(rows["sku"]).to_numpy()
    return PricePanel(rows, skus.reset_index(), freq, cutoff)


def _time_weighted(lines: pd.DataFrame) -> pd.Series:
    """Per SKU and week: the mean over the week's days of the day's price index, a day
    without a sale carrying the SKU's last known price. Averaging lines instead would
    weight the discount days by the units they sold, so a week's price would fall
    because it sold more, not the other way round."""
    day = lines["ts"].dt.normalize()
    daily = lines.assign(day=day).groupby(["sku", "day"], sort=True)["lp_adj"].mean()
    daily = daily.reset_index()
    # every day from the SKU's first sale week's Monday (back-filled) to its last sale week's Sunday
    span = daily.groupby("sku")["day"].agg(["min", "max"])
    lo = span["min"] - pd.to_timedelta(span["min"].dt.weekday, unit="D")
    hi = span["max"] - pd.to_timedelta(span["max"].dt.weekday, unit="D") + pd.Timedelta(days=6)
    n = ((hi - lo).dt.days + 1).to_numpy()
    sku = np.repeat(span.index.to_numpy(), n)
    offs = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    days = np.repeat(lo.to_numpy(), n) + pd.to_timedelta(offs, unit="D").to_numpy()
    grid = pd.DataFrame({"sku": sku, "day": days}).merge(daily, on=["sku", "day"], how="left")
    grid["lp_adj"] = grid.groupby("sku")["lp_adj"].ffill()
    grid["lp_adj"] = grid.groupby("sku")["lp_adj"].bfill()
    grid["period"] = grid["day"] - pd.to_timedelta(grid["day"].dt.weekday, unit="D")
    return grid.groupby(["sku", "period"], sort=True)["lp_adj"].mean()


def _promo_days(calendar: pd.DataFrame | None, period: pd.Series, freq: str) -> np.ndarray:
    """Promotion days of the calendar inside each period (0 without a calendar)."""
    if calendar is None or calendar.empty or "is_promo" not in calendar.columns:
        return np.zeros(len(period))
    cal = calendar.loc[calendar["is_promo"].fillna(False).astype(bool), "date"]
    days = pd.to_datetime(cal).dt.normalize().drop_duplicates()
    start = _period_start(days, freq)
    count = start.value_counts()
    return count.reindex(period).fillna(0).to_numpy(np.float64)


def _categories(catalog: pd.DataFrame | None, skus: pd.Index) -> pd.Series:
    """Each SKU's category from the catalog (``"(none)"`` when unknown)."""
    cat = by_sku(catalog, "category")
    if cat is None:
        return pd.Series("(none)", index=skus)
    return cat.reindex(skus).fillna("(none)").astype(str)
