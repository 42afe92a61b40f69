"""Model directories: one folder per trained model, written atomically, verified on load.

Every task (forecast, churn, recommend, ...) saves its fitted model the same way::

    models/forecast/
        model.joblib            the fitted estimator (or the task's own safe formats)
        ecomml_model.json       task, class, ecomml version, cutoff, params, metrics,
                                feature-view SQL hashes, training window
        artifact_manifest.json  SHA-256 of every other file, checked before anything loads
        artifact_manifest.sig   HMAC-SHA256 of the manifest (only with $ECOMML_MODEL_KEY)

``load_model`` accepts a local directory, ``runs:/<id>/<name>``, ``models:/NAME@alias``
or ``models:/NAME/VERSION``; MLflow URIs are downloaded and verified the same way.
``log_model`` logs a model directory to the active MLflow run as a pyfunc whose loader is
the installed module ``ecomml.serving`` (the store holds data only, no code), so
``mlflow models serve`` can score it.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ecomml._io import atomic_dir
from ecomml._moved import old_modules, resolve
from ecomml._signing import MODEL_KEY_ENV, SIGNATURE_FILE, check_signature, model_key, sign
from ecomml.data.fingerprint import file_sha256
from ecomml.exceptions import FeatureMismatchError, ModelLoadError, TrackingError

if TYPE_CHECKING:
    from mlflow.models.model import ModelInfo

    from ecomml.features.view import FeatureView

__all__ = [
    "MANIFEST_FILE",
    "METADATA_FILE",
    "MODEL_ALIASES",
    "MODEL_FILE",
    "MODEL_KEY_ENV",
    "SIGNATURE_FILE",
    "LoadedModel",
    "check_feature_hashes",
    "clear_downloads",
    "feature_hashes",
    "is_mlflow_uri",
    "list_model_versions",
    "load_model",
    "log_model",
    "pyfunc_signature",
    "read_metadata",
    "register_model",
    "save_model",
    "set_model_alias",
]

MODEL_FILE = "model.joblib"
METADATA_FILE = "ecomml_model.json"
MANIFEST_FILE = "artifact_manifest.json"
_PYFUNC_ARTIFACT = "model_dir"


@dataclass
class LoadedModel:
    """A verified model and the metadata it was saved with."""

    model: Any
    metadata: dict[str, Any]
    path: Path
    uri: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> str:
        """The task the model was trained for (``forecast``, ``churn``, ...)."""
        return str(self.metadata.get("task", ""))


def feature_hashes(views: Mapping[str, FeatureView] | list[FeatureView]) -> dict[str, str]:
    """``{view name: SQL hash}`` of the feature views a model was trained on."""
    items = views.values() if isinstance(views, Mapping) else views
    return {v.name: v.sql_hash for v in items}


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    return str(obj)


def save_model(
    model: Any,
    model_dir: str | os.PathLike[str],
    *,
    task: str,
    cutoff: Any = None,
    metrics: Mapping[str, float] | None = None,
    features: Mapping[str, str] | None = None,
    training_window: tuple[Any, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``model`` to ``model_dir`` atomically with its metadata and SHA-256 manifest.

    A model that defines ``save_artifacts(dir)`` writes its own files (e.g. LightGBM text
    models, Parquet arrays) and is rebuilt by ``load_artifacts(dir)`` (a classmethod);
    anything else is stored with joblib. The previous model in ``model_dir`` stays
    readable until the new one is complete.

    Parameters
    ----------
    model : fitted estimator.
    model_dir : target directory (replaced as a whole).
    task : task name, checked by :func:`load_model`.
    cutoff : the training cutoff (exclusive).
    metrics : validation metrics to keep with the model.
    features : ``{view: sql_hash}`` from :func:`feature_hashes`.
    training_window : first and last timestamp the model learnt from.
    extra : any further JSON-able metadata (freq, horizon, ...).
    """
    import joblib

    from ecomml import __version__

    cls = f"{type(model).__module__}.{type(model).__qualname__}"
    params: dict[str, Any] = {}
    if hasattr(model, "get_params"):
        params = {
            k: v
            for k, v in model.get_params(deep=False).items()
            if v is None or isinstance(v, (str, int, float, bool, list, tuple, dict))
        }
    meta = {
        "task": task,
        "class": cls,
        "format": "artifacts" if hasattr(model, "save_artifacts") else "joblib",
        "ecomml_version": __version__,
        "cutoff": None if cutoff is None else pd.Timestamp(cutoff).isoformat(),
        "params": params,
        "metrics": dict(metrics or {}),
        "features": dict(features or {}),
        "training_window": None
        if training_window is None
        else [pd.Timestamp(t).isoformat() for t in training_window],
        **dict(extra or {}),
    }

    def fill(tmp: Path) -> None:
        if meta["format"] == "artifacts":
            model.save_artifacts(tmp)
        else:
            joblib.dump(model, tmp / MODEL_FILE)
        (tmp / METADATA_FILE).write_text(json.dumps(_jsonable(meta), indent=2, sort_keys=True))
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        manifest = {str(p.relative_to(tmp)): file_sha256(p) for p in files}
        text = json.dumps(manifest, indent=2, sort_keys=True)
        (tmp / MANIFEST_FILE).write_text(text)
        key = model_key()
        if key is not None:
            (tmp / SIGNATURE_FILE).write_text(sign(key, text.encode()) + "\n")

    return atomic_dir(model_dir, fill)


