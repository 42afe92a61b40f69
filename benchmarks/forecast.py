"""Forecasting benchmark: ecomml vs statsforecast and mlforecast on the same panel.

Protocol (issue 3): the two-year UCI Online Retail history (both files, the overlap week
once, cleaned by ecomml's documented policy), weekly SKU demand (weeks start Monday,
positive quantities), SKUs with sales in at least 26 weeks before the cutoff, holdout =
the 8 complete weeks from the cutoff (default cutoff 2011-10-10: 2011-10-10..2011-11-28).
Forecasts are clipped at 0; MASE / RMSSE / scaled pinball are scaled per series by the
in-sample lag-1 naive error; scaled pinball = mean over q in {0.1, 0.5, 0.9}.

In the same run, on the same panel: seasonal naive (52), statsforecast AutoETS,
CrostonOptimized and TSB (conformal intervals), mlforecast LightGBM (default
LGBMRegressor, lags 1-4/8/13/52, rolling means, week of year, conformal intervals),
and ecomml (LightGBMForecaster; optionally the other ecomml models).

Settings of ecomml were chosen on the validation cutoff ``--cutoff 2011-08-15`` (the 8
weeks before the holdout), never on the holdout.

A second table scores ecomml on the synthetic shop, whose true demand distribution is
known: the ratio of ecomml's mean pinball loss (q05..q95) to that of the true
distribution's quantiles (weekly sums of the daily negative binomials, by simulation).

Usage::

    python benchmarks/forecast.py [--cutoff 2011-10-10] [--markdown PATH] [--skip-synthetic]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ecomml.forecasting import (  # noqa: E402
    LightGBMForecaster,
    SeasonalNaiveForecaster,
    make_forecaster,
    panel_from_transactions,
)
from ecomml.metrics.forecast import QUANTILE_COLUMNS, evaluate_forecast, pinball_loss  # noqa: E402

H = 8
COLS = [
    "wape",
    "bias",
    "mase",
    "rmsse",
    "scaled_pinball",
    "coverage_80",
    "below_q10",
    "above_q90",
    "mase_q50",
    "rpit_below_10",
    "rpit_above_90",
]


def build_panel(
    tx: pd.DataFrame, cutoff: pd.Timestamp, min_weeks: int = 26
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """History panel (complete weeks before the cutoff, SKUs with >= min_weeks selling
    weeks) and the holdout actuals (the next H weeks, zeros included)."""
    end = cutoff + pd.Timedelta(weeks=H)
    full = panel_from_transactions(tx, end, "W")
    hist = full.loc[full["ds"] < cutoff]
    active = hist.loc[hist["y"] > 0].groupby("sku").size()
    keep = active.index[active >= min_weeks]
    hist = hist.loc[hist["sku"].isin(keep)].reset_index(drop=True)
    act = full.loc[(full["ds"] >= cutoff) & full["sku"].isin(keep)].reset_index(drop=True)
    return hist, act


def _to_nixtla(hist: pd.DataFrame) -> pd.DataFrame:
    return hist.rename(columns={"sku": "unique_id"})[["unique_id", "ds", "y"]]


def _from_nixtla(fc: pd.DataFrame, name: str, lo: str | None, hi: str | None) -> pd.DataFrame:
    out = pd.DataFrame({"sku": fc["unique_id"].astype(str), "ds": pd.to_datetime(fc["ds"])})
    mean = np.maximum(fc[name].to_numpy(np.float64), 0.0)
    out["mean"] = mean
    out["q50"] = mean
    if lo is not None and lo in fc and hi in fc:
        out["q10"] = np.maximum(fc[lo].to_numpy(np.float64), 0.0)
        out["q90"] = np.maximum(fc[hi].to_numpy(np.float64), 0.0)
        out["q10"] = np.minimum(out["q10"], out["q50"])
        out["q90"] = np.maximum(out["q90"], out["q50"])
    return out


def run_statsforecast(hist: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, float]]:
    from statsforecast import StatsForecast
    from statsforecast.models import TSB, AutoETS, CrostonOptimized
    from statsforecast.utils import ConformalIntervals

    df = _to_nixtla(hist)
    ci = ConformalIntervals(h=H, n_windows=2)
    out = {}
    specs = {
        "AutoETS": AutoETS(season_length=1),  # 52-week seasons need >= 2 full years per SKU
        "CrostonOptimized": CrostonOptimized(prediction_intervals=ci),
        "TSB": TSB(alpha_d=0.1, alpha_p=0.1, prediction_intervals=ci),
    }
    for name, model in specs.items():
        t0 = time.perf_counter()
        sf = StatsForecast(models=[model], freq="W-MON", n_jobs=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fc = sf.forecast(h=H, df=df, level=[80])
        sec = time.perf_counter() - t0
        fc = fc.reset_index() if "unique_id" not in fc.columns else fc
        out[f"statsforecast {name}"] = (
            _from_nixtla(fc, name, f"{name}-lo-80", f"{name}-hi-80"),
            sec,
        )
    return out


def _mlforecast(models: dict[str, Any]) -> Any:
    """The mlforecast peer's features (lags, rolling means, week of year), one definition
    for every mlforecast row."""
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean

    return MLForecast(
        models=models,
        freq="W-MON",
        lags=[1, 2, 3, 4, 8, 13, 52],
        lag_transforms={1: [RollingMean(4), RollingMean(13)]},
        date_features=["week"],
    )


def run_mlforecast(hist: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    import lightgbm as lgb
    from mlforecast.utils import PredictionIntervals

    df = _to_nixtla(hist)
    t0 = time.perf_counter()
    mlf = _mlforecast({"lgbm": lgb.LGBMRegressor(n_jobs=1, verbosity=-1, random_state=0)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlf.fit(df, prediction_intervals=PredictionIntervals(n_windows=2, h=H))
        fc = mlf.predict(H, level=[80])
    return _from_nixtla(fc, "lgbm", "lgbm-lo-80", "lgbm-hi-80"), time.perf_counter() - t0


def run_mlforecast_quantiles(hist: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """mlforecast with three LightGBM quantile models (q10, q50, q90) on the same features:
    the peer issue 19's time target names (q50 serves as the point forecast)."""
    import lightgbm as lgb

    df = _to_nixtla(hist)
    t0 = time.perf_counter()
    mlf = _mlforecast(
        {
            f"q{int(a * 100)}": lgb.LGBMRegressor(
                objective="quantile", alpha=a, n_jobs=1, verbosity=-1, random_state=0
            )
            for a in (0.1, 0.5, 0.9)
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlf.fit(df)
        fc = mlf.predict(H)
    return _from_nixtla(fc, "q50", "q10", "q90"), time.perf_counter() - t0


def run_ecomml(hist: pd.DataFrame, name: str, **kw: Any) -> tuple[pd.DataFrame, float]:
    t0 = time.perf_counter()
    est = make_forecaster(name, freq="W", horizon=H, **kw)
    fit_kw: dict[str, Any] = {}
    est.fit(hist, **fit_kw)
    fc = est.predict(hist, **({"calendar": fit_kw["calendar"]} if fit_kw else {}))
    return fc, time.perf_counter() - t0


def score(fc: pd.DataFrame, act: pd.DataFrame, hist: pd.DataFrame) -> dict[str, float]:
    m = evaluate_forecast(fc, act, hist, pinball_levels=(0.1, 0.5, 0.9))
    return {c: float(m.iloc[0][c]) for c in COLS}


def real_data(cutoff: pd.Timestamp, models: list[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    from _datasets import online_retail_two_years

    t0 = time.perf_counter()
    data = online_retail_two_years()
    hist, act = build_panel(data.transactions, cutoff)
    info = {
        "series": int(hist["sku"].nunique()),
        "history": f"{hist['ds'].min().date()}..{hist['ds'].max().date()}",
        "holdout": f"{act['ds'].min().date()}..{act['ds'].max().date()}",
        "zero_share_holdout": float((act["y"] == 0).mean()),
        "dead_in_holdout": float((act.groupby("sku")["y"].sum() == 0).mean()),
        "load_seconds": time.perf_counter() - t0,
    }
    print(f"panel: {info}", flush=True)
    rows = []

    def add(name: str, fc: pd.DataFrame, sec: float) -> None:
        r = {"method": name, **score(fc, act, hist), "seconds": sec}
        rows.append(r)
        print(
            " ".join(f"{k}={v:.3f}" if isinstance(v, float) else str(v) for k, v in r.items()),
            flush=True,
        )

    snaive = SeasonalNaiveForecaster(freq="W", horizon=H)
    t0 = time.perf_counter()
    fc = snaive.fit(hist).predict(hist)
    add("seasonal naive (52)", fc, time.perf_counter() - t0)
    for name, (fc, sec) in run_statsforecast(hist).items():
        add(name, fc, sec)
    fc, sec = run_mlforecast(hist)
    add("mlforecast LightGBM", fc, sec)
    fc, sec = run_mlforecast_quantiles(hist)
    add("mlforecast LightGBM quantiles (q10, q50, q90)", fc, sec)
    for m in models:
        fc, sec = run_ecomml(hist, m)
        add(f"ecomml {m}", fc, sec)
    return pd.DataFrame(rows), info


def synthetic(seed: int = 0) -> pd.DataFrame:
    """Pinball loss of ecomml vs the true weekly distribution on the synthetic shop."""
    from ecomml.data.synth import make_shop

    shop = make_shop(seed=seed)
    last = pd.Timestamp(shop.transactions["ts"].max()).normalize()
    end = last - pd.Timedelta(days=last.dayofweek)  # Monday of the last (partial) week
    cutoff = end - pd.Timedelta(weeks=H)
    full = panel_from_transactions(shop.transactions, end, "W")
    hist = full.loc[full["ds"] < cutoff]
    act = full.loc[full["ds"] >= cutoff]
    truth = shop.truth_sku_days
    truth = truth.loc[(truth["date"] >= cutoff) & (truth["date"] < end)].copy()
    truth["ds"] = truth["date"] - pd.to_timedelta(truth["date"].dt.dayofweek, unit="D")
    rng = np.random.default_rng(1)
    n_draw = 2000
    mu = truth["mean"].to_numpy()
    k = np.clip(truth["dispersion"].to_numpy(), 1e-6, None)
    keys = truth[["sku", "ds"]].drop_duplicates().reset_index(drop=True)
    key_idx = truth.merge(keys.reset_index(), on=["sku", "ds"])["index"].to_numpy()
    sums = np.zeros((len(keys), n_draw))
    for s in range(0, n_draw, 250):
        lam = rng.gamma(k[:, None], (mu / k)[:, None], size=(len(mu), 250))
        draws = rng.poisson(lam)
        np.add.at(sums[:, s : s + 250], key_idx, draws)
    levels = np.array(list(QUANTILE_COLUMNS.values()))
    tq = np.quantile(sums, levels, axis=1).T
    true_fc = keys.copy()
    for j, c in enumerate(QUANTILE_COLUMNS):
        true_fc[c] = tq[:, j]
    true_fc["mean"] = sums.mean(axis=1)
    rows = []
    t0 = time.perf_counter()
    est = LightGBMForecaster(freq="W", horizon=H).fit(hist, calendar=shop.calendar)
    fc = est.predict(hist, calendar=shop.calendar)
    sec = time.perf_counter() - t0
    base = {"ecomml lgbm": (fc, sec)}
    for name in ("tsb", "ma"):
        t0 = time.perf_counter()
        b = make_forecaster(name, freq="W", horizon=H).fit(hist)
        base[f"ecomml {name}"] = (b.predict(hist), time.perf_counter() - t0)
    allfc = {"true distribution": (true_fc, 0.0), **base}
    common = act[["sku", "ds", "y"]]
    for f, _ in allfc.values():  # score every method on the same SKU-weeks
        common = common.merge(f[["sku", "ds"]], on=["sku", "ds"], how="inner")
    for name, (f, sec) in allfc.items():
        d = common.merge(f.drop(columns=["y"], errors="ignore"), on=["sku", "ds"], how="left")
        pl = np.mean([pinball_loss(d["y"], d[c], q) for c, q in QUANTILE_COLUMNS.items()])
        rows.append({"method": name, "mean_pinball": pl, "rows": len(d), "seconds": sec})
    out = pd.DataFrame(rows)
    out["ratio_to_truth"] = out["mean_pinball"] / out.loc[0, "mean_pinball"]
    return out


def scale_run(n_series: int, days: int = 730, horizon: int = 28, seed: int = 0) -> dict[str, Any]:
    """Daily LightGBM forecaster on ``n_series`` synthetic series x ``days`` days (negative
    binomial demand with SKU rates, weekly pattern and intermittency): wall time of each
    phase and this process's peak RSS."""
    import resource

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    rate = rng.gamma(0.6, 2.0, n_series)
    dow = np.array([1.1, 1.0, 1.0, 1.0, 1.1, 0.9, 0.9])
    days_idx = np.arange(days)
    ds = pd.date_range("2022-01-03", periods=days, freq="D")
    # one draw per SKU-day, in chunks to keep memory flat
    ys = []
    for lo in range(0, n_series, 10_000):
        r = rate[lo : lo + 10_000, None] * dow[days_idx % 7][None, :]
        lam = rng.gamma(0.8, r / 0.8)
        ys.append(rng.poisson(lam).astype(np.float32))
    y = np.concatenate(ys)
    panel = pd.DataFrame(
        {
            "sku": pd.Categorical.from_codes(
                np.repeat(np.arange(n_series), days), [f"S{i:06d}" for i in range(n_series)]
            ),
            "ds": np.tile(ds.to_numpy(), n_series),
            "y": y.reshape(-1).astype(np.float64),
        }
    )
    del ys, y
    gen = time.perf_counter() - t0
    t1 = time.perf_counter()
    est = LightGBMForecaster(freq="D", horizon=horizon, max_origins=26).fit(
        panel, calendar=pd.DataFrame({"date": pd.to_datetime([]), "event": [], "is_promo": []})
    )
    fit = time.perf_counter() - t1
    t2 = time.perf_counter()
    fc = est.predict(panel)
    pred = time.perf_counter() - t2
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB
    return {"series": n_series, "days": days, "rows": n_series * days, "horizon": horizon,
            "generate_s": gen, "fit_s": fit, "predict_s": pred, "forecast_rows": len(fc),
            "peak_rss_gib": rss}  # fmt: skip


def to_markdown(
    real: pd.DataFrame, info: dict[str, Any], syn: pd.DataFrame | None, cutoff: str
) -> str:
    ml = real.loc[real["method"] == "mlforecast LightGBM", "seconds"]
    mlq = real.loc[real["method"].str.startswith("mlforecast LightGBM quantiles"), "seconds"]
    lines = [
        f"Command: `python benchmarks/forecast.py --cutoff {cutoff} --markdown BENCHMARKS-forecast.md`",
        "",
        f"Panel: {info['series']} series, history {info['history']}, holdout {info['holdout']}; "
        f"{info['zero_share_holdout']:.0%} of holdout weeks are zero, "
        f"{info['dead_in_holdout']:.0%} of series sell nothing in the holdout.",
        "",
        "| method | WAPE | bias | MASE | q50 MASE | RMSSE | scaled pinball | 80% coverage | below q10 | above q90 "
        "| rPIT < 0.1 | rPIT > 0.9 | fit+predict s | time vs mlforecast | time vs mlforecast quantiles |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def fmt(v: Any, spec: str) -> str:
        return "-" if v is None or not np.isfinite(v) else format(v, spec)

    for _, r in real.iterrows():
        ratio = r["seconds"] / float(ml.iloc[0]) if len(ml) else float("nan")
        ratio_q = r["seconds"] / float(mlq.iloc[0]) if len(mlq) else float("nan")
        lines.append(
            f"| {r['method']} | {r['wape']:.3f} | {r['bias']:+.1%} | {r['mase']:.3f} | "
            f"{fmt(r.get('mase_q50'), '.3f')} | {r['rmsse']:.3f} | "
            f"{r['scaled_pinball']:.3f} | {r['coverage_80']:.1%} | {r['below_q10']:.1%} | {r['above_q90']:.1%} | "
            f"{fmt(r.get('rpit_below_10'), '.1%')} | {fmt(r.get('rpit_above_90'), '.1%')} | "
            f"{r['seconds']:.1f} | {ratio:.2f}x | {ratio_q:.2f}x |"
        )
    if syn is not None:
        lines += [
            "",
            "Synthetic shop (seed 0, 8-week holdout), mean pinball over q05..q95 vs the true distribution:",
            "",
            "| method | mean pinball | ratio to truth | fit+predict s |",
            "|---|---|---|---|",
        ]
        for _, r in syn.iterrows():
            lines.append(
                f"| {r['method']} | {r['mean_pinball']:.4f} | {r['ratio_to_truth']:.3f} | {r['seconds']:.1f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cutoff", default="2011-10-10", help="First holdout week (Monday).")
    ap.add_argument(
        "--models", default="lgbm", help="ecomml models, comma-separated (lgbm, auto, tsb, ...)."
    )
    ap.add_argument("--markdown", type=Path, default=None, help="Write the tables as Markdown.")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument(
        "--scale", type=int, default=0, help="Run only the daily scale test with N series."
    )
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.scale:
        print(scale_run(args.scale), flush=True)
        return
    cutoff = pd.Timestamp(args.cutoff)
    real, info, syn = pd.DataFrame(), {}, None
    if not args.skip_real:
        real, info = real_data(cutoff, [m.strip() for m in args.models.split(",") if m.strip()])
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(real.round(3).to_string(index=False))
    if not args.skip_synthetic:
        syn = synthetic()
        print(syn.round(4).to_string(index=False))
    if args.markdown is not None and not args.skip_real:
        args.markdown.write_text(to_markdown(real, info, syn, args.cutoff))
        print(f"markdown -> {args.markdown}")


if __name__ == "__main__":
    main()
