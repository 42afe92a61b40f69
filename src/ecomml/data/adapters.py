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
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ecomml._validation import closest_name
from ecomml.data.cleaning import CleaningPolicy, CleaningReport, clean_events, clean_transactions
from ecomml.data.schema import TRANSACTIONS, ColumnSpec, TableSchema, get_schema, validate_table
from ecomml.exceptions import (
    ConfigError,
    DataQualityError,
    InputFileError,
    SchemaError,
    format_rows,
    short_repr,
)

__all__ = [
    "FORMATS",
    "RawFile",
    "detect_format",
    "load_mapping",
    "read_raw",
    "read_table",
    "read_transactions",
    "read_events",
    "read_catalog",
    "read_frame",
    "to_canonical",
]

_PARQUET_EXT = {".parquet", ".pq", ".parq"}
_EXCEL_EXT = {".xlsx", ".xlsm", ".xls"}
_CHUNK = 8 << 20
_SAMPLE = 64 << 10
_DELIMS = (",", ";", "\t", "|")
_CDNOW_LINE = re.compile(r"^\s*\d+\s+\d{8}\s+\d+\s+-?\d+(\.\d+)?\s*$")
_DATALIKE = re.compile(r"[-+]?\d[\d.,:/ T-]*(?:[eE][-+]?\d+)?")
_DECIMAL_COMMA = r"^-?\d{1,3}(?:\.\d{3})*,\d+$|^-?\d+,\d+$|^-?\d+$"
_ENCODING_NAMES = {
    "utf_8": "utf-8",
    "utf_8_sig": "utf-8",
    "latin_1": "latin-1",
    "iso8859_1": "latin-1",
    "cp1252": "cp1252",
    "utf_16": "utf-16",
    "utf_16_le": "utf-16-le",
    "utf_16_be": "utf-16-be",
}


@dataclass
class RawFile:
    """A file read as-is: its frame plus what was learned while reading it."""

    frame: pd.DataFrame
    kind: str  # "csv", "cdnow-text", "parquet", "excel"
    nested: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)  # an Excel workbook's sheets
    sheet: str | None = None  # the sheet read


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


def _parquet_parts(path: Path) -> list[Path]:
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and p.suffix.lower() in _PARQUET_EXT and not p.name.startswith((".", "_"))
    )


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


# ------------------------------------------------------------------------------ text


def _normalize_encoding(encoding: str | None) -> str:
    if encoding is None:
        return "utf-8"
    try:
        name = codecs.lookup(encoding).name.replace("-", "_")
    except LookupError as err:
        raise ConfigError(
            f"unknown encoding {encoding!r}; use e.g. utf-8, latin-1, cp1252 or utf-16."
        ) from err
    return _ENCODING_NAMES.get(name, name)


def _guess_encoding(data: bytes) -> tuple[str, str]:
    """Return (human name, option value) for bytes that are not UTF-8."""
    if (
        data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        or data.count(b"\x00") > len(data) // 8
    ):
        return "UTF-16", "utf-16"
    if any(0x80 <= b <= 0x9F for b in data):
        return "Windows-1252 (cp1252)", "cp1252"
    return "Latin-1 (ISO-8859-1)", "latin-1"


