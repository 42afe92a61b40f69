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
    """A churn backtest: metrics per fold and model (``folds``) and what the served model
    said of each customer at each fold (``served``: ``cutoff, tier, churned, p_churn``)."""

    folds: pd.DataFrame
    served: pd.DataFrame

    def tier_calibration(self, *, by_fold: bool = False) -> pd.DataFrame:
        """Reliability of ``p_churn`` per member tier, pooled over the folds (or per fold):
        ``[cutoff,] tier, n, mean_predicted, observed_rate, gap, brier``, tiers in order."""
        from ecomml.churn.tiers import TIERS

        if not len(self.served):
            return pd.DataFrame()
        parts = self.served.groupby("cutoff", sort=True) if by_fold else [(None, self.served)]
        out = []
        for cut, rows in parts:
            cal = calibration_by_group(rows["churned"], rows["p_churn"], rows["tier"])
            cal = cal.rename(columns={"group": "tier"})
            order = cal["tier"].map({name: i for i, name in enumerate(TIERS)}).fillna(len(TIERS))
            cal = cal.iloc[np.argsort(order.to_numpy(), kind="stable")]
            out.append(cal if cut is None else cal.assign(cutoff=cut)[["cutoff", *cal.columns]])
        return pd.concat(out, ignore_index=True)


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
    """:func:`backtest_churn`'s folds, and the served ``p_churn`` per customer and fold, from
    which :meth:`ChurnBacktest.tier_calibration` gives the calibration in each member tier
    (standard / silver / gold / black): a list that is right on average can still
    over-promise in the tier a campaign targets."""
    from ecomml.data.shop import ShopData

    say = progress or (lambda msg: None)
    cut = check_cutoff(cutoff)
    tx = shop.transactions.loc[shop.transactions["ts"] < cut]
    days = purchase_days(tx)
    if days.empty:
        raise DataQualityError(f"no purchases before the cutoff {cut.date()}")
    rows, served = [], []
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
        served.append(
            pd.DataFrame(
                {
                    "cutoff": fc,
                    "tier": scored["tier"].astype(str).to_numpy(),
                    "churned": y,
                    "p_churn": scored["p_churn"].to_numpy(),
                }
            )  # fmt: skip
        )
    return ChurnBacktest(
        pd.DataFrame(rows), pd.concat(served, ignore_index=True) if served else pd.DataFrame()
    )


def _rfm(transactions: pd.DataFrame, cutoff: pd.Timestamp, ids: pd.Series) -> tuple[Any, Any, Any]:
    from ecomml.churn.labels import rfm_summary

    s = rfm_summary(transactions, cutoff=cutoff).set_index("customer_id").loc[ids]
    return s["frequency"].to_numpy(), s["recency"].to_numpy(), s["T"].to_numpy()
