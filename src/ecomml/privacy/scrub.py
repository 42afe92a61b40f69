"""Scrubbing before logging: redact e-mail-like strings and known customer ids from
text, parameter dicts (:func:`scrub`, :func:`scrub_mapping`) and MLflow input examples
(:func:`safe_input_example`)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

import pandas as pd

from ecomml.privacy.pseudonyms import is_pseudonym

#: E-mail-like strings: ``local@domain.tld``.
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


# Candidate tokens for id matching: runs of characters ids are made of. Whole tokens
# only, so "C0001" does not match inside "C00012" or "pid_...C0001...".
_TOKEN_RE = re.compile(r"[A-Za-z0-9_\-.@+]+")

_NUMBER_RE = re.compile(r"[-+]?\d*\.\d+(?:[eE][-+]?\d+)?\.?")

_EMAIL_MASK = "<email>"

_ID_MASK = "<customer-id>"


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
