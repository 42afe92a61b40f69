"""The task contract (issue 16): every registered task passes the same checks.

``TaskContract`` is the base every task's test class inherits (as implicit's recommender
tests do): a new task added to the registry gets the whole contract by adding a subclass
with its small parameters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ecomml.data.shop import ShopData
from ecomml.data.synth import make_shop
from ecomml.exceptions import ModelLoadError, UnknownEntityError
from ecomml.registry import (
    TASKS,
    all_tasks,
    get_model_task,
    get_task,
    model_task_names,
    model_tasks,
    task_names,
)
from ecomml.runner import load_task_model, save_task_model, score, write_output
from ecomml.task import Evaluation, Folds, ModelTask, Task, TaskData


@pytest.fixture(scope="module")
def shop() -> ShopData:
    s = make_shop(n_customers=200, n_skus=40, days=300, seed=5)
    return ShopData(s.transactions, s.events, s.catalog, s.calendar, source="contract shop")


@pytest.fixture(scope="module")
def cutoff(shop: ShopData) -> pd.Timestamp:
    return shop.transactions["ts"].max().normalize() - pd.Timedelta(days=20)


class TaskContract:
    """What every task must do; subclasses set ``name`` and small ``params``."""

    name: str
    params: dict[str, Any] = {}

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls, shop: ShopData, cutoff: pd.Timestamp) -> tuple[ModelTask, Any, TaskData]:
        task = get_model_task(cls.name)
        data = TaskData(shop, cutoff)
        return task, task.fit(data, params=cls.params), data

    def test_declares_what_apps_need(self) -> None:
        task = get_model_task(self.name)
        assert task.name == self.name
        assert task.output_columns and len(set(task.output_columns)) == len(task.output_columns)
        assert task.metrics
        assert task.fold_unit in ("days", "periods")
        assert isinstance(dict(task.params), dict)
        assert task.model_param_names(self.params)

    def test_score_has_the_declared_columns(self, fitted: tuple[ModelTask, Any, TaskData]) -> None:
        task, model, data = fitted
        out = task.score(model, data)
        assert list(out.columns[: len(task.output_columns)]) == list(task.output_columns)
        assert len(out) > 0

    def test_saved_model_scores_the_same(
        self, fitted: tuple[ModelTask, Any, TaskData], tmp_path: Path
    ) -> None:
        task, model, data = fitted
        path = save_task_model(task, model, tmp_path / "m", data, params=self.params)
        loaded = load_task_model(path, task.name)
        assert loaded.metadata["task"] == task.name
        assert loaded.metadata["source"] == "contract shop"
        pd.testing.assert_frame_equal(score(task, loaded, data), task.score(model, data))

    def test_wrong_task_model_is_refused(
        self, fitted: tuple[ModelTask, Any, TaskData], tmp_path: Path
    ) -> None:
        task, model, data = fitted
        path = save_task_model(task, model, tmp_path / "m", data, params=self.params)
        other = next(n for n in task_names() if n != task.name and n != "inventory")
        with pytest.raises(ModelLoadError, match=f"not a {other!r} model"):
            load_task_model(path, other)

    def test_written_output_round_trips(
        self, fitted: tuple[ModelTask, Any, TaskData], tmp_path: Path
    ) -> None:
        task, model, data = fitted
        out = task.score(model, data)
        back = pd.read_parquet(write_output(out, tmp_path / "out.parquet"))
        assert list(back.columns) == list(out.columns) and len(back) == len(out)


class TestChurnTask(TaskContract):
    name = "churn"
    params = {"horizon": 60, "step": 60, "max_cutoffs": 2}


class TestRecommendTask(TaskContract):
    name = "recommend"
    params = {"generators": "buy-again,popular", "n_estimators": 20, "n_candidates": 10,
              "horizon_days": 30}  # fmt: skip


class TestForecastTask(TaskContract):
    name = "forecast"
    params = {"model": "ma", "freq": "W", "horizon": 4}


class TestInventoryTask(TaskContract):
    name = "inventory"
    params = {"model": "ma", "freq": "W", "horizon": 4, "lead_time": 7}


def test_every_registered_task_has_a_contract_test() -> None:
    tested = {cls.name for cls in TaskContract.__subclasses__()}
    assert tested == set(model_task_names())


def test_model_tasks_and_action_only_tasks() -> None:
    # every task is registered; the ones with a model are what apps that fit loop over
    assert set(model_task_names()) <= set(TASKS)
    assert [t.name for t in model_tasks()] == [n for n in task_names() if n in model_task_names()]
    for task in all_tasks():
        assert isinstance(task, Task)
        if not isinstance(task, ModelTask):  # a task of actions only: nothing else to offer
            assert task.actions and not task.commands
            with pytest.raises(UnknownEntityError, match="has no model"):
                get_model_task(task.name)


def test_registry_order_and_unknown_names() -> None:
    assert [t.name for t in all_tasks()] == list(task_names())
    assert task_names().index("forecast") < task_names().index("inventory")
    with pytest.raises(UnknownEntityError, match="did you mean 'churn'"):
        get_task("chrun")


def test_a_model_of_another_task_is_refused(shop: ShopData, cutoff: pd.Timestamp) -> None:
    data = TaskData(shop, cutoff)
    forecaster = get_task("forecast").fit(data, params={"model": "ma", "horizon": 4})
    with pytest.raises(ModelLoadError, match="not a churn model"):
        get_task("churn").score(forecaster, data)


def test_evaluate_returns_one_row_per_fold(shop: ShopData, cutoff: pd.Timestamp) -> None:
    ev = get_task("forecast").evaluate(
        TaskData(shop, cutoff), Folds(2), params={"model": "ma", "horizon": 4}
    )
    assert isinstance(ev, Evaluation)
    assert list(ev.folds["fold"]) == [1, 2]
    assert {"wape", "mase"} <= set(ev.aggregate())


def test_output_writer_refuses_an_unknown_suffix(tmp_path: Path) -> None:
    from ecomml.exceptions import InputFileError

    with pytest.raises(InputFileError, match="use a .csv or .parquet file name"):
        write_output(pd.DataFrame({"a": [1]}), tmp_path / "out.xlsx")


def test_a_tiny_shop_is_told_its_numbers_mean_little() -> None:
    from ecomml.data.synth import make_shop

    tiny = make_shop(n_customers=60, n_skus=30, days=120, seed=1)
    big = make_shop(seed=0)
    cut = tiny.transactions["ts"].max()
    said = {t: get_task(t).data_warnings(tiny, cut) for t in ("churn", "recommend", "forecast")}
    assert any("only" in w and "customers" in w for w in said["churn"])
    assert any("SKUs" in w for w in said["recommend"])
    assert any("weeks of history" in w for w in said["forecast"])
    cut = big.transactions["ts"].max()
    assert not any(get_task(t).data_warnings(big, cut) for t in ("churn", "recommend", "forecast"))
