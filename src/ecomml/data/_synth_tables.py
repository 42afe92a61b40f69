"""Arrow tables of :mod:`ecomml.data.synth`: simulated blocks to canonical columns.

Ids are assembled as Arrow string buffers straight from numpy digit arithmetic,
never as Python objects, so tens of millions of rows convert in seconds. Every
schema carries pandas metadata, so ``pd.read_parquet`` restores the canonical
dtypes (``string``, ``datetime64[ns]``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from ecomml.data._synth_sim import Block
from ecomml.data._synth_world import CHANNELS, REGIONS, SEGMENTS, World
from ecomml.data.schema import CATALOG, EVENTS, TRANSACTIONS, TableSchema

__all__: list[str] = []  # private module


def _canonical(table: TableSchema, names: Sequence[str]) -> dict[str, str]:
    """The canonical dtypes of the columns ``names`` of ``table`` (those the shop writes)."""
    return {n: str(table.column(n).dtype) for n in names}


TRANSACTIONS_DTYPES = _canonical(
    TRANSACTIONS, [n for n in TRANSACTIONS.names if n != "description"]
)
EVENTS_DTYPES = _canonical(EVENTS, EVENTS.names)
CATALOG_DTYPES = _canonical(CATALOG, ["sku", "category", "price", "cost", "active"])
CALENDAR_DTYPES: dict[str, str] = {"date": "datetime64[ns]", "event": "string", "is_promo": "bool"}
TRUTH_CUSTOMERS_DTYPES: dict[str, str] = {
    "customer_id": "string",
    "lambda": "float64",
    "p_dropout": "float64",
    "acquired_at": "datetime64[ns]",
    "dropout_at": "datetime64[ns]",
    "alive_at_end": "bool",
    "segment": "string",
    "region": "string",
    "loyalty": "float64",
    "basket_size": "float64",
    "top_category": "string",
}
TRUTH_SKU_DAYS_DTYPES: dict[str, str] = {
    "sku": "string",
    "date": "datetime64[ns]",
    "mean": "float64",
    "dispersion": "float64",
}
TRUTH_SKUS_DTYPES: dict[str, str] = {
    "sku": "string",
    "category": "string",
    "group": "string",
    "launched_at": "datetime64[ns]",
    "discontinued_at": "datetime64[ns]",
    "popularity": "float64",
    "lumpy": "bool",
    "mean_lot": "float64",
    "attach_rate": "float64",
    "promo_discount": "float64",
}

TRUTH_PRICES_DTYPES: dict[str, str] = {
    "sku": "string",
    "category": "string",
    "list_price": "float64",
    "cost": "float64",
    "promo_discount": "float64",
    "elasticity": "float64",
    "own_elasticity": "float64",
    "regular_prices": "int64",
}

ORDER_WIDTH, CUSTOMER_WIDTH, SKU_WIDTH, GROUP_WIDTH = 10, 8, 6, 5
EVENT_NAMES = ("view", "cart", "purchase")
_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS


def schema(dtypes: dict[str, str]) -> pa.Schema:
    """Arrow schema with pandas metadata for a {column: pandas dtype} mapping."""
    empty = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in dtypes.items()})
    return pa.Schema.from_pandas(empty, preserve_index=False)


def _validity(valid: np.ndarray | None) -> pa.Buffer | None:
    if valid is None:
        return None
    return pa.py_buffer(np.packbits(valid.astype(bool), bitorder="little"))


def ids(
    prefix: str | np.ndarray,
    numbers: np.ndarray,
    width: int,
    *,
    valid: np.ndarray | None = None,
) -> pa.Array:
    """Fixed-width ids such as ``C00000042``.

    ``prefix`` is one ASCII string, or a uint8 array holding one prefix character per
    row; ``valid`` marks the non-null rows.
    """
    nums = np.asarray(numbers, dtype=np.int64)
    n = nums.size
    if isinstance(prefix, str):
        head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
        plen = head.size
    else:
        head, plen = prefix, 1
    size = plen + width
    if n * size >= 2**31:
        raise ValueError("too many ids for one Arrow string array; use smaller chunks")
    buf = np.empty((n, size), dtype=np.uint8)
    if isinstance(prefix, str):
        buf[:, :plen] = head
    else:
        buf[:, 0] = head
    if n and (int(nums.min()) < 0 or int(nums.max()) >= 10**width):
        raise ValueError(f"ids for {prefix!r} need numbers in [0, 10**{width})")
    small = n == 0 or (int(nums.min()) >= 0 and int(nums.max()) < 2**32)
    rest: np.ndarray = nums.astype(np.uint32 if small else np.int64)  # 32-bit: 2x faster
    for j in range(size - 1, plen - 1, -1):
        quot = rest // 10
        buf[:, j] = rest - quot * 10 + 48
        rest = quot
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32)
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(buf), _validity(valid)
    )


def labels(names: Sequence[str], codes: np.ndarray) -> pa.Array:
    """Strings ``names[codes]`` for a small vocabulary."""
    return pa.array(list(names), type=pa.string()).take(pa.array(np.asarray(codes)))


def seconds(t: np.ndarray) -> np.ndarray:
    """Days since the start (float) to whole seconds since the start."""
    return np.floor(t * 86_400.0).astype(np.int64)


def timestamps(world: World, secs: np.ndarray, *, valid: np.ndarray | None = None) -> pa.Array:
    """Seconds since the start to a ``timestamp[ns]`` array (null where not ``valid``)."""
    values = world.start.value + secs * _NS
    if valid is None:
        return pa.array(values, type=pa.timestamp("ns"))
    return pa.array(values, type=pa.timestamp("ns"), mask=~valid.astype(bool))


def _sort_key(owner: np.ndarray, secs: np.ndarray, kind: np.ndarray | None = None) -> np.ndarray:
    """Permutation sorting rows by owner, then second, then kind."""
    bits = int(max(int(secs.max(initial=0)), 1)).bit_length() + 2
    key = (owner.astype(np.int64) << bits) | (secs << 2)
    if kind is not None:
        key |= kind.astype(np.int64)
    return np.argsort(key, kind="stable")


def transactions_table(
    world: World, block: Block, order_base: int, return_base: int
) -> tuple[pa.Table, int, int]:
    """Sale lines and returns of a block, sorted by customer and time.

    Returns the table and the next order and return numbers.
    """
    cust, orders, lines, ret = block.customers, block.orders, block.lines, block.returns
    has = np.zeros(orders.owner.size, dtype=bool)
    has[lines.order] = True
    order_num = np.cumsum(has) - 1 + order_base
    n_sale, n_ret = lines.sku.size, ret.line.size

    src_line = np.concatenate([np.arange(n_sale), ret.line])  # sale line of every row
    src_order = lines.order[src_line]
    owner = orders.owner[src_order]
    sku = lines.sku[src_line]
    secs = seconds(np.concatenate([orders.t[lines.order], ret.t]))
    is_ret = np.zeros(n_sale + n_ret, dtype=bool)
    is_ret[n_sale:] = True
    perm = _sort_key(owner, secs)
    owner, sku, secs, is_ret = owner[perm], sku[perm], secs[perm], is_ret[perm]
    src_line, src_order = src_line[perm], src_order[perm]

    day = orders.day[src_order]
    price = world.unit_price(day, sku)
    qty = lines.qty[src_line]
    ret_num = np.zeros(is_ret.size, dtype=np.int64)
    ret_num[n_sale:] = return_base + np.arange(n_ret)
    number = np.where(is_ret, ret_num[perm], order_num[src_order])
    if n_ret:
        qty = np.where(is_ret, np.concatenate([np.zeros(n_sale), ret.qty])[perm], qty)
    prefix = np.where(is_ret, np.uint8(ord("R")), np.uint8(ord("O"))).astype(np.uint8)
    arrays = [
        ids(prefix, number, ORDER_WIDTH),
        ids("C", cust.number[owner], CUSTOMER_WIDTH),
        ids("SKU", world.sku_code[sku], SKU_WIDTH),
        timestamps(world, secs),
        pa.array(qty),
        pa.array(price),
        labels(CHANNELS, orders.channel[src_order]),
        labels(REGIONS, cust.region[owner]),
        labels(world.categories, world.sku_cat[sku]),
        ids("O", order_num[src_order], ORDER_WIDTH, valid=is_ret),
    ]
    table = pa.Table.from_arrays(arrays, schema=schema(TRANSACTIONS_DTYPES))
    return table, order_base + int(has.sum()), return_base + n_ret


def events_table(world: World, block: Block) -> pa.Table:
    """The browsing events of a block, sorted by customer, time and kind."""
    ev = block.events
    if ev is None:
        raise ValueError("block has no events; call add_events first")
    secs = seconds(ev.t)
    perm = _sort_key(ev.owner, secs, ev.kind)
    arrays = [
        ids("C", block.customers.number[ev.owner[perm]], CUSTOMER_WIDTH),
        ids("SKU", world.sku_code[ev.sku[perm]], SKU_WIDTH),
        timestamps(world, secs[perm]),
        labels(EVENT_NAMES, ev.kind[perm]),
    ]
    return pa.Table.from_arrays(arrays, schema=schema(EVENTS_DTYPES))


def truth_customers_table(world: World, block: Block) -> pa.Table:
    """Latent traits and timeline of the block's customers."""
    c = block.customers
    arrays = [
        ids("C", c.number, CUSTOMER_WIDTH),
        pa.array(c.lam),
        pa.array(c.p),
        timestamps(world, seconds(c.t_a)),
        timestamps(world, seconds(np.where(c.dropped, c.t_e, 0.0)), valid=c.dropped),
        pa.array(~c.dropped),
        labels([s[0] for s in SEGMENTS], c.seg),
        labels(REGIONS, c.region),
        pa.array(c.loyalty),
        pa.array(1.0 + c.extra),
        labels(world.categories, np.argmax(c.pi, axis=1)),
    ]
    return pa.Table.from_arrays(arrays, schema=schema(TRUTH_CUSTOMERS_DTYPES))


