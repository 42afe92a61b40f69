"""Every command that reads data, run against every applicable file of the bad-input corpus.

The corpus is ``tests/data/bad/`` and its manifest ``cases.yaml`` (file, table, exit code,
expected message fragments or documented cleaning). Each (command, file) pair is its own
test: exit code 1 with ONE ``error:`` line on stderr naming the file, the column and the
rows (never a traceback, never the CLI's "unexpected" catch-all, never a hang), or exit 0
with the documented cleaning. Commands run in-process through typer's ``CliRunner``.
"""

from __future__ import annotations

import shutil
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer.testing
import yaml
from typer.main import get_command
from typer.testing import CliRunner

from ecomml.cli.main import app
from ecomml.data.synth import make_shop

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
CASES: list[dict[str, Any]] = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))
GENERATED = {"huge_field.csv"}  # written at test time (10 MB), not committed
CUTOFF = "2023-10-01"
runner = CliRunner()
# On the command line ecomml's data warnings are printed, not raised: the suite's
# filterwarnings=error would turn them into crashes the CLI never has.
pytestmark = pytest.mark.filterwarnings("ignore::ecomml.exceptions.EcommlWarning")


# ----------------------------------------------------------------------------- helpers


class Hang(BaseException):
    """Raised by the alarm: a BaseException, so the CLI's catch-all cannot swallow it."""


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fail an invocation that runs longer than ``seconds`` (no pytest-timeout here)."""

    def _raise(signum: int, frame: Any) -> None:
        raise Hang(f"no result after {seconds} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


_CLI = get_command(app)  # typer rebuilds the click tree on every invoke: half the time


def invoke(args: list[Any], seconds: int = 120) -> Any:
    with time_limit(seconds), pytest.MonkeyPatch.context() as mp:
        mp.setattr(typer.testing, "_get_command", lambda _app: _CLI)
        return runner.invoke(app, [str(a) for a in args])


def check_one_line_error(result: Any, fragments: list[str]) -> str:
    """Exit 1, one ``error:`` line on stderr holding every fragment, no traceback."""
    out = (result.stdout or "") + (result.stderr or "")
    assert result.exception is None or isinstance(result.exception, SystemExit), out
    assert "Traceback" not in out, out
    assert result.exit_code == 1, f"exit {result.exit_code}; output:\n{out}"
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one error line, got:\n{result.stderr}"
    line = lines[0]
    assert line.startswith("error: "), line
    assert "error: unexpected" not in line, f"crash (the CLI's catch-all): {line}"
    for frag in fragments:
        assert frag in line, f"{frag!r} not in {line!r}"
    return line


def check_clean_outcome(result: Any) -> None:
    """A file the readers accept: exit 0, or a one-line domain error (too little data)
    from the task itself, never a crash."""
    out = (result.stdout or "") + (result.stderr or "")
    assert "Traceback" not in out, out
    if result.exit_code == 0:
        return
    assert result.exit_code == 1, out
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines and lines[-1].startswith("error: "), result.stderr
    assert "error: unexpected" not in result.stderr, f"crash (the CLI's catch-all): {lines[-1]}"


# ---------------------------------------------------------------------------- fixtures


@dataclass
class Env:
    """Good inputs and small pre-trained models shared by every test of the module."""

    root: Path
    tx: Path
    tx_small: Path  # the first rows of tx: the transactions beside a bad side table
    events: Path
    catalog: Path
    calendar: Path
    models: dict[str, Path]
    forecasts: Path


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("bad_inputs")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # default output folders and MLflow stores land here
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        mp.setenv("ECOMML_NO_PROGRESS", "1")
        shop = make_shop(n_customers=120, n_skus=20, days=300, seed=1, n_categories=3)
        paths = {}
        for name in ("transactions", "events", "catalog", "calendar"):
            paths[name] = root / f"good_{name}.csv"
            getattr(shop, name).to_csv(paths[name], index=False)
        tx = paths["transactions"]
        tx_small = root / "good_transactions_small.csv"
        shop.transactions.head(60).to_csv(tx_small, index=False)
        models = {k: root / "models" / k for k in ("forecast", "churn", "recommend")}
        trained = {
            "forecast": ["train", "forecast", "-t", tx, "--cutoff", CUTOFF, "--model-dir",
                         models["forecast"], "--no-track", "--validate-folds", "0",
                         "--horizon", "2", "--model", "ma"],
            "churn": ["train", "churn", "-t", tx, "--cutoff", CUTOFF, "--horizon", "60",
                      "--model-dir", models["churn"], "--no-track", "--max-cutoffs", "2",
                      "--out", root / "churn-out"],
            "recommend": ["train", "recommend", "-t", tx, "--cutoff", CUTOFF, "--model-dir",
                          models["recommend"], "--no-track", "--n-estimators", "10",
                          "--eval-days", "0", "--candidates", "10", "--no-store",
                          "--fallback", "never", "--report-dir", root / "rec-report"],
        }  # fmt: skip
        for name, args in trained.items():
            res = invoke(args)
            assert res.exit_code == 0, (name, res.stdout, res.stderr)
        forecasts = root / "forecasts.parquet"
        res = invoke(["predict", "forecast", "--model", models["forecast"], "-t", tx,
                      "--cutoff", CUTOFF, "-o", forecasts])  # fmt: skip
        assert res.exit_code == 0, res.stderr
        yield Env(
            root, tx, tx_small, paths["events"], paths["catalog"], paths["calendar"], models,
            forecasts,
        )  # fmt: skip


def _huge_field(folder: Path) -> Path:
    path = folder / "huge_field.csv"
    if not path.exists():
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("order_id,customer_id,sku,ts,quantity,price,description\n")
            fh.write("1,c1,A,2011-01-01 10:00,2,2.5," + "x" * 10_000_000 + "\n")
            fh.write("2,c2,B,2011-01-02 11:00,1,1.0,short\n")
    return path


def corpus_path(case: dict[str, Any], env: Env) -> Path:
    if case["file"] in GENERATED:
        return _huge_field(env.root)
    return BAD / case["file"]


# ---------------------------------------------------------------------------- commands

Builder = Callable[[Env, dict[str, Path], Path], list[Any]]
SLOT_OPTION = {
    "events": "--events",
    "catalog": "--catalog",
    "calendar": "--calendar",
    "mapping": "--map-file",
    "forecasts": "--forecasts",  # given last: it replaces the good forecast file
    "on_hand": "--on-hand",
    "customers": "--customers",
    "boost": "--boost",
}


def _data_validate(env: Env, s: dict[str, Path], out: Path) -> list[Any]:
    table, path = _data_table(env, s)
    extra = ["--map-file", s["mapping"]] if "mapping" in s else []
    return ["data", "validate", path, "--table", table, *extra]


def _data_convert(env: Env, s: dict[str, Path], out: Path) -> list[Any]:
    table, path = _data_table(env, s)
    extra = ["--map-file", s["mapping"]] if "mapping" in s else []
    return ["data", "convert", path, out / "out.parquet", "--table", table, *extra]


def _data_table(env: Env, s: dict[str, Path]) -> tuple[str, Path]:
    for table in ("events", "catalog", "calendar"):
        if table in s:
            return table, s[table]
    return "transactions", s.get("transactions", env.tx)


def _with(base: list[Any], slots: tuple[str, ...]) -> Callable[[Callable[..., list[Any]]], Builder]:
    """Wrap a builder: add ``-t`` and the side-table options from ``s``."""

    def wrap(make: Callable[..., list[Any]]) -> Builder:
        def build(env: Env, s: dict[str, Path], out: Path) -> list[Any]:
            args = [*base, "-t", s.get("transactions", env.tx), *make(env, out)]
            for slot in slots:
                if slot in s:
                    args += [SLOT_OPTION[slot], s[slot]]
            return args

        build.slots = ("transactions", *slots)  # type: ignore[attr-defined]
        return build

    return wrap


ALL_SLOTS = ("events", "catalog", "calendar", "mapping")
SIDE_FILES = ("forecasts", "on_hand", "customers", "boost")  # not canonical tables
INV_SLOTS = ("catalog", "mapping")


@_with(["features", "build"], ALL_SLOTS)
def _features_build(env: Env, out: Path) -> list[Any]:
    return ["--cutoff", CUTOFF, "--out", out / "features", "--views", "customer_rfm,sku_weekly"]


@_with(["train", "forecast"], ALL_SLOTS)
def _train_forecast(env: Env, out: Path) -> list[Any]:
    return ["--cutoff", CUTOFF, "--model-dir", out / "m", "--no-track", "--validate-folds", "0",
            "--horizon", "2", "--model", "ma"]  # fmt: skip


@_with(["train", "churn"], ALL_SLOTS)
def _train_churn(env: Env, out: Path) -> list[Any]:
    return ["--cutoff", CUTOFF, "--horizon", "60", "--model-dir", out / "m", "--no-track",
            "--max-cutoffs", "2", "--out", out / "o"]  # fmt: skip


@_with(["train", "recommend"], ALL_SLOTS)
def _train_recommend(env: Env, out: Path) -> list[Any]:
    return ["--cutoff", CUTOFF, "--model-dir", out / "m", "--no-track", "--n-estimators", "10",
            "--eval-days", "0", "--candidates", "10", "--no-store", "--fallback", "never",
            "--report-dir", out / "r"]  # fmt: skip


@_with(["predict", "forecast"], ALL_SLOTS)
def _predict_forecast(env: Env, out: Path) -> list[Any]:
    return ["--model", env.models["forecast"], "--cutoff", CUTOFF, "-o", out / "f.parquet"]


@_with(["predict", "churn"], ALL_SLOTS)
def _predict_churn(env: Env, out: Path) -> list[Any]:
    return ["--model", env.models["churn"], "--cutoff", CUTOFF, "--output", out / "c.csv"]


@_with(["predict", "recommend"], (*ALL_SLOTS, "customers", "boost"))
def _predict_recommend(env: Env, out: Path) -> list[Any]:
    return ["--model", env.models["recommend"], "--cutoff", CUTOFF, "-o", out / "r.csv",
            "--k", "5"]  # fmt: skip


@_with(["backtest", "forecast"], ALL_SLOTS)
def _backtest_forecast(env: Env, out: Path) -> list[Any]:
    return ["--cutoff", CUTOFF, "--folds", "1", "--horizon", "2", "--models", "naive",
            "--no-track", "--plots-dir", out / "p"]  # fmt: skip


@_with(["backtest", "churn"], ALL_SLOTS)
def _backtest_churn(env: Env, out: Path) -> list[Any]:
    return ["--cutoff", CUTOFF, "--horizon", "60", "--folds", "1"]


@_with(["inventory", "classify"], (*INV_SLOTS, "on_hand"))
def _inventory_classify(env: Env, out: Path) -> list[Any]:
    return ["--cutoff", CUTOFF, "-o", out / "classes.csv", "--no-track", "--plots-dir", out / "p"]


@_with(["inventory", "plan"], (*INV_SLOTS, "forecasts", "on_hand"))
def _inventory_plan(env: Env, out: Path) -> list[Any]:
    return ["--forecasts", env.forecasts, "--cutoff", CUTOFF, "--lead-time", "7", "-o",
            out / "plan.csv", "--no-track", "--on-mismatch", "drop", "--plots-dir", out / "p"]  # fmt: skip


@_with(["inventory", "simulate"], INV_SLOTS)
def _inventory_simulate(env: Env, out: Path) -> list[Any]:
    return ["--start", "2023-09-04", "--end", "2023-10-02", "--policy", "classic",
            "--lead-time", "7", "-o", out / "sim", "--no-track", "--curve", "none"]  # fmt: skip


def _experiment_run(env: Env, s: dict[str, Path], out: Path) -> list[Any]:
    data: dict[str, Any] = {"path": str(s.get("transactions", env.tx))}
    for slot in ("events", "catalog", "calendar"):
        if slot in s:
            data[slot] = str(s[slot])
    config = {
        "name": "bad-input",
        "task": "forecast",
        "data": data,
        "cutoff": CUTOFF,
        "folds": {"n": 1, "step": 2},
        "task_params": {"freq": "W", "horizon": 2},
        "model": {"name": "naive"},
        "metrics": ["wape"],
    }
    cfg = out / "experiment.yaml"
    cfg.write_text(yaml.safe_dump(config))
    return ["experiment", "run", cfg, "--no-track", "--out", out / "exp"]


_data_validate.slots = ("transactions", "events", "catalog", "calendar", "mapping")  # type: ignore[attr-defined]
_data_convert.slots = _data_validate.slots  # type: ignore[attr-defined]
_experiment_run.slots = ("transactions", "events", "catalog", "calendar")  # type: ignore[attr-defined]

COMMANDS: dict[str, Builder] = {
    "data validate": _data_validate,
    "data convert": _data_convert,
    "features build": _features_build,
    "train forecast": _train_forecast,
    "train churn": _train_churn,
    "train recommend": _train_recommend,
    "predict forecast": _predict_forecast,
    "predict churn": _predict_churn,
    "predict recommend": _predict_recommend,
    "backtest forecast": _backtest_forecast,
    "backtest churn": _backtest_churn,
    "inventory classify": _inventory_classify,
    "inventory plan": _inventory_plan,
    "inventory simulate": _inventory_simulate,
    "experiment run": _experiment_run,
}


#: Commands that run a whole (tiny) job on an accepted file in well under a second. An
#: accepted file reaches every task command through the same loader, so the slower ones
#: (plots, several folds) run them only with ``-m slow``; every error case runs everywhere.
FAST_ON_CLEAN = {
    "data validate", "data convert", "train churn", "train recommend",
    "backtest churn", "inventory plan",
}  # fmt: skip


def expectation(case: dict[str, Any], command: str) -> dict[str, Any]:
    """The case's expectation, with its per-command override if the manifest has one."""
    return {**case, **(case.get("overrides") or {}).get(command, {})}


