"""One way to get a Spark session that ecomml's Spark code can rely on.

:func:`get_spark_session` reuses the active session when there is one, and otherwise
builds one with the settings ecomml's results depend on: the session time zone is UTC
(so timestamps read like DuckDB's naive ``TIMESTAMP``), Python workers run the driver's
interpreter (otherwise workers fail with ``No module named 'pyarrow'``), Arrow is on
for pandas conversion, the web UI is off and the log is quiet. Failure to get a session
(no pyspark, no Java, a JVM that does not start) is a :class:`SparkUnavailableError`
whose message says what to install or set.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecomml.exceptions import SparkUnavailableError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

__all__ = [
    "apply_session_defaults",
    "find_java",
    "get_spark_session",
    "quiet_query_error_log",
    "require_pyspark",
]

_INSTALL_HINT = "pyspark is not installed: pip install 'ecomml[spark]'"
_JAVA_HINT = "no Java runtime found: install Java 17+ and set JAVA_HOME"

#: Runtime settings every ecomml Spark session gets (they can be changed on a live session).
SESSION_DEFAULTS: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "true",
    # Parquet timestamps as INT64 micros (readable everywhere), not legacy INT96
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}


def require_pyspark() -> Any:
    """Import and return :mod:`pyspark`, or raise :class:`SparkUnavailableError`."""
    try:
        import pyspark
        import pyspark.sql  # noqa: F401
    except ImportError as err:
        raise SparkUnavailableError(f"{_INSTALL_HINT} ({err})") from err
    return pyspark


def find_java() -> str:
    """Path of the ``java`` executable Spark will start, or raise :class:`SparkUnavailableError`.

    ``JAVA_HOME`` wins when it is set (that is what ``spark-submit`` uses); otherwise
    ``java`` on the ``PATH``.
    """
    home = os.environ.get("JAVA_HOME")
    if home:
        java = Path(home) / "bin" / ("java.exe" if os.name == "nt" else "java")
        if not java.is_file():
            raise SparkUnavailableError(
                f"{_JAVA_HINT} (JAVA_HOME={home} has no bin/java; point it at a JDK or JRE 17+)"
            )
        return str(java)
    java = shutil.which("java")
    if java is None:
        raise SparkUnavailableError(f"{_JAVA_HINT} (JAVA_HOME is unset and `java` is not on PATH)")
    return java


_LOG4J2 = """\
rootLogger.level = {level}
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = {level}
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = {level}
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{{yy/MM/dd HH:mm:ss}} %p %c{{1}}: %m%n%ex
"""


def _log4j2_file(level: str) -> str:
    """A log4j2 configuration at ``level`` for the driver JVM (Spark's default prints its
    start-up chatter at WARN before any session exists to lower it)."""
    import tempfile

    from ecomml._io import atomic_write_text

    level = level.lower()
    path = Path(tempfile.gettempdir()) / f"ecomml-spark-log4j2-{level}.properties"
    text = _LOG4J2.format(level=level)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        atomic_write_text(path, text)
    return path.as_uri()


def quiet_query_error_log() -> None:
    """Stop pyspark logging every failed query as a JSON block with the JVM stack trace.

    ecomml turns those errors into one clear message itself; the log would bury it.
    """
    import logging

    try:
        from pyspark.logger import PySparkLogger
    except ImportError:  # pragma: no cover - older pyspark
        return
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


def apply_session_defaults(spark: SparkSession) -> None:
    """Set :data:`SESSION_DEFAULTS` on a live session (UTC time zone, Arrow)."""
    quiet_query_error_log()
    for key, value in SESSION_DEFAULTS.items():
        if spark.conf.get(key, None) != value:
            spark.conf.set(key, value)


def _active_session() -> SparkSession | None:
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is None:
        return None
    try:
        if active.sparkContext._jsc is None:  # stopped
            return None
    except Exception:  # noqa: BLE001 - Spark Connect sessions have no sparkContext
        pass
    return active


def get_spark_session(
    master: str = "local[2]",
    *,
    app_name: str = "ecomml",
    config: Mapping[str, Any] | None = None,
    shuffle_partitions: int | None = 4,
    driver_memory: str | None = None,
    ansi: bool = False,
    log_level: str = "ERROR",
) -> SparkSession:
    """Return the active Spark session, or start one configured for ecomml.

    Parameters
    ----------
    master : str
        ``"local[N]"`` for N cores on this machine, ``"yarn"``, ``"spark://host:7077"``,
        ``"k8s://..."``, or ``"sc://host"`` for Spark Connect. Ignored when a session is
        already active (e.g. under ``spark-submit``, which sets it).
    app_name : str
        Name shown in the cluster's UI.
    config : mapping or None
        Extra ``spark.*`` settings (``spark.executor.memory``, ...); they win over the
        defaults below.
    shuffle_partitions : int or None
        ``spark.sql.shuffle.partitions``. Spark's default (200) suits a cluster, a small
        number suits one machine; None keeps Spark's value.
    driver_memory : str or None
        ``spark.driver.memory`` (e.g. ``"4g"``); only effective when this call starts the JVM.
    ansi : bool
        ``spark.sql.ansi.enabled``. Off by default: the feature views' translation
        reproduces DuckDB's values (e.g. ``inf`` for a division by zero) on non-ANSI
        Spark, where ANSI mode would raise instead.
    log_level : str
        Log level of the Spark context (``"ERROR"`` keeps the console quiet).

    Returns
    -------
    pyspark.sql.SparkSession
        With ``spark.sql.session.timeZone=UTC`` and Arrow enabled, also when reused.

    Raises
    ------
    SparkUnavailableError
        pyspark is not installed, no Java runtime is found, or the JVM does not start.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    active = _active_session()
    if active is not None:
        apply_session_defaults(active)
        if config:
            for key, value in config.items():
                try:
                    active.conf.set(key, str(value))
                except Exception:  # noqa: BLE001 - static settings cannot change on a live session
                    pass
        return active

    remote = master.startswith("sc://")
    if not remote:
        find_java()
    python = os.environ.get("PYSPARK_PYTHON") or sys.executable
    os.environ.setdefault("PYSPARK_PYTHON", python)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

    settings: dict[str, str] = dict(SESSION_DEFAULTS)
    settings["spark.sql.ansi.enabled"] = "true" if ansi else "false"
    if not remote:
        settings["spark.ui.enabled"] = "false"
        settings["spark.ui.showConsoleProgress"] = "false"
        settings["spark.pyspark.python"] = python
        settings["spark.pyspark.driver.python"] = sys.executable
    if master.startswith("local"):
        settings["spark.driver.bindAddress"] = "127.0.0.1"
        settings["spark.driver.host"] = "127.0.0.1"
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if not remote and not any("extraJavaOptions" in str(k) for k in config or {}):
        settings["spark.driver.extraJavaOptions"] = (
            f"-Dlog4j2.configurationFile={_log4j2_file(log_level)}"
        )
    if shuffle_partitions is not None:
        settings["spark.sql.shuffle.partitions"] = str(int(shuffle_partitions))
    if driver_memory:
        settings["spark.driver.memory"] = str(driver_memory)
    for key, value in (config or {}).items():
        settings[str(key)] = str(value)

    builder = SparkSession.builder.appName(app_name)
    builder = builder.remote(master) if remote else builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except SparkUnavailableError:
        raise
    except Exception as err:  # noqa: BLE001 - the JVM gateway raises several types
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if "JAVA_GATEWAY_EXITED" in str(err) or "Java gateway" in str(err):
            raise SparkUnavailableError(
                f"the JVM for Spark did not start ({text}); {_JAVA_HINT}, and check "
                "spark.driver.memory fits this machine"
            ) from err
        raise SparkUnavailableError(
            f"cannot start a Spark session on {master!r} ({type(err).__name__}: {text})"
        ) from err
    if not remote:
        spark.sparkContext.setLogLevel(log_level)
    quiet_query_error_log()
    return spark