def sku_order(world: World) -> np.ndarray:
    return np.argsort(world.sku_code)


def sku_keys(world: World, o: np.ndarray) -> list[pa.Array]:
    """The ``sku, category`` columns of the SKUs in the order ``o``."""
    return [ids("SKU", world.sku_code[o], SKU_WIDTH), labels(world.categories, world.sku_cat[o])]


def catalog_table(world: World) -> pa.Table:
    """The catalogue, sorted by SKU id; ``active`` is False once discontinued."""
    o = sku_order(world)
    arrays = [
        *sku_keys(world, o),
        pa.array(world.list_price[o]),
        pa.array(world.cost[o]),
        pa.array(world.end_day[o] >= world.days),
    ]
    return pa.Table.from_arrays(arrays, schema=schema(CATALOG_DTYPES))


def truth_skus_table(world: World) -> pa.Table:
    """SKU attributes the demand was drawn from."""
    o = sku_order(world)
    gone = world.end_day[o] < world.days
    arrays = [
        *sku_keys(world, o),
        ids("B", world.group[o], GROUP_WIDTH),
        timestamps(world, world.launch_day[o] * 86_400),
        timestamps(world, np.where(gone, world.end_day[o], 0) * 86_400, valid=gone),
        pa.array(world.popularity[o] / world.popularity.sum()),
        pa.array(world.lumpy[o]),
        pa.array(world.expected_quantity()[o]),
        pa.array(world.attach[o]),
        pa.array(world.discount[o]),
    ]
    return pa.Table.from_arrays(arrays, schema=schema(TRUTH_SKUS_DTYPES))


