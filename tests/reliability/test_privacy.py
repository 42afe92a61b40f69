"""Privacy of customer data (issue 9): pseudonyms, scrubbing, and a scan of a full run.

The end-to-end test runs the main job and the churn and recommendation commands
(tracked, registered) on a small synthetic shop where some customers are known by their
e-mail address, then scans the whole MLflow store (SQLite database, run artifacts, model
copies), the model folders, the pseudonymised outputs and the printed logs for any raw
customer id, any e-mail-like string and the key itself.
"""

from __future__ import annotations

import json
import pickle
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ecomml.exceptions import ConfigError, TrackingError
from ecomml.privacy import (
    EMAIL_RE,
    MIN_KEY_LENGTH,
    check_model_ids,
    find_raw_ids,
    id_metadata,
    is_pseudonym,
    key_fingerprint,
    key_from_env,
    pseudonymize,
    pseudonymize_files,
    pseudonymize_frame,
    safe_input_example,
    scrub,
    scrub_mapping,
)

KEY = "k3y-for-tests-0123456789abcdef"
OTHER_KEY = "another-key-0123456789abcdef"
PSEUDONYM = re.compile(r"pid_[0-9a-f]{16}")


# ----------------------------------------------------------------------------- pseudonyms


def test_pseudonyms_are_stable_per_key_and_differ_across_keys() -> None:
    ids = pd.Series(["C001", "C002", "C001", "jane@example.com"], index=[10, 11, 12, 13])
    a = pseudonymize(ids, KEY)
    assert list(a.index) == [10, 11, 12, 13]
    assert a.str.fullmatch(PSEUDONYM.pattern).all()
    assert a[10] == a[12] and a[10] != a[11]
    assert a.tolist() == pseudonymize(list(ids), KEY).tolist()
    b = pseudonymize(ids, OTHER_KEY)
    assert not set(a) & set(b)
    assert is_pseudonym(a).all() and not is_pseudonym(ids).any()


def test_ids_compare_as_strings_and_missing_stay_missing() -> None:
    a = pseudonymize(pd.Series([17850, "17850", None, np.nan], dtype="object"), KEY)
    assert a[0] == a[1]
    assert a[2:].isna().all()


def test_no_collisions_on_100k_ids() -> None:
    ids = [f"C{i:08d}" for i in range(100_000)]
    p = pseudonymize(ids, KEY)
    assert p.is_unique and len(p) == 100_000


def test_legacy_hash_ids_is_the_pseudonym_without_prefix() -> None:
    from ecomml.churn import hash_ids

    ids = ["C001", "C002"]
    assert ["pid_" + h for h in hash_ids(ids, KEY)] == pseudonymize(ids, KEY).tolist()


def test_missing_and_short_keys_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECOMML_ID_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"ECOMML_ID_KEY .*openssl rand -hex 32"):
        key_from_env()
    with pytest.raises(ConfigError, match="ECOMML_ID_KEY"):
        pseudonymize(["C1"])
    monkeypatch.setenv("ECOMML_ID_KEY", "x" * (MIN_KEY_LENGTH - 1))
    with pytest.raises(ConfigError, match=f"at least {MIN_KEY_LENGTH}"):
        key_from_env()
    with pytest.raises(ConfigError, match="empty"):
        pseudonymize(["C1"], "")
    monkeypatch.setenv("MY_KEY", KEY)
    assert key_from_env("MY_KEY") == KEY
    monkeypatch.setenv("ECOMML_ID_KEY", KEY)
    assert pseudonymize(["C1"]).tolist() == pseudonymize(["C1"], KEY).tolist()


def test_pseudonymize_frame_keeps_existing_pseudonyms() -> None:
    first = pseudonymize(["C1"], KEY)[0]
    frame = pd.DataFrame({"customer_id": pd.Series(["C1", first], dtype="string"), "x": [1, 2]})
    out = pseudonymize_frame(frame, KEY, keep_pseudonyms=True)
    assert out["customer_id"].tolist() == [first, first]
    assert out["customer_id"].dtype == frame["customer_id"].dtype
    assert frame["customer_id"].tolist()[0] == "C1"  # the input is not modified


