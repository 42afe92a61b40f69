"""Read any supported file as-is (:func:`read_raw`): check the path, tell CSV, gzip,
Parquet and Excel apart by their first bytes, and hand the file to its reader."""

from __future__ import annotations

import os
from pathlib import Path

from ecomml.data.adapters._common import _EXCEL_EXT, _PARQUET_EXT, RawFile
from ecomml.data.adapters.excel import _read_excel
from ecomml.data.adapters.parquet import _parquet_parts, _read_parquet
from ecomml.data.adapters.text import _gunzip_copy, _read_text
from ecomml.exceptions import InputFileError


def _file_kind(path: Path) -> str:
    """Guess ``"csv"``, ``"parquet"`` or ``"excel"`` from the first bytes, then the extension."""
    if path.is_dir():
        return "parquet"
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        return "excel"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    ext = path.suffix.lower()
    if ext in _PARQUET_EXT:
        return "parquet"  # no magic bytes: reported as corrupt by the Parquet reader
    if ext in _EXCEL_EXT:
        return "excel"
    return "csv"


def _check_path(path: Path) -> None:
    if not path.exists():
        raise InputFileError(f"file not found: {path}. Check the path and spelling.")
    if path.is_dir():
        if not _parquet_parts(path):
            raise InputFileError(
                f"{path} is a directory, not a file. Pass a CSV, Parquet or Excel file "
                "(a directory is read only when it holds .parquet files)."
            )
        return
    if path.stat().st_size == 0:
        raise InputFileError(f"{path} is empty (0 bytes). Export the data again.")


def read_raw(
    path: str | os.PathLike[str], *, encoding: str | None = None, sheet: str | int | None = None
) -> RawFile:
    """Read any supported file into a raw frame (file's own columns, text as text).

    Parameters
    ----------
    path : path-like
        A .csv/.txt/.tsv file, a .parquet file or folder of .parquet files, or .xlsx.
    encoding : str, optional
        Text encoding of a text file; ``None`` requires UTF-8 (a BOM is fine).
    sheet : str or int, optional
        Excel sheet name or 0-based index; default the first sheet.

    Raises
    ------
    InputFileError
        The file cannot be read (missing, empty, directory, encoding, corrupt).
    """
    p = Path(path).expanduser()
    _check_path(p)
    kind = _file_kind(p)
    if kind == "parquet":
        return _read_parquet(p)
    if kind == "excel":
        return _read_excel(p, sheet)
    if kind == "gzip":
        with _gunzip_copy(p) as plain:
            return _read_text(plain, encoding, name=p)
    return _read_text(p, encoding)
