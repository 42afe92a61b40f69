"""Promotion ROI: windows, masking, the effect on a shop with a planted lift, the command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ecomml.campaigns.promo import (
    PROMO_COLUMNS,
    PromoWindow,
    _mask_runs,
    promo_windows,
    promotion_effect,
)
from ecomml.cli.main import app
from ecomml.exceptions import ConfigError, DataQualityError

runner = CliRunner()

RATE, LIFT, CANNIBAL = 10.0, 0.5, 0.3
RUNS = (("2023-06-05", "2023-06-11"), ("2024-06-03", "2024-06-09"))
PROMOTED = [f"S{i:02d}" for i in range(15)]


def _shop(seed: int = 0) -> dict[str, pd.DataFrame]:
    """60 SKUs selling Poisson(10) a day at 10.00 from 2023-01-02 to 2024-07-14; in each
    run of ``big_sale`` S00-S14 sell 50 % more at 8.00 and the rest of their category
    (S15-S29) 30 % less."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2023-01-02", "2024-07-14", freq="D")
    skus = [f"S{i:02d}" for i in range(60)]
    promo = np.zeros(len(days), dtype=bool)
    for a, b in RUNS:
        promo |= (days >= a) & (days <= b)
    rate = np.full((len(days), 60), RATE)
    rate[np.ix_(promo, np.arange(15))] *= 1 + LIFT
    rate[np.ix_(promo, np.arange(15, 30))] *= 1 - CANNIBAL
    qty = rng.poisson(rate)
    d, k = np.nonzero(qty)
    price = np.where(promo[d] & (k < 15), 8.0, 10.0)
    tx = pd.DataFrame({
        "order_id": [f"O{i}" for i in range(len(d))],
        "customer_id": [f"C{i % 500}" for i in range(len(d))],
        "sku": np.asarray(skus)[k], "ts": days[d] + pd.Timedelta(hours=12),
        "quantity": qty[d, k].astype(float), "price": price,
    })  # fmt: skip
    catalog = pd.DataFrame({"sku": skus, "category": ["a"] * 30 + ["b"] * 30,
                            "price": 10.0, "cost": 6.0})  # fmt: skip
    cal = pd.DataFrame({"date": days[promo], "event": "big_sale", "is_promo": True})
    return {"transactions": tx, "catalog": catalog, "calendar": cal}


@pytest.fixture(scope="module")
def shop() -> dict[str, pd.DataFrame]:
    return _shop()


def test_windows_are_the_event_runs(shop: dict[str, pd.DataFrame]) -> None:
    runs = promo_windows(shop["calendar"], "big_sale")
    assert [(r.start.date().isoformat(), r.end.date().isoformat()) for r in runs] == [
        ("2023-06-05", "2023-06-11"), ("2024-06-03", "2024-06-09")]  # fmt: skip
    assert promo_windows(shop["calendar"], "big_sale", year=2024) == runs[1:]
    with pytest.raises(ConfigError, match="'double_11' is not in the calendar.*big_sale"):
        promo_windows(shop["calendar"], "double_11")
    with pytest.raises(ConfigError, match="no run starting in 2022"):
        promo_windows(shop["calendar"], "big_sale", year=2022)


def test_masking_interpolates_the_runs_periods() -> None:
    ds = pd.date_range("2024-01-01", periods=8, freq="W-MON")
    panel = pd.DataFrame({"sku": "A", "ds": ds, "y": [1.0, 2, 3, 40, 50, 6, 7, 8]})
    run = PromoWindow("x", pd.Timestamp("2024-01-22"), pd.Timestamp("2024-01-28"))
    out, n = _mask_runs(panel, [run], "W", 1)
    assert n == 2 and out["y"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8]
    same, n0 = _mask_runs(panel, [], "W", 1)
    assert n0 == 0 and same["y"].tolist() == panel["y"].tolist()


