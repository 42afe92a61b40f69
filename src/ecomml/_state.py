"""An estimator's parameters and fitted state written without pickle, so loading a model
never runs code: ``state.json`` for scalars, dates and plain containers, Parquet for
frames and series, ``.npy`` (``allow_pickle=False``) for arrays, and a subfolder for each
nested ecomml estimator (saved with its own ``save_artifacts``).

:func:`write_state` refuses anything else with a :class:`~ecomml.exceptions.ConfigError`
instead of falling back to pickle.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecomml._moved import resolve
from ecomml.exceptions import ConfigError, ModelLoadError

__all__ = ["read_model_json", "read_state", "write_state"]

STATE_FILE = "state.json"


def _class_path(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _encode(value: Any, folder: Path, name: str) -> Any:
    """A JSON-able description of ``value``; frames, arrays and estimators go to files."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return {"t": "ts", "v": value.isoformat()}
    if isinstance(value, pd.DataFrame):
        value.to_parquet(folder / f"{name}.parquet")
        return {"t": "frame", "file": f"{name}.parquet"}
    if isinstance(value, pd.Series):
        value.rename(value.name if value.name is not None else "__value__").to_frame().to_parquet(
            folder / f"{name}.parquet"
        )
        return {"t": "series", "file": f"{name}.parquet", "name": value.name}
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise ConfigError(f"{name}: an object array cannot be saved without pickle")
        np.save(folder / f"{name}.npy", value, allow_pickle=False)
        return {"t": "array", "file": f"{name}.npy"}
    if hasattr(value, "save_artifacts") and type(value).__module__.startswith("ecomml."):
        sub = folder / name
        sub.mkdir()
        value.save_artifacts(sub)
        return {"t": "estimator", "dir": name, "class": _class_path(value)}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, folder, f"{name}.{i}") for i, v in enumerate(value)]
        return {"t": "tuple" if isinstance(value, tuple) else "list", "v": items}
    if isinstance(value, dict):
        pairs = [
            [_encode(k, folder, f"{name}.k{i}"), _encode(v, folder, f"{name}.{i}")]
            for i, (k, v) in enumerate(value.items())
        ]
        return {"t": "dict", "v": pairs}
    raise ConfigError(
        f"{name}: a {type(value).__name__} cannot be saved without pickle; give the "
        "estimator its own save_artifacts/load_artifacts"
    )


def _decode(value: Any, folder: Path) -> Any:
    if not isinstance(value, dict):
        return value
    kind = value.get("t")
    if kind == "ts":
        return pd.Timestamp(value["v"])
    if kind == "frame":
        return pd.read_parquet(folder / value["file"])
    if kind == "series":
        frame = pd.read_parquet(folder / value["file"])
        return frame.iloc[:, 0].rename(value.get("name"))
    if kind == "array":
        return np.load(folder / value["file"], allow_pickle=False)
    if kind == "estimator":
        return _import(value["class"], folder).load_artifacts(folder / value["dir"])
    if kind in ("list", "tuple"):
        items = [_decode(v, folder) for v in value["v"]]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        return {_decode(k, folder): _decode(v, folder) for k, v in value["v"]}
    raise ModelLoadError(f"{folder}: unknown saved value {value!r}")


def _import(path: str, folder: Path) -> Any:
    module, _, qualname = resolve(path).rpartition(".")
    if not module.startswith("ecomml."):
        raise ModelLoadError(f"{folder}: refusing to import non-ecomml class {path}")
    try:
        return getattr(importlib.import_module(module), qualname)
    except (ImportError, AttributeError) as err:
        raise ModelLoadError(f"{folder}: saved class {path} no longer exists ({err})") from err


def write_state(estimator: Any, folder: str | Path) -> None:
    """Write ``estimator``'s ``get_params(deep=False)`` and its fitted attributes (names
    ending in ``_``) into ``folder`` without pickle."""
    folder = Path(folder)
    params = {k: _encode(v, folder, f"param.{k}") for k, v in estimator.get_params(False).items()}
    fitted = {
        k: _encode(v, folder, k)
        for k, v in vars(estimator).items()
        if k.endswith("_") and not k.startswith("_")
    }
    state = {"class": _class_path(estimator), "params": params, "fitted": fitted}
    (folder / STATE_FILE).write_text(json.dumps(state, indent=1), encoding="utf-8")


def read_model_json(folder: Path, name: str) -> dict[str, Any]:
    """The JSON file ``name`` of the model folder ``folder``, as a dict.

    Raises :class:`ModelLoadError` naming the folder and the file when it is missing or
    not JSON, so every loader reports a damaged folder the same way.
    """
    try:
        meta: dict[str, Any] = json.loads((folder / name).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ModelLoadError(f"{folder}: cannot read {name}: {err}") from err
    return meta


def read_state(cls: type, folder: str | Path) -> Any:
    """Rebuild an estimator of ``cls`` written by :func:`write_state`."""
    folder = Path(folder)
    try:
        state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelLoadError(f"{folder}: cannot read {STATE_FILE} ({err})") from err
    est = cls(**{k: _decode(v, folder) for k, v in state["params"].items()})
    for name, value in state["fitted"].items():
        setattr(est, name, _decode(value, folder))
    return est
