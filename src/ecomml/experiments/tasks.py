"""Per-task steps of an experiment: load the data, score rolling folds, fit the final model.

Each task reuses its own public API (``forecasting.backtest``, ``churn.backtest``,
``recommend`` evaluation); nothing is re-implemented here. The functions return plain
frames and figures; the runner decides what is logged where.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ecomml.exceptions import DataQualityError
from ecomml.features.store import store_from_shop

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ecomml.data.shop import ShopData
    from ecomml.experiments.config import ExperimentConfig
    from ecomml.features.view import FeatureView

__all__ = ["FoldScores", "FinalModel", "load_data", "evaluate", "fit_final"]

Say = Callable[[str], None]


@dataclass
class FoldScores:
    """Per-fold metrics (``fold, cutoff, <metric>...``) and the evaluation figures."""

    folds: pd.DataFrame
    figures: dict[str, Figure] = field(default_factory=dict)
    extra: dict[str, float] = field(default_factory=dict)

    def aggregate(self) -> dict[str, float]:
        """Mean of every metric over the folds (NaN folds ignored)."""
        num = self.folds.drop(columns=["fold", "cutoff"], errors="ignore")
        means = num.apply(pd.to_numeric, errors="coerce").mean()
        return {k: float(v) for k, v in means.items() if np.isfinite(v)}


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
        data.id_key = key  # type: ignore[attr-defined]  # recorded as a key check, never stored
    return data


def _id_metadata(shop: ShopData) -> dict[str, Any]:
    from ecomml.privacy import id_metadata

    return id_metadata(getattr(shop, "id_key", None))


def evaluate(
    cfg: ExperimentConfig, shop: ShopData, params: dict[str, Any], say: Say | None = None
) -> FoldScores:
    """Score ``params`` on the config's rolling folds (each fold refits before its cutoff)."""
    say = say or (lambda msg: None)
    if cfg.task == "forecast":
        return _forecast_eval(cfg, shop, params, say)
    if cfg.task == "churn":
        return _churn_eval(cfg, shop, params, say)
    return _recommend_eval(cfg, shop, params, say)


def fit_final(
    cfg: ExperimentConfig,
    shop: ShopData,
    params: dict[str, Any],
    model_dir: Path,
    metrics: dict[str, float],
    say: Say | None = None,
) -> FinalModel:
    """Fit on everything before the cutoff and save the model directory."""
    say = say or (lambda msg: None)
    if cfg.task == "forecast":
        return _forecast_fit(cfg, shop, params, model_dir, metrics, say)
    if cfg.task == "churn":
        return _churn_fit(cfg, shop, params, model_dir, metrics, say)
    return _recommend_fit(cfg, shop, params, model_dir, metrics, say)


# ---------------------------------------------------------------------------- forecast
def _forecaster(cfg: ExperimentConfig, params: dict[str, Any]) -> Any:
    from ecomml.forecasting.auto import make_forecaster

    tp = cfg.task_params
    est = make_forecaster(cfg.model, freq=tp["freq"], horizon=tp["horizon"], **params)
    est._check_params()
    return est


def _forecast_fit_kw(cfg: ExperimentConfig, shop: ShopData) -> dict[str, Any]:
    if cfg.model in ("lgbm", "auto") and shop.calendar is not None:
        return {"calendar": shop.calendar}
    return {}


def _forecast_eval(
    cfg: ExperimentConfig, shop: ShopData, params: dict[str, Any], say: Say
) -> FoldScores:
    from ecomml.forecasting.backtest import backtest, quantile_calibration
    from ecomml.forecasting.jobs import shop_panel
    from ecomml.forecasting.plots import (
        plot_error_by_class,
        plot_fan_charts,
        plot_quantile_coverage,
    )

    panel, _ = shop_panel(shop, cfg.cutoff, cfg.task_params["freq"])
    est = _forecaster(cfg, params)
    bt = backtest(
        est,
        panel,
        folds=cfg.folds,
        step=cfg.fold_step,
        fit_params=_forecast_fit_kw(cfg, shop),
        progress=lambda msg, frac: say(msg),
    )
    m = bt.metrics
    rows = m.loc[(m["group"] == "all") & (m["fold"] != "mean")]
    origins = bt.forecasts.groupby("fold")["origin"].first()
    cols = [c for c in ("wape", "bias", "mase", "rmsse", "scaled_pinball", "coverage_80",
                        "coverage_90") if c in rows.columns]  # fmt: skip
    folds = rows[["fold", *cols]].assign(fold=lambda f: f["fold"].astype(int))
    folds.insert(1, "cutoff", folds["fold"].map(origins).to_numpy())
    last = bt.forecasts.loc[bt.forecasts["fold"] == bt.forecasts["fold"].max()]
    figures = {
        "fan.png": plot_fan_charts(panel, last),
        "error_by_class.png": plot_error_by_class(bt.summary()),
        "coverage.png": plot_quantile_coverage(quantile_calibration(bt.forecasts)),
    }
    return FoldScores(folds.reset_index(drop=True), figures)


