"""Model signing: an HMAC-SHA256 of a model folder's manifest, keyed by ``$ECOMML_MODEL_KEY``.

The manifest lists every file's SHA-256, so its signature covers the whole folder. With the
key set, :func:`ecomml.modelstore.save_model` writes the signature and every load requires
it: only whoever holds the key can write a model that loads. Without the key nothing is
signed or required.
"""

from __future__ import annotations

import os
from pathlib import Path

from ecomml.exceptions import ModelLoadError

__all__ = ["MODEL_KEY_ENV", "SIGNATURE_FILE", "check_signature", "model_key", "sign"]

#: HMAC-SHA256 of the manifest, written when ``$ECOMML_MODEL_KEY`` is set at save time
SIGNATURE_FILE = "artifact_manifest.sig"
#: the environment variable holding the model-signing key (at least 16 characters)
MODEL_KEY_ENV = "ECOMML_MODEL_KEY"


def model_key() -> bytes | None:
    """The signing key from ``$ECOMML_MODEL_KEY`` (None when unset)."""
    raw = os.environ.get(MODEL_KEY_ENV, "")
    if not raw:
        return None
    from ecomml.privacy import check_key

    return check_key(raw, source=f"${MODEL_KEY_ENV}").encode()


def sign(key: bytes, manifest: bytes) -> str:
    import hashlib
    import hmac

    return hmac.new(key, b"ecomml model manifest v1\n" + manifest, hashlib.sha256).hexdigest()


def check_signature(path: Path, manifest: bytes) -> None:
    """With ``$ECOMML_MODEL_KEY`` set, refuse a folder whose manifest is unsigned or signed
    with another key: only whoever holds the key can write a model that loads."""
    import hmac

    key = model_key()
    if key is None:
        return
    sig_path = path / SIGNATURE_FILE
    if sig_path.is_symlink() or not sig_path.is_file():
        raise ModelLoadError(
            f"{path}: the model is not signed ({SIGNATURE_FILE} is missing) and "
            f"${MODEL_KEY_ENV} is set, so only signed models load. Retrain it with the key "
            f"set (`ecomml train ...`), or unset {MODEL_KEY_ENV} to load unsigned models."
        )
    got = sig_path.read_text(encoding="utf-8", errors="replace").strip()
    if not hmac.compare_digest(got, sign(key, manifest)):
        raise ModelLoadError(
            f"{path}: the manifest's signature does not match ${MODEL_KEY_ENV}: the model was "
            "signed with another key, or its files and manifest were rewritten after "
            "training. Refusing to load it."
        )
