"""Parquet files and folders of Parquet files (all parts must share one schema)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ecomml.data.adapters._common import _PARQUET_EXT, RawFile, _first_line
from ecomml.exceptions import InputFileError, short_repr


def _parquet_parts(path: Path) -> list[Path]:
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and p.suffix.lower() in _PARQUET_EXT and not p.name.startswith((".", "_"))
    )


#: Arrow text types read as Arrow-backed pandas strings
_TEXT_TYPES = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}


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
        # text stays in Arrow (compact, and what validation's string kernels work on; only
        # the canonical frame holds Python strings) and the Arrow buffers are handed over
        # column by column: the peak stays near one copy of the data
        frame = table.to_pandas(split_blocks=True, self_destruct=True, types_mapper=_TEXT_TYPES.get)
        del table
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
