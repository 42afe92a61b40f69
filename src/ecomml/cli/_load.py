"""Options shared by commands that read a shop's data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import typer

from ecomml.cli._common import parse_map

FORMAT_HELP = "Input layout: auto, canonical, online-retail, online-retail-ii, cdnow."

TransactionsOpt = typer.Option(
    None,
    "--transactions",
    "-t",
    help="Transactions file (CSV, Parquet, Excel).",
    show_default=False,
)
FormatOpt = typer.Option("auto", "--format", "-f", help=FORMAT_HELP)
MapOpt = typer.Option(
    None, "--map", help="Column mapping Source=canonical, comma-separated or repeated."
)
MapFileOpt = typer.Option(None, "--map-file", help="YAML file with a column mapping.")
EventsOpt = typer.Option(None, "--events", help="Events file (customer_id, sku, ts, event).")
CatalogOpt = typer.Option(
    None, "--catalog", help="Catalog file (sku, category, price, cost, active)."
)
CalendarOpt = typer.Option(
    None, "--calendar", help="Promotion calendar (date, event, is_promo); default: built-in."
)
EncodingOpt = typer.Option(
    None, "--encoding", help="Text encoding of CSV input, e.g. gbk, gb18030, latin-1, utf-16."
)
DateFormatOpt = typer.Option(
    None,
    "--date-format",
    help="How the files write dates (strftime), e.g. '%d/%m/%Y %H:%M'. Default: ISO and "
    "year-first dates; day/month dates only when the column proves the order.",
)
DayFirstOpt = typer.Option(
    None,
    "--dayfirst/--monthfirst",
    help="Day/month dates such as 01/04/2024 are day-first (1 April) or month-first.",
    show_default=False,
)


def dates_from(date_format: str | None, dayfirst: bool | None, map_file: Path | None) -> Any:
    """The :class:`~ecomml.dates.DateFormat` of the options (they win over the map file's)."""
    from ecomml.dates import DateFormat

    if date_format is not None or dayfirst is not None:
        return DateFormat.of(date_format, dayfirst)
    if map_file is not None:
        from ecomml.data import load_map_dates

        return load_map_dates(map_file) or DateFormat()
    return DateFormat()


def mapping_from(map_items: list[str] | None, map_file: Path | None) -> dict[str, str]:
    """Merge ``--map-file`` and ``--map`` (the latter wins)."""
    mapping: dict[str, str] = {}
    if map_file is not None:
        from ecomml.data import load_mapping

        mapping.update(load_mapping(map_file))
    mapping.update(parse_map(map_items))
    return mapping


AllowFutureOpt = typer.Option(
    False, "--allow-future", help="Accept timestamps after today (e.g. a clock-skewed export)."
)


def max_ts_for(allow_future: bool) -> pd.Timestamp | None:
    """Latest acceptable timestamp: the end of tomorrow, to absorb time-zone skew.

    The CLI may read the clock; the library never does.
    """
    if allow_future:
        return None
    return pd.Timestamp.now().normalize() + pd.Timedelta(days=2)


def shop_from_options(
    transactions: Path | None,
    *,
    cutoff: Any = None,
    format: str = "auto",
    map_items: list[str] | None = None,
    map_file: Path | None = None,
    events: Path | None = None,
    catalog: Path | None = None,
    calendar: Path | None = None,
    encoding: str | None = None,
    allow_future: bool = False,
    seed: int = 0,
    dates: Any = None,
) -> Any:
    """``load_shop`` from the shared data options every task command takes (without
    ``transactions``: the built-in sample shop of ``seed``).

    Rows at or after ``cutoff`` are dropped before cleaning; the clock bounds timestamps
    unless ``--allow-future``.
    """
    from ecomml.data.shop import load_shop

    return load_shop(
        transactions,
        format=format,
        mapping=mapping_from(map_items, map_file),
        events=events,
        catalog=catalog,
        calendar=calendar,
        encoding=encoding,
        max_ts=max_ts_for(allow_future),
        cutoff=cutoff,
        seed=seed,
        dates=dates,
    )
