"""Column mappings ``{source_column: canonical_column}``: load them from YAML and apply them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ecomml._validation import did_you_mean
from ecomml.data.adapters._common import _first_line
from ecomml.data.schema import get_schema
from ecomml.dates import DateFormat
from ecomml.exceptions import ConfigError, InputFileError, SchemaError, short_repr


def _apply_mapping(
    frame: pd.DataFrame, mapping: Mapping[str, str], table: str, where: str
) -> pd.DataFrame:
    schema = get_schema(table)
    columns = [str(c) for c in frame.columns]
    for src, dst in mapping.items():
        if dst not in schema.names:
            hint = did_you_mean(dst, schema.names)
            raise ConfigError(
                f"mapping {src}={dst}: '{dst}' is not a column of the canonical {table} table"
                f"{hint}; targets must be one of {', '.join(schema.names)}."
            )
        if src not in columns:
            hint = did_you_mean(src, columns)
            raise SchemaError(
                f"{where}: mapping {src}={dst} names column '{src}', which is not in the "
                f"file{hint}; found columns {short_repr(columns)}.",
                missing=[src],
                columns=columns,
            )
    targets = list(mapping.values())
    dupes = sorted({t for t in targets if targets.count(t) > 1})
    if dupes:
        raise ConfigError(f"mapping sends several columns to {short_repr(dupes)}; map one each.")
    # A mapped target replaces a same-named column already in the file.
    keep = [c for c in columns if c not in targets or c in mapping]
    return frame[keep].rename(columns=dict(mapping))


#: keys of a map file that say how dates are written (not columns)
_DATE_KEYS = ("date_format", "dayfirst")


def load_mapping(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a column mapping ``{source_column: canonical_column}`` from a YAML file.

    The file is either a flat mapping (``InvoiceNo: order_id``) or has it under a
    ``columns:`` (or ``mapping:``) key. It may also say how dates are written
    (``date_format: '%d/%m/%Y'`` or ``dayfirst: true``): see :func:`load_map_dates`.

    Raises
    ------
    InputFileError
        The file is missing or not valid YAML.
    ConfigError
        The YAML is not a mapping of strings to strings.
    """
    return _read_map_file(path)[0]


def load_map_dates(path: str | os.PathLike[str]) -> DateFormat | None:
    """How a map file says dates are written (``date_format`` / ``dayfirst``), or None."""
    return _read_map_file(path)[1]


def _read_map_file(path: str | os.PathLike[str]) -> tuple[dict[str, str], DateFormat | None]:
    import yaml

    p = Path(path).expanduser()
    if not p.is_file():
        raise InputFileError(f"mapping file not found: {p}.")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeError) as err:
        raise InputFileError(f"{p} is not valid YAML: {_first_line(err)}") from None
    dates = None
    if isinstance(data, dict):
        spec = {k: data.pop(k) for k in _DATE_KEYS if k in data}
        if spec:
            fmt, first = spec.get("date_format"), spec.get("dayfirst")
            if first is not None and not isinstance(first, bool):
                raise ConfigError(f"{p}: dayfirst must be true or false, got {first!r}")
            dates = DateFormat(format=None if fmt is None else str(fmt), dayfirst=first)
    if isinstance(data, dict) and len(data) == 1:
        ((key, inner),) = data.items()
        if key in ("columns", "mapping") and isinstance(inner, dict):
            data = inner
    if not isinstance(data, dict) or not data:
        raise ConfigError(
            f"{p} must hold a mapping of source column to canonical column, e.g. "
            "'InvoiceNo: order_id'."
        )
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:
        raise ConfigError(f"{p}: the canonical column for {short_repr(bad)} must be a name.")
    return {str(k): v for k, v in data.items()}, dates


def parse_map(items: list[str] | None) -> dict[str, str]:
    """Parse ``Source=canonical`` mapping items (each may hold several, comma-separated)."""
    mapping: dict[str, str] = {}
    for item in items or []:
        for part in (p.strip() for p in item.split(",")):
            if not part:
                continue
            if "=" not in part:
                raise ConfigError(
                    f"--map entry {part!r} must look like SourceColumn=canonical_column, "
                    "e.g. --map InvoiceNo=order_id,StockCode=sku"
                )
            src, dst = (s.strip() for s in part.split("=", 1))
            mapping[src] = dst
    return mapping


def mapping_from(
    items: list[str] | None, map_file: str | os.PathLike[str] | None
) -> dict[str, str]:
    """The column mapping of a map file and ``Source=canonical`` items (the items win)."""
    mapping = load_mapping(map_file) if map_file is not None else {}
    return {**mapping, **parse_map(items)}


def dates_from(
    date_format: str | None, dayfirst: bool | None, map_file: str | os.PathLike[str] | None
) -> DateFormat:
    """How the files write dates: the given format or order, else the map file's, else
    ISO and year-first dates only."""
    if date_format is not None or dayfirst is not None:
        return DateFormat.of(date_format, dayfirst)
    if map_file is not None:
        return load_map_dates(map_file) or DateFormat()
    return DateFormat()
