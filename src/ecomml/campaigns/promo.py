"""What a past promotion earned: actual sales against a counterfactual forecast.

The counterfactual is the demand forecaster trained as if the promotion had never been
on the calendar: it sees the sales before the promotion only, every earlier run of the
same event is masked out of that history (its periods interpolated from the periods
around them, so last year's spike does not come back through the yearly lag), and the
event is removed from the calendar it is told about. The difference between what sold
and that forecast, per SKU and period, is the promotion's effect:

* **incremental** units, revenue and margin of the promoted SKUs in the promotion's
  periods;
* **pull-forward**: the same difference in the ``post_periods`` after it (shoppers who
  stocked up buy less afterwards; usually negative);
* **cannibalisation**: the difference for the other SKUs of the promoted categories over
  the promotion and post periods (when only some SKUs or categories were promoted);
* **net** = incremental + pull-forward + cannibalisation, and
  ``roi = (net incremental margin - fixed cost) / (discount given + fixed cost)``: the
  return on what the promotion cost, -1 when it sold nothing extra.

Intervals come from sampled counterfactual paths: each SKU-period is drawn from its
forecast quantiles (:func:`~ecomml.forecasting.paths.draw_paths`) and every path is
scaled by one shared factor (:func:`~ecomml.forecasting.paths.shock`) whose size is the
forecaster's error on the shop's total in ``placebos`` promotion-free windows before the
promotion, each forecast by a model fitted at its own start (the aggregate error that
independent per-SKU draws would miss); its sd is drawn per path from the spread's sampling
distribution (scaled inverse chi-square), since a few windows do not pin it down. Those windows' mean error also corrects the
counterfactual's level: a forecaster that trails a growing shop by 6 % before the
promotion would otherwise credit those 6 % to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ecomml._validation import check_cutoff
from ecomml.data.shop import by_sku
from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.forecasting.auto import reads_calendar
from ecomml.forecasting.panel import (
    check_freq,
    panel_from_transactions,
    period_date,
    period_index,
    period_start,
)
from ecomml.forecasting.paths import draw_paths, quantile_variance, shock
from ecomml.metrics.forecast import QUANTILE_COLUMNS
from ecomml.task import Say, quiet

__all__ = ["PROMO_COLUMNS", "PromoResult", "PromoWindow", "promo_windows", "promotion_effect"]

_Q = list(QUANTILE_COLUMNS)

#: the columns of a promotion's summary row (``ecomml promo --output``), in order
PROMO_COLUMNS = [
    "event",
    "start",
    "end",
    "promo_periods",
    "post_periods",
    "skus",
    "other_skus",
    "new_skus",
    "new_sku_units",
    "actual_units",
    "counterfactual_units",
    "incremental_units",
    "incremental_units_low",
    "incremental_units_high",
    "pull_forward_units",
    "cannibalised_units",
    "net_incremental_units",
    "net_incremental_units_low",
    "net_incremental_units_high",
    "incremental_revenue",
    "net_incremental_revenue",
    "net_incremental_revenue_low",
    "net_incremental_revenue_high",
    "net_incremental_margin",
    "net_incremental_margin_low",
    "net_incremental_margin_high",
    "roi",
    "roi_low",
    "roi_high",
    "actual_revenue",
    "counterfactual_revenue",
    "discount_given",
    "fixed_cost",
    "promotion_cost",
    "placebo_windows",
    "placebo_error",
    "level_correction",
    "shared_error_sd",
    "model",
    "freq",
]
_MIN_HISTORY = {"W": 26, "D": 182}


@dataclass(frozen=True)
class PromoWindow:
    """One run of a promotion: its event name and first and last day (inclusive)."""

    event: str
    start: pd.Timestamp
    end: pd.Timestamp


@dataclass
class PromoResult:
    """A promotion's effect: ``summary`` (one row), ``skus`` (one row per SKU),
    ``categories`` (one row per category, all its SKUs over the promotion and post
    periods) and ``periods`` (the promoted SKUs'
    total per period: actual, counterfactual and its interval, for the plot)."""

    window: PromoWindow
    summary: pd.DataFrame
    skus: pd.DataFrame
    categories: pd.DataFrame
    periods: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    placebo_errors: list[float] = field(default_factory=list)


def _runs(calendar: pd.DataFrame, event: str) -> list[PromoWindow]:
    days = pd.DatetimeIndex(
        pd.to_datetime(calendar.loc[calendar["event"].astype(str) == event, "date"])
    ).normalize()
    days = days.unique().sort_values()
    if not len(days):
        return []
    breaks = np.flatnonzero(np.diff(days.asi8) != pd.Timedelta(days=1).value) + 1
    return [PromoWindow(event, run[0], run[-1]) for run in np.split(days, breaks)]


def promo_windows(
    calendar: pd.DataFrame, event: str, *, year: int | None = None
) -> list[PromoWindow]:
    """The runs of ``event`` in a canonical calendar (``date, event, is_promo``), oldest
    first; with ``year`` only the run that starts in that year."""
    runs = _runs(calendar, event)
    if not runs:
        known = sorted(set(calendar["event"].astype(str)))
        raise ConfigError(f"--event {event!r} is not in the calendar; its events are {known}")
    if year is not None:
        runs = [r for r in runs if r.start.year == int(year)]
        if not runs:
            raise ConfigError(f"--event {event!r} has no run starting in {year}")
    return runs


def _period_grid(window: PromoWindow, freq: str) -> tuple[pd.Timestamp, int]:
    """The first period of the promotion and its number of periods."""
    first = period_start(window.start, freq)
    n = int(period_index(pd.DatetimeIndex([period_start(window.end, freq)]), freq)[0])
    n -= int(period_index(pd.DatetimeIndex([first]), freq)[0])
    return first, n + 1


def _mask_runs(
    panel: pd.DataFrame, runs: list[PromoWindow], freq: str, post: int
) -> tuple[pd.DataFrame, int]:
    """``panel`` with the periods of ``runs`` (and ``post`` periods after each) replaced
    by a linear interpolation of each SKU's periods around them; also the number of
    periods masked."""
    if panel.empty or not runs:
        return panel, 0
    idx = period_index(pd.DatetimeIndex(panel["ds"]), freq)
    masked = np.zeros(len(panel), dtype=bool)
    n_masked = 0
    for r in runs:
        first, n = _period_grid(r, freq)
        lo = int(period_index(pd.DatetimeIndex([first]), freq)[0])
        masked |= (idx >= lo) & (idx < lo + n + post)
        n_masked += n + post
    if not masked.any():
        return panel, 0
    out = panel.copy()
    wide = out.assign(y=out["y"].where(~masked)).pivot(index="sku", columns="ds", values="y")
    exists = out.assign(one=1.0).pivot(index="sku", columns="ds", values="one").notna()
    filled = wide.interpolate(axis=1, limit_area="inside").bfill(axis=1).ffill(axis=1)
    filled = filled.where(exists)
    long = filled.stack().rename("y_filled").reset_index()
    out = out.merge(long, on=["sku", "ds"], how="left")
    out["y"] = np.where(masked, out["y_filled"].fillna(0.0), out["y"])
    return out.drop(columns="y_filled"), n_masked


@dataclass
class _Setup:
    """Everything one counterfactual forecast needs."""

    tx: pd.DataFrame
    history: pd.DataFrame  # the sales panel before the promotion, built once
    new_skus: pd.DataFrame | None  # catalog SKUs forecast without history
    calendar: pd.DataFrame  # without the promotion
    past_runs: list[PromoWindow]
    freq: str
    make_model: Any
    post: int


def _forecast(setup: _Setup, origin: pd.Timestamp, h: int) -> pd.DataFrame:
    """The counterfactual forecast of ``h`` periods from ``origin`` by a model fitted on
    the masked history before it."""
    # the panel before the promotion, cut at ``origin``: what panel_from_transactions(tx,
    # origin) would build (complete periods, each SKU from its first sale)
    panel = setup.history.loc[setup.history["ds"] < origin].reset_index(drop=True)
    if panel.empty:
        raise DataQualityError(f"no complete period with sales before {origin.date()}")
    panel, _ = _mask_runs(panel, setup.past_runs, setup.freq, setup.post)
    model = setup.make_model(h)
    kw = {"calendar": setup.calendar} if reads_calendar(model) else {}
    model.fit(panel, **kw)
    return model.predict(panel, start=origin, calendar=setup.calendar, new_skus=setup.new_skus)


def _actuals(tx: pd.DataFrame, first: pd.Timestamp, h: int, freq: str) -> pd.DataFrame:
    """Units, revenue and the cost basis per SKU and period offset ``t`` (sales only)."""
    end = period_date(period_index(pd.DatetimeIndex([first]), freq) + h, freq)[0]
    s = tx.loc[(tx["ts"] >= first) & (tx["ts"] < end) & (tx["quantity"] > 0)]
    t = (
        period_index(pd.DatetimeIndex(s["ts"]), freq)
        - period_index(pd.DatetimeIndex([first]), freq)[0]
    )
    out = pd.DataFrame(
        {
            "sku": s["sku"].astype(str).to_numpy(),
            "t": t,
            "units": s["quantity"].to_numpy(),
            "revenue": (s["quantity"] * s["price"]).to_numpy(),
        }  # fmt: skip
    )
    return out.groupby(["sku", "t"], as_index=False)[["units", "revenue"]].sum()


def _regular_prices(
    tx: pd.DataFrame, first: pd.Timestamp, catalog: pd.DataFrame | None
) -> pd.Series:
    """Each SKU's regular price: the median unit price paid over the 8 weeks (56 days)
    before the promotion, else the catalog's list price."""
    span = pd.Timedelta(weeks=8)
    s = tx.loc[(tx["ts"] >= first - span) & (tx["ts"] < first) & (tx["quantity"] > 0)]
    paid = s.groupby(s["sku"].astype(str))["price"].median()
    listed = by_sku(catalog, "price")
    return paid if listed is None else paid.combine_first(listed.astype(float))


