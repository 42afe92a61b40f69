"""The shop "world" behind :mod:`ecomml.data.synth`: calendar, SKUs and their daily weights.

Everything here is independent of the customers: the promotion calendar and the
shop-wide daily multipliers (weekly, yearly, promotions, per customer segment), the
catalogue (categories, prices, margins, bundles, launches, discontinuations, lumpy
lot sizes) and the per SKU-day choice weights that customers draw their baskets from.
The arrays are (days x SKUs) and are built once per shop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ecomml._validation import check_frame

__all__: list[str] = []  # private module

#: Customer segments: name, share of customers, promotion sensitivity (exponent on the
#: promotion lift), loyalty Beta(a, b) and mean extra anchors per order.
SEGMENTS: tuple[tuple[str, float, float, tuple[float, float], float], ...] = (
    ("regular", 0.60, 1.0, (2.0, 3.0), 0.8),
    ("deal_seeker", 0.25, 1.8, (1.0, 4.0), 0.6),
    ("loyal", 0.15, 0.5, (4.0, 2.0), 1.1),
)

REGIONS: tuple[str, ...] = ("east", "north", "south", "west", "central")
REGION_SHARES = np.array([0.32, 0.22, 0.24, 0.12, 0.10])
CHANNELS: tuple[str, ...] = ("app", "web", "mini-program")
CHANNEL_SHARES = np.array([0.55, 0.20, 0.25])

#: Category name, typical list price, seasonal peak (day of year).
_CATEGORIES: tuple[tuple[str, float, int], ...] = (
    ("apparel", 45.0, 300),
    ("beauty", 28.0, 320),
    ("electronics", 180.0, 330),
    ("home", 35.0, 60),
    ("grocery", 9.0, 20),
    ("sports", 55.0, 160),
    ("toys", 25.0, 350),
    ("books", 15.0, 240),
    ("pet", 18.0, 100),
    ("baby", 30.0, 90),
    ("jewelry", 120.0, 40),
    ("outdoor", 70.0, 180),
    ("kitchen", 32.0, 330),
    ("office", 12.0, 245),
    ("health", 22.0, 15),
    ("garden", 27.0, 120),
)

#: Share of orders placed in each hour of the day (online shops peak in the evening).
_HOUR_WEIGHTS = np.array(
    [0.30, 0.20, 0.12, 0.08, 0.07, 0.10, 0.25, 0.50, 0.80, 1.00, 1.10, 1.20,
     1.30, 1.15, 1.05, 1.00, 1.00, 1.05, 1.20, 1.45, 1.70, 1.80, 1.50, 0.80]
)  # fmt: skip
_WEEKDAY = np.array([0.96, 0.95, 0.96, 0.98, 1.03, 1.07, 1.05])  # Monday .. Sunday


def search(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``np.searchsorted(a, v, side="right")``, with the queries sorted first.

    Sorted queries walk the (large) array in order, which is about ten times faster
    than random probes once ``a`` no longer fits in the CPU cache.
    """
    order = np.argsort(v)
    out = np.empty(v.size, dtype=np.intp)
    out[order] = np.searchsorted(a, v[order], side="right")
    return out


def category_names(n: int) -> list[str]:
    """The first ``n`` category names (generic names beyond the built-in list)."""
    names = [c[0] for c in _CATEGORIES[:n]]
    return names + [f"category_{i + 1:02d}" for i in range(len(names), n)]


# --------------------------------------------------------------------------- calendar


