"""MLflow tracking helpers: data fingerprints, feature manifests, plots and models.

Library code never sets the tracking URI or starts runs implicitly: the caller (the CLI,
a notebook, an experiment runner) does, and these helpers log into the active run.
Models are logged as MLflow pyfunc models whose loader is the installed module
``ecomml.serving`` (no code in the store): the estimator is stored as a joblib artifact whose
SHA-256 is checked before it is loaded.
Params, tags and JSON artifacts logged through these helpers pass through
:func:`ecomml.privacy.scrub_mapping`, so e-mail-like strings never reach MLflow, and
:func:`log_frame` refuses per-customer frames with raw ids.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ecomml.data.fingerprint import data_fingerprint, file_sha256
from ecomml.exceptions import TrackingError
from ecomml.privacy import pseudonymize_frame, safe_input_example, scrub, scrub_mapping

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from mlflow.models.model import ModelInfo

__all__ = [
    "data_fingerprint",
    "default_tracking_uri",
    "file_sha256",
    "load_estimator",
    "log_estimator",
    "log_feature_manifest",
    "log_figure",
    "log_files",
    "log_fingerprint",
    "log_frame",
    "log_metrics",
    "log_params",
    "log_written",
    "redacted_user_tags",
    "tracked_run",
]

_SYSTEM_TAGS = ("mlflow.user", "mlflow.source.name", "mlflow.source.git.repoURL")


def default_tracking_uri(workdir: Path | None = None) -> str:
    """The store ecomml's commands log to: ``$MLFLOW_TRACKING_URI`` if set, else a SQLite
    store ``mlruns.db`` in ``workdir`` (default: the working directory). Only returned:
    the caller sets it."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    base = (workdir or Path.cwd()).resolve()
    return f"sqlite:///{base / 'mlruns.db'}"


@contextlib.contextmanager
def tracked_run(
    experiment: str, *, run_name: str | None = None, tags: Mapping[str, str] | None = None
) -> Iterator[Any]:
    """Start an MLflow run in ``experiment`` (created if needed) and yield it.

    Uses whatever tracking URI the caller configured; wraps MLflow failures in
    :class:`TrackingError` with the URI in the message.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    from ecomml import __version__

    try:
        mlflow.set_experiment(experiment)
        run_ctx = mlflow.start_run(run_name=run_name, tags=redacted_user_tags())
    except MlflowException as err:
        raise TrackingError(
            f"cannot start an MLflow run at {mlflow.get_tracking_uri()}: {err.message}. "
            "Check MLFLOW_TRACKING_URI."
        ) from err
    with run_ctx as run:
        # MLflow's own tags carry the OS user name and script path: e-mail-like on some hosts
        system = {k: v for k, v in (run.data.tags or {}).items() if k in _SYSTEM_TAGS}
        redacted = {k: v for k, v in scrub_mapping(system).items() if v != system[k]}
        mlflow.set_tags(scrub_mapping({"ecomml.version": __version__, **(tags or {})}) | redacted)
        yield run


def redacted_user_tags() -> dict[str, str] | None:
    """The OS user name MLflow records (run owner), redacted when it looks like an e-mail."""
    import getpass

    try:
        user = getpass.getuser()
    except (ImportError, KeyError, OSError):
        return None
    return {"mlflow.user": scrub(user)} if scrub(user) != user else None


def log_params(params: Mapping[str, Any]) -> None:
    """Log params to the active run with e-mail-like strings redacted (:func:`scrub_mapping`)."""
    import mlflow

    mlflow.log_params(scrub_mapping(params))


def log_metrics(metrics: Mapping[str, Any]) -> None:
    """Log the numeric metrics to the active run; missing values (None, NaN) are left
    out rather than logged as NaN, which MLflow's UI sorts and charts badly."""
    import mlflow

    clean = {str(k): float(v) for k, v in metrics.items() if v is not None and pd.notna(v)}
    if clean:
        mlflow.log_metrics(clean)


def log_files(paths: Iterable[str | os.PathLike[str]], folder: str | None = None) -> None:
    """Log the files that exist among ``paths`` as artifacts of the active run, in
    ``folder`` (e.g. ``"plots"``)."""
    import mlflow

    for path in paths:
        if Path(path).is_file():
            mlflow.log_artifact(os.fspath(path), artifact_path=folder)


def log_written(written: Any, params: Mapping[str, Any]) -> None:
    """Log what a command did to the active run: ``params`` as text, and ``written``'s
    (a :class:`~ecomml.task.Written`) metrics, plots (in ``plots``) and files (in
    ``outputs``)."""
    log_params({k: str(v) for k, v in params.items()})
    log_metrics(written.metrics)
    log_files(written.plots.values(), "plots")
    log_files(written.files, "outputs")


def log_fingerprint(fp: Mapping[str, Any], *, cutoff: Any = None) -> None:
    """Log a data fingerprint (and cutoff) as params and a JSON artifact of the active run."""
    import mlflow

    name = fp.get("name", "data")
    log_params(
        {
            f"data.{name}.rows": fp.get("rows"),
            f"data.{name}.sha256": str(fp.get("sha256", ""))[:16],
            f"data.{name}.path": Path(str(fp.get("path", ""))).name,
        }
    )
    if cutoff is not None:
        mlflow.log_param("cutoff", str(pd.Timestamp(cutoff).date()))
        mlflow.set_tag("cutoff", str(pd.Timestamp(cutoff).date()))
    mlflow.log_dict(scrub_mapping(fp), f"data/{name}_fingerprint.json")