def test_pseudonymize_files_rewrites_only_customer_lists(tmp_path: Path) -> None:
    csv, pq, other = tmp_path / "a.csv", tmp_path / "b.parquet", tmp_path / "c.csv"
    csv.write_text("customer_id,score\n00123,0.5\n,0.25\n")
    pd.DataFrame({"customer_id": ["C1"], "n": [3]}).to_parquet(pq, index=False)
    other.write_text("sku,units\n007,1\n")
    before = other.read_bytes()
    assert pseudonymize_files([csv, pq, other, tmp_path / "absent.csv"], KEY) == [csv, pq]
    a = pd.read_csv(csv, dtype={"customer_id": str})
    assert a["customer_id"][0] == pseudonymize(["00123"], KEY)[0]  # leading zeros kept
    assert a["customer_id"].isna()[1] and a["score"].tolist() == [0.5, 0.25]
    assert pd.read_parquet(pq)["customer_id"].tolist() == pseudonymize(["C1"], KEY).tolist()
    assert other.read_bytes() == before
    pseudonymize_files([csv], KEY)  # a second pass keeps the pseudonyms
    assert pd.read_csv(csv)["customer_id"][0] == a["customer_id"][0]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_model_id_metadata_checks_the_key_without_storing_it() -> None:
    meta = id_metadata(KEY)
    assert KEY not in json.dumps(meta)
    assert meta["ids"]["key_check"] == key_fingerprint(KEY) != key_fingerprint(OTHER_KEY)
    assert check_model_ids(meta, KEY) is True
    assert check_model_ids(id_metadata(None), None) is False
    assert check_model_ids({}, KEY) is False  # a model trained on raw ids: hash the output
    with pytest.raises(ConfigError, match="pass --hash-ids"):
        check_model_ids(meta, None)
    with pytest.raises(ConfigError, match="another key"):
        check_model_ids(meta, OTHER_KEY)


def test_input_examples_never_carry_real_customer_ids() -> None:
    pseudo = pseudonymize(["C9"], KEY)[0]
    example = pd.DataFrame(
        {"customer_id": ["C0001", pseudo], "note": ["ask jane@example.com", None], "n": [1, 2]}
    )
    safe = safe_input_example(example)
    assert safe["customer_id"].tolist() == ["example-customer-1", pseudo]
    assert safe["note"].tolist() == ["ask <email>", None]
    assert safe["n"].tolist() == [1, 2] and example["customer_id"][0] == "C0001"
    assert safe_input_example(None) is None


# ----------------------------------------------------------------------------- scrubbing

_words = st.text(alphabet="abcdefghij XYZ,;:=/()0123456789-_", max_size=30)
_emails = st.from_regex(
    r"[a-z][a-z0-9._+\-]{0,12}@[a-z][a-z0-9\-]{0,8}\.[a-z]{2,4}", fullmatch=True
)
_ids = st.from_regex(r"C[0-9]{6}", fullmatch=True)


@settings(max_examples=150, deadline=None)
@given(
    parts=st.lists(st.tuples(_words, st.one_of(_emails, _ids, st.just(""))), max_size=6),
    ids=st.lists(_ids, max_size=5),
)
def test_scrub_removes_every_email_and_known_id(
    parts: list[tuple[str, str]], ids: list[str]
) -> None:
    known = set(ids) | {s for _, s in parts if s.startswith("C")}
    text = " ".join(f"{w} {s}" for w, s in parts)
    out = scrub(text, known)
    assert not EMAIL_RE.search(out)
    tokens = set(re.findall(r"[A-Za-z0-9_]+", out))
    assert not tokens & known
    assert scrub(out, known) == out  # idempotent


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_characters="@"), max_size=80))
def test_scrub_leaves_text_without_emails_or_ids_alone(text: str) -> None:
    assert scrub(text) == text
    if "C0000001" not in text:
        assert scrub(text, ["C0000001"]) == text


