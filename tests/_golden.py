"""Digest of the main job's outputs: the golden comparison behind issue 16's redesign.

A digest keeps, per output table, its columns, row count and, per column, a number that
changes with any value: the sum (and sum of squares) of numeric columns, and a hash of
the sorted text of the others. Two runs with equal digests wrote the same tables (numbers
compared to 1e-9).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: the table outputs of ``run_quickstart`` compared by the golden test
TABLES = (
    "churn/scored_customers.parquet",
    "recommend/recommendations.parquet",
    "forecast/forecast.parquet",
    "forecast/lead_time_demand.parquet",
    "forecast/backtest_metrics.parquet",
    "inventory/classes.parquet",
    "inventory/plan.parquet",
)


def _column_digest(s: pd.Series) -> dict[str, Any]:
    if pd.api.types.is_bool_dtype(s):
        return {"true": int(s.fillna(False).astype(bool).sum()), "na": int(s.isna().sum())}
    if pd.api.types.is_numeric_dtype(s):
        v = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()
        fin = v[np.isfinite(v)]
        return {
            "sum": float(fin.sum()),
            "sumsq": float((fin * fin).sum()),
            "na": int(np.isnan(v).sum()),
            "inf": int(np.isinf(v).sum()),
        }
    text = sorted(s.astype("string").fillna("<NA>").tolist())
    return {"sha": hashlib.sha256("\x1f".join(text).encode()).hexdigest()[:16]}


def digest_outputs(out_dir: Path) -> dict[str, Any]:
    """The digest of every table in :data:`TABLES` under ``out_dir``."""
    res: dict[str, Any] = {}
    for rel in TABLES:
        frame = pd.read_parquet(out_dir / rel)
        res[rel] = {
            "columns": list(frame.columns),
            "rows": int(len(frame)),
            "values": {c: _column_digest(frame[c]) for c in frame.columns},
        }
    return res


def compare_digests(a: dict[str, Any], b: dict[str, Any], *, rtol: float = 1e-9) -> list[str]:
    """Differences between two digests, as readable lines (empty when equal)."""
    diffs: list[str] = []
    for rel in sorted(set(a) | set(b)):
        if rel not in a or rel not in b:
            diffs.append(f"{rel}: only in one digest")
            continue
        x, y = a[rel], b[rel]
        if x["columns"] != y["columns"]:
            diffs.append(f"{rel}: columns {x['columns']} != {y['columns']}")
        if x["rows"] != y["rows"]:
            diffs.append(f"{rel}: rows {x['rows']} != {y['rows']}")
        for col in x["values"]:
            if col not in y["values"]:
                continue
            for k, v in x["values"][col].items():
                w = y["values"][col].get(k)
                if isinstance(v, float) and isinstance(w, float):
                    if not math.isclose(v, w, rel_tol=rtol, abs_tol=rtol):
                        diffs.append(f"{rel}.{col}.{k}: {v!r} != {w!r}")
                elif v != w:
                    diffs.append(f"{rel}.{col}.{k}: {v!r} != {w!r}")
    return diffs


def write_digest(path: Path, digest: dict[str, Any]) -> None:
    """Write a digest as sorted JSON."""
    path.write_text(json.dumps(digest, indent=1, sort_keys=True) + "\n")
