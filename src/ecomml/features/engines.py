"""Execution engines for feature views.

An engine runs SQL over registered relations. :class:`DuckDBEngine` is the embedded
default: in-process, reads Parquet/CSV in place, and spills to disk beyond its memory
limit. A Spark engine runs the same view SQL after translation (separate module).
"""

from __future__ import annotations

import abc
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ecomml.exceptions import InputFileError

__all__ = ["DuckDBEngine", "Engine", "quote_ident", "sql_literal"]


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (double quotes, doubled inside)."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: Any) -> str:
    """Render a Python/pandas scalar as an SQL literal (timestamps, dates, numbers, strings)."""
    if value is None or (isinstance(value, float) and value != value):
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, pd.Timestamp):
        return f"TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S.%f')}'"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


class Engine(abc.ABC):
    """What the feature store needs from an SQL engine."""

    name: str = "engine"
    #: Keyword after ``name AS`` that keeps a CTE inlined (e.g. DuckDB's ``NOT MATERIALIZED``).
    inline_cte: str = ""

    @abc.abstractmethod
    def register(self, name: str, data: pd.DataFrame | str | os.PathLike[str]) -> None:
        """Make ``data`` (a frame, or a Parquet/CSV path, directory or glob) queryable as ``name``."""

    @abc.abstractmethod
    def execute(self, sql: str) -> None:
        """Run a statement for its side effect."""

    @abc.abstractmethod
    def query(self, sql: str) -> pd.DataFrame:
        """Run a query and return the result as a pandas frame."""

    @abc.abstractmethod
    def describe(self, sql: str) -> list[tuple[str, str]]:
        """Column names and SQL types of a query's result, without running it in full."""

    @abc.abstractmethod
    def has_relation(self, name: str) -> bool:
        """Whether ``name`` is registered."""

    @abc.abstractmethod
    def write_parquet(self, sql: str, path: str | os.PathLike[str]) -> int:
        """Write a query's result to one Parquet file at ``path``; return the row count."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""


def _parquet_or_csv_reader(path: Path) -> str:
    p = str(path)
    lit = "'" + p.replace("'", "''") + "'"
    if path.is_dir():
        return (
            f"read_parquet({lit[:-1]}/**/*.parquet', hive_partitioning=false, union_by_name=true)"
        )
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"} or "*" in p:
        return f"read_parquet({lit}, union_by_name=true)"
    if suffix in {".csv", ".tsv", ".txt"}:
        return f"read_csv({lit}, header=true)"
    raise InputFileError(
        f"{path}: unsupported file type {suffix!r} for the feature store; convert it first "
        "with `ecomml data convert FILE OUT.parquet`."
    )


def _duckdb_error(err: Exception, *, where: str) -> Exception:
    """Translate a DuckDB error into an actionable ecomml error (first line of DuckDB's text)."""
    from ecomml.exceptions import DataQualityError

    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    kind = type(err).__name__
    if kind in {"IOException", "InvalidInputException", "HTTPException"}:
        return InputFileError(
            f"{where}: cannot read it ({first}). Check the path, and that it is Parquet/CSV "
            "written by `ecomml data convert`."
        )
    if kind in {"ConversionException", "OutOfRangeException", "InvalidTypeException"}:
        return DataQualityError(
            f"{where}: a value does not have its canonical type ({first}). Run "
            "`ecomml data validate FILE` to see the offending rows, or convert the file with "
            "`ecomml data convert`."
        )
    if kind == "OutOfMemoryException":
        return DataQualityError(
            f"{where}: DuckDB ran out of memory ({first}). Raise --memory-limit or give the "
            "engine a temp_directory to spill to."
        )
    return DataQualityError(f"{where}: the query failed ({kind}: {first})")


class DuckDBEngine(Engine):
    """Embedded DuckDB engine (the default).

    Parameters
    ----------
    database : str
        ``":memory:"`` (default) or a database file path.
    memory_limit : str or None
        E.g. ``"4GB"``; beyond it DuckDB spills to ``temp_directory``.
    threads : int or None
        Worker threads; None lets DuckDB use every core.
    temp_directory : str or None
        Where to spill; None uses DuckDB's default beside the database.
    """

    name = "duckdb"
    inline_cte = " NOT MATERIALIZED"

    def __init__(
        self,
        database: str = ":memory:",
        *,
        memory_limit: str | None = None,
        threads: int | None = None,
        temp_directory: str | None = None,
    ) -> None:
        import duckdb

        self.database = database
        self.memory_limit = memory_limit
        self.threads = threads
        self.temp_directory = temp_directory
        self.con = duckdb.connect(database)
        if memory_limit:
            self.con.execute(f"SET memory_limit = {sql_literal(memory_limit)}")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if temp_directory:  # where it spills beyond memory_limit; made if missing
            Path(temp_directory).mkdir(parents=True, exist_ok=True)
            self.con.execute(f"SET temp_directory = {sql_literal(temp_directory)}")
        self.con.execute("SET preserve_insertion_order = false")
        self._frames: dict[str, pd.DataFrame] = {}
        #: relation name -> where it came from, for error messages
        self.sources: dict[str, str] = {}

    def register(self, name: str, data: pd.DataFrame | str | os.PathLike[str]) -> None:
        """Register a frame or a Parquet/CSV path as relation ``name``."""
        self._drop(name)
        if not name.startswith("_dates") and not name.startswith("_spine"):
            self.sources[name.removeprefix("_raw_")] = (
                "<frame>" if isinstance(data, pd.DataFrame) else str(data)
            )
        if isinstance(data, pd.DataFrame):
            self._frames[name] = data
            self.con.register(name, data)
            return
        import duckdb

        path = Path(data)
        if "*" not in str(path) and not path.exists():
            raise InputFileError(f"{path}: no such file or directory")
        try:
            self.con.execute(
                f"CREATE OR REPLACE VIEW {quote_ident(name)} AS SELECT * FROM "
                f"{_parquet_or_csv_reader(path)}"
            )
        except duckdb.Error as err:
            if path.is_dir() and "No files found" in str(err):
                raise InputFileError(
                    f"{path}: the folder holds no .parquet files; pass a Parquet file, a "
                    "folder of Parquet parts, or convert the input with `ecomml data convert`"
                ) from err
            raise _duckdb_error(err, where=str(path)) from err

    def _where(self) -> str:
        if not self.sources:
            return "feature store"
        return "feature store over " + ", ".join(
            f"{k} {v}" for k, v in sorted(self.sources.items())
        )

    def _drop(self, name: str) -> None:
        if name in self._frames:
            self.con.unregister(name)
            del self._frames[name]
        self.con.execute(f"DROP VIEW IF EXISTS {quote_ident(name)}")

    def execute(self, sql: str) -> None:
        """Run a statement."""
        import duckdb

        try:
            self.con.execute(sql)
        except duckdb.Error as err:
            raise _duckdb_error(err, where=self._where()) from err

    def query(self, sql: str) -> pd.DataFrame:
        """Run a query into pandas."""
        import duckdb

        try:
            return self.con.execute(sql).df()
        except duckdb.Error as err:
            raise _duckdb_error(err, where=self._where()) from err

    def describe(self, sql: str) -> list[tuple[str, str]]:
        """Result columns and types of ``sql``."""
        import duckdb

        try:
            rel = self.con.sql(sql)
        except duckdb.Error as err:
            raise _duckdb_error(err, where=self._where()) from err
        return [(c, str(t)) for c, t in zip(rel.columns, rel.types, strict=True)]

    def has_relation(self, name: str) -> bool:
        """Whether a view, table or registered frame called ``name`` exists."""
        if name in self._frames:
            return True
        found = self.con.execute(
            "SELECT count(*) FROM duckdb_views() WHERE view_name = ? "
            "UNION ALL SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
            [name, name],
        ).fetchall()
        return any(r[0] for r in found)

    def write_parquet(self, sql: str, path: str | os.PathLike[str]) -> int:
        """COPY the query result to a zstd Parquet file."""
        import duckdb

        target = str(path).replace("'", "''")
        try:
            self.con.execute(f"COPY ({sql}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
        except duckdb.Error as err:
            raise _duckdb_error(err, where=self._where()) from err
        rows = self.con.execute(f"SELECT count(*) FROM read_parquet('{target}')").fetchone()
        return int(rows[0]) if rows else 0

    def close(self) -> None:
        """Close the connection."""
        self.con.close()