def test_scrub_matches_whole_tokens_only() -> None:
    ids = ["C0001", "12346"]
    assert scrub("C00012 and C0001, file C0001.csv", ids) == (
        "C00012 and <customer-id>, file <customer-id>.csv"
    )
    assert scrub("learning_rate=0.12346 customer 12346.", ids) == (
        "learning_rate=0.12346 customer <customer-id>."
    )
    assert scrub("models:/rec@champion ndcg@20") == "models:/rec@champion ndcg@20"


def test_scrub_mapping_is_recursive() -> None:
    d = {"path": "/data/jane.doe@example.com/orders.csv", "n": 3, "nested": {"who": ["C1", 2.5]}}
    out = scrub_mapping(d, ["C1"])
    assert out == {
        "path": "/data/<email>/orders.csv",
        "n": 3,
        "nested": {"who": ["<customer-id>", 2.5]},
    }


# ----------------------------------------------------------------------------- scanner


def test_find_raw_ids_reads_every_format(tmp_path: Path) -> None:
    ids = ["C0001", "C0002", "C0003", "C0004", "C0005", "C0006", "C0007"]
    pd.DataFrame({"x": [1.0]}, index=pd.Index(["C0001"], name="who")).to_parquet(tmp_path / "a.pq")
    pd.DataFrame({"customer_id": ["C0002"]}).to_csv(tmp_path / "b.csv", index=False)
    (tmp_path / "c.json").write_text(json.dumps({"top": ["C0003"]}))
    (tmp_path / "d.yaml").write_text("who: C0004\n")
    with sqlite3.connect(tmp_path / "e.db") as con:
        con.execute("CREATE TABLE params (key TEXT, value TEXT)")
        con.execute("INSERT INTO params VALUES ('user', 'C0005')")
    (tmp_path / "f.pkl").write_bytes(pickle.dumps({"ids": ["C0006"]}))
    (tmp_path / "g.txt").write_text("C00012 C0001x 0.12 mail jane@example.org\n")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1))
    fig.add_subplot().plot([0, 1])
    fig.savefig(tmp_path / "h.png", metadata={"Title": "top customer C0007"})
    fig.savefig(tmp_path / "i.png")  # pixels only: nothing to find
    found = find_raw_ids(tmp_path, ids + ["12"], limit=None)
    by_file = found.groupby(found["path"].map(lambda p: Path(p).name))["value"].agg(set)
    assert by_file.to_dict() == {
        "a.pq": {"C0001"},
        "b.csv": {"C0002"},
        "c.json": {"C0003"},
        "d.yaml": {"C0004"},
        "e.db": {"C0005"},
        "f.pkl": {"C0006"},
        "g.txt": {"jane@example.org"},
        "h.png": {"C0007"},
    }
    assert find_raw_ids(tmp_path / "g.txt", ids, emails=False).empty


# ----------------------------------------------------------------------------- MLflow


