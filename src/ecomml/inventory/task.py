"""The inventory task: ABC/XYZ classes and a replenishment plan from the demand forecast.

The "model" of this task is the fitted forecaster (the plan is computed from its quantile
forecast as of each cutoff); evaluation replays the forecast-driven policy on the last
weeks of history (:func:`~ecomml.inventory.simulate_policy`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from ecomml._io import atomic_write_table
from ecomml.exceptions import DataQualityError, DataQualityWarning
from ecomml.forecasting.task import ForecastTask, shop_panel
from ecomml.inventory.commands import ACTIONS, RUNNERS
from ecomml.inventory.plan import PLAN_COLUMNS, replenishment_plan
from ecomml.task import Action, Evaluation, ModelTask, Report, StepResult, TaskData, quiet

if TYPE_CHECKING:
    from ecomml.data.shop import ShopData
    from ecomml.task import Folds, Params, Say, StepContext

__all__ = ["InventoryTask"]

#: plan options (``score``) and their defaults: days, fill-rate target
_PLAN_DEFAULTS: dict[str, Any] = {"lead_time": 14, "service_level": 0.95, "review_period": 1}


class InventoryTask(ModelTask):
    """Classes, stock levels and today's orders, planned from the demand forecast.

    ``params``: the forecast task's (``model``, ``freq``, ``horizon``, forecaster
    parameters) plus ``lead_time`` (days), ``service_level`` (fill-rate target) and
    ``review_period`` (periods).
    """

    name: ClassVar[str] = "inventory"
    min_data: ClassVar[Mapping[str, int]] = {"SKUs": 20, "weeks of history": 26}
    title: ClassVar[str] = "ABC/XYZ classes and replenishment plan"
    output_columns: ClassVar[tuple[str, ...]] = tuple(PLAN_COLUMNS)
    metrics: ClassVar[tuple[str, ...]] = ("fill_rate", "cycle_service", "avg_value", "turns")
    params: ClassVar[Mapping[str, Any]] = {"freq": "W", "horizon": 8, **_PLAN_DEFAULTS}
    models: ClassVar[tuple[str, ...]] = ForecastTask.models
    fold_unit: ClassVar[str] = "periods"

    actions: ClassVar[tuple[Action, ...]] = ACTIONS
    runners: ClassVar[Mapping[str, Callable[..., Report]]] = RUNNERS

    def _forecast_params(self, params: Params) -> dict[str, Any]:
        return {k: v for k, v in (params or {}).items() if k not in _PLAN_DEFAULTS}

    def make_model(self, params: Params = None) -> Any:
        """The unfitted forecaster the plan will be computed from."""
        return ForecastTask().make_model(self._forecast_params(params))

    def views(self, model: Any) -> list[str]:
        return ForecastTask().views(model)

    def fit(self, data: TaskData, *, params: Params = None, progress: Say = quiet) -> Any:
        """The forecaster the plan is computed from."""
        return ForecastTask().fit(data, params=self._forecast_params(params), progress=progress)

    def evaluate(
        self, data: TaskData, folds: Folds, *, params: Params = None, progress: Say = quiet
    ) -> Evaluation:
        """Replay the forecast-driven policy on ``folds.n`` windows of ``horizon`` periods
        before ``cutoff`` (weekly review, lost sales); fill rate, inventory and turns."""
        from ecomml.inventory.simulate import simulate_policy

        tp = self.task_params(params)
        est = self.make_model(params)
        panel, _ = shop_panel(data.shop, data.cutoff, est.freq, store=data.store)
        period = pd.Timedelta(days=7 if est.freq == "W" else 1)
        horizon, step, n = int(tp["horizon"]), int(folds.step or tp["horizon"]), folds.n
        last = pd.to_datetime(panel["ds"]).max() + period
        rows = []
        for i in range(n):
            end = last - period * step * (n - 1 - i)
            start = end - period * horizon
            progress(f"fold {i + 1}/{n}: replaying {start.date()} .. {end.date()}")
            res = simulate_policy(
                panel, start, end, lead_time=float(tp["lead_time"]),
                service_level=float(tp["service_level"]),
                review_period=int(tp["review_period"]), freq=est.freq, forecaster=est,
                fit_params=ForecastTask.fit_kwargs(est, data.shop),
            )  # fmt: skip
            s = res.summary
            rows.append(
                {
                    "fold": i + 1,
                    "cutoff": start,
                    **{k: float(s[k]) for k in self.metrics if k in s},
                }
            )
        return Evaluation(pd.DataFrame(rows))

    def score(
        self,
        model: Any,
        data: TaskData,
        *,
        forecast: pd.DataFrame | None = None,
        on_hand: pd.DataFrame | None = None,
        lead_time: float = 14,
        service_level: float = 0.95,
        review_period: int = 1,
        **options: Any,
    ) -> pd.DataFrame:
        """Today's plan: classes, stock levels and orders per SKU (``PLAN_COLUMNS``)."""
        fc = forecast if forecast is not None else ForecastTask().score(model, data)
        res = replenishment_plan(
            fc, data.shop.transactions, data.cutoff, lead_time=lead_time,
            service_level=service_level, review_period=review_period, on_hand=on_hand,
            catalog=data.shop.catalog, **options,
        )  # fmt: skip
        return self.check_output(res.plan)

    def check_model(self, model: Any) -> None:
        ForecastTask().check_model(model)

    def metadata(self, model: Any, shop: ShopData, params: Mapping[str, Any]) -> dict[str, Any]:
        return {
            **ForecastTask().metadata(model, shop, self._forecast_params(params)),
            **{k: params.get(k, v) for k, v in _PLAN_DEFAULTS.items()},
        }

    def run_quickstart(self, ctx: StepContext) -> StepResult:
        """ABC/XYZ classes by revenue and a plan (2-week lead time, weekly review, the
        default fill-rate target of each ABC-XYZ cell, the classes' ``service_target``,
        nothing in stock) from the forecast step's ``forecast/forecast.parquet``; Pareto
        and matrix plots."""
        from ecomml.inventory.plots import class_figures
        from ecomml.plots import save_figure

        src = ctx.out_dir / "forecast" / "forecast.parquet"
        if not src.exists():
            raise DataQualityError(
                f"the inventory step plans from the forecast step's output {src}, which is "
                "missing; run the forecasting step first"
            )
        out = ctx.out_dir / self.name
        plots = ctx.out_dir / "plots" / self.name
        ctx.say("classes + plan")
        with warnings.catch_warnings(record=True) as caught:  # the data's remarks: notes
            warnings.simplefilter("always")
            res = replenishment_plan(
                pd.read_parquet(src), ctx.shop.transactions, ctx.cutoff, lead_time=14,
                service_level=None, cell_targets={}, catalog=ctx.shop.catalog,
                on_mismatch="drop", n_samples=1000,
            )  # fmt: skip
        notes = []
        for w in caught:
            if issubclass(w.category, DataQualityWarning):
                notes.append(str(w.message))
            else:  # anything else is the caller's to see, as before
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        classes = res.classes.dropna(subset=["value"])
        outputs = {}
        for name, frame in (("plan", res.plan), ("classes", classes)):
            outputs[f"{self.name}/{name}.parquet"] = atomic_write_table(
                out / f"{name}.parquet", frame
            )
        ctx.say("plots")
        for fname, fig in class_figures(classes).items():
            outputs[f"plots/{self.name}/{fname}"] = save_figure(fig, plots / fname)
        s = res.summary
        metrics = {
            k: s[k]
            for k in (
                "expected_fill_rate",
                "expected_turns",
                "expected_avg_inventory_value",
                "slow_mover_share",
                "order_value",
            )
        }
        summary = {k: v for k, v in s.items() if k != "by_class"}
        summary["classes"] = res.plan["abc"].value_counts().to_dict()
        summary["pattern"] = (
            "classes.parquet: the demand pattern over the classification window (365 days "
            "before the cutoff); plan.parquet: the forecaster's pattern, over all the history "
            "it learnt from"
        )
        return StepResult(task=self.name, outputs=outputs, metrics=metrics, summary=summary,
                          notes=notes)  # fmt: skip