def truth_prices_table(world: World) -> pa.Table:
    """The price response the demand was drawn from, per SKU: ``elasticity`` (the
    exponent of price in the SKU's choice weight) and ``own_elasticity`` (of its expected
    units to its own price, others held: what an estimate from sales should recover)."""
    o = sku_order(world)
    arrays = [
        *sku_keys(world, o),
        pa.array(world.list_price[o]),
        pa.array(world.cost[o]),
        pa.array(world.discount[o]),
        pa.array(np.asarray(world.elasticity)[o]),
        pa.array(world.own_elasticity()[o]),
        pa.array(1 + (np.diff(np.asarray(world.price_mult)[:, o], axis=0) != 0).sum(axis=0)),
    ]
    return pa.Table.from_arrays(arrays, schema=schema(TRUTH_PRICES_DTYPES))


def sku_days_tables(
    world: World, mean: np.ndarray, dispersion: np.ndarray, *, skus_per_table: int
) -> Iterator[pa.Table]:
    """True demand per SKU-day, sorted by SKU then date, in tables of whole SKUs."""
    o = sku_order(world)
    D = world.days
    dates = world.start.value + np.arange(D, dtype=np.int64) * _DAY_NS
    sch = schema(TRUTH_SKU_DAYS_DTYPES)
    for lo in range(0, o.size, skus_per_table):
        ks = o[lo : lo + skus_per_table]
        arrays = [
            ids("SKU", np.repeat(world.sku_code[ks], D), SKU_WIDTH),
            pa.array(np.tile(dates, ks.size), type=pa.timestamp("ns")),
            pa.array(mean[:, ks].T.ravel()),
            pa.array(dispersion[:, ks].T.ravel()),
        ]
        yield pa.Table.from_arrays(arrays, schema=sch)


def calendar_table(world: World) -> pa.Table:
    """The promotion calendar the generator used."""
    return pa.Table.from_pandas(
        world.calendar.astype(CALENDAR_DTYPES), schema=schema(CALENDAR_DTYPES), preserve_index=False
    )
