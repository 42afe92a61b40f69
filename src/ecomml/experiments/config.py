"""Experiment configs: a YAML file that says what to train, on which data, and how to score it.

A config names a task (``forecast``, ``churn``, ``recommend``), a data source (a file
with its format and column mapping, or the built-in sample shop), the cleaning policy,
the training cutoff and the rolling folds before it, the model and its parameters, the
metrics to report (the first one ranks runs) and an optional parameter grid::

    name: forecast-lgbm            # MLflow experiment (default: ecomml-<task>-experiments)
    task: forecast
    data:                          # omit `path` for the built-in sample shop
      sample: {seed: 0}
    cutoff: 2024-12-02
    folds: {n: 2, step: 8}
    task_params: {freq: W, horizon: 8}
    model: {name: lgbm, params: {n_estimators: 100}}
    metrics: [scaled_pinball, wape, mase]
    grid: {n_estimators: [60, 120]}

Every key is checked: an unknown key gets the closest allowed one ("did you mean"), a
wrong value names the file, the key and the allowed values.
"""

from __future__ import annotations

import difflib
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ecomml.exceptions import ConfigError

__all__ = [
    "TASKS",  # noqa: F822 - module __getattr__
    "TASK_METRICS",  # noqa: F822 - module __getattr__
    "ExperimentConfig",
    "load_config",
    "metric_direction",
    "parse_config",
]

_HIGHER_IS_BETTER = ("roc_auc", "pr_auc", "lift_top_decile", "ndcg", "recall", "precision",
                     "map", "hit", "coverage_at", "novelty", "fill_rate", "cycle_service",
                     "turns")  # fmt: skip


def _registry_table(attr: str) -> dict[str, Any]:
    from ecomml.registry import model_tasks

    return {task.name: getattr(task, attr) for task in model_tasks()}


