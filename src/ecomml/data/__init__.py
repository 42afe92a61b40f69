"""Canonical tables, adapters, cleaning, validation and the promotion calendar.

Read an export with :func:`read_transactions` (or :func:`read_table`), which returns
a frame with the canonical columns and dtypes of :mod:`ecomml.data.schema`, cleaned
by an explicit :class:`CleaningPolicy` with a :class:`CleaningReport`.
The synthetic generators live in :mod:`ecomml.data.synth` (imported on demand).
"""

from __future__ import annotations

from ecomml.data.adapters import (
    FORMATS,
    detect_format,
    load_map_dates,
    load_mapping,
    read_catalog,
    read_events,
    read_frame,
    read_table,
    read_transactions,
    to_canonical,
)
from ecomml.data.calendar import BUILTIN_EVENTS, promo_calendar, read_calendar
from ecomml.data.cleaning import (
    CleaningPolicy,
    CleaningReport,
    RuleResult,
    clean_events,
    clean_transactions,
)
from ecomml.data.schema import (
    CALENDAR,
    CATALOG,
    EVENTS,
    SCHEMAS,
    TRANSACTIONS,
    ColumnSpec,
    TableSchema,
    get_schema,
    validate_table,
)
from ecomml.data.shop import ShopData, default_cutoff, load_shop

__all__ = [
    "BUILTIN_EVENTS",
    "CALENDAR",
    "CATALOG",
    "EVENTS",
    "FORMATS",
    "SCHEMAS",
    "TRANSACTIONS",
    "CleaningPolicy",
    "CleaningReport",
    "ColumnSpec",
    "RuleResult",
    "ShopData",
    "TableSchema",
    "clean_events",
    "clean_transactions",
    "default_cutoff",
    "detect_format",
    "get_schema",
    "load_map_dates",
    "load_mapping",
    "load_shop",
    "promo_calendar",
    "read_calendar",
    "read_catalog",
    "read_events",
    "read_frame",
    "read_table",
    "read_transactions",
    "to_canonical",
    "validate_table",
]
