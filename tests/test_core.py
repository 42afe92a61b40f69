"""Exceptions, validation helpers, atomic writes and import hygiene."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError as SkNotFittedError

import ecomml
from ecomml import exceptions as exc
from ecomml._io import atomic_dir, atomic_path, atomic_write_json, atomic_write_text
from ecomml._validation import check_cutoff, check_fitted, check_frame, check_n_jobs, closest_name


def test_hierarchy_mixes_in_builtins() -> None:
    assert issubclass(exc.SchemaError, ValueError)
    assert issubclass(exc.UnknownEntityError, LookupError)
    assert issubclass(exc.NotFittedError, SkNotFittedError)
    assert issubclass(exc.InputFileError, OSError)
    for name in exc.__all__:
        obj = getattr(exc, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and not issubclass(obj, Warning):
            assert issubclass(obj, exc.EcommlError), name


def test_all_names_exist() -> None:
    for name in exc.__all__:
        assert hasattr(exc, name), name
    for name in ecomml.__all__:
        assert hasattr(ecomml, name), name


def test_import_ecomml_is_light() -> None:
    code = "import sys, ecomml; print(any(m.startswith('mlflow') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_check_frame_suggests_closest_column() -> None:
    df = pd.DataFrame({"order_id": [1], "custmer_id": ["a"]})
    with pytest.raises(
        exc.SchemaError,
        match="missing required column.*'customer_id' "
        r"\(did you mean 'custmer_id'\?\)",
    ) as info:
        check_frame(df, required=["order_id", "customer_id"], name="transactions", source="x.csv")
    assert info.value.missing == ["customer_id"]
    assert "transactions (x.csv)" in str(info.value)


def test_closest_name_ignores_case_and_spaces() -> None:
    assert closest_name("customer_id", ["Customer ID", "Country"]) == "Customer ID"
    assert closest_name("zzz", ["order_id"]) is None


def test_check_n_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert check_n_jobs(None) == 3  # every core the environment allows
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert check_n_jobs(None) >= 1 and check_n_jobs(-1) == check_n_jobs(None)
    assert check_n_jobs(2) == 2 and check_n_jobs(-10_000) == 1
    for bad in (0, 1.5, "2", True):
        with pytest.raises(exc.ConfigError, match="n_jobs must be"):
            check_n_jobs(bad)  # type: ignore[arg-type]


def test_check_cutoff() -> None:
    assert check_cutoff("2011-09-01") == pd.Timestamp("2011-09-01")
    assert check_cutoff(pd.Timestamp("2011-09-01T02:00", tz="Europe/Berlin")) == pd.Timestamp(
        "2011-09-01T00:00"
    )
    with pytest.raises(exc.DataQualityError, match="never defaults to 'now'"):
        check_cutoff(None)
    with pytest.raises(exc.DataQualityError, match="not a date"):
        check_cutoff("yesterday-ish")


def test_check_fitted() -> None:
    class Est:
        pass

    with pytest.raises(exc.NotFittedError, match="Est is not fitted yet"):
        check_fitted(Est(), ["coef_"])


def test_atomic_path_keeps_previous_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    atomic_write_text(target, "v1")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "v1"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_json_and_dir(tmp_path: Path) -> None:
    atomic_write_json(tmp_path / "a.json", {"b": 1})
    assert (tmp_path / "a.json").read_text().strip().startswith("{")

    def fill(d: Path) -> None:
        (d / "model.txt").write_text("new")

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.txt").write_text("old")

    def broken(d: Path) -> None:
        (d / "model.txt").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_dir(tmp_path / "m", broken)
    assert (tmp_path / "m" / "model.txt").read_text() == "old"
    atomic_dir(tmp_path / "m", fill)
    assert (tmp_path / "m" / "model.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "m"]
