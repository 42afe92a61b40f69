"""Where classes that saved models name have moved, so old model folders keep loading.

A model folder records its class as a dotted name (``ecomml_model.json``) and joblib
pickles record the module of every object inside. When a class moves, add its old
and new dotted names to :data:`MOVED`: :func:`resolve` maps a recorded name, and
:func:`old_modules` makes old module paths importable while a pickle is read.
Names only, no imports: this module sits below every layer it describes.
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["MOVED", "old_modules", "resolve"]

#: old dotted class name -> new dotted class name
MOVED: dict[str, str] = {
    # issue 16: ChurnModel (the task's model) lives in churn/model.py, the LightGBM
    # classifier in churn/classifier.py
    "ecomml.churn.scoring.ChurnModel": "ecomml.churn.model.ChurnModel",
    "ecomml.churn.model.ChurnClassifier": "ecomml.churn.classifier.ChurnClassifier",
    # issue 16: modules renamed for what they hold
    "ecomml.forecasting._panel.Panel": "ecomml.forecasting.panel.Panel",
    "ecomml.forecasting.jobs.TrainedForecaster": "ecomml.forecasting.task.TrainedForecaster",
    "ecomml.pipeline.ShopData": "ecomml.data.shop.ShopData",
    "ecomml._pyfunc_model.EcommlPyfuncModel": "ecomml.serving.EcommlPyfuncModel",
    # a local model (no Spark needed): it lives with the forecasters
    "ecomml.spark.partitioned.PartitionedForecaster": (
        "ecomml.forecasting.partitioned.PartitionedForecaster"
    ),
}

_LOCK = threading.RLock()


def resolve(dotted: str) -> str:
    """The current dotted name of a class recorded as ``dotted``."""
    seen = {dotted}
    while dotted in MOVED:
        dotted = MOVED[dotted]
        if dotted in seen:  # a cycle in the table is a bug; stop rather than spin
            break
        seen.add(dotted)
    return dotted


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


@functools.cache
def _gone_modules() -> dict[str, dict[str, str]]:
    """Old module paths of :data:`MOVED` that no longer import: {module: {name: new}}.
    Probed once per process (the table and the installed package do not change)."""
    by_module: dict[str, dict[str, str]] = {}
    for old, new in MOVED.items():
        module, _, name = old.rpartition(".")
        by_module.setdefault(module, {})[name] = resolve(new)
    return {m: names for m, names in by_module.items() if not _importable(m)}


@contextmanager
def old_modules() -> Iterator[None]:
    """Within the block, old module paths of :data:`MOVED` import as stand-ins that
    hand out the moved classes (only for modules that no longer exist)."""
    with _LOCK:
        added: list[str] = []
        try:
            for module, names in _gone_modules().items():
                if module in sys.modules:
                    continue
                stub = types.ModuleType(module, f"moved classes of {module}")
                for name, new in names.items():
                    new_module, _, new_name = new.rpartition(".")
                    stub.__dict__[name] = getattr(importlib.import_module(new_module), new_name)
                sys.modules[module] = stub
                added.append(module)
            yield
        finally:
            for module in added:
                sys.modules.pop(module, None)