def test_planted_lift_pull_forward_and_cannibalisation(shop: dict[str, pd.DataFrame]) -> None:
    window = promo_windows(shop["calendar"], "big_sale", year=2024)[0]
    res = promotion_effect(
        shop["transactions"], window, catalog=shop["catalog"], calendar=shop["calendar"],
        skus=PROMOTED, model="ma", post_periods=1, placebos=3, fixed_cost=100.0,
    )  # fmt: skip
    s = res.summary.iloc[0]
    truth = LIFT * RATE * 7 * 15
    assert abs(s["incremental_units"] - truth) < 0.2 * truth
    assert s["incremental_units_low"] < truth < s["incremental_units_high"]
    assert abs(s["cannibalised_units"] + CANNIBAL * RATE * 7 * 15) < 0.3 * CANNIBAL * RATE * 7 * 15
    assert abs(s["pull_forward_units"]) < 0.1 * RATE * 7 * 15  # none was planted
    net = s["incremental_units"] + s["pull_forward_units"] + s["cannibalised_units"]
    assert s["net_incremental_units"] == pytest.approx(net, rel=1e-9)
    assert s["discount_given"] == pytest.approx(2.0 * s["actual_units"], rel=1e-9)
    roi = (s["net_incremental_margin"] - 100.0) / (s["discount_given"] + 100.0)
    assert s["roi"] == pytest.approx(roi, rel=1e-6)
    assert s["placebo_windows"] == 3 and s["other_skus"] == 15
    sk = res.skus
    promoted = sk.loc[sk["group"] == "promoted"]
    assert sorted(promoted["sku"]) == PROMOTED
    assert promoted["actual_units"].sum() == pytest.approx(s["actual_units"])
    assert set(sk.loc[sk["group"] == "other", "sku"]) == {f"S{i:02d}" for i in range(15, 30)}
    assert res.categories["category"].tolist() == ["a"]
    assert res.periods["in_promotion"].tolist() == [True, False]
    c = res.categories.iloc[0]
    assert c["net_units_change_low"] < c["net_units_change"] < c["net_units_change_high"]


@pytest.mark.slow
@pytest.mark.twin  # ~3 s; the default tests run the same path with the moving average
def test_lightgbm_counterfactual_masks_last_years_run(shop: dict[str, pd.DataFrame]) -> None:
    window = promo_windows(shop["calendar"], "big_sale", year=2024)[0]
    res = promotion_effect(
        shop["transactions"], window, catalog=shop["catalog"], calendar=shop["calendar"],
        categories=["a"], post_periods=1, placebos=2, n_paths=400,
    )  # fmt: skip
    s = res.summary.iloc[0]
    # without the sale category a sells 30 x 70 a week; last year's spike is masked
    assert s["counterfactual_units"] == pytest.approx(30 * RATE * 7, rel=0.05)
    truth = (LIFT - CANNIBAL) * RATE * 7 * 15  # the whole category promoted: both inside
    assert s["incremental_units_low"] < truth < s["incremental_units_high"]
    assert s["other_skus"] == 0 and s["cannibalised_units"] == 0


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"window": PromoWindow("big_sale", pd.Timestamp("2024-07-10"),
                                pd.Timestamp("2024-07-20"))}, DataQualityError, "not complete"),
        ({"window": PromoWindow("big_sale", pd.Timestamp("2023-03-01"),
                                pd.Timestamp("2023-03-05"))}, DataQualityError, "26 weeks"),
        ({"window": PromoWindow("custom", pd.Timestamp("2023-08-07"),
                                pd.Timestamp("2024-04-28")), "post_periods": 0},
         ConfigError, "span 38 periods"),
        ({"skus": ["NOPE"]}, DataQualityError, "never sold.*NOPE"),
        ({"categories": ["zz"]}, DataQualityError, "'zz'"),
        ({"interval": 1.5}, ConfigError, "--interval"),
    ],
)  # fmt: skip
def test_bad_requests_are_named(
    shop: dict[str, pd.DataFrame], change: dict[str, Any], error: type, match: str
) -> None:
    kw: dict[str, Any] = {
        "window": promo_windows(shop["calendar"], "big_sale", year=2024)[0], "model": "ma",
        "catalog": shop["catalog"], "calendar": shop["calendar"], "placebos": 0,
    }  # fmt: skip
    kw.update(change)
    with pytest.raises(error, match=match):
        promotion_effect(shop["transactions"], **kw)


def test_custom_dates_and_short_post_window(shop: dict[str, pd.DataFrame]) -> None:
    window = PromoWindow("custom", pd.Timestamp("2024-06-03"), pd.Timestamp("2024-06-09"))
    res = promotion_effect(shop["transactions"], window, catalog=shop["catalog"],
                           calendar=shop["calendar"], model="ma", post_periods=8,
                           placebos=0)  # fmt: skip
    assert res.summary["post_periods"].iloc[0] == 5  # the data ends 2024-07-14
    assert any("post window cut to 5 of 8" in n for n in res.notes)


