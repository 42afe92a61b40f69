"""Keyed pseudonyms for customer ids, and the checks around their key.

Customer ids in outputs that leave the data team are replaced with keyed pseudonyms
(HMAC-SHA256 of the id under a secret key, ``pid_`` + 16 hex characters). The key is
read from an environment variable (``ECOMML_ID_KEY`` by default) and is never written
next to the data, to a model folder or to MLflow: only whoever holds the key can join a
pseudonym back to a real id (by pseudonymising the real ids again and matching). The
same key always gives the same pseudonym, so lists from different runs and tasks join
on ``customer_id``; another key gives unrelated pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecomml.exceptions import ConfigError

#: Environment variable the CLI reads the pseudonymisation key from by default.
ID_KEY_ENV = "ECOMML_ID_KEY"

#: Every pseudonym starts with this, so a pseudonymised id is recognisable at a glance.
PSEUDONYM_PREFIX = "pid_"

#: Shortest accepted key (characters); ``openssl rand -hex 32`` gives 64.
MIN_KEY_LENGTH = 16

_HEX_CHARS = 16  # 64 bits: collisions need ~4 billion ids to become likely


_PSEUDONYM_RE = re.compile(rf"{PSEUDONYM_PREFIX}[0-9a-f]{{{_HEX_CHARS}}}")

_KEY_CHECK_MESSAGE = b"ecomml key check v1"


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
    history by id), so their folders and MLflow copies can leave the data team. The copy
    remembers the key as ``id_key`` (in memory only), so a model saved from it records the
    key check (:func:`id_metadata`).
    """
    changes: dict[str, Any] = {}
    for table in ("transactions", "events"):
        frame = getattr(shop, table, None)
        if frame is not None and "customer_id" in frame.columns:
            changes[table] = pseudonymize_frame(frame, key)
    out = replace(shop, **changes)
    out.id_key = key  # a key check is recorded from it, the key itself never stored
    return out


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
