"""ABC / XYZ classification, the matrix, slow movers and class migration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomml.exceptions import ConfigError, DataQualityError, SchemaError
from ecomml.inventory import (
    abc_classify,
    abc_xyz_matrix,
    cell_targets,
    class_migration,
    classify_skus,
    xyz_classify,
)

from .conftest import CUTOFF, transactions_for


def test_abc_cutoffs_on_known_values():
    # revenue shares 50%, 30%, 10%, 6%, 4% -> A A B B C at 80/95 (A closes at 80%)
    units = {"a": [50], "b": [30], "c": [10], "d": [6], "e": [4]}
    tx = transactions_for(units)
    out = abc_classify(tx, "2023-02-01", by="units")
    got = dict(zip(out["sku"], out["abc"], strict=True))
    assert got == {"a": "A", "b": "A", "c": "B", "d": "B", "e": "C"}
    assert out["share"].sum() == pytest.approx(1.0)
    assert list(out["rank"]) == [1, 2, 3, 4, 5]


def test_abc_by_margin_needs_cost_and_names_missing_skus():
    tx = transactions_for({"a": [5], "b": [3]})
    with pytest.raises(SchemaError, match="catalog"):
        abc_classify(tx, "2023-02-01", by="margin")
    cat = pd.DataFrame({"sku": ["a"], "cost": [4.0]})
    with pytest.raises(DataQualityError, match="'b'"):
        abc_classify(tx, "2023-02-01", by="margin", catalog=cat)
    cat = pd.DataFrame({"sku": ["a", "b"], "cost": [9.0, 1.0]})
    out = abc_classify(tx, "2023-02-01", by="margin", catalog=cat)
    assert out.iloc[0]["sku"] == "b"  # margin 27 beats 5
    with pytest.raises(ConfigError, match="--by"):
        abc_classify(tx, "2023-02-01", by="profit")


def test_abc_ignores_rows_at_or_after_cutoff():
    tx = transactions_for({"a": [1, 1, 1, 100], "b": [5, 5, 5, 0]})
    cut = pd.Timestamp("2023-01-02") + pd.Timedelta(weeks=3)
    out = abc_classify(tx, cut, by="units")
    assert out.iloc[0]["sku"] == "b"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 1000), min_size=2, max_size=30))
def test_abc_classes_are_monotone_in_value(values):
    tx = transactions_for({f"s{i}": [v] for i, v in enumerate(values)})
    out = abc_classify(tx, "2023-02-01", by="units")
    order = out.sort_values("value", ascending=False)["abc"].tolist()
    assert order == sorted(order)  # A before B before C
    a_share = out.loc[out["abc"] == "A", "share"].sum()
    # A stops as soon as 80% is reached: without its last SKU it would be below 80%
    last_a = out.loc[out["abc"] == "A", "share"].min()
    assert a_share - last_a < 0.8 + 1e-9


def test_xyz_stable_vs_erratic():
    tx = transactions_for({"flat": [10] * 20, "spiky": [0, 0, 0, 40, 0, 0, 1, 0, 0, 50] * 2})
    out = xyz_classify(tx, "2023-06-01", lookback_days=None).set_index("sku")
    assert out.loc["flat", "xyz"] == "X"
    assert out.loc["flat", "cv"] < 0.5
    assert out.loc["spiky", "xyz"] == "Z"
    assert out.loc["spiky", "pattern"] in ("lumpy", "intermittent")


def test_classify_skus_matrix_slow_and_dead(shop):
    c = classify_skus(shop.transactions, CUTOFF, dead_days=60)
    assert c["sku"].is_unique
    assert set(c["abc"]) <= set("ABC") and set(c["xyz"]) <= set("XYZ")
    assert c["service_target"].between(0, 1).all()
    assert (c.loc[c["dead"], "days_since_sale"] >= 60).all()
    assert c.loc[c["dead"], "slow_mover"].all()
    m = abc_xyz_matrix(c)
    assert len(m) == 9 and m["skus"].sum() == len(c)
    assert m["value_share"].sum() == pytest.approx(1.0)


def test_on_hand_cover_and_negative_on_hand():
    tx = transactions_for({"a": [10] * 10, "b": [1] * 10})
    oh = pd.DataFrame({"sku": ["a", "b"], "on_hand": [20.0, 100.0]})
    c = classify_skus(tx, "2023-03-13", on_hand=oh, lookback_days=None).set_index("sku")
    assert c.loc["a", "weeks_of_cover"] == pytest.approx(2.0, rel=0.01)
    assert c.loc["b", "slow_mover"]  # 100 weeks of cover
    assert not c.loc["a", "slow_mover"]
    bad = pd.DataFrame({"sku": ["a", "b"], "on_hand": [-3.0, 1.0]})
    with pytest.raises(DataQualityError, match="'a'"):
        classify_skus(tx, "2023-03-13", on_hand=bad)


def test_cell_targets_override_and_validate():
    t = cell_targets({"ax": 0.995})
    assert t["AX"] == 0.995 and t["CZ"] < t["AX"]
    with pytest.raises(ConfigError):
        cell_targets({"AX": 1.2})
    with pytest.raises(ConfigError):
        cell_targets({"QQ": 0.9})


def test_class_migration_explains_a_drop():
    # 'a' sells a lot early, then stops; 'b' grows
    tx = transactions_for({"a": [100] * 10 + [0] * 10, "b": [1] * 10 + [100] * 10, "c": [20] * 20})
    mig = class_migration(tx, "2023-03-13", "2023-05-22", by="units", lookback_days=70)
    row = mig.set_index("sku").loc["a"]
    assert row["abc_from"] == "A" and row["abc_to"] == "C"
    assert "units" in row["reason"]
    assert "b" in set(mig["sku"])
    assert np.isfinite(mig["value_change"]).all()


def test_returns_only_sku_is_dead_not_an_error():
    tx = transactions_for({"a": [5] * 10})
    ret = tx.iloc[[0]].assign(sku="r", quantity=-2.0)
    c = classify_skus(pd.concat([tx, ret], ignore_index=True), "2023-03-13", dead_days=30)
    row = c.set_index("sku").loc["r"]
    assert row["dead"] and row["abc"] == "C" and row["days_since_sale"] >= 60


def test_class_summary_cover_and_turnover():
    from ecomml.inventory import class_summary

    tx = transactions_for({"a": [10] * 10, "b": [1] * 10})
    oh = pd.DataFrame({"sku": ["a", "b"], "on_hand": [20.0, 100.0]})
    c = classify_skus(tx, "2023-03-13", on_hand=oh, lookback_days=None, by="units")
    s = class_summary(c).set_index("abc")
    assert s["skus"].sum() == 2 and s["value_share"].sum() == pytest.approx(1.0)
    assert s.loc["A", "weeks_of_cover"] == pytest.approx(2.0, rel=0.01)
    assert s.loc["A", "turnover"] == pytest.approx(26.0, rel=0.01)


def test_clearance_table_flags_dead_slow_and_c_stock_with_money_tied_up():
    # Issue 20: a = steady best seller (A), b = stopped selling 20 weeks ago (dead),
    # c = small steady seller (C), d = in stock but never sold
    from ecomml.inventory import CLEARANCE_COLUMNS, clearance_candidates, unit_costs

    tx = transactions_for({"a": [50] * 40, "b": [5] * 20 + [0] * 20, "c": [1] * 40}, price=10.0)
    cut = pd.Timestamp("2023-01-02") + pd.Timedelta(weeks=40)
    classes = classify_skus(tx, cut, lookback_days=None)
    oh = pd.DataFrame({"sku": ["a", "b", "c", "d"], "on_hand": [100.0, 30.0, 10.0, 4.0]})
    cost = unit_costs(tx, ["a", "b", "c", "d"]).replace(0.0, 2.5)
    t = clearance_candidates(classes, oh, unit_cost=cost)
    assert list(t.columns) == CLEARANCE_COLUMNS
    rows = t.set_index("sku")
    assert "a" not in rows.index  # a best seller with two weeks of cover is not for clearance
    assert rows.loc["b", "reason"] == "dead" and rows.loc["b", "weeks_of_cover"] == np.inf
    assert rows.loc["b", "stock_value"] == pytest.approx(300.0)
    assert rows.loc["c", "reason"] in {"class C", "slow"}
    assert rows.loc["c", "weeks_of_cover"] == pytest.approx(10.0)
    assert rows.loc["d", "reason"] == "never sold" and rows.loc["d", "stock_value"] == 10.0
    assert t["stock_value"].is_monotonic_decreasing
    # nothing in stock -> nothing to clear
    empty = clearance_candidates(classes, oh.assign(on_hand=0.0), unit_cost=cost)
    assert empty.empty and list(empty.columns) == CLEARANCE_COLUMNS


def test_classes_do_not_depend_on_how_the_sku_column_is_stored(shop) -> None:  # noqa: ANN001
    from ecomml.inventory import classify_skus

    cut = pd.Timestamp("2023-10-02")
    tx = shop.transactions
    base = classify_skus(tx, cut)
    for col in (pd.Categorical(tx["sku"].astype(str)), tx["sku"].astype(str).astype("string")):
        got = classify_skus(tx.assign(sku=col), cut)
        pd.testing.assert_frame_equal(got, base, check_dtype=False)


def test_rows_without_a_sku_never_count_for_another_sku(shop) -> None:  # noqa: ANN001
    from ecomml.inventory import xyz_classify

    cut = pd.Timestamp("2023-10-02")
    tx = shop.transactions.copy()
    tx.loc[tx.index[:50], "sku"] = None
    text = xyz_classify(tx, cut).set_index("sku")
    cat = xyz_classify(tx.assign(sku=pd.Categorical(tx["sku"])), cut).set_index("sku")
    common = cat.index.intersection(text.index)
    pd.testing.assert_series_equal(cat.loc[common, "mean_demand"], text.loc[common, "mean_demand"])