def _pairs() -> list[Any]:
    pairs = []
    for case in CASES:
        for name, build in COMMANDS.items():
            for slot in [case["table"], *case.get("also", [])]:
                if slot not in build.slots:  # type: ignore[attr-defined]
                    continue
                if case.get("data_only") and not name.startswith("data "):
                    continue
                slow = expectation(case, name)["exit"] == 0 and name not in FAST_ON_CLEAN
                marks = [pytest.mark.slow] if slow else []
                where = "" if slot == case["table"] else f"{slot}="
                pid = f"{name.replace(' ', '-')}:{where}{case['file']}"
                pairs.append(pytest.param(name, case, slot, id=pid, marks=marks))
    return pairs


PAIRS = _pairs()


# ------------------------------------------------------------------------------- tests


def test_manifest_lists_every_corpus_file() -> None:
    files = {p.name for p in BAD.iterdir() if p.suffix not in {".py", ".yaml"} or "map" in p.name}
    listed = [c["file"] for c in CASES]
    assert len(listed) == len(set(listed)), "a file is listed twice"
    assert files == set(listed) - GENERATED
    assert len(listed) >= 40
    for case in CASES:
        assert case["exit"] in (0, 1)
        tables = ("transactions", "events", "catalog", "calendar", "mapping", *SIDE_FILES)
        assert case["table"] in tables
        assert set(case.get("also", [])) <= set(SIDE_FILES)
        assert case.get("message") if case["exit"] == 1 else case.get("cleaned"), case