@contextlib.contextmanager
def _gunzip_copy(path: Path) -> Iterator[Path]:
    """Yield a decompressed temp copy of a gzip file (a ``.csv.gz`` export)."""
    fd, tmp = tempfile.mkstemp(prefix="ecomml-", suffix=".csv")
    try:
        try:
            with gzip.open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
        except (OSError, EOFError, zlib.error) as err:
            raise InputFileError(
                f"{path} is gzip-compressed but cannot be decompressed ({_first_line(err)}); "
                "it looks truncated or corrupt. Compress or export it again."
            ) from None
        if os.path.getsize(tmp) == 0:
            raise InputFileError(f"{path} is an empty gzip file. Export the data again.")
        yield Path(tmp)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _check_utf8(path: Path, name: Path | None = None) -> None:
    """Stream the file through a strict UTF-8 decoder; raise naming the likely encoding."""
    shown = name or path
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines = 0, 0
    with open(path, "rb") as fh:
        first = True
        while chunk := fh.read(_CHUNK):
            if first:
                first = False
                head = chunk[:_SAMPLE]
                if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (b"\x00" in head):
                    name, opt = _guess_encoding(head)
                    if name != "UTF-16":
                        name, opt = "binary data", ""
                    raise _encoding_error(shown, name, opt, None)
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as err:
                pos = max(err.start, 0)
                line = lines + chunk[:pos].count(b"\n") + 1
                bad = chunk[pos : pos + 1]
                name, opt = _guess_encoding(chunk[max(0, pos - 4096) : pos + 4096])
                raise _encoding_error(shown, name, opt, (line, offset + pos, bad)) from None
            lines += chunk.count(b"\n")
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InputFileError(
                f"{shown} ends in the middle of a UTF-8 character; the file looks truncated. "
                "Export it again."
            ) from None


def _encoding_error(
    path: Path, name: str, option: str, where: tuple[int, int, bytes] | None
) -> InputFileError:
    if not option:
        return InputFileError(
            f"{path} is not a text file (it contains NUL bytes); pass a CSV, Parquet or Excel file."
        )
    detail = ""
    if where is not None:
        line, _, byte = where
        char = byte.decode(option if option != "utf-16" else "latin-1", errors="replace")
        detail = f": byte 0x{byte.hex().upper()} ({char!r}) on line {line}"
    return InputFileError(
        f"{path} is not UTF-8 text{detail}; it looks like {name}. Re-save it as UTF-8, or "
        f"pass encoding='{option}' (CLI: --encoding {option})."
    )


@contextlib.contextmanager
def _utf8_copy(path: Path, encoding: str, name: Path | None = None) -> Iterator[Path]:
    """Yield a UTF-8 version of ``path``: the file itself, or a transcoded temp copy."""
    if encoding == "utf-8":
        _check_utf8(path, name)
        yield path
        return
    fd, tmp = tempfile.mkstemp(prefix="ecomml-", suffix=".csv")
    try:
        with (
            open(path, encoding=encoding, newline="") as src,
            os.fdopen(fd, "w", encoding="utf-8", newline="") as dst,
        ):
            while block := src.read(_CHUNK):
                dst.write(block.replace("\x00", ""))
        yield Path(tmp)
    except UnicodeDecodeError as err:
        raise InputFileError(
            f"{name or path} is not valid {encoding} text ({err.reason} at byte {err.start}); "
            "check the encoding= option."
        ) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _sniff_delimiter(lines: list[str]) -> str:
    """Pick the delimiter that splits the sample lines into the same number (> 1) of fields."""
    best, best_score = ",", (0, 0)
    for d in _DELIMS:
        counts = [len(r) for r in csv.reader(lines, delimiter=d) if r]
        if not counts or max(counts) < 2:
            continue
        consistent = sum(c == counts[0] for c in counts)
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = d, score
    return best


