"""Side inputs that are not canonical tables (a forecast, on-hand stock, a customer
list, boosts), read with the same file checks as the canonical tables."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ecomml._validation import did_you_mean
from ecomml.data.adapters.raw import read_raw
from ecomml.exceptions import DataQualityError, InputFileError, SchemaError, format_rows, short_repr


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
        spare = [c for c in frame.columns if c not in required]
        hints = [f"'{m}'" + did_you_mean(m, spare) for m in missing]
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
