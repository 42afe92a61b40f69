"""The seeded synthetic shop: determinism, schema, structure and ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from ecomml.cli.synth import synth
from ecomml.data.schema import get_schema, validate_table
from ecomml.data.synth import (
    SyntheticShop,
    demand_quantiles,
    make_sample_shop,
    make_shop,
    write_shop,
)
from ecomml.exceptions import ConfigError

FRAMES = (
    "transactions",
    "events",
    "catalog",
    "calendar",
    "truth_customers",
    "truth_sku_days",
    "truth_skus",
)


@pytest.fixture(scope="module")
def shop() -> SyntheticShop:
    """The built-in sample shop (default size)."""
    return make_sample_shop()


@pytest.fixture(scope="module")
def small() -> SyntheticShop:
    return make_shop(n_customers=300, n_skus=150, days=200, seed=3)


def _sales(shop: SyntheticShop) -> pd.DataFrame:
    tx = shop.transactions
    return tx[tx["quantity"] > 0]


def _daily(shop: SyntheticShop) -> pd.DataFrame:
    """Actual units per SKU-day joined to the truth (zeros filled)."""
    s = _sales(shop)
    actual = s.groupby(["sku", s["ts"].dt.normalize().rename("date")])["quantity"].sum()
    out = shop.truth_sku_days.set_index(["sku", "date"]).join(actual.rename("y"))
    return out.fillna({"y": 0.0}).reset_index()


# ---------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_frames(small: SyntheticShop) -> None:
    again = make_shop(n_customers=300, n_skus=150, days=200, seed=3)
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(small, name), getattr(again, name), obj=name)


def test_different_seed_gives_different_shop(small: SyntheticShop) -> None:
    other = make_shop(n_customers=300, n_skus=150, days=200, seed=4)
    assert not small.transactions.equals(other.transactions)
    assert not small.truth_customers["lambda"].equals(other.truth_customers["lambda"])


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize("table", ["transactions", "events", "catalog", "calendar"])
def test_canonical_columns_and_dtypes(shop: SyntheticShop, table: str) -> None:
    df = getattr(shop, table)
    spec = get_schema(table).dtypes()
    assert set(df.columns) <= set(spec), set(df.columns) - set(spec)
    for col in df.columns:
        assert df[col].dtype == spec[col], (table, col, df[col].dtype)
    # the shared validator accepts the frame unchanged (on a sample, to stay fast)
    sample = df.head(30_000)
    checked = validate_table(sample, table)
    pd.testing.assert_frame_equal(checked[list(df.columns)], sample, check_like=True)


def test_transaction_columns_in_contract_order(shop: SyntheticShop) -> None:
    assert list(shop.transactions.columns) == [
        "order_id", "customer_id", "sku", "ts", "quantity", "price",
        "channel", "region", "category", "return_of",
    ]  # fmt: skip
    assert list(shop.events.columns) == ["customer_id", "sku", "ts", "event"]
    assert list(shop.catalog.columns) == ["sku", "category", "price", "cost", "active"]
    assert list(shop.calendar.columns) == ["date", "event", "is_promo"]


def test_truth_columns(shop: SyntheticShop) -> None:
    tc = shop.truth_customers
    for col in ["customer_id", "lambda", "p_dropout", "acquired_at", "dropout_at", "alive_at_end"]:
        assert col in tc.columns
    assert tc["customer_id"].dtype == "string"
    assert tc["dropout_at"].dtype == "datetime64[ns]"
    assert (tc["dropout_at"].isna() == tc["alive_at_end"]).all()
    assert list(shop.truth_sku_days.columns) == ["sku", "date", "mean", "dispersion"]
    assert len(shop.truth_sku_days) == len(shop.catalog) * shop.params["days"]


def test_ids_are_strings_and_consistent(shop: SyntheticShop) -> None:
    tx = shop.transactions
    for col in ["order_id", "customer_id", "sku"]:
        assert tx[col].dtype == "string" and tx[col].notna().all()
    assert shop.catalog["sku"].is_unique
    assert set(tx["sku"]) <= set(shop.catalog["sku"])
    assert set(shop.events["sku"]) <= set(shop.catalog["sku"])
    assert set(tx["customer_id"]) == set(shop.truth_customers["customer_id"])
    assert (shop.catalog["cost"] < shop.catalog["price"]).all()


def test_default_shop_size(shop: SyntheticShop) -> None:
    assert 50_000 <= len(shop.transactions) <= 150_000
    assert shop.transactions["customer_id"].nunique() == 3000
    assert len(shop.catalog) == 1500


def test_timestamps_inside_window(shop: SyntheticShop) -> None:
    start, end = shop.start, shop.end
    for ts in [
        shop.transactions["ts"],
        shop.events["ts"],
        shop.truth_customers["acquired_at"],
        shop.truth_customers["dropout_at"].dropna(),
        shop.calendar["date"],
    ]:
        assert ts.min() >= start and ts.max() < end
    assert (shop.calendar["date"] == shop.calendar["date"].dt.normalize()).all()


# ------------------------------------------------------------------------ structure


def test_promo_days_show_higher_demand(shop: SyntheticShop) -> None:
    s = _sales(shop)
    daily = s.groupby(s["ts"].dt.normalize())["quantity"].sum()
    cal = shop.calendar
    ordinary = daily[~daily.index.isin(cal["date"])]
    baseline = ordinary.rolling(29, center=True, min_periods=5).median()
    for day in ["2023-06-18", "2023-11-11", "2024-06-18", "2024-11-11"]:
        ts = pd.Timestamp(day)
        assert day in set(cal["date"].dt.strftime("%Y-%m-%d"))
        ref = baseline.iloc[baseline.index.get_indexer([ts], method="nearest")[0]]
        assert daily[ts] > 2.0 * ref, (day, daily[ts], ref)
    # the truth shows the same spike
    truth = shop.truth_sku_days.groupby("date")["mean"].sum()
    assert truth[pd.Timestamp("2024-11-11")] > 3.0 * truth[pd.Timestamp("2024-10-15")]


def test_share_of_intermittent_skus(shop: SyntheticShop) -> None:
    s = _sales(shop)
    days_with_demand = s.groupby("sku")["ts"].agg(lambda t: t.dt.normalize().nunique())
    adi = shop.params["days"] / days_with_demand
    assert (adi > 1.32).mean() > 0.3
    assert (adi <= 1.32).sum() >= 3  # and a head of smooth sellers
    assert shop.truth_skus["lumpy"].any()


def test_customers_never_buy_after_dropout(shop: SyntheticShop) -> None:
    s = _sales(shop)
    tc = shop.truth_customers.set_index("customer_id")
    last = s.groupby("customer_id")["ts"].max()
    first = s.groupby("customer_id")["ts"].min()
    dropped = tc[~tc["alive_at_end"]]
    assert len(dropped) > 100
    assert (last[dropped.index] <= dropped["dropout_at"]).all()
    assert (first[tc.index] == tc["acquired_at"]).all()


def test_repeat_purchases_and_bundles(shop: SyntheticShop) -> None:
    s = _sales(shop)
    pairs = s.groupby(["customer_id", "sku"]).size()
    assert (pairs > 1).mean() > 0.1  # customers re-buy favourites
    basket = s.groupby("order_id").size()
    assert basket.mean() > 1.5
    groups = shop.truth_skus.set_index("sku")["group"]
    lines = s[["order_id", "sku"]].assign(group=groups.reindex(s["sku"]).to_numpy())
    same = lines.merge(lines, on=["order_id", "group"]).query("sku_x < sku_y")
    assert len(same) > 0.05 * basket.size  # bundle mates bought together


def test_returns_reference_earlier_sales(shop: SyntheticShop) -> None:
    tx = shop.transactions
    ret = tx[tx["quantity"] < 0]
    assert 0 < len(ret) < 0.1 * len(tx)
    assert ret["return_of"].notna().all() and tx.loc[tx["quantity"] > 0, "return_of"].isna().all()
    sales = tx[tx["quantity"] > 0]
    joined = ret.merge(
        sales, left_on=["return_of", "sku"], right_on=["order_id", "sku"], suffixes=("", "_sale")
    )
    assert len(joined) == len(ret)
    assert (joined["ts"] > joined["ts_sale"]).all()
    assert (joined["customer_id"] == joined["customer_id_sale"]).all()
    assert (-joined["quantity"] <= joined["quantity_sale"]).all()


def test_events_precede_purchases(shop: SyntheticShop) -> None:
    ev = shop.events
    assert set(ev["event"]) == {"view", "cart", "purchase"}
    buys = ev[ev["event"] == "purchase"]
    assert len(buys) == len(_sales(shop))
    first = ev.groupby(["customer_id", "sku", "event"])["ts"].min().unstack()
    bought = first.dropna(subset=["purchase"])
    assert bought[["view", "cart"]].notna().all().all()
    assert (bought["view"] <= bought["cart"]).all() and (bought["cart"] <= bought["purchase"]).all()


# ---------------------------------------------------------------------- ground truth


def test_truth_mean_matches_empirical_demand(shop: SyntheticShop) -> None:
    d = _daily(shop)
    assert d["y"].sum() == pytest.approx(d["mean"].sum(), rel=0.03)
    assert (d.loc[d["mean"] == 0, "y"] == 0).all()  # nothing sells while inactive
    # per bucket of true mean, the sum of actual demand is within 4 sd of the truth
    d["var"] = d["mean"] + d["mean"] ** 2 / d["dispersion"].where(d["dispersion"] > 0, 1.0)
    buckets = pd.qcut(d["mean"].rank(method="first"), 5, labels=False)
    by = d.groupby(buckets)[["y", "mean", "var"]].sum()
    z = (by["y"] - by["mean"]) / np.sqrt(by["var"])
    assert (z.abs() < 4).all(), z
    assert by["y"].iloc[-1] == pytest.approx(by["mean"].iloc[-1], rel=0.03)


def test_truth_quantiles_cover_actual_demand(shop: SyntheticShop) -> None:
    d = _daily(shop)
    hi = demand_quantiles(d[d["mean"] > 2.0], [0.05, 0.5, 0.95])
    assert len(hi) > 1000
    inside = ((hi["y"] >= hi["q05"]) & (hi["y"] <= hi["q95"])).mean()
    assert 0.85 < inside < 0.97


def test_truth_population_parameters(shop: SyntheticShop) -> None:
    pop = shop.params["population"]
    tc = shop.truth_customers
    assert tc["lambda"].mean() == pytest.approx(pop["r"] / pop["alpha"], rel=0.1)
    assert tc["p_dropout"].mean() == pytest.approx(pop["a"] / (pop["a"] + pop["b"]), rel=0.1)
    assert 0.1 < tc["alive_at_end"].mean() < 0.9


def test_bad_sizes_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="n_customers must be at least 1"):
        make_shop(n_customers=0)
    with pytest.raises(ConfigError, match="not a date"):
        make_shop(start="not a date")
    with pytest.raises(ConfigError, match="alpha must be a positive number"):
        make_shop(alpha=-1.0)


# ---------------------------------------------------------------------------- write


def test_write_shop_parts_match_summary(tmp_path: Path, small: SyntheticShop) -> None:
    out = tmp_path / "shop"
    seen: list[tuple[int, int]] = []
    summary = write_shop(
        out,
        n_transactions=20_000,
        seed=1,
        chunk_rows=6_000,
        progress=lambda d, t: seen.append((d, t)),
    )
    parts = sorted((out / "transactions").glob("part-*.parquet"))
    assert len(parts) >= 3 and len(seen) == len(parts) + 1 and seen[0] == (0, 20_000)
    assert sum(pq.ParquetFile(p).metadata.num_rows for p in parts) == summary["rows"]
    assert summary["rows"] == pytest.approx(20_000, rel=0.02)
    tx = pd.read_parquet(out / "transactions")
    assert tx.dtypes.to_dict() == small.transactions.dtypes.to_dict()
    assert tx["order_id"].is_unique is False and tx["customer_id"].nunique() == summary["customers"]
    events = pd.read_parquet(out / "events")
    assert len(events) == summary["event_rows"]
    assert events.dtypes.to_dict() == small.events.dtypes.to_dict()
    for name, frame in [
        ("catalog.parquet", small.catalog),
        ("calendar.parquet", small.calendar),
        ("truth/customers.parquet", small.truth_customers),
        ("truth/sku_days.parquet", small.truth_sku_days),
        ("truth/skus.parquet", small.truth_skus),
    ]:
        assert pd.read_parquet(out / name).dtypes.to_dict() == frame.dtypes.to_dict(), name
    truth = pd.read_parquet(out / "truth/customers.parquet")
    assert len(truth) == summary["customers"] and truth["customer_id"].is_unique
    assert set(summary["files"]) == {
        str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != "manifest.json"
    }
    assert not [p for p in tmp_path.iterdir() if p.name != "shop"]  # no temp leftovers


def test_write_shop_is_deterministic(tmp_path: Path) -> None:
    a = write_shop(tmp_path / "a", n_transactions=5_000, seed=7, include_events=False)
    b = write_shop(tmp_path / "b", n_transactions=5_000, seed=7, include_events=False)
    assert a["rows"] == b["rows"]
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "a" / "transactions"),
        pd.read_parquet(tmp_path / "b" / "transactions"),
    )
    assert not (tmp_path / "a" / "events").exists()


def test_write_shop_with_fixed_customers(tmp_path: Path) -> None:
    summary = write_shop(
        tmp_path / "s", n_transactions=10_000, n_customers=200, include_events=False
    )
    assert summary["customers"] == 200
    assert summary["rows"] == pytest.approx(10_000, rel=0.15)


def test_interrupted_write_leaves_no_partial_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecomml.data import synth as synth_module

    real = synth_module.tables.transactions_table
    calls = {"n": 0}

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full (simulated)")
        return real(*args, **kwargs)

    monkeypatch.setattr(synth_module.tables, "transactions_table", failing)
    out = tmp_path / "shop"
    with pytest.raises(RuntimeError, match="simulated"):
        write_shop(out, n_transactions=20_000, chunk_rows=5_000)
    assert calls["n"] == 2
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_write_shop_refuses_a_file_or_non_empty_directory(tmp_path: Path) -> None:
    f = tmp_path / "file.parquet"
    f.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        write_shop(f, n_transactions=1_000)
    d = tmp_path / "full"
    d.mkdir()
    (d / "keep.txt").write_text("x")
    with pytest.raises(ConfigError, match="--overwrite"):
        write_shop(d, n_transactions=1_000)
    assert (d / "keep.txt").read_text() == "x"
    with pytest.raises(ConfigError, match=r"n_transactions \(--rows\) must be at least 1"):
        write_shop(tmp_path / "new", n_transactions=0)


# ------------------------------------------------------------------------------- CLI


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("synth")(synth)

    @app.callback()
    def _root() -> None:  # a group, so the command is invoked as "synth"
        pass

    return app


def test_cli_writes_shop_and_prints_summary(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECOMML_NO_PROGRESS", "1")
    out = tmp_path / "shop"
    res = CliRunner().invoke(
        cli, ["synth", str(out), "--rows", "3000", "--seed", "2", "--no-events"]
    )
    assert res.exit_code == 0, res.output
    assert "transaction rows" in res.stdout and "customers" in res.stdout
    assert (out / "transactions" / "part-00000.parquet").is_file()
    assert not (out / "events").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rows", "0"], "--rows must be a positive"),
        (["--rows", "-5"], "--rows must be a positive"),
        (["--days", "0"], "days (--days) must be at least 7"),
    ],
)
def test_cli_bad_options_exit_1(
    cli: typer.Typer, tmp_path: Path, args: list[str], message: str
) -> None:
    res = CliRunner().invoke(cli, ["synth", str(tmp_path / "s"), *args])
    assert res.exit_code == 1
    assert res.stderr.startswith("error: ") and message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_cli_out_is_a_file_exits_1(cli: typer.Typer, tmp_path: Path) -> None:
    f = tmp_path / "shop.parquet"
    f.write_text("x")
    res = CliRunner().invoke(cli, ["synth", str(f), "--rows", "1000"])
    assert res.exit_code == 1
    assert "is a file" in res.stderr


def test_price_changes_move_prices_and_demand_with_written_truth(tmp_path: Path) -> None:
    """Opt-in price response: regular price moves beside promotions, demand that falls
    when the price rises (the truth's expected units), and truth/prices.parquet."""
    s = make_shop(n_customers=1500, n_skus=60, n_categories=3, include_events=False,
                  price_changes=True, seed=2)  # fmt: skip
    tp = s.truth_prices
    assert len(tp) == 60 and tp["sku"].is_unique
    assert (tp["own_elasticity"] <= 0).all() and (tp["own_elasticity"] >= tp["elasticity"]).all()
    assert (tp["regular_prices"] > 1).mean() > 0.9
    sale = s.transactions[s.transactions["quantity"] > 0]
    assert sale.groupby("sku")["price"].nunique().median() > 3
    # without the option the shop is the one it always was
    a = make_shop(n_customers=200, n_skus=40, include_events=False, seed=3)
    b = make_shop(n_customers=200, n_skus=40, include_events=False, seed=3, price_changes=False)
    pd.testing.assert_frame_equal(a.transactions, b.transactions)
    summary = write_shop(tmp_path / "p", n_transactions=5_000, seed=1, n_skus=30,
                         include_events=False, price_changes=True)  # fmt: skip
    assert "truth/prices.parquet" in summary["files"]
    written = pd.read_parquet(tmp_path / "p" / "truth" / "prices.parquet")
    assert list(written.columns) == list(tp.columns)