@pytest.mark.parametrize(("command", "case", "slot"), PAIRS)
def test_command_on_bad_file(
    command: str, case: dict[str, Any], slot: str, env: Env, tmp_path: Path
) -> None:
    slots = {slot: corpus_path(case, env)}
    if slot != "transactions":
        slots.setdefault("transactions", env.tx_small)
    result = invoke(COMMANDS[command](env, slots, tmp_path))
    case = expectation(case, command)
    if case["exit"] == 1:
        line = check_one_line_error(result, case["message"])
        assert "(previous outputs are left intact" not in line
        for private in case.get("never", []):
            assert private not in line
        if command == "data convert":
            assert not (tmp_path / "out.parquet").exists()
    elif command.startswith("data "):
        assert result.exit_code == 0, result.stdout + result.stderr
    else:
        check_clean_outcome(result)


CLEANED = [pytest.param(c, id=c["file"]) for c in CASES if c["exit"] == 0]


@pytest.mark.parametrize("case", CLEANED)
def test_documented_cleaning(case: dict[str, Any], env: Env, tmp_path: Path) -> None:
    """``data convert`` writes the cleaned table: the row count and verbatim ids of the manifest."""
    out = tmp_path / "out.parquet"
    args = _data_convert(env, {case["table"]: corpus_path(case, env)}, tmp_path)
    result = invoke(args)
    assert result.exit_code == 0, result.stdout + result.stderr
    frame = pd.read_parquet(out)
    assert len(frame) == case["rows"], frame
    for col, value in (case.get("keeps") or {}).items():
        assert value in frame[col].tolist(), (col, frame[col].tolist())


