"""The forecasting step of the main job (``ecomml quickstart``)."""

from __future__ import annotations

import pandas as pd

from ecomml._io import atomic_path
from ecomml.task import StepContext, StepResult

__all__ = ["run_quickstart_step"]

TASK = "forecast"


def _parquet(frame: pd.DataFrame, path: object) -> None:
    with atomic_path(path, suffix=".tmp.parquet") as tmp:  # type: ignore[arg-type]
        frame.to_parquet(tmp, index=False)


def run_quickstart_step(ctx: StepContext) -> StepResult:
    """Weekly demand forecast (8 weeks) from the cutoff, a one-fold holdout backtest
    against a moving average, lead-time demand (2 weeks + 1 week review) and plots."""
    from ecomml.forecasting.backtest import backtest, quantile_calibration
    from ecomml.forecasting.baselines import MovingAverageForecaster
    from ecomml.forecasting.jobs import shop_panel
    from ecomml.forecasting.leadtime import lead_time_demand
    from ecomml.forecasting.lgbm import LightGBMForecaster
    from ecomml.forecasting.plots import (
        plot_error_by_class,
        plot_fan_charts,
        plot_quantile_coverage,
    )
    from ecomml.plots import save_figure

    out = ctx.out_dir / TASK
    plots = ctx.out_dir / "plots" / TASK
    horizon = 8
    ctx.say("weekly panel")
    panel, _ = shop_panel(ctx.shop, ctx.cutoff, "W", store=ctx.store)
    fit_kw = {"calendar": ctx.shop.calendar}
    model = LightGBMForecaster(
        freq="W", horizon=horizon, dispersion="insample", n_estimators=100, max_train_rows=80_000
    )
    ctx.say("backtest (last 8 weeks held out)")
    bt = backtest(model, panel, folds=1, fit_params=fit_kw)
    base = backtest(MovingAverageForecaster(freq="W", horizon=horizon), panel, folds=1)
    ctx.say("fit + forecast")
    model.fit(panel, **fit_kw)
    fc = model.predict(panel, start=ctx.cutoff, calendar=ctx.shop.calendar)
    ltd = lead_time_demand(fc, lead_time=2, review_period=1)
    outputs = {}
    for name, frame in (
        ("forecast", fc),
        ("lead_time_demand", ltd),
        ("backtest_metrics", bt.metrics),
    ):
        _parquet(frame, out / f"{name}.parquet")
        outputs[f"{TASK}/{name}.parquet"] = out / f"{name}.parquet"
    ctx.say("plots")
    figs = {
        "fan.png": plot_fan_charts(panel, bt.forecasts),
        "error_by_class.png": plot_error_by_class(bt.summary()),
        "coverage.png": plot_quantile_coverage(quantile_calibration(bt.forecasts)),
    }
    for fname, fig in figs.items():
        outputs[f"plots/{TASK}/{fname}"] = save_figure(fig, plots / fname)
    s = bt.summary().iloc[0]
    b = base.summary().iloc[0]
    metrics = {
        "wape": float(s["wape"]),
        "mase": float(s["mase"]),
        "bias": float(s["bias"]),
        "scaled_pinball": float(s["scaled_pinball"]),
        "coverage_80": float(s["coverage_80"]),
        "baseline_ma_mase": float(b["mase"]),
        "baseline_ma_scaled_pinball": float(b["scaled_pinball"]),
    }
    summary = {
        "freq": "W",
        "horizon": horizon,
        "skus": int(fc["sku"].nunique()),
        "fallback_skus": int(fc.loc[fc["fallback"], "sku"].nunique()),
        "patterns": fc.drop_duplicates("sku")["pattern"].value_counts().to_dict(),
        "holdout": {k: round(v, 4) for k, v in metrics.items()},
    }
    return StepResult(task=TASK, outputs=outputs, metrics=metrics, summary=summary)