def _read_text(path: Path, encoding: str | None, *, name: Path | None = None) -> RawFile:
    """Read a delimited (or CDNOW whitespace) text file; ``name`` is the file the user gave
    when ``path`` is a decompressed copy."""
    enc = _normalize_encoding(encoding)
    data, path = path, name or path
    with _utf8_copy(data, enc, path) as src:
        with open(src, encoding="utf-8-sig", newline="") as fh:
            sample = fh.read(_SAMPLE)
        lines = [ln for ln in sample.splitlines() if ln.strip()]
        if len(lines) > 1 and sample and not sample.endswith(("\n", "\r")):
            lines = lines[:-1]  # the last sampled line may be cut short
        if not lines:
            raise InputFileError(f"{path} holds only blank lines. Export the data again.")
        if lines[0].lstrip().startswith(("[{", "{", '["', "[]")):
            raise InputFileError(
                f"{path} looks like JSON, not a delimited text file. ecomml reads CSV, "
                "Parquet or Excel: convert it first, e.g. pd.read_json(path).to_parquet(...)."
            )
        if _CDNOW_LINE.match(lines[0]) or (len(lines) > 1 and _CDNOW_LINE.match(lines[1])):
            frame = _read_whitespace(src, path, header=not _CDNOW_LINE.match(lines[0]))
            return RawFile(frame, "cdnow-text")
        delim = _sniff_delimiter(lines[:50])
        header = next(csv.reader([lines[0]], delimiter=delim))
        names = [h.strip() or f"column{i + 1}" for i, h in enumerate(header)]
        datalike = [h for h in header if _DATALIKE.fullmatch(h.strip())]
        if len(header) > 1 and len(datalike) * 2 >= len(header):
            # never echo the line: it is a data row and may hold customer ids
            raise InputFileError(
                f"{path}: the first line looks like data, not a header ({len(datalike)} of "
                f"{len(header)} fields are numbers or dates). Add a header line with the "
                "column names, e.g. order_id,customer_id,sku,ts,quantity,price."
            )
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SchemaError(
                f"{path} has duplicate column names {short_repr(dupes)} in its header; give "
                "each column a unique name.",
                columns=names,
            )
        con = duckdb.connect()
        try:
            rel = con.read_csv(
                str(src),
                header=True,
                auto_detect=False,
                delimiter=delim,
                quotechar='"',
                escapechar='"',
                columns=dict.fromkeys(names, "VARCHAR"),
                compression="none",  # gzip was undone above; a misnamed .gz is plain text
            )
            frame = rel.df()
        except duckdb.Error as err:
            raise _csv_error(path, delim, err) from None
        finally:
            con.close()
    if delim == ";":
        frame = _fix_decimal_commas(frame)
    return RawFile(frame, "csv")


def _csv_error(path: Path, delim: str, err: Exception) -> InputFileError:
    text = str(err)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    cols = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    where = f" on line {line.group(1)}" if line else ""
    reason = [
        ln.strip()
        for ln in text.splitlines()[1:]
        if ln.strip() and not ln.startswith(("Original Line", "Possible fixes", "*", " "))
    ]
    if cols:
        what = f"{cols.group(2)} fields where the header has {cols.group(1)}"
    elif line and reason:
        what = reason[0].rstrip(".").lower()
    else:
        what = text.splitlines()[0].removeprefix("Invalid Input Error: ").rstrip(".")
    fix = f"Check the delimiter (detected {delim!r}) and that text containing it is quoted."
    size = re.search(
        r"maximum line size of (\d+) bytes exceeded\. actual size:\s*(\d+)", text, re.I
    )
    if size:
        what = (
            f"the line is {int(size.group(2)):,} bytes long, more than the "
            f"{int(size.group(1)):,} bytes allowed per line"
        )
        fix = (
            "A field this long is usually an unclosed quote or binary data pasted into a "
            "cell: fix those cells in the export, or drop that column."
        )
    return InputFileError(f"{path} is not a well-formed CSV file{where}: {what}. {fix}")


def _read_whitespace(src: Path, path: Path, *, header: bool) -> pd.DataFrame:
    names = ["customer_id", "date", "number_of_cds", "dollar_value"]
    try:
        return pd.read_csv(
            src, sep=r"\s+", header=0 if header else None, names=names, dtype=str, engine="c"
        )
    except (ValueError, pd.errors.ParserError) as err:
        raise InputFileError(
            f"{path} looks like the CDNOW whitespace format (customer_id YYYYMMDD n_cds "
            f"dollars) but cannot be parsed: {str(err).splitlines()[0]}"
        ) from None


def _fix_decimal_commas(frame: pd.DataFrame) -> pd.DataFrame:
    """In semicolon files, turn decimal commas (``2,55``; ``1.234,5``) into dots."""
    for col in frame.columns:
        s = frame[col]
        if s.dtype != object:
            continue
        vals = s.dropna()
        if vals.empty or not vals.str.contains(",", regex=False).any():
            continue
        if vals.str.strip().str.fullmatch(_DECIMAL_COMMA).all():
            frame[col] = (
                s.str.strip().str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
            )
    return frame


