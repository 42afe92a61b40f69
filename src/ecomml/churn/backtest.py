"""Rolling-origin backtest of the churn model: refit at each fold's cutoff, score, compare
with what happened in the next ``horizon`` days."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ecomml._validation import check_cutoff
from ecomml.churn.labels import churn_labels, purchase_days
from ecomml.churn.model import ChurnModel
from ecomml.exceptions import DataQualityError
from ecomml.features.store import store_from_shop
from ecomml.metrics.classification import calibration_by_group, classification_report

if TYPE_CHECKING:
    from ecomml.data.shop import ShopData

__all__ = ["ChurnBacktest", "backtest_churn", "backtest_cutoffs", "run_churn_backtest"]


@dataclass
class ChurnBacktest:
    """A churn backtest's tables: metrics per fold and model (``folds``), and the
    reliability of the served model's ``p_churn`` per member tier and fold (``tiers``:
    ``cutoff, tier, n, mean_predicted, observed_rate, gap, brier``)."""

    folds: pd.DataFrame
    tiers: pd.DataFrame


def backtest_cutoffs(
    cutoff: Any, *, horizon: int, folds: int = 3, step: int | None = None
) -> list[pd.Timestamp]:
    """Fold cutoffs whose ``horizon``-day label windows end on or before ``cutoff``,
    ``step`` days apart (default: ``horizon``), oldest first."""
    cut = check_cutoff(cutoff)
    step = step or horizon
    last = cut.normalize() - pd.Timedelta(days=horizon)
    return sorted(last - pd.Timedelta(days=k * step) for k in range(folds))


def backtest_churn(shop: ShopData, **options: Any) -> pd.DataFrame:
    """Metrics per fold of ``ChurnModel`` (``model="classifier"``) and its BG/NBD alone
    (``model="btyd"``); only data before ``cutoff`` is read. ``options`` are
    :func:`run_churn_backtest`'s (``cutoff``, ``horizon``, ``folds``, ...).

    Returns ``cutoff, model, customers, roc_auc, pr_auc, brier, log_loss,
    lift_top_decile, base_rate, mean_predicted`` (:func:`run_churn_backtest` also gives
    the calibration per member tier).
    """
    return run_churn_backtest(shop, **options).folds


def run_churn_backtest(
    shop: ShopData,
    *,
    cutoff: Any,
    horizon: int,
    folds: int = 3,
    step: int | None = None,
    model_params: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ChurnBacktest:
    """:func:`backtest_churn`'s folds, and per fold the served ``p_churn``'s calibration in
    each member tier (standard / silver / gold / black): a list that is right on average
    can still over-promise in the tier a campaign targets."""
    from ecomml.data.shop import ShopData

    say = progress or (lambda msg: None)
    cut = check_cutoff(cutoff)
    tx = shop.transactions.loc[shop.transactions["ts"] < cut]
    days = purchase_days(tx)
    if days.empty:
        raise DataQualityError(f"no purchases before the cutoff {cut.date()}")
    rows, tiers = [], []
    for fc in backtest_cutoffs(cut, horizon=horizon, folds=folds, step=step):
        if fc <= days["day"].min() + pd.Timedelta(days=30):
            raise DataQualityError(
                f"backtest fold cutoff {fc.date()} leaves less than 30 days of history "
                f"(data starts {days['day'].min().date()}); use fewer --folds or a shorter "
                "--horizon"
            )
        say(f"fold {fc.date()}")
        hist = ShopData(
            transactions=tx.loc[tx["ts"] < fc].reset_index(drop=True),
            events=None
            if shop.events is None
            else shop.events.loc[shop.events["ts"] < fc].reset_index(drop=True),
            catalog=shop.catalog,
            calendar=shop.calendar,
        )
        store = store_from_shop(hist)
        events = hist.events is not None and len(hist.events) > 0
        model = ChurnModel(horizon, **dict(model_params or {}))
        model.fit(hist.transactions, store, cutoff=fc, events=events)
        scored = model.score(hist.transactions, store, cutoff=fc)
        lab = churn_labels(days=days, cutoffs=[fc], horizon=horizon, data_end=cut)
        y = lab.set_index("customer_id").loc[scored["customer_id"], "churn"].to_numpy()
        p_btyd = 1.0 - np.clip(
            model.btyd_model_.predict_any_purchase(
                horizon,
                *_rfm(hist.transactions, fc, scored["customer_id"]),
            ),
            0,
            1,
        )
        for name, p in (("classifier", scored["p_churn"].to_numpy()), ("btyd", p_btyd)):
            if name == "classifier" and model.classifier_ is None:
                continue
            rows.append(
                {"cutoff": fc, "model": name, "customers": len(y), **classification_report(y, p)}
            )
        cal = calibration_by_group(y, scored["p_churn"].to_numpy(), scored["tier"].astype(str))
        tiers.append(cal.rename(columns={"group": "tier"}).assign(cutoff=fc))
    tier_table = pd.concat(tiers, ignore_index=True) if tiers else pd.DataFrame()
    if len(tier_table):
        tier_table = tier_table[["cutoff", *[c for c in tier_table.columns if c != "cutoff"]]]
    return ChurnBacktest(pd.DataFrame(rows), tier_table)


def _rfm(transactions: pd.DataFrame, cutoff: pd.Timestamp, ids: pd.Series) -> tuple[Any, Any, Any]:
    from ecomml.churn.labels import rfm_summary

    s = rfm_summary(transactions, cutoff=cutoff).set_index("customer_id").loc[ids]
    return s["frequency"].to_numpy(), s["recency"].to_numpy(), s["T"].to_numpy()
