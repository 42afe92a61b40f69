"""SIGKILL at random points: the previous model and output stay intact, nothing partial shows.

Each kill runs a real ``ecomml`` process (or a Python writer loop) in its own session and
kills it with SIGKILL after a seeded random delay. After every kill the model folder must
load (``load_model`` re-checks every SHA-256 of the manifest), the output must read back
with the same rows, and the folder must hold no visible temporary or partial file: only
the final names, plus hidden ``.{name}.{pid}.{random}.tmp`` leftovers that the next write
removes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ecomml._io import atomic_dir, atomic_write_text, is_temp_name
from ecomml.cli.main import app
from ecomml.data.synth import make_shop
from ecomml.modelstore import load_model

ECOMML = str(Path(sys.executable).with_name("ecomml"))
CUTOFF = "2023-09-04"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _trust_pickles(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's crash and concurrency rules are tested with tiny pickled objects:
    trusted here (the trust rule itself is tested in test_safe_loading)."""
    monkeypatch.setenv("ECOMML_TRUST_PICKLE", "1")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("ECOMML_PROGRESS", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run_and_kill(
    cmd: list[str], delay: float, cwd: Path, *, watch: Path | None = None, after: float = 0.0
) -> str:
    """Start ``cmd`` and SIGKILL its process group after ``delay`` s, or ``after`` s after a
    hidden temporary first shows up in ``watch`` (the write has begun). Returns 'killed'
    or 'finished'."""
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    t0 = time.monotonic()
    deadline = t0 + delay
    while proc.poll() is None:
        now = time.monotonic()
        if watch is not None and watch.is_dir() and any(is_temp_name(n) for n in os.listdir(watch)):
            deadline = min(deadline, now + after)
            watch = None
        if now >= deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return "killed"
        time.sleep(0.002)
    assert proc.returncode == 0, proc.stderr.read().decode() if proc.stderr else ""
    return "finished"


def _timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    return time.perf_counter() - t0


def _assert_no_visible_partials(folder: Path, expected: set[str]) -> list[str]:
    """Only the expected final names are visible; hidden names are ecomml temps or locks."""
    names = {p.name for p in folder.iterdir()}
    visible = {n for n in names if not n.startswith(".")}
    assert visible <= expected, f"unexpected files in {folder}: {sorted(visible - expected)}"
    hidden = sorted(names - visible)
    for n in hidden:
        assert is_temp_name(n) or n.endswith(".lock"), f"unknown hidden file {n} in {folder}"
    return hidden


def _assert_pngs_complete(folder: Path) -> None:
    for p in folder.glob("*.png"):
        data = p.read_bytes()
        assert data.startswith(PNG_MAGIC) and data.endswith(b"IEND\xaeB`\x82"), p


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    d = tmp_path_factory.mktemp("crash")
    shop = make_shop(n_customers=250, n_skus=30, days=280, seed=5, n_categories=3)
    shop.transactions.to_parquet(d / "tx.parquet", index=False)
    train = [ECOMML, "train", "forecast", "-t", "tx.parquet", "--cutoff", CUTOFF,
             "--model-dir", "models/forecast", "--validate-folds", "1", "--no-track"]  # fmt: skip
    predict = [ECOMML, "predict", "forecast", "--model", "models/forecast", "-t", "tx.parquet",
               "--cutoff", CUTOFF, "-o", "out/forecast.parquet"]  # fmt: skip
    # the model to predict with: the same command, in this process (no interpreter start)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(d)
        res = CliRunner().invoke(app, train[1:])
    assert res.exit_code == 0, res.output
    t_predict = _timed(predict, d)
    return {
        "dir": d,
        "train": train,
        "predict": predict,
        "t_predict": t_predict,
        "forecast": pd.read_parquet(d / "out" / "forecast.parquet"),
    }


def _delays(seed: int, total: float, n: int) -> list[float]:
    # biased towards the end of the run, where the outputs are written
    rng = np.random.default_rng(seed)
    return sorted(float(x) for x in total * rng.uniform(0.5, 1.05, n))


# slow: test_sigkill_inside_the_write_window kills the same atomic write faster
@pytest.mark.slow
@pytest.mark.twin
def test_sigkill_training_keeps_a_loadable_model(workdir: dict) -> None:  # type: ignore[type-arg]
    d: Path = workdir["dir"]
    models = d / "models"
    t_train = _timed(workdir["train"], d)  # one whole run: how long training takes
    before = load_model(models / "forecast", task="forecast")
    rng = np.random.default_rng(11)
    # one kill at a random point of the run, two while the model folder is being written
    kills = [
        {"delay": t_train * float(rng.uniform(0.3, 0.9))},
        *({"delay": 10 * t_train, "watch": models, "after": float(a)}
          for a in rng.uniform(0.0, 0.05, 2)),
    ]  # fmt: skip
    outcomes = []
    for kill in kills:
        outcomes.append(_run_and_kill(workdir["train"], cwd=d, **kill))
        loaded = load_model(models / "forecast", task="forecast")  # verifies every hash
        assert loaded.metadata["cutoff"] == before.metadata["cutoff"]
        assert loaded.metadata["features"] == before.metadata["features"]
        _assert_no_visible_partials(models, {"forecast", "forecast-plots"})
        plots = models / "forecast-plots"
        if plots.is_dir():
            _assert_no_visible_partials(plots, {p.name for p in plots.glob("*.png")})
            _assert_pngs_complete(plots)
    print("train kills:", outcomes)
    assert outcomes.count("killed") >= 2, outcomes


def test_sigkill_prediction_keeps_the_previous_output(workdir: dict) -> None:  # type: ignore[type-arg]
    d: Path = workdir["dir"]
    out = d / "out"
    expected: pd.DataFrame = workdir["forecast"]
    outcomes = []
    rng = np.random.default_rng(12)
    for delay in _delays(12, workdir["t_predict"], 3):
        after = float(rng.uniform(0.0, 0.02))
        outcomes.append(_run_and_kill(workdir["predict"], delay, d, watch=out, after=after))
        got = pd.read_parquet(out / "forecast.parquet")
        pd.testing.assert_frame_equal(got, expected)
        _assert_no_visible_partials(out, {"forecast.parquet"})
        # a glob over the output folder sees only the final file, never a temporary
        assert [p.name for p in out.glob("*.parquet")] == ["forecast.parquet"]
    print("predict kills:", outcomes)
    assert "killed" in outcomes


WRITER = textwrap.dedent(
    """
    # Forks writer children that loop over save_model + an atomic Parquet write; kills
    # each with SIGKILL after a delay read from stdin, then reports, so the test can
    # check the folder between kills without paying an interpreter start per kill.
    import os, signal, sys, time
    import numpy as np, pandas as pd
    from ecomml._io import atomic_path
    from ecomml.modelstore import save_model

    root = sys.argv[1]

    def write_forever():
        payload = {"weights": np.arange(400_000, dtype="float64")}
        frame = pd.DataFrame({"k": np.arange(200_000), "v": np.arange(200_000) * 0.5})
        i = 0
        while True:
            i += 1
            payload["version"] = i
            save_model(payload, root + "/model", task="demo", extra={"version": i})
            with atomic_path(root + "/scores.parquet") as tmp:
                frame.assign(version=i).to_parquet(tmp, index=False)

    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            try:
                write_forever()
            finally:
                os._exit(1)
        time.sleep(float(line))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        print("killed", flush=True)
    """
)


def test_sigkill_inside_the_write_window(tmp_path: Path) -> None:
    """Writers that do nothing but save a model folder and a Parquet output, killed at 5
    random points: most kills land in the middle of a write."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = np.random.default_rng(7)
    versions = []
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=_env(),
        text=True,
        start_new_session=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for delay in rng.uniform(0.4, 1.5, 5):
            proc.stdin.write(f"{delay}\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "killed"
            if not (tmp_path / "model").exists():
                continue  # killed before the first folder was complete
            loaded = load_model(tmp_path / "model", task="demo")  # verifies every hash
            assert loaded.model["version"] == loaded.metadata["version"]
            versions.append(loaded.metadata["version"])
            if (tmp_path / "scores.parquet").exists():
                scores = pd.read_parquet(tmp_path / "scores.parquet")
                assert len(scores) == 200_000 and scores["version"].nunique() == 1
            _assert_no_visible_partials(tmp_path, {"model", "scores.parquet", "writer.py"})
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert versions, "no writer completed a model folder"
    # the next write removes every temporary the killed writers left
    atomic_dir(tmp_path / "model", lambda d: (d / "x").write_text("x"))
    atomic_write_text(tmp_path / "scores.parquet", "")
    assert [p.name for p in tmp_path.iterdir() if is_temp_name(p.name)] == []


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    stale_file = tmp_path / f".out.csv.{pid}.abcd1234.tmp"
    stale_file.write_text("half")
    stale_dir = tmp_path / f".model.{pid}.abcd1234.tmp"
    stale_dir.mkdir()
    (stale_dir / "half.bin").write_bytes(b"x")
    live = tmp_path / f".out.csv.{os.getpid()}.live1234.tmp"  # our own: still being written
    live.write_text("in progress")
    other = tmp_path / f".other.csv.{pid}.abcd1234.tmp"  # another target's: not ours to judge
    other.write_text("x")
    atomic_write_text(tmp_path / "out.csv", "a,b\n")
    atomic_dir(tmp_path / "model", lambda d: (d / "m.txt").write_text("m"))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert stale_file.name not in names and stale_dir.name not in names
    assert live.name in names and other.name in names
    assert (tmp_path / "out.csv").read_text() == "a,b\n"


_DEAD_PID: list[int] = []


def _dead_pid() -> int:
    if not _DEAD_PID:
        res = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                             capture_output=True, text=True, check=True)  # fmt: skip
        _DEAD_PID.append(int(res.stdout))
    return _DEAD_PID[0]


name_chars = st.text(alphabet="abcXYZ019._-", min_size=1, max_size=12).filter(
    lambda s: s not in {".", ".."}
)


@settings(max_examples=60, deadline=None)
@given(target=name_chars, others=st.lists(name_chars, max_size=6))
def test_stale_temp_cleanup_touches_only_this_targets_dead_temporaries(
    target: str, others: list[str]
) -> None:
    """Whatever else a folder holds, only ``.{target}.{dead pid}.{8 chars}.tmp`` goes."""
    import tempfile

    from ecomml._io import remove_stale_temps

    pid = _dead_pid()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        stale = f".{target}.{pid}.ab12cd34.tmp"
        names = {stale, target, f".{target}.{os.getpid()}.ab12cd34.tmp", f".{target}.lock"}
        for o in others:
            names |= {o, f".{o}.{pid}.ab12cd34.tmp", f".{target}.{o}"}
        for n in names:
            (d / n).write_text("x")
        removed = {p.name for p in remove_stale_temps(d / target)}
        left = {p.name for p in d.iterdir()}
        assert stale in removed
        for n in removed:
            assert n.startswith(f".{target}.{pid}.") and is_temp_name(n)
        assert left == names - removed