def __getattr__(name: str) -> Any:
    """``TASKS``, ``TASK_METRICS``, ``TASK_PARAMS`` and ``MODEL_NAMES`` come from the task
    registry (read on first use, so importing this module stays light)."""
    if name == "TASKS":
        from ecomml.registry import model_task_names

        return model_task_names()
    if name == "TASK_METRICS":
        return {k: tuple(v) for k, v in _registry_table("metrics").items()}
    if name == "TASK_PARAMS":
        return {k: dict(v) for k, v in _registry_table("params").items()}
    if name == "MODEL_NAMES":
        return {k: tuple(v) for k, v in _registry_table("models").items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_TOP_KEYS = ("name", "task", "description", "data", "cleaning", "cutoff", "folds",
             "task_params", "model", "metrics", "grid", "register", "seed")  # fmt: skip
_DATA_KEYS = ("path", "format", "mapping", "events", "catalog", "calendar", "encoding", "sample",
              "hash_ids", "id_key_env")  # fmt: skip
_SAMPLE_KEYS = ("seed", "n_customers", "n_skus", "days", "start", "include_events")
_CLEAN_KEYS = ("enabled", "policy")
_FOLD_KEYS = ("n", "step")
_MODEL_KEYS = ("name", "params")


def metric_direction(metric: str) -> str:
    """``"max"`` when a larger value of ``metric`` is better, else ``"min"``."""
    if metric.startswith("coverage_") and "_at_" not in metric:
        return "target"  # interval coverage: closest to its nominal level
    return "max" if metric.startswith(_HIGHER_IS_BETTER) else "min"


@dataclass(frozen=True)
class ExperimentConfig:
    """A validated experiment config (see the module docstring for the YAML layout)."""

    name: str
    task: str
    cutoff: pd.Timestamp
    folds: int = 2
    fold_step: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    cleaning: dict[str, Any] = field(default_factory=lambda: {"enabled": True, "policy": {}})
    task_params: dict[str, Any] = field(default_factory=dict)
    model: str = ""
    model_params: dict[str, Any] = field(default_factory=dict)
    metrics: tuple[str, ...] = ()
    grid: dict[str, list[Any]] = field(default_factory=dict)
    register: str | None = None
    description: str = ""
    path: Path | None = None

    @property
    def primary_metric(self) -> str:
        """The metric that ranks runs (the first listed)."""
        return self.metrics[0]

    def grid_points(self) -> list[dict[str, Any]]:
        """Every combination of the grid, each merged over ``model_params``."""
        if not self.grid:
            return [dict(self.model_params)]
        keys = list(self.grid)
        return [
            {**self.model_params, **dict(zip(keys, values, strict=True))}
            for values in itertools.product(*(self.grid[k] for k in keys))
        ]


def _where(src: str, key: str) -> str:
    return f"{src}: {key}" if key else src


def _close_hint(name: Any, allowed: Sequence[str], fmt: str = " (did you mean {!r}?)") -> str:
    """``fmt`` filled with the allowed value closest to ``name``; empty if none is close."""
    close = difflib.get_close_matches(str(name), allowed, n=1)
    return fmt.format(close[0]) if close else ""


def _check_keys(d: Any, allowed: tuple[str, ...], src: str, section: str) -> dict[str, Any]:
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise ConfigError(
            f"{_where(src, section)} must be a mapping (key: value lines), got {type(d).__name__}"
        )
    for k in d:
        if k not in allowed:
            hint = _close_hint(k, allowed, "; did you mean {!r}?")
            where = f"{section}.{k}" if section else str(k)
            raise ConfigError(
                f"{src}: unknown key {where!r}{hint} Allowed keys"
                f"{' in ' + section if section else ''}: {', '.join(allowed)}"
            )
    return dict(d)


def _int(v: Any, src: str, key: str, low: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise ConfigError(f"{src}: {key} must be an integer >= {low}, got {v!r}")
    return int(v)


def load_config(path: str | os.PathLike[str]) -> ExperimentConfig:
    """Read and validate an experiment config file.

    Raises
    ------
    ConfigError
        Unreadable YAML, unknown keys, missing or invalid values (the message names
        the file, the key and what is allowed).
    """
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(
            f"experiment config {p} not found; the shipped examples are in experiments/*.yaml"
        )
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{p}: not valid YAML ({err})") from err
    return parse_config(raw, source=str(p), path=p)


def parse_config(
    raw: Any, *, source: str = "<config>", path: Path | None = None
) -> ExperimentConfig:
    """Validate a config already parsed into a dict (see :func:`load_config`)."""
    src = source
    top = _check_keys(raw, _TOP_KEYS, src, "")
    if not top:
        raise ConfigError(f"{src}: empty config; it needs at least task and cutoff")
    task = top.get("task")
    from ecomml.registry import get_model_task, model_task_names

    tasks = model_task_names()
    if task not in tasks:
        hint = _close_hint(task, tasks)
        raise ConfigError(f"{src}: task must be one of {', '.join(tasks)}, got {task!r}{hint}")
    if "cutoff" not in top:
        raise ConfigError(
            f"{src}: cutoff is required (the final model learns from ts < cutoff; "
            "the folds end at it), e.g. cutoff: 2024-12-02"
        )
    try:
        cutoff = pd.Timestamp(str(top["cutoff"]))
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{src}: cutoff {top['cutoff']!r} is not a date (YYYY-MM-DD)") from err
    if cutoff.tzinfo is not None:
        cutoff = cutoff.tz_convert(None)

    data = _check_keys(top.get("data"), _DATA_KEYS, src, "data")
    if "sample" in data:
        data["sample"] = _check_keys(data["sample"], _SAMPLE_KEYS, src, "data.sample")
        if "path" in data and data["path"] is not None:
            raise ConfigError(f"{src}: give data.path or data.sample, not both")
    if data.get("mapping") is not None and not isinstance(data["mapping"], dict):
        raise ConfigError(
            f"{src}: data.mapping must map source columns to canonical ones, "
            "e.g. {InvoiceNo: order_id, StockCode: sku}"
        )
    base = path.parent if path is not None else Path.cwd()
    for k in ("path", "events", "catalog", "calendar"):
        if data.get(k) is not None:
            file = Path(os.path.expandvars(str(data[k]))).expanduser()
            data[k] = file if file.is_absolute() else (base / file)

    cleaning_raw = top.get("cleaning", True)
    if isinstance(cleaning_raw, bool):
        cleaning = {"enabled": cleaning_raw, "policy": {}}
    else:
        cleaning = _check_keys(cleaning_raw, _CLEAN_KEYS, src, "cleaning")
        cleaning.setdefault("enabled", True)
        cleaning["policy"] = _check_policy(cleaning.get("policy"), src)

    folds_raw = top.get("folds", 2)
    if isinstance(folds_raw, int) and not isinstance(folds_raw, bool):
        n_folds, step = _int(folds_raw, src, "folds"), None
    else:
        f = _check_keys(folds_raw, _FOLD_KEYS, src, "folds")
        n_folds = _int(f.get("n", 2), src, "folds.n")
        step = None if f.get("step") is None else _int(f["step"], src, "folds.step")

    t = get_model_task(task)
    tp = _check_keys(top.get("task_params"), tuple(t.params), src, "task_params")
    try:
        task_params = t.check_task_params(tp)
    except ConfigError as err:
        raise ConfigError(f"{src}: {err}") from err

    model = _check_keys(top.get("model"), _MODEL_KEYS, src, "model")
    names = t.models
    model_name = str(model.get("name", names[0]))
    if model_name not in names:
        hint = _close_hint(model_name, names)
        raise ConfigError(
            f"{src}: model.name {model_name!r} is not a {task} model{hint}; "
            f"allowed: {', '.join(names)}"
        )
    params = model.get("params") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{src}: model.params must be a mapping of parameter: value")

    allowed = get_model_task(task).metrics
    metrics_raw = top.get("metrics") or [allowed[0]]
    if isinstance(metrics_raw, str):
        metrics_raw = [metrics_raw]
    metrics = tuple(str(m).replace("@", "_at_") for m in metrics_raw)
    for m in metrics:
        if m not in allowed:
            hint = _close_hint(m, allowed)
            raise ConfigError(
                f"{src}: metric {m!r} is not a {task} metric{hint}; allowed: {', '.join(allowed)}"
            )

    grid = top.get("grid") or {}
    if not isinstance(grid, dict):
        raise ConfigError(f"{src}: grid must map model parameters to lists of values")
    grid = {str(k): (v if isinstance(v, list) else [v]) for k, v in grid.items()}
    for k, v in grid.items():
        if not v:
            raise ConfigError(f"{src}: grid.{k} is an empty list; give at least one value")

    name = str(top.get("name") or f"ecomml-{task}-experiments")
    register = top.get("register")
    cfg = ExperimentConfig(
        name=name,
        task=task,
        cutoff=cutoff,
        folds=n_folds,
        fold_step=step,
        data=data,
        cleaning=cleaning,
        task_params=task_params,
        model=model_name,
        model_params=dict(params),
        metrics=metrics,
        grid=grid,
        register=None if register is None else str(register),
        description=str(top.get("description") or ""),
        path=path,
    )
    _check_model_params(cfg, src)
    return cfg


def _check_policy(policy: Any, src: str) -> dict[str, Any]:
    import dataclasses

    from ecomml.data.cleaning import CleaningPolicy

    allowed = tuple(f.name for f in dataclasses.fields(CleaningPolicy))
    return _check_keys(policy, allowed, src, "cleaning.policy")


def _model_param_names(cfg: ExperimentConfig) -> tuple[str, ...]:
    from ecomml.registry import get_model_task

    return get_model_task(cfg.task).model_param_names({**cfg.task_params, "model": cfg.model})


def _check_model_params(cfg: ExperimentConfig, src: str) -> None:
    allowed = _model_param_names(cfg)
    from ecomml.registry import get_model_task

    fixed = set(get_model_task(cfg.task).params)
    for section, keys in (("model.params", cfg.model_params), ("grid", cfg.grid)):
        for k in keys:
            if k in fixed:
                raise ConfigError(f"{src}: set {k} under task_params, not {section}")
            if k not in allowed:
                hint = _close_hint(k, allowed, "; did you mean {!r}?")
                raise ConfigError(
                    f"{src}: {section}.{k} is not a parameter of the {cfg.task} model "
                    f"{cfg.model!r}{hint} Allowed: {', '.join(sorted(allowed))}"
                )
