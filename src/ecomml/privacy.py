"""Privacy of customer data: keyed pseudonyms, scrubbing of logs, a scanner for raw ids.

Customer ids in outputs that leave the data team are replaced with keyed pseudonyms
(HMAC-SHA256 of the id under a secret key, ``pid_`` + 16 hex characters). The key is
read from an environment variable (``ECOMML_ID_KEY`` by default) and is never written
next to the data, to a model folder or to MLflow: only whoever holds the key can join a
pseudonym back to a real id (by pseudonymising the real ids again and matching). The
same key always gives the same pseudonym, so lists from different runs and tasks join
on ``customer_id``; another key gives unrelated pseudonyms.

:func:`scrub` and :func:`scrub_mapping` redact e-mail-like strings (and, when given,
known customer ids) from text and parameter dicts before they are logged.
:func:`find_raw_ids` scans files (Parquet, CSV, JSON, YAML, text, SQLite, anything
else as bytes) for raw ids and e-mail addresses; the tests run it over a whole MLflow
store.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecomml.exceptions import ConfigError

__all__ = [
    "ID_KEY_ENV",
    "PSEUDONYM_PREFIX",
    "MIN_KEY_LENGTH",
    "EMAIL_RE",
    "key_from_env",
    "check_key",
    "key_fingerprint",
    "pseudonymize",
    "keyed_digests",
    "is_pseudonym",
    "pseudonymize_frame",
    "pseudonymize_shop",
    "pseudonymize_files",
    "id_metadata",
    "check_model_ids",
    "safe_input_example",
    "scrub",
    "scrub_mapping",
    "find_raw_ids",
]

#: Environment variable the CLI reads the pseudonymisation key from by default.
ID_KEY_ENV = "ECOMML_ID_KEY"
#: Every pseudonym starts with this, so a pseudonymised id is recognisable at a glance.
PSEUDONYM_PREFIX = "pid_"
#: Shortest accepted key (characters); ``openssl rand -hex 32`` gives 64.
MIN_KEY_LENGTH = 16
_HEX_CHARS = 16  # 64 bits: collisions need ~4 billion ids to become likely

#: E-mail-like strings: ``local@domain.tld``.
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_PSEUDONYM_RE = re.compile(rf"{PSEUDONYM_PREFIX}[0-9a-f]{{{_HEX_CHARS}}}")
# Candidate tokens for id matching: runs of characters ids are made of. Whole tokens
# only, so "C0001" does not match inside "C00012" or "pid_...C0001...".
_TOKEN_RE = re.compile(r"[A-Za-z0-9_\-.@+]+")
_NUMBER_RE = re.compile(r"[-+]?\d*\.\d+(?:[eE][-+]?\d+)?\.?")
_KEY_CHECK_MESSAGE = b"ecomml key check v1"
_EMAIL_MASK = "<email>"
_ID_MASK = "<customer-id>"


def key_from_env(name: str = ID_KEY_ENV) -> str:
    """Read the pseudonymisation key from the environment variable ``name``.

    Raises
    ------
    ConfigError
        When the variable is unset, empty or shorter than :data:`MIN_KEY_LENGTH`.
    """
    key = os.environ.get(name, "")
    if not key:
        raise ConfigError(
            f"pseudonymising customer ids needs a secret key in the environment variable "
            f"{name} (e.g. export {name}=$(openssl rand -hex 32)); it is never stored with "
            "the data. Keep the same key to get the same pseudonyms."
        )
    return check_key(key, source=f"${name}")


def check_key(key: str | bytes | None, *, source: str = "the key") -> str:
    """Validate a pseudonymisation key (at least :data:`MIN_KEY_LENGTH` characters)."""
    if isinstance(key, bytes):
        key = key.decode("utf-8", errors="surrogateescape")
    if not isinstance(key, str) or not key:
        raise ConfigError(
            f"{source} is empty: pseudonymising customer ids needs a secret key, e.g. "
            f"export {ID_KEY_ENV}=$(openssl rand -hex 32)"
        )
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"{source} has {len(key)} characters; a pseudonymisation key needs at least "
            f"{MIN_KEY_LENGTH} (a short key can be guessed, revealing every id). Generate "
            "one with: openssl rand -hex 32"
        )
    return key


def _digest(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:_HEX_CHARS]


def key_fingerprint(key: str) -> str:
    """A short keyed check value: equal for equal keys, revealing nothing about the key.

    Stored in model metadata so a model trained on pseudonymised ids can refuse to
    score with a different key.
    """
    k = check_key(key).encode("utf-8")
    return hmac.new(k, _KEY_CHECK_MESSAGE, hashlib.sha256).hexdigest()[:12]


def pseudonymize(ids: Iterable[Any] | pd.Series, key: str | None = None) -> pd.Series:
    """Replace customer ids with keyed pseudonyms (HMAC-SHA256, ``pid_`` + 16 hex).

    Parameters
    ----------
    ids
        Customer ids; compared as strings (``123`` and ``"123"`` get the same pseudonym).
        Missing values stay missing.
    key
        The secret key; ``None`` reads it from ``$ECOMML_ID_KEY``.

    Returns
    -------
    pandas.Series
        Pseudonyms (string dtype), aligned with ``ids`` (same index for a Series).

    Raises
    ------
    ConfigError
        When the key is missing or shorter than :data:`MIN_KEY_LENGTH` characters.

    Examples
    --------
    >>> p = pseudonymize(["C001", "C002", "C001"], key="0123456789abcdef0123")
    >>> bool(p[0] == p[2]), p[0].startswith("pid_"), len(p[0])
    (True, True, 20)
    """
    k = key_from_env() if key is None else check_key(key)
    return keyed_digests(ids, k, prefix=PSEUDONYM_PREFIX)


def keyed_digests(ids: Iterable[Any] | pd.Series, key: str, *, prefix: str = "") -> pd.Series:
    """``prefix`` + the first 16 hex characters of HMAC-SHA256(key, str(id)), per id.

    The primitive behind :func:`pseudonymize`, without its key checks (used by the
    older ``ecomml.churn.hash_ids``, whose values are the pseudonyms minus ``pid_``).
    Each distinct id is hashed once.
    """
    k = key.encode("utf-8")
    series = ids if isinstance(ids, pd.Series) else pd.Series(list(ids), dtype="object")
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    # values that differ but print the same (17850 and "17850") share one pseudonym
    digests = np.array([prefix + _digest(k, str(u)) for u in uniques] + [None], dtype=object)
    return pd.Series(digests[codes], index=series.index, dtype="string")


def is_pseudonym(values: Iterable[Any] | pd.Series) -> pd.Series:
    """True where a value looks like an ecomml pseudonym (``pid_`` + 16 hex characters)."""
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype="object")
    return s.astype("string").str.fullmatch(_PSEUDONYM_RE.pattern).fillna(False).astype(bool)


def pseudonymize_frame(
    frame: pd.DataFrame,
    key: str,
    *,
    columns: Iterable[str] = ("customer_id",),
    keep_pseudonyms: bool = False,
) -> pd.DataFrame:
    """A copy of ``frame`` with the given id columns (those present) pseudonymised.

    With ``keep_pseudonyms``, values that already are pseudonyms (``pid_`` + 16 hex, e.g.
    a customer list taken from an earlier pseudonymised output) are kept as they are.
    """
    out = frame.copy()
    for col in columns:
        if col in out.columns:
            hashed = pseudonymize(out[col], key)
            if keep_pseudonyms:
                already = is_pseudonym(out[col]).to_numpy()
                hashed[already] = out.loc[already, col].astype(str).to_numpy()
            out[col] = hashed.astype(object).where(hashed.notna(), None).to_numpy()
            if isinstance(frame[col].dtype, pd.StringDtype):
                out[col] = out[col].astype(frame[col].dtype)
    return out


def pseudonymize_shop(shop: Any, key: str) -> Any:
    """A copy of a :class:`~ecomml.data.ShopData` whose customer ids are pseudonyms.

    Models trained on it hold no raw ids (a recommender remembers each customer's
    history by id), so their folders and MLflow copies can leave the data team.
    """
    changes: dict[str, Any] = {}
    for table in ("transactions", "events"):
        frame = getattr(shop, table, None)
        if frame is not None and "customer_id" in frame.columns:
            changes[table] = pseudonymize_frame(frame, key)
    return replace(shop, **changes)


def id_metadata(key: str | None) -> dict[str, Any]:
    """What a model folder records about its customer ids (for ``save_model(extra=...)``).

    ``{"ids": {"pseudonymized": True, "key_check": ...}}`` for a model trained on
    pseudonyms (the key check is :func:`key_fingerprint`, never the key), else
    ``{"ids": {"pseudonymized": False}}``.
    """
    if key is None:
        return {"ids": {"pseudonymized": False}}
    return {"ids": {"pseudonymized": True, "key_check": key_fingerprint(key)}}


def check_model_ids(
    metadata: Mapping[str, Any],
    key: str | None,
    *,
    model: str = "the model",
    env: str = ID_KEY_ENV,
) -> bool:
    """Check a model's id metadata against the key given for scoring.

    Returns True when the model was trained on pseudonymised ids (so the input ids
    must be pseudonymised with the same key before scoring), False otherwise.

    Raises
    ------
    ConfigError
        When the model was trained on pseudonyms but no key was given, or the key
        differs from the one it was trained with.
    """
    info = metadata.get("ids") or {}
    if not info.get("pseudonymized"):
        return False
    if key is None:
        raise ConfigError(
            f"{model} was trained on pseudonymised customer ids: pass --hash-ids with the "
            f"key it was trained with (in ${env}, or the variable named by --id-key-env)"
        )
    if info.get("key_check") != key_fingerprint(key):
        raise ConfigError(
            f"{model} was trained on customer ids pseudonymised with another key than the "
            f"one in ${env}; use the training key, or retrain with this one"
        )
    return True


def safe_input_example(example: pd.DataFrame | None) -> pd.DataFrame | None:
    """An MLflow input example without real customer ids.

    An input example is stored in clear beside the model and shown by the MLflow UI and
    serving docs, so ``customer_id`` values that are not pseudonyms are replaced with
    placeholders (``example-customer-1``, ...): the example still shows the schema, and
    an unknown customer gets the documented fallback when MLflow runs it. E-mail-like
    strings in other text columns are redacted.
    """
    if example is None or not isinstance(example, pd.DataFrame):
        return example
    out = example.copy()
    for col in out.columns:
        if col == "customer_id":
            keep = is_pseudonym(out[col]).to_numpy()
            placeholders = [f"example-customer-{i + 1}" for i in range(len(out))]
            out[col] = [v if k else p for v, k, p in zip(out[col], keep, placeholders, strict=True)]
        elif out[col].dtype == object or isinstance(out[col].dtype, pd.StringDtype):
            out[col] = out[col].map(lambda v: scrub(v) if isinstance(v, str) else v)
    return out


def pseudonymize_files(
    paths: Iterable[str | os.PathLike[str]], key: str, *, columns: Iterable[str] = ("customer_id",)
) -> list[Path]:
    """Rewrite CSV/Parquet files that have a customer id column with pseudonyms, atomically.

    Files without such a column, and other formats, are left alone. Returns the files
    rewritten. A file that already holds pseudonyms only is kept as it is.
    """
    from ecomml._io import atomic_path

    check_key(key)
    cols = tuple(columns)
    done: list[Path] = []
    for p in map(Path, paths):
        suffix = p.suffix.lower()
        if not p.is_file() or suffix not in (".csv", ".parquet", ".pq"):
            continue
        if suffix == ".csv":
            header = pd.read_csv(p, nrows=0).columns
        else:
            import pyarrow.parquet as pq

            header = pq.read_schema(p).names
        present = [c for c in cols if c in header]
        if not present:
            continue
        if suffix == ".csv":  # ids stay text: 00123 must not become 123
            frame = pd.read_csv(p, dtype=dict.fromkeys(present, str))
        else:
            frame = pd.read_parquet(p)
        hashed = pseudonymize_frame(frame, key, columns=present, keep_pseudonyms=True)
        with atomic_path(p) as tmp:
            if suffix == ".csv":
                hashed.to_csv(tmp, index=False)
            else:
                hashed.to_parquet(tmp, index=False)
        done.append(p)
    return done


def _id_set(ids: Iterable[Any] | None) -> frozenset[str]:
    if ids is None:
        return frozenset()
    if isinstance(ids, (frozenset, set)) and all(isinstance(i, str) for i in ids):
        return frozenset(ids)
    s = pd.Series(list(ids) if not isinstance(ids, pd.Series) else ids, dtype="object")
    return frozenset(s.dropna().astype(str).str.strip().loc[lambda x: x != ""].unique())


def _tokens(text: str) -> Iterator[re.Match[str]]:
    yield from _TOKEN_RE.finditer(text)


def _token_variants(token: str) -> set[str]:
    """A token and its pieces: ``C001.csv`` -> {C001.csv, C001, csv}; numbers stay whole."""
    out = {token, token.strip(".-+@")}
    if _NUMBER_RE.fullmatch(token):
        return out  # 0.12346 is a number, not customer 12346
    for piece in re.split(r"[.@+]", token):
        if piece:
            out.add(piece)
            out.add(piece.strip("-"))
    return out


def scrub(text: str, ids: Collection[str] | Iterable[Any] | None = None) -> str:
    """Redact e-mail-like strings and (whole-token) known customer ids from ``text``.

    E-mail addresses become ``<email>`` and ids become ``<customer-id>``. Text without
    either comes back unchanged.

    Examples
    --------
    >>> scrub("mail jane.doe@example.com about C0042", ids=["C0042"])
    'mail <email> about <customer-id>'
    """
    if not isinstance(text, str):
        return text
    out = EMAIL_RE.sub(_EMAIL_MASK, text)
    known = _id_set(ids)
    if not known:
        return out

    def repl(m: re.Match[str]) -> str:
        tok = m.group()
        if tok in known:
            return _ID_MASK
        if _NUMBER_RE.fullmatch(tok):
            return tok  # 0.12346 is a number, not customer 12346
        pieces = re.split(r"([.@+])", tok)
        return "".join(_ID_MASK if p in known else p for p in pieces)

    return _TOKEN_RE.sub(repl, out)


def scrub_mapping(
    mapping: Mapping[str, Any], ids: Collection[str] | Iterable[Any] | None = None
) -> dict[str, Any]:
    """:func:`scrub` every string key and value of a (nested) mapping, e.g. MLflow params.

    Lists, tuples and nested mappings are scrubbed recursively; numbers, booleans and
    None pass through.
    """
    known = _id_set(ids)
    return {scrub(str(k), known) if isinstance(k, str) else k: _scrub_value(v, known)
            for k, v in mapping.items()}  # fmt: skip


def _scrub_value(value: Any, known: frozenset[str]) -> Any:
    if isinstance(value, str):
        return scrub(value, known)
    if isinstance(value, Mapping):
        return scrub_mapping(value, known)
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub_value(v, known) for v in value)
    return value


# --------------------------------------------------------------------------- scanning

_TEXT_SUFFIXES = {".json", ".yaml", ".yml", ".txt", ".md", ".log", ".py", ".toml", ".ini",
                  ".cfg", ".mlmodel", ".html", ".sql", ".tsv"}  # fmt: skip
_SQLITE_MAGIC = b"SQLite format 3\x00"
_PARQUET_MAGIC = b"PAR1"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_SCAN_COLUMNS = ["path", "location", "kind", "value"]


def find_raw_ids(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    ids: Iterable[Any],
    *,
    emails: bool = True,
    limit: int | None = 1000,
) -> pd.DataFrame:
    """Scan files and folders (recursively) for raw customer ids and e-mail addresses.

    Parquet files are read column by column (string columns, column names, index
    columns and key-value metadata); SQLite databases table by table; CSV, JSON, YAML
    and other text line by line; any other file (pickles, binary models) as bytes
    decoded leniently, which finds strings stored uncompressed; PNG images by their text
    chunks (their pixels are compressed). Ids are matched as whole
    tokens: ``C0001`` is found in ``"C0001"``, ``C0001.csv`` or ``id=C0001``, never
    inside ``C00012``. Compressed payloads (PNG pixels, zipped files) are not decoded.

    Parameters
    ----------
    paths
        Files and/or directories.
    ids
        The raw customer ids to look for.
    emails
        Also report e-mail-like strings.
    limit
        Stop after this many findings (None: report all).

    Returns
    -------
    pandas.DataFrame
        One row per finding: ``path, location, kind, value`` with ``kind`` ``"customer_id"``
        or ``"email"`` and ``location`` a column, table or line. Empty when clean.
    """
    known = _id_set(ids)
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    rows: list[dict[str, str]] = []

    def report(path: Path, location: str, text: str) -> bool:
        for kind, value in _findings(text, known, emails):
            rows.append({"path": str(path), "location": location, "kind": kind, "value": value})
            if limit is not None and len(rows) >= limit:
                return True
        return False

    for f in _iter_files(paths):
        if _scan_file(f, report):
            break
    return pd.DataFrame(rows, columns=_SCAN_COLUMNS)


def _findings(text: str, known: frozenset[str], emails: bool) -> Iterator[tuple[str, str]]:
    if emails:
        for m in EMAIL_RE.finditer(text):
            yield "email", m.group()
    if known:
        for m in _tokens(text):
            hits = _token_variants(m.group()) & known
            for hit in sorted(hits):
                yield "customer_id", hit


def _iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    for p in paths:
        p = Path(p)
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*") if f.is_file())
        elif p.is_file():
            yield p


def _scan_file(path: Path, report: Callable[[Path, str, str], bool]) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return False
    if head.startswith(_SQLITE_MAGIC):
        return _scan_sqlite(path, report)
    if head.startswith(_PARQUET_MAGIC):
        return _scan_parquet(path, report)
    if head.startswith(_PNG_MAGIC):
        return _scan_png(path, report)
    if path.suffix.lower() in _TEXT_SUFFIXES | {".csv"}:
        return _scan_text(path, report)
    return _scan_bytes(path, report)


def _scan_png(path: Path, report: Callable[[Path, str, str], bool]) -> bool:
    """Only a PNG's text chunks can hold strings; its pixels are compressed noise."""
    import struct
    import zlib

    data = path.read_bytes()
    pos = len(_PNG_MAGIC)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"tEXt":
            text = body.decode("latin-1")
        elif kind in (b"zTXt", b"iTXt"):
            try:
                keyword, _, rest = body.partition(b"\0")
                if kind == b"zTXt":
                    text = (
                        keyword.decode("latin-1")
                        + " "
                        + zlib.decompress(rest[1:]).decode("latin-1")
                    )
                else:
                    compressed, rest = rest[0], rest[2:]
                    _lang, _, rest = rest.partition(b"\0")
                    _tkw, _, value = rest.partition(b"\0")
                    value = zlib.decompress(value) if compressed else value
                    text = keyword.decode("latin-1") + " " + value.decode("utf-8", "replace")
            except (zlib.error, IndexError):
                text = body.decode("latin-1")
        else:
            continue
        if report(path, f"png {kind.decode()}", text):
            return True
    return False