# --------------------------------------------------------------------------- parquet


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _read_parquet(path: Path) -> RawFile:
    parts = _parquet_parts(path) if path.is_dir() else [path]
    try:
        schemas = [pq.read_schema(p) for p in parts]
    except (pa.ArrowException, OSError) as err:
        raise InputFileError(
            f"{path} is not a readable Parquet file ({_first_line(err)}); it looks truncated "
            "or corrupt. Write it again."
        ) from None
    for p, s in zip(parts[1:], schemas[1:], strict=True):
        if not s.equals(schemas[0]):
            diff = sorted(set(map(str, s)) ^ set(map(str, schemas[0])))
            raise InputFileError(
                f"{path}: Parquet file {p.name} has a different schema from {parts[0].name} "
                f"({short_repr(diff)}); every file in the folder needs the same columns "
                "and types."
            )
    try:
        table = pq.read_table(path) if path.is_dir() else pq.ParquetFile(path).read()
        frame = table.to_pandas()
    except (pa.ArrowException, OSError, ValueError) as err:
        raise InputFileError(
            f"{path} is not a readable Parquet file ({_first_line(err)}); it looks truncated "
            "or corrupt. Write it again."
        ) from None
    nested = [
        f.name
        for f in schemas[0]
        if pa.types.is_nested(f.type)
        or pa.types.is_binary(f.type)
        or pa.types.is_large_binary(f.type)
    ]
    frame.columns = [str(c) for c in frame.columns]
    return RawFile(frame.reset_index(drop=True), "parquet", nested=nested)


# ----------------------------------------------------------------------------- excel


def _read_excel(path: Path, sheet: str | int | None) -> RawFile:
    try:
        book = pd.ExcelFile(path)
    except ImportError as err:
        raise InputFileError(
            f"reading {path.suffix} files needs an extra package ({_first_line(err)}); "
            "re-save the workbook as .xlsx or CSV."
        ) from None
    except (zipfile.BadZipFile, ValueError, OSError, KeyError) as err:
        raise InputFileError(
            f"{path} is not a readable Excel workbook ({_first_line(err)}); it looks "
            "truncated or corrupt. Save it again as .xlsx or CSV."
        ) from None
    with book:
        names = [str(n) for n in book.sheet_names]
        if sheet is None:
            chosen: str | int = 0
        elif isinstance(sheet, int) or (
            isinstance(sheet, str) and sheet.isdigit() and sheet not in names
        ):
            chosen = int(sheet)
            if not 0 <= chosen < len(names):
                raise InputFileError(
                    f"{path} has {len(names)} sheet(s) {short_repr(names)}; sheet index {chosen} "
                    "does not exist."
                )
        elif sheet in names:
            chosen = sheet
        else:
            raise InputFileError(
                f"{path} has no sheet {sheet!r}; its sheets are {short_repr(names)}."
            )
        try:
            frame = book.parse(chosen, dtype=object)
        except (ValueError, KeyError, OSError, zipfile.BadZipFile) as err:
            raise InputFileError(
                f"{path}: cannot read sheet {chosen!r} ({_first_line(err)})."
            ) from None
    frame.columns = [str(c) for c in frame.columns]
    frame = frame.loc[
        :, [not c.startswith("Unnamed:") or frame[c].notna().any() for c in frame.columns]
    ]
    read = names[chosen] if isinstance(chosen, int) else chosen
    return RawFile(frame.reset_index(drop=True), "excel", sheets=names, sheet=read)


# --------------------------------------------------------------------------- formats


@dataclass(frozen=True)
class _SourceFormat:
    """A known export layout: for each canonical column, the source names it may carry."""

    name: str
    label: str
    aliases: dict[str, tuple[str, ...]]
    required: tuple[str, ...]


