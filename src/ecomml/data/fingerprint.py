"""Exact identity of an input (path, rows, SHA-256): what a model and a run were trained on."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["data_fingerprint", "file_sha256"]

_CHUNK = 1 << 20


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, or of every file under a directory in sorted order."""
    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            h.update(str(f.relative_to(path)).encode())
        with open(f, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
    return h.hexdigest()


def data_fingerprint(
    data: pd.DataFrame | str | os.PathLike[str], *, name: str = "transactions"
) -> dict[str, Any]:
    """Identify an input exactly: path, row count and content hash.

    For a path, the hash is of the file bytes (the row count is read from Parquet
    metadata when available). For a frame, the hash is of its values and columns.
    """
    if isinstance(data, pd.DataFrame):
        h = hashlib.sha256()
        h.update(",".join(map(str, data.columns)).encode())
        h.update(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
        ts = data["ts"] if "ts" in data.columns else None
        return {
            "name": name,
            "path": "<frame>",
            "rows": len(data),
            "sha256": h.hexdigest(),
            "min_ts": None if ts is None or ts.empty else str(ts.min()),
            "max_ts": None if ts is None or ts.empty else str(ts.max()),
        }
    path = Path(data)
    rows: int | None = None
    if path.suffix.lower() in {".parquet", ".pq"} or path.is_dir():
        with contextlib.suppress(Exception):
            import pyarrow.dataset as ds

            rows = ds.dataset(str(path), format="parquet").count_rows()
    return {
        "name": name,
        "path": str(path.resolve()),
        "rows": rows,
        "sha256": file_sha256(path),
        "min_ts": None,
        "max_ts": None,
    }
