"""Periods, panels and the dense matrix every forecaster works on.

A *panel* is a long frame ``sku, ds, y`` (one row per SKU and complete period, ``ds``
= period start; weeks start on Monday) plus optional columns (``category``, ``price``,
``promo``). Forecasters turn it into a dense ``(n_sku, n_periods)`` matrix with NaN
before each SKU's first period, so features for many SKUs are a few numpy slices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ecomml._validation import check_cutoff, check_frame
from ecomml.exceptions import ConfigError, DataQualityError, short_repr

__all__ = [
    "FREQS",
    "Panel",
    "check_freq",
    "event_year_lags",
    "future_promo",
    "panel_from_store",
    "panel_from_transactions",
    "period_start",
    "season_length",
    "to_panel",
]

FREQS = ("W", "D")
_EPOCH = pd.Timestamp("2000-01-03")  # a Monday


def check_freq(freq: str) -> str:
    """Normalise ``freq`` to ``"W"`` or ``"D"``."""
    f = str(freq).upper()
    f = {"W-MON": "W", "WEEKLY": "W", "WEEK": "W", "DAILY": "D", "DAY": "D"}.get(f, f)
    if f not in FREQS:
        raise ConfigError(f"freq {freq!r} is not supported; use W (weeks from Monday) or D (days)")
    return f


def _step(freq: str) -> int:
    return 7 if freq == "W" else 1


def period_start(ts: Any, freq: str) -> pd.Timestamp:
    """Start of the period holding ``ts`` (midnight; the Monday for weeks)."""
    t = pd.Timestamp(ts).normalize()
    if freq == "W":
        t = t - pd.Timedelta(days=t.dayofweek)
    return t


def season_length(freq: str) -> int:
    """Yearly season in periods: 52 weeks or 7 days (weekly pattern for daily data)."""
    return 52 if freq == "W" else 7


def period_index(ds: pd.Series | pd.DatetimeIndex, freq: str) -> np.ndarray:
    days = (pd.DatetimeIndex(ds).normalize() - _EPOCH).days.to_numpy()
    return days // _step(freq)


def period_date(idx: np.ndarray | int, freq: str) -> pd.DatetimeIndex:
    arr = np.atleast_1d(np.asarray(idx, dtype=np.int64)) * _step(freq)
    return pd.DatetimeIndex(_EPOCH + pd.to_timedelta(arr, unit="D"))


@dataclass
class Panel:
    """Dense view of a long panel.

    Attributes
    ----------
    skus : ndarray of str
    Y : ndarray (n_sku, n_periods), NaN before a SKU's first period
    t0 : int
        Period index of column 0.
    freq : str
    category : ndarray of str
    price : ndarray (n_sku, n_periods) or None
        Average selling price in the period (NaN without a sale).
    """

    skus: np.ndarray
    Y: np.ndarray
    t0: int
    freq: str
    category: np.ndarray
    price: np.ndarray | None = None

    @property
    def n_periods(self) -> int:
        return int(self.Y.shape[1])

    def dates(self) -> pd.DatetimeIndex:
        return period_date(np.arange(self.t0, self.t0 + self.n_periods), self.freq)

    def column(self, ds: Any) -> int:
        """Column index of the period starting at ``ds`` (may be outside the matrix)."""
        return int(period_index(pd.DatetimeIndex([pd.Timestamp(ds)]), self.freq)[0]) - self.t0

    def first_col(self) -> np.ndarray:
        """Column of each SKU's first period (n_periods if none)."""
        ok = ~np.isnan(self.Y)
        return np.where(ok.any(axis=1), ok.argmax(axis=1), self.n_periods)