_ONLINE_RETAIL = _SourceFormat(
    name="online-retail",
    label="an Online Retail (UCI) export",
    aliases={
        "order_id": ("InvoiceNo", "Invoice", "order_id"),
        "sku": ("StockCode", "sku"),
        "description": ("Description",),
        "quantity": ("Quantity", "quantity"),
        "ts": ("InvoiceDate", "ts"),
        "price": ("UnitPrice", "Price", "price"),
        "customer_id": ("CustomerID", "Customer ID", "customer_id"),
        "region": ("Country", "region"),
    },
    required=("order_id", "sku", "quantity", "ts", "price", "customer_id"),
)

_CDNOW = _SourceFormat(
    name="cdnow",
    label="a CDNOW master file",
    aliases={
        "customer_id": ("customer_id", "cust_id", "CustomerID"),
        "date": ("date",),
        "number_of_cds": ("number_of_cds", "n_cds", "cds"),
        "dollar_value": ("dollar_value", "dollars", "value"),
    },
    required=("customer_id", "date", "number_of_cds", "dollar_value"),
)

_CDNOW_RAW = TableSchema(
    name="cdnow",
    columns=(
        ColumnSpec("customer_id", "string"),
        ColumnSpec("date", "date"),
        ColumnSpec("number_of_cds", "float64"),
        ColumnSpec("dollar_value", "float64"),
    ),
)

_FORMATS: dict[str, _SourceFormat] = {
    "online-retail": _ONLINE_RETAIL,
    "online-retail-ii": _ONLINE_RETAIL,  # both spellings are accepted under either name
    "cdnow": _CDNOW,
}

_ALIASES = {a for f in (_ONLINE_RETAIL, _CDNOW) for names in f.aliases.values() for a in names}

#: Accepted values of ``format``.
FORMATS: tuple[str, ...] = ("auto", "canonical", "online-retail", "online-retail-ii", "cdnow")


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]", "", str(name)).lower()


def _resolve(fmt: _SourceFormat, columns: list[str]) -> dict[str, str]:
    """Map canonical name -> source column for the aliases present (case/space-insensitive)."""
    by_norm = {_norm(c): c for c in columns}
    found: dict[str, str] = {}
    for canon, names in fmt.aliases.items():
        for n in names:
            if _norm(n) in by_norm:
                found[canon] = by_norm[_norm(n)]
                break
    return found


def detect_format(columns: list[str], *, table: str = "transactions") -> str:
    """Guess the format of a file from its column names.

    Parameters
    ----------
    columns : list of str
        The file's column names.
    table : str
        Canonical table being read; only ``transactions`` has non-canonical formats.

    Returns
    -------
    str
        ``"online-retail"``, ``"cdnow"`` or ``"canonical"`` (the fallback, so that
        validation names the missing canonical columns).
    """
    if table != "transactions":
        return "canonical"
    canon = set(TRANSACTIONS.required)
    scores = {"canonical": len(canon & {str(c).strip() for c in columns}) / len(canon)}
    for key in ("online-retail", "cdnow"):
        fmt = _FORMATS[key]
        found = _resolve(fmt, columns)
        own = [c for c in fmt.required if c in found and found[c] not in canon]
        scores[key] = len([c for c in fmt.required if c in found]) / len(fmt.required)
        if not own:  # only canonical names matched: that is the canonical format
            scores[key] = 0.0
    best = max(scores, key=lambda k: (scores[k], k == "canonical"))
    return best if scores[best] >= 0.5 else "canonical"


