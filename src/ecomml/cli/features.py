"""``ecomml features``: build and inspect feature views."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.syntax import Syntax

from ecomml.cli._common import console, handle_errors, make_progress, print_frame
from ecomml.cli.options import DataOptions, SparkConfOpt, SparkMasterOpt, with_groups
from ecomml.features.store import store_from_shop

app = typer.Typer(no_args_is_help=True)


def _is_canonical_parquet(path: Path, fmt: str) -> bool:
    return fmt == "canonical" and (path.is_dir() or path.suffix.lower() in {".parquet", ".pq"})


@app.command("build")
@with_groups
def build(
    data: DataOptions,
    cutoff: str = typer.Option(..., "--cutoff", help="As-of date (exclusive: uses ts < cutoff)."),
    out: Path = typer.Option(Path("ecomml-output/features"), "--out", "-o", help="Output folder."),
    views: str | None = typer.Option(
        None, "--views", help="Comma-separated view names (default all)."
    ),
    memory_limit: str | None = typer.Option(
        None, "--memory-limit", help="DuckDB memory limit, e.g. 6GB."
    ),
    temp_dir: Path | None = typer.Option(
        None,
        "--temp-dir",
        help="Where DuckDB spills beyond --memory-limit (default: its own temp folder).",
    ),
    threads: int | None = typer.Option(
        None, "--threads", min=1, help="DuckDB threads (fewer need less memory; default all)."
    ),
    engine_name: str = typer.Option(
        "duckdb",
        "--engine",
        help="duckdb (this machine) or spark (the same views as Spark SQL).",
    ),
    spark_master: str | None = SparkMasterOpt,
    spark_conf: list[str] | None = SparkConfOpt,
) -> None:
    """Materialize feature views as of --cutoff to Parquet, with a manifest.

    Canonical Parquet input (--format canonical) is read in place, without loading it
    into memory; other inputs are read, validated and cleaned first.
    """
    with handle_errors():
        import pandas as pd

        from ecomml.exceptions import ConfigError
        from ecomml.features.materialize import materialize_views

        start = time.perf_counter()
        cut = data.date(cutoff)
        data.refuse_overwrite(("--out", out))
        if engine_name == "spark":
            from ecomml.features.spark import SparkEngine
            from ecomml.spark.commands import spark_session

            engine = SparkEngine(spark_session(spark_master, spark_conf))
        elif engine_name == "duckdb":
            from ecomml.features.engines import DuckDBEngine

            spill = None if temp_dir is None else str(temp_dir)
            engine = DuckDBEngine(memory_limit=memory_limit, threads=threads, temp_directory=spill)
        else:
            raise ConfigError(f"--engine {engine_name!r}: choose duckdb or spark")
        from ecomml.features.store import store_from_files
        from ecomml.spark.commands import spark_source

        spark_in_place = engine_name == "spark" and data.format == "canonical"
        tx = data.transactions
        if tx is not None and (
            _is_canonical_parquet(tx, data.format)
            or (spark_in_place and spark_source(tx) is not None)
        ):  # read in place, never loaded into memory
            paths = {"transactions": tx, "events": data.events, "catalog": data.catalog,
                     "calendar": data.calendar}  # fmt: skip
            if spark_in_place:
                paths = {t: p and (spark_source(p) or p) for t, p in paths.items()}
            store = store_from_files(paths, engine)
        else:
            store = store_from_shop(data.shop(cut), engine)
        names = [v.strip() for v in views.split(",")] if views else list(store.views)
        for n in names:
            store.view(n)  # unknown names fail before any work
        with make_progress() as bar:
            task = bar.add_task("building feature views", total=len(names))
            manifest = materialize_views(
                store,
                names,
                cutoff=cut,
                out_dir=out,
                progress=lambda name: bar.update(task, advance=1, description=f"built {name}"),
            )
        entries = [manifest["views"][n][cut.isoformat()] for n in names]
        built = pd.DataFrame({"view": names, "rows": [e["rows"] for e in entries],
                              "sql hash": [e["sql_hash"][:12] for e in entries],
                              "file": [str(out / e["file"]) for e in entries]})  # fmt: skip
        fmt = {"view": "{}", "rows": "{:,}", "sql hash": "{}", "file": "{}"}
        print_frame(built, f"feature views as of {cut.date()}", fmt, left=("view", "file"))
        console.print(f"manifest: {out / 'manifest.json'}  ({time.perf_counter() - start:.1f}s)")


@app.command("show")
def show(
    view: str | None = typer.Argument(None, help="A view name; omit to list all views."),
    features_dir: Path | None = typer.Option(
        None, "--dir", help="A materialization folder: show what it holds."
    ),
    sql: bool = typer.Option(False, "--sql", help="Print the view's SQL."),
) -> None:
    """List the feature views, or show one view's features and SQL."""
    with handle_errors():
        from ecomml.features.store import FeatureStore

        store = FeatureStore()
        if features_dir is not None:
            cols = ["view", "cutoff", "rows", "sql hash", "current definition"]
            frame = store.describe_materialized(features_dir).set_axis(cols, axis=1)
            fmt = {**dict.fromkeys(cols, "{}"), "rows": "{:,}"}
            print_frame(frame, f"materialized in {features_dir}", fmt)
            return
        if view is None:
            cols = ("view", "entity", "keys", "lookback", "description")
            print_frame(
                store.describe_views(), "feature views", dict.fromkeys(cols, "{}"), left=cols
            )
            return
        v = store.view(view)
        console.print(f"[bold]{v.name}[/bold] ({v.entity.name}: {', '.join(v.entity.keys)})")
        console.print(v.description)
        console.print(f"lookback: {'all history' if v.lookback is None else v.lookback}")
        console.print(f"sql hash: {v.sql_hash}")
        cols = ("column", "type", "meaning")
        print_frame(store.describe_features(view), "features", dict.fromkeys(cols, "{}"), left=cols)
        if sql:
            console.print(Syntax(v.sql.strip(), "sql"))
