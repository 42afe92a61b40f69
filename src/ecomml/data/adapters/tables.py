"""Canonical tables from raw frames and files: :func:`to_canonical`, :func:`read_table`
and the per-table readers :func:`read_transactions`, :func:`read_events` and
:func:`read_catalog` (the first two also clean)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ecomml._validation import did_you_mean
from ecomml.data.adapters._layout import _check_format_columns, _norm
from ecomml.data.adapters.cdnow import _CDNOW, _from_cdnow
from ecomml.data.adapters.formats import (
    _ALIASES,
    _FORMATS,
    FORMATS,
    detect_format,
    normalize_format,
)
from ecomml.data.adapters.mapping import _apply_mapping
from ecomml.data.adapters.raw import read_raw
from ecomml.data.cleaning import CleaningPolicy, CleaningReport, clean_events, clean_transactions
from ecomml.data.schema import get_schema, validate_table
from ecomml.dates import DateFormat
from ecomml.exceptions import ConfigError, InputFileError, SchemaError, short_repr


def to_canonical(
    frame: pd.DataFrame,
    *,
    table: str = "transactions",
    format: str = "auto",
    mapping: Mapping[str, str] | None = None,
    source: str | None = None,
    max_ts: Any = None,
    dates: DateFormat | None = None,
) -> pd.DataFrame:
    """Turn an in-memory raw frame (e.g. a loaded Online Retail export) into a canonical table.

    Parameters
    ----------
    frame : pandas.DataFrame
        The raw frame with its own column names.
    table : {"transactions", "events", "catalog", "calendar"}
        Canonical table to produce.
    format : {"auto", "canonical", "online-retail", "online-retail-ii", "cdnow"}
        Source layout; ``"auto"`` detects it from the columns.
    mapping : dict, optional
        ``{source_column: canonical_column}`` renames applied first.
    source : str, optional
        File name for messages.
    max_ts : datetime-like, optional
        Latest allowed timestamp (see :func:`~ecomml.data.validate_table`).
    dates : DateFormat, optional
        How dates are written (see :func:`~ecomml.data.validate_table`).

    Returns
    -------
    pandas.DataFrame
        The validated canonical frame.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"InvoiceNo": ["536365"], "StockCode": ["85123A"],
    ...     "Description": ["WHITE HANGING HEART"], "Quantity": [6],
    ...     "InvoiceDate": [pd.Timestamp("2010-12-01 08:26")], "UnitPrice": [2.55],
    ...     "CustomerID": [17850.0], "Country": ["United Kingdom"]})
    >>> to_canonical(raw)[["order_id", "customer_id", "region"]].iloc[0].tolist()
    ['536365', '17850', 'United Kingdom']
    """
    schema = get_schema(table)
    where = f"{source} ({schema.name})" if source else f"the {schema.name} table"
    format = normalize_format(format)
    if format not in FORMATS:
        hint = did_you_mean(str(format), FORMATS)
        raise ConfigError(f"unknown format {format!r}{hint}; choose one of {', '.join(FORMATS)}.")
    if format not in ("auto", "canonical") and table != "transactions":
        raise ConfigError(
            f"format {format!r} describes transactions; read {table} with format='canonical' "
            "(or a column mapping)."
        )
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"{where} must be a pandas DataFrame, got {type(frame).__name__}.")
    frame = frame.copy(deep=False)
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    if mapping:
        frame = _apply_mapping(frame, mapping, schema.name, where)
    fmt = detect_format(list(frame.columns), table=schema.name) if format == "auto" else format
    if fmt == "canonical":
        return validate_table(frame, schema, source=source, max_ts=max_ts, dates=dates)
    spec = _FORMATS[fmt]
    found = _check_format_columns(spec, list(frame.columns), where)
    renamed = frame[list(found.values())].set_axis(list(found), axis=1)
    if spec is _CDNOW:
        renamed = _from_cdnow(renamed, source)
    if (dates is None or not dates.declared) and spec.dayfirst is not None:
        dates = DateFormat(dayfirst=spec.dayfirst)  # the layout says its date order
    return validate_table(renamed, schema, source=source, max_ts=max_ts, dates=dates)


def read_table(
    path: str | os.PathLike[str],
    *,
    table: str = "transactions",
    format: str = "auto",
    mapping: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    max_ts: Any = None,
    dates: DateFormat | None = None,
) -> pd.DataFrame:
    """Read a file into a validated canonical table (no cleaning).

    Parameters
    ----------
    path : path-like
        ``.csv``/``.txt``/``.tsv`` (delimiter sniffed; the CDNOW whitespace file is
        recognised), ``.parquet`` file or folder of Parquet files, or ``.xlsx``.
    table : {"transactions", "events", "catalog", "calendar"}
        Canonical table to produce.
    format : {"auto", "canonical", "online-retail", "online-retail-ii", "cdnow"}
        Source layout; ``"auto"`` detects it from the columns.
    mapping : dict, optional
        ``{source_column: canonical_column}``, e.g. from :func:`load_mapping`.
    sheet : str or int, optional
        Excel sheet (default: the first).
    encoding : str, optional
        Encoding of a text file, e.g. ``"latin-1"``, ``"cp1252"`` or ``"utf-16"``;
        ``None`` requires UTF-8 (with or without BOM).
    max_ts : datetime-like, optional
        Latest allowed timestamp; later rows raise. ``None`` (default) skips the
        check: the library never reads the clock.
    dates : DateFormat, optional
        How the file writes dates: ``DateFormat(format="%d/%m/%Y")`` or
        ``DateFormat(dayfirst=True)``; by default day/month dates are read only when the
        column proves their order (:mod:`ecomml.dates`).

    Returns
    -------
    pandas.DataFrame
        Canonical columns and dtypes (see :mod:`ecomml.data.schema`).

    Raises
    ------
    InputFileError
        The file cannot be read.
    SchemaError
        Columns are missing, misspelled or of an impossible type.
    DataQualityError
        Values are unusable (see :func:`~ecomml.data.validate_table`).
    ConfigError
        An unknown format, encoding or a bad mapping.
    """
    raw = read_raw(path, encoding=encoding, sheet=sheet)
    source = str(path)
    format = normalize_format(format)
    if raw.kind == "cdnow-text":
        if format not in ("auto", "cdnow") or mapping or table != "transactions":
            raise ConfigError(
                f"{source} is a headerless CDNOW whitespace file; read it as transactions "
                "with format='cdnow' (no mapping)."
            )
        format = "cdnow"
    frame = raw.frame
    if raw.nested:  # nested columns are an error only where they would be used
        wanted = {_norm(c) for c in [*(mapping or {}), *get_schema(table).names, *_ALIASES]}
        nested = [c for c in raw.nested if _norm(c) in wanted]
        if nested:
            raise InputFileError(
                f"{source}: Parquet column(s) {short_repr(nested)} hold nested or binary values; "
                "ecomml needs flat columns (text, numbers, dates). Flatten them first."
            )
        frame = frame.drop(columns=raw.nested)
    try:
        return to_canonical(
            frame, table=table, format=format, mapping=mapping, source=source, max_ts=max_ts,
            dates=dates,
        )  # fmt: skip
    except SchemaError as err:
        if raw.kind != "excel" or sheet is not None or len(raw.sheets) < 2 or not err.missing:
            raise
        raise SchemaError(
            f"{source}: the first sheet {raw.sheet!r} of the workbook was read, but it lacks "
            f"the {table} columns; the workbook's sheets are {short_repr(raw.sheets)}. Pick "
            f"the data sheet with --sheet NAME (sheet= in Python), e.g. `ecomml data convert "
            f"{Path(source).name} {table}.parquet --sheet {raw.sheets[1]}`. {err}",
            missing=err.missing,
            columns=err.columns,
        ) from None


def read_transactions(
    path: str | os.PathLike[str],
    *,
    format: str = "auto",
    mapping: Mapping[str, str] | None = None,
    clean: bool = True,
    policy: CleaningPolicy | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    max_ts: Any = None,
    dates: DateFormat | None = None,
) -> tuple[pd.DataFrame, CleaningReport]:
    """Read, validate and (by default) clean a transactions file.

    Parameters
    ----------
    path : path-like
        The file.
    format, mapping, sheet, encoding, max_ts, dates
        See :func:`read_table`.
    clean : bool
        Apply :func:`~ecomml.data.clean_transactions`; with ``False`` the report
        lists no rules.
    policy : CleaningPolicy, optional
        Cleaning rules and parameters; default :class:`CleaningPolicy()`.

    Returns
    -------
    (pandas.DataFrame, CleaningReport)
        The canonical frame and what cleaning did.
    """
    frame = read_table(
        path,
        table="transactions",
        format=format,
        mapping=mapping,
        sheet=sheet,
        encoding=encoding,
        max_ts=max_ts,
        dates=dates,
    )
    if not clean:
        return frame, CleaningReport.unchanged(frame)
    return clean_transactions(frame, policy)


def read_events(
    path: str | os.PathLike[str],
    *,
    mapping: Mapping[str, str] | None = None,
    clean: bool = True,
    sheet: str | int | None = None,
    encoding: str | None = None,
    max_ts: Any = None,
    dates: DateFormat | None = None,
) -> tuple[pd.DataFrame, CleaningReport]:
    """Read and validate an events file; with ``clean``, drop exact duplicate events.

    Returns
    -------
    (pandas.DataFrame, CleaningReport)
        The canonical events frame and what cleaning did.
    """
    frame = read_table(
        path, table="events", mapping=mapping, sheet=sheet, encoding=encoding, max_ts=max_ts,
        dates=dates,
    )  # fmt: skip
    if not clean:
        return frame, CleaningReport.unchanged(frame, table="events")
    return clean_events(frame)


def read_catalog(
    path: str | os.PathLike[str],
    *,
    mapping: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read and validate a catalog file (one row per ``sku``; duplicates raise).

    Returns
    -------
    pandas.DataFrame
        Canonical catalog: ``sku, category, price, cost, active``.
    """
    return read_table(path, table="catalog", mapping=mapping, sheet=sheet, encoding=encoding)
