"""Model folders saved by earlier versions keep working (issue 16).

``tests/data/saved_models/main-3e973b8`` holds models trained by ``ecomml train`` at
commit 3e973b8 (before the task contract), on ``make_shop(n_customers=300, n_skus=50,
days=400, seed=7)`` with cutoff 2024-01-01, and the tables ``ecomml predict`` wrote
from them at that commit (``expected/``). Today's code must load each folder (moved
classes are found through ``ecomml._moved``) and score the same numbers, or refuse a
model in one line that names the retrain command.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ecomml.cli.main import app
from ecomml.exceptions import ModelLoadError
from ecomml.modelstore import load_model
from tests._models import rewrite_metadata

SAVED = Path(__file__).parent / "data" / "saved_models" / "main-3e973b8"
MODELS = {
    # folder: (task, class it loads as today)
    "churn": ("churn", "ecomml.churn.model.ChurnModel"),
    "forecast": ("forecast", "ecomml.forecasting.lgbm.LightGBMForecaster"),
    "forecast-tsb": ("forecast", "ecomml.forecasting.baselines.TSBForecaster"),
    "recommend": ("recommend", "ecomml.recommend.pipeline.RecommenderPipeline"),
}
#: folders that old ecomml saved as pickles: they load only when trusted (issue 23)
PICKLED = {"forecast-tsb"}


@pytest.fixture(scope="module")
def shop_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from ecomml.data.synth import make_shop

    d = tmp_path_factory.mktemp("old-shop")
    shop = make_shop(n_customers=300, n_skus=50, days=400, seed=7)
    shop.transactions.to_csv(d / "tx.csv", index=False)
    shop.events.to_csv(d / "events.csv", index=False)
    return d / "tx.csv", d / "events.csv"


@pytest.mark.parametrize("folder", sorted(MODELS))
def test_old_model_folder_loads_as_todays_class(folder: str) -> None:
    task, cls = MODELS[folder]
    if folder in PICKLED:
        with pytest.raises(ModelLoadError, match="is a pickle.*ecomml train forecast"):
            load_model(SAVED / folder, task=task)
    loaded = load_model(SAVED / folder, task=task, trust_pickle=folder in PICKLED)
    assert f"{type(loaded.model).__module__}.{type(loaded.model).__qualname__}" == cls
    assert loaded.metadata["task"] == task


@pytest.mark.parametrize("folder", sorted(MODELS))
def test_old_model_folder_scores_as_it_did(
    folder: str, shop_files: tuple[Path, Path], tmp_path: Path
) -> None:
    task, _ = MODELS[folder]
    tx, events = shop_files
    out = tmp_path / "scores.parquet"
    args = ["predict", task, "-t", tx, "--events", events, "--model", SAVED / folder,
            "--cutoff", "2024-01-01", "--output", out]  # fmt: skip
    if folder in PICKLED:
        r = CliRunner().invoke(app, [str(a) for a in args])
        assert r.exit_code == 1 and "--trust-pickle" in r.output
        args.append("--trust-pickle")
    r = CliRunner().invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    got = pd.read_parquet(out)
    want = pd.read_parquet(SAVED / "expected" / f"{folder}.parquet")
    assert list(got.columns) == list(want.columns)
    # timestamps are written in microseconds now (they were nanoseconds); values equal
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-9)


@pytest.mark.parametrize(
    "changes",
    [{"ecomml_version": "0.0.3"}, {"class": "ecomml.churn.retired.ChurnModel"}],
    ids=["other-minor-version", "class-that-is-gone"],
)
def test_unloadable_old_model_is_refused_in_one_line_naming_the_retrain_command(
    changes: dict[str, str], shop_files: tuple[Path, Path], tmp_path: Path
) -> None:
    shutil.copytree(SAVED / "churn", tmp_path / "churn")
    bad = rewrite_metadata(tmp_path / "churn", **changes)
    with pytest.raises(ModelLoadError) as err:
        load_model(bad, task="churn")
    msg = str(err.value)
    assert "\n" not in msg
    assert "ecomml train churn" in msg
    args = ["predict", "churn", "--model", bad, "--cutoff", "2024-01-01", "-t", shop_files[0],
            "--output", tmp_path / "scores.parquet"]  # fmt: skip
    r = CliRunner().invoke(app, [str(a) for a in args])
    assert r.exit_code != 0
    assert "ecomml train churn" in " ".join(r.output.split())
    assert "Traceback" not in r.output
    assert not (tmp_path / "scores.parquet").exists()


def test_moved_names_resolve_to_existing_classes() -> None:
    import importlib

    from ecomml._moved import MOVED, resolve

    for old in MOVED:
        module, _, name = resolve(old).rpartition(".")
        assert hasattr(importlib.import_module(module), name), old


def test_pickles_naming_old_modules_unpickle(tmp_path: Path) -> None:
    """A joblib pickle that records a class under its old module path still loads."""
    import pickle

    from ecomml._moved import old_modules
    from ecomml.forecasting.panel import Panel

    # protocol-2 pickle of the class reference ecomml.forecasting._panel.Panel
    data = b"\x80\x02cecomml.forecasting._panel\nPanel\nq\x00."
    with pytest.raises(ModuleNotFoundError):
        pickle.loads(data)
    with old_modules():
        assert pickle.loads(data) is Panel
    import sys

    assert "ecomml.forecasting._panel" not in sys.modules