@pytest.mark.mlflow
def test_tracking_scrubs_params_and_refuses_raw_customer_frames(
    mlflow_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecomml.tracking import log_frame, log_params, tracked_run

    monkeypatch.setenv("LOGNAME", "jane.doe@corp-example.com")  # MLflow's mlflow.user tag
    with tracked_run("privacy", tags={"owner": "ops@example.com"}):
        log_params({"source": "/exports/jane.doe@example.com/orders.csv", "k": 3})
        with pytest.raises(TrackingError, match="raw customer ids"):
            log_frame(pd.DataFrame({"customer_id": ["C0001"], "p": [0.5]}), "scores.csv")
        log_frame(pd.DataFrame({"customer_id": ["C0001"], "p": [0.5]}), "s.csv", id_key=KEY)
    db = Path(mlflow_uri.removeprefix("sqlite:///"))
    found = find_raw_ids([db, db.parent / "mlruns"], ["C0001"], limit=None)
    assert found.empty, found
    assert find_raw_ids(db, []).empty  # no e-mail-like string, the user name included
    text = db.read_bytes().decode("latin-1")
    assert "<email>" in text and pseudonymize(["C0001"], KEY)[0] in "".join(
        p.read_text() for p in (db.parent / "mlruns").rglob("s.csv")
    )


# ----------------------------------------------------------------------------- full run


def _email_shop(root: Path) -> dict[str, Any]:
    """A small synthetic shop; every 7th customer is known by an e-mail address."""
    from ecomml.data.synth import make_shop

    shop = make_shop(n_customers=220, n_skus=50, days=380, seed=3)
    ids = pd.Index(shop.transactions["customer_id"].dropna().unique())
    rename = {c: f"cust.{i}@shop-example.com" for i, c in enumerate(ids) if i % 7 == 0}
    files = {"tx": root / "orders.parquet", "ev": root / "events.parquet"}
    for frame, path in ((shop.transactions, files["tx"]), (shop.events, files["ev"])):
        frame = frame.copy()
        frame["customer_id"] = frame["customer_id"].replace(rename)
        frame.to_parquet(path, index=False)
    files["cat"] = root / "catalog.parquet"
    shop.catalog.to_parquet(files["cat"], index=False)
    raw = pd.read_parquet(files["tx"])["customer_id"].dropna().astype(str).unique()
    return {"files": files, "ids": set(raw), "emails": set(rename.values())}


@pytest.fixture(scope="module")
def full_run(
    tmp_path_factory: pytest.TempPathFactory, new_mlflow_store: Callable[[Path], str]
) -> dict[str, Any]:
    import mlflow

    from ecomml.cli.main import app

    root = tmp_path_factory.mktemp("privacy_run")
    shop = _email_shop(root)
    f = shop["files"]
    data = ["--transactions", str(f["tx"]), "--events", str(f["ev"]), "--catalog", str(f["cat"])]
    runner = CliRunner()
    logs: list[str] = []
    out = root / "shared"  # what leaves the data team
    models = root / "models"
    previous = mlflow.get_tracking_uri()
    with pytest.MonkeyPatch.context() as mp:
        uri = new_mlflow_store(root)
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.setenv("ECOMML_ID_KEY", KEY)
        mp.chdir(root)  # MLflow keeps a SQLite store's artifacts in ./mlruns

        def run(*args: str, code: int = 0) -> str:
            res = runner.invoke(app, list(args))
            logs.append(res.output)
            assert res.exit_code == code, res.output
            return res.output

        run("quickstart", *data, "--out", str(root / "main_job"), "--hash-ids")
        run("train", "churn", *data, "--cutoff", "2024-01-01", "--horizon", "60",
            "--model-dir", str(models / "churn"), "--register", "churn-model",
            "--out", str(root / "internal"), "--max-cutoffs", "2")  # fmt: skip
        run("predict", "churn", *data, "--model", "models:/churn-model/1", "--cutoff",
            "2024-01-01", "--output", str(out / "churn.csv"), "--hash-ids")  # fmt: skip
        run("train", "recommend", *data, "--cutoff", "2024-01-01", "--model-dir",
            str(models / "recommend"), "--register", "rec-model", "--report-dir",
            str(root / "internal" / "rec"), "--n-estimators", "20", "--candidates", "15",
            "--eval-days", "45", "--hash-ids")  # fmt: skip
        run("predict", "recommend", *data, "--model", "models:/rec-model/1", "--cutoff",
            "2024-01-01", "--output", str(out / "recs.parquet"), "--hash-ids")  # fmt: skip
        refused = [
            run(
                "predict",
                "recommend",
                *data,
                "--model",
                "models:/rec-model/1",
                "--cutoff",
                "2024-01-01",
                "--output",
                str(root / "x.csv"),
                code=1,
            ),  # fmt: skip
        ]
        mp.setenv("ECOMML_ID_KEY", OTHER_KEY)
        refused.append(
            run(
                "predict",
                "recommend",
                *data,
                "--model",
                "models:/rec-model/1",
                "--cutoff",
                "2024-01-01",
                "--output",
                str(root / "x.csv"),
                "--hash-ids",
                code=1,
            )  # fmt: skip
        )
    mlflow.set_tracking_uri(previous)
    return {**shop, "root": root, "out": out, "models": models, "logs": logs,
            "refused": refused}  # fmt: skip


def _leaving(run: dict[str, Any]) -> list[Path]:
    root = run["root"]
    lists = [root / "main_job" / "churn", root / "main_job" / "recommend"]
    return [root / "mlflow.db", root / "mlruns", run["models"], run["out"], *lists]


@pytest.mark.mlflow
@pytest.mark.slow
@pytest.mark.twin  # the full run (~30 s); its parts are default tests above
def test_full_run_leaks_no_raw_ids_or_emails(full_run: dict[str, Any]) -> None:
    paths = _leaving(full_run)
    assert (full_run["root"] / "mlruns").is_dir() and len(list(full_run["out"].iterdir())) == 2
    registered = list((full_run["root"] / "mlruns").rglob("ecomml_model.json"))
    assert len(registered) >= 2  # both model folders were copied into the MLflow store
    found = find_raw_ids(paths, full_run["ids"], limit=50)
    assert found.empty, found.to_string()
    logs = "\n".join(full_run["logs"])
    assert not set(re.findall(r"[\w.@-]+", logs)) & full_run["ids"]
    assert not EMAIL_RE.search(logs)
    # the scanner does see the raw ids where they legitimately are (internal outputs)
    for internal in ("main_job/data", "main_job/features"):
        assert not find_raw_ids(full_run["root"] / internal, full_run["ids"], limit=5).empty


@pytest.mark.mlflow
@pytest.mark.slow
@pytest.mark.twin  # the full run (~30 s); its parts are default tests above
def test_the_key_is_never_written(full_run: dict[str, Any]) -> None:
    needle = KEY.encode()
    for p in [full_run["root"] / "mlflow.db", *full_run["root"].rglob("*")]:
        if p.is_file():
            assert needle not in p.read_bytes(), p
    assert KEY not in "\n".join(full_run["logs"])


@pytest.mark.mlflow
@pytest.mark.slow
@pytest.mark.twin  # the full run (~30 s); its parts are default tests above
def test_outputs_are_pseudonyms_that_join_back_with_the_key(full_run: dict[str, Any]) -> None:
    out = full_run["out"]
    churn = pd.read_csv(out / "churn.csv")
    recs = pd.read_parquet(out / "recs.parquet")
    main_job = full_run["root"] / "main_job"
    main_lists = [
        pd.read_parquet(main_job / "churn" / "scored_customers.parquet"),
        pd.read_parquet(main_job / "recommend" / "recommendations.parquet"),
    ]
    for frame in (churn, recs, *main_lists):
        assert frame["customer_id"].str.fullmatch(PSEUDONYM.pattern).all()
    # one key, one pseudonym per customer: the lists join across tasks and runs
    assert len(set(churn["customer_id"]) & set(recs["customer_id"])) > 100
    assert len(set(churn["customer_id"]) & set(main_lists[0]["customer_id"])) > 100
    # whoever holds the key joins back to the real ids by pseudonymising them again
    raw = pd.Series(sorted(full_run["ids"]))
    lookup = dict(zip(pseudonymize(raw, KEY), raw, strict=True))
    assert churn["customer_id"].map(lookup).notna().all()
    assert set(churn["customer_id"].map(lookup)) & full_run["emails"]


@pytest.mark.mlflow
@pytest.mark.slow
@pytest.mark.twin  # the full run (~30 s); its parts are default tests above
def test_pseudonymised_models_refuse_raw_or_other_key_scoring(full_run: dict[str, Any]) -> None:
    no_key, other_key = full_run["refused"]
    assert "pass --hash-ids" in no_key and "Traceback" not in no_key
    assert "another key" in other_key and len(other_key.strip().splitlines()) == 1