def _unit_costs(
    catalog: pd.DataFrame | None, prices: pd.Series, margin_rate: float | None
) -> pd.Series:
    """Unit cost per SKU: the catalog's ``cost``, else ``price x (1 - margin_rate)``,
    else NaN (margins then cannot be computed)."""
    cost = pd.Series(np.nan, index=prices.index, dtype=float)
    listed = by_sku(catalog, "cost")
    if listed is not None:
        cost = listed.astype(float).reindex(prices.index.union(listed.index))
    if margin_rate is not None:
        fill = prices * (1.0 - float(margin_rate))
        cost = cost.combine_first(fill) if len(cost) else fill
    return cost


def _placebo_shock(
    setup: _Setup, first: pd.Timestamp, h: int, skus: np.ndarray, n: int,
    calendar_all: pd.DataFrame, say: Say,
) -> tuple[float, float, float, list[float]]:  # fmt: skip
    """The forecaster's relative error on the total of ``skus`` over promotion-free
    windows of ``h`` periods before ``first``: its mean, each window weighing half the
    one after it (the bias the counterfactual is corrected by), the sd of the shared factor (the errors' spread beyond what independent
    draws explain, widened for estimating the mean from few windows), its degrees of
    freedom and each error."""
    if n <= 0:
        return 0.0, 0.0, 0.0, []
    f = setup.freq
    promo_days = pd.DatetimeIndex(
        pd.to_datetime(calendar_all.loc[calendar_all["is_promo"].astype(bool), "date"])
    ).normalize()
    promo_p = set(period_index(promo_days, f).tolist()) if len(promo_days) else set()
    for r in setup.past_runs:  # a masked run's periods are no test of the forecaster
        p0, k = _period_grid(r, f)
        lo = int(period_index(pd.DatetimeIndex([p0]), f)[0])
        promo_p.update(range(lo, lo + k + setup.post))
    first_i = int(period_index(pd.DatetimeIndex([first]), f)[0])
    data_first = int(period_index(pd.DatetimeIndex([setup.tx["ts"].min()]), f)[0])
    errors: list[float] = []
    noise: list[float] = []
    o = first_i - h
    while len(errors) < n and o - data_first >= _MIN_HISTORY[f]:
        if promo_p.intersection(range(o, o + h)):
            o -= 1
            continue
        origin = period_date(np.array([o]), f)[0]
        say(f"placebo window from {origin.date()}: forecasting without the promotion")
        fc = _forecast(setup, origin, h)
        fc = fc.loc[fc["sku"].astype(str).isin(set(skus))]
        act = _actuals(setup.tx, origin, h, f)
        a = float(act.loc[act["sku"].isin(set(skus)), "units"].sum())
        m = float(fc["mean"].sum())
        if m > 0:
            errors.append((a - m) / m)
            noise.append(float(quantile_variance(fc[_Q].to_numpy()).sum()) / (m * m))
        o -= h
    if not errors:
        return 0.0, 0.0, 0.0, errors
    e = np.asarray(errors)
    if e.size == 1:
        return float(e[0]), float(abs(e[0])), 1.0, errors
    w = 0.5 ** np.arange(e.size)  # the bias drifts: the nearest window counts most
    w /= w.sum()
    bias = float(w @ e)
    n_eff = 1.0 / float(w @ w)
    var = float(w @ (e - bias) ** 2) * n_eff / (n_eff - 1.0) - float(np.mean(noise))
    sd = float(np.sqrt(max(var, 0.0) * (1.0 + 1.0 / n_eff)))
    return bias, sd, max(n_eff - 1.0, 1.0), errors


