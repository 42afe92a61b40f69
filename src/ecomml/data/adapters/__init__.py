"""Adapters: read CSV/TXT, Parquet and Excel exports into canonical tables.

:func:`read_table` reads a file (DuckDB for text, pyarrow for Parquet, openpyxl for
Excel; no Python row loops), recognises its layout (canonical, UCI Online
Retail / Online Retail II, CDNOW, or any layout plus a column ``mapping``) and
returns a frame validated by :func:`~ecomml.data.schema.validate_table`.
:func:`read_transactions` and :func:`read_events` also clean.

Text files are read with every column as text, so ids keep their leading
zeros and bad cells are reported with their data row numbers. Every file
problem (missing, empty, a directory, not UTF-8, corrupt Parquet, ragged rows)
raises :class:`~ecomml.exceptions.InputFileError` with a one-line message.

The package holds one module per file type (:mod:`.text`, :mod:`.parquet`,
:mod:`.excel`, read through :mod:`.raw`) and per source layout (:mod:`.online_retail`,
:mod:`.cdnow`, chosen in :mod:`.formats`); :mod:`.mapping` handles column mappings,
:mod:`.tables` builds the canonical tables and :mod:`.side_inputs` reads the other files.
"""

from __future__ import annotations

from ecomml.data.adapters._common import RawFile
from ecomml.data.adapters.formats import FORMATS, detect_format
from ecomml.data.adapters.mapping import (
    dates_from,
    load_map_dates,
    load_mapping,
    mapping_from,
    parse_map,
)
from ecomml.data.adapters.raw import read_raw
from ecomml.data.adapters.side_inputs import read_frame
from ecomml.data.adapters.tables import (
    read_catalog,
    read_events,
    read_table,
    read_transactions,
    to_canonical,
)

__all__ = [
    "FORMATS",
    "RawFile",
    "dates_from",
    "detect_format",
    "load_map_dates",
    "load_mapping",
    "mapping_from",
    "parse_map",
    "read_catalog",
    "read_events",
    "read_frame",
    "read_raw",
    "read_table",
    "read_transactions",
    "to_canonical",
]
