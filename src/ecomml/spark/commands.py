"""``--engine spark`` for the CLI: the session, reading canonical tables with Spark, and
Spark failures as one-line ecomml errors (the options themselves are the CLI's).

Imported by the task CLIs at startup, so nothing heavy is imported at module level.
"""

from __future__ import annotations

import contextlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "collect",
    "read_table",
    "spark_errors",
    "spark_session",
    "use_spark",
]

#: Spark SQL type of each canonical column type (the columns are ecomml.data.schema's)
_SPARK_TYPES = {"string": "string", "float64": "double", "datetime64[ns]": "timestamp",
                "date": "date", "bool": "boolean"}  # fmt: skip


def use_spark(engine: str, *, format: str = "auto", mapped: bool = False) -> bool:
    """True for ``--engine spark``; refuses unknown engines and adapter options."""
    from ecomml.exceptions import ConfigError

    e = engine.strip().lower()
    if e not in ("local", "spark"):
        raise ConfigError(f"--engine {engine!r}: use local or spark")
    if e == "spark" and (format not in ("auto", "canonical") or mapped):
        raise ConfigError(
            "--engine spark reads canonical tables as they are; --format and --map only "
            "apply to the local engine. Convert the export first with `ecomml data convert "
            "IN OUT.parquet --format ... --map ...`, then score OUT.parquet"
        )
    return e == "spark"


def parse_conf(items: list[str] | None) -> dict[str, str]:
    """``["k=v", ...]`` -> dict, with a clear error for malformed items."""
    from ecomml.exceptions import ConfigError

    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"--spark-conf {item!r}: expected key=value, e.g. spark.executor.memory=8g"
            )
        out[key.strip()] = value.strip()
    return out


def spark_session(master: str | None, conf: list[str] | None) -> Any:
    """The session for a CLI command (the active one under ``spark-submit``)."""
    from ecomml.features.spark_session import get_spark_session

    return get_spark_session(master or "local[2]", config=parse_conf(conf) or None)


def _restore_uri(text: str) -> str:
    """A Path option folds ``s3a://b/k`` to ``s3a:/b/k``: restore the URI."""
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]+):/+(.*)$", text)
    if m is None or len(m.group(1)) < 2:  # not a scheme (a Windows drive is one letter)
        return text
    scheme, rest = m.groups()
    return f"{scheme}:///{rest}" if scheme == "file" else f"{scheme}://{rest}"


