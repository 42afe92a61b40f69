"""Customers, orders, baskets, returns and browsing of :mod:`ecomml.data.synth`.

One block of customers is simulated at a time, fully vectorised (no loop over
customers or transactions), so memory is bounded by the block size.

Purchase timing follows the BG/NBD story exactly: after acquisition (the first order)
a customer places repeat orders as a Poisson process with rate ``lambda`` on a
"warped" clock whose speed ``g(t)`` carries the weekly, yearly and promotion pattern
(mean 1 over the window), and drops out after each repeat order with probability
``p``. With ``N ~ Geometric(p)`` repeat orders before dropout and ``M ~ Poisson``
arrivals in the window, the customer drops out inside the window iff ``N <= M``; the
dropout order is then the ``N``-th of ``M`` uniform arrivals (a Beta(N, M-N+1) draw)
and the earlier ones are uniform before it.

Each order holds ``1 + Poisson(extra)`` anchor items: a favourite (with probability
``loyalty``; a discontinued favourite is a lost sale) or a pick from a preferred
category by the SKU's share of that day; every active bundle mate then joins with its
attach rate. Quantities per line are logarithmic-series (lumpy SKUs have large lots),
so the units of a SKU-day, a Poisson number of lines with such quantities, are
negative binomial.

:class:`TruthAccumulator` turns the customers' latent state into the exact expected
demand per SKU-day (conditional on who is alive when): given the dropout time, the
orders between acquisition and dropout form a Poisson process of rate
``lambda * (1 - p)``, so the expectation is linear in per-customer terms that are
accumulated with difference arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from ecomml.data._synth_world import (
    CHANNEL_SHARES,
    CHANNELS,
    REGION_SHARES,
    REGIONS,
    SEGMENTS,
    World,
)

__all__: list[str] = []  # private module

_SECONDS = 86_400.0


def _empty() -> np.ndarray:
    return np.empty(0)


@dataclass(frozen=True)
class Population:
    """BG/NBD-like heterogeneity: ``lambda ~ Gamma(r, rate=alpha)``, ``p ~ Beta(a, b)``."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass
class Customers:
    """Latent state of one block of customers (arrays of length ``n`` unless noted)."""

    number: np.ndarray  # global customer number (the id)
    seg: np.ndarray
    lam: np.ndarray
    p: np.ndarray
    loyalty: np.ndarray  # probability that a basket item is one of the favourites
    extra: np.ndarray  # mean extra items per order (spend level)
    region: np.ndarray
    channel: np.ndarray
    pi: np.ndarray  # (n, C) category preferences
    pi_cum: np.ndarray  # (n*C,) i + cumulative preferences, for sampling
    fav_ptr: np.ndarray  # (n+1,) CSR offsets into fav_sku
    fav_sku: np.ndarray
    day_a: np.ndarray
    tau_a: np.ndarray  # acquisition on the segment's warped clock
    # the timeline, filled by draw_orders
    t_a: np.ndarray = field(default_factory=_empty)  # acquisition, days since start
    dropped: np.ndarray = field(default_factory=_empty)
    t_e: np.ndarray = field(default_factory=_empty)  # dropout time (nan when alive)
    day_e: np.ndarray = field(default_factory=_empty)  # dropout day (== days when alive)
    tau_e: np.ndarray = field(default_factory=_empty)

    def __len__(self) -> int:
        return int(self.lam.size)

    def sample_categories(self, who: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Draw a category for each customer index in ``who`` from its preferences."""
        c = self.pi.shape[1]
        flat = np.searchsorted(self.pi_cum, who + u, side="right")
        return np.asarray(np.clip(flat - who * c, 0, c - 1))

    def head(self, n: int) -> Customers:
        """The first ``n`` customers."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "pi_cum":
                out[f.name] = v[: n * self.pi.shape[1]]
            elif f.name == "fav_ptr":
                out[f.name] = v[: n + 1]
            elif f.name == "fav_sku":
                out[f.name] = v[: self.fav_ptr[n]]
            else:
                out[f.name] = v[:n]
        return Customers(**out)


@dataclass
class Orders:
    """Orders of a block, sorted by customer then time."""

    owner: np.ndarray
    t: np.ndarray  # days since start (float)
    day: np.ndarray
    channel: np.ndarray


@dataclass
class Lines:
    """Sale lines, one per (order, SKU), sorted by order then SKU."""

    order: np.ndarray
    sku: np.ndarray
    qty: np.ndarray


@dataclass
class Returns:
    """Returned sale lines."""

    line: np.ndarray
    t: np.ndarray
    qty: np.ndarray  # negative


@dataclass
class Events:
    """Browsing events (0 view, 1 cart, 2 purchase), unsorted."""

    owner: np.ndarray
    sku: np.ndarray
    t: np.ndarray
    kind: np.ndarray


@dataclass
class Block:
    """Everything simulated for one block of customers."""

    customers: Customers
    orders: Orders
    lines: Lines
    returns: Returns
    events: Events | None = None
    truncated: bool = False  # customers were cut to meet a row target

    def rows_per_customer(self) -> np.ndarray:
        """Transaction rows (sale lines + returns) per customer of the block."""
        n = len(self.customers)
        owner = self.orders.owner[self.lines.order]
        rows = np.bincount(owner, minlength=n)
        rows += np.bincount(owner[self.returns.line], minlength=n)
        return rows

    def head(self, n: int) -> Block:
        """The block restricted to its first ``n`` customers."""
        n_orders = int(np.searchsorted(self.orders.owner, n))
        orders = Orders(**{f.name: getattr(self.orders, f.name)[:n_orders] for f in fields(Orders)})
        n_lines = int(np.searchsorted(self.lines.order, n_orders))
        lines = Lines(**{f.name: getattr(self.lines, f.name)[:n_lines] for f in fields(Lines)})
        keep = self.returns.line < n_lines
        returns = Returns(**{f.name: getattr(self.returns, f.name)[keep] for f in fields(Returns)})
        return Block(self.customers.head(n), orders, lines, returns)


def _unwarp(world: World, seg: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map warped-clock positions of customers in segments ``seg`` to (day, fraction)."""
    day = np.empty(tau.size, dtype=np.int64)
    frac = np.empty(tau.size)
    for s in range(world.G.shape[0]):
        m = seg == s
        if not m.any():
            continue
        d = np.searchsorted(world.G[s], tau[m], side="right") - 1
        d = np.clip(d, 0, world.days - 1)
        day[m] = d
        frac[m] = (tau[m] - world.G[s, d]) / world.g[s, d]
    return day, np.clip(frac, 0.0, 1.0 - 1e-9)


def draw_customers(
    world: World, n: int, first: int, rng: np.random.Generator, pop: Population
) -> Customers:
    """Draw the latent traits, acquisition time and favourites of ``n`` customers."""
    shares = np.array([s[1] for s in SEGMENTS])
    seg = rng.choice(len(SEGMENTS), n, p=shares)
    lam = rng.gamma(pop.r, 1.0 / pop.alpha, n)
    p = rng.beta(pop.a, pop.b, n)
    la = np.array([s[3][0] for s in SEGMENTS])
    lb = np.array([s[3][1] for s in SEGMENTS])
    loyalty = rng.beta(la[seg], lb[seg])
    extra = rng.gamma(2.0, np.array([s[4] for s in SEGMENTS])[seg] / 2.0)
    region = rng.choice(len(REGIONS), n, p=REGION_SHARES)
    channel = rng.choice(len(CHANNELS), n, p=CHANNEL_SHARES)

    C = world.n_categories
    raw = rng.gamma(np.broadcast_to(3.0 * world.cat_share, (n, C)))
    tot = raw.sum(axis=1, keepdims=True)
    raw = np.divide(raw, tot, out=np.broadcast_to(world.cat_share, (n, C)).copy(), where=tot > 0)
    pi = 0.9 * raw + 0.1 * world.cat_share
    pi /= pi.sum(axis=1, keepdims=True)
    pi_cum = (np.cumsum(pi, axis=1) + np.arange(n)[:, None]).ravel()

    day_a = np.minimum(np.searchsorted(world.acq_cdf, rng.random(n), side="right"), world.days - 1)
    tau_a = world.G[seg, day_a] + world.g[seg, day_a] * rng.random(n)

    n_fav = 1 + rng.poisson(2.5, n)
    fav_ptr = np.concatenate([[0], np.cumsum(n_fav)])
    fo = np.repeat(np.arange(n), n_fav)
    cust = Customers(
        number=np.arange(first, first + n, dtype=np.int64),
        seg=seg,
        lam=lam,
        p=p,
        loyalty=loyalty,
        extra=extra,
        region=region,
        channel=channel,
        pi=pi,
        pi_cum=pi_cum,
        fav_ptr=fav_ptr,
        fav_sku=np.empty(0, dtype=np.int64),
        day_a=day_a,
        tau_a=tau_a,
    )
    cat = cust.sample_categories(fo, rng.random(fo.size))
    cust.fav_sku = world.sample_skus(day_a[fo], cat, rng.random(fo.size))
    return cust


def draw_orders(world: World, cust: Customers, rng: np.random.Generator) -> Orders:
    """Draw every customer's orders and dropout (fills the customers' timeline)."""
    n, D = len(cust), world.days
    span = world.G[cust.seg, D] - cust.tau_a  # remaining warped time
    N = rng.geometric(cust.p)
    M = rng.poisson(cust.lam * span)
    dropped = N <= M
    k = np.where(dropped, N, M)
    beta_a = np.where(dropped, N, 1)
    beta_b = np.where(dropped, M - N + 1, 1)
    v = np.where(dropped, rng.beta(beta_a, beta_b), 1.0)

    n_ord = 1 + k
    start = np.cumsum(n_ord) - n_ord
    owner = np.repeat(np.arange(n), n_ord)
    pos = np.arange(owner.size) - start[owner]
    u = np.zeros(owner.size)
    free = (pos >= 1) & (pos <= (k - dropped)[owner])
    fo = owner[free]
    key = fo + rng.random(fo.size)
    key.sort()
    u[free] = np.clip(key - fo, 0.0, 1.0) * v[fo]
    last = dropped[owner] & (pos == n_ord[owner] - 1) & (pos >= 1)
    u[last] = v[owner[last]]
    tau = cust.tau_a[owner] + u * span[owner]
    seg = cust.seg[owner]
    day, frac = _unwarp(world, seg, tau)
    t = day + world.hour_of_day(frac)

    cust.dropped = dropped
    cust.t_a = t[start]
    end = start + n_ord - 1
    cust.t_e = np.where(dropped, t[end], np.nan)
    cust.day_e = np.where(dropped, day[end], D)
    cust.tau_e = np.where(dropped, tau[end], world.G[cust.seg, D])
    cust.day_a = day[start]

    switch = rng.random(owner.size) < 0.15
    channel = np.where(
        switch, rng.choice(len(CHANNELS), owner.size, p=CHANNEL_SHARES), cust.channel[owner]
    )
    return Orders(owner=owner, t=t, day=day, channel=channel)


def draw_lines(world: World, cust: Customers, orders: Orders, rng: np.random.Generator) -> Lines:
    """Fill the baskets: anchors (a favourite or a category pick) plus bundle mates."""
    K = world.n_skus
    n_anchor = 1 + rng.poisson(cust.extra[orders.owner])
    lo = np.repeat(np.arange(orders.owner.size), n_anchor)
    own = orders.owner[lo]
    day = orders.day[lo]
    fav = rng.random(lo.size) < cust.loyalty[own]
    sku = np.empty(lo.size, dtype=np.int64)
    fo = own[fav]
    nf = cust.fav_ptr[fo + 1] - cust.fav_ptr[fo]
    sku[fav] = cust.fav_sku[cust.fav_ptr[fo] + (rng.random(fo.size) * nf).astype(np.int64)]
    co = own[~fav]
    cat = cust.sample_categories(co, rng.random(co.size))
    sku[~fav] = world.sample_skus(day[~fav], cat, rng.random(co.size))
    present = world.active[day, sku]  # a discontinued favourite is a lost sale
    lo, sku, day = lo[present], sku[present], day[present]

    grp = world.group[sku]
    gstart = world.group_start[grp]
    size = world.group_start[grp + 1] - gstart
    anchors = np.flatnonzero(size > 1)
    rep = size[anchors] - 1
    ca = np.repeat(anchors, rep)
    off = np.arange(ca.size) - np.repeat(np.cumsum(rep) - rep, rep)
    own_pos = sku[ca] - gstart[ca]
    mate = gstart[ca] + off + (off >= own_pos)
    keep = world.active[day[ca], mate] & (rng.random(ca.size) < world.attach[mate])

    all_order = np.concatenate([lo, lo[ca[keep]]])
    all_sku = np.concatenate([sku, mate[keep]])
    qty = rng.logseries(world.lot_q[all_sku]).astype(np.float64)
    key, inv = np.unique(all_order * K + all_sku, return_inverse=True)
    return Lines(order=key // K, sku=key % K, qty=np.bincount(inv, weights=qty))


def draw_returns(
    world: World, cust: Customers, orders: Orders, lines: Lines, rng: np.random.Generator
) -> Returns:
    """Return a category-dependent share of sale lines 1-30 days later (before dropout)."""
    rate = world.cat_return_rate[world.sku_cat[lines.sku]]
    li = np.flatnonzero(rng.random(lines.sku.size) < rate)
    t = orders.t[lines.order[li]] + 1.0 + rng.exponential(6.0, li.size)
    own = orders.owner[lines.order[li]]
    limit = np.where(cust.dropped[own], cust.t_e[own], world.days)
    ok = t < limit
    li, t = li[ok], t[ok]
    qty = -np.ceil(rng.uniform(1e-9, 1.0, li.size) * lines.qty[li])
    return Returns(line=li, t=t, qty=qty)


def draw_events(
    world: World, cust: Customers, orders: Orders, lines: Lines, rng: np.random.Generator
) -> Events:
    """Views and carts before every purchase, plus browsing and abandoned carts."""
    n = lines.sku.size
    own = orders.owner[lines.order]
    t_buy = orders.t[lines.order]
    launch = world.launch_day.astype(np.float64)
    t_cart = np.maximum(t_buy - (30.0 + rng.exponential(720.0, n)) / _SECONDS, launch[lines.sku])
    n_view = 1 + rng.poisson(0.7, n)
    vl = np.repeat(np.arange(n), n_view)
    t_view = np.maximum(t_cart[vl] - rng.exponential(3.0 / 24.0, vl.size), launch[lines.sku[vl]])

    bo = np.repeat(np.arange(orders.owner.size), rng.poisson(1.5, orders.owner.size))
    b_own = orders.owner[bo]
    b_cat = cust.sample_categories(b_own, rng.random(bo.size))
    b_sku = world.sample_skus(orders.day[bo], b_cat, rng.random(bo.size))
    t_b = np.maximum(orders.t[bo] - rng.exponential(2.0 / 24.0, bo.size), launch[b_sku])
    carted = rng.random(bo.size) < 0.15
    t_bc = t_b[carted] + rng.random(int(carted.sum())) * (orders.t[bo[carted]] - t_b[carted])

    owner = np.concatenate([own, own, own[vl], b_own, b_own[carted]])
    sku = np.concatenate([lines.sku, lines.sku, lines.sku[vl], b_sku, b_sku[carted]])
    t = np.concatenate([t_buy, t_cart, t_view, t_b, t_bc])
    kind = np.concatenate(
        [
            np.full(n, 2, np.int8),
            np.full(n, 1, np.int8),
            np.zeros(vl.size, np.int8),
            np.zeros(bo.size, np.int8),
            np.ones(int(carted.sum()), np.int8),
        ]
    )
    return Events(owner=owner, sku=sku, t=t, kind=kind)


def simulate_block(
    world: World,
    n: int,
    first: int,
    rng: np.random.Generator,
    pop: Population,
    *,
    max_rows: int | None = None,
) -> Block:
    """Simulate ``n`` customers; keep the prefix of them closest to ``max_rows`` rows."""
    cust = draw_customers(world, n, first, rng, pop)
    orders = draw_orders(world, cust, rng)
    lines = draw_lines(world, cust, orders, rng)
    returns = draw_returns(world, cust, orders, lines, rng)
    block = Block(cust, orders, lines, returns)
    if max_rows is not None:
        cum = np.cumsum(block.rows_per_customer())
        if cum.size and cum[-1] > max_rows:
            i = int(np.searchsorted(cum, max_rows))  # first prefix reaching max_rows
            keep = i + 1 if i == 0 or cum[i] - max_rows <= max_rows - cum[i - 1] else i
            block = replace(block.head(keep), truncated=True)
    return block


def add_events(world: World, block: Block, rng: np.random.Generator) -> Block:
    """Attach browsing events to a (possibly truncated) block."""
    return replace(
        block, events=draw_events(world, block.customers, block.orders, block.lines, rng)
    )


class TruthAccumulator:
    """Accumulates expected order intensity per (day, category) and (day, favourite SKU).

    :meth:`add` takes a block's customers; :meth:`finalize` returns the expected units
    per SKU-day and the negative binomial size parameter.
    """

    def __init__(self, world: World) -> None:
        S, D, C, K = world.G.shape[0], world.days, world.n_categories, world.n_skus
        self.mass_c = np.zeros(D * C)
        self.diff_c = np.zeros(S * (D + 1) * C)
        self.mass_f = np.zeros(D * K)
        self.diff_f = np.zeros(S * (D + 1) * K)

    def add(self, world: World, cust: Customers) -> None:
        """Add the expected orders of one block of customers."""
        n, D, C, K = len(cust), world.days, world.n_categories, world.n_skus
        if n == 0:
            return
        G, seg = world.G, cust.seg
        da, de = cust.day_a, cust.day_e
        rate = cust.lam * (1.0 - cust.p)
        same = de == da
        # expected orders on the acquisition day and the dropout day (point masses
        # for those two orders, plus the partial days of the Poisson stretch)
        mass_a = 1.0 + rate * (np.minimum(G[seg, np.minimum(da + 1, D)], cust.tau_e) - cust.tau_a)
        mass_a += cust.dropped & same
        em = np.flatnonzero(cust.dropped & ~same)
        mass_e = 1.0 + rate[em] * (cust.tau_e[em] - G[seg[em], de[em]])
        ev_cust = np.concatenate([np.arange(n), em])
        ev_day = np.concatenate([da, de[em]])
        ev_mass = np.concatenate([mass_a, mass_e])
        # full days strictly between: rate * g_s(d), via a difference array per segment
        im = np.flatnonzero(de > da + 1)
        df_cust = np.concatenate([im, im])
        df_row = np.concatenate([seg[im] * (D + 1) + da[im] + 1, seg[im] * (D + 1) + de[im]])
        df_val = np.concatenate([rate[im], -rate[im]])

        basket = 1.0 + cust.extra  # expected anchors per order
        wc = (basket * (1.0 - cust.loyalty))[:, None] * cust.pi
        cols = np.arange(C)
        np.add.at(
            self.mass_c,
            (ev_day[:, None] * C + cols).ravel(),
            (ev_mass[:, None] * wc[ev_cust]).ravel(),
        )
        np.add.at(
            self.diff_c,
            (df_row[:, None] * C + cols).ravel(),
            (df_val[:, None] * wc[df_cust]).ravel(),
        )

        n_fav = np.diff(cust.fav_ptr)
        wf = basket * cust.loyalty / n_fav
        # expand (event, favourite) pairs
        for e_cust, e_row, e_val, target, width in (
            (ev_cust, ev_day, ev_mass * wf[ev_cust], self.mass_f, K),
            (df_cust, df_row, df_val * wf[df_cust], self.diff_f, K),
        ):
            cnt = n_fav[e_cust]
            rep = np.repeat(np.arange(e_cust.size), cnt)
            within = np.arange(rep.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            skus = cust.fav_sku[cust.fav_ptr[e_cust[rep]] + within]
            np.add.at(target, e_row[rep] * width + skus, e_val[rep])

    def finalize(self, world: World) -> tuple[np.ndarray, np.ndarray]:
        """Expected units ``mean`` and NB size ``dispersion``, both of shape (days, SKUs)."""
        S, D, C, K = world.G.shape[0], world.days, world.n_categories, world.n_skus
        diff_c = self.diff_c.reshape(S, D + 1, C)
        np.cumsum(diff_c, axis=1, out=diff_c)
        orders_c = self.mass_c.reshape(D, C) + np.einsum("sdc,sd->dc", diff_c[:, :D], world.g)
        diff_f = self.diff_f.reshape(S, D + 1, K)
        orders_f = self.mass_f.reshape(D, K).copy()
        for s in range(S):
            np.cumsum(diff_f[s], axis=0, out=diff_f[s])
            orders_f += diff_f[s, :D] * world.g[s][:, None]
        anchor = orders_f
        anchor *= world.active
        picked = world.share * orders_c[:, world.sku_cat]  # the price-responsive part
        anchor += picked
        if world.elasticity is not None:
            # d log E[units] / d log own price: only the category picks respond, by
            # elasticity x (1 - share) (the choice weights are renormalised)
            num = (picked * (1.0 - world.share)).sum(axis=0)
            world.responsive = num
        del picked
        group_tot = np.add.reduceat(anchor, world.group_start[:-1], axis=1)
        mates = group_tot[:, world.group]
        mates -= anchor
        mates *= world.attach * world.active
        m = anchor
        m += mates
        np.maximum(m, 0.0, out=m)
        if world.elasticity is not None:
            tot = m.sum(axis=0)
            world.responsive = np.divide(world.responsive, tot, out=np.zeros_like(tot),
                                         where=tot > 0)  # fmt: skip
        del mates, group_tot
        dispersion = m / -np.log1p(-world.lot_q)
        m *= world.expected_quantity()
        return m, dispersion