def _check_format_columns(fmt: _SourceFormat, columns: list[str], where: str) -> dict[str, str]:
    found = _resolve(fmt, columns)
    missing = [c for c in fmt.required if c not in found]
    if not missing:
        return found
    spare = [c for c in columns if c not in found.values()]
    hints, fixes = [], []
    canonical = set(get_schema("transactions").names)
    for m in missing:
        # a canonical target (order_id) is reached by mapping, so name only the source
        # spellings; a layout's own column (CDNOW's date) is named itself
        names = fmt.aliases[m] if m in canonical else (m, *fmt.aliases[m])
        expected = " or ".join(
            dict.fromkeys(f"'{a}'" for a in names if a != m or m not in canonical)
        )
        near = None
        for alias in fmt.aliases[m]:
            near = closest_name(alias, spare)
            if near:
                break
        hints.append(f"{expected}" + (f" (did you mean '{near}'?)" if near else ""))
        fixes.append(f"{near or '<your column>'}={m}")
    if all(m in canonical for m in missing):
        how = (
            f"Rename the column, or map it: --map {','.join(fixes)} "
            f"(mapping={{'{fixes[0].split('=')[0]}': '{missing[0]}'}} in Python)."
        )
    else:  # a source layout's own columns (e.g. CDNOW's date): only a rename fixes it
        renames = ", ".join(f"'{f.split('=')[0]}' to '{f.split('=')[1]}'" for f in fixes)
        how = f"Rename {renames} in the file, or read it with --format canonical and a --map."
    raise SchemaError(
        f"{where} looks like {fmt.label} but has no column {'; '.join(hints)}; found "
        f"columns {short_repr(columns)}. {how}",
        missing=missing,
        columns=columns,
    )


def _from_cdnow(raw: pd.DataFrame, source: str | None) -> pd.DataFrame:
    """CDNOW rows -> transactions: one order (sku "CD") per customer and day."""
    cdnow = validate_table(raw, _CDNOW_RAW, source=source)
    day = cdnow.groupby(["customer_id", "date"], sort=False, as_index=False).agg(
        quantity=("number_of_cds", "sum"), amount=("dollar_value", "sum")
    )
    qty = day["quantity"].to_numpy()
    price = np.divide(
        day["amount"].to_numpy(), qty, out=np.zeros(len(day), dtype="float64"), where=qty > 0
    )
    return pd.DataFrame(
        {
            "order_id": day["customer_id"] + "-" + day["date"].dt.strftime("%Y%m%d"),
            "customer_id": day["customer_id"],
            "sku": "CD",
            "ts": day["date"],
            "quantity": qty,
            "price": price,
        }
    )


def _apply_mapping(
    frame: pd.DataFrame, mapping: Mapping[str, str], table: str, where: str
) -> pd.DataFrame:
    schema = get_schema(table)
    columns = [str(c) for c in frame.columns]
    for src, dst in mapping.items():
        if dst not in schema.names:
            near = closest_name(dst, schema.names)
            hint = f" (did you mean '{near}'?)" if near else ""
            raise ConfigError(
                f"mapping {src}={dst}: '{dst}' is not a column of the canonical {table} table"
                f"{hint}; targets must be one of {', '.join(schema.names)}."
            )
        if src not in columns:
            near = closest_name(src, columns)
            hint = f" (did you mean '{near}'?)" if near else ""
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


def load_mapping(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a column mapping ``{source_column: canonical_column}`` from a YAML file.

    The file is either a flat mapping (``InvoiceNo: order_id``) or has it under a
    ``columns:`` (or ``mapping:``) key.

    Raises
    ------
    InputFileError
        The file is missing or not valid YAML.
    ConfigError
        The YAML is not a mapping of strings to strings.
    """
    import yaml

    p = Path(path).expanduser()
    if not p.is_file():
        raise InputFileError(f"mapping file not found: {p}.")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeError) as err:
        raise InputFileError(f"{p} is not valid YAML: {_first_line(err)}") from None
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
    return {str(k): v for k, v in data.items()}


def to_canonical(
    frame: pd.DataFrame,
    *,
    table: str = "transactions",
    format: str = "auto",
    mapping: Mapping[str, str] | None = None,
    source: str | None = None,
    max_ts: Any = None,
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
    if format not in FORMATS:
        near = closest_name(str(format), FORMATS)
        hint = f" (did you mean '{near}'?)" if near else ""
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
        return validate_table(frame, schema, source=source, max_ts=max_ts)
    spec = _FORMATS[fmt]
    found = _check_format_columns(spec, list(frame.columns), where)
    renamed = frame[list(found.values())].set_axis(list(found), axis=1)
    if spec is _CDNOW:
        renamed = _from_cdnow(renamed, source)
    return validate_table(renamed, schema, source=source, max_ts=max_ts)


def read_table(
    path: str | os.PathLike[str],
    *,
    table: str = "transactions",
    format: str = "auto",
    mapping: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    max_ts: Any = None,
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
            frame, table=table, format=format, mapping=mapping, source=source, max_ts=max_ts
        )
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
) -> tuple[pd.DataFrame, CleaningReport]:
    """Read, validate and (by default) clean a transactions file.

    Parameters
    ----------
    path : path-like
        The file.
    format, mapping, sheet, encoding, max_ts
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
) -> tuple[pd.DataFrame, CleaningReport]:
    """Read and validate an events file; with ``clean``, drop exact duplicate events.

    Returns
    -------
    (pandas.DataFrame, CleaningReport)
        The canonical events frame and what cleaning did.
    """
    frame = read_table(
        path, table="events", mapping=mapping, sheet=sheet, encoding=encoding, max_ts=max_ts
    )
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


