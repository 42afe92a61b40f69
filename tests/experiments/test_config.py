"""Experiment config validation: every shipped config parses; mistakes get precise messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ecomml.exceptions import ConfigError
from ecomml.experiments import TASK_METRICS, load_config, metric_direction, parse_config

ROOT = Path(__file__).resolve().parents[2]
BASE = {"task": "forecast", "cutoff": "2024-01-15", "model": {"name": "ma"}}


@pytest.mark.parametrize("task", ["forecast", "churn", "recommend"])
def test_shipped_configs_parse(task: str) -> None:
    cfg = load_config(ROOT / "experiments" / f"{task}.yaml")
    assert cfg.task == task
    assert cfg.metrics and cfg.grid
    assert len(cfg.grid_points()) >= 2
    assert cfg.data.get("path") is None  # runs on the built-in sample shop


def test_defaults_and_grid_points() -> None:
    cfg = parse_config({**BASE, "grid": {"window": [4, 8], "min_history": [0, 2]}})
    assert cfg.name == "ecomml-forecast-experiments"
    assert cfg.metrics[0] == "scaled_pinball"
    assert cfg.task_params == {"freq": "W", "horizon": 8}
    pts = cfg.grid_points()
    assert len(pts) == 4
    assert {p["window"] for p in pts} == {4, 8}


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ({"modle": {"name": "ma"}}, "did you mean 'model'"),
        ({"task": "forcast"}, "did you mean 'forecast'"),
        ({"model": {"name": "lgmb"}}, "did you mean 'lgbm'"),
        ({"model": {"name": "ma", "params": {"windw": 3}}}, "did you mean 'window'"),
        ({"metrics": ["wap"]}, "did you mean 'wape'"),
        ({"task_params": {"freq": "M"}}, "freq must be W or D"),
        ({"task_params": {"horizon": 0}}, "task_params.horizon must be an integer >= 1"),
        ({"task_params": {"horizn": 4}}, "did you mean 'horizon'"),
        ({"folds": {"n": 0}}, "folds.n must be an integer >= 1"),
        ({"cutoff": "not a date"}, "is not a date"),
        ({"data": {"sampel": {}}}, "did you mean 'sample'"),
        ({"cleaning": {"policy": {"drop_duplicate": True}}}, "did you mean 'drop_duplicates'"),
        ({"grid": {"horizon": [4, 8]}}, "task_params"),
        ({"grid": {"window": []}}, "empty list"),
    ],
)
def test_bad_configs_name_key_and_fix(patch: dict, needle: str, tmp_path: Path) -> None:
    raw = {**BASE, **patch}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert needle in str(err.value)
    assert "bad.yaml" in str(err.value)


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "broken.yaml"
    bad.write_text("task: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cutoff is required"):
        parse_config({"task": "churn"})


def test_relative_data_paths_resolve_next_to_the_config(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**BASE, "data": {"path": "shop.csv"}}))
    assert load_config(path).data["path"] == tmp_path / "shop.csv"


def test_metric_directions() -> None:
    assert metric_direction("roc_auc") == "max"
    assert metric_direction("ndcg_at_20") == "max"
    assert metric_direction("coverage_at_20") == "max"
    assert metric_direction("wape") == "min"
    assert metric_direction("brier") == "min"
    assert metric_direction("coverage_80") == "target"


def test_report_is_self_contained(tmp_path: Path) -> None:
    import pandas as pd
    from matplotlib.figure import Figure

    from ecomml.experiments.report import write_report
    from ecomml.plots import save_figure

    fig = Figure(figsize=(3, 2))
    fig.add_subplot(1, 1, 1).plot([0, 1], [1, 0])
    png = save_figure(fig, tmp_path / "p.png")
    cfg = parse_config(BASE)
    points = pd.DataFrame({"point": [1], "label": ["base"], "scaled_pinball": [0.5]})
    folds = pd.DataFrame({"fold": [1], "cutoff": [pd.Timestamp("2024-01-01")], "wape": [0.3]})
    path = write_report(tmp_path / "r.html", title="t <&>", config=cfg, points=points,
                        folds=folds, plots={"p.png": png})  # fmt: skip
    text = path.read_text()
    assert "t &lt;&amp;&gt;" in text
    assert text.count("data:image/png;base64,") == 1
    assert "src='p.png'" not in text and "2024-01-01" in text


@given(
    metric=st.sampled_from([m for ms in TASK_METRICS.values() for m in ms]),
    a=st.floats(-5, 5, allow_nan=False),
    b=st.floats(-5, 5, allow_nan=False),
)
def test_rank_value_orders_by_the_metric_direction(metric: str, a: float, b: float) -> None:
    from ecomml.experiments.runner import rank_value

    ra, rb = rank_value(metric, a), rank_value(metric, b)
    d = metric_direction(metric)
    if d == "max":
        assert (ra < rb) == (a > b)
    elif d == "target" or metric == "bias":
        nominal = {"coverage_80": 0.8, "coverage_90": 0.9}.get(metric, 0.0)
        assert (ra < rb) == (abs(a - nominal) < abs(b - nominal))
    else:
        assert (ra < rb) == (a < b)
    assert rank_value(metric, float("nan")) == float("inf")
