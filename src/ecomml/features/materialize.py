"""Materialize feature views to Parquet with a manifest, and read them back safely.

Layout: ``out_dir/{view}/cutoff={YYYY-MM-DDTHHMMSS}.parquet`` plus ``out_dir/manifest.json``
listing, per view and cutoff: the SQL hash, entity keys, row count, schema and file.
A model records the hashes it was trained with and refuses features whose hash differs.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from ecomml._io import atomic_dir, atomic_path, atomic_write_json
from ecomml._lock import DEFAULT_TIMEOUT, file_lock
from ecomml._validation import check_cutoff
from ecomml.exceptions import (
    FeatureMismatchError,
    InputFileError,
    SqlTranslationError,
    UnknownEntityError,
)
from ecomml.features.engines import sql_literal


class ViewSource(Protocol):
    """What materialization needs of a store (:class:`~ecomml.features.FeatureStore` has it)."""

    engine: Any

    def prepare(self, max_cutoff: pd.Timestamp) -> None: ...  # noqa: D102

    def view(self, name: str) -> Any: ...  # noqa: D102

    def view_sql(self, view: Any, cutoffs_sql: str, *, literal: Any = None) -> str: ...  # noqa: D102


__all__ = ["manifest_hash", "materialize_views", "read_manifest", "read_materialized"]

MANIFEST = "manifest.json"


def _cutoff_tag(cutoff: pd.Timestamp) -> str:
    return cutoff.strftime("%Y-%m-%dT%H%M%S")


@contextlib.contextmanager
def _lock(out_dir: Path, timeout: float = DEFAULT_TIMEOUT) -> Iterator[None]:
    """An exclusive inter-process lock on ``out_dir/.lock``, so two jobs materializing into
    one folder never lose each other's manifest entries; a timeout names the holder's pid."""
    with file_lock(out_dir / ".lock", timeout=timeout):
        yield


def read_manifest(out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a materialization folder (empty if none yet)."""
    path = Path(out_dir) / MANIFEST
    if not path.exists():
        return {"views": {}}
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as err:
        raise InputFileError(f"{path}: manifest is not valid JSON ({err}); rebuild it") from err


def manifest_hash(manifest_views: dict[str, Any]) -> str:
    """A short hash of the view definitions a set of features came from."""
    import hashlib

    text = json.dumps({k: v["sql_hash"] for k, v in sorted(manifest_views.items())}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def materialize_views(
    store: ViewSource,
    views: Sequence[str] | str,
    *,
    cutoff: Any,
    out_dir: Path,
    progress: Any = None,
) -> dict[str, Any]:
    """Compute each view as of ``cutoff`` and write it atomically to ``out_dir``.

    Returns the updated manifest. ``progress`` is an optional callable ``(view_name) -> None``
    called after each view.
    """
    names = [views] if isinstance(views, str) else list(views)
    cut = check_cutoff(cutoff)
    out_dir = Path(out_dir)
    entries: dict[str, Any] = {}
    store.prepare(cut)
    for name in names:
        view = store.view(name)
        sql = store.view_sql(view, f"SELECT {sql_literal(cut)} AS cutoff", literal=cut)
        target = out_dir / view.name / f"cutoff={_cutoff_tag(cut)}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            schema = store.engine.describe(sql)  # engine-neutral: the result's own types
        except SqlTranslationError as err:
            raise err.in_view(view.name) from err
        if getattr(store.engine, "writes_directory", False):
            # Spark writes a folder of Parquet parts: the whole folder is swapped in
            written: list[int] = []

            def fill(tmp: Path, sql: str = sql, written: list[int] = written) -> None:
                written.append(store.engine.write_parquet(sql, tmp))

            atomic_dir(target, fill)
            rows = written[0]
        else:
            with atomic_path(target, suffix=".parquet.tmp") as tmp:
                rows = store.engine.write_parquet(sql, tmp)
        entries[view.name] = {
            "view": view.name,
            "entity": view.entity.name,
            "keys": list(view.entity.keys),
            "sql_hash": view.sql_hash,
            "lookback": None if view.lookback is None else str(view.lookback),
            "cutoff": cut.isoformat(),
            "rows": rows,
            "schema": [{"name": c, "type": t} for c, t in schema],
            "file": str(target.relative_to(out_dir)),
        }
        if progress is not None:
            progress(view.name)
    from ecomml import __version__

    with _lock(out_dir):
        manifest = read_manifest(out_dir)
        manifest.setdefault("views", {})
        for name, entry in entries.items():
            manifest["views"].setdefault(name, {})[entry["cutoff"]] = entry
        manifest["ecomml_version"] = __version__
        atomic_write_json(out_dir / MANIFEST, manifest)
    return manifest


def read_materialized(
    out_dir: str | os.PathLike[str],
    view: str,
    *,
    cutoff: Any,
    expected_hash: str | None = None,
) -> pd.DataFrame:
    """Read one materialized view; refuse it if its SQL hash differs from ``expected_hash``."""
    out_dir = Path(out_dir)
    cut = check_cutoff(cutoff)
    manifest = read_manifest(out_dir)
    entry = manifest.get("views", {}).get(view, {}).get(cut.isoformat())
    if entry is None:
        raise UnknownEntityError(
            f"{out_dir}: view {view!r} has not been materialized for cutoff {cut.date()}; "
            f"run `ecomml features build --cutoff {cut.date()} --out {out_dir}`"
        )
    if expected_hash is not None and entry["sql_hash"] != expected_hash:
        raise FeatureMismatchError(
            f"{out_dir}: view {view!r} was built by a different definition "
            f"(sql hash {entry['sql_hash'][:12]}, expected {expected_hash[:12]}); rebuild the "
            "features with the ecomml version the model was trained with, or retrain the model"
        )
    return pd.read_parquet(out_dir / entry["file"])
