"""Privacy of customer data: keyed pseudonyms, scrubbing of logs, a scanner for raw ids.

Customer ids in outputs that leave the data team become keyed pseudonyms (``pid_`` + 16
hex; the key is never written anywhere).
:func:`scrub` and :func:`scrub_mapping` redact e-mail-like strings (and, when given,
known customer ids) from text and parameter dicts before they are logged.
:func:`find_raw_ids` scans files (Parquet, CSV, JSON, YAML, text, SQLite, anything
else as bytes) for raw ids and e-mail addresses; the tests run it over a whole MLflow
store.

:mod:`.pseudonyms` holds the keyed pseudonyms and their key checks, :mod:`.scrub` the
redaction before logging and :mod:`.scan` the scanner.
"""

from __future__ import annotations

from ecomml.privacy.pseudonyms import (
    ID_KEY_ENV,
    MIN_KEY_LENGTH,
    PSEUDONYM_PREFIX,
    check_key,
    check_model_ids,
    id_metadata,
    is_pseudonym,
    key_fingerprint,
    key_from_env,
    keyed_digests,
    pseudonymize,
    pseudonymize_files,
    pseudonymize_frame,
    pseudonymize_shop,
)
from ecomml.privacy.scan import find_raw_ids
from ecomml.privacy.scrub import EMAIL_RE, safe_input_example, scrub, scrub_mapping

__all__ = [
    "EMAIL_RE",
    "ID_KEY_ENV",
    "MIN_KEY_LENGTH",
    "PSEUDONYM_PREFIX",
    "check_key",
    "check_model_ids",
    "find_raw_ids",
    "id_metadata",
    "is_pseudonym",
    "key_fingerprint",
    "key_from_env",
    "keyed_digests",
    "pseudonymize",
    "pseudonymize_files",
    "pseudonymize_frame",
    "pseudonymize_shop",
    "safe_input_example",
    "scrub",
    "scrub_mapping",
]
