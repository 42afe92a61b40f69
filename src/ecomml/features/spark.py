"""SparkEngine: the feature store's views as Spark SQL.

The same view SQL that :class:`~ecomml.features.engines.DuckDBEngine` runs is
translated by :func:`~ecomml.features.translate.to_spark_sql` and run by a Spark
session, so a shop whose tables live in a Spark cluster (Parquet on HDFS/S3, or tables
in the metastore) gets the same features as one machine with DuckDB.

Sources (``FeatureStore.register(table, data)``):

* a pandas frame (sent to Spark through Arrow);
* a Spark DataFrame;
* a path Spark can read: a Parquet file, a folder of Parquet parts (read recursively,
  like DuckDB's ``folder/**/*.parquet``), a glob, or a CSV file, on any file system the
  cluster knows (``hdfs://``, ``s3a://``, ``file:/``...);
* a table of the Spark catalog: ``SparkTable("db.orders")`` or the string
  ``"spark_table:db.orders"``.

Timestamps are naive (``TIMESTAMP_NTZ`` after the store's casts) and the session time
zone is set to UTC, so values and day boundaries match DuckDB's naive ``TIMESTAMP``.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ecomml.exceptions import DataQualityError, InputFileError, SqlTranslationError
from ecomml.features.engines import Engine
from ecomml.features.translate import created_views, to_spark_sql

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import SparkSession

__all__ = ["TABLE_PREFIX", "SparkEngine", "SparkTable"]

#: String prefix that names a table of the Spark catalog instead of a path.
TABLE_PREFIX = "spark_table:"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")
_ENGINE_IDS = itertools.count(1)
_NANOS_AS_LONG = "spark.sql.legacy.parquet.nanosAsLong"


@dataclass(frozen=True)
class SparkTable:
    """A table (or view) of the Spark catalog to register as a source, e.g. ``SparkTable("shop.orders")``."""

    name: str

    def __str__(self) -> str:
        return f"{TABLE_PREFIX}{self.name}"


# Spark simple type -> the DuckDB type name the feature store reasons with.
_TYPE_NAMES = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "timestamp_ntz": "TIMESTAMP",
    "void": "NULL",
    "binary": "BLOB",
}


def duckdb_type_name(spark_type: Any) -> str:
    """The DuckDB name of a Spark SQL type (``bigint`` -> ``BIGINT``, ``string`` -> ``VARCHAR``)."""
    simple = spark_type.simpleString()
    base = simple.split("(")[0]
    if base == "decimal":
        return simple.upper()
    if base.startswith(("varchar", "char")):
        return "VARCHAR"
    return _TYPE_NAMES.get(base, simple.upper())


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _error_class(err: BaseException) -> str:
    getter = getattr(err, "getCondition", None) or getattr(err, "getErrorClass", None)
    try:
        return str(getter() or "") if getter else ""
    except Exception:  # noqa: BLE001 - best effort only
        return ""


class SparkEngine(Engine):
    """Run feature views on a Spark session (local mode or a cluster).

    Parameters
    ----------
    spark : SparkSession or None
        The session; None calls :func:`ecomml.features.spark_session.get_spark_session` (the
        active session, else ``local[2]``). Its time zone is set to UTC.
    csv_options : dict or None
        Extra options for CSV sources (default: ``header=true``, ``inferSchema=true``).
    session_defaults : bool
        Set :data:`~ecomml.features.spark_session.SESSION_DEFAULTS` (UTC time zone, Arrow)
        on the session. False leaves a caller's session as it is, for queries that read
        no timestamps (a job already holding Spark DataFrames of that session).

    Examples
    --------
    >>> from ecomml.features import FeatureStore                    # doctest: +SKIP
    >>> from ecomml.features.spark import SparkEngine, SparkTable   # doctest: +SKIP
    >>> store = FeatureStore(engine=SparkEngine(spark))              # doctest: +SKIP
    >>> store.register("transactions", "s3a://shop/transactions/")   # doctest: +SKIP
    >>> store.register("catalog", SparkTable("shop.catalog"))        # doctest: +SKIP
    >>> store.get_features("customer_rfm", cutoff="2011-09-01")     # doctest: +SKIP
    """

    name = "spark"
    inline_cte = ""
    #: ``write_parquet`` writes a folder of Parquet parts, not one file.
    writes_directory = True

    def __init__(
        self,
        spark: SparkSession | None = None,
        *,
        csv_options: dict[str, str] | None = None,
        session_defaults: bool = True,
    ) -> None:
        from ecomml.features.spark_session import apply_session_defaults, get_spark_session

        self.spark = spark if spark is not None else get_spark_session()
        if session_defaults:
            apply_session_defaults(self.spark)
        self.csv_options = {"header": "true", "inferSchema": "true", **(csv_options or {})}
        # Temp views are per session, and several engines (stores) may share one session:
        # this engine's relations get a private prefix, applied when its SQL is translated.
        self._prefix = f"_ecomml{next(_ENGINE_IDS)}_"
        self._relations: set[str] = set()
        #: relation name -> where it came from, for error messages
        self.sources: dict[str, str] = {}

    # ------------------------------------------------------------------ sources
    def register(self, name: str, data: Any) -> None:
        """Register a frame, Spark DataFrame, path or :class:`SparkTable` as relation ``name``."""
        if not name.startswith("_dates") and not name.startswith("_spine"):
            label = "<frame>" if isinstance(data, pd.DataFrame) else str(data)
            self.sources[name.removeprefix("_raw_")] = label
        df = self._to_spark(data)
        df.createOrReplaceTempView(self.spark_name(name))
        self._relations.add(name)

    def spark_name(self, name: str) -> str:
        """The Spark temp-view name of this engine's relation ``name``."""
        return f"{self._prefix}{name}"

    def _to_spark(self, data: Any) -> SparkDataFrame:
        from pyspark.sql import DataFrame as SparkDataFrame

        if isinstance(data, SparkDataFrame):
            return data
        if isinstance(data, pd.DataFrame):
            return self._from_pandas(data)
        if isinstance(data, SparkTable) or str(data).startswith(TABLE_PREFIX):
            table = data.name if isinstance(data, SparkTable) else str(data)[len(TABLE_PREFIX) :]
            return self._read(lambda: self.spark.table(table), f"{TABLE_PREFIX}{table}")
        return self._read_path(data)

    def _from_pandas(self, frame: pd.DataFrame) -> SparkDataFrame:
        import pyarrow as pa

        table = pa.Table.from_pandas(frame, preserve_index=False)
        fields = []
        for field in table.schema:
            t = field.type
            if pa.types.is_null(t):
                t = pa.string()  # an all-NULL column: Spark cannot hold the null type
            elif pa.types.is_timestamp(t):
                t = pa.timestamp("us", tz=t.tz)
            elif pa.types.is_date64(t):
                t = pa.date32()
            elif pa.types.is_dictionary(t):  # pandas categoricals
                t = t.value_type
            fields.append(pa.field(field.name, t))
        table = table.cast(pa.schema(fields), safe=False)  # ns -> us truncates, as DuckDB does
        return self.spark.createDataFrame(table)

    def _read_path(self, data: str | os.PathLike[str]) -> SparkDataFrame:
        text = os.fspath(data)
        remote = bool(_SCHEME.match(text)) and not text.startswith("file:")
        if not remote:
            local = Path(text.removeprefix("file:"))
            if "*" not in text and not local.exists():
                raise InputFileError(f"{text}: no such file or directory")
            if local.is_dir() and "*" not in text and not any(local.rglob("*.parquet")):
                raise InputFileError(
                    f"{text}: the folder holds no .parquet files; pass a Parquet file, a "
                    "folder of Parquet parts, or convert the input with `ecomml data convert`"
                )
        suffix = Path(text.rstrip("/")).suffix.lower()
        reader = self.spark.read
        if suffix in {".csv", ".tsv", ".txt"}:
            opts = dict(self.csv_options)
            if suffix == ".tsv":
                opts.setdefault("sep", "\t")
            return self._read(lambda: reader.options(**opts).csv(text), text)
        if suffix and suffix not in {".parquet", ".pq"} and "*" not in text:
            raise InputFileError(
                f"{text}: unsupported file type {suffix!r} for the feature store; convert it "
                "first with `ecomml data convert FILE OUT.parquet`."
            )
        opts = {"mergeSchema": "true"}
        if not (suffix in {".parquet", ".pq"} or "*" in text):
            # a folder: every Parquet part below it; partition folders are not columns (as DuckDB)
            opts.update(recursiveFileLookup="true", pathGlobFilter="*.parquet")
        # pandas writes nanosecond timestamps, which Spark refuses: local files are checked
        # first (a refused read logs a failed task), remote ones when Spark refuses them
        nanos = _nanosecond_columns(text)
        if nanos:
            return self._read_nanos(text, opts, nanos)
        try:
            return self.spark.read.options(**opts).parquet(text)
        except Exception as err:  # noqa: BLE001 - pyspark raises several types
            if "TIMESTAMP(NANOS" not in str(err):
                raise self._error(err, where=text, reading=True) from err
            return self._read_nanos(text, opts, nanos)

    def _read_nanos(
        self, text: str, opts: dict[str, str], nanos: list[str] | None
    ) -> SparkDataFrame:
        """Parquet written by pandas holds nanosecond timestamps, which Spark cannot read as
        timestamps: read them as integers and convert (microsecond precision, like DuckDB)."""
        if not nanos:
            raise InputFileError(
                f"{text}: timestamps are stored in nanoseconds, which Spark cannot read. Rewrite "
                "the files with microsecond timestamps, e.g. pandas "
                "df.to_parquet(path, coerce_timestamps='us', allow_truncated_timestamps=True)."
            )
        # needed while queries run too: the session keeps it (it only changes files Spark
        # would otherwise refuse)
        self.spark.conf.set(_NANOS_AS_LONG, "true")
        df = self._read(lambda: self.spark.read.options(**opts).parquet(text), text)
        return _from_nanos(df, nanos)

    def _read(self, read: Any, where: str) -> SparkDataFrame:
        try:
            return read()
        except Exception as err:  # noqa: BLE001 - pyspark raises several types
            raise self._error(err, where=where, reading=True) from err

    # ------------------------------------------------------------------ errors
    def _where(self) -> str:
        if not self.sources:
            return "feature store (spark)"
        return "feature store (spark) over " + ", ".join(
            f"{k} {v}" for k, v in sorted(self.sources.items())
        )

    def _error(self, err: BaseException, *, where: str, reading: bool = False) -> Exception:
        """Translate a Spark error into an ecomml error naming the cause."""
        if isinstance(err, (SqlTranslationError, InputFileError, DataQualityError)):
            return err
        cls = _error_class(err)
        first = _first_line(err)
        if cls.startswith("PATH_NOT_FOUND") or "Path does not exist" in first:
            return InputFileError(
                f"{where}: the path does not exist on the cluster ({first}). Check the URI "
                "(hdfs://, s3a://...) and that every executor can reach it."
            )
        if cls.startswith("TABLE_OR_VIEW_NOT_FOUND") and reading:
            return InputFileError(
                f"{where}: no such table in the Spark catalog ({first}). Check the name with "
                "spark.catalog.listTables()."
            )
        if reading:
            return InputFileError(
                f"{where}: Spark cannot read it ({first}). Check the path, and that it is "
                "Parquet/CSV written by `ecomml data convert`."
            )
        if cls.startswith(("PARSE_SYNTAX_ERROR", "UNRESOLVED_ROUTINE", "UNSUPPORTED")):
            return SqlTranslationError(
                f"{where}: Spark rejects the translated SQL ({first}); the view uses SQL the "
                "DuckDB-to-Spark translation does not cover. Rewrite that part in portable SQL.",
                construct=first,
            )
        if cls.startswith(("CAST_INVALID_INPUT", "DATATYPE_MISMATCH", "CAST_OVERFLOW")):
            return DataQualityError(
                f"{where}: a value does not have its canonical type ({first}). Run "
                "`ecomml data validate FILE` to see the offending rows."
            )
        kind = type(err).__name__
        return DataQualityError(f"{where}: the Spark query failed ({kind}: {first})")

    # ------------------------------------------------------------------ SQL
    def translate(self, sql: str) -> str:
        """The Spark SQL of a DuckDB-dialect statement (see :mod:`ecomml.features.translate`)."""
        return to_spark_sql(sql, tables={n: self.spark_name(n) for n in self._relations})

    def _sql(self, sql: str) -> SparkDataFrame:
        spark_sql = self.translate(sql)
        try:
            return self.spark.sql(spark_sql)
        except Exception as err:  # noqa: BLE001 - pyspark raises several types
            raise self._error(err, where=self._where()) from err

    def execute(self, sql: str) -> None:
        """Run a statement (``CREATE OR REPLACE TEMP VIEW ...``)."""
        self._relations.update(created_views(sql))  # before translating: its name is private
        self._sql(sql)

    def query(self, sql: str) -> pd.DataFrame:
        """Run a query into pandas, with DuckDB's dtypes (naive datetimes, dates as datetime64)."""
        df = self._sql(sql)
        try:
            out = df.toPandas()
        except Exception as err:  # noqa: BLE001
            raise self._error(err, where=self._where()) from err
        return _like_duckdb(out, df.schema)

    def describe(self, sql: str) -> list[tuple[str, str]]:
        """Result columns and (DuckDB-named) types of ``sql``; Spark analyses without running."""
        df = self._sql(sql)
        return [(f.name, duckdb_type_name(f.dataType)) for f in df.schema.fields]

    def has_relation(self, name: str) -> bool:
        """Whether a temp view or catalog table called ``name`` exists."""
        if name in self._relations:
            return True
        try:
            return bool(self.spark.catalog.tableExists(name))
        except Exception:  # noqa: BLE001
            return False

    def frame(self, sql: str) -> SparkDataFrame:
        """The result of ``sql`` as a Spark DataFrame (lazy; nothing leaves the cluster)."""
        return self._sql(sql)

    def write_parquet(self, sql: str, path: str | os.PathLike[str]) -> int:
        """Write the result as a folder of Parquet parts at ``path``; return the row count.

        Timestamps are written without a time zone (as DuckDB's naive ``TIMESTAMP``).
        """
        from pyspark.sql import functions as F
        from pyspark.sql.types import TimestampType

        df = self._sql(sql)
        cols = [
            F.col(f"`{f.name}`").cast("timestamp_ntz").alias(f.name)
            if isinstance(f.dataType, TimestampType)
            else F.col(f"`{f.name}`")
            for f in df.schema.fields
        ]
        target = os.fspath(path)
        local = Path(target)
        # an empty folder prepared by the caller (an atomic swap) is filled, not replaced
        mode = "append" if local.is_dir() and not any(local.iterdir()) else "overwrite"
        try:
            df.select(*cols).write.mode(mode).option("compression", "zstd").parquet(target)
            return int(self.spark.read.parquet(target).count())
        except Exception as err:  # noqa: BLE001
            raise self._error(err, where=f"{self._where()} -> {target}") from err

    def close(self) -> None:
        """Drop this engine's temp views (the session stays up: it may be shared)."""
        for name in list(self._relations):
            try:
                self.spark.catalog.dropTempView(self.spark_name(name))
            except Exception:  # noqa: BLE001
                pass
        self._relations.clear()