def _forecast_fit(
    cfg: ExperimentConfig,
    shop: ShopData,
    params: dict[str, Any],
    model_dir: Path,
    metrics: dict[str, float],
    say: Say,
) -> FinalModel:
    from ecomml.forecasting.jobs import shop_panel, view_for
    from ecomml.modelstore import feature_hashes, save_model

    f = cfg.task_params["freq"]
    panel, store = shop_panel(shop, cfg.cutoff, f)
    say(f"fitting {cfg.model} on {panel['sku'].nunique()} SKUs")
    est = _forecaster(cfg, params).fit(panel, **_forecast_fit_kw(cfg, shop))
    views = [store.view(view_for(f))]
    window = (panel["ds"].min(), panel["ds"].max())
    path = save_model(
        est, model_dir, task="forecast", cutoff=cfg.cutoff, metrics=metrics,
        features=feature_hashes(views), training_window=window,
        extra={"freq": f, "horizon": cfg.task_params["horizon"], "model": cfg.model,
               "strategy": params.get("strategy", "direct"),
               "n_skus": int(panel["sku"].nunique()), "source": shop.source},
    )  # fmt: skip
    return FinalModel(path, views, window)


# ---------------------------------------------------------------------------- churn
def _churn_eval(
    cfg: ExperimentConfig, shop: ShopData, params: dict[str, Any], say: Say
) -> FoldScores:
    from matplotlib.figure import Figure

    from ecomml.churn.backtest import backtest_churn

    res = backtest_churn(
        shop,
        cutoff=cfg.cutoff,
        horizon=cfg.task_params["horizon"],
        folds=cfg.folds,
        step=cfg.fold_step,
        model_params=params,
        progress=say,
    )
    metric_cols = ["roc_auc", "pr_auc", "brier", "log_loss", "lift_top_decile"]
    cuts = sorted(res["cutoff"].unique())
    rows = []
    for i, c in enumerate(cuts, start=1):
        part = res.loc[res["cutoff"] == c].set_index("model")
        main = "classifier" if "classifier" in part.index else "btyd"
        row: dict[str, Any] = {"fold": i, "cutoff": pd.Timestamp(c), "model": main}
        row.update({k: float(part.loc[main, k]) for k in metric_cols})
        row.update({f"btyd_{k}": float(part.loc["btyd", k]) for k in metric_cols})
        row["base_rate"] = float(part.loc[main, "base_rate"])
        rows.append(row)
    folds = pd.DataFrame(rows)
    fig = Figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(folds))
    ax.bar(x - 0.2, folds["roc_auc"], 0.4, label="model")
    ax.bar(x + 0.2, folds["btyd_roc_auc"], 0.4, label="BG/NBD alone")
    ax.set_xticks(x, [str(pd.Timestamp(c).date()) for c in folds["cutoff"]])
    ax.set_ylim(0.5, 1.0)
    ax.set_ylabel("ROC AUC")
    ax.set_title(f"churn within {cfg.task_params['horizon']} days, per fold")
    ax.legend(loc="lower right")
    return FoldScores(folds.drop(columns="model"), {"auc_by_fold.png": fig})