def is_mlflow_uri(uri: str) -> bool:
    """True for ``runs:/``, ``models:/`` and other scheme-qualified artifact URIs."""
    return "://" in uri or uri.startswith(("runs:/", "models:/"))


_DOWNLOADS: list[Path] = []
#: how long load_model keeps retrying while another process keeps replacing the folder
_LOAD_PATIENCE_S = 10.0


def clear_downloads() -> None:
    """Remove the folders MLflow models were downloaded to by :func:`load_model`.

    Models loaded from ``runs:/`` or ``models:/`` URIs live in temporary folders while
    the process may still read them (Spark executors on a local master read the model
    folder); they are removed when the process exits, or earlier by this call.
    """
    import shutil

    while _DOWNLOADS:
        shutil.rmtree(_DOWNLOADS.pop(), ignore_errors=True)


atexit.register(clear_downloads)


def _download(uri: str) -> Path:
    import mlflow
    from mlflow.exceptions import MlflowException

    dst = Path(tempfile.mkdtemp(prefix="ecomml-model-"))
    _DOWNLOADS.append(dst)
    try:
        local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dst))
    except MlflowException as err:
        raise ModelLoadError(
            f"cannot download model {uri!r} from {mlflow.get_tracking_uri()}: {err.message}. "
            "Check the URI (runs:/<run_id>/<name>, models:/NAME@alias) and MLFLOW_TRACKING_URI; "
            "`ecomml model list` shows registered models."
        ) from err
    except OSError as err:
        raise ModelLoadError(f"cannot download model {uri!r}: {err}") from err
    root = Path(local)
    for cand in (root, root / "artifacts" / _PYFUNC_ARTIFACT, root / _PYFUNC_ARTIFACT):
        if (cand / METADATA_FILE).exists():
            return cand
    found = sorted(root.rglob(METADATA_FILE))
    if found:
        return found[0].parent
    raise ModelLoadError(
        f"{uri}: no ecomml model inside (no {METADATA_FILE}); was it logged with "
        "ecomml.modelstore.log_model?"
    )