def builtin_promo_days(start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Promotion days the generator uses when ``ecomml.data.calendar`` is unavailable.

    618 (June 1-18, peak on the 18th), Double 11 (Nov 11), Black Friday and Cyber
    Monday, Double 12 (Dec 12) and the Christmas run-up (Dec 20-24), for every year
    touching ``[start, end)``.
    """
    rows: list[tuple[pd.Timestamp, str]] = []
    for year in range(start.year, end.year + 1):
        rows += [(pd.Timestamp(year, 6, d), "618") for d in range(1, 19)]
        rows.append((pd.Timestamp(year, 11, 11), "Double 11"))
        first = pd.Timestamp(year, 11, 1)
        black_friday = first + pd.Timedelta(days=(4 - first.weekday()) % 7 + 21)
        rows.append((black_friday, "Black Friday"))
        rows.append((black_friday + pd.Timedelta(days=3), "Cyber Monday"))
        rows.append((pd.Timestamp(year, 12, 12), "Double 12"))
        rows += [(pd.Timestamp(year, 12, d), "Christmas") for d in range(20, 25)]
    cal = pd.DataFrame(rows, columns=["date", "event"])
    cal = cal[(cal["date"] >= start) & (cal["date"] < end)]
    cal["is_promo"] = True
    return cal.sort_values("date", kind="stable").reset_index(drop=True)


def promo_calendar(start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The promotion calendar for ``[start, end)`` as ``date, event, is_promo``.

    Uses :func:`ecomml.data.calendar.promo_calendar` when it is importable, else
    :func:`builtin_promo_days`.
    """
    try:
        from ecomml.data.calendar import promo_calendar as shared_calendar
    except ImportError:
        cal = builtin_promo_days(start, end)
    else:
        cal = check_frame(
            shared_calendar(start, end),
            required=["date", "event", "is_promo"],
            name="promo calendar",
        )
    cal = cal.loc[:, ["date", "event", "is_promo"]].copy()
    cal["date"] = pd.to_datetime(cal["date"]).dt.normalize().astype("datetime64[ns]")
    cal = cal[(cal["date"] >= start) & (cal["date"] < end)]
    cal["event"] = cal["event"].astype("string")
    cal["is_promo"] = cal["is_promo"].astype(bool)
    return cal.sort_values(["date", "event"], kind="stable").reset_index(drop=True)


def _key(event: object) -> str:
    return "".join(ch for ch in str(event).lower() if ch.isalnum())


def _peak_multiplier(event: object) -> float:
    """Demand lift on the peak day of a promotion, by event name."""
    key = _key(event)
    if "618" in key:
        return 3.5
    if "11" in key or "singles" in key:
        return 4.5
    if "12" in key:
        return 2.2
    if "black" in key:
        return 2.0
    if "cyber" in key:
        return 1.6
    if "boxing" in key:
        return 1.6
    if "valentine" in key:
        return 1.4
    if "christmas" in key or "xmas" in key:
        return 1.4
    return 1.8


def _event_lift(event: object) -> float:
    """Demand lift on the days of a non-promotion event (seasonal peak or holiday)."""
    key = _key(event)
    if "shopping" in key:
        return 1.15
    if "christmas" in key or "xmas" in key or "springfestival" in key or "lunar" in key:
        return 0.6
    if "newyear" in key:
        return 0.85
    return 1.0


def promo_profile(
    cal: pd.DataFrame, start: pd.Timestamp, days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Daily demand lift and discount level implied by a promotion calendar.

    Each contiguous run of promotion days of one event peaks on its last day (its
    first for Black Friday) with a lift of 1.4-4.5 by event and discount level 1;
    the other days of the run lift demand by 1.25 at discount level 0.5. Before a big
    peak (lift >= 2) shoppers wait, so the three days before it dip (down to 0.69 of
    normal), and the day after keeps some of the lift. Non-promotion events lift
    (seasonal shopping weeks, 1.15) or lower (holidays, 0.6-0.85) demand without a
    discount.

    Returns
    -------
    lift, level : ndarray of shape (days,)
    """
    lift = np.ones(days)
    level = np.zeros(days)

    def day_runs(dates: pd.Series) -> list[np.ndarray]:
        idx = np.unique(((dates - start).dt.days).to_numpy())
        idx = idx[(idx >= 0) & (idx < days)]
        if idx.size == 0:
            return []
        return np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)

    for event, grp in cal[~cal["is_promo"]].groupby("event", sort=True):
        f = _event_lift(event)
        for run in day_runs(grp["date"]):
            lift[run] = np.maximum(lift[run], f) if f >= 1 else np.minimum(lift[run], f)
    peaks: list[tuple[int, float]] = []
    for event, grp in cal[cal["is_promo"]].groupby("event", sort=True):
        m = _peak_multiplier(event)
        for run in day_runs(grp["date"]):
            peak = int(run[0]) if "black" in _key(event) else int(run[-1])
            rest = run[run != peak]
            lift[rest] = np.maximum(lift[rest], 1.25)
            level[rest] = np.maximum(level[rest], 0.5)
            peaks.append((peak, m))
    is_peak = np.zeros(days, dtype=bool)
    for d, m in peaks:
        lift[d] = max(lift[d], m)
        level[d] = 1.0
        is_peak[d] = True
    for d, m in peaks:
        if m < 2.0:
            continue
        dip = float(np.clip(1.0 - 0.09 * (m - 1.0), 0.6, 0.95))
        for k in range(max(d - 3, 0), d):
            if not is_peak[k]:
                lift[k] = dip
        if d + 1 < days and not is_peak[d + 1]:
            lift[d + 1] = max(lift[d + 1], 1.0 + 0.1 * (m - 1.0))
    return lift, level


# ------------------------------------------------------------------------------ world


@dataclass
class World:
    """Everything customers need to place orders; arrays indexed by day and SKU."""

    start: pd.Timestamp
    days: int
    calendar: pd.DataFrame
    categories: list[str]
    # per SKU (sorted by category, then bundle group)
    sku_code: np.ndarray  # the number in the SKU id, a permutation of 0..K-1
    sku_cat: np.ndarray
    cat_start: np.ndarray  # (C+1,) offsets of each category's SKUs
    group: np.ndarray
    group_start: np.ndarray  # (n_groups+1,)
    list_price: np.ndarray
    cost: np.ndarray
    discount: np.ndarray
    attach: np.ndarray  # probability of being added when a bundle mate is bought
    lot_q: np.ndarray  # logarithmic-series parameter of the quantity per line
    launch_day: np.ndarray
    end_day: np.ndarray  # == days when never discontinued
    lumpy: np.ndarray
    popularity: np.ndarray
    cat_return_rate: np.ndarray
    # per day
    level: np.ndarray  # promotion discount level (0, 0.5 or 1)
    lift: np.ndarray
    g: np.ndarray  # (S, D) order-rate multiplier per segment, mean 1
    G: np.ndarray  # (S, D+1) its cumulative sum (the "warped" clock)
    acq_cdf: np.ndarray  # (D,) acquisition-day distribution
    hour_cdf: np.ndarray  # (25,) cumulative share of orders by hour
    # per day and SKU
    active: np.ndarray  # (D, K) bool
    share: np.ndarray  # (D, K) choice probability within the SKU's category
    cum: np.ndarray  # (D*K,) d*C + c + within-category cumulative share, for sampling
    cat_share: np.ndarray  # (C,) average share of demand per category
    # price response (``price_changes=True`` only)
    price_mult: np.ndarray | None = None  # (D, K) regular price / list price
    elasticity: np.ndarray | None = None  # (K,) exponent of price in the SKU's choice weight
    #: (K,) share of expected units that respond to the own price, x (1 - share); set
    #: when the truth is accumulated (TruthAccumulator.finalize)
    responsive: np.ndarray | None = None

    def unit_price(self, day: np.ndarray, sku: np.ndarray) -> np.ndarray:
        """The price paid for ``sku`` on ``day``: list price x regular price moves x
        (1 - promotion discount), in cents."""
        p = self.list_price[sku] * (1.0 - self.discount[sku] * self.level[day])
        if self.price_mult is not None:
            p = p * self.price_mult[day, sku]
        return np.round(p, 2)

    def own_elasticity(self) -> np.ndarray:
        """Elasticity of each SKU's expected units to its own price, other prices held,
        over the window: ``elasticity`` x the demand-weighted share of its units that are
        category picks (favourites and bundle mates do not look at the price) x (1 -
        its share of the category) (the choice weights are renormalised)."""
        if self.elasticity is None or self.responsive is None:
            raise ValueError("this world has no price response, or its truth is not accumulated")
        return np.asarray(self.elasticity * self.responsive)

    @property
    def n_skus(self) -> int:
        return int(self.sku_cat.size)

    @property
    def n_categories(self) -> int:
        return len(self.categories)

    @property
    def end(self) -> pd.Timestamp:
        return self.start + pd.Timedelta(days=self.days)

    def expected_quantity(self) -> np.ndarray:
        """Mean units per order line of each SKU (logarithmic-series mean)."""
        q = self.lot_q
        return np.asarray(-q / ((1.0 - q) * np.log1p(-q)))

    def hour_of_day(self, frac: np.ndarray) -> np.ndarray:
        """Map a uniform fraction of a day to a time of day following the hour profile."""
        return np.asarray(np.interp(frac, self.hour_cdf, np.arange(25.0)) / 24.0)

    def sample_skus(self, day: np.ndarray, cat: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Draw one SKU per (day, category) by inverse CDF of the within-category share."""
        k, c = self.n_skus, self.n_categories
        flat = search(self.cum, day * c + cat + u)
        base = day * k
        flat = np.clip(flat, base + self.cat_start[cat], base + self.cat_start[cat + 1] - 1)
        return np.asarray(flat - base)


def _sizes(rng: np.random.Generator, n: int, parts: int, minimum: int, conc: float) -> np.ndarray:
    """Random positive part sizes summing to ``n`` (each at least ``minimum``)."""
    extra = rng.multinomial(n - minimum * parts, rng.dirichlet(np.full(parts, conc)))
    return extra + minimum


def build_world(
    *,
    start: pd.Timestamp,
    days: int,
    n_skus: int,
    n_categories: int,
    rng: np.random.Generator,
    price_rng: np.random.Generator | None = None,
    launch_wave: tuple[int, float, np.random.Generator] | None = None,
) -> World:
    """Draw the catalogue, calendar and daily SKU weights of one shop.

    With ``price_rng`` prices move: every SKU is repriced now and then (about every ten
    weeks, to list price x lognormal(0, 0.15)) and demand responds to the price paid
    (regular moves and promotion discounts alike) with a per-SKU elasticity drawn
    around its category's (the elasticity of its units from about -0.3 to -3). Promotion days keep their shop-wide traffic
    lift, which a naive price regression mistakes for price response. Without it the
    draws are those of the shop without price response, unchanged.

    ``launch_wave = (day, share, rng)`` launches a new collection: ``share`` of the SKUs
    (never a category's evergreen one) are launched on ``day`` and stay on sale; the other
    draws are unchanged."""
    d_idx = np.arange(days)
    dates = start + pd.to_timedelta(d_idx, unit="D")
    doy = dates.dayofyear.to_numpy()
    cal = promo_calendar(start, start + pd.Timedelta(days=days))
    lift, level = promo_profile(cal, start, days)

    # shop-wide daily order-rate multiplier, one per segment (promotion sensitivity)
    weekly = _WEEKDAY[dates.weekday.to_numpy()]
    yearly = 1.0 + 0.12 * np.cos(2 * np.pi * (doy - 330) / 365.25)
    g = np.stack([weekly * yearly * lift**eta for _, _, eta, _, _ in SEGMENTS])
    g /= g.mean(axis=1, keepdims=True)
    G = np.concatenate([np.zeros((len(SEGMENTS), 1)), np.cumsum(g, axis=1)], axis=1)

    # acquisition: a launch cohort, then growth, more sign-ups on promotion days
    acq = (0.5 + 1.0 * d_idx / days + 2.0 * np.exp(-d_idx / 20.0)) * weekly * np.sqrt(lift)
    acq_cdf = np.cumsum(acq) / acq.sum()
    hour_cdf = np.concatenate([[0.0], np.cumsum(_HOUR_WEIGHTS) / _HOUR_WEIGHTS.sum()])

    # categories and their SKUs, then bundle groups inside each category
    C, K = n_categories, n_skus
    cat_sizes = _sizes(rng, K, C, 3, 2.0)
    sku_cat = np.repeat(np.arange(C), cat_sizes)
    cat_start = np.concatenate([[0], np.cumsum(cat_sizes)])
    # bundle groups of 1-5 SKUs, cut at category boundaries so a group stays in one
    sizes = rng.choice([1, 2, 3, 4, 5], size=K, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    cuts = np.union1d(np.cumsum(sizes), cat_start)
    group_start = cuts[cuts <= K]
    group = np.searchsorted(group_start, np.arange(K), side="right") - 1

    # long-tail (Zipf) popularity; the most popular SKU of a category is evergreen
    rank = rng.permutation(K)
    popularity = (rank + 1.0) ** -1.05
    evergreen = np.zeros(K, dtype=bool)
    top_pop = np.maximum.reduceat(popularity, cat_start[:-1])
    evergreen[popularity == top_pop[sku_cat]] = True

    launch_day = np.zeros(K, dtype=np.int64)
    end_day = np.full(K, days, dtype=np.int64)
    if days >= 120:
        new = (rng.random(K) < 0.15) & ~evergreen
        launch_day[new] = rng.integers(30, days - 60, new.sum())
        gone = (rng.random(K) < 0.10) & ~evergreen
        lo = launch_day[gone] + 60
        end_day[gone] = lo + (rng.random(gone.sum()) * (days - lo)).astype(np.int64)
    if launch_wave is not None:
        wave_day, share, wave_rng = launch_wave
        wave = (wave_rng.random(K) < share) & ~evergreen
        launch_day[wave] = int(wave_day)
        end_day[wave] = days
    head = rank < max(1, K // 10)
    lumpy = (rng.random(K) < 0.12) & ~head & ~evergreen
    lot_q = np.where(lumpy, rng.uniform(0.75, 0.9, K), rng.uniform(0.05, 0.35, K))
    attach = rng.beta(2.0, 10.0, K)

    base_price = np.array([_CATEGORIES[c % len(_CATEGORIES)][1] for c in range(C)])
    price = base_price[sku_cat] * rng.lognormal(0.0, 0.45, K)
    price = np.where(price >= 10, np.round(price) - 0.01, np.round(price, 2))
    price = np.maximum(price, 0.5)
    cost = np.round(price * (1.0 - rng.beta(5.0, 7.0, K)), 2)
    discount = np.where(rng.random(K) < 0.6, rng.uniform(0.1, 0.4, K), 0.0)
    uplift = (1.0 - discount) ** -2.5
    cat_return_rate = rng.uniform(0.005, 0.06, C)

    # per SKU-day weights: popularity x trend x seasonality x launch ramp x promotion
    season_peak = np.array([_CATEGORIES[c % len(_CATEGORIES)][2] for c in range(C)])
    seasonal = rng.random(K) < 0.35
    amp = np.where(seasonal, rng.uniform(0.3, 0.9, K), 0.0)
    phase = season_peak[sku_cat] + rng.normal(0.0, 30.0, K)
    slope = rng.normal(0.0, 0.3, K)
    w = np.cos(2 * np.pi * (doy[:, None] - phase[None, :]) / 365.25)
    w *= amp
    w += 1.0
    w *= np.exp(np.outer(d_idx / 365.0, slope))
    w *= popularity
    price_mult = elasticity = None
    if price_rng is None:
        w *= np.exp(np.outer(level, np.log(uplift)))
    else:
        price_mult, elasticity = _price_moves(price_rng, days, sku_cat, C)
        w *= (price_mult * (1.0 - np.outer(level, discount))) ** elasticity
    active = (d_idx[:, None] >= launch_day) & (d_idx[:, None] < end_day)
    age = d_idx[:, None] - launch_day[None, :] + 1.0
    ramp = np.where(launch_day > 0, -np.expm1(-np.maximum(age, 0.0) / 21.0), 1.0)
    w *= ramp
    w *= active
    cat_share = np.add.reduceat(w.sum(axis=0), cat_start[:-1])
    cat_share /= cat_share.sum()
    totals = np.add.reduceat(w, cat_start[:-1], axis=1)
    w /= totals[:, sku_cat]
    share = w
    cum = np.cumsum(share, axis=1)
    offset = np.concatenate([np.zeros((days, 1)), cum[:, cat_start[1:-1] - 1]], axis=1)
    cum -= offset[:, sku_cat]
    cum += (d_idx * C)[:, None] + sku_cat[None, :]

    return World(
        start=start,
        days=days,
        calendar=cal,
        categories=category_names(C),
        sku_code=rng.permutation(K),
        sku_cat=sku_cat,
        cat_start=cat_start,
        group=group,
        group_start=group_start,
        list_price=price,
        cost=cost,
        discount=discount,
        attach=attach,
        lot_q=lot_q,
        launch_day=launch_day,
        end_day=end_day,
        lumpy=lumpy,
        popularity=popularity,
        cat_return_rate=cat_return_rate,
        level=level,
        lift=lift,
        g=g,
        G=G,
        acq_cdf=acq_cdf,
        hour_cdf=hour_cdf,
        active=active,
        share=share,
        cum=cum.ravel(),
        cat_share=cat_share,
        price_mult=price_mult,
        elasticity=elasticity,
    )


def without_event(world: World, event: str) -> World:
    """The same shop had ``event`` never run (every run of it in the window): the order
    rates and the SKUs' choice weights on its days (and the dip before / lift after its
    peak) back to what the rest of the calendar gives. The customers, their lifetimes and
    the rates' normalisation are the real shop's, so the two worlds' expected demand
    differs only by the event's own effect (its extra sign-ups are not counted)."""
    cal = world.calendar.loc[world.calendar["event"].astype(str) != event]
    lift, level = promo_profile(cal, world.start, world.days)
    eta = np.array([e for _, _, e, _, _ in SEGMENTS])
    g = world.g * (lift / world.lift)[None, :] ** eta[:, None]
    if world.elasticity is None:  # the weights carried uplift ** level (see build_world)
        ratio = np.exp(np.outer(level - world.level, -2.5 * np.log1p(-world.discount)))
    else:  # ... or (price x (1 - level x discount)) ** elasticity
        base = 1.0 - np.outer(world.level, world.discount)
        ratio = ((1.0 - np.outer(level, world.discount)) / base) ** world.elasticity
    share = world.share * ratio
    totals = np.add.reduceat(share, world.cat_start[:-1], axis=1)[:, world.sku_cat]
    share = np.divide(share, totals, out=np.zeros_like(share), where=totals > 0)
    return replace(world, calendar=cal, lift=lift, level=level, g=g, share=share)


def _price_moves(
    rng: np.random.Generator, days: int, sku_cat: np.ndarray, n_cat: int
) -> tuple[np.ndarray, np.ndarray]:
    """Regular price paths (price / list price per day and SKU, piecewise constant) and
    the per-SKU exponents of price in the choice weight: category means uniform in
    [-4.2, -1.8], SKUs spread around them with sd 0.6, clipped to [-5.5, -1]. Only category
    picks look at the price (favourites and bundle mates do not), so the elasticity of
    a SKU's units is about half its exponent: from about -0.3 to -3."""
    K = sku_cat.size
    cat_e = rng.uniform(-4.2, -1.8, n_cat)
    elasticity = np.clip(cat_e[sku_cat] + rng.normal(0.0, 0.6, K), -5.5, -1.0)
    moves = rng.random((days, K)) < 1.0 / 70.0
    moves[0] = True
    level = rng.normal(0.0, 0.15, (days, K))
    level[0] = np.where(rng.random(K) < 0.5, 0.0, level[0])
    last = np.maximum.accumulate(np.where(moves, np.arange(days)[:, None], 0), axis=0)
    mult = np.exp(np.take_along_axis(level, last, axis=0))
    return mult.astype(np.float64), elasticity