def log_feature_manifest(manifest: Mapping[str, Any]) -> str:
    """Log a feature manifest; returns (and tags) its hash over the view definitions."""
    import mlflow

    from ecomml.features.materialize import manifest_hash

    # manifest["views"] is {view: {cutoff: entry}}; the SQL hash is the same at every cutoff
    views = {
        name: next(iter(by_cutoff.values()))
        for name, by_cutoff in manifest.get("views", {}).items()
        if by_cutoff
    }
    digest = manifest_hash(views)
    mlflow.log_dict(scrub_mapping(manifest), "features/manifest.json")
    mlflow.set_tag("ecomml.feature_manifest_hash", digest)
    return digest


def log_figure(fig: Figure, artifact_file: str) -> None:
    """Log a matplotlib figure as a PNG artifact of the active run."""
    import mlflow

    mlflow.log_figure(fig, artifact_file)


def log_frame(df: pd.DataFrame, artifact_file: str, *, id_key: str | None = None) -> None:
    """Log a small frame as a CSV artifact of the active run.

    A frame with a ``customer_id`` column is per-customer data: it is logged only with
    ``id_key`` (the ids are then pseudonymised, see :func:`ecomml.privacy.pseudonymize`);
    otherwise :class:`TrackingError` is raised, so raw ids never reach MLflow.
    """
    import mlflow

    if "customer_id" in df.columns:
        if id_key is None:
            raise TrackingError(
                f"log_frame({artifact_file!r}): the frame has raw customer ids; pass "
                "id_key=ecomml.privacy.key_from_env() to pseudonymise them, or drop customer_id"
            )
        df = pseudonymize_frame(df, id_key)
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / Path(artifact_file).name
        df.to_csv(p, index=False)
        parent = str(Path(artifact_file).parent)
        mlflow.log_artifact(str(p), artifact_path=None if parent == "." else parent)


def log_estimator(
    est: Any,
    *,
    name: str = "model",
    metrics: Mapping[str, float] | None = None,
    cutoff: Any = None,
    input_example: pd.DataFrame | None = None,
    registered_model_name: str | None = None,
) -> ModelInfo:
    """Log a fitted estimator to the active run as an MLflow pyfunc.

    Logs ``est.get_params()`` and ``metrics``, tags the cutoff and ecomml version, and
    stores the estimator with joblib plus a SHA-256 manifest as the pyfunc's data; its
    loader is the installed ``ecomml.serving``, so no code and no wrapper class is stored.
    """
    import joblib
    import mlflow
    from mlflow.exceptions import MlflowException

    from ecomml import __version__

    if mlflow.active_run() is None:
        raise TrackingError(
            "log_estimator needs an active MLflow run; wrap the call in "
            "`with ecomml.tracking.tracked_run('experiment'):`"
        )
    if hasattr(est, "get_params"):
        params = {k: v for k, v in est.get_params(deep=False).items() if _loggable(v)}
        log_params({f"model.{k}": v for k, v in params.items()})
    if metrics:
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
    if cutoff is not None:
        mlflow.set_tag("cutoff", str(pd.Timestamp(cutoff).date()))
    with tempfile.TemporaryDirectory() as tmp:
        est_path = Path(tmp) / "estimator.joblib"
        joblib.dump(est, est_path)
        manifest_path = Path(tmp) / "artifact_manifest.json"
        manifest_path.write_text(
            json.dumps(
                {
                    "estimator.joblib": file_sha256(est_path),
                    "class": f"{type(est).__module__}.{type(est).__qualname__}",
                    "ecomml_version": __version__,
                },
                indent=2,
            )
        )
        try:
            info = mlflow.pyfunc.log_model(
                name=name,
                loader_module="ecomml.serving",
                data_path=tmp,
                input_example=safe_input_example(input_example),
                pip_requirements=[f"ecomml=={__version__}"],
                registered_model_name=registered_model_name,
                metadata={"ecomml_version": __version__},
            )
        except MlflowException as err:
            raise TrackingError(f"could not log model {name!r}: {err.message}") from err
    return info


def _loggable(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def load_estimator(
    path: str | os.PathLike[str], *, manifest: str | os.PathLike[str] | None = None
) -> Any:
    """Load a joblib estimator only if its SHA-256 matches the manifest written at training time."""
    import joblib

    path = Path(path)
    manifest_path = Path(manifest) if manifest else path.with_name("artifact_manifest.json")
    if not manifest_path.exists():
        raise TrackingError(
            f"{path}: no artifact manifest beside it ({manifest_path.name}); refusing to load "
            "an unverified pickle. Re-log the model with ecomml.tracking.log_estimator."
        )
    import io

    expected = json.loads(manifest_path.read_text()).get(path.name)
    data = path.read_bytes()  # unpickle exactly the bytes that were hashed (no swap in between)
    actual = hashlib.sha256(data).hexdigest()
    if expected != actual:
        raise TrackingError(
            f"{path}: SHA-256 {actual[:12]} does not match the manifest ({str(expected)[:12]}); "
            "the file was changed after training. Refusing to load it."
        )
    return joblib.load(io.BytesIO(data))