_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def _read_manifest(path: Path) -> dict[str, str]:
    man_path = path / MANIFEST_FILE
    if man_path.is_symlink() or not man_path.is_file():
        raise ModelLoadError(
            f"{path}: no {MANIFEST_FILE}; refusing to load an unverified model. "
            "Train it again with `ecomml train ...`."
        )
    raw = man_path.read_bytes()
    check_signature(path, raw)
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelLoadError(f"{man_path}: unreadable manifest ({err}); refusing to load") from err
    if not isinstance(manifest, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and _SHA256_RE.match(v)
        for k, v in manifest.items()
    ):
        raise ModelLoadError(
            f"{man_path}: not an ecomml manifest (expected {{file: sha256 hex}}); refusing to load"
        )
    for rel in manifest:
        parts = Path(rel).parts
        if (
            not parts
            or Path(rel).is_absolute()
            or ".." in parts
            or rel in (MANIFEST_FILE, SIGNATURE_FILE)
        ):
            raise ModelLoadError(
                f"{man_path}: entry {rel!r} points outside the model directory; refusing to load"
            )
    return manifest


def _check_file(path: Path, rel: str, expected: str) -> bytes:
    """Read one artifact and return its bytes if (and only if) they match the manifest."""
    import hashlib

    f = path / rel
    if any(p.is_symlink() for p in [f, *f.parents] if p.is_relative_to(path) and p != path):
        raise ModelLoadError(f"{f}: is a symbolic link; refusing to load a model through links")
    if not f.is_file():
        raise ModelLoadError(
            f"{path}: file {rel} listed in the manifest is missing; the model directory is "
            "incomplete. Refusing to load it."
        )
    data = f.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ModelLoadError(
            f"{f}: SHA-256 {actual[:12]} does not match the manifest ({expected[:12]}); "
            "the file was changed after training. Refusing to load it."
        )
    return data


def _verify(path: Path) -> dict[str, Any]:
    """Check every file against the manifest; return the metadata."""
    return _verify_all(path)[0]


