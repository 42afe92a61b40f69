"""Coherent forecasts: MinT maths against the textbook formula and an exact bounded
least-squares solver, and the hierarchical forecaster end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import lsq_linear

from ecomml.exceptions import ConfigError, NotFittedError
from ecomml.forecasting import MovingAverageForecaster, NaiveForecaster
from ecomml.forecasting.hierarchy import HIERARCHY_COLUMNS, HierarchicalForecaster
from ecomml.forecasting.reconcile import mint, shrinkage_intensity, shrunk_covariance
from ecomml.metrics.forecast import QUANTILE_COLUMNS


def _problem(seed: int, correlated: float) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray, object]:
    rng = np.random.default_rng(seed)
    nb = int(rng.integers(2, 10))
    cats = rng.integers(0, 3, nb)
    rows = [np.ones(nb)] + [(cats == c).astype(float) for c in range(3) if (cats == c).any()]
    a = np.vstack(rows)
    e = rng.normal(size=(len(a) + nb, int(rng.integers(3, 14))))
    e[: len(a)] += correlated * (a @ e[len(a) :])
    base = rng.normal(1.0, 2.0, size=(len(a) + nb, 3))
    return a, sp.csr_matrix(a), base, shrunk_covariance(e)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), correlated=st.floats(0.0, 1.0))
def test_mint_is_the_gls_projection_and_its_nonnegative_optimum(
    seed: int, correlated: float
) -> None:
    a, a_sp, base, cov = _problem(seed, correlated)
    n_a = len(a)
    w = np.diag(cov.d) + cov.u @ cov.u.T
    s = np.vstack([a, np.eye(a.shape[1])])
    wi = np.linalg.inv(w)
    g = np.linalg.solve(s.T @ wi @ s, s.T @ wi)
    free = mint(base[:n_a], base[n_a:], a_sp, cov, nonnegative=False)
    np.testing.assert_allclose(free, g @ base, atol=1e-8)
    root = np.linalg.cholesky(wi)
    nonneg = mint(base[:n_a], base[n_a:], a_sp, cov)
    for t in range(base.shape[1]):
        exact = lsq_linear(root.T @ s, root.T @ base[:, t], bounds=(0, np.inf),
                           method="bvls", tol=1e-12).x  # fmt: skip
        np.testing.assert_allclose(nonneg[:, t], exact, atol=1e-7)
    assert (nonneg >= 0).all()


def test_shrinkage_goes_to_the_diagonal_for_independent_errors() -> None:
    rng = np.random.default_rng(0)
    assert shrinkage_intensity(rng.normal(size=(30, 8))) > 0.8
    common = rng.normal(size=(1, 40))
    tied = common + 0.05 * rng.normal(size=(30, 40))
    assert shrinkage_intensity(tied) < 0.1
    cov = shrunk_covariance(tied)
    w = np.diag(cov.d) + cov.u @ cov.u.T
    assert np.linalg.eigvalsh(w).min() > 0


@pytest.fixture(scope="module")
def fitted(weekly_panel):  # noqa: ANN001, ANN201
    model = HierarchicalForecaster(
        forecaster=MovingAverageForecaster(horizon=4), method="auto", n_paths=300
    )
    return model.fit(weekly_panel), weekly_panel


def test_forecasts_add_up_at_every_level(fitted) -> None:  # noqa: ANN001
    model, panel = fitted
    out = model.predict(panel)
    assert list(out.columns) == HIERARCHY_COLUMNS
    assert set(out["level"]) == {"sku", "category", "total"}
    assert model.method_ in ("bottom-up", "mint-shrink")
    sku = out.loc[out["level"] == "sku"]
    cat_of = panel.drop_duplicates("sku").set_index("sku")["category"]
    by_cat = sku.assign(c=sku["node"].map(cat_of)).groupby(["c", "ds"])["mean"].sum()
    cats = out.loc[out["level"] == "category"].set_index(["node", "ds"])["mean"]
    np.testing.assert_allclose(by_cat.sort_index().to_numpy(), cats.sort_index().to_numpy())
    total = out.loc[out["level"] == "total"].set_index("ds")["mean"]
    np.testing.assert_allclose(sku.groupby("ds")["mean"].sum().to_numpy(), total.to_numpy())
    q = out[list(QUANTILE_COLUMNS)].to_numpy()
    assert (np.diff(q, axis=1) >= -1e-9).all() and (q >= 0).all()
    assert sku["sku"].notna().all() and out.loc[out["level"] != "sku", "sku"].isna().all()
    # the total's interval is narrower, relative to its mean, than a typical SKU's
    tot = out.loc[out["level"] == "total"]
    rel_tot = ((tot["q95"] - tot["q05"]) / tot["mean"]).mean()
    busy = sku.loc[sku["mean"] > 0]
    assert rel_tot < ((busy["q95"] - busy["q05"]) / busy["mean"]).median()


def test_mint_and_bottom_up_on_the_same_panel(weekly_panel) -> None:  # noqa: ANN001
    base = MovingAverageForecaster(horizon=4)
    bu = HierarchicalForecaster(forecaster=base, method="bottom-up", n_paths=200).fit(weekly_panel)
    # a moving average of sums is the sum of moving averages: a different upper model
    # makes the base forecasts incoherent
    mt = HierarchicalForecaster(
        forecaster=base, upper=NaiveForecaster(horizon=4), method="mint-shrink", n_paths=200
    ).fit(weekly_panel)
    assert bu.covariance_ is None and mt.covariance_ is not None
    f_bu, f_mt = bu.predict(weekly_panel), mt.predict(weekly_panel)
    sku = f_bu["level"] == "sku"
    # bottom-up keeps the SKU forecasts; MinT moves them, but never below zero
    plain = base.fit(weekly_panel).predict(weekly_panel)
    np.testing.assert_allclose(
        f_bu.loc[sku].sort_values(["node", "ds"])["mean"].to_numpy(),
        plain.sort_values(["sku", "ds"])["mean"].to_numpy(),
    )
    assert (f_mt["mean"] >= 0).all()
    assert not np.allclose(f_mt["mean"].to_numpy(), f_bu["mean"].to_numpy())


def test_bad_settings_and_unfitted_use(weekly_panel) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match="method"):
        HierarchicalForecaster(method="top-down").fit(weekly_panel)
    with pytest.raises(ConfigError, match="n_paths"):
        HierarchicalForecaster(n_paths=3).fit(weekly_panel)
    with pytest.raises(NotFittedError):
        HierarchicalForecaster().predict(weekly_panel)


def test_a_panel_without_categories_has_sku_and_total_levels() -> None:
    from tests.forecasting.conftest import toy_panel

    panel = toy_panel(n_sku=8, n_weeks=40)
    out = (
        HierarchicalForecaster(forecaster=MovingAverageForecaster(horizon=3), n_paths=100)
        .fit(panel)
        .predict(panel)
    )
    assert set(out["level"]) == {"sku", "total"}
    assert len(out.loc[out["level"] == "total"]) == 3
    assert isinstance(out["ds"].iloc[0], pd.Timestamp)


def test_saved_model_gives_the_same_forecasts(fitted, tmp_path) -> None:  # noqa: ANN001
    model, panel = fitted
    model.save_artifacts(tmp_path / "h")
    loaded = HierarchicalForecaster.load_artifacts(tmp_path / "h")
    assert loaded.method_ == model.method_
    pd.testing.assert_frame_equal(model.predict(panel), loaded.predict(panel))


def test_a_lightgbm_hierarchy_round_trips_and_refuses_a_partial_history(
    weekly_panel, tmp_path
) -> None:  # noqa: ANN001, E501
    from ecomml.exceptions import DataQualityError, EcommlWarning
    from ecomml.forecasting import LightGBMForecaster

    low = LightGBMForecaster(horizon=2, n_estimators=5, size_method="mle")
    model = HierarchicalForecaster(forecaster=low, method="bottom-up", n_paths=100)
    model.fit(weekly_panel).save_artifacts(tmp_path / "h")
    loaded = HierarchicalForecaster.load_artifacts(tmp_path / "h")
    pd.testing.assert_frame_equal(model.predict(weekly_panel), loaded.predict(weekly_panel))
    some = weekly_panel.loc[weekly_panel["sku"] != weekly_panel["sku"].iloc[0]]
    with pytest.raises(DataQualityError, match="whole hierarchy"):
        model.predict(some)
    extra = pd.concat([weekly_panel, weekly_panel.head(3).assign(sku="NEW")])
    with pytest.warns(EcommlWarning, match="not in the fitted hierarchy"):
        out = model.predict(extra)
    assert "NEW" not in set(out["node"])
    with pytest.raises(DataQualityError, match="no rows"):
        HierarchicalForecaster().fit(weekly_panel.iloc[:0])