def read_frame(
    path: str | os.PathLike[str],
    *,
    what: str,
    required: Sequence[str] = (),
    text: Sequence[str] | None = None,
    numeric: Sequence[str] = (),
) -> pd.DataFrame:
    """Read a side input that is not a canonical table (a forecast, on-hand stock, a
    customer list, boosts) with the same file checks as the canonical tables.

    Missing, empty, binary, wrongly encoded, gzip, truncated Parquet/Excel files and
    directories raise one-line errors naming the file. Text files are read as text, so
    ids keep their leading zeros; other columns of a text file become numbers when every
    value is one.

    Parameters
    ----------
    path : path-like
        CSV/TXT (delimiter sniffed), Parquet (file or folder) or Excel file.
    what : str
        What the file is, for messages, e.g. ``"on-hand"`` or ``"--customers"``.
    required : sequence of str
        Columns that must be present.
    text : sequence of str, optional
        Columns kept as text (ids); ``None`` keeps every column of a text file as text.
    numeric : sequence of str
        Columns that must hold numbers (empty cells allowed); other values raise naming
        the rows.

    Raises
    ------
    InputFileError, SchemaError, DataQualityError
    """
    p = Path(path).expanduser()
    try:
        frame = read_raw(p).frame
    except InputFileError as err:  # side inputs take no --encoding: UTF-8 is the fix
        msg = re.sub(r", or pass encoding='[^']+' \(CLI: --encoding [^)]+\)", "", str(err))
        raise InputFileError(msg) from None
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        hints = []
        for m in missing:
            near = closest_name(m, [c for c in frame.columns if c not in required])
            hints.append(f"'{m}'" + (f" (did you mean '{near}'?)" if near else ""))
        raise SchemaError(
            f"{p} ({what}) is missing required column(s) {', '.join(hints)}; found columns "
            f"{short_repr(list(frame.columns))}. Rename the column(s) in the file.",
            missing=missing,
            columns=list(frame.columns),
        )
    if frame.empty:
        raise DataQualityError(f"{p} ({what}) has no data rows (only a header).")
    for col in frame.columns:
        s = frame[col]
        if text is None and col not in numeric or text is not None and col in text:
            continue
        if s.dtype != object and not pd.api.types.is_string_dtype(s.dtype):
            continue
        given = s.astype(object).where(s.notna(), None)
        blank = given.map(lambda v: v is None or (isinstance(v, str) and not v.strip()))
        num = pd.to_numeric(given.where(~blank, None), errors="coerce")
        bad = (~blank & num.isna()).to_numpy()
        if not bad.any():
            frame[col] = num.astype("float64")
        elif col in numeric:
            rows = [int(i) + 1 for i in np.flatnonzero(bad)]
            raise DataQualityError(
                f"{p} ({what}): column '{col}' has text that is not a number at data "
                f"{format_rows(rows)} (header not counted): "
                f"{short_repr([str(v) for v in given[bad][:5]])}. Fix those cells.",
                bad_rows=rows,
            )
    return frame
