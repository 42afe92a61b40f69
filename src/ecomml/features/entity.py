"""Entities: what a feature row is about (a customer, a SKU, a customer x SKU pair, a day)."""

from __future__ import annotations

from dataclasses import dataclass

from ecomml.exceptions import ConfigError

__all__ = ["CUSTOMER", "CUSTOMER_SKU", "DATE", "SKU", "SKU_DAY", "SKU_WEEK", "Entity"]

_DTYPES = {"string", "date", "timestamp", "int64"}


@dataclass(frozen=True)
class Entity:
    """A join key for feature views.

    Parameters
    ----------
    name : str
        Entity name, e.g. ``"customer"``.
    keys : tuple of str
        Join columns, e.g. ``("customer_id",)`` or ``("customer_id", "sku")``.
    dtypes : tuple of str
        One dtype per key (``"string"``, ``"date"``, ``"timestamp"`` or ``"int64"``),
        enforced on every frame that crosses the store boundary.
    """

    name: str
    keys: tuple[str, ...]
    dtypes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.keys:
            raise ConfigError(f"entity {self.name!r} needs at least one key column")
        if not self.dtypes:
            object.__setattr__(self, "dtypes", ("string",) * len(self.keys))
        if len(self.dtypes) != len(self.keys):
            raise ConfigError(f"entity {self.name!r}: one dtype per key is required")
        bad = [d for d in self.dtypes if d not in _DTYPES]
        if bad:
            raise ConfigError(f"entity {self.name!r}: unknown dtype(s) {bad}; use one of {_DTYPES}")

    @property
    def key_types(self) -> dict[str, str]:
        """Mapping of key column to dtype."""
        return dict(zip(self.keys, self.dtypes, strict=True))


CUSTOMER = Entity("customer", ("customer_id",))
SKU = Entity("sku", ("sku",))
CUSTOMER_SKU = Entity("customer_sku", ("customer_id", "sku"))
DATE = Entity("date", ("date",), ("date",))
SKU_DAY = Entity("sku_day", ("sku", "date"), ("string", "date"))
SKU_WEEK = Entity("sku_week", ("sku", "week"), ("string", "date"))
