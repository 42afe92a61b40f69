"""Forecasters: output contract, baselines' known values, leakage, fallback, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecomml.exceptions import ConfigError, DataQualityError, NotFittedError, SchemaError
from ecomml.forecasting import (
    OUTPUT_COLUMNS,
    AutoForecaster,
    CrostonForecaster,
    ETSForecaster,
    LightGBMForecaster,
    MovingAverageForecaster,
    NaiveForecaster,
    SeasonalNaiveForecaster,
    TSBForecaster,
    classify_demand,
    panel_from_transactions,
)
from ecomml.testing import assert_cutoff_invariant
from tests.forecasting.conftest import toy_panel

FAST = {"n_estimators": 30, "max_train_rows": 20_000, "max_origins": 20}
Q = ["q05", "q10", "q25", "q50", "q75", "q90", "q95"]


def _check_contract(fc: pd.DataFrame, n_sku: int, horizon: int, freq: str = "W") -> None:
    assert list(fc.columns[: len(OUTPUT_COLUMNS)]) == OUTPUT_COLUMNS
    assert len(fc) == n_sku * horizon
    assert fc.groupby("sku").size().eq(horizon).all()
    q = fc[Q].to_numpy()
    assert (np.diff(q, axis=1) >= 0).all(), "quantiles cross"
    assert (q >= 0).all() and (fc["mean"] >= 0).all()
    if freq == "W":
        assert (fc["ds"].dt.dayofweek == 0).all()


@pytest.mark.parametrize(
    "est",
    [
        NaiveForecaster(horizon=4),
        SeasonalNaiveForecaster(horizon=4),
        MovingAverageForecaster(horizon=4),
        CrostonForecaster(horizon=4),
        CrostonForecaster(horizon=4, variant="sba"),
        TSBForecaster(horizon=4),
        ETSForecaster(horizon=4),
        LightGBMForecaster(horizon=4, **FAST),
        LightGBMForecaster(horizon=4, strategy="recursive", **FAST),
        LightGBMForecaster(horizon=4, dispersion="holdout", size_method="mle", **FAST),
    ],
    ids=lambda e: type(e).__name__ + "-" + str(getattr(e, "strategy", getattr(e, "variant", ""))),
)
def test_every_forecaster_honours_the_output_contract(est) -> None:  # noqa: ANN001
    panel = toy_panel(n_sku=12, n_weeks=70)
    fc = est.fit(panel).predict(panel)
    _check_contract(fc, 12, 4)
    assert fc["ds"].min() == panel["ds"].max() + pd.Timedelta(days=7)


def test_baselines_known_values() -> None:
    ds = pd.date_range("2023-01-02", periods=8, freq="7D")
    p = pd.DataFrame({"sku": "a", "ds": ds, "y": [4.0, 0, 4, 0, 4, 0, 4, 0]})
    assert NaiveForecaster(horizon=2).fit(p).predict(p)["mean"].tolist() == [0.0, 0.0]
    ma = MovingAverageForecaster(horizon=1, window=4).fit(p).predict(p)
    assert ma["mean"].iloc[0] == pytest.approx(2.0)
    # Croston: size 4; interval starts at 1 (the grid starts on the first sale), then
    # three intervals of 2 smoothed with alpha: 1.2, 1.36, 1.488. SBA scales by 1 - alpha/2
    cr = CrostonForecaster(horizon=1, alpha=0.2).fit(p).predict(p)
    assert cr["mean"].iloc[0] == pytest.approx(4 / 1.488)
    sba = CrostonForecaster(horizon=1, alpha=0.2, variant="sba").fit(p).predict(p)
    assert sba["mean"].iloc[0] == pytest.approx(4 / 1.488 * 0.9)
    seas = SeasonalNaiveForecaster(horizon=2, season=2).fit(p).predict(p)
    assert seas["mean"].tolist() == [4.0, 0.0]


def test_tsb_decays_for_a_sku_that_stopped_selling() -> None:
    ds = pd.date_range("2023-01-02", periods=30, freq="7D")
    y = np.r_[np.full(15, 5.0), np.zeros(15)]
    p = pd.DataFrame({"sku": "dead", "ds": ds, "y": y})
    tsb = TSBForecaster(horizon=1, alpha=0.2, beta=0.2).fit(p).predict(p)["mean"].iloc[0]
    cro = CrostonForecaster(horizon=1, alpha=0.2).fit(p).predict(p)["mean"].iloc[0]
    assert tsb < 0.2 < cro


def test_patterns_follow_syntetos_boylan_cutoffs() -> None:
    ds = list(range(8))
    p = pd.DataFrame({
        "sku": ["smooth"] * 8 + ["erratic"] * 8 + ["intermittent"] * 8 + ["lumpy"] * 8,
        "ds": ds * 4,
        "y": [5, 5, 6, 5, 5, 6, 5, 5] + [1, 20, 1, 30, 2, 1, 25, 1]
        + [5, 0, 0, 5, 0, 6, 0, 0] + [1, 0, 0, 30, 0, 0, 2, 0],
    })  # fmt: skip
    got = classify_demand(p).set_index("sku")["pattern"].to_dict()
    assert got == {k: k for k in got}


def test_lgbm_direct_forecast_ignores_periods_after_the_origin(weekly_panel) -> None:  # noqa: ANN001
    est = LightGBMForecaster(horizon=4, **FAST).fit(weekly_panel)
    origin = weekly_panel["ds"].max() - pd.Timedelta(weeks=5)
    past = weekly_panel.loc[weekly_panel["ds"] < origin]
    a = est.predict(weekly_panel, start=origin)
    b = est.predict(past, start=origin)
    pd.testing.assert_frame_equal(a, b)


def test_train_and_forecast_are_cutoff_invariant(small_fc_shop) -> None:  # noqa: ANN001
    cutoff = pd.Timestamp("2024-01-17")

    def run(tx: pd.DataFrame) -> pd.DataFrame:
        panel = panel_from_transactions(tx, cutoff, "W")
        est = LightGBMForecaster(horizon=3, **FAST).fit(panel)
        return est.predict(panel, start=cutoff)

    assert_cutoff_invariant(run, small_fc_shop.transactions, cutoff, rng=0, rtol=1e-9)


def test_young_and_unknown_skus_get_the_category_fallback() -> None:
    panel = toy_panel(n_sku=10, n_weeks=40).assign(category="toys")
    young = pd.DataFrame({"sku": "NEW1", "ds": panel["ds"].max() - pd.Timedelta(weeks=1),
                          "y": [3.0], "category": "toys"}, index=[0])  # fmt: skip
    panel = pd.concat([panel, young], ignore_index=True)
    est = LightGBMForecaster(horizon=2, min_history=4, **FAST).fit(panel)
    fc = est.predict(panel, new_skus=pd.DataFrame({"sku": ["NEVER"], "category": ["toys"]}))
    flags = fc.groupby("sku")["fallback"].first()
    assert flags["NEW1"] and flags["NEVER"] and not flags["S000"]
    assert fc.loc[fc["sku"] == "NEVER", "pattern"].eq("new").all()
    assert (fc.loc[fc["sku"] == "NEVER", "mean"] > 0).all()


def test_bad_input_is_refused_clearly() -> None:
    p = toy_panel(n_sku=2, n_weeks=10)
    with pytest.raises(SchemaError, match="'y'"):
        NaiveForecaster().fit(p.rename(columns={"y": "qty"}))
    with pytest.raises(DataQualityError, match="non-negative"):
        NaiveForecaster().fit(p.assign(y=-1.0))
    with pytest.raises(DataQualityError, match="Mondays"):
        NaiveForecaster().fit(p.assign(ds=p["ds"] + pd.Timedelta(days=1)))
    with pytest.raises(DataQualityError, match="duplicate"):
        NaiveForecaster().fit(pd.concat([p, p.head(1)]))
    with pytest.raises(ConfigError, match="freq"):
        NaiveForecaster(freq="M").fit(p)
    with pytest.raises(ConfigError, match="horizon"):
        NaiveForecaster(horizon=0).fit(p)
    with pytest.raises(NotFittedError):
        LightGBMForecaster().predict(p)


def test_daily_frequency(small_fc_shop) -> None:  # noqa: ANN001
    panel = panel_from_transactions(small_fc_shop.transactions, "2024-02-05", "D")
    panel = panel.loc[panel["ds"] >= "2023-09-01"]
    est = LightGBMForecaster(freq="D", horizon=14, **FAST).fit(panel)
    fc = est.predict(panel)
    _check_contract(fc, panel["sku"].nunique(), 14, freq="D")
    assert fc["ds"].min() == pd.Timestamp("2024-02-05")


def test_save_and_load_round_trip(tmp_path: Path, weekly_panel) -> None:  # noqa: ANN001
    from ecomml.forecasting import load_forecaster
    from ecomml.modelstore import save_model

    est = LightGBMForecaster(horizon=3, **FAST).fit(weekly_panel)
    save_model(est, tmp_path / "m", task="forecast", extra={"freq": "W", "horizon": 3})
    assert (tmp_path / "m" / "lightgbm_model.txt").exists()
    assert not (tmp_path / "m" / "model.joblib").exists()
    loaded = load_forecaster(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.estimator.predict(weekly_panel), est.predict(weekly_panel))


def test_model_from_another_feature_set_is_refused(
    tmp_path: Path,
    weekly_panel,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a model folder written by a build whose forecaster computed other features must be
    # refused with a clear message, not fail inside LightGBM's predict
    from ecomml.exceptions import ModelLoadError
    from ecomml.forecasting import load_forecaster
    from ecomml.modelstore import save_model

    est = LightGBMForecaster(horizon=3, **FAST).fit(weekly_panel)
    save_model(est, tmp_path / "m", task="forecast", extra={"freq": "W", "horizon": 3})
    names = LightGBMForecaster._feature_names
    monkeypatch.setattr(
        LightGBMForecaster, "_feature_names", lambda self: [*names(self), "new_feature"]
    )
    with pytest.raises(ModelLoadError, match="retrain it with `ecomml train forecast`"):
        load_forecaster(tmp_path / "m")


def test_auto_picks_a_method_per_pattern(weekly_panel) -> None:  # noqa: ANN001
    auto = AutoForecaster(horizon=3, candidates=("ma", "tsb"), folds=1).fit(weekly_panel)
    assert set(auto.choice_.values()) <= {"ma", "tsb"}
    fc = auto.predict(weekly_panel)
    _check_contract(fc, weekly_panel["sku"].nunique(), 3)
    assert set(fc["method"]) <= {"ma", "tsb"}


def test_event_year_lags_line_up_last_years_promotion() -> None:
    from ecomml.data.calendar import promo_calendar
    from ecomml.forecasting.panel import event_year_lags

    cal = promo_calendar(pd.Timestamp("2022-01-01"), pd.Timestamp("2025-01-01"))
    weeks = pd.DatetimeIndex(["2024-11-11", "2024-11-18", "2024-07-08", "2023-11-06"])
    lags = event_year_lags(weeks, "W", cal)
    # Double 11 fell on a Saturday in 2023 (week of 6 Nov) and on Monday in 2024: 53 weeks;
    # on Friday in 2022 (week of 7 Nov), 52 weeks before the 2023 week
    assert list(lags) == [53, 52, 52, 52]
    days = pd.date_range("2024-11-11", periods=1, freq="D")
    assert event_year_lags(days, "D", cal)[0] == 366
    assert (event_year_lags(weeks, "W", None) == 52).all()


def test_explain_adds_up_and_needs_the_direct_strategy(weekly_panel) -> None:  # noqa: ANN001
    from ecomml.exceptions import ConfigError, NotFittedError
    from ecomml.forecasting import LightGBMForecaster

    with pytest.raises(NotFittedError):
        LightGBMForecaster().explain(weekly_panel)
    model = LightGBMForecaster(horizon=3, n_estimators=20, size_method="mle").fit(weekly_panel)
    why = model.explain(weekly_panel)
    fc = model.predict(weekly_panel)
    both = fc.loc[~fc["fallback"]].merge(why, on=["sku", "ds"], suffixes=("", "_why"))
    np.testing.assert_allclose(both["mean"], both["mean_why"], rtol=1e-9, atol=1e-9)
    factors = why[[c for c in why.columns if c.startswith("factor_")]].prod(axis=1)
    np.testing.assert_allclose(why["baseline"] * factors, why["lightgbm_mean"], rtol=1e-9)
    recursive = LightGBMForecaster(
        horizon=2, n_estimators=5, strategy="recursive", size_method="mle"
    )
    with pytest.raises(ConfigError, match="direct"):
        recursive.fit(weekly_panel).explain(weekly_panel)
