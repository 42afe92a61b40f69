"""ABC / XYZ classification, the ABC-XYZ matrix, slow movers and class migration.

ABC ranks SKUs by a measure (revenue, units or margin) over a window before the cutoff:
A = the SKUs making the first ``a`` share of the total (default 80%), B up to ``b``
(default 95%), C the rest. XYZ ranks them by demand variability: the coefficient of
variation of per-period demand (zeros included, from the SKU's first sale or the window
start), X <= ``x`` (default 0.5), Y <= ``y`` (default 1.0), Z above.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ecomml._validation import check_cutoff, check_frame
from ecomml.exceptions import ConfigError, DataQualityError, SchemaError
from ecomml.metrics.forecast import abc_classes

__all__ = [
    "CLEARANCE_COLUMNS",
    "DEFAULT_CELL_TARGETS",
    "MEASURES",
    "abc_classify",
    "abc_xyz_matrix",
    "cell_targets",
    "class_migration",
    "class_summary",
    "classify_skus",
    "clearance_candidates",
    "xyz_classify",
]

MEASURES = ("revenue", "units", "margin")
#: Default target service level (cycle service level or fill rate) per ABC-XYZ cell:
#: the best sellers with stable demand get the highest, erratic tail items the lowest.
DEFAULT_CELL_TARGETS: dict[str, float] = {
    "AX": 0.98, "AY": 0.97, "AZ": 0.95,
    "BX": 0.96, "BY": 0.95, "BZ": 0.92,
    "CX": 0.93, "CY": 0.90, "CZ": 0.85,
}  # fmt: skip
_PERIOD_DAYS = {"W": 7, "D": 1}


def _check_cuts(cuts: tuple[float, float], name: str, upper: float | None = 1.0) -> None:
    lo, hi = float(cuts[0]), float(cuts[1])
    ok = 0 < lo < hi and (upper is None or hi <= upper)
    if not ok:
        bound = f" <= {upper}" if upper is not None else ""
        raise ConfigError(f"{name} cut-offs must satisfy 0 < first < second{bound}; got {cuts}")


class _Window(NamedTuple):
    tx: pd.DataFrame  # the transactions of the window
    cut: pd.Timestamp
    start: pd.Timestamp
    skus: np.ndarray  # every SKU with a row before the cutoff, also before the window


def _skus(col: pd.Series) -> pd.Series:
    """SKUs as text; a categorical column of text stays categorical (its codes make the
    groupbys of a million SKUs fast, see :func:`classify_skus`)."""
    if (
        isinstance(col.dtype, pd.CategoricalDtype)
        and col.cat.categories.inferred_type == "string"
        and not col.hasnans
    ):
        return col
    out = col.astype(str)  # a categorical's missing values stay missing here
    return out.fillna("<NA>") if out.hasnans else out


def _plain(s: pd.Series) -> pd.Series:
    """A per-SKU result with a plain text index (not a categorical one)."""
    s.index = pd.Index(np.asarray(s.index, dtype=object), name=s.index.name)
    return s


def _window(transactions: pd.DataFrame, cutoff: Any, lookback_days: int | None) -> _Window:
    """The checked transactions before ``cutoff``, cut to the last ``lookback_days``."""
    check_frame(transactions, required=["sku", "ts", "quantity"], name="transactions")
    cut = check_cutoff(cutoff)
    tx = transactions.loc[transactions["ts"] < cut]
    skus = np.asarray(_skus(tx["sku"]).unique(), dtype=object)
    if tx.empty:
        raise DataQualityError(
            f"transactions has no rows before the cutoff {cut.date()}; choose a later --cutoff"
        )
    start = tx["ts"].min().normalize()
    if lookback_days is not None:
        if int(lookback_days) < 1:
            raise ConfigError(f"lookback_days must be >= 1, got {lookback_days}")
        start = max(start, cut - pd.Timedelta(days=int(lookback_days)))
        tx = tx.loc[tx["ts"] >= start]
    return _Window(tx, cut, start, skus)


def _measure(tx: pd.DataFrame, by: str, catalog: pd.DataFrame | None) -> pd.Series:
    if by not in MEASURES:
        raise ConfigError(f"--by must be one of {', '.join(MEASURES)}; got {by!r}")
    sales = tx.loc[tx["quantity"] > 0]
    q = sales["quantity"].astype(np.float64)
    if by == "units":
        v = q
    else:
        if "price" not in sales.columns:
            raise SchemaError(
                f"ABC by {by} needs a 'price' column in transactions; use --by units",
                missing=["price"],
                columns=list(tx.columns),
            )
        v = q * sales["price"].astype(np.float64)
        if by == "margin":
            if catalog is None or not {"sku", "cost"} <= set(catalog.columns):
                raise SchemaError(
                    "ABC by margin needs a catalog with 'sku' and 'cost' columns (--catalog)",
                    missing=["cost"],
                )
            cost = (
                sales["sku"].astype(str).map(catalog.set_index(catalog["sku"].astype(str))["cost"])
            )
            missing = sales.loc[cost.isna(), "sku"].astype(str).unique()
            if len(missing):
                from ecomml.exceptions import short_repr

                raise DataQualityError(
                    f"the catalog has no cost for {len(missing)} sold SKU(s): "
                    f"{short_repr(list(missing))}; add them or use --by revenue",
                    bad_keys=list(missing),
                )
            v = v - q * cost.astype(np.float64)
    return _plain(v.groupby(_skus(sales["sku"]), observed=True).sum())


def abc_classify(
    transactions: pd.DataFrame,
    cutoff: Any,
    *,
    by: str = "revenue",
    cutoffs: tuple[float, float] = (0.8, 0.95),
    lookback_days: int | None = 365,
    catalog: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """ABC class of every SKU sold before ``cutoff`` (exclusive).

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (``sku, ts, quantity`` + ``price``); returns are ignored.
    cutoff : date-like
    by : {"revenue", "units", "margin"}
        Margin needs ``catalog`` with ``sku, cost``.
    cutoffs : (float, float)
        Cumulative shares closing class A and class B.
    lookback_days : int or None
        Window before the cutoff (None = all history). SKUs sold only before it are C.

    Returns
    -------
    DataFrame
        ``sku, value, share, cum_share, rank, abc`` sorted by value, descending.
    """
    _check_cuts(cutoffs, "ABC")
    tx, _, _, all_skus = _window(transactions, cutoff, lookback_days)
    value = _measure(tx, by, catalog).reindex(all_skus, fill_value=0.0).clip(lower=0.0)
    value = value.sort_values(ascending=False, kind="mergesort")
    total = float(value.sum())
    out = pd.DataFrame({"sku": value.index.to_numpy(), "value": value.to_numpy()})
    out["share"] = out["value"] / total if total > 0 else 0.0
    out["cum_share"] = out["share"].cumsum()
    out["rank"] = np.arange(1, len(out) + 1)
    out["abc"] = abc_classes(value, a=cutoffs[0], b=cutoffs[1]).to_numpy()
    out.loc[out["value"] <= 0, "abc"] = "C"
    return out.reset_index(drop=True)


_BLOCK = 100_000  # SKUs per block of the XYZ statistics


def _period_matrix(
    tx: pd.DataFrame, cut: pd.Timestamp, start: pd.Timestamp, freq: str
) -> tuple[pd.Index, np.ndarray]:
    """Dense (sku, period) units matrix over the window, NaN before each SKU's first sale."""
    step = _PERIOD_DAYS[freq]
    sales = tx.loc[tx["quantity"] > 0]
    days = (sales["ts"].dt.normalize() - start).dt.days.to_numpy()
    n_per = max(int((cut.normalize() - start).days // step), 1)
    col = np.minimum(days // step, n_per - 1)
    row, uniq = pd.factorize(_skus(sales["sku"]), sort=True)
    skus = np.asarray(uniq, dtype=object)
    Y = np.zeros((len(skus), n_per))
    np.add.at(Y, (row, col), sales["quantity"].to_numpy(np.float64))
    first = np.full(len(skus), n_per)
    np.minimum.at(first, row, col)
    Y[np.arange(n_per)[None, :] < first[:, None]] = np.nan
    return pd.Index(skus), Y


def xyz_classify(
    transactions: pd.DataFrame,
    cutoff: Any,
    *,
    freq: str = "W",
    cutoffs: tuple[float, float] = (0.5, 1.0),
    lookback_days: int | None = 365,
) -> pd.DataFrame:
    """XYZ class by the coefficient of variation of per-period demand.

    Returns
    -------
    DataFrame
        ``sku, periods, mean_demand, cv, xyz, adi, cv2, pattern``: ``cv`` over the
        window's periods from the SKU's first sale (zeros included; a SKU with a single
        period or no sale in the window is Z); ``pattern`` is the forecasting demand
        pattern (smooth / erratic / intermittent / lumpy, ADI-CV²).
    """
    from ecomml.forecasting.patterns import classify_matrix

    f = str(freq).upper()
    if f not in _PERIOD_DAYS:
        raise ConfigError(f"freq must be W or D, got {freq!r}")
    _check_cuts(cutoffs, "XYZ", upper=None)
    tx, cut, start, all_skus = _window(transactions, cutoff, lookback_days)
    skus, Y = _period_matrix(tx, cut, start, f)
    blocks = []
    for i in range(0, len(Y), _BLOCK):  # row blocks: the temporaries stay small at 1M SKUs
        Yb = Y[i : i + _BLOCK]
        n = (~np.isnan(Yb)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(Yb, axis=1)
            sd = np.nanstd(Yb, axis=1, ddof=1) if Yb.shape[1] > 1 else np.full(len(Yb), np.nan)
            cv = np.where((n > 1) & (mean > 0), sd / mean, np.inf)
        pattern, adi, cv2 = classify_matrix(Yb)
        blocks.append(pd.DataFrame({"periods": n, "mean_demand": mean, "cv": cv, "adi": adi,
                                    "cv2": cv2, "pattern": pattern}))  # fmt: skip
    del Y
    out = pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame(
        columns=["periods", "mean_demand", "cv", "adi", "cv2", "pattern"])  # fmt: skip
    out.insert(0, "sku", skus)
    out = out.set_index("sku").reindex(all_skus).rename_axis("sku").reset_index()
    out["periods"] = out["periods"].fillna(0).astype(np.int64)
    out["mean_demand"] = out["mean_demand"].fillna(0.0)
    out["cv"] = out["cv"].fillna(np.inf)
    out["adi"] = out["adi"].fillna(np.inf)
    out["pattern"] = out["pattern"].fillna("lumpy")
    out["xyz"] = np.where(out["cv"] <= cutoffs[0], "X", np.where(out["cv"] <= cutoffs[1], "Y", "Z"))
    return out[["sku", "periods", "mean_demand", "cv", "xyz", "adi", "cv2", "pattern"]]


def classify_skus(
    transactions: pd.DataFrame,
    cutoff: Any,
    *,
    by: str = "revenue",
    abc_cutoffs: tuple[float, float] = (0.8, 0.95),
    xyz_cutoffs: tuple[float, float] = (0.5, 1.0),
    freq: str = "W",
    lookback_days: int | None = 365,
    dead_days: int = 90,
    slow_share: float = 0.25,
    on_hand: pd.DataFrame | None = None,
    max_cover_weeks: float = 26.0,
    catalog: pd.DataFrame | None = None,
    cell_overrides: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """ABC, XYZ, demand pattern, service target, slow movers and dead stock per SKU.

    A SKU is *dead* with no sale in the last ``dead_days`` days, a *slow mover* when it
    is dead, sold in fewer than ``slow_share`` of the window's periods, or (with
    ``on_hand``) holds more than ``max_cover_weeks`` weeks of cover.

    Returns
    -------
    DataFrame
        ``sku, value, share, cum_share, rank, abc, xyz, cell, service_target, pattern,
        cv, mean_demand, weekly_units, units, revenue, last_sale, days_since_sale, dead,
        slow_mover`` (+ ``on_hand, weeks_of_cover, turnover`` with ``on_hand``).
    """
    if _skus(transactions["sku"]) is not transactions["sku"]:  # factorize the SKUs once
        transactions = transactions.assign(sku=pd.Categorical(transactions["sku"].astype(str)))
    abc = abc_classify(
        transactions, cutoff, by=by, cutoffs=abc_cutoffs, lookback_days=lookback_days,
        catalog=catalog,
    )  # fmt: skip
    xyz = xyz_classify(
        transactions, cutoff, freq=freq, cutoffs=xyz_cutoffs, lookback_days=lookback_days
    )
    out = abc.merge(xyz.drop(columns=["adi", "cv2", "periods"]), on="sku", how="left")
    out["cell"] = out["abc"] + out["xyz"]
    targets = cell_targets(cell_overrides)
    out["service_target"] = out["cell"].map(targets).astype(np.float64)
    tx, cut, start, _ = _window(transactions, cutoff, lookback_days)
    sales = tx.loc[tx["quantity"] > 0]
    key = _skus(sales["sku"])
    units = _plain(sales["quantity"].groupby(key, observed=True).sum())
    rev = (
        _plain((sales["quantity"] * sales["price"]).groupby(key, observed=True).sum())
        if "price" in sales.columns
        else units * np.nan
    )
    hist = transactions.loc[(transactions["ts"] < cut) & (transactions["quantity"] > 0)]
    last = _plain(hist.groupby(_skus(hist["sku"]), observed=True)["ts"].max())
    weeks = max((cut - start).days / 7.0, 1.0 / 7.0)
    out["units"] = out["sku"].map(units).fillna(0.0).to_numpy(np.float64)
    out["revenue"] = out["sku"].map(rev).fillna(0.0).to_numpy(np.float64)
    out["weekly_units"] = out["units"] / weeks
    out["last_sale"] = out["sku"].map(last)
    # SKUs with returns only: no sale at all, counted from the start of the history
    first_ts = transactions.loc[transactions["ts"] < cut, "ts"].min()
    since = (cut - out["last_sale"].fillna(first_ts)).dt.days
    out["days_since_sale"] = since.astype(np.int64)
    out["dead"] = out["days_since_sale"] >= int(dead_days)
    step = _PERIOD_DAYS[str(freq).upper()]
    n_periods = max(int((cut - start).days // step), 1)
    sold_periods = _plain(
        sales.assign(p=(sales["ts"] - start).dt.days // step)
        .groupby(key, observed=True)["p"].nunique()
    )  # fmt: skip
    active_share = out["sku"].map(sold_periods).fillna(0) / n_periods
    out["slow_mover"] = out["dead"] | (active_share < float(slow_share))
    if on_hand is not None:
        oh = _on_hand_series(on_hand)
        out["on_hand"] = out["sku"].map(oh).fillna(0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["weeks_of_cover"] = np.where(
                out["weekly_units"] > 0, out["on_hand"] / out["weekly_units"],
                np.where(out["on_hand"] > 0, np.inf, 0.0),
            )  # fmt: skip
            out["turnover"] = np.where(
                out["on_hand"] > 0, out["weekly_units"] * 52.0 / out["on_hand"], np.inf
            )
        out["slow_mover"] |= out["weeks_of_cover"] > float(max_cover_weeks)
    return out


def _on_hand_series(on_hand: pd.DataFrame) -> pd.Series:
    check_frame(on_hand, required=["sku", "on_hand"], name="on-hand")
    oh = pd.to_numeric(on_hand["on_hand"], errors="coerce")
    bad = on_hand.loc[oh.isna() | (oh < 0), "sku"].astype(str).tolist()
    if bad:
        from ecomml.exceptions import short_repr

        raise DataQualityError(
            f"on-hand has {len(bad)} negative or missing quantity(ies), SKU(s) {short_repr(bad)}; "
            "on-hand stock must be >= 0 (record backorders as negative on_order instead)",
            bad_keys=bad,
        )
    return pd.Series(oh.to_numpy(np.float64), index=on_hand["sku"].astype(str))


def cell_targets(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """The per-cell service targets: :data:`DEFAULT_CELL_TARGETS` updated by ``overrides``
    (keys like ``"AX"``; values in (0, 1))."""
    out = dict(DEFAULT_CELL_TARGETS)
    for k, v in (overrides or {}).items():
        key = str(k).upper()
        if key not in out:
            raise ConfigError(f"unknown ABC-XYZ cell {k!r}; use one of {', '.join(out)}")
        if not 0 < float(v) < 1:
            raise ConfigError(f"service target for {key} must be in (0, 1), got {v}")
        out[key] = float(v)
    return out


def abc_xyz_matrix(classes: pd.DataFrame, *, value: str = "value") -> pd.DataFrame:
    """The 9-cell matrix: one row per cell with ``abc, xyz, skus, value, value_share``."""
    check_frame(classes, required=["abc", "xyz", value], name="classes")
    grid = pd.MultiIndex.from_product([list("ABC"), list("XYZ")], names=["abc", "xyz"])
    g = classes.groupby(["abc", "xyz"])
    out = pd.DataFrame({"skus": g.size(), "value": g[value].sum()}).reindex(grid, fill_value=0)
    total = out["value"].sum()
    out["value_share"] = out["value"] / total if total > 0 else 0.0
    out = out.reset_index()
    out["skus"] = out["skus"].astype(np.int64)
    return out


def class_summary(classes: pd.DataFrame, *, by: str = "abc") -> pd.DataFrame:
    """Per class (``abc``, ``xyz`` or ``cell``): SKUs, value share, weekly units, slow and
    dead SKUs, and -- when ``classes`` has ``on_hand`` -- stock, weeks of cover and turnover.
    """
    check_frame(
        classes, required=[by, "value", "weekly_units", "slow_mover", "dead"], name="classes"
    )
    g = classes.groupby(by)
    out = pd.DataFrame({
        "skus": g.size(),
        "value": g["value"].sum(),
        "weekly_units": g["weekly_units"].sum(),
        "slow_movers": g["slow_mover"].sum().astype(np.int64),
        "dead": g["dead"].sum().astype(np.int64),
    })  # fmt: skip
    total = out["value"].sum()
    out["value_share"] = out["value"] / total if total > 0 else 0.0
    if "on_hand" in classes.columns:
        out["on_hand"] = g["on_hand"].sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            out["weeks_of_cover"] = np.where(
                out["weekly_units"] > 0, out["on_hand"] / out["weekly_units"], np.inf
            )
            out["turnover"] = np.where(
                out["on_hand"] > 0, out["weekly_units"] * 52.0 / out["on_hand"], np.inf
            )
    return out.reset_index()


def class_migration(
    transactions: pd.DataFrame,
    cutoff_from: Any,
    cutoff_to: Any,
    *,
    by: str = "revenue",
    lookback_days: int | None = 365,
    **kwargs: Any,
) -> pd.DataFrame:
    """Which SKUs changed ABC or XYZ class between two cutoffs, and why.

    Returns
    -------
    DataFrame
        ``sku, abc_from, abc_to, xyz_from, xyz_to, value_from, value_to, value_change,
        share_from, share_to, cv_from, cv_to, reason`` for every SKU whose class changed
        (new SKUs have ``abc_from = "new"``).
    """
    a = classify_skus(transactions, cutoff_from, by=by, lookback_days=lookback_days, **kwargs)
    b = classify_skus(transactions, cutoff_to, by=by, lookback_days=lookback_days, **kwargs)
    cols = ["sku", "abc", "xyz", "value", "share", "cv"]
    m = a[cols].merge(b[cols], on="sku", how="outer", suffixes=("_from", "_to"))
    m["abc_from"] = m["abc_from"].fillna("new")
    m["xyz_from"] = m["xyz_from"].fillna("new")
    for c in ("value_from", "share_from"):
        m[c] = m[c].fillna(0.0)
    m["value_change"] = m["value_to"] - m["value_from"]
    moved = m.loc[(m["abc_from"] != m["abc_to"]) | (m["xyz_from"] != m["xyz_to"])].copy()

    def reason(r: pd.Series) -> str:
        parts = []
        if r["abc_from"] == "new":
            return f"new SKU ({by} {r['value_to']:.0f})"
        if r["abc_from"] != r["abc_to"]:
            if r["value_to"] == 0:
                parts.append(f"no sales in the window ({by} {r['value_from']:.0f} -> 0)")
            else:
                pct = (r["value_to"] / r["value_from"] - 1) * 100 if r["value_from"] > 0 else np.inf
                parts.append(
                    f"{by} {r['value_from']:.0f} -> {r['value_to']:.0f} ({pct:+.0f}%), "
                    f"share {r['share_from']:.2%} -> {r['share_to']:.2%}"
                )
        if r["xyz_from"] != r["xyz_to"]:
            parts.append(f"demand CV {r['cv_from']:.2f} -> {r['cv_to']:.2f}")
        return "; ".join(parts)

    moved["reason"] = [reason(r) for _, r in moved.iterrows()] if len(moved) else []
    return moved.sort_values("value_change", kind="mergesort").reset_index(drop=True)


#: The clearance table's columns, in order (a contract: the pricing task reads them).
CLEARANCE_COLUMNS = [
    "sku", "reason", "abc", "xyz", "dead", "slow_mover", "on_hand", "unit_cost",
    "stock_value", "weekly_units", "weeks_of_cover", "days_since_sale", "last_sale",
]  # fmt: skip


def clearance_candidates(
    classes: pd.DataFrame, on_hand: pd.DataFrame, *, unit_cost: pd.Series
) -> pd.DataFrame:
    """Stock to clear: SKUs in stock that are dead, slow movers or class C, with their
    weeks of cover and the money tied up (``on_hand * unit_cost``), largest first.

    Parameters
    ----------
    classes : DataFrame
        Output of :func:`classify_skus` (with or without ``on_hand``).
    on_hand : DataFrame
        ``sku, on_hand``; SKUs in stock that never sold before the cutoff are listed as
        dead (``reason = "never sold"``).
    unit_cost : Series
        Unit value per SKU (:func:`~ecomml.inventory.unit_costs`); an on-hand
        ``unit_cost`` column overrides it; missing = 0.

    Returns
    -------
    DataFrame
        :data:`CLEARANCE_COLUMNS`; ``reason`` is ``dead`` (no sale in ``dead_days``),
        ``never sold``, ``slow`` (slow mover) or ``class C``; ``weeks_of_cover`` is
        ``on_hand`` over the window's average weekly units, ``inf`` for dead stock (no
        sale in ``dead_days``: the average no longer describes its demand).
    """
    check_frame(classes, required=["sku", "abc", "xyz", "dead", "slow_mover", "weekly_units",
                                   "days_since_sale", "last_sale"], name="classes")  # fmt: skip
    oh = _on_hand_series(on_hand).groupby(level=0).sum()
    c = classes.drop(columns=["on_hand"], errors="ignore").assign(sku=classes["sku"].astype(str))
    c = c.set_index("sku")
    never = oh.index.difference(c.index)
    extra = pd.DataFrame(
        {"abc": "C", "xyz": "Z", "dead": True, "slow_mover": True, "weekly_units": 0.0,
         "days_since_sale": np.nan, "last_sale": pd.NaT},
        index=pd.Index(never, name="sku"),
    )  # fmt: skip
    if len(extra):
        c = pd.concat([c, extra])
    c["on_hand"] = oh.reindex(c.index).fillna(0.0)
    c = c.loc[c["on_hand"] > 0]
    dead, slow = c["dead"].astype(bool), c["slow_mover"].astype(bool)
    c = c.loc[dead | slow | (c["abc"] == "C")].copy()
    reason = np.where(
        c.index.isin(never), "never sold",
        np.where(dead.reindex(c.index), "dead", np.where(slow.reindex(c.index), "slow", "class C")),
    )  # fmt: skip
    c["reason"] = reason
    cost = unit_cost.astype(np.float64)
    if "unit_cost" in on_hand.columns:
        given = pd.to_numeric(on_hand["unit_cost"], errors="coerce")
        given.index = on_hand["sku"].astype(str)
        cost = given.groupby(level=0).first().combine_first(cost)
    c["unit_cost"] = cost.reindex(c.index).fillna(0.0).to_numpy(np.float64)
    c["stock_value"] = c["on_hand"] * c["unit_cost"]
    wu = c["weekly_units"].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        c["weeks_of_cover"] = np.where(
            (wu > 0) & ~c["dead"].astype(bool), c["on_hand"] / wu, np.inf
        )
    c["dead"], c["slow_mover"] = c["dead"].astype(bool), c["slow_mover"].astype(bool)
    out = c.rename_axis("sku").reset_index()[CLEARANCE_COLUMNS]
    return out.sort_values(
        ["stock_value", "sku"], ascending=[False, True], kind="mergesort"
    ).reset_index(drop=True)
