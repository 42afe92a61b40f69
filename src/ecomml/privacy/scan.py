"""A scanner for raw customer ids and e-mail addresses left in files: :func:`find_raw_ids`
reads Parquet, CSV, JSON, YAML, text, SQLite, PNG text chunks and anything else as
bytes; the tests run it over a whole MLflow store."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from ecomml.privacy.scrub import EMAIL_RE, _id_set, _token_variants, _tokens

_TEXT_SUFFIXES = {".json", ".yaml", ".yml", ".txt", ".md", ".log", ".py", ".toml", ".ini",
                  ".cfg", ".mlmodel", ".html", ".sql", ".tsv"}  # fmt: skip

_SQLITE_MAGIC = b"SQLite format 3\x00"

_PARQUET_MAGIC = b"PAR1"

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

_SCAN_COLUMNS = ["path", "location", "kind", "value"]


def find_raw_ids(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    ids: Iterable[Any],
    *,
    emails: bool = True,
    limit: int | None = 1000,
) -> pd.DataFrame:
    """Scan files and folders (recursively) for raw customer ids and e-mail addresses.

    Parquet files are read column by column (string columns, column names, index
    columns and key-value metadata); SQLite databases table by table; CSV, JSON, YAML
    and other text line by line; any other file (pickles, binary models) as bytes
    decoded leniently, which finds strings stored uncompressed; PNG images by their text
    chunks (their pixels are compressed). Ids are matched as whole
    tokens: ``C0001`` is found in ``"C0001"``, ``C0001.csv`` or ``id=C0001``, never
    inside ``C00012``. Compressed payloads (PNG pixels, zipped files) are not decoded.

    Parameters
    ----------
    paths
        Files and/or directories.
    ids
        The raw customer ids to look for.
    emails
        Also report e-mail-like strings.
    limit
        Stop after this many findings (None: report all).

    Returns
    -------
    pandas.DataFrame
        One row per finding: ``path, location, kind, value`` with ``kind`` ``"customer_id"``
        or ``"email"`` and ``location`` a column, table or line. Empty when clean.
    """
    known = _id_set(ids)
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    rows: list[dict[str, str]] = []

    def report(path: Path, location: str, text: str) -> bool:
        for kind, value in _findings(text, known, emails):
            rows.append({"path": str(path), "location": location, "kind": kind, "value": value})
            if limit is not None and len(rows) >= limit:
                return True
        return False

    for f in _iter_files(paths):
        if _scan_file(f, report):
            break
    return pd.DataFrame(rows, columns=_SCAN_COLUMNS)


def _findings(text: str, known: frozenset[str], emails: bool) -> Iterator[tuple[str, str]]:
    if emails:
        for m in EMAIL_RE.finditer(text):
            yield "email", m.group()
    if known:
        for m in _tokens(text):
            hits = _token_variants(m.group()) & known
            for hit in sorted(hits):
                yield "customer_id", hit


def _iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    for p in paths:
        p = Path(p)
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*") if f.is_file())
        elif p.is_file():
            yield p


def _scan_file(path: Path, report: Callable[[Path, str, str], bool]) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return False
    if head.startswith(_SQLITE_MAGIC):
        return _scan_sqlite(path, report)
    if head.startswith(_PARQUET_MAGIC):
        return _scan_parquet(path, report)
    if head.startswith(_PNG_MAGIC):
        return _scan_png(path, report)
    if path.suffix.lower() in _TEXT_SUFFIXES | {".csv"}:
        return _scan_text(path, report)
    return _scan_bytes(path, report)


def _scan_png(path: Path, report: Callable[[Path, str, str], bool]) -> bool:
    """Only a PNG's text chunks can hold strings; its pixels are compressed noise."""
    import struct
    import zlib

    data = path.read_bytes()
    pos = len(_PNG_MAGIC)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"tEXt":
            text = body.decode("latin-1")
        elif kind in (b"zTXt", b"iTXt"):
            try:
                keyword, _, rest = body.partition(b"\0")
                if kind == b"zTXt":
                    text = (
                        keyword.decode("latin-1")
                        + " "
                        + zlib.decompress(rest[1:]).decode("latin-1")
                    )
                else:
                    compressed, rest = rest[0], rest[2:]
                    _lang, _, rest = rest.partition(b"\0")
                    _tkw, _, value = rest.partition(b"\0")
                    value = zlib.decompress(value) if compressed else value
                    text = keyword.decode("latin-1") + " " + value.decode("utf-8", "replace")
            except (zlib.error, IndexError):
                text = body.decode("latin-1")
        else:
            continue
        if report(path, f"png {kind.decode()}", text):
            return True
    return False


def _scan_text(path: Path, report: Callable[[Path, str, str], bool]) -> bool:
    data = path.read_bytes()
    for enc in ("utf-8", "utf-16"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("latin-1")
    for i, line in enumerate(text.splitlines(), start=1):
        if report(path, f"line {i}", line):
            return True
    return False


def _scan_bytes(path: Path, report: Callable[[Path, str, str], bool]) -> bool:
    data = path.read_bytes()
    # utf-8 strings (pickles, LightGBM text) and utf-16 (some Windows exports)
    texts = [data.decode("latin-1"), data.decode("utf-16-le", errors="ignore")]
    return any(report(path, "bytes", t) for t in texts)


def _scan_parquet(path: Path, report: Callable[[Path, str, str], bool]) -> bool:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (OSError, pa.ArrowException):
        return _scan_bytes(path, report)
    meta = pf.schema_arrow.metadata or {}
    for k, v in meta.items():
        if report(path, "metadata", f"{k.decode(errors='replace')}={v.decode(errors='replace')}"):
            return True
    if report(path, "columns", " ".join(pf.schema_arrow.names)):
        return True
    table = pf.read()
    for name in table.column_names:
        col = table.column(name)
        typ = col.type
        if pa.types.is_dictionary(typ):
            col = col.cast(typ.value_type)
            typ = typ.value_type
        texty = pa.types.is_string(typ) or pa.types.is_large_string(typ)
        nested = pa.types.is_binary(typ) or pa.types.is_list(typ) or pa.types.is_struct(typ)
        # integer columns only where they may hold numeric customer ids
        id_like = pa.types.is_integer(typ) and re.search(r"(?i)cust|user|client|_id$", name)
        if not (texty or nested or id_like):
            continue
        values = pd.Series(col.to_pylist(), dtype="object").dropna().astype(str).unique()
        if report(path, f"column {name}", "\n".join(values)):
            return True
    return False


def _scan_sqlite(path: Path, report: Callable[[Path, str, str], bool]) -> bool:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cur = con.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from sqlite_master
            for row in cur:
                text = "\t".join(
                    v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v)
                    for v in row
                    if v is not None
                )
                if report(path, f"table {table}", text):
                    return True
    finally:
        con.close()
    return False
