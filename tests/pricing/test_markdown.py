"""Markdown plans: the schedules are the ones promised, the plan never does worse than
keeping the price or a uniform 30 % markdown on the same simulated futures, the depth
follows the elasticity and the stock, and ``ecomml price markdown`` reads the inventory's
clearance table and refuses bad input with one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ecomml.cli.main import app
from ecomml.data.synth import make_shop
from ecomml.exceptions import ConfigError
from ecomml.pricing.markdown import MARKDOWN_COLUMNS, markdown_plans, schedules

runner = CliRunner()


@given(st.integers(1, 10), st.lists(st.floats(0, 0.9), min_size=1, max_size=5, unique=True))
@settings(max_examples=40, deadline=None)
def test_schedules_only_deepen(weeks: int, levels: list) -> None:
    s = schedules(weeks, np.unique(levels))
    assert s.shape[1] == weeks
    assert (np.diff(s, axis=1) >= 0).all()  # a markdown never goes back up
    assert len(np.unique(s, axis=0)) == len(s)
    for d in levels:  # every level held throughout is a candidate
        assert (s == d).all(axis=1).any()


def _row(**kw: float) -> pd.DataFrame:
    base = {"sku": "A", "on_hand": 100.0, "current_price": 20.0, "unit_cost": 8.0,
            "weekly_units": 5.0, "elasticity": -2.5, "elasticity_low": -2.8,
            "elasticity_high": -2.2}  # fmt: skip
    base.update(kw)
    return pd.DataFrame([base])


def test_plan_beats_both_simple_rules_on_the_same_futures() -> None:
    rows = pd.concat([_row(sku=str(i), elasticity=e, elasticity_low=e - 0.3,
                           elasticity_high=min(e + 0.3, -0.05), on_hand=h)
                      for i, (e, h) in enumerate([(-0.5, 30), (-1.5, 80), (-3.0, 200)])])  # fmt: skip
    out = markdown_plans(rows, weeks=8)
    assert list(out.columns) == MARKDOWN_COLUMNS
    assert (out["expected_revenue"] >= out["revenue_no_markdown"] - 1e-9).all()
    assert (out["expected_revenue"] >= out["revenue_uniform_30"] - 1e-9).all()


def test_depth_follows_elasticity_and_stock() -> None:
    # inelastic and little stock: it sells out anyway, so no markdown
    easy = markdown_plans(_row(on_hand=10.0, elasticity=-0.4, elasticity_low=-0.5,
                               elasticity_high=-0.3), weeks=8).iloc[0]  # fmt: skip
    assert easy["first_markdown_week"] == 0 and easy["expected_clear_share"] > 0.95
    # elastic and far too much stock: the deepest level
    hard = markdown_plans(_row(on_hand=500.0), weeks=8).iloc[0]
    assert hard["final_discount"] == 0.7 and hard["expected_revenue"] > hard["revenue_no_markdown"]
    # elastic with stock a little above the baseline: a markdown, but not the deepest
    mid = markdown_plans(_row(on_hand=60.0), weeks=8).iloc[0]
    assert 0 < mid["final_discount"] < 0.7


def test_bad_settings() -> None:
    with pytest.raises(ConfigError, match="week"):
        markdown_plans(_row(), weeks=0)
    with pytest.raises(ConfigError, match="levels"):
        markdown_plans(_row(), weeks=4, levels=(0.0, 1.2))
    with pytest.raises(ConfigError, match="salvage"):
        markdown_plans(_row(), weeks=4, salvage=2.0)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    s = make_shop(n_customers=3000, n_skus=60, n_categories=3, include_events=False,
                  price_changes=True, seed=8)  # fmt: skip
    d = tmp_path_factory.mktemp("md")
    s.transactions.to_parquet(d / "tx.parquet")
    s.catalog.to_parquet(d / "catalog.parquet")
    pd.DataFrame({"sku": s.catalog["sku"], "on_hand": 40}).to_csv(d / "stock.csv", index=False)
    return d


def test_cli_markdown_from_the_clearance_table(files: Path, tmp_path: Path) -> None:
    common = ["-t", str(files / "tx.parquet"), "--catalog", str(files / "catalog.parquet"),
              "--cutoff", "2024-11-01", "--no-track"]  # fmt: skip
    clear = tmp_path / "clearance.csv"
    r = runner.invoke(app, ["inventory", "classify", *common, "--on-hand",
                            str(files / "stock.csv"), "--output", str(tmp_path / "c.csv"),
                            "--clearance-output", str(clear)])  # fmt: skip
    assert r.exit_code == 0, r.output
    out = tmp_path / "md.csv"
    r = runner.invoke(app, ["price", "markdown", *common, "--clearance", str(clear),
                            "--clear-by", "2024-12-27", "--paths", "50", "--output", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out)
    assert list(t.columns) == MARKDOWN_COLUMNS and len(t) > 0
    assert (t["schedule"].str.count(",") == 7).all()  # 8 weekly steps
    assert (t["expected_revenue"] >= t["revenue_uniform_30"] - 1e-6).all()
    assert "to clear by 2024-12-27 (8 weeks)" in r.output
    # bad input: one line, no output
    bad = tmp_path / "bad.csv"
    r = runner.invoke(app, ["price", "markdown", *common, "--clearance", str(clear),
                            "--clear-by", "2024-10-01", "--output", str(bad)])  # fmt: skip
    assert r.exit_code != 0 and "--clear-by" in r.output and "Traceback" not in r.output
    (tmp_path / "nocol.csv").write_text("sku,stock\nA,3\n")
    r = runner.invoke(app, ["price", "markdown", *common, "--clearance",
                            str(tmp_path / "nocol.csv"), "--clear-by", "2024-12-27",
                            "--output", str(bad)])  # fmt: skip
    assert r.exit_code != 0 and "on_hand" in r.output and "Traceback" not in r.output
    assert not bad.exists()