def _shared_factor(rng: np.random.Generator, sd: float, dof: float, n: int) -> np.ndarray:
    """Mean-one factors whose relative sd is ``sd`` estimated with ``dof`` degrees of
    freedom: each path draws its own sd (scaled inverse chi-square), so the factor's
    spread is Student-t-like and a sd estimated from four windows is not trusted as if
    known."""
    if sd <= 0 or dof <= 0:
        return shock(rng, 0.0, n)
    s = sd * np.minimum(np.sqrt(dof / rng.chisquare(dof, n)), 10.0)
    s2 = np.log1p(s * s)
    return np.exp(rng.normal(-s2 / 2, np.sqrt(s2)))


def _arrays(
    fc: pd.DataFrame, skus: np.ndarray, first: pd.Timestamp, h: int, freq: str
) -> tuple[np.ndarray, np.ndarray]:
    """Forecast means ``(skus, h)`` and quantiles ``(skus, h, 7)`` aligned to ``skus``
    (zero where a SKU has no forecast)."""
    mean = np.zeros((len(skus), h))
    q = np.zeros((len(skus), h, len(_Q)))
    pos = pd.Index(skus).get_indexer(fc["sku"].astype(str))
    t = (
        period_index(pd.DatetimeIndex(fc["ds"]), freq)
        - period_index(pd.DatetimeIndex([first]), freq)[0]
    )
    ok = (pos >= 0) & (t >= 0) & (t < h)
    mean[pos[ok], t[ok]] = fc["mean"].to_numpy(dtype=float)[ok]
    q[pos[ok], t[ok]] = fc[_Q].to_numpy(dtype=float)[ok]
    return mean, q


