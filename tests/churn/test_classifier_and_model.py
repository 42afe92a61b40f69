"""ChurnClassifier and ChurnModel on a small synthetic shop: point-in-time training,
calibration, reason codes, the scored list, persistence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecomml.churn import SCORED_COLUMNS, ChurnClassifier, ChurnModel, churn_labels, hash_ids
from ecomml.churn.classifier import describe_driver
from ecomml.data.shop import ShopData
from ecomml.exceptions import ConfigError, DataQualityError
from ecomml.features.store import store_from_shop
from ecomml.metrics.classification import roc_auc
from ecomml.modelstore import load_model, save_model

CUT = pd.Timestamp("2024-04-15")
FAST = {"n_estimators": 40, "learning_rate": 0.1, "n_folds": 2}


def _shop(shop, cut=CUT) -> ShopData:  # type: ignore[no-untyped-def]
    return ShopData(
        transactions=shop.transactions.loc[shop.transactions["ts"] < cut].reset_index(drop=True),
        events=shop.events.loc[shop.events["ts"] < cut].reset_index(drop=True),
        catalog=shop.catalog,
        calendar=shop.calendar,
    )


@pytest.fixture(scope="module")
def fitted(small_shop):  # type: ignore[no-untyped-def]
    sd = _shop(small_shop)
    store = store_from_shop(sd)
    model = ChurnModel(60, step=45, max_cutoffs=4, classifier=FAST)
    model.fit(sd.transactions, store, cutoff=CUT, events=True)
    return model, sd, store


def test_fit_uses_only_complete_label_windows(fitted) -> None:  # type: ignore[no-untyped-def]
    model, _sd, _store = fitted
    cuts = [pd.Timestamp(c) for c in model.training_cutoffs_]
    assert len(cuts) == 4
    assert all(c + pd.Timedelta(days=60) <= CUT for c in cuts)
    assert model.classifier_ is not None
    assert model.classifier_.calibration_ in ("isotonic", "platt", "none")
    assert model.validation_["classifier"]["roc_auc"] > 0.75
    assert any(f.startswith("customer_events__") for f in model.classifier_.feature_names_)
    assert {"btyd__p_alive", "btyd__expected_purchases"} <= set(model.classifier_.feature_names_)


def test_scored_list_and_true_outcomes(fitted, small_shop) -> None:  # type: ignore[no-untyped-def]
    model, sd, store = fitted
    scored = model.score(sd.transactions, store, cutoff=CUT)
    assert list(scored.columns[: len(SCORED_COLUMNS)]) == list(SCORED_COLUMNS)
    assert scored["customer_id"].is_unique
    assert scored["customer_id"].nunique() == sd.transactions["customer_id"].nunique()
    assert np.all(np.diff(scored["value_at_risk"].to_numpy()) <= 1e-12)
    np.testing.assert_allclose(
        scored["value_at_risk"], scored["p_churn"] * scored["expected_value"]
    )
    assert scored["p_churn"].between(0, 1).all() and scored["p_repurchase"].between(0, 1).all()
    assert set(scored["tier"]) <= {"standard", "silver", "gold", "black"}
    assert set(scored["segment"]) <= {"new", "active", "at-risk", "dormant", "lost"}
    assert scored["reasons"].str.len().gt(0).all() and scored["action"].notna().all()
    # the probabilities rank the real (future) outcome well and are roughly calibrated
    lab = churn_labels(small_shop.transactions, cutoffs=[CUT], horizon=60).set_index("customer_id")
    y = lab.loc[scored["customer_id"], "churn"].to_numpy()
    assert roc_auc(y, scored["p_churn"]) > 0.8
    assert abs(scored["p_churn"].mean() - y.mean()) < 0.1


def test_future_rows_do_not_change_the_model(fitted, small_shop) -> None:  # type: ignore[no-untyped-def]
    model, _sd, _store = fitted
    full = ShopData(
        transactions=small_shop.transactions,
        events=small_shop.events,
        catalog=small_shop.catalog,
        calendar=small_shop.calendar,
    )
    m2 = ChurnModel(60, step=45, max_cutoffs=4, classifier=FAST)
    m2.fit(full.transactions, store_from_shop(full), cutoff=CUT, events=True)
    assert m2.btyd_model_.params_ == pytest.approx(model.btyd_model_.params_)
    assert m2.training_cutoffs_ == model.training_cutoffs_
    assert m2.validation_["classifier"]["roc_auc"] == pytest.approx(
        model.validation_["classifier"]["roc_auc"], abs=1e-3
    )  # DuckDB float sums may differ in the last bits


def test_save_load_round_trip(fitted, tmp_path) -> None:  # type: ignore[no-untyped-def]
    model, sd, store = fitted
    save_model(model, tmp_path / "m", task="churn", cutoff=CUT)
    loaded = load_model(tmp_path / "m", task="churn").model
    a = model.score(sd.transactions, store, cutoff=CUT)
    b = loaded.score(sd.transactions, store, cutoff=CUT)
    pd.testing.assert_frame_equal(a, b)
    assert not any(p.suffix == ".joblib" for p in (tmp_path / "m").iterdir())


def test_probabilistic_only_when_no_label_window(small_shop) -> None:  # type: ignore[no-untyped-def]
    sd = _shop(small_shop, pd.Timestamp("2023-06-01"))
    store = store_from_shop(sd)
    m = ChurnModel(273).fit(sd.transactions, store, cutoff="2023-06-01")
    assert m.classifier_ is None and "alone" in m.note_
    out = m.score(sd.transactions, store, cutoff="2023-06-01")
    assert out["p_churn"].between(0, 1).all()
    assert out["reasons"].str.contains("no purchase for").all()


def test_bad_input(small_shop, tiny_tx) -> None:  # type: ignore[no-untyped-def]
    sd = _shop(small_shop)
    store = store_from_shop(sd)
    with pytest.raises(DataQualityError, match="no purchases before the cutoff"):
        ChurnModel(30).fit(sd.transactions, store, cutoff="2020-01-01")
    with pytest.raises(DataQualityError, match="after the last purchase"):
        ChurnModel(30).fit(sd.transactions, store, cutoff="2030-01-01")
    one_day = tiny_tx.assign(ts=pd.Timestamp("2024-01-01 10:00"))
    with pytest.raises(DataQualityError, match="one day"):
        ChurnModel(30).fit(one_day, store_from_shop(ShopData(one_day)), cutoff="2024-02-01")
    with pytest.raises(ConfigError, match="btyd"):
        ChurnModel(30, btyd="bgbb").fit(sd.transactions, store, cutoff=CUT)


def test_one_purchase_customers_only() -> None:
    """Nobody repeats: a clear error (BG/NBD has no maximum); one-timers among repeaters are fine."""
    rng = np.random.default_rng(0)
    n = 200
    tx = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "customer_id": [f"c{i}" for i in range(n)],
            "sku": "s",
            "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D"),
            "quantity": 1.0,
            "price": 10.0,
        }
    )
    with pytest.raises(DataQualityError, match="no customer has a repeat purchase"):
        ChurnModel(30).fit(tx, store_from_shop(ShopData(tx)), cutoff="2024-08-01")


def test_classifier_reasons_and_calibration(rng) -> None:  # type: ignore[no-untyped-def]
    n = 3000
    X = pd.DataFrame(
        {
            "customer_id": [f"c{i % 1000}" for i in range(n)],
            "customer_rfm__recency_days": rng.integers(0, 300, n).astype(float),
            "customer_rfm__frequency": rng.integers(1, 20, n).astype(float),
        }
    )
    logit = 0.02 * (X["customer_rfm__recency_days"] - 150) - 0.1 * (
        X["customer_rfm__frequency"] - 10
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    clf = ChurnClassifier(**FAST).fit(X, y, groups=X["customer_id"])
    p = clf.predict_proba(X)[:, 1]
    assert roc_auc(y, p) > 0.8
    assert abs(p.mean() - y.mean()) < 0.03
    r = clf.reasons(X.iloc[:50])
    old = X.iloc[:50]["customer_rfm__recency_days"].to_numpy() > 250
    assert all("no purchase for" in s for s, o in zip(r, old, strict=True) if o)
    with pytest.raises(DataQualityError, match="every training label"):
        ChurnClassifier().fit(X, np.zeros(n))


def test_describe_driver_words() -> None:
    row = pd.Series(
        {
            "customer_rfm__spend_90d": 40.0,
            "customer_rfm__spend_prev_90d": 100.0,
            "customer_rfm__recency_days": 120.0,
        }
    )
    assert describe_driver("customer_rfm__spend_trend", row) == "spend fell 60% vs previous quarter"
    assert describe_driver("customer_rfm__recency_days", row) == "no purchase for 120 days"
    assert describe_driver("customer_rfm__recency_days", row, median=200.0) is None


def test_hash_ids() -> None:
    a = hash_ids(pd.Series(["1", "2"]), "k1")
    assert a.str.len().eq(16).all() and a.is_unique
    assert a.tolist() == hash_ids(["1", "2"], "k1").tolist()
    assert a.tolist() != hash_ids(["1", "2"], "k2").tolist()
    with pytest.raises(ConfigError):
        hash_ids(["1"], "")


def test_repurchase_model_for_first_order_customers(fitted) -> None:  # type: ignore[no-untyped-def]
    _model, sd, store = fitted
    model = ChurnModel(60, step=45, max_cutoffs=4, classifier=FAST, min_first_orders=30)
    model.fit(sd.transactions, store, cutoff=CUT, events=True)
    assert model.repurchase_classifier_ is not None
    rep = model.validation_["repurchase"]
    assert rep["customers"] > 0 and 0 <= rep["classifier"]["roc_auc"] <= 1
    scored = model.score(sd.transactions, store, cutoff=CUT)
    first = scored["frequency"] == 1
    assert first.any() and scored.loc[first, "p_repurchase"].between(0, 1).all()


def test_pyfunc_predict_scores_transactions(small_shop) -> None:  # type: ignore[no-untyped-def]
    sd = _shop(small_shop)
    model = ChurnModel(60, step=60, max_cutoffs=2, classifier=FAST)
    model.fit(sd.transactions, store_from_shop(sd), cutoff=CUT)
    out = model.pyfunc_predict(small_shop.transactions, {"cutoff": "2024-05-01"})
    assert list(out.columns) == list(SCORED_COLUMNS)
    assert out["value_at_risk"].is_monotonic_decreasing


def test_pareto_nbd_inside_the_churn_model(fitted, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``btyd="pareto"`` serves Pareto/NBD's features and survives save/load; ``auto``
    scored all three models on the validation window and says so."""
    from ecomml.churn import ParetoNBDModel

    model, sd, store = fitted
    assert set(model.btyd_scores_) == {"bgnbd", "mbgnbd", "pareto"}
    assert model.btyd_kind_ == min(model.btyd_scores_, key=model.btyd_scores_.__getitem__)
    m = ChurnModel(60, btyd="pareto", step=45, max_cutoffs=2, classifier=FAST)
    m.fit(sd.transactions, store, cutoff=CUT)
    assert isinstance(m.btyd_model_, ParetoNBDModel) and m.btyd_kind_ == "pareto"
    save_model(m, tmp_path / "p", task="churn", cutoff=CUT)
    loaded = load_model(tmp_path / "p", task="churn").model
    assert isinstance(loaded.btyd_model_, ParetoNBDModel)
    pd.testing.assert_frame_equal(
        m.score(sd.transactions, store, cutoff=CUT),
        loaded.score(sd.transactions, store, cutoff=CUT),
    )
