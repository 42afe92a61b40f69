"""Seeded synthetic online shop with known ground truth.

:func:`make_shop` builds a shop in memory (the built-in sample shop is
:func:`make_sample_shop`); :func:`write_shop` streams a shop of a target number of
transaction rows (10 thousand to tens of millions) to Parquet in bounded memory.
Both return the canonical tables (transactions, events, catalog, calendar) plus the
truth the data was drawn from:

- ``truth_customers``: each customer's purchase rate ``lambda`` (repeat orders per
  day on an average day), dropout probability ``p_dropout`` after each repeat order,
  ``acquired_at`` (the first order), ``dropout_at`` (the order after which the
  customer left; NaT while still alive at the end) and ``alive_at_end``. Across
  customers, ``lambda ~ Gamma(r, rate=alpha)`` and ``p_dropout ~ Beta(a, b)``: the
  BG/NBD model holds, up to the weekly/yearly/promotion pattern of the order rate.
  Also ``segment``, ``region``, ``loyalty`` (share of basket items that are re-bought
  favourites), ``basket_size`` (expected items per order before bundle add-ons: the
  Gamma-distributed spend level) and ``top_category``.
- ``truth_sku_days``: the expected gross units (``mean``, returns excluded) of every
  SKU on every day, given who is alive when, and the negative binomial size
  ``dispersion`` (variance = mean + mean**2 / dispersion); see :func:`demand_quantiles`.
- ``truth_skus``: bundle group, launch and discontinuation dates, popularity, lumpy
  flag and mean lot size of each SKU.

What is simulated: customers with BG/NBD behaviour, staggered acquisition, segments
(regular, deal seekers, loyal) with different promotion sensitivity, regions,
channels, category preferences and favourite SKUs they re-buy; a long-tail (Zipf)
catalogue in categories with trends, weekly and yearly seasonality, bundles of SKUs
bought together, new and discontinued SKUs and lumpy lot sizes; promotion days (618,
Double 11, Double 12, Black Friday, Cyber Monday, Christmas) that multiply demand
2-6x with a dip before; returns; views and carts before purchases.

Examples
--------
>>> from ecomml.data.synth import make_shop
>>> shop = make_shop(n_customers=200, n_skus=120, days=120, seed=1)
>>> list(shop.transactions.columns[:6])
['order_id', 'customer_id', 'sku', 'ts', 'quantity', 'price']
>>> bool((shop.transactions["ts"] < shop.end).all())
True
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ecomml._io import atomic_dir, atomic_path, atomic_write_json
from ecomml._validation import parse_timestamp
from ecomml.data import _synth_tables as tables
from ecomml.data._synth_sim import (
    Population,
    TruthAccumulator,
    add_events,
    simulate_block,
)
from ecomml.data._synth_world import SEGMENTS, World, build_world, without_event
from ecomml.exceptions import ConfigError

__all__ = [
    "SyntheticShop",
    "default_n_skus",
    "demand_quantiles",
    "make_sample_shop",
    "make_shop",
    "write_shop",
]

#: Default heterogeneity: mean lambda 1/8 per day, mean p_dropout 1/16.
_DEFAULT_POPULATION = Population(r=1.0, alpha=8.0, a=2.0, b=30.0)
_BLOCK_CUSTOMERS = 50_000  # make_shop: customers simulated at a time

Progress = Callable[[int, int], None]
_FRAMES = (
    "transactions",
    "events",
    "catalog",
    "calendar",
    "truth_customers",
    "truth_sku_days",
    "truth_skus",
)


@dataclass
class SyntheticShop:
    """A synthetic shop: canonical tables plus the truth they were drawn from.

    Attributes
    ----------
    transactions, events, catalog, calendar : pandas.DataFrame
        The canonical tables (dtypes as in :mod:`ecomml.data.schema`).
    truth_customers, truth_sku_days, truth_skus : pandas.DataFrame
        Latent customer traits, true demand per SKU-day and SKU attributes.
    truth_prices : pandas.DataFrame or None
        With ``price_changes=True``: per SKU its list price, cost and true price
        elasticities (``elasticity``, and ``own_elasticity``, the one sales reveal).
    params : dict
        Generator settings: seed, window, sizes, population parameters, demand family.
    """

    transactions: pd.DataFrame
    events: pd.DataFrame
    catalog: pd.DataFrame
    calendar: pd.DataFrame
    truth_customers: pd.DataFrame
    truth_sku_days: pd.DataFrame
    truth_skus: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)
    truth_prices: pd.DataFrame | None = None

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(getattr(self, name)):,} rows" for name in _FRAMES)
        return f"SyntheticShop(seed={self.params.get('seed')}, {sizes})"

    @property
    def start(self) -> pd.Timestamp:
        """First day of the simulated window."""
        return pd.Timestamp(self.params["start"])

    @property
    def end(self) -> pd.Timestamp:
        """Exclusive end of the window: every timestamp is ``< end``."""
        return self.start + pd.Timedelta(days=int(self.params["days"]))


# ---------------------------------------------------------------------------- helpers


def _check_int(value: Any, name: str, *, minimum: int, flag: str | None = None) -> int:
    """Check an integer option; ``flag`` is the CLI spelling named in the message."""
    label = f"{name} ({flag})" if flag else name
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{label} must be an integer, got {value!r}.")
    if value < minimum:
        raise ConfigError(f"{label} must be at least {minimum}, got {value}.")
    return int(value)


def _parse_start(start: Any) -> pd.Timestamp:
    return parse_timestamp(start, name="start", error=ConfigError).normalize()


def _frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas()


def _launch_wave(
    wave: tuple[str | pd.Timestamp, float], start: pd.Timestamp, days: int
) -> tuple[int, float]:
    """``(date, share)`` as ``(day index, share)``, checked."""
    try:
        when, share = wave
        day = int((pd.Timestamp(when) - start) / pd.Timedelta(days=1))
        share = float(share)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"launch_wave must be (date, share), got {wave!r}") from err
    if not 0 <= day < days:
        raise ConfigError(
            f"launch_wave date {when} is outside the window {start.date()} + {days} days"
        )
    if not 0.0 < share <= 1.0:
        raise ConfigError(f"launch_wave share must be in (0, 1], got {share}")
    return day, share


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, *stream])


def _make_world(
    *,
    start: pd.Timestamp,
    days: int,
    n_skus: int,
    n_categories: int,
    seed: int,
    price_changes: bool = False,
    launch_wave: tuple[int, float] | None = None,
) -> World:
    n_cat = max(1, min(n_categories, n_skus // 3))
    wave = None if launch_wave is None else (*launch_wave, _rng(seed, 3))
    return build_world(
        start=start, days=days, n_skus=n_skus, n_categories=n_cat, rng=_rng(seed, 0),
        price_rng=_rng(seed, 2) if price_changes else None, launch_wave=wave,
    )  # fmt: skip


def _params(
    world: World, pop: Population, seed: int, n_customers: int, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "seed": seed,
        "start": str(world.start.date()),
        "days": world.days,
        "n_customers": n_customers,
        "n_skus": world.n_skus,
        "n_categories": world.n_categories,
        "population": asdict(pop),
        "lambda_unit": "repeat orders per day (at average seasonality)",
        "segments": {name: {"share": s, "promo_sensitivity": e} for name, s, e, _, _ in SEGMENTS},
        "demand_family": "negative_binomial",
        "demand_params": "mean, dispersion (size): variance = mean + mean**2 / dispersion",
        "demand_units": "gross units sold per SKU and day (returns excluded)",
        **(extra or {}),
    }


# --------------------------------------------------------------------------- make_shop


def make_shop(
    *,
    n_customers: int = 3000,
    n_skus: int = 1500,
    start: str | pd.Timestamp = "2023-01-01",
    days: int = 730,
    seed: int = 0,
    n_categories: int = 12,
    include_events: bool = True,
    r: float = _DEFAULT_POPULATION.r,
    alpha: float = _DEFAULT_POPULATION.alpha,
    a: float = _DEFAULT_POPULATION.a,
    b: float = _DEFAULT_POPULATION.b,
    price_changes: bool = False,
    launch_wave: tuple[str | pd.Timestamp, float] | None = None,
    without_event: str | None = None,
) -> SyntheticShop:
    """Build a synthetic shop in memory.

    The defaults are the built-in sample shop: 3,000 customers and 1,500 SKUs over two
    years (about 100 thousand transaction rows), built in a couple of seconds.

    Parameters
    ----------
    n_customers
        Customers acquired during the window.
    n_skus
        SKUs in the catalogue (at least 3).
    start
        First day of the window; the window is ``[start, start + days)``.
    days
        Length of the window in days.
    seed
        Seed of every random draw: the same seed gives identical frames.
    n_categories
        Product categories (at most ``n_skus // 3``).
    include_events
        Simulate the view/cart/purchase event log (an empty frame otherwise).
    r, alpha
        Shape and rate (per day) of the Gamma distribution of purchase rates.
    a, b
        Parameters of the Beta distribution of dropout probabilities.
    price_changes
        Reprice SKUs now and then and let demand respond to price with a known
        elasticity per SKU (``truth_prices``); off by default, which keeps the sample
        shop as it was.
    launch_wave
        ``(date, share)``: a new collection, ``share`` of the catalogue launched on
        ``date`` (the cold-start scenario of the recommender benchmark); its dates are in
        ``truth_skus.launched_at``. None (default) keeps the sample shop as it was.
    without_event
        A calendar event (e.g. ``"double_11"``): ``truth_sku_days`` gains
        ``mean_without_event``, the expected units per SKU-day had that event never run
        (same customers; the truth behind a promotion's incremental units).

    Returns
    -------
    SyntheticShop

    Raises
    ------
    ConfigError
        For a non-positive size, a bad date or invalid population parameters.
    """
    n_customers = _check_int(n_customers, "n_customers", minimum=1)
    n_skus = _check_int(n_skus, "n_skus", minimum=3)
    days = _check_int(days, "days", minimum=7)
    seed = _check_int(seed, "seed", minimum=0)
    n_categories = _check_int(n_categories, "n_categories", minimum=1)
    pop = _population(r, alpha, a, b)
    first_day = _parse_start(start)
    wave = None if launch_wave is None else _launch_wave(launch_wave, first_day, days)
    world = _make_world(
        start=first_day, days=days, n_skus=n_skus, n_categories=n_categories,
        seed=seed, price_changes=bool(price_changes), launch_wave=wave,
    )  # fmt: skip
    acc = TruthAccumulator(world)
    tx, ev, tc = [], [], []
    order_base = return_base = 0
    for i, first in enumerate(range(0, n_customers, _BLOCK_CUSTOMERS)):
        n = min(_BLOCK_CUSTOMERS, n_customers - first)
        rng = _rng(seed, 1, i)
        block = simulate_block(world, n, first, rng, pop)
        acc.add(world, block.customers)
        table, order_base, return_base = tables.transactions_table(
            world, block, order_base, return_base
        )
        tx.append(table)
        tc.append(tables.truth_customers_table(world, block))
        if include_events:
            ev.append(tables.events_table(world, add_events(world, block, rng)))
    counterfactual = _without(acc, world, without_event)
    mean, dispersion = acc.finalize(world)
    sku_days = pa.concat_tables(
        tables.sku_days_tables(world, mean, dispersion, skus_per_table=world.n_skus)
    )
    if counterfactual is not None:
        col = pa.array(counterfactual[:, tables.sku_order(world)].T.ravel())
        sku_days = sku_days.append_column("mean_without_event", col)
    events = (
        _frame(pa.concat_tables(ev))
        if ev
        else tables.schema(tables.EVENTS_DTYPES).empty_table().to_pandas()
    )
    return SyntheticShop(
        transactions=_frame(pa.concat_tables(tx)),
        events=events,
        catalog=_frame(tables.catalog_table(world)),
        calendar=_frame(tables.calendar_table(world)),
        truth_customers=_frame(pa.concat_tables(tc)),
        truth_sku_days=_frame(sku_days),
        truth_skus=_frame(tables.truth_skus_table(world)),
        params=_params(world, pop, seed, n_customers, _price_params(world)),
        truth_prices=_truth_prices(world),
    )


def _without(acc: TruthAccumulator, world: World, event: str | None) -> np.ndarray | None:
    """Expected units per day and SKU had ``event`` never run (None without one)."""
    if event is None:
        return None
    if event not in set(world.calendar["event"].astype(str)):
        raise ConfigError(
            f"without_event={event!r} is not in the shop's calendar; its events are "
            f"{sorted(set(world.calendar['event'].astype(str)))}"
        )
    return copy.deepcopy(acc).finalize(without_event(world, event))[0]


def _truth_prices(world: World) -> pd.DataFrame | None:
    return None if world.elasticity is None else _frame(tables.truth_prices_table(world))


def _price_params(world: World) -> dict[str, Any] | None:
    if world.elasticity is None:
        return None
    return {
        "price_changes": True,
        "price_response": "choice weight x price**elasticity (regular price moves and "
        "promotion discounts); truth/prices.parquet gives each SKU's elasticity and "
        "own_elasticity (of its expected units to its own price, others held)",
    }


def make_sample_shop(seed: int = 0) -> SyntheticShop:
    """The built-in sample shop: :func:`make_shop` with its defaults.

    Parameters
    ----------
    seed
        Seed of the shop.

    Returns
    -------
    SyntheticShop
    """
    return make_shop(seed=seed)


def _population(r: float, alpha: float, a: float, b: float) -> Population:
    for name, v in (("r", r), ("alpha", alpha), ("a", a), ("b", b)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ConfigError(f"{name} must be a positive number, got {v!r}.")
    return Population(float(r), float(alpha), float(a), float(b))


# -------------------------------------------------------------------------- write_shop


def default_n_skus(n_transactions: int) -> int:
    """Catalogue size used by :func:`write_shop` for a target number of rows.

    Grows like ``n ** 0.45``: 1,500 SKUs at 100 thousand rows, about 25 thousand at 50
    million.
    """
    return int(np.clip(round(1500 * (n_transactions / 100_000) ** 0.45), 30, 40_000))


def _pilot_rows(world: World, pop: Population, seed: int, n: int = 4000) -> float:
    """Mean transaction rows per customer, from a pilot block (not written)."""
    block = simulate_block(world, n, 0, _rng(seed, 2), pop)
    return max(float(block.rows_per_customer().mean()), 1e-6)


def _calibrate(world: World, pop: Population, seed: int, per_customer: float) -> Population:
    """Scale the purchase rate so customers average ``per_customer`` transaction rows."""
    lo_rows = _pilot_rows(world, Population(pop.r, pop.alpha * 1e4, pop.a, pop.b), seed)
    if per_customer < lo_rows * 1.02:
        raise ConfigError(
            f"{per_customer:.2f} rows per customer is too few: every customer places a first "
            f"order of about {lo_rows:.1f} rows. Pass fewer customers (--customers) or more rows."
        )
    log_s, f = 0.0, _pilot_rows(world, pop, seed)
    prev: tuple[float, float] | None = None
    for _ in range(12):
        if abs(f / per_customer - 1.0) < 0.01:
            break
        slope = 0.8
        if prev is not None and log_s != prev[0]:
            slope = max((math.log(f) - math.log(prev[1])) / (log_s - prev[0]), 0.05)
        prev = (log_s, f)
        log_s = float(np.clip(log_s + (math.log(per_customer) - math.log(f)) / slope, -12, 8))
        f = _pilot_rows(world, Population(pop.r, pop.alpha * math.exp(-log_s), pop.a, pop.b), seed)
    if abs(f / per_customer - 1.0) > 0.05:
        raise ConfigError(
            f"cannot reach {per_customer:.1f} rows per customer (got {f:.1f}); "
            "pass more customers (--customers) or fewer rows (--rows)."
        )
    return Population(pop.r, pop.alpha * math.exp(-log_s), pop.a, pop.b)


def write_shop(
    out_dir: str | os.PathLike[str],
    *,
    n_transactions: int = 100_000,
    seed: int = 0,
    chunk_rows: int = 1_000_000,
    progress: Progress | None = None,
    n_customers: int | None = None,
    n_skus: int | None = None,
    start: str | pd.Timestamp = "2023-01-01",
    days: int = 730,
    include_events: bool = True,
    overwrite: bool = False,
    price_changes: bool = False,
) -> dict[str, Any]:
    """Stream a synthetic shop of about ``n_transactions`` rows to Parquet.

    Customers are simulated in blocks of about ``chunk_rows`` transaction rows; each
    block becomes one part file, so memory is bounded by the chunk size and the
    (days x SKUs) truth arrays. The dataset is built in a temporary directory beside
    ``out_dir`` and renamed into place when complete: an interrupted run leaves no
    partial directory. Layout::

        out_dir/transactions/part-00000.parquet ...
        out_dir/events/part-00000.parquet ...      (include_events=True)
        out_dir/catalog.parquet
        out_dir/calendar.parquet
        out_dir/truth/customers.parquet
        out_dir/truth/sku_days.parquet
        out_dir/truth/skus.parquet
        out_dir/truth/params.json
        out_dir/manifest.json

    Parameters
    ----------
    out_dir
        Target directory (must not exist, or be empty, unless ``overwrite``).
    n_transactions
        Target transaction rows (sale lines plus returns); the result lands within one
        customer's rows of it, or within a few percent when ``n_customers`` is fixed.
    seed
        Seed of every random draw (output also depends on ``chunk_rows``).
    chunk_rows
        Approximate transaction rows per part file.
    progress
        Called as ``progress(rows_done, n_transactions)`` once the options are checked
        (with 0 rows) and after every part.
    n_customers
        Fix the number of customers; their purchase rate is then calibrated to reach
        ``n_transactions``. By default it follows from the target.
    n_skus
        Catalogue size; default :func:`default_n_skus`.
    start, days
        The window ``[start, start + days)``.
    include_events
        Also write the view/cart/purchase event log (about 4.5 rows per transaction).
    overwrite
        Replace an existing ``out_dir``.
    price_changes
        Reprice SKUs and let demand respond with known elasticities (see
        :func:`make_shop`); also writes ``truth/prices.parquet``.

    Returns
    -------
    dict
        Summary: ``rows``, ``sale_rows``, ``return_rows``, ``event_rows``,
        ``customers``, ``skus``, ``files``, ``seconds``, ``path``.

    Raises
    ------
    ConfigError
        For bad sizes, or when ``out_dir`` is a file or a non-empty directory.
    """
    t0 = time.perf_counter()
    n_transactions = _check_int(n_transactions, "n_transactions", minimum=1, flag="--rows")
    chunk_rows = _check_int(chunk_rows, "chunk_rows", minimum=1000, flag="--chunk-rows")
    seed = _check_int(seed, "seed", minimum=0, flag="--seed")
    days = _check_int(days, "days", minimum=7, flag="--days")
    if n_customers is not None:
        n_customers = _check_int(n_customers, "n_customers", minimum=1, flag="--customers")
    n_skus = (
        default_n_skus(n_transactions)
        if n_skus is None
        else _check_int(n_skus, "n_skus", minimum=3, flag="--skus")
    )
    target = Path(out_dir)
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{target} exists and is a file; pass a directory path for the shop.")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise ConfigError(
            f"{target} already exists and is not empty; choose another directory or pass "
            "overwrite=True (--overwrite) to replace it."
        )
    start_day = _parse_start(start)
    if progress is not None:
        progress(0, n_transactions)
    world = _make_world(
        start=start_day, days=days, n_skus=n_skus, n_categories=12, seed=seed,
        price_changes=bool(price_changes),
    )  # fmt: skip
    pop = _DEFAULT_POPULATION
    if n_customers is not None:
        pop = _calibrate(world, pop, seed, n_transactions / n_customers)
    per_customer = _pilot_rows(world, pop, seed, n=int(np.clip(n_transactions // 40, 500, 4000)))
    block_customers = max(20, int(chunk_rows / per_customer))
    summary: dict[str, Any] = {}

    def fill(tmp: Path) -> None:
        summary.update(
            _write_blocks(
                tmp,
                world=world,
                pop=pop,
                seed=seed,
                n_transactions=n_transactions,
                n_customers=n_customers,
                block_customers=block_customers,
                per_customer=per_customer,
                chunk_rows=chunk_rows,
                include_events=include_events,
                progress=progress,
            )
        )
        summary["seconds"] = round(time.perf_counter() - t0, 3)
        summary["path"] = str(target)
        atomic_write_json(tmp / "manifest.json", summary)

    atomic_dir(target, fill)
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    return summary


def _write_table(path: Path, table: pa.Table) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _write_blocks(
    root: Path,
    *,
    world: World,
    pop: Population,
    seed: int,
    n_transactions: int,
    n_customers: int | None,
    block_customers: int,
    per_customer: float,
    chunk_rows: int,
    include_events: bool,
    progress: Progress | None,
) -> dict[str, Any]:
    """Simulate and write every block, then the truth and the small tables."""
    acc = TruthAccumulator(world)
    files: list[str] = []
    rows = sale_rows = event_rows = customers = 0
    order_base = return_base = 0
    truth_dir = root / "truth"
    truth_dir.mkdir(parents=True)
    with atomic_path(truth_dir / "customers.parquet") as cust_tmp:
        writer = pq.ParquetWriter(cust_tmp, tables.schema(tables.TRUTH_CUSTOMERS_DTYPES))
        try:
            part = 0
            while True:
                if n_customers is None:
                    remaining = n_transactions - rows
                    if remaining <= 0:
                        break
                    n = block_customers
                    if remaining < 1.3 * chunk_rows:
                        n = int(remaining / per_customer * 1.5) + 20
                    max_rows: int | None = remaining
                else:
                    n = min(block_customers, n_customers - customers)
                    if n <= 0:
                        break
                    max_rows = None
                rng = _rng(seed, 1, part)
                block = simulate_block(world, n, customers, rng, pop, max_rows=max_rows)
                acc.add(world, block.customers)
                table, order_base, return_base = tables.transactions_table(
                    world, block, order_base, return_base
                )
                name = f"part-{part:05d}.parquet"
                _write_table(root / "transactions" / name, table)
                files.append(f"transactions/{name}")
                if include_events:
                    ev = tables.events_table(world, add_events(world, block, rng))
                    _write_table(root / "events" / name, ev)
                    files.append(f"events/{name}")
                    event_rows += ev.num_rows
                writer.write_table(tables.truth_customers_table(world, block))
                rows += table.num_rows
                sale_rows += int(block.lines.sku.size)
                customers += len(block.customers)
                part += 1
                last = block.truncated  # the row target is met (within one customer)
                del block, table
                if progress is not None:
                    progress(
                        min(rows, n_transactions) if n_customers is None else rows, n_transactions
                    )
                if last:
                    break
        finally:
            writer.close()
    files.append("truth/customers.parquet")

    mean, dispersion = acc.finalize(world)
    del acc
    with atomic_path(truth_dir / "sku_days.parquet") as tmp:
        with pq.ParquetWriter(tmp, tables.schema(tables.TRUTH_SKU_DAYS_DTYPES)) as w:
            per = max(1, 1_000_000 // world.days)
            for t in tables.sku_days_tables(world, mean, dispersion, skus_per_table=per):
                w.write_table(t)
    del mean, dispersion
    files.append("truth/sku_days.parquet")
    _write_table(truth_dir / "skus.parquet", tables.truth_skus_table(world))
    _write_table(root / "catalog.parquet", tables.catalog_table(world))
    _write_table(root / "calendar.parquet", tables.calendar_table(world))
    params = _params(world, pop, seed, customers, {"chunk_rows": chunk_rows})
    if world.elasticity is not None:
        params.update(_price_params(world) or {})
        _write_table(truth_dir / "prices.parquet", tables.truth_prices_table(world))
        files.append("truth/prices.parquet")
    atomic_write_json(truth_dir / "params.json", params)
    files += ["truth/skus.parquet", "catalog.parquet", "calendar.parquet", "truth/params.json"]
    return {
        "rows": rows,
        "sale_rows": sale_rows,
        "return_rows": rows - sale_rows,
        "event_rows": event_rows,
        "customers": customers,
        "skus": world.n_skus,
        "days": world.days,
        "start": str(world.start.date()),
        "seed": seed,
        "n_transactions_target": n_transactions,
        "files": files,
    }


# ---------------------------------------------------------------------------- quantiles


def demand_quantiles(
    truth_sku_days: pd.DataFrame, quantiles: Sequence[float] = (0.05, 0.5, 0.95)
) -> pd.DataFrame:
    """Quantiles of the true daily demand (negative binomial) of each SKU-day.

    Parameters
    ----------
    truth_sku_days
        ``SyntheticShop.truth_sku_days`` (columns ``mean`` and ``dispersion``).
    quantiles
        Probabilities in (0, 1).

    Returns
    -------
    pandas.DataFrame
        A copy with one column per quantile, named ``q05``, ``q50``, ``q95``...

    Examples
    --------
    >>> import pandas as pd
    >>> demand_quantiles(pd.DataFrame({"mean": [0.0, 4.0], "dispersion": [0.0, 8.0]}), [0.5])
       mean  dispersion  q50
    0   0.0         0.0  0.0
    1   4.0         8.0  4.0
    """
    from scipy import stats

    out = truth_sku_days.copy()
    mean = out["mean"].to_numpy(dtype=np.float64)
    size = out["dispersion"].to_numpy(dtype=np.float64)
    pos = (mean > 0) & (size > 0)
    for q in quantiles:
        if not 0.0 < q < 1.0:
            raise ConfigError(f"quantile {q!r} must be strictly between 0 and 1.")
        name = "q" + f"{q * 100:g}".replace(".", "_").zfill(2)
        vals = np.zeros(mean.size)
        vals[pos] = stats.nbinom.ppf(q, size[pos], size[pos] / (size[pos] + mean[pos]))
        out[name] = vals
    return out
