"""The HTML report renders in headless Chromium and every embedded plot decodes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.experiments.conftest import write_config


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


def test_report_plots_load_in_headless_chromium(tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("headless Chromium not installed (Debian: apt-get install chromium)")
    from ecomml.experiments import load_config, run_experiment

    cfg = write_config(
        tmp_path, "fc-report", task="forecast", folds=1, model={"name": "ma"},
        task_params={"freq": "W", "horizon": 4},
    )  # fmt: skip
    res = run_experiment(load_config(cfg), out_dir=tmp_path / "out", track=False)
    out = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
         "--dump-dom", res.report.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    m = re.search(r'data-images="(\d+)/(\d+)"', out.stdout)
    assert m is not None, out.stdout[-2000:] + out.stderr[-2000:]
    loaded, total = int(m.group(1)), int(m.group(2))
    assert total == 3 and loaded == total
