"""What the Spark scoring and training code shares: the per-worker model cache, shipping
a model folder to the executors, pandas <-> Spark schemas and input checks.

Private: the public functions live in :mod:`ecomml.spark.scoring` and
:mod:`ecomml.spark.training`. Nothing here imports pyspark at module import time.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ecomml.exceptions import EcommlError, SchemaError
from ecomml.modelstore import MANIFEST_FILE

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

    from ecomml.modelstore import LoadedModel

__all__ = [
    "ModelRef",
    "before",
    "broadcast",
    "check_columns",
    "check_views",
    "resolve_model",
    "spark_schema",
    "worker_model",
]

# (model path on this worker, manifest digest) -> LoadedModel. One entry per model: a
# Python worker process is reused for many tasks (spark.python.worker.reuse, on by
# default), so it loads each model once however many partitions it scores.
_MODEL_CACHE: dict[tuple[str, str], LoadedModel] = {}
#: how many times this process loaded a model from disk (tests read it)
LOAD_COUNT: dict[str, int] = {"n": 0}


@dataclass(frozen=True)
class ModelRef:
    """A verified model folder as the executors find it.

    Attributes
    ----------
    path : folder on the driver (also what executors read when ``shipped`` is False).
    name : the folder's name under ``SparkFiles`` when ``shipped``.
    digest : SHA-256 of the folder's artifact manifest (the cache key with the path).
    task : the model's task.
    shipped : the folder was sent with ``SparkContext.addFile`` (cluster masters).
    """

    path: str
    name: str
    digest: str
    task: str
    shipped: bool

    def local_path(self) -> str:
        """Where this process reads the folder (a SparkFiles copy on a cluster)."""
        if not self.shipped:
            return self.path
        from pyspark import SparkFiles

        return SparkFiles.get(self.name)


def _manifest_digest(path: Path) -> str:
    return hashlib.sha256((path / MANIFEST_FILE).read_bytes()).hexdigest()


def resolve_model(
    spark: SparkSession, model: Any, *, task: str, ship: bool | None = None
) -> tuple[ModelRef, LoadedModel]:
    """Load and verify ``model`` on the driver (a folder, ``runs:/`` or ``models:/``) and
    make its folder reachable from every executor.

    ``ship=None`` ships the folder with ``SparkContext.addFile`` unless the master is
    local (where executors read the driver's disk); a shared file system can use
    ``ship=False``.
    """
    from ecomml.modelstore import load_model

    loaded = load_model(model, task=task)
    path = Path(loaded.path).resolve()
    digest = _manifest_digest(path)
    if ship is None:
        master = str(spark.sparkContext.master) if _has_context(spark) else ""
        ship = bool(master) and not master.startswith("local")
    name = path.name
    if ship:
        # a unique name per model version: addFile refuses a second folder of one name
        name = f"ecomml-{task}-{digest[:16]}"
        staged = Path(_stage_dir()) / name
        if not staged.exists():
            import shutil

            from ecomml._io import atomic_dir

            # atomic: a killed job must not leave a partial copy that later runs would ship
            atomic_dir(staged, lambda d: shutil.copytree(path, d, dirs_exist_ok=True))
        try:
            spark.sparkContext.addFile(str(staged), recursive=True)
        except Exception as err:  # noqa: BLE001 - py4j raises its own types
            if "already registered" not in str(err) and "already been added" not in str(err):
                raise
    ref = ModelRef(path=str(path), name=name, digest=digest, task=task, shipped=bool(ship))
    _MODEL_CACHE[(ref.path, digest)] = loaded
    return ref, loaded


def _has_context(spark: Any) -> bool:
    try:
        return spark.sparkContext is not None
    except Exception:  # noqa: BLE001 - Spark Connect has no SparkContext
        return False


def _stage_dir() -> str:
    import tempfile

    d = Path(tempfile.gettempdir()) / "ecomml-spark-models"
    d.mkdir(parents=True, exist_ok=True)
    return str(d)


def worker_model(ref: ModelRef) -> LoadedModel:
    """The model of ``ref``, loaded (and verified) at most once per Python process."""
    from ecomml.modelstore import load_model

    path = ref.local_path()
    key = (path, ref.digest)
    hit = _MODEL_CACHE.get(key)
    if hit is not None:
        return hit
    if _manifest_digest(Path(path)) != ref.digest:
        raise EcommlError(
            f"model folder {path} on this executor differs from the one the job was "
            "started with (another manifest); a shared model store changed during the job"
        )
    loaded = load_model(path, task=ref.task)
    LOAD_COUNT["n"] += 1
    # keep one model per task: a long-lived worker scoring a new version drops the old one
    for k in [k for k, v in _MODEL_CACHE.items() if v.task == loaded.task]:
        del _MODEL_CACHE[k]
    _MODEL_CACHE[key] = loaded
    return loaded


def spark_schema(columns: list[str], dtypes: dict[str, Any]) -> Any:
    """A Spark ``StructType`` for pandas columns of ``dtypes`` (strings, floats, ints,
    booleans, naive timestamps)."""
    from pyspark.sql import types as T

    fields = []
    for c in columns:
        dt = dtypes[c]
        if pd.api.types.is_bool_dtype(dt):
            st: Any = T.BooleanType()
        elif pd.api.types.is_integer_dtype(dt):
            st = T.LongType()
        elif pd.api.types.is_float_dtype(dt):
            st = T.DoubleType()
        elif pd.api.types.is_datetime64_any_dtype(dt):
            st = T.TimestampType()
        else:
            st = T.StringType()
        fields.append(T.StructField(c, st, True))
    return T.StructType(fields)


def check_columns(df: DataFrame, required: list[str], name: str) -> None:
    """Raise :class:`SchemaError` unless the Spark DataFrame has ``required`` columns."""
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{name} is missing column(s) {missing}; it has {list(df.columns)[:12]}. Give the "
            "canonical table (see `ecomml data schema`), e.g. read with load_shop and "
            "spark.createDataFrame, or rename the columns first",
            missing=missing,
            columns=list(df.columns),
        )


_STRING_COLS = ("order_id", "customer_id", "sku", "category", "event", "channel", "region")


def to_canonical(pdf: pd.DataFrame) -> pd.DataFrame:
    """Arrow-converted rows back to the canonical pandas dtypes (naive ns timestamps,
    float64 numbers, object strings with None for NULL)."""
    out = pdf.copy()
    for c in out.columns:
        if c in ("ts",):
            out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
        elif c == "date":
            out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
        elif c in ("quantity", "price", "cost"):
            out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
        elif c in ("active", "is_promo"):
            out[c] = out[c].astype("boolean").fillna(c == "active").astype(bool)
        elif c in _STRING_COLS:
            s = out[c].astype(object)
            out[c] = s.where(s.notna(), None).map(lambda v: v if v is None else str(v))
    return out


def bucket_col(key: str, n: int) -> Any:
    """``pmod(hash(key), n)``: the group a row's entity is scored in."""
    from pyspark.sql import functions as F

    return F.pmod(F.hash(F.col(key)), F.lit(int(n)))


def default_buckets(spark: SparkSession, n: int | None) -> int:
    """Groups per job: ``n`` or 4x the default parallelism (at least 2)."""
    if n is not None:
        if int(n) < 1:
            from ecomml.exceptions import ConfigError

            raise ConfigError(f"num_partitions must be >= 1, got {n}")
        return int(n)
    try:
        par = int(spark.sparkContext.defaultParallelism)
    except Exception:  # noqa: BLE001
        par = 2
    return max(2, 4 * par)


def to_pandas_small(df: DataFrame | pd.DataFrame | None) -> pd.DataFrame | None:
    """A small side table (catalog, calendar) as canonical pandas, or None."""
    if df is None:
        return None
    if isinstance(df, pd.DataFrame):
        return to_canonical(df)
    return to_canonical(df.toPandas())


def empty_like(columns: list[str], dtypes: dict[str, Any]) -> pd.DataFrame:
    """An empty frame with ``columns`` of ``dtypes``."""
    return pd.DataFrame({c: pd.Series([], dtype=dtypes[c]) for c in columns})


def as_output(frame: pd.DataFrame, columns: list[str], dtypes: dict[str, Any]) -> pd.DataFrame:
    """``frame[columns]`` cast to ``dtypes`` (strings as object) for Arrow."""
    out = frame[columns].copy()
    for c in columns:
        dt = dtypes[c]
        if pd.api.types.is_bool_dtype(dt):
            out[c] = out[c].astype(bool)
        elif pd.api.types.is_integer_dtype(dt):
            out[c] = out[c].astype(np.int64)
        elif pd.api.types.is_float_dtype(dt):
            out[c] = out[c].astype(np.float64)
        elif pd.api.types.is_datetime64_any_dtype(dt):
            out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
        else:
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out.reset_index(drop=True)


def env_python() -> str:
    """The interpreter executors must run (the session helper sets it too)."""
    import sys

    return os.environ.get("PYSPARK_PYTHON") or sys.executable


def broadcast(spark: Any, value: Any) -> Any:
    """A broadcast handle (or the value itself on Spark Connect)."""
    try:
        return spark.sparkContext.broadcast(value)
    except Exception:  # noqa: BLE001 - Spark Connect has no SparkContext

        class _Plain:
            def __init__(self, v: Any) -> None:
                self.value = v

        return _Plain(value)


def before(df: DataFrame, cut: pd.Timestamp) -> DataFrame:
    from pyspark.sql import functions as F

    return df.filter(F.col("ts") < F.lit(cut.to_pydatetime()))


def check_views(loaded: Any, names: Any) -> None:
    """Refuse a model trained on other feature-view definitions (checked on the driver)."""
    from ecomml.features.views import builtin_views
    from ecomml.modelstore import check_feature_hashes

    wanted = set(names)
    check_feature_hashes(loaded, [v for v in builtin_views() if v.name in wanted])