def to_panel(df: pd.DataFrame, freq: str, *, name: str = "panel") -> Panel:
    """Check a long ``sku, ds, y`` frame and build its dense :class:`Panel`."""
    check_frame(df, required=["sku", "ds", "y"], name=name)
    freq = check_freq(freq)
    if df.empty:
        raise DataQualityError(f"{name} has no rows; there is no history to learn from")
    ds = pd.to_datetime(df["ds"], errors="coerce")
    if ds.isna().any():
        bad = list(np.flatnonzero(ds.isna().to_numpy())[:5] + 1)
        raise DataQualityError(f"{name} column 'ds' has values that are not dates in rows {bad}")
    y = pd.to_numeric(df["y"], errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(y).any() or (y < 0).any():
        bad = list(np.flatnonzero(np.isnan(y) | (y < 0))[:5] + 1)
        raise DataQualityError(
            f"{name} column 'y' must be a non-negative number (units sold); rows {bad} are "
            "not. Fill periods without sales with 0 and drop returns."
        )
    idx = period_index(ds, freq)
    if freq == "W" and (ds.dt.dayofweek != 0).any():
        bad = ds[ds.dt.dayofweek != 0]
        raise DataQualityError(
            f"{name} column 'ds' must hold week starts (Mondays) for freq=W; found "
            f"{short_repr([str(d.date()) for d in bad.head(3)])}"
        )
    inv, uniq = pd.factorize(df["sku"], sort=True)
    skus = np.asarray(uniq.astype(str))
    dup = pd.Series(inv * (1 << 32) + idx).duplicated()
    if dup.any():
        rows = list(np.flatnonzero(dup.to_numpy())[:5] + 1)
        raise DataQualityError(f"{name} has duplicate (sku, ds) rows: {rows}; aggregate them first")
    t0 = int(idx.min())
    Y = np.full((len(skus), int(idx.max()) - t0 + 1), np.nan)
    Y[inv, idx - t0] = y
    # dense grid from each SKU's first period: missing periods inside it are zero demand
    first = np.where(~np.isnan(Y), np.arange(Y.shape[1]), Y.shape[1]).min(axis=1)
    inside = np.arange(Y.shape[1])[None, :] >= first[:, None]
    Y[inside & np.isnan(Y)] = 0.0
    cat = np.full(len(skus), "all", dtype=object)
    if "category" in df.columns:
        c = df.groupby(inv)["category"].agg(
            lambda s: s.dropna().iloc[-1] if s.notna().any() else "all"
        )
        cat[c.index.to_numpy()] = c.astype(str).to_numpy()
    price = None
    if "price" in df.columns:
        price = np.full(Y.shape, np.nan)
        price[inv, idx - t0] = pd.to_numeric(df["price"], errors="coerce").to_numpy(np.float64)
    return Panel(skus=skus, Y=Y, t0=t0, freq=freq, category=cat.astype(str), price=price)


def panel_from_store(
    store: Any, cutoff: Any, freq: str, *, catalog: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The training panel as of ``cutoff`` from the feature store's ``sku_weekly`` /
    ``sku_daily`` view (complete periods only, each SKU from its first sale), with the
    period's average price and the SKU's category from the catalog when registered."""
    freq = check_freq(freq)
    cut = check_cutoff(cutoff)
    view = "sku_weekly" if freq == "W" else "sku_daily"
    time_col = "week" if freq == "W" else "date"
    f = store.get_features([view], cutoff=cut)
    out = pd.DataFrame(
        {
            "sku": f["sku"].astype(str),
            "ds": pd.to_datetime(f[time_col]).astype("datetime64[ns]"),
            "y": f[f"{view}__qty"].astype(np.float64),
        }
    )
    cat = _categories(catalog)
    if cat is not None:
        out["category"] = out["sku"].map(cat).fillna("unknown")
    return out.sort_values(["sku", "ds"], kind="mergesort").reset_index(drop=True)


def _categories(catalog: pd.DataFrame | None) -> pd.Series | None:
    if catalog is None or not {"sku", "category"} <= set(catalog.columns):
        return None
    c = catalog.drop_duplicates("sku", keep="last")
    return pd.Series(c["category"].astype(str).to_numpy(), index=c["sku"].astype(str))


def panel_from_transactions(
    transactions: pd.DataFrame,
    cutoff: Any,
    freq: str,
    *,
    catalog: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The same panel as :func:`panel_from_store`, computed with pandas (complete
    periods before ``cutoff``, each SKU from its first sale, returns excluded)."""
    freq = check_freq(freq)
    cut = check_cutoff(cutoff)
    check_frame(transactions, required=["sku", "ts", "quantity"], name="transactions")
    tx = transactions.loc[(transactions["ts"] < cut) & (transactions["quantity"] > 0)]
    ds = tx["ts"].dt.normalize()
    if freq == "W":
        ds = ds - pd.to_timedelta(ds.dt.dayofweek, unit="D")
    # complete periods only: a period is complete when its last day ended before the cutoff
    end = cut.normalize() if freq == "D" else period_start(cut, "W")
    keep = ds < end
    g = pd.DataFrame(
        {"sku": tx["sku"].astype(str)[keep], "ds": ds[keep], "y": tx["quantity"][keep]}
    )
    out = g.groupby(["sku", "ds"], as_index=False)["y"].sum()
    if out.empty:
        return out.assign(y=out["y"].astype(np.float64))
    # dense grid to the last complete period
    last = period_index(pd.DatetimeIndex([end]), freq)[0] - 1
    first = out.groupby("sku")["ds"].min()
    idx_first = period_index(pd.DatetimeIndex(first.to_numpy()), freq)
    lens = last - idx_first + 1
    sku = np.repeat(first.index.to_numpy(), lens)
    pidx = np.concatenate([np.arange(a, last + 1) for a in idx_first]) if len(lens) else []
    grid = pd.DataFrame({"sku": sku, "ds": period_date(np.asarray(pidx, dtype=np.int64), freq)})
    out = grid.merge(out, on=["sku", "ds"], how="left").fillna({"y": 0.0})
    cat = _categories(catalog)
    if cat is not None:
        out["category"] = out["sku"].map(cat).fillna("unknown")
    return out


def future_promo(dates: pd.DatetimeIndex, freq: str, calendar: pd.DataFrame | None) -> np.ndarray:
    """Promotion days in each period starting at ``dates`` (0/1 per day for freq=D),
    from a canonical calendar (``date, event, is_promo``); zeros without one."""
    if calendar is None or calendar.empty:
        return np.zeros(len(dates))
    cal = calendar.loc[calendar["is_promo"].fillna(False).astype(bool), "date"]
    promo_days = pd.DatetimeIndex(pd.to_datetime(cal)).normalize().unique()
    if freq == "D":
        return np.isin(dates.normalize(), promo_days).astype(np.float64)
    starts = promo_days - pd.to_timedelta(promo_days.dayofweek, unit="D")
    counts = pd.Series(1.0, index=starts).groupby(level=0).sum()
    return counts.reindex(dates.normalize()).fillna(0.0).to_numpy()


def event_year_lags(
    dates: pd.DatetimeIndex, freq: str, calendar: pd.DataFrame | None
) -> np.ndarray:
    """For each period starting at ``dates``, how many periods back the same moment of
    last year's promotion calendar lies: a season (52 weeks, 364 days) unless the period
    overlaps a promotion run whose event also ran the year before, in which case last
    year's run is lined up with this one by their last days (Double 11 falls on a Monday
    one year and a Saturday the next; 52 weeks back can miss its peak week)."""
    season = season_length(freq) if freq == "W" else 364
    out = np.full(len(dates), season, dtype=np.int64)
    if calendar is None or calendar.empty or not len(dates):
        return out
    cal = calendar.loc[calendar["is_promo"].fillna(False).astype(bool), ["date", "event"]]
    cal = cal.assign(date=pd.to_datetime(cal["date"]).dt.normalize()).drop_duplicates()
    cal = cal.sort_values(["event", "date"])
    run = (cal.groupby("event")["date"].diff() != pd.Timedelta(days=1)).cumsum()
    runs = cal.groupby(run).agg(
        event=("event", "first"), first=("date", "min"), last=("date", "max")
    )
    idx = period_index(pd.DatetimeIndex(dates), freq)
    pos = {int(p): i for i, p in enumerate(idx)}
    runs = runs.sort_values("last")  # a period in several runs takes the latest-ending one
    for r in runs.itertuples(index=False):
        before = runs.loc[(runs["event"] == r.event)
                          & (runs["last"] <= r.last - pd.Timedelta(days=330))
                          & (runs["last"] >= r.last - pd.Timedelta(days=400)), "last"]  # fmt: skip
        if before.empty:
            continue
        shift = pd.Timedelta(days=(r.last - before.max()).days)
        lo, hi = period_index(pd.DatetimeIndex([r.first, r.last]), freq)
        last_day = pd.Timedelta(days=_step(freq) - 1)
        for p in range(int(lo), int(hi) + 1):
            i = pos.get(p)
            if i is not None:
                # a day of the run inside the period, moved back to last year's run
                day = min(period_date(p, freq)[0] + last_day, r.last)
                out[i] = p - int(period_index(pd.DatetimeIndex([day - shift]), freq)[0])
    return out
