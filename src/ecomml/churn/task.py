"""The churn task: churn and repurchase probabilities, customer value, tiers and actions.

The one file of :mod:`ecomml.churn` that knows the feature store and the task contract;
the models themselves (:class:`ChurnModel`, BG/NBD, the classifier) take frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from ecomml._io import atomic_write_json, atomic_write_table
from ecomml.churn.model import EXTRA_COLUMNS, SCORED_COLUMNS, ChurnModel
from ecomml.exceptions import ConfigError, ModelLoadError
from ecomml.task import Evaluation, ModelTask, Option, Shown, StepResult, TaskData, Trained, quiet

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ecomml.data.shop import ShopData
    from ecomml.task import Folds, Params, Say, StepContext

__all__ = ["ChurnTask"]

_FOLD_METRICS = ("roc_auc", "pr_auc", "brier", "log_loss", "lift_top_decile")


def _has_events(shop: ShopData) -> bool:
    return shop.events is not None and len(shop.events) > 0


class ChurnTask(ModelTask):
    """Who is gone, what they would still buy, and what to do about it.

    ``params``: ``horizon`` (days without a purchase that count as churn) plus any
    :class:`~ecomml.churn.ChurnModel` parameter (``btyd``, ``step``, ``max_cutoffs``,
    ``repurchase_days``, ``discount_rate``, ``classifier``).
    """

    name: ClassVar[str] = "churn"
    headline_metrics: ClassVar[tuple[str, ...]] = (
        "holdout_classifier_roc_auc",
        "holdout_btyd_roc_auc",
        "roc_auc",
    )
    min_data: ClassVar[Mapping[str, int]] = {"customers": 500, "repeat customers": 100}
    title: ClassVar[str] = "churn, repurchase and customer value"
    output_columns: ClassVar[tuple[str, ...]] = SCORED_COLUMNS
    #: what ``score(..., extra_columns=True)`` adds after ``output_columns``
    extra_columns: ClassVar[tuple[str, ...]] = EXTRA_COLUMNS
    metrics: ClassVar[tuple[str, ...]] = _FOLD_METRICS
    params: ClassVar[Mapping[str, Any]] = {"horizon": 90}
    models: ClassVar[tuple[str, ...]] = ("churn",)
    fold_unit: ClassVar[str] = "days"
    serving_inputs: ClassVar[tuple[tuple[str, str], ...]] = (
        ("order_id", "string"), ("customer_id", "string"), ("sku", "string"),
        ("ts", "datetime"), ("quantity", "double"), ("price", "double"),
        # optional: the line's category (category_diversity reads it), channel, region, the
        # return link, and the `event` of event rows (models trained with an events log)
        ("category", "string?"), ("channel", "string?"), ("region", "string?"),
        ("return_of", "string?"), ("event", "string?"),
    )  # fmt: skip
    serving_params: ClassVar[tuple[tuple[str, str, Any], ...]] = (("cutoff", "string", None),)
    output_types: ClassVar[Mapping[str, str]] = {
        **dict.fromkeys(("customer_id", "tier", "segment", "reasons", "action"), "string"),
        **dict.fromkeys(("r_score", "f_score", "m_score", "rfm_score"), "long"),
    }

    commands: ClassVar[tuple[str, ...]] = ("train", "predict", "backtest")
    command_groups: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "train": ("tracking",), "predict": ("ids", "spark"),
    }  # fmt: skip
    command_help: ClassVar[Mapping[str, str]] = {
        "train": "Fit BG/NBD, Gamma-Gamma and (when earlier label windows are complete) the "
        "LightGBM churn classifier on the history before --cutoff.",
        "predict": "Score every customer with a purchase before --cutoff; sorted by value at risk.",
        "backtest": "Refit the churn model at rolling fold cutoffs and compare it (and BG/NBD "
        "alone) with what happened in the following --horizon days.",
    }
    _horizon = Option("horizon", "--horizon", ..., "Churn = no purchase in this many days.", int)
    train_options: ClassVar[tuple[Option, ...]] = (
        _horizon,
        Option(
            "btyd",
            "--btyd",
            "auto",
            "auto, bgnbd, mbgnbd or pareto (Pareto/NBD); auto "
            "picks one on the latest complete label window.",
        ),
        Option("step", "--step", 30, "Days between stacked training cutoffs."),
        Option("max_cutoffs", "--max-cutoffs", 12, "Most training cutoffs to stack."),
        Option("repurchase_days", "--repurchase-days", 30, "Window of p_repurchase."),
        Option("discount_rate", "--discount-rate", 0.10, "Annual discount rate of expected_value."),
        Option("out", "--out", Path("ecomml-output"), "Folder for the evaluation plots."),
    )
    predict_options: ClassVar[tuple[Option, ...]] = (
        Option("extra_columns", "--extra-columns", False,
               "Also write p_alive, RFM scores, recency, frequency, monetary."),
        Option("campaign_model", "--campaign-model", None, "An uplift model trained from the "
               "shop (`ecomml uplift train --start`): adds uplift, incremental_value and "
               "send_offer.", Path, file="in"),
        Option("offer_margin", "--offer-margin", 1.0, "With --campaign-model: value of one "
               "unit of the campaign's outcome."),
        Option("offer_cost", "--offer-cost", 0.0, "With --campaign-model: cost of one offer."),
        Option("offer_budget", "--offer-budget", None, "With --campaign-model: at most this "
               "many offers.", int, min=0),
    )  # fmt: skip
    backtest_options: ClassVar[tuple[Option, ...]] = (
        _horizon,
        Option("folds", "--folds", 3, "Number of fold cutoffs."),
        Option(
            "fold_step",
            "--fold-step",
            None,
            "Days between fold cutoffs (default: the horizon).",
            int,
        ),  # fmt: skip
        Option("output", "--output", None, "Write the metrics (.csv/.parquet).", Path, file="out"),
        Option(
            "plots_dir",
            "--plots-dir",
            Path("reports/churn-backtest"),
            "PNG plots folder (calibration by member tier).",
            Path,
        ),  # fmt: skip
    )

    def views(self, model: Any) -> list[str]:
        return list(model.views_)

    def train(self, data: TaskData, options: Mapping[str, Any], progress: Say = quiet) -> Trained:
        keys = ("horizon", "btyd", "step", "max_cutoffs", "repurchase_days", "discount_rate")
        params = {k: options[k] for k in keys}
        model = self.fit(data, params=params, progress=progress)
        progress("scoring the training cutoff")
        btyd = {f"btyd.{k}": v for k, v in model.btyd_model_.params_.items()}
        return Trained(
            model, params, metrics=self.holdout_metrics(model), figures=self.figures(model, data),
            plots_dir=Path(options["out"]) / "plots" / self.name, shown=self.describe(model),
            run_name=f"churn-{data.cutoff.date()}", run_params={
                "btyd.kind": model.btyd_kind_, **btyd,
                "training_cutoffs": len(model.training_cutoffs_)},
        )  # fmt: skip

    def score_options(self, options: Mapping[str, Any], key: str | None = None) -> dict[str, Any]:
        keys = ["extra_columns"]
        if options.get("campaign_model") is not None:  # the offer options mean nothing without it
            keys += ["campaign_model", "offer_margin", "offer_cost", "offer_budget"]
        return {k: options[k] for k in keys if k in options}

    def scored_line(self, frame: pd.DataFrame, model: Any, shop: ShopData | None,
                    cutoff: pd.Timestamp, output: Path) -> str:  # fmt: skip
        return (
            f"scored {len(frame):,} customers as of {cutoff.date()}: mean P(churn) "
            f"{frame['p_churn'].mean():.3f}, value at risk {frame['value_at_risk'].sum():,.0f}; "
            f"written to {output}"
        )

    def backtest_report(
        self, data: TaskData, options: Mapping[str, Any], progress: Say = quiet
    ) -> Evaluation:
        from ecomml.churn.backtest import run_churn_backtest

        bt = run_churn_backtest(
            data.shop, cutoff=data.cutoff, horizon=options["horizon"], folds=options["folds"],
            step=options["fold_step"], progress=progress,
        )  # fmt: skip
        res = bt.folds
        fmt = {"cutoff": "{:%Y-%m-%d}", "model": "{}", "customers": "{:,}", "roc_auc": "{:.3f}",
               "pr_auc": "{:.3f}", "brier": "{:.3f}", "lift_top_decile": "{:.2f}",
               "base_rate": "{:.3f}", "mean_predicted": "{:.3f}"}  # fmt: skip
        title = f"churn backtest, {options['horizon']}-day horizon"
        shown = [Shown(res, title, fmt, left=("cutoff", "model"))]
        tiers, figs, extra = _tier_report(bt)
        if len(tiers):
            tfmt = {"tier": "{}", "n": "{:,}", "mean_predicted": "{:.3f}",
                    "observed_rate": "{:.3f}", "gap": "{:+.3f}", "brier": "{:.3f}"}  # fmt: skip
            shown.append(Shown(tiers, "calibration by member tier, all folds", tfmt, ("tier",)))
        return Evaluation(res, figs, extra=extra, shown=shown)

    def make_model(self, params: Params = None) -> ChurnModel:
        """An unfitted :class:`ChurnModel` with the task's horizon and the model params."""
        return ChurnModel(self.task_params(params)["horizon"], **self.model_params(params))

    def fit(self, data: TaskData, *, params: Params = None, progress: Say = quiet) -> ChurnModel:
        model = self.make_model(params)
        model.fit(
            data.shop.transactions, data.store, cutoff=data.cutoff,
            events=_has_events(data.shop), progress=progress,
        )  # fmt: skip
        return model

    def evaluate(
        self, data: TaskData, folds: Folds, *, params: Params = None, progress: Say = quiet
    ) -> Evaluation:
        from matplotlib.figure import Figure

        from ecomml.churn.backtest import run_churn_backtest

        horizon = self.task_params(params)["horizon"]
        bt = run_churn_backtest(
            data.shop,
            cutoff=data.cutoff,
            horizon=horizon,
            folds=folds.n,
            step=folds.step,
            model_params=self.model_params(params),
            progress=progress,
        )
        res = bt.folds
        cuts = sorted(res["cutoff"].unique())
        rows = []
        for i, c in enumerate(cuts, start=1):
            part = res.loc[res["cutoff"] == c].set_index("model")
            main = "classifier" if "classifier" in part.index else "btyd"
            row: dict[str, Any] = {"fold": i, "cutoff": pd.Timestamp(c), "model": main}
            row.update({k: float(part.loc[main, k]) for k in _FOLD_METRICS})
            row.update({f"btyd_{k}": float(part.loc["btyd", k]) for k in _FOLD_METRICS})
            row["base_rate"] = float(part.loc[main, "base_rate"])
            rows.append(row)
        table = pd.DataFrame(rows)
        fig = Figure(figsize=(6, 3.5), layout="constrained")
        ax = fig.add_subplot(1, 1, 1)
        x = np.arange(len(table))
        ax.bar(x - 0.2, table["roc_auc"], 0.4, label="model")
        ax.bar(x + 0.2, table["btyd_roc_auc"], 0.4, label="BG/NBD alone")
        ax.set_xticks(x, [str(pd.Timestamp(c).date()) for c in table["cutoff"]])
        ax.set_ylim(0.5, 1.0)
        ax.set_ylabel("ROC AUC")
        ax.set_title(f"churn within {horizon} days, per fold")
        ax.legend(loc="lower right")
        _tiers, figs, extra = _tier_report(bt)
        return Evaluation(
            table.drop(columns="model"), {"auc_by_fold.png": fig, **figs}, extra=extra
        )

    def score(
        self,
        model: Any,
        data: TaskData,
        *,
        extra_columns: bool = False,
        campaign_model: Path | None = None,
        offer_margin: float = 1.0,
        offer_cost: float = 0.0,
        offer_budget: int | None = None,
        **options: Any,
    ) -> pd.DataFrame:
        """The scored list, sorted by value at risk; ``extra_columns`` adds ``p_alive``,
        the RFM scores, recency, frequency and monetary value; ``campaign_model`` (an uplift
        model folder trained from the shop) adds each customer's ``uplift``,
        ``incremental_value`` (uplift x ``offer_margin``) and ``send_offer`` (worth more than
        ``offer_cost``, best first within ``offer_budget``)."""
        self.check_model(model)
        if "customer_events" in model.views_ and not _has_events(data.shop):
            raise ConfigError(
                "this churn model was trained with an events log: pass --events FILE "
                "(customer_id, sku, ts, event) covering the history before --cutoff"
            )
        scored = model.score(data.shop.transactions, data.store, cutoff=data.cutoff)
        cols = [*SCORED_COLUMNS, *(EXTRA_COLUMNS if extra_columns else ())]
        out = scored[cols]
        if campaign_model is not None:
            out = _with_offers(out, campaign_model, data, offer_margin, offer_cost, offer_budget)
        return self.check_output(out)

    def check_model(self, model: Any) -> None:
        if not isinstance(model, ChurnModel):
            raise ModelLoadError(
                f"a {type(model).__name__} is not a churn model; train one with "
                "`ecomml train churn`"
            )

    def metadata(self, model: Any, shop: ShopData, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"horizon": int(model.horizon), **model.describe()}

    def figures(self, model: Any, data: TaskData) -> dict[str, Figure]:
        from ecomml.churn.plots import model_figures

        return model_figures(model, self.score(model, data))

    @staticmethod
    def holdout_metrics(model: Any) -> dict[str, float]:
        """The model's own temporal-holdout metrics, flat: ``holdout_<who>_<metric>``."""
        val = model.validation_ or {}
        metrics = {
            f"holdout_{who}_{k}": float(v)
            for who in ("classifier", "btyd", "blend")
            for k, v in (val.get(who) or {}).items()
        }
        rep = val.get("repurchase") or {}
        metrics.update(
            {
                f"holdout_repurchase_{who}_{k}": float(v)
                for who in ("classifier", "btyd", "blend")
                for k, v in (rep.get(who) or {}).items()
            }
        )
        return metrics

    def describe(self, model: Any) -> list[str]:
        lines = []
        if model.note_:
            lines.append(f"note: {model.note_}")
        params = " ".join(f"{k}={v:.3f}" for k, v in model.btyd_model_.params_.items())
        lines.append(
            f"{model.btyd_kind_.upper()}: {params} on {model.btyd_model_.n_customers_:,} customers"
        )
        scores = getattr(model, "btyd_scores_", None)
        if scores:  # auto: which model the validation window chose, and why
            shown = ", ".join(
                f"{k} {v:.4f}" for k, v in sorted(scores.items(), key=lambda kv: kv[1])
            )
            lines.append(f"  chosen on the validation window (Brier of P(any purchase)): {shown}")
        if model.classifier_ is not None:
            lines.append(
                f"classifier: LightGBM on {model.n_training_rows_:,} rows from "
                f"{len(model.training_cutoffs_)} cutoffs, calibration "
                f"{model.classifier_.calibration_}"
            )
        val = model.validation_ or {}
        if val:
            for who in ("classifier", "btyd", "blend"):
                if who not in val:
                    continue
                m = val[who]
                lines.append(
                    f"holdout {val['cutoff'][:10]} {who:10s} AUC {m['roc_auc']:.3f}  PR-AUC "
                    f"{m['pr_auc']:.3f}  Brier {m['brier']:.3f}  top-decile lift "
                    f"{m['lift_top_decile']:.2f}"
                )
            if "weight" in val:
                lines.append(_choice("P(churn)", val["weight"]))
        if val.get("repurchase"):
            rep = val["repurchase"]
            lines.append(
                f"repurchase within {model.repurchase_days} days, {rep['customers']:,} "
                f"first-order customers at {rep['cutoff'][:10]}: classifier AUC "
                f"{rep['classifier']['roc_auc']:.3f} Brier {rep['classifier']['brier']:.3f}; "
                f"BG/NBD AUC {rep['btyd']['roc_auc']:.3f} Brier {rep['btyd']['brier']:.3f}"
            )
            if "weight" in rep:
                lines.append(_choice("P(repurchase) of first-order customers", rep["weight"]))
        return lines

    def run_quickstart(self, ctx: StepContext) -> StepResult:
        """Fit a 90-day churn model as of the main job's cutoff and write the scored list."""
        from ecomml.churn.plots import model_figures
        from ecomml.plots import save_figure

        params = {
            "horizon": 90,
            "step": 60,
            "max_cutoffs": 6,
            "classifier": {"n_estimators": 200, "learning_rate": 0.05},
        }
        model = self.fit(ctx.data, params=params, progress=ctx.say)
        ctx.say("scoring customers")
        scored = self.score(model, ctx.data, extra_columns=True)
        out_dir = ctx.out_dir / self.name
        path = atomic_write_table(out_dir / "scored_customers.parquet", scored)
        ctx.say("plots")
        outputs = {"churn/scored_customers": path}
        for fname, fig in model_figures(model, scored).items():
            outputs[f"plots/{self.name}/{fname}"] = save_figure(
                fig, ctx.out_dir / "plots" / self.name / fname
            )
        metrics: dict[str, float] = {
            "customers": float(len(scored)),
            "mean_p_churn": float(scored["p_churn"].mean()),
            "value_at_risk": float(scored["value_at_risk"].sum()),
        }
        val = model.validation_ or {}
        for who in ("classifier", "btyd"):
            for k in ("roc_auc", "brier", "lift_top_decile"):
                if who in val:
                    metrics[f"holdout_{who}_{k}"] = float(val[who][k])
        summary = {
            **model.describe(),
            "validation_cutoff": val.get("cutoff"),
            "segments": scored["segment"].value_counts().to_dict(),
            "tiers": scored["tier"].value_counts().to_dict(),
            "metrics": metrics,
        }
        outputs["churn/summary"] = atomic_write_json(out_dir / "summary.json", summary)
        return StepResult(self.name, outputs, metrics, summary, model=model, params=params)