def _scan_text(path: Path, report: Callable[[Path, str, str], bool]) -> bool:
    data = path.read_bytes()
    for enc in ("utf-8", "utf-16"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("latin-1")
    for i, line in enumerate(text.splitlines(), start=1):
        if report(path, f"line {i}", line):
            return True
    return False


def _scan_bytes(path: Path, report: Callable[[Path, str, str], bool]) -> bool:
    data = path.read_bytes()
    # utf-8 strings (pickles, LightGBM text) and utf-16 (some Windows exports)
    texts = [data.decode("latin-1"), data.decode("utf-16-le", errors="ignore")]
    return any(report(path, "bytes", t) for t in texts)


def _scan_parquet(path: Path, report: Callable[[Path, str, str], bool]) -> bool:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (OSError, pa.ArrowException):
        return _scan_bytes(path, report)
    meta = pf.schema_arrow.metadata or {}
    for k, v in meta.items():
        if report(path, "metadata", f"{k.decode(errors='replace')}={v.decode(errors='replace')}"):
            return True
    if report(path, "columns", " ".join(pf.schema_arrow.names)):
        return True
    table = pf.read()
    for name in table.column_names:
        col = table.column(name)
        typ = col.type
        if pa.types.is_dictionary(typ):
            col = col.cast(typ.value_type)
            typ = typ.value_type
        texty = pa.types.is_string(typ) or pa.types.is_large_string(typ)
        nested = pa.types.is_binary(typ) or pa.types.is_list(typ) or pa.types.is_struct(typ)
        # integer columns only where they may hold numeric customer ids
        id_like = pa.types.is_integer(typ) and re.search(r"(?i)cust|user|client|_id$", name)
        if not (texty or nested or id_like):
            continue
        values = pd.Series(col.to_pylist(), dtype="object").dropna().astype(str).unique()
        if report(path, f"column {name}", "\n".join(values)):
            return True
    return False


def _scan_sqlite(path: Path, report: Callable[[Path, str, str], bool]) -> bool:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cur = con.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from sqlite_master
            for row in cur:
                text = "\t".join(
                    v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v)
                    for v in row
                    if v is not None
                )
                if report(path, f"table {table}", text):
                    return True
    finally:
        con.close()
    return False