def read_metadata(model_dir: str | os.PathLike[str], *, verify: bool = True) -> dict[str, Any]:
    """The metadata of a saved model folder, after checking every file against its
    manifest (``verify=False``: only read, for a caller that verifies the folder anyway)."""
    if verify:
        return _verify(Path(model_dir))
    try:
        return dict(json.loads((Path(model_dir) / METADATA_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError) as err:
        raise ModelLoadError(f"{model_dir}: unreadable {METADATA_FILE} ({err})") from err


def _verify_all(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Check the manifest and every file; return ``(metadata, manifest)``.

    Refused: no or malformed manifest, entries outside the folder, symbolic links, a
    listed file missing or with another SHA-256, any file not listed, no metadata, or a
    joblib model whose pickle is not listed.
    """
    manifest = _read_manifest(path)
    unlisted = []
    for root, dirs, files in os.walk(path):
        for name in [*files, *dirs]:
            p = Path(root) / name
            rel = p.relative_to(path).as_posix()
            if p.is_symlink():
                raise ModelLoadError(
                    f"{p}: is a symbolic link; refusing to load a model through links"
                )
            if name in files and rel not in (MANIFEST_FILE, SIGNATURE_FILE) and rel not in manifest:
                unlisted.append(rel)
    if unlisted:
        raise ModelLoadError(
            f"{path}: files not in the manifest: {', '.join(sorted(unlisted)[:5])}; "
            "refusing to load a model directory that was modified after training."
        )
    meta_bytes = b""
    for rel, expected in manifest.items():
        data = _check_file(path, rel, expected)
        if rel == METADATA_FILE:
            meta_bytes = data
    if METADATA_FILE not in manifest:
        raise ModelLoadError(f"{path}: no {METADATA_FILE}; not an ecomml model directory")
    try:
        meta = json.loads(meta_bytes.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelLoadError(f"{path / METADATA_FILE}: unreadable metadata ({err})") from err
    if not isinstance(meta, dict):
        raise ModelLoadError(f"{path / METADATA_FILE}: not an ecomml model metadata file")
    if meta.get("format") != "artifacts" and MODEL_FILE not in manifest:
        raise ModelLoadError(
            f"{path}: {MODEL_FILE} is not in the manifest; refusing to unpickle an unverified file."
        )
    return meta, manifest


def _retrain(meta: Mapping[str, Any], path: Path) -> str:
    """The command that rebuilds the model in ``path``, for refusal messages."""
    task = meta.get("task") or "<task>"
    cutoff = str(meta.get("cutoff") or "<date>")[:10]
    return f"`ecomml train {task} --cutoff {cutoff} --model-dir {path}`"


def _check_version(meta: dict[str, Any], path: Path) -> None:
    current = _version()
    saved = str(meta.get("ecomml_version", ""))

    def _mm(v: str) -> tuple[str, ...]:
        return tuple(v.split("+")[0].split(".")[:2])

    if saved and _mm(saved) != _mm(current):
        raise ModelLoadError(
            f"{path}: trained with ecomml {saved}, this is ecomml {current} (model formats "
            f"change between minor versions); retrain it with {_retrain(meta, path)}, or "
            f"install ecomml=={saved} to score with it."
        )


def load_model(
    uri: str | os.PathLike[str], *, task: str | None = None, trust_pickle: bool | None = None
) -> LoadedModel:
    """Load a model saved by :func:`save_model` from a directory or an MLflow URI.

    Every file is checked against the SHA-256 manifest, the task must match ``task``
    (when given), and the ecomml major.minor version must match the one the model was
    trained with. ecomml's own models are stored without pickle, so loading them runs no
    code; a pickled model (a custom estimator, or a folder saved by an older ecomml) is
    refused unless ``trust_pickle`` (default: ``$ECOMML_TRUST_PICKLE=1``), because
    unpickling a tampered file runs whatever it holds.

    Raises
    ------
    ModelLoadError
        Missing, tampered, wrong-task or incompatible model.
    """
    text = os.fspath(uri)
    if is_mlflow_uri(text):
        path = _download(text)
    else:
        path = Path(text)
        if not path.exists():
            raise ModelLoadError(
                f"model {text!r} not found: give a model directory (see --model-dir of "
                "`ecomml train`), runs:/<run_id>/model or models:/NAME@alias"
            )
        if not path.is_dir():
            raise ModelLoadError(f"model {text!r} is a file; give the model directory")
    # a concurrent save_model may swap the folder while we read it: retry until the
    # folder we verified is the one we finished loading from
    import time

    deadline, pause = time.monotonic() + _LOAD_PATIENCE_S, 0.01
    while True:
        before = _dir_identity(path)
        try:
            meta, model = _load_verified(path, text, task, _trusts_pickle(trust_pickle))
        except (ModelLoadError, OSError):
            if _dir_identity(path) == before:
                raise
        else:
            if _dir_identity(path) == before:
                break
        if time.monotonic() > deadline:
            raise ModelLoadError(
                f"{path}: the model folder kept changing while it was loaded (another job is "
                "writing it); try again when that job has finished"
            )
        time.sleep(pause)  # back off: the writer is between two swaps
        pause = min(pause * 2, 0.25)
    return LoadedModel(model=model, metadata=meta, path=path, uri=text)


def _dir_identity(path: Path) -> tuple[int, int, int] | None:
    """Which folder ``path`` names now. The change time joins the inode number because a
    file system reuses the number of a deleted folder: two quick saves can put a new
    folder under the old number while a reader is between two files."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino, st.st_ctime_ns


def _trusts_pickle(trust_pickle: bool | None) -> bool:
    if trust_pickle is not None:
        return trust_pickle
    return os.environ.get("ECOMML_TRUST_PICKLE", "") == "1"


def _load_verified(
    path: Path, text: str, task: str | None, trust_pickle: bool = False
) -> tuple[dict[str, Any], Any]:
    """Verify ``path`` and build the model; pickles (only when trusted) are read from the
    verified bytes."""
    import importlib
    import io

    import joblib

    meta, manifest = _verify_all(path)
    if task is not None and meta.get("task") != task:
        raise ModelLoadError(
            f"{text}: this is a {meta.get('task')!r} model, not a {task!r} model; "
            f"use `ecomml predict {meta.get('task')}` or pick a {task} model"
        )
    _check_version(meta, path)
    if meta.get("format") == "artifacts":
        # a class that moved since the model was saved is found under its new name
        module, _, qualname = resolve(str(meta["class"])).rpartition(".")
        if not module.startswith("ecomml."):
            raise ModelLoadError(f"{path}: refusing to import non-ecomml class {meta['class']}")
        try:
            cls = getattr(importlib.import_module(module), qualname)
        except (ImportError, AttributeError) as err:
            raise ModelLoadError(
                f"{path}: model class {meta['class']} no longer exists in ecomml "
                f"{_version()}; retrain it with {_retrain(meta, path)}"
            ) from err
        if not hasattr(cls, "load_artifacts"):
            raise ModelLoadError(f"{path}: {meta['class']} cannot load saved artifacts")
        return meta, cls.load_artifacts(path)
    if not trust_pickle:
        raise ModelLoadError(
            f"{path}: this model is a pickle ({meta.get('class')}, saved by ecomml "
            f"{meta.get('ecomml_version', '?')}); loading a pickle runs the code it holds. "
            f"Retrain it with {_retrain(meta, path)} (ecomml saves its models without "
            "pickle), or, if you trust where it came from, pass --trust-pickle "
            "(trust_pickle=True, or ECOMML_TRUST_PICKLE=1)"
        )
    # hash and unpickle the very same bytes: the file cannot be swapped in between
    data = _check_file(path, MODEL_FILE, manifest[MODEL_FILE])
    try:
        with old_modules():
            return meta, joblib.load(io.BytesIO(data))
    except (ImportError, AttributeError) as err:
        raise ModelLoadError(
            f"{path}: the saved model refers to code that no longer exists in ecomml "
            f"{_version()} ({err}); retrain it with {_retrain(meta, path)}"
        ) from err


def _version() -> str:
    from ecomml import __version__

    return __version__


def check_feature_hashes(
    loaded: LoadedModel, current: Mapping[str, FeatureView] | list[FeatureView]
) -> None:
    """Refuse to score when the feature views differ from those the model was trained on."""
    saved = loaded.metadata.get("features") or {}
    now = feature_hashes(current)
    changed = sorted(k for k, h in saved.items() if k in now and now[k] != h)
    missing = sorted(k for k in saved if k not in now)
    if changed or missing:
        parts = []
        if changed:
            parts.append(f"changed definitions: {', '.join(changed)}")
        if missing:
            parts.append(f"missing views: {', '.join(missing)}")
        raise FeatureMismatchError(
            f"{loaded.uri or loaded.path}: the model was trained on other feature views "
            f"({'; '.join(parts)}); retrain it with this version's views: "
            f"{_retrain(loaded.metadata, loaded.path)}"
        )


def log_model(
    model_dir: str | os.PathLike[str],
    *,
    name: str = "model",
    registered_model_name: str | None = None,
    input_example: pd.DataFrame | None = None,
    signature: Any = None,
    headline: tuple[str, float] | None = None,
) -> ModelInfo:
    """Log a saved model directory to the active MLflow run as a pyfunc model.

    With ``registered_model_name`` a new registry version is created and tagged with the
    task, cutoff, ecomml version, feature hash and metrics from the model's metadata.
    """
    import warnings

    import mlflow
    from mlflow.exceptions import MlflowException

    from ecomml import __version__

    if mlflow.active_run() is None:
        raise TrackingError(
            "log_model needs an active MLflow run; wrap the call in "
            "`with ecomml.tracking.tracked_run('experiment'):`"
        )
    model_dir = Path(model_dir)
    meta = _verify(model_dir)
    if signature is None:
        signature = pyfunc_signature(meta)
    if input_example is None:
        cls = _model_class(meta)
        if cls is not None and hasattr(cls, "pyfunc_input_example"):
            input_example = cls.pyfunc_input_example()
    from ecomml.privacy import safe_input_example

    # stored in clear beside the model: never real customer ids (issue 9, privacy)
    input_example = safe_input_example(input_example)
    with warnings.catch_warnings():
        if signature is not None and input_example is None:
            # the signature says what the model takes; an example would be run at log time
            warnings.filterwarnings("ignore", message=r".*input example was not provided")
        try:
            info = mlflow.pyfunc.log_model(
                name=name,
                loader_module="ecomml.serving",
                data_path=str(model_dir),
                input_example=input_example,
                signature=signature,
                pip_requirements=[f"ecomml=={__version__}"],
                registered_model_name=registered_model_name,
                metadata={"ecomml_version": __version__, "task": meta.get("task")},
            )
        except MlflowException as err:
            raise TrackingError(f"could not log model {name!r}: {err.message}") from err
    if registered_model_name and info.registered_model_version is not None:
        _tag_version(registered_model_name, str(info.registered_model_version), meta, headline)
    return info


def _feature_hash(meta: Mapping[str, Any]) -> str:
    import hashlib

    feats = json.dumps(meta.get("features") or {}, sort_keys=True)
    return hashlib.sha256(feats.encode()).hexdigest()[:16]


def _tag_version(
    name: str, version: str, meta: Mapping[str, Any], headline: tuple[str, float] | None = None
) -> None:
    """Tag a registry version with the task, cutoff, training window, ecomml version,
    feature-manifest hash, source run and the model's headline metric (``headline``; the
    other metrics stay on the run)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from ecomml import __version__

    run = mlflow.active_run()
    tags = {
        "ecomml.task": str(meta.get("task")),
        "ecomml.version": str(meta.get("ecomml_version") or __version__),
        "ecomml.cutoff": str(meta.get("cutoff")),
        "ecomml.training_window": json.dumps(meta.get("training_window")),
        "ecomml.feature_hash": _feature_hash(meta),
        "ecomml.feature_views": ",".join(sorted(meta.get("features") or {})),
        **({"ecomml.run_id": run.info.run_id} if run is not None else {}),
        # registry tag keys allow letters, digits, _ - . / and spaces: "ndcg@20" -> "ndcg_20"
        **(
            {"metric." + re.sub(r"[^\w.\- /]", "_", headline[0]): f"{headline[1]:.6g}"}
            if headline is not None
            else {}
        ),
    }
    client = mlflow.MlflowClient()
    try:
        for k, v in tags.items():
            client.set_model_version_tag(name, version, k, v)
    except MlflowException as err:
        raise TrackingError(f"could not tag {name} version {version}: {err.message}") from err


#: Registry aliases the CLI offers (MLflow aliases; no deprecated stages).
MODEL_ALIASES: tuple[str, ...] = ("champion", "challenger")


def register_model(
    model_uri: str,
    name: str,
    model_dir: str | os.PathLike[str],
    headline: tuple[str, float] | None = None,
) -> tuple[str, str]:
    """Register an already logged model (``runs:/<id>/model``) as a new version of ``name``
    and tag it like :func:`log_model` does; returns ``(name, version)``."""
    import mlflow
    from mlflow.exceptions import MlflowException

    meta = _verify(Path(model_dir))
    try:
        mv = mlflow.register_model(model_uri, name)
    except MlflowException as err:
        raise TrackingError(f"could not register {model_uri} as {name}: {err.message}") from err
    _tag_version(name, str(mv.version), meta, headline)
    return name, str(mv.version)


def list_model_versions(name: str | None = None) -> pd.DataFrame:
    """Registered versions (newest first): ``name, version, aliases, task, cutoff,
    training_window, ecomml_version, feature_hash, metrics, run_id, created``."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    try:
        if name is not None:
            client.get_registered_model(name)
            versions = list(client.search_model_versions(f"name = '{name}'"))
        else:
            versions = list(client.search_model_versions())
    except MlflowException as err:
        known = _registered_names(client)
        raise TrackingError(
            f"cannot list {name or 'registered models'} at {mlflow.get_tracking_uri()}: "
            f"{err.message}" + (f"; registered: {', '.join(known)}" if known else "")
        ) from err
    aliases: dict[tuple[str, str], list[str]] = {}
    for model_name in sorted({v.name for v in versions}):
        try:
            by_alias = client.get_registered_model(model_name).aliases or {}
        except MlflowException:
            by_alias = {}
        for alias, ver in by_alias.items():
            aliases.setdefault((model_name, str(ver)), []).append(alias)
    rows = []
    for v in versions:
        tags = dict(v.tags or {})
        metrics = {k[len("metric.") :]: val for k, val in tags.items() if k.startswith("metric.")}
        rows.append(
            {
                "name": v.name,
                "version": int(v.version),
                "aliases": ",".join(sorted(aliases.get((v.name, str(v.version)), []))),
                "task": tags.get("ecomml.task", ""),
                "cutoff": tags.get("ecomml.cutoff", ""),
                "training_window": tags.get("ecomml.training_window", ""),
                "ecomml_version": tags.get("ecomml.version", ""),
                "feature_hash": tags.get("ecomml.feature_hash", ""),
                "metrics": ", ".join(f"{k}={val}" for k, val in sorted(metrics.items())),
                "run_id": v.run_id or "",
                "created": pd.Timestamp(v.creation_timestamp, unit="ms"),
            }
        )
    cols = ["name", "version", "aliases", "task", "cutoff", "training_window",
            "ecomml_version", "feature_hash", "metrics", "run_id", "created"]  # fmt: skip
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values(["name", "version"], ascending=[True, False]).reset_index(drop=True)


def _registered_names(client: Any) -> list[str]:
    try:
        return sorted(m.name for m in client.search_registered_models())
    except Exception:  # noqa: BLE001 - only used to enrich an error message
        return []


def set_model_alias(name: str, version: str | int, alias: str = "champion") -> str | None:
    """Point ``alias`` of ``name`` at ``version``; returns the version it pointed at before."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from ecomml.exceptions import ConfigError

    if alias not in MODEL_ALIASES:
        raise ConfigError(f"alias {alias!r} is not one of {', '.join(MODEL_ALIASES)}")
    client = mlflow.MlflowClient()
    try:
        client.get_model_version(name, str(version))
    except MlflowException as err:
        known = _registered_names(client)
        raise TrackingError(
            f"model {name} version {version} not found at {mlflow.get_tracking_uri()}"
            + (f"; registered models: {', '.join(known)}" if known else "")
            + " (`ecomml model list` shows the versions)"
        ) from err
    previous = None
    try:
        previous = str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        previous = None
    try:
        client.set_registered_model_alias(name, alias, str(version))
    except MlflowException as err:
        raise TrackingError(f"could not set {name}@{alias}: {err.message}") from err
    return previous


def pyfunc_signature(meta: Mapping[str, Any]) -> Any:
    """The MLflow signature a saved ecomml model's class declares (its
    ``pyfunc_signature()``), else None. The task's own signature
    (:meth:`ecomml.task.Task.signature`) is passed in by :mod:`ecomml.runner`; foreign
    estimators get none (MLflow then infers one from ``input_example``).

    A model class may also define ``pyfunc_input_example()`` (a small frame), which
    :func:`log_model` then stores with the model.
    """
    if not str(meta.get("class", "")).startswith("ecomml."):
        return None  # a foreign estimator: MLflow infers from the input example
    cls = _model_class(meta)
    if cls is not None and hasattr(cls, "pyfunc_signature"):
        return cls.pyfunc_signature()
    return None


def _model_class(meta: Mapping[str, Any]) -> Any:
    """The ecomml class a model was saved from (None for other or unknown classes)."""
    import importlib

    module, _, qualname = resolve(str(meta.get("class", ""))).rpartition(".")
    if not module.startswith("ecomml."):
        return None
    try:
        return getattr(importlib.import_module(module), qualname)
    except (ImportError, AttributeError):
        return None
