"""Every public estimator keeps scikit-learn's contract (issue 16, item 4).

One contract-test class per public estimator, each inheriting
:class:`tests._contract.EstimatorContract` with small synthetic data; a discovery test
walks the ``ecomml`` packages' exports and fails when an estimator has no contract class,
so a new one cannot slip past. The churn classifier, the one estimator that takes a
feature matrix, also runs sklearn's ``parametrize_with_checks``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import ecomml
from ecomml.campaigns import UpliftModel
from ecomml.churn import (
    BetaGeoModel,
    ChurnClassifier,
    ChurnModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    rfm_summary,
)
from ecomml.data.shop import ShopData
from ecomml.data.synth import make_shop
from ecomml.exceptions import ConfigError, EcommlError, NotFittedError
from ecomml.features.store import store_from_shop
from ecomml.forecasting import (
    AutoForecaster,
    CrostonForecaster,
    ETSForecaster,
    HierarchicalForecaster,
    LightGBMForecaster,
    MovingAverageForecaster,
    NaiveForecaster,
    SeasonalNaiveForecaster,
    TSBForecaster,
    panel_from_transactions,
)
from ecomml.forecasting.partitioned import PartitionedForecaster
from ecomml.pricing import ElasticityModel
from ecomml.recommend import (
    ALSRecommender,
    BuyAgainRecommender,
    EASERecommender,
    ItemKNNRecommender,
    NewItemsRecommender,
    PopularityRecommender,
    RecommenderPipeline,
    build_interactions,
)
from ecomml.task import Task
from tests._contract import Call, EstimatorContract
from tests.campaigns._uplift_data import make_campaign

# ---------------------------------------------------------------------- small data
SHOP_CUTOFF = pd.Timestamp("2023-09-01")
FAST_LGBM = {"n_estimators": 15, "num_leaves": 7, "min_child_samples": 5, "n_jobs": 1}


@functools.cache
def _shop() -> Any:
    return make_shop(n_customers=200, n_skus=40, days=300, seed=5, n_categories=4)


@functools.cache
def _panel() -> pd.DataFrame:
    s = _shop()
    return panel_from_transactions(s.transactions, SHOP_CUTOFF, "W", catalog=s.catalog)


@functools.cache
def _interactions() -> pd.DataFrame:
    s = _shop()
    return build_interactions(s.transactions, s.events, cutoff=SHOP_CUTOFF)


@functools.cache
def _rfm() -> pd.DataFrame:
    return rfm_summary(_shop().transactions, cutoff=SHOP_CUTOFF)


@functools.cache
def _churn_data() -> tuple[pd.DataFrame, Any]:
    s = _shop()
    return s.transactions, store_from_shop(ShopData(s.transactions))


def _features(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "customer_rfm__recency_days": rng.exponential(60.0, n),
            "customer_rfm__frequency": rng.poisson(3.0, n).astype(float),
            "customer_rfm__monetary": rng.gamma(2.0, 40.0, n),
        }
    )
    logit = 0.02 * X["customer_rfm__recency_days"] - 0.5 * X["customer_rfm__frequency"]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


# ---------------------------------------------------------------------- forecasting
class _ForecasterContract(EstimatorContract):
    def make_estimator(self) -> Any:
        return self.estimator_class(horizon=4)

    def fit_data(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (_panel(),), {}

    def predict_calls(self) -> list[Call]:
        return [("predict", (_panel(),), {})]


class TestNaiveForecaster(_ForecasterContract):
    estimator_class = NaiveForecaster


class TestSeasonalNaiveForecaster(_ForecasterContract):
    estimator_class = SeasonalNaiveForecaster


class TestMovingAverageForecaster(_ForecasterContract):
    estimator_class = MovingAverageForecaster


class TestETSForecaster(_ForecasterContract):
    estimator_class = ETSForecaster


class TestCrostonForecaster(_ForecasterContract):
    estimator_class = CrostonForecaster


class TestTSBForecaster(_ForecasterContract):
    estimator_class = TSBForecaster


class TestHierarchicalForecaster(_ForecasterContract):
    estimator_class = HierarchicalForecaster

    def make_estimator(self) -> Any:
        return HierarchicalForecaster(forecaster=MovingAverageForecaster(horizon=4), n_paths=100)


class TestLightGBMForecaster(_ForecasterContract):
    estimator_class = LightGBMForecaster

    def make_estimator(self) -> Any:
        return LightGBMForecaster(horizon=4, n_estimators=15, num_leaves=7, min_child_samples=5)


class TestAutoForecaster(_ForecasterContract):
    estimator_class = AutoForecaster

    def make_estimator(self) -> Any:
        return AutoForecaster(horizon=4, candidates=("snaive", "ma"), folds=1)


class TestPartitionedForecaster(_ForecasterContract):
    estimator_class = PartitionedForecaster

    def make_estimator(self) -> Any:
        return PartitionedForecaster(horizon=4, model="ma", min_skus=5)


# ---------------------------------------------------------------------- churn
class _BetaGeoContract(EstimatorContract):
    def fit_data(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        s = _rfm()
        return (s["frequency"], s["recency"], s["T"]), {}

    def predict_calls(self) -> list[Call]:
        s = _rfm()
        xs = (s["frequency"], s["recency"], s["T"])
        return [
            ("predict_alive", xs, {}),
            ("predict_purchases", (30.0, *xs), {}),
            ("predict_any_purchase", (30.0, *xs), {}),
        ]


class TestBetaGeoModel(_BetaGeoContract):
    estimator_class = BetaGeoModel


class TestModifiedBetaGeoModel(_BetaGeoContract):
    estimator_class = ModifiedBetaGeoModel


class TestParetoNBDModel(_BetaGeoContract):
    estimator_class = ParetoNBDModel


class TestGammaGammaModel(EstimatorContract):
    estimator_class = GammaGammaModel

    def fit_data(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        s = _rfm()
        return (s["frequency"], s["monetary_value"]), {}

    def predict_calls(self) -> list[Call]:
        s = _rfm()
        return [("predict_spend", (s["frequency"], s["monetary_value"]), {})]


class TestChurnClassifier(EstimatorContract):
    estimator_class = ChurnClassifier

    def make_estimator(self) -> Any:
        return ChurnClassifier(**FAST_LGBM)

    def fit_data(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        X, y = _features()
        return (X, y), {"groups": X["customer_id"]}

    def predict_calls(self) -> list[Call]:
        X, _y = _features(50, seed=1)
        return [
            ("predict_proba", (X,), {}),
            ("predict", (X,), {}),
            ("predict_raw", (X,), {}),
            ("reasons", (X,), {}),
        ]


class TestChurnModel(EstimatorContract):
    estimator_class = ChurnModel

    def make_estimator(self) -> Any:
        return ChurnModel(60, step=60, max_cutoffs=2, min_history=60, classifier=FAST_LGBM)

    def fit_data(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        tx, store = _churn_data()
        return (tx, store), {"cutoff": SHOP_CUTOFF}

    def predict_calls(self) -> list[Call]:
        tx, store = _churn_data()
        return [("score", (tx, store), {"cutoff": SHOP_CUTOFF}), ("describe", (), {})]


# ---------------------------------------------------------------------- recommend
class _RecommenderContract(EstimatorContract):
    def fit_data(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (_interactions(),), {"cutoff": SHOP_CUTOFF}

    def predict_calls(self) -> list[Call]:
        users = sorted(_interactions()["customer_id"].unique())[:20] + ["never-seen"]
        return [("recommend", (users,), {"k": 5})]


class TestPopularityRecommender(_RecommenderContract):
    estimator_class = PopularityRecommender


class TestBuyAgainRecommender(_RecommenderContract):
    estimator_class = BuyAgainRecommender


class TestItemKNNRecommender(_RecommenderContract):
    estimator_class = ItemKNNRecommender

    def make_estimator(self) -> Any:
        return ItemKNNRecommender(n_neighbors=20)


class TestEASERecommender(_RecommenderContract):
    estimator_class = EASERecommender


class TestALSRecommender(_RecommenderContract):
    estimator_class = ALSRecommender

    def make_estimator(self) -> Any:
        return ALSRecommender(factors=8, iterations=3)


class TestNewItemsRecommender(_RecommenderContract):
    estimator_class = NewItemsRecommender

    def make_estimator(self) -> Any:
        return NewItemsRecommender(new_days=120.0)


class TestRecommenderPipeline(_RecommenderContract):
    estimator_class = RecommenderPipeline

    def make_estimator(self) -> Any:
        return RecommenderPipeline(
            generators=("buy-again", "popular"),
            n_candidates=10,
            horizon_days=60,
            n_estimators=10,
            min_child_samples=5,
            new_items_ranker=False,
        )


_SPARK_REASON = (
    "fitting starts a Spark JVM; tests/spark/test_training.py fits it. The parameter, "
    "clone, repr and not-fitted rules are checked here"
)


def _spark_class(name: str) -> type:
    import ecomml.spark

    return getattr(ecomml.spark, name)


class TestSparkALSRecommender(_RecommenderContract):
    estimator_class = _spark_class("SparkALSRecommender")
    fit_skip_reason = _SPARK_REASON


class TestSparkALSPipeline(_RecommenderContract):
    estimator_class = _spark_class("SparkALSPipeline")
    fit_skip_reason = _SPARK_REASON


# ---------------------------------------------------------------------- coverage
class TestUpliftModel(EstimatorContract):
    estimator_class = UpliftModel
    features: ClassVar[list[str]] = ["tenure", "spend_before", "channel"]

    def make_estimator(self) -> UpliftModel:
        return UpliftModel(learner="x", n_estimators=30, min_child_samples=20)

    def fit_data(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        d = make_campaign(600, seed=2)
        return (d[self.features], d["offer"], d["visit"]), {}

    def predict_calls(self) -> list[Call]:
        d = make_campaign(50, seed=3)
        return [("predict", (d[self.features],), {}), ("predict_outcomes", (d[self.features],), {})]


@functools.cache
def _price_shop() -> Any:
    return make_shop(n_customers=800, n_skus=40, n_categories=3, include_events=False,
                     price_changes=True, seed=5)  # fmt: skip


class TestElasticityModel(EstimatorContract):
    estimator_class = ElasticityModel

    def make_estimator(self) -> ElasticityModel:
        return ElasticityModel(n_estimators=20, num_leaves=5, min_child_samples=10)

    def fit_data(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        s = _price_shop()
        return (s.transactions, s.catalog, s.calendar), {}

    def predict_calls(self) -> list[Call]:
        skus = _price_shop().transactions["sku"].dropna().unique()[:5].tolist()
        return [("predict", (), {}), ("demand_ratio", (skus, 0.9), {})]


CONTRACTS = [
    obj
    for obj in list(globals().values())
    if inspect.isclass(obj)
    and issubclass(obj, EstimatorContract)
    and obj.__name__.startswith("Test")
]


def _public_estimators() -> dict[str, type]:
    """Every class with ``fit`` exported by an ``ecomml`` package ``__all__`` (or reachable
    there and deriving from ``BaseEstimator``), abstract bases and tasks excepted."""
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(ecomml.__path__, "ecomml."):
        if not info.ispkg or ".cli" in info.name:
            continue
        pkg = importlib.import_module(info.name)
        for name in getattr(pkg, "__all__", []):
            obj = getattr(pkg, name)
            if not inspect.isclass(obj) or not hasattr(obj, "fit") or inspect.isabstract(obj):
                continue
            if issubclass(obj, Task):  # tasks keep the task contract (tests/test_tasks.py)
                continue
            if name.startswith("Base"):  # shared machinery, "not used directly"
                continue
            found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    for info in pkgutil.walk_packages(ecomml.__path__, "ecomml."):
        if ".cli" in info.name or info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        try:
            mod = importlib.import_module(info.name)
        except ImportError:  # an optional extra that is not installed
            continue
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name, None)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and not inspect.isabstract(obj)
                and not name.startswith("Base")
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def test_every_public_estimator_has_a_contract_test() -> None:
    covered = {c.estimator_class for c in CONTRACTS}
    missing = sorted(k for k, cls in _public_estimators().items() if cls not in covered)
    assert not missing, (
        f"public estimators without an EstimatorContract test class in tests/test_common.py: "
        f"{missing}"
    )


def test_the_discovery_finds_the_known_estimators() -> None:
    names = {cls.__name__ for cls in _public_estimators().values()}
    assert {"ChurnModel", "ChurnClassifier", "BetaGeoModel", "LightGBMForecaster"} <= names
    assert {"RecommenderPipeline", "PartitionedForecaster", "SparkALSRecommender"} <= names


def test_error_tree() -> None:
    assert issubclass(ConfigError, ValueError) and issubclass(ConfigError, EcommlError)
    import sklearn.exceptions

    assert issubclass(NotFittedError, sklearn.exceptions.NotFittedError)
    assert issubclass(NotFittedError, EcommlError)


# ---------------------------------------------------------------------- sklearn's own checks
# ChurnClassifier is the one public estimator that takes a feature matrix (the recommender
# pipeline's LambdaRank ranker is internal). Checks that cannot apply, with the reason:
_BINARY = (
    "churn is a binary target: ChurnClassifier raises DataQualityError for y with more "
    "than two classes, and this check fits on multiclass y"
)
CHURN_CLASSIFIER_EXPECTED_FAILED: dict[str, str] = {
    "check_fit_score_takes_y": _BINARY,
    "check_estimators_overwrite_params": _BINARY,
    "check_dont_overwrite_parameters": _BINARY,
    "check_estimators_fit_returns_self": _BINARY,
    "check_readonly_memmap_input": _BINARY,
    "check_n_features_in_after_fitting": _BINARY,
    "check_positive_only_tag_during_fit": _BINARY,
    "check_dtype_object": _BINARY,
    "check_f_contiguous_array_estimator": _BINARY,
    "check_classifiers_classes": _BINARY,
    "check_classifiers_train": _BINARY,
    "check_supervised_y_2d": _BINARY,
    "check_methods_sample_order_invariance": _BINARY,
    "check_methods_subset_invariance": _BINARY,
    "check_dict_unchanged": _BINARY,
    "check_fit2d_predict1d": _BINARY,
}


def _expected_failed(estimator: Any) -> dict[str, str]:
    if isinstance(estimator, ChurnClassifier):
        return CHURN_CLASSIFIER_EXPECTED_FAILED
    return {}


@parametrize_with_checks(
    [ChurnClassifier(n_estimators=10, min_child_samples=2, calibration="none")],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_checks(estimator: Any, check: Any) -> None:
    check(estimator)
