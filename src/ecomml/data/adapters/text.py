"""Delimited text files (CSV/TXT/TSV, plain or gzip): encoding checks, delimiter
sniffing, one-line errors for malformed rows, and decimal commas in semicolon files.

Every column is read as text (DuckDB, no Python row loops), so ids keep their leading
zeros. A CDNOW whitespace file is recognised here and read by :mod:`.cdnow`.
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
import zlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

from ecomml._validation import check_unique_columns
from ecomml.data.adapters._common import _CHUNK, _SAMPLE, RawFile, _first_line
from ecomml.data.adapters.cdnow import _CDNOW_LINE, _read_whitespace
from ecomml.exceptions import ConfigError, InputFileError

_DELIMS = (",", ";", "\t", "|")

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
    "gbk": "gbk",
    "gb18030": "gb18030",
    "gb2312": "gb18030",  # GB18030 is a superset: nothing GB2312 holds is lost
    "big5": "big5",
}


def _normalize_encoding(encoding: str | None) -> str:
    if encoding is None:
        return "utf-8"
    try:
        name = codecs.lookup(encoding).name.replace("-", "_")
    except LookupError as err:
        raise ConfigError(
            f"unknown encoding {encoding!r}; use e.g. utf-8, gbk, gb18030, big5, latin-1, "
            "cp1252 or utf-16."
        ) from err
    return _ENCODING_NAMES.get(name, name)


def _guess_encoding(data: bytes) -> tuple[str, str]:
    """Return (human name, option value) for bytes that are not UTF-8.

    Chinese text (GBK/GB18030 from Excel on Chinese Windows, Big5) is told from Latin
    text by its byte runs: CJK characters are byte pairs, so every run of bytes >= 0x80
    has even length and decodes to CJK characters; accented Latin letters stand alone.
    """
    if (
        data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        or data.count(b"\x00") > len(data) // 8
    ):
        return "UTF-16", "utf-16"
    cjk = _cjk_encoding(data)
    if cjk is not None:
        return cjk
    if any(0x80 <= b <= 0x9F for b in data):
        return "Windows-1252 (cp1252)", "cp1252"
    return "Latin-1 (ISO-8859-1)", "latin-1"


_CJK_RUNS = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3000 <= o <= 0x303F or 0xFF00 <= o <= 0xFFEF


def _cjk_encoding(data: bytes) -> tuple[str, str] | None:
    """``("GBK/GB18030 (simplified Chinese)", "gb18030")`` or Big5 when ``data`` reads as
    Chinese: it decodes strictly, every non-ASCII character is CJK, and those come in
    words (a Latin text decoded as GBK gives lone ideographs between ASCII letters)."""
    lines = data.split(b"\n")
    sample = b"\n".join(lines[1:-1] if len(lines) > 2 else lines)  # whole lines only
    pairs, i = [], 0
    while i < len(sample):  # a lead byte >= 0x81 takes the next byte with it
        if sample[i] >= 0x81 and i + 1 < len(sample):
            pairs.append(sample[i : i + 2])
            i += 2
        else:
            i += 1
    if not pairs:
        return None
    gb2312 = sum(0xA1 <= p[0] <= 0xF7 and 0xA1 <= p[1] <= 0xFE for p in pairs) / len(pairs)
    order = ("gb18030", "big5") if gb2312 >= 0.9 else ("big5", "gb18030")
    names = {"gb18030": "GBK/GB18030 (simplified Chinese)", "big5": "Big5 (traditional Chinese)"}
    for enc in order:
        try:
            text = sample.decode(enc)
        except UnicodeDecodeError:
            continue
        wide = [ch for ch in text if ord(ch) >= 0x80]
        words = _CJK_RUNS.findall(text)
        if all(_is_cjk(ch) for ch in wide) and len(wide) >= 1.5 * len(words):
            return names[enc], enc
    return None


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
                bad = chunk[pos : pos + 2]  # a CJK character is two bytes
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
        wide = option in ("gb18030", "big5")
        shown = byte if wide else byte[:1]
        char = shown.decode(option if option != "utf-16" else "latin-1", errors="replace")
        detail = f": byte 0x{byte[:1].hex().upper()} ({char!r}) on line {line}"
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
        check_unique_columns(names, where=str(path), context=" in its header")
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