def test_leading_zero_ids_survive_a_whole_run(env: Env, tmp_path: Path) -> None:
    """Customer ids like 00123 stay strings from the file to the scored list."""
    shop = pd.read_csv(env.tx, dtype=str)
    ids = {c: f"{i:05d}" for i, c in enumerate(sorted(shop["customer_id"].unique()), start=100)}
    shop["customer_id"] = shop["customer_id"].map(ids)
    tx = tmp_path / "zeros.csv"
    shop.to_csv(tx, index=False)
    out = tmp_path / "scores.csv"
    res = invoke(["predict", "churn", "--model", env.models["churn"], "-t", tx, "--cutoff",
                  CUTOFF, "--output", out])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    scored = pd.read_csv(out, dtype=str)
    assert "00123" in set(scored["customer_id"])
    assert scored["customer_id"].str.len().eq(5).all()


PRIVATE = "CUST-SECRET-9931"


@pytest.mark.parametrize(
    ("row", "column"),
    [
        (f"1,{PRIVATE},A,not a date,2,2.5", "ts"),
        (f"1,{PRIVATE},A,2011-01-01,two,2.5", "quantity"),
        (f"1,{PRIVATE},A,2011-01-01,2,", "price"),
        (f"1,{PRIVATE},,2011-01-01,2,2.5", "sku"),
        (f"1,{PRIVATE},A,2011-01-01,2,2.5\n1,{PRIVATE}X,B,2011-01-01,1,1.0", "customer_id"),
    ],
)
def test_messages_never_show_customer_ids(row: str, column: str, tmp_path: Path) -> None:
    src = tmp_path / "tx.csv"
    src.write_text("order_id,customer_id,sku,ts,quantity,price\n" + row + "\n")
    line = check_one_line_error(invoke(["data", "validate", src]), [column, "line"])
    assert PRIVATE not in line


