"""What the file readers share: the raw-file record, file-type suffixes and read sizes."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

_PARQUET_EXT = {".parquet", ".pq", ".parq"}

_EXCEL_EXT = {".xlsx", ".xlsm", ".xls"}

_CHUNK = 8 << 20

_SAMPLE = 64 << 10


@dataclass
class RawFile:
    """A file read as-is: its frame plus what was learned while reading it."""

    frame: pd.DataFrame
    kind: str  # "csv", "cdnow-text", "parquet", "excel"
    nested: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)  # an Excel workbook's sheets
    sheet: str | None = None  # the sheet read


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
