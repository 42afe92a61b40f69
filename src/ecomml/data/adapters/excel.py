"""Excel workbooks: pick a sheet by name or index, read every cell as-is."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd

from ecomml.data.adapters._common import RawFile, _first_line
from ecomml.exceptions import InputFileError, short_repr


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