def test_every_command_is_tried(env: Env) -> None:
    """The matrix covers every reading command and at least 40 files."""
    tried = {p.values[0] for p in PAIRS}
    assert tried == set(COMMANDS)
    assert len({p.values[1]["file"] for p in PAIRS}) >= 40


def test_corpus_is_in_sync_with_its_generator(tmp_path: Path) -> None:
    """make_corpus.py still writes the committed text files byte for byte."""
    copy = tmp_path / "bad"
    shutil.copytree(BAD, copy, ignore=shutil.ignore_patterns("*.parquet", "*.xlsx", "*.gz"))
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", copy / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    module.text_files()
    for p in [q for q in copy.glob("*.csv") if q.is_file()]:
        assert p.read_bytes() == (BAD / p.name).read_bytes(), p.name


def test_side_inputs_keep_ids_as_text(tmp_path: Path) -> None:
    """An on-hand file with SKUs 0007 matches sales of 0007 (it used to be read as 7 and
    silently planned as out of stock); amounts become numbers."""
    from ecomml.data import read_frame

    src = tmp_path / "on_hand.csv"
    src.write_text("sku,on_hand,on_order\n0007,5,\n00123,1.5,2\n")
    frame = read_frame(src, what="on-hand", required=["sku", "on_hand"], text=["sku"])
    assert frame["sku"].tolist() == ["0007", "00123"]
    assert frame["on_hand"].tolist() == [5.0, 1.5]
    assert frame["on_order"].isna().tolist() == [True, False]
    ids = read_frame(src, what="--customers", text=None)
    assert ids["on_hand"].tolist() == ["5", "1.5"]


BAD_OPTIONS = {
    "cutoff-not-a-date": (lambda a: [x if x != CUTOFF else "notadate" for x in a], "'notadate' is not a date"),
    "unknown-encoding": (lambda a: [*a, "--encoding", "bogus-enc"], "unknown encoding 'bogus-enc'"),
    "map-without-equals": (lambda a: [*a, "--map", "nonsense"], "--map entry 'nonsense' must look like"),
    "map-file-missing": (lambda a: [*a, "--map-file", "/nonexistent/map.yaml"], "mapping file not found"),
    "unknown-format": (lambda a: [*a, "--format", "bogus"], "unknown format 'bogus'"),
}  # fmt: skip
TASK_COMMANDS = [c for c in COMMANDS if not c.startswith("data ") and c != "experiment run"]


@pytest.mark.parametrize("command", TASK_COMMANDS)
@pytest.mark.parametrize("variant", list(BAD_OPTIONS))
def test_bad_option_values(command: str, variant: str, env: Env, tmp_path: Path) -> None:
    """Wrong option values next to good data: one line, exit 1, no crash."""
    change, expected = BAD_OPTIONS[variant]
    if variant == "cutoff-not-a-date" and command == "inventory simulate":
        pytest.skip("inventory simulate takes --start/--end, not --cutoff")
    args = change(COMMANDS[command](env, {"transactions": env.tx_small}, tmp_path))
    check_one_line_error(invoke(args), [expected])


def test_reliability_md_lists_every_case() -> None:
    """RELIABILITY.md's "Bad input" table has a row for every file of the manifest."""
    doc = (BAD.parents[2] / "RELIABILITY.md").read_text(encoding="utf-8")
    section = doc.split("## Bad input", 1)[1].split("\n## ", 1)[0]
    missing = [c["file"] for c in CASES if f"`{c['file']}" not in section]
    assert not missing, f"add them with tests/data/bad/render_table.py: {missing}"