def _is_uri(text: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:/", text))


def spark_source(path: Path | str) -> str | None:
    """A cluster URI (``s3a://...``, ``hdfs://...``) or ``spark_table:db.t`` that Spark
    reads in place, else None (a local path)."""
    text = str(path)
    if text.startswith("spark_table:"):
        return text
    is_uri = re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:/", text)  # a Windows drive is one letter
    return _restore_uri(text) if is_uri else None


def read_table(spark: Any, path: Path | str, table: str) -> Any:
    """A canonical table from Parquet (file or folder), CSV (with a header), or a Spark
    catalog table (``spark_table:db.name``), cast to the canonical types."""
    from pyspark.sql import functions as F

    from ecomml._validation import require_columns
    from ecomml.exceptions import InputFileError

    text = _restore_uri(str(path))
    with spark_errors(f"--{table} {text}"):
        prefix = next((x for x in ("spark_table:", "catalog:") if text.startswith(x)), None)
        if prefix is not None:
            df = spark.table(text[len(prefix) :])
        else:
            if not _is_uri(text) and not Path(text).exists():
                raise InputFileError(
                    f"--{table} {text} does not exist (give a Parquet/CSV path the driver and "
                    "executors can read, a URI such as s3a://..., or spark_table:db.table)"
                )
            low = text.lower().rstrip("/")
            if low.endswith((".csv", ".csv.gz", ".txt")):
                df = spark.read.csv(text, header=True, inferSchema=False)
            elif low.endswith((".xlsx", ".xls")):
                raise InputFileError(
                    f"--{table} {text}: Spark cannot read Excel; convert it with `ecomml data "
                    "convert` to Parquet first"
                )
            else:
                # pandas writes nanosecond timestamps, which Spark reads only as longs
                spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
                df = spark.read.parquet(text)
    from ecomml.data.schema import get_schema

    types = {c.name: _SPARK_TYPES[c.dtype] for c in get_schema(table).columns}
    for c in ("ts", "date"):
        if c in df.columns and dict(df.dtypes)[c] in ("bigint", "long"):
            df = df.withColumn(c, F.timestamp_micros(F.expr(f"`{c}` div 1000")))
    need = {
        "transactions": ["customer_id", "sku", "ts", "quantity", "price"],
        "events": ["customer_id", "sku", "ts", "event"],
        "catalog": ["sku"],
        "calendar": ["date", "is_promo"],
    }[table]
    require_columns(
        df.columns, need,
        lambda missing: f"--{table} {text} is missing canonical column(s) {missing} (it has "
        f"{list(df.columns)[:10]}); convert it with `ecomml data convert --map ...`",
    )  # fmt: skip
    cols = [F.col(c).cast(types[c]).alias(c) if c in types else F.col(c) for c in df.columns]
    return df.select(*cols)


_ECOMML_ERR = re.compile(r"ecomml\.exceptions\.(\w+): (.+)")


@contextlib.contextmanager
def spark_errors(where: str = "") -> Iterator[None]:
    """Spark failures as :class:`~ecomml.exceptions.EcommlError`: a missing path, an
    ecomml error raised inside a worker (re-raised as that class), anything else with
    its first line."""
    from ecomml import exceptions as exc

    try:
        yield
    except exc.EcommlError:
        raise
    except Exception as err:  # noqa: BLE001 - py4j / pyspark raise many types
        mod = type(err).__module__
        if not (mod.startswith("pyspark") or mod.startswith("py4j")):
            raise
        text = str(err)
        m = _ECOMML_ERR.search(text)
        if m:
            cls = getattr(exc, m.group(1), exc.EcommlError)
            if not (isinstance(cls, type) and issubclass(cls, exc.EcommlError)):
                cls = exc.EcommlError
            try:
                raise cls(m.group(2).strip()) from None
            except TypeError:  # a class with required keyword arguments
                raise exc.EcommlError(m.group(2).strip()) from None
        if "PATH_NOT_FOUND" in text or "Path does not exist" in text:
            raise exc.InputFileError(
                f"{where}: path does not exist on the cluster ({_first_line(text)})"
            ) from None
        prefix = f"{where}: " if where else ""
        raise exc.EcommlError(f"{prefix}Spark failed: {_first_line(text)}") from None


def _first_line(text: str) -> str:
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()[:300]
    return "unknown error"


def collect(df: Any, dtypes: dict[str, Any] | None = None) -> Any:
    """A Spark result as pandas with the local engine's dtypes (ns timestamps, object
    strings unless ``dtypes`` says otherwise)."""
    import pandas as pd

    with spark_errors():
        pdf = df.toPandas()
    for c in pdf.columns:
        if pd.api.types.is_datetime64_any_dtype(pdf[c]):
            pdf[c] = pdf[c].astype("datetime64[ns]")
    if dtypes:
        pdf = pdf.astype({c: t for c, t in dtypes.items() if c in pdf.columns})
    return pdf


def _inputs(
    spark: Any, transactions: Path | None, **side: Path | None
) -> tuple[Any, dict[str, Any]]:
    from ecomml.exceptions import ConfigError

    if transactions is None:
        raise ConfigError(
            "--engine spark needs --transactions (a canonical Parquet/CSV table or "
            "spark_table:db.table); the built-in sample shop is for the local engine"
        )
    tx = read_table(spark, transactions, "transactions")
    out = {k: None if v is None else read_table(spark, v, k) for k, v in side.items()}
    return tx, out


def train_forecast_frame(
    transactions: Path | None,
    cutoff: Any,
    *,
    catalog: Path | None,
    calendar: Path | None,
    est: Any,
    master: str | None,
    conf: list[str] | None,
) -> tuple[Any, tuple[Any, Any], int]:
    """``ecomml train forecast --engine spark --partition-by COL``: the fitted
    :class:`~ecomml.forecasting.partitioned.PartitionedForecaster`, its training window (first
    and last period) and its number of SKUs."""
    import pandas as pd
    from pyspark.sql import functions as F

    from ecomml.forecasting.panel import period_start
    from ecomml.spark.training import train_partitioned_forecaster

    spark = spark_session(master, conf)
    tx, side = _inputs(spark, transactions, catalog=catalog, calendar=calendar)
    with spark_errors("train forecast"):
        fitted = train_partitioned_forecaster(
            tx, cutoff=cutoff, partition_by=est.partition_col, freq=est.freq,
            horizon=est.horizon, model=est.model, params=est.params, min_skus=est.min_skus,
            **side,
        )  # fmt: skip
        first = tx.filter((F.col("quantity") > 0) & (F.col("ts") < F.lit(pd.Timestamp(cutoff))))
        first_ts = first.agg(F.min("ts")).collect()[0][0]
    start = period_start(first_ts, est.freq) if first_ts is not None else fitted.last_ds_
    return fitted, (start, fitted.last_ds_), int(len(fitted.sku_partition_))


#: task name -> (the Spark scorer of ``ecomml predict TASK --engine spark``, the side tables
#: it reads)
_SCORERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "forecast": ("score_forecast", ("catalog", "calendar")),
    "churn": ("score_churn", ("events", "catalog", "calendar")),
    "recommend": ("score_recommend", ("events", "catalog", "calendar")),
}
_DTYPES: dict[str, dict[str, str]] = {
    "recommend": {"customer_id": "string", "sku": "string", "rank": "int64", "source": "string"},
}