def _with_offers(
    scored: pd.DataFrame, campaign_model: Path, data: TaskData, margin: float, cost: float,
    budget: int | None,
) -> pd.DataFrame:  # fmt: skip
    """The churn list with the campaign's ``uplift``, ``incremental_value`` and
    ``send_offer`` per customer, from the customer views as of the scoring cutoff."""
    from ecomml.campaigns.uplift_commands import (
        load_uplift_model,
        score_shop_customers,
        target_offers,
    )

    model, meta = load_uplift_model(campaign_model)
    up = score_shop_customers(model, meta, data.store, data.cutoff, scored["customer_id"])
    value, send, _ = target_offers(up["uplift"].to_numpy(), margin=margin, cost=cost, budget=budget)
    return scored.assign(uplift=up["uplift"].to_numpy(), incremental_value=value, send_offer=send)


def _choice(what: str, w: float) -> str:
    """Which of its parts the model scores ``what`` with, and why."""
    if w >= 1.0:
        used = "the classifier alone"
    elif w <= 0.0:
        used = "BG/NBD alone (the classifier lost on the holdout)"
    else:
        used = f"{w:.1f} x classifier + {1 - w:.1f} x BG/NBD"
    return f"{what} uses {used}: the lowest holdout Brier score of the blends tried"


def _tier_report(bt: Any) -> tuple[pd.DataFrame, dict[str, Figure], dict[str, float]]:
    """A backtest's calibration per member tier (pooled over folds), its figure, and the
    largest gap over tiers as a metric experiments can compare."""
    tiers = bt.tier_calibration()
    if not len(tiers):
        return tiers, {}, {}
    figs = {"calibration_by_tier.png": tier_figure(tiers)}
    return tiers, figs, {"max_abs_tier_gap": float(tiers["gap"].abs().max())}


def tier_figure(tiers: pd.DataFrame) -> Figure:
    """Predicted against observed churn per member tier (a reliability bar chart)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(tiers))
    ax.bar(x - 0.2, tiers["mean_predicted"], 0.4, label="predicted p_churn (mean)")
    ax.bar(x + 0.2, tiers["observed_rate"], 0.4, label="observed churn rate")
    ax.set_xticks(x, [f"{t}\n(n={n:,})" for t, n in zip(tiers["tier"], tiers["n"], strict=True)])
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of customers")
    ax.set_title("churn calibration by member tier (backtest folds)")
    ax.legend(loc="upper right")
    return fig
