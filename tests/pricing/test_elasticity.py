"""Price elasticity: recovers the known price response of a synthetic shop better than
the naive regression, says which SKUs it could not estimate, and ``ecomml price
elasticity`` writes its contract columns and refuses bad input with one line. (The
scikit-learn contract is checked in tests/test_common.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ecomml.cli.main import app
from ecomml.data.synth import make_shop
from ecomml.exceptions import ConfigError, DataQualityError, NotFittedError
from ecomml.pricing import OUTPUT_COLUMNS, ElasticityModel
from ecomml.pricing.panel import price_panel

runner = CliRunner()
CONTRACT = ["sku", "elasticity", "elasticity_low", "elasticity_high", "n_price_changes", "source"]
SMALL = {"n_estimators": 40, "num_leaves": 7, "min_child_samples": 20}


@pytest.fixture(scope="module")
def shop():  # type: ignore[no-untyped-def]
    return make_shop(n_customers=6000, n_skus=150, n_categories=4, include_events=False,
                     price_changes=True, seed=4)  # fmt: skip


@pytest.fixture(scope="module")
def fitted(shop) -> ElasticityModel:  # type: ignore[no-untyped-def]
    return ElasticityModel(**SMALL).fit(shop.transactions, shop.catalog, shop.calendar)


def test_truth_is_written_only_with_price_changes(shop) -> None:  # type: ignore[no-untyped-def]
    t = shop.truth_prices
    assert {"sku", "elasticity", "own_elasticity", "regular_prices"} <= set(t.columns)
    assert (t["elasticity"] < 0).all() and (t["own_elasticity"] <= 0).all()
    assert make_shop(n_customers=50, n_skus=30, include_events=False).truth_prices is None


def test_estimates_track_the_truth_and_beat_the_naive_regression(shop, fitted) -> None:  # type: ignore[no-untyped-def]
    e = fitted.elasticities_.merge(shop.truth_prices[["sku", "own_elasticity"]], on="sku")
    own = e[e["source"] == "sku"]
    assert len(own) > 0.8 * len(e)
    err = (e["elasticity"] - e["own_elasticity"]).abs().median()
    naive = (e["naive_elasticity"] - e["own_elasticity"]).abs().median()
    assert err < 0.6 and err < 0.75 * naive
    covered = (e["own_elasticity"] >= e["elasticity_low"]) & (
        e["own_elasticity"] <= e["elasticity_high"]
    )
    assert covered.mean() > 0.6
    # the shop-wide response is found: negative, near the truth's mean
    assert abs(fitted.shop_elasticity_[0] - e["own_elasticity"].mean()) < 0.4


def test_table_columns_and_intervals(fitted) -> None:  # type: ignore[no-untyped-def]
    t = fitted.predict()
    assert list(t.columns) == OUTPUT_COLUMNS
    assert (t["elasticity_low"] <= t["elasticity"]).all()
    assert (t["elasticity"] <= t["elasticity_high"]).all()
    assert set(t["source"]) <= {"sku", "category", "shop"}


def test_a_wider_interval_is_wider(shop, fitted) -> None:  # type: ignore[no-untyped-def]
    wide = ElasticityModel(**SMALL, interval=0.99).fit(shop.transactions, shop.catalog,
                                                       shop.calendar).predict()  # fmt: skip
    narrow = fitted.predict()
    pd.testing.assert_series_equal(wide["elasticity"], narrow["elasticity"])
    assert ((wide["elasticity_high"] - wide["elasticity_low"])
            > (narrow["elasticity_high"] - narrow["elasticity_low"])).all()  # fmt: skip


def test_a_sku_with_one_price_is_pooled_not_invented(shop) -> None:  # type: ignore[no-untyped-def]
    tx = shop.transactions.copy()
    sku = tx.loc[tx["quantity"] > 0, "sku"].value_counts().index[0]
    tx.loc[tx["sku"] == sku, "price"] = 9.99
    m = ElasticityModel(**SMALL).fit(tx, shop.catalog, shop.calendar)
    row = m.predict([sku]).iloc[0]
    assert row["source"] == "category" and row["n_price_changes"] == 0
    assert np.isnan(row["own_estimate"])
    cat = m.categories_.set_index("category").loc[row["category"]]
    assert np.isclose(row["elasticity"], cat["elasticity"])


def test_quantity_tiers_are_taken_out_of_the_price() -> None:
    """Wholesale pricing: big lines pay less per unit; the list price never moves, so
    the true price response is zero, but the average price paid falls when units rise."""
    rng = np.random.default_rng(0)
    n = 6000
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 364, n), unit="D")
    q = rng.choice([1, 2, 6, 12, 48, 96], n, p=[0.3, 0.25, 0.2, 0.15, 0.07, 0.03])
    sku = rng.choice(["A", "B", "C"], n)
    price = np.where(q >= 48, 1.5, np.where(q >= 12, 2.0, 2.5))
    tx = pd.DataFrame({"order_id": np.arange(n).astype(str), "customer_id": "c", "sku": sku,
                       "ts": ts, "quantity": q, "price": price})  # fmt: skip
    panel = price_panel(tx, cutoff=pd.Timestamp("2025-01-01"))
    assert (panel.skus["tier_slope"] < -0.1).all()
    raw = panel.rows.groupby("sku")["log_price_raw"].std()
    adj = panel.rows.groupby("sku")["log_price"].std()
    assert (adj < 0.4 * raw).all()  # the tiers are (mostly) gone from the price index
    m = ElasticityModel(**SMALL, min_price_changes=1).fit(tx)
    t = m.predict()
    assert (t["naive_elasticity"] < -0.3).all()  # the naive slope reads tiers as response
    # adjusted: no price moves are left to learn from, and no response is invented
    assert (t.loc[t["source"] == "sku", "elasticity"].abs() < 0.3).all()
    assert t["elasticity"].isna().all() or (t["elasticity"].abs() < 0.3).all()
    # unadjusted, the tiers read as a strong (false) price response
    raw = ElasticityModel(**SMALL, min_price_changes=1, tier_adjust=False).fit(tx).predict()
    assert (raw["elasticity"] < -2).all()


def test_errors() -> None:
    with pytest.raises(NotFittedError):
        ElasticityModel().predict()
    tx = pd.DataFrame({"order_id": ["1"], "sku": ["A"], "ts": [pd.Timestamp("2024-01-01")],
                       "quantity": [1], "price": [0.0]})  # fmt: skip
    with pytest.raises(DataQualityError, match="positive price"):
        ElasticityModel().fit(tx, cutoff="2024-03-01")
    with pytest.raises(DataQualityError, match="missing column"):
        ElasticityModel().fit(tx.drop(columns="price"))
    with pytest.raises(ConfigError, match="interval"):
        ElasticityModel(interval=1.5).fit(tx)
    with pytest.raises(ConfigError, match="freq"):
        ElasticityModel(freq="M").fit(tx, cutoff="2024-03-01")


@pytest.fixture(scope="module")
def shop_files(shop, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("priceshop")
    shop.transactions.to_parquet(d / "tx.parquet")
    shop.catalog.to_parquet(d / "catalog.parquet")
    shop.calendar.to_parquet(d / "calendar.parquet")
    return d


def test_cli_writes_the_contract_columns_and_plots(shop_files: Path, tmp_path: Path) -> None:
    out = tmp_path / "el.csv"
    r = runner.invoke(app, ["price", "elasticity", "--transactions", str(shop_files / "tx.parquet"),
                            "--catalog", str(shop_files / "catalog.parquet"), "--calendar",
                            str(shop_files / "calendar.parquet"), "--cutoff", "2024-12-01",
                            "--output", str(out), "--no-track"])  # fmt: skip
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out)
    assert list(t.columns[: len(CONTRACT)]) != [] and set(CONTRACT) <= set(t.columns)
    assert t["sku"].is_unique and set(t["source"]) <= {"sku", "category", "shop"}
    assert (tmp_path / "plots" / "price_elasticity_categories.png").stat().st_size > 1000
    assert (tmp_path / "plots" / "price_demand_curves.png").is_file()
    assert "estimated from their own price changes" in r.output


def test_cli_bad_input_is_one_line(shop_files: Path, tmp_path: Path) -> None:
    base = ["price", "elasticity", "--transactions", str(shop_files / "tx.parquet"), "--no-track"]
    r = runner.invoke(app, [*base, "--output", str(tmp_path / "el.txt")])
    assert r.exit_code != 0 and ".csv or .parquet" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, [*base, "--output", str(tmp_path / "el.csv"), "--cutoff", "2019-01-01"])
    assert r.exit_code != 0 and "cutoff" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, [*base, "--output", str(tmp_path / "el.csv"), "--freq", "M"])
    assert r.exit_code != 0 and "--freq" in r.output
    assert not (tmp_path / "el.csv").exists()