def score_on_spark(
    task: str, model: str, data: Any, cutoff: Any, engine: Any, options: dict[str, Any]
) -> Any:
    """``ecomml predict TASK --engine spark``: the scored table as pandas. ``data`` and
    ``engine`` are the command's data and Spark options; ``options`` the task's scoring
    options (pandas frames such as ``customers`` or ``boost`` are sent to Spark)."""
    from ecomml.exceptions import ConfigError
    from ecomml.spark import scoring

    if task not in _SCORERS:
        raise ConfigError(f"task {task!r} does not score on Spark; use --engine local")
    name, tables = _SCORERS[task]
    takes = inspect.signature(getattr(scoring, name)).parameters
    unknown = sorted(k for k, v in options.items() if k not in takes and v is not None)
    if unknown:
        flags = ", ".join("--" + k.replace("_", "-") for k in unknown)
        raise ConfigError(f"{flags}: not available with --engine spark; use --engine local")
    spark = spark_session(engine.spark_master, engine.spark_conf)
    tx, side = _inputs(spark, data.transactions, **{t: getattr(data, t) for t in tables})
    opts = dict(options)
    if opts.get("boost") is not None:  # a pandas Series sku -> boost
        opts["boost"] = opts["boost"].reset_index()
    with spark_errors(task):
        out = getattr(scoring, name)(
            tx, model, cutoff=cutoff, num_partitions=engine.spark_partitions, **side, **opts
        )
    return collect(out, _DTYPES.get(task))


def train_on_spark(
    task: Any, data: Any, cutoff: Any, engine: Any, options: dict[str, Any], progress: Any
) -> tuple[Any, Any]:
    """``ecomml train TASK --engine spark``: one model per partition, fitted in parallel.
    Returns what the train command saves (:class:`~ecomml.task.Trained`) and the
    :class:`~ecomml.task.TaskData` its metadata describes (the training window)."""
    import pandas as pd

    from ecomml.data.shop import ShopData
    from ecomml.exceptions import ConfigError
    from ecomml.features.store import FeatureStore
    from ecomml.forecasting.partitioned import PartitionedForecaster
    from ecomml.task import TaskData

    est = task.train_model(options) if hasattr(task, "train_model") else None
    if not isinstance(est, PartitionedForecaster):
        raise ConfigError(
            "--engine spark trains one model per partition in parallel: add --partition-by "
            "COLUMN (e.g. category); one global model trains with the local engine"
        )
    progress(f"fitting {est.model} per {est.partition_col} on Spark")
    fitted, window, _ = train_forecast_frame(
        data.transactions, cutoff, catalog=data.catalog, calendar=data.calendar, est=est,
        master=engine.spark_master, conf=engine.spark_conf,
    )  # fmt: skip
    # a stand-in shop holding only the window the job trained on; the store: the view
    # definitions only, for the model's feature hashes
    shop = ShopData(transactions=pd.DataFrame({"ts": pd.to_datetime(list(window))}),
                    source=str(data.transactions))  # fmt: skip
    return task.trained(fitted, options, engine="spark"), TaskData(shop, cutoff, FeatureStore())