def _from_nanos(df: SparkDataFrame, columns: list[str]) -> SparkDataFrame:
    """Integer nanoseconds since the epoch -> naive timestamps (microseconds)."""
    from pyspark.sql import functions as F

    for col in columns:
        if dict(df.dtypes).get(col) == "bigint":
            micros = F.expr(f"`{col}` DIV 1000")
            df = df.withColumn(col, F.timestamp_micros(micros).cast("timestamp_ntz"))
    return df


def _nanosecond_columns(text: str) -> list[str] | None:
    """Columns stored as nanosecond timestamps in a local Parquet file, folder or glob
    (None when the files cannot be inspected from here)."""
    import glob

    import pyarrow as pa
    import pyarrow.parquet as pq

    if _SCHEME.match(text) and not text.startswith("file:"):
        return None
    local = text.removeprefix("file://").removeprefix("file:")
    if "*" in local:
        files = sorted(glob.glob(local, recursive=True))
    elif Path(local).is_dir():
        files = sorted(str(p) for p in Path(local).rglob("*.parquet"))
    else:
        files = [local]
    names: list[str] = []
    for f in files:
        try:
            schema = pq.read_schema(f)
        except Exception:  # noqa: BLE001 - not inspectable here
            return None
        for field in schema:
            t = field.type
            if pa.types.is_timestamp(t) and t.unit == "ns" and field.name not in names:
                names.append(field.name)
    return names


def _like_duckdb(out: pd.DataFrame, schema: Any) -> pd.DataFrame:
    """Give a ``toPandas`` result the dtypes DuckDB's ``.df()`` gives the same columns."""
    from pyspark.sql.types import DateType, DecimalType, TimestampNTZType, TimestampType

    for f in schema.fields:
        if f.name not in out.columns:
            continue
        if isinstance(f.dataType, (DateType, TimestampType, TimestampNTZType)):
            # DuckDB gives microsecond datetimes for DATE and TIMESTAMP alike
            out[f.name] = pd.to_datetime(out[f.name]).astype("datetime64[us]")
        elif isinstance(f.dataType, DecimalType):
            out[f.name] = pd.to_numeric(out[f.name], errors="coerce").astype("float64")
    return out