def _churn_fit(
    cfg: ExperimentConfig,
    shop: ShopData,
    params: dict[str, Any],
    model_dir: Path,
    metrics: dict[str, float],
    say: Say,
) -> FinalModel:
    from ecomml.churn.quickstart import write_plots
    from ecomml.churn.scoring import ChurnModel
    from ecomml.modelstore import feature_hashes, save_model

    store = store_from_shop(shop)
    model = ChurnModel(cfg.task_params["horizon"], **params)
    model.fit(
        shop.transactions,
        store,
        cutoff=cfg.cutoff,
        events=shop.events is not None and len(shop.events) > 0,
        progress=say,
    )
    say("scoring the training cutoff")
    scored = model.score(shop.transactions, store, cutoff=cfg.cutoff)
    views = [store.view(v) for v in model.views_]
    tx = shop.transactions
    window = (tx["ts"].min(), tx["ts"].max())
    path = save_model(
        model,
        model_dir,
        task="churn",
        cutoff=cfg.cutoff,
        metrics=metrics,
        features=feature_hashes(views),
        training_window=window,
        extra={
            "horizon": cfg.task_params["horizon"],
            **model.describe(),
            "data": shop.fingerprint,
            **_id_metadata(shop),
        },  # fmt: skip
    )
    plot_dir = path.parent / f"{path.name}-plots"
    pngs = write_plots(model, scored, plot_dir)
    return FinalModel(path, views, window, pngs=dict(pngs))


# ---------------------------------------------------------------------------- recommend
def _pipeline(params: dict[str, Any]) -> Any:
    from ecomml.recommend import RecommenderPipeline

    p = dict(params)
    if isinstance(p.get("generators"), (list, str)):
        g = p["generators"]
        p["generators"] = tuple(g.split(",") if isinstance(g, str) else g)
    return RecommenderPipeline(**p)


def _recommend_eval(
    cfg: ExperimentConfig, shop: ShopData, params: dict[str, Any], say: Say
) -> FoldScores:
    from ecomml.recommend import build_interactions, evaluate_recommendations, temporal_split
    from ecomml.recommend.evaluate import plot_metrics_at_k

    tp = cfg.task_params
    window = int(tp["window_days"])
    step = int(cfg.fold_step or window)
    inter = build_interactions(shop.transactions, shop.events, cutoff=cfg.cutoff)
    store = store_from_shop(shop) if tp["use_store"] else None
    rows, figures = [], {}
    for i in range(cfg.folds):
        fc = cfg.cutoff - pd.Timedelta(days=window + step * (cfg.folds - 1 - i))
        say(f"fold {i + 1}/{cfg.folds} (cutoff {fc.date()})")
        train, test = temporal_split(inter, cutoff=fc, end=fc + pd.Timedelta(days=window))
        model = _pipeline(params).fit(train, cutoff=fc, store=store, catalog=shop.catalog)
        cust = test["customer_id"].drop_duplicates()
        recs = model.recommend(cust, max(20, int(tp["k"])), store=store)
        met = evaluate_recommendations(recs, test, train, ks=(10, 20))
        row: dict[str, Any] = {"fold": i + 1, "cutoff": fc}
        row.update({k.replace("@", "_at_"): float(v) for k, v in met.items()})
        rows.append(row)
        if i == cfg.folds - 1:
            figures["metrics_at_k.png"] = plot_metrics_at_k(recs, test, train)
    return FoldScores(pd.DataFrame(rows), figures)


def _recommend_fit(
    cfg: ExperimentConfig,
    shop: ShopData,
    params: dict[str, Any],
    model_dir: Path,
    metrics: dict[str, float],
    say: Say,
) -> FinalModel:
    from ecomml.modelstore import feature_hashes, save_model
    from ecomml.recommend import build_interactions
    from ecomml.recommend.pipeline import STORE_VIEWS

    inter = build_interactions(shop.transactions, shop.events, cutoff=cfg.cutoff)
    store = store_from_shop(shop) if cfg.task_params["use_store"] else None
    say("fitting generators and ranker")
    model = _pipeline(params).fit(inter, cutoff=cfg.cutoff, store=store, catalog=shop.catalog)
    views = [store.view(v) for v in STORE_VIEWS] if store is not None else []
    window = (inter["ts"].min(), inter["ts"].max())
    path = save_model(
        model,
        model_dir,
        task="recommend",
        cutoff=cfg.cutoff,
        metrics=metrics,
        features=feature_hashes(views),
        training_window=window,
        extra={"train_stats": model.train_stats_, "source": shop.source, **_id_metadata(shop)},
    )
    return FinalModel(path, views, window)
