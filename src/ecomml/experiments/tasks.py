"""An experiment's steps on any registered task: load the data, score rolling folds, fit
and save the final model.

The task itself (``ecomml.registry.get_model_task(cfg.task)``) evaluates and fits; the model is
saved by :func:`ecomml.runner.save_task_model`, the one metadata writer. Nothing here knows
a task by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecomml.exceptions import DataQualityError
from ecomml.task import Evaluation

if TYPE_CHECKING:
    from ecomml.data.shop import ShopData
    from ecomml.experiments.config import ExperimentConfig
    from ecomml.features.view import FeatureView

__all__ = ["FinalModel", "FoldScores", "evaluate", "fit_final", "load_data"]

Say = Callable[[str], None]


#: per-fold metrics and figures (the task contract's :class:`~ecomml.task.Evaluation`)
FoldScores = Evaluation


@dataclass
class FinalModel:
    """The model fitted on everything before the cutoff, saved with ``save_model``."""

    path: Path
    views: list[FeatureView]
    training_window: tuple[Any, Any]
    pngs: dict[str, Path] = field(default_factory=dict)


def load_data(cfg: ExperimentConfig) -> ShopData:
    """The config's shop as of its cutoff (rows with ``ts >= cutoff`` are never read into
    the model), cleaned with the config's policy."""
    from ecomml.data import clean_transactions
    from ecomml.data.cleaning import CleaningPolicy
    from ecomml.data.shop import ShopData, load_shop
    from ecomml.tracking import data_fingerprint

    d = cfg.data
    cut = cfg.cutoff
    if d.get("path") is None:
        from ecomml.data.synth import make_shop

        sample = dict(d.get("sample") or {})
        shop = make_shop(**sample)
        tx, ev = shop.transactions, shop.events
        data = ShopData(
            transactions=tx.loc[tx["ts"] < cut].reset_index(drop=True),
            events=None if ev is None else ev.loc[ev["ts"] < cut].reset_index(drop=True),
            catalog=shop.catalog,
            calendar=shop.calendar,
            source=f"synthetic shop {sample}" if sample else "built-in sample shop (seed=0)",
        )
        data.fingerprint = data_fingerprint(shop.transactions)
        data.fingerprint["path"] = data.source
    else:
        data = load_shop(
            d["path"],
            format=str(d.get("format") or "auto"),
            mapping=d.get("mapping") or {},
            events=d.get("events"),
            catalog=d.get("catalog"),
            calendar=d.get("calendar"),
            encoding=d.get("encoding"),
            clean=False,
            cutoff=cut,
        )
        if cfg.cleaning.get("enabled", True):
            policy = CleaningPolicy(**(cfg.cleaning.get("policy") or {}))
            data.transactions, data.cleaning = clean_transactions(data.transactions, policy)
    if data.transactions.empty:
        raise DataQualityError(
            f"{cfg.path or 'config'}: no transactions before the cutoff {cut.date()}; "
            "choose a later cutoff"
        )
    if d.get("hash_ids"):
        # train on keyed pseudonyms: models and MLflow runs then hold no raw customer ids
        from ecomml.privacy import ID_KEY_ENV, key_from_env, pseudonymize_shop

        key = key_from_env(str(d.get("id_key_env") or ID_KEY_ENV))
        data = pseudonymize_shop(data, key)
    return data


def _params(cfg: ExperimentConfig, params: dict[str, Any]) -> dict[str, Any]:
    """The task's parameters of one grid point: task options, model name, model params."""
    return {**cfg.task_params, "model": cfg.model, **params}


def evaluate(
    cfg: ExperimentConfig, shop: ShopData, params: dict[str, Any], say: Say | None = None
) -> Evaluation:
    """Score ``params`` on the config's rolling folds (each fold refits before its cutoff)."""
    from ecomml.registry import get_model_task
    from ecomml.task import Folds, TaskData

    return get_model_task(cfg.task).evaluate(
        TaskData(shop, cfg.cutoff), Folds(cfg.folds, cfg.fold_step),
        params=_params(cfg, params), progress=say or (lambda msg: None),
    )  # fmt: skip


def fit_final(
    cfg: ExperimentConfig,
    shop: ShopData,
    params: dict[str, Any],
    model_dir: Path,
    metrics: dict[str, float],
    say: Say | None = None,
) -> FinalModel:
    """Fit on everything before the cutoff, save the model directory and its figures."""
    from ecomml.plots import save_figure
    from ecomml.registry import get_model_task
    from ecomml.runner import train
    from ecomml.task import TaskData

    task = get_model_task(cfg.task)
    data = TaskData(shop, cfg.cutoff)
    res = train(
        task, data, model_dir, params=_params(cfg, params), metrics=metrics,
        progress=say or (lambda msg: None),
    )  # fmt: skip
    views = [data.store.view(v) for v in task.views(res.model)]
    figures = task.figures(res.model, data)
    plot_dir = res.path.parent / f"{res.path.name}-plots"
    pngs = {name: save_figure(fig, plot_dir / name) for name, fig in figures.items()}
    return FinalModel(res.path, views, task.training_window(res.model, shop), pngs=pngs)