def promotion_effect(
    transactions: pd.DataFrame,
    window: PromoWindow,
    *,
    catalog: pd.DataFrame | None = None,
    calendar: pd.DataFrame | None = None,
    skus: list[str] | None = None,
    categories: list[str] | None = None,
    freq: str = "W",
    post_periods: int = 2,
    placebos: int = 4,
    bias_correct: bool = True,
    min_history: int | None = None,
    model: str = "lgbm",
    model_params: dict[str, Any] | None = None,
    fixed_cost: float = 0.0,
    margin_rate: float | None = None,
    interval: float = 0.9,
    n_paths: int = 1000,
    random_state: int = 0,
    progress: Say = quiet,
) -> PromoResult:
    """Incremental units, revenue and margin of one promotion run, net of pull-forward and
    cannibalisation, with intervals, and its ROI (see the module docstring).

    Parameters
    ----------
    transactions, catalog, calendar
        Canonical tables; the calendar (default: the built-in one) names the event's
        other runs, which are masked from the counterfactual's history.
    window
        The promotion run (:func:`promo_windows`); ``event="custom"`` for dates only.
    skus, categories
        The promoted SKUs (default: all). The other SKUs of their categories are the
        cannibalisation group.
    freq, post_periods
        Period (``"W"`` or ``"D"``) and how many periods after the promotion count for
        pull-forward (fewer when the data ends sooner; noted).
    placebos, bias_correct
        Promotion-free windows before the promotion, each forecast from its own start:
        their recency-weighted mean error corrects the counterfactual's level (``bias_correct``) and their
        spread sizes the shared error factor of the paths.
    min_history
        Periods a SKU must have sold for before the promotion to be judged (default 8
        weeks or 56 days): a SKU launched later has no counterfactual worth the name, so
        its sales are reported (``new_skus``, ``new_sku_units``) but not counted.
    model, model_params
        The counterfactual forecaster (:func:`~ecomml.forecasting.make_forecaster`). The
        LightGBM forecaster runs without its TSB blend (``blend_tsb=0`` unless given):
        the blend's slow smoother trails a growing shop (0.90 of the true demand over 8
        weeks on the synthetic shop against 0.99 without it), which a forecast of one
        SKU hardly notices and a promotion's total does.
    fixed_cost
        The promotion's cost besides its discounts (fees, ads), in money.
    margin_rate
        Margin share of the regular price for SKUs without a catalog ``cost``.
    interval, n_paths, random_state
        Interval coverage, sampled paths, seed.
    """
    from ecomml.data.calendar import promo_calendar
    from ecomml.forecasting.auto import make_forecaster

    f = check_freq(freq)
    if not 0 < float(interval) < 1:
        raise ConfigError(f"--interval must be between 0 and 1, got {interval}")
    if int(post_periods) < 0 or int(placebos) < 0 or int(n_paths) < 50:
        raise ConfigError("--post-periods and --placebos must be >= 0 and --paths >= 50")
    if fixed_cost < 0:
        raise ConfigError(f"--fixed-cost must be >= 0, got {fixed_cost}")
    if margin_rate is not None and not 0 <= float(margin_rate) < 1:
        raise ConfigError(f"--margin-rate must be in [0, 1), got {margin_rate}")
    tx = transactions
    t_min, t_max = pd.Timestamp(tx["ts"].min()), pd.Timestamp(tx["ts"].max())
    if calendar is None or calendar.empty:
        calendar = promo_calendar(t_min.normalize(), t_max.normalize() + pd.Timedelta(days=400))
    first, n_promo = _period_grid(window, f)
    post = int(post_periods)
    notes: list[str] = []
    # the data must cover the promotion; the post window shrinks to what the data covers
    end_data = check_cutoff(t_max.normalize() + pd.Timedelta(days=1))
    last_complete = period_index(pd.DatetimeIndex([end_data]), f)[0] - (
        0 if period_start(end_data, f) == end_data else 1
    )
    first_i = int(period_index(pd.DatetimeIndex([first]), f)[0])
    covered = int(last_complete) - first_i
    if covered < n_promo:
        raise DataQualityError(
            f"the promotion {window.event} {window.start.date()}..{window.end.date()} is not "
            f"complete in the data (last sale {t_max.date()}): its last period has not ended"
        )
    if covered < n_promo + post:
        notes.append(
            f"post window cut to {covered - n_promo} of {post} periods: the data ends "
            f"{t_max.date()}"
        )
        post = covered - n_promo
    h = n_promo + post
    if first_i - int(period_index(pd.DatetimeIndex([t_min]), f)[0]) < _MIN_HISTORY[f]:
        raise DataQualityError(
            f"the promotion starts {window.start.date()}, {_MIN_HISTORY[f]} "
            f"{'weeks' if f == 'W' else 'days'} of sales before it are needed (the data "
            f"starts {t_min.date()})"
        )

    def make(hh: int) -> Any:
        try:
            params = dict(model_params or {})
            if model == "lgbm":
                params.setdefault("blend_tsb", 0.0)
            est = make_forecaster(model, freq=f, horizon=hh, **params)
            est._check_params()
        except ConfigError as e:
            raise ConfigError(
                f"the promotion and its post window span {hh} periods: {e} (use fewer "
                f"--post-periods, or --freq W for a long promotion)"
            ) from e
        return est

    cal_cf = calendar.loc[calendar["event"].astype(str) != window.event]
    if window.event == "custom":
        inside = (pd.to_datetime(cal_cf["date"]) >= window.start) & (
            pd.to_datetime(cal_cf["date"]) <= window.end
        )
        cal_cf = cal_cf.loc[~(inside & cal_cf["is_promo"].astype(bool))]
    past = [r for r in _runs(calendar, window.event) if r.end < first]
    new_skus = None
    if catalog is not None and "sku" in catalog.columns:
        cols = [c for c in ("sku", "category") if c in catalog.columns]
        new_skus = catalog[cols].drop_duplicates("sku")
    history = panel_from_transactions(tx, first, f, catalog=catalog)
    setup = _Setup(tx, history, new_skus, cal_cf, past, f, make, post)

    # who was promoted, and who could be cannibalised
    cat_of = _category_map(tx, catalog)
    sold = pd.Index(pd.unique(tx["sku"].astype(str)))
    if skus:
        scope = pd.Index(sorted(set(map(str, skus))))
        unknown = scope.difference(sold)
        if len(unknown):
            raise DataQualityError(
                f"--skus: {len(unknown)} SKUs never sold, e.g. {list(unknown[:3])}"
            )
    elif categories:
        want = set(map(str, categories))
        unknown_c = want - set(cat_of.unique())
        if unknown_c:
            raise DataQualityError(
                f"--category: {sorted(unknown_c)} not in the catalog's categories "
                f"{sorted(set(cat_of.unique()))[:10]}"
            )
        scope = pd.Index(sorted(cat_of.index[cat_of.isin(want)]))
    else:
        scope = pd.Index(sorted(sold))
    hist = (8 if f == "W" else 56) if min_history is None else int(min_history)
    if hist < 0:
        raise ConfigError(f"--min-history must be >= 0, got {min_history}")
    first_sale = tx.loc[tx["quantity"] > 0].groupby(tx["sku"].astype(str))["ts"].min()
    since = first - (pd.Timedelta(weeks=hist) if f == "W" else pd.Timedelta(days=hist))
    established = pd.Index(first_sale.index[first_sale < since])
    new_scope = scope.intersection(sold).difference(established)  # catalog-only SKUs: silent
    scope = scope.intersection(established)
    if not len(scope):
        raise DataQualityError(
            f"every promoted SKU first sold less than {hist} periods before the promotion "
            f"({since.date()}): there is no history to build its counterfactual on"
        )
    scope_cats = set(cat_of.reindex(scope).dropna())
    others = pd.Index(
        sorted(cat_of.index[cat_of.isin(scope_cats)].intersection(established).difference(scope))
    )
    if not (skus or categories):
        notes.append("every SKU was promoted: cannibalisation is inside the net effect")
        others = pd.Index([])

    progress(
        f"forecasting {h} {'weeks' if f == 'W' else 'days'} from {first.date()} as if "
        f"{window.event} had not run ({len(past)} earlier run(s) masked)"
    )
    fc = _forecast(setup, first, h)
    every = scope.append(others)
    mean, q = _arrays(fc, np.asarray(every), first, h, f)
    bias, sd, dof, errors = _placebo_shock(setup, first, h, np.asarray(scope), int(placebos),
                                      calendar, progress)  # fmt: skip
    if bias_correct and errors:
        mean *= 1.0 + bias
        q *= 1.0 + bias
    else:
        bias = 0.0
    if int(placebos) and not errors:
        notes.append("no promotion-free placebo window with enough history: the interval "
                     "holds the per-SKU noise only")  # fmt: skip

    act = _actuals(tx, first, h, f)
    is_new = act["sku"].isin(set(new_scope)) & (act["t"] < n_promo)
    new_units = float(act.loc[is_new, "units"].sum())
    if len(new_scope):
        notes.append(
            f"{len(new_scope)} promoted SKUs first sold after {since.date()} (--min-history "
            f"{hist}): their {new_units:,.0f} units in the promotion are not counted"
        )
    A = np.zeros((len(every), h))
    R = np.zeros((len(every), h))
    pos = pd.Index(every).get_indexer(act["sku"])
    ok = pos >= 0
    A[pos[ok], act["t"].to_numpy()[ok]] = act["units"].to_numpy()[ok]
    R[pos[ok], act["t"].to_numpy()[ok]] = act["revenue"].to_numpy()[ok]
    reg = _regular_prices(tx, first, catalog).reindex(every)
    paid_avg = pd.Series(
        np.divide(R.sum(1), A.sum(1), out=np.full(len(every), np.nan), where=A.sum(1) > 0),
        index=every,
    )
    reg = reg.fillna(paid_avg).fillna(0.0).to_numpy()
    cost = _unit_costs(catalog, pd.Series(reg, index=every), margin_rate).reindex(every)
    cost = cost.to_numpy(dtype=float)
    in_scope = np.arange(len(every)) < len(scope)
    promo_t = np.arange(h) < n_promo
    margin_a = R - A * cost[:, None]
    disc = np.maximum(reg[:, None] * A - R, 0.0)[in_scope][:, promo_t].sum()

    # sampled counterfactual paths (n, SKUs, h), in chunks of SKUs
    rng = np.random.default_rng(random_state)
    n = int(n_paths)
    factor = _shared_factor(rng, sd, dof, n)
    groups = {"promo": (in_scope, promo_t), "post": (in_scope, ~promo_t),
              "other": (~in_scope, np.ones(h, dtype=bool))}  # fmt: skip
    tot = {g: np.zeros((n, 3)) for g in groups}  # units, revenue, margin per path
    per_t = np.zeros((n, h))
    sku_paths = np.zeros((len(every), 2))  # low, high of the SKU's promo-period increment
    cats = cat_of.reindex(every).fillna("unknown").to_numpy()
    cat_names, cat_code = np.unique(cats, return_inverse=True)
    cat_tot = np.zeros((n, len(cat_names)))
    lo_q, hi_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    chunk = max(1, 2_000_000 // max(n * h, 1))
    for s0 in range(0, len(every), chunk):
        sl = slice(s0, s0 + chunk)
        rows = q[sl].reshape(-1, len(_Q))
        d = draw_paths(rows, mean[sl].ravel(), rng, n).reshape(n, -1, h)
        d *= factor[:, None, None]
        price = reg[sl][None, :, None]
        unit_margin = (reg[sl] - np.nan_to_num(cost[sl], nan=0.0))[None, :, None]
        for g, (who, when) in groups.items():
            w = who[sl]
            if not w.any():
                continue
            dd = d[:, w][:, :, when]
            tot[g][:, 0] += dd.sum(axis=(1, 2))
            tot[g][:, 1] += (dd * price[:, w]).sum(axis=(1, 2))
            tot[g][:, 2] += (dd * unit_margin[:, w]).sum(axis=(1, 2))
        w = in_scope[sl]
        per_t += d[:, w].sum(axis=1)
        promo_sum = d[:, :, promo_t].sum(axis=2)  # (n, chunk)
        inc = A[sl][:, promo_t].sum(1)[None, :] - promo_sum
        sku_paths[sl, 0] = np.quantile(inc, lo_q, axis=0)
        sku_paths[sl, 1] = np.quantile(inc, hi_q, axis=0)
        np.add.at(cat_tot.T, cat_code[sl], (A[sl].sum(1)[None, :] - d.sum(axis=2)).T)

    def actual(g: str) -> np.ndarray:
        who, when = groups[g]
        a = A[who][:, when].sum()
        r = R[who][:, when].sum()
        return np.array([a, r, margin_a[who][:, when].sum()])

    def expected(g: str) -> np.ndarray:
        """The counterfactual's own totals (units, revenue, margin): the point estimate."""
        who, when = groups[g]
        m = mean[who][:, when].sum(axis=1)
        margin = np.nan_to_num(reg[who] - cost[who], nan=0.0)
        return np.array([m.sum(), (m * reg[who]).sum(), (m * margin).sum()])

    diff = {g: actual(g)[None, :] - tot[g] for g in groups}  # (n, 3) per group: the paths
    net = diff["promo"] + diff["post"] + diff["other"]
    point = {g: actual(g) - expected(g) for g in groups}
    point_net = point["promo"] + point["post"] + point["other"]
    has_cost = bool(np.isfinite(cost[in_scope]).all())
    if not has_cost:
        notes.append("no unit cost for some promoted SKUs (catalog cost or --margin-rate): "
                     "margins and ROI are missing")  # fmt: skip
    spend = disc + float(fixed_cost)
    roi = (net[:, 2] - float(fixed_cost)) / spend if spend > 0 else np.full(n, np.nan)
    roi_point = (point_net[2] - float(fixed_cost)) / spend if spend > 0 else np.nan

    row: dict[str, Any] = {
        "event": window.event, "start": window.start, "end": window.end,
        "promo_periods": n_promo, "post_periods": post, "skus": len(scope),
        "other_skus": len(others), "new_skus": len(new_scope), "new_sku_units": new_units,
        "actual_units": float(actual("promo")[0]),
        "counterfactual_units": float(expected("promo")[0]),
    }  # fmt: skip
    for name, m, x in (("incremental_units", point["promo"][0], diff["promo"][:, 0]),
                       ("pull_forward_units", point["post"][0], diff["post"][:, 0]),
                       ("cannibalised_units", point["other"][0], diff["other"][:, 0]),
                       ("net_incremental_units", point_net[0], net[:, 0]),
                       ("incremental_revenue", point["promo"][1], diff["promo"][:, 1]),
                       ("net_incremental_revenue", point_net[1], net[:, 1]),
                       ("net_incremental_margin", point_net[2], net[:, 2]),
                       ("roi", roi_point, roi)):  # fmt: skip
        m, lo, hi = float(m), float(np.quantile(x, lo_q)), float(np.quantile(x, hi_q))
        if name in ("net_incremental_margin", "roi") and not has_cost:
            m = lo = hi = float("nan")
        row[name] = m
        if name not in ("pull_forward_units", "cannibalised_units", "incremental_revenue"):
            row[f"{name}_low"], row[f"{name}_high"] = lo, hi
    row.update(
        actual_revenue=float(actual("promo")[1]),
        counterfactual_revenue=float(expected("promo")[1]),
        discount_given=float(disc), fixed_cost=float(fixed_cost), promotion_cost=float(spend),
        placebo_windows=len(errors),
        placebo_error=float(np.sqrt(np.mean(np.square(errors)))) if errors else float("nan"),
        level_correction=bias, shared_error_sd=sd, model=model, freq=f,
    )  # fmt: skip
    summary = pd.DataFrame([row])[PROMO_COLUMNS]

    cf_promo = mean[:, promo_t].sum(1)
    sk = pd.DataFrame(
        {
            "sku": np.asarray(every),
            "category": cats,
            "group": np.where(in_scope, "promoted", "other"),
            "actual_units": A[:, promo_t].sum(1),
            "counterfactual_units": cf_promo,
            "incremental_units": A[:, promo_t].sum(1) - cf_promo,
            "incremental_units_low": sku_paths[:, 0],
            "incremental_units_high": sku_paths[:, 1],
            "post_units_change": A[:, ~promo_t].sum(1) - mean[:, ~promo_t].sum(1),
            "actual_revenue": R[:, promo_t].sum(1),
            "counterfactual_revenue": cf_promo * reg,
            "regular_price": reg,
            "avg_paid_price": paid_avg.to_numpy(),
            "unit_cost": cost,
        }  # fmt: skip
    )
    sk["incremental_revenue"] = sk["actual_revenue"] - sk["counterfactual_revenue"]
    sk["incremental_margin"] = margin_a[:, promo_t].sum(1) - cf_promo * (reg - cost)
    sk["discount_given"] = np.where(
        in_scope, np.maximum(reg[:, None] * A - R, 0.0)[:, promo_t].sum(1), 0.0
    )
    sk = sk.sort_values("incremental_units", ascending=False, kind="mergesort")
    cols = [
        "actual_units",
        "counterfactual_units",
        "incremental_units",
        "post_units_change",
        "actual_revenue",
        "counterfactual_revenue",
        "incremental_revenue",
        "discount_given",
    ]
    ct = sk.groupby("category", as_index=False)[cols].sum()
    ct.insert(1, "skus", sk.groupby("category").size().to_numpy())
    ct.insert(
        2,
        "promoted_skus",
        sk.groupby("category")["group"].apply(lambda g: int((g == "promoted").sum())).to_numpy(),
    )
    ct["net_units_change"] = ct["incremental_units"] + ct["post_units_change"]
    code = pd.Index(cat_names).get_indexer(ct["category"])
    ct["net_units_change_low"] = np.quantile(cat_tot, lo_q, axis=0)[code]
    ct["net_units_change_high"] = np.quantile(cat_tot, hi_q, axis=0)[code]
    dates = period_date(np.arange(h) + first_i, f)
    periods = pd.DataFrame(
        {
            "ds": dates,
            "in_promotion": promo_t,
            "actual_units": A[in_scope].sum(0),
            "counterfactual_units": mean[in_scope].sum(0),
            "counterfactual_low": np.quantile(per_t, lo_q, axis=0),
            "counterfactual_high": np.quantile(per_t, hi_q, axis=0),
        }  # fmt: skip
    )
    return PromoResult(window, summary, sk.reset_index(drop=True), ct, periods, notes, errors)


def _category_map(tx: pd.DataFrame, catalog: pd.DataFrame | None) -> pd.Series:
    """Category per SKU: the catalog's, else the transactions', else ``unknown``."""
    skus = pd.Index(pd.unique(tx["sku"].astype(str)))
    out = pd.Series("unknown", index=skus, dtype=object)
    if "category" in tx.columns:
        t = tx.dropna(subset=["category"]).drop_duplicates("sku", keep="last")
        out.update(pd.Series(t["category"].astype(str).to_numpy(), index=t["sku"].astype(str)))
    if catalog is not None and {"sku", "category"} <= set(catalog.columns):
        c = catalog.dropna(subset=["category"]).drop_duplicates("sku", keep="last")
        cat = pd.Series(c["category"].astype(str).to_numpy(), index=c["sku"].astype(str))
        out.update(cat)
        out = pd.concat([out, cat[~cat.index.isin(out.index)]])
    return out
