"""A small synthetic shop (as a config section and as a canonical Parquet file)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

SAMPLE = {"seed": 2, "n_customers": 400, "n_skus": 60, "days": 480, "include_events": False}
CUTOFF = "2024-04-22"  # a Monday, 7 days before the data ends


@pytest.fixture(scope="session")
def small_shop_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ecomml.data.synth import make_shop

    shop = make_shop(**SAMPLE)
    path = tmp_path_factory.mktemp("shop") / "transactions.parquet"
    shop.transactions.to_parquet(path, index=False)
    return path


def write_config(folder: Path, name: str, **fields: Any) -> Path:
    raw = {"name": name, "data": {"sample": dict(SAMPLE)}, "cutoff": CUTOFF}
    raw.update(fields)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def _shared_store(
    tmp_path_factory: pytest.TempPathFactory, new_mlflow_store: Callable[[Path], str]
) -> str:
    """One SQLite MLflow store for the session."""
    return new_mlflow_store(tmp_path_factory.mktemp("mlflow"))


@pytest.fixture
def store_uri(_shared_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The shared store as the tracking URI (each test uses its own experiment names)."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", _shared_store)
    monkeypatch.chdir(tmp_path)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(_shared_store)
    yield _shared_store
    mlflow.set_tracking_uri(previous)
