"""Test helper: edit a saved model folder's metadata and re-hash it, so the folder
stays valid for the manifest check and only the edited fields differ."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ecomml.data.fingerprint import file_sha256
from ecomml.modelstore import MANIFEST_FILE, METADATA_FILE


def rewrite_metadata(model_dir: Path, **changes: Any) -> Path:
    """Update ``ecomml_model.json`` in ``model_dir`` with ``changes`` and its manifest entry."""
    meta = json.loads((model_dir / METADATA_FILE).read_text())
    meta.update(changes)
    (model_dir / METADATA_FILE).write_text(json.dumps(meta))
    manifest = json.loads((model_dir / MANIFEST_FILE).read_text())
    manifest[METADATA_FILE] = file_sha256(model_dir / METADATA_FILE)
    (model_dir / MANIFEST_FILE).write_text(json.dumps(manifest))
    return model_dir
