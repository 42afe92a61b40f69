"""An experiment config on a real export (CDNOW master log, read by its adapter)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ecomml.experiments import load_config, run_experiment


@pytest.mark.slow
def test_churn_experiment_on_cdnow(shared_data: Path, tmp_path: Path) -> None:
    cfg_path = tmp_path / "cdnow.yaml"
    cfg_path.write_text(
        yaml.safe_dump(
            {
                "name": "cdnow-churn",
                "task": "churn",
                "data": {"path": str(shared_data / "cdnow" / "cdnow_master.parquet"),
                         "format": "cdnow"},
                "cutoff": "1998-01-01",
                "folds": {"n": 2, "step": 60},
                "task_params": {"horizon": 90},
                "model": {"params": {"max_cutoffs": 4}},
                "metrics": ["roc_auc", "brier"],
            }
        )
    )  # fmt: skip
    res = run_experiment(load_config(cfg_path), out_dir=tmp_path / "out", track=False)
    folds = res.folds[res.best]
    assert len(folds) == 2
    assert folds["cutoff"].max() < load_config(cfg_path).cutoff
    # CDNOW's 90-day churn is predictable well above chance (published BG/NBD fits)
    assert res.best_metrics["roc_auc"] > 0.7
    assert 0 < res.best_metrics["brier"] < 0.25
    assert res.report.exists()