def test_skus_launched_during_it_are_reported_not_counted(shop: dict[str, pd.DataFrame]) -> None:
    days = pd.date_range("2024-06-03", "2024-06-09", freq="D") + pd.Timedelta(hours=9)
    launch = pd.DataFrame({"order_id": [f"N{i}" for i in range(7)], "customer_id": "C1",
                           "sku": "S99", "ts": days, "quantity": 5.0, "price": 9.0})  # fmt: skip
    tx = pd.concat([shop["transactions"], launch], ignore_index=True)
    window = promo_windows(shop["calendar"], "big_sale", year=2024)[0]
    res = promotion_effect(tx, window, catalog=shop["catalog"], calendar=shop["calendar"],
                           skus=[*PROMOTED, "S99"], model="ma", placebos=0)  # fmt: skip
    s = res.summary.iloc[0]
    assert s["new_skus"] == 1 and s["new_sku_units"] == 35 and s["skus"] == 15
    assert "S99" not in set(res.skus["sku"])
    assert any("1 promoted SKUs first sold after 2024-04-08" in n for n in res.notes)
    with pytest.raises(DataQualityError, match="every promoted SKU first sold less than 8"):
        promotion_effect(tx, window, skus=["S99"], model="ma", placebos=0)
    never = pd.concat([shop["catalog"], pd.DataFrame({"sku": ["S98"], "category": ["a"],
                                                      "price": [5.0], "cost": [3.0]})])  # fmt: skip
    res = promotion_effect(tx, window, catalog=never, calendar=shop["calendar"],
                           skus=PROMOTED, model="ma", placebos=0)  # fmt: skip
    assert "S98" not in set(res.skus["sku"]) and res.summary["other_skus"].iloc[0] == 15


def test_synthetic_truth_without_event_differs_only_around_it() -> None:
    from ecomml.data.synth import make_shop

    s = make_shop(n_customers=300, n_skus=60, days=400, seed=3, include_events=False,
                  without_event="618")  # fmt: skip
    d = s.truth_sku_days.groupby("date")[["mean", "mean_without_event"]].sum()
    changed = d.index[(d["mean"] - d["mean_without_event"]).abs() > 1e-9]
    runs = promo_windows(s.calendar, "618")
    near = np.zeros(len(changed), dtype=bool)
    for r in runs:  # the run, the dip before its peak and the day after
        near |= (changed >= r.start - pd.Timedelta(days=3)) & (
            changed <= r.end + pd.Timedelta(days=1)
        )
    assert len(changed) and near.all()
    inside = d.loc[(d.index >= runs[0].start) & (d.index <= runs[0].end)]
    assert inside["mean"].sum() > inside["mean_without_event"].sum()
    with pytest.raises(ConfigError, match="not in the shop's calendar"):
        make_shop(n_customers=50, n_skus=10, days=60, without_event="nope")


def test_cli_writes_tables_and_plot(shop: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    paths = {}
    for name, frame in shop.items():
        paths[name] = tmp_path / f"{name}.parquet"
        frame.to_parquet(paths[name])
    out = tmp_path / "out" / "promo.csv"
    args = ["promo", "-t", str(paths["transactions"]), "--catalog", str(paths["catalog"]),
            "--calendar", str(paths["calendar"]), "--event", "big_sale", "--skus",
            ",".join(PROMOTED), "--model", "ma", "--placebos", "2", "--post-periods", "1",
            "--output", str(out), "--sku-output", str(tmp_path / "out" / "sku.parquet"),
            "--category-output", str(tmp_path / "out" / "cat.csv"), "--no-track"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    summary = pd.read_csv(out)
    assert list(summary.columns) == PROMO_COLUMNS  # the contract, in order
    assert summary["start"].tolist() == ["2024-06-03"]  # 2023's run has too little history
    assert "skipped big_sale 2023-06-05" in res.output and "Promotion effect" in res.output
    sku = pd.read_parquet(tmp_path / "out" / "sku.parquet")
    assert {"sku", "group", "incremental_units", "event", "start"} <= set(sku.columns)
    assert len(pd.read_csv(tmp_path / "out" / "cat.csv")) == 1
    assert (
        tmp_path / "out" / "promo-plots" / "promo_big_sale_2024-06-03.png"
    ).stat().st_size > 10_000
    page = (tmp_path / "out" / "promo.html").read_text()  # tables and plot in one page
    assert page.count("data:image/png;base64,") == 1 and "Effect in units" in page
    assert "<h2>Skipped</h2><p>big_sale 2023-06-05" in page
    bad = runner.invoke(app, [*args[:7], "--event", "double_11", "--output",
                              str(tmp_path / "x.csv"), "--no-track"])  # fmt: skip
    assert bad.exit_code != 0 and "'double_11' is not in the calendar" in bad.output
    assert "Traceback" not in bad.output and not (tmp_path / "x.csv").exists()


def test_daily_periods(shop: dict[str, pd.DataFrame]) -> None:
    window = promo_windows(shop["calendar"], "big_sale", year=2024)[0]
    res = promotion_effect(shop["transactions"], window, catalog=shop["catalog"],
                           calendar=shop["calendar"], skus=PROMOTED, freq="D", model="ma",
                           post_periods=7, placebos=2, n_paths=200)  # fmt: skip
    s = res.summary.iloc[0]
    assert s["freq"] == "D" and s["promo_periods"] == 7 and len(res.periods) == 14
    truth = LIFT * RATE * 7 * 15
    assert abs(s["incremental_units"] - truth) < 0.25 * truth
    assert s["incremental_units_low"] < truth < s["incremental_units_high"]
