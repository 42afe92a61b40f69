"""``ecomml quickstart``: the whole pipeline on the built-in sample shop or a user's export."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.table import Table

from ecomml.cli._common import configure_tracking, console, handle_errors, make_progress
from ecomml.cli._load import (
    AllowFutureOpt,
    CalendarOpt,
    CatalogOpt,
    EncodingOpt,
    EventsOpt,
    FormatOpt,
    MapFileOpt,
    MapOpt,
    TransactionsOpt,
    mapping_from,
    max_ts_for,
)


def quickstart(
    transactions: Path | None = TransactionsOpt,
    format: str = FormatOpt,
    map_items: list[str] | None = MapOpt,
    map_file: Path | None = MapFileOpt,
    events: Path | None = EventsOpt,
    catalog: Path | None = CatalogOpt,
    calendar: Path | None = CalendarOpt,
    encoding: str | None = EncodingOpt,
    allow_future: bool = AllowFutureOpt,
    cutoff: str | None = typer.Option(
        None,
        "--cutoff",
        help="As-of date (exclusive). Default: the day after the last transaction.",
    ),
    out: Path = typer.Option(Path("ecomml-output"), "--out", "-o", help="Output folder."),
    seed: int = typer.Option(0, "--seed", help="Seed of the built-in sample shop."),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log to MLflow."),
    hash_ids: bool = typer.Option(
        False,
        "--hash-ids",
        help="Write the customer lists (scored customers, recommendations) with keyed "
        "pseudonyms (pid_...; key from $ECOMML_ID_KEY, never stored).",
    ),
    id_key_env: str = typer.Option(
        "ECOMML_ID_KEY", "--id-key-env", help="Environment variable holding the pseudonym key."
    ),
) -> None:
    """Run the main job: data -> feature store -> models -> outputs and an MLflow run.

    Without --transactions it runs on the built-in sample shop.
    """
    with handle_errors():
        start = time.perf_counter()
        from ecomml.data.shop import load_shop
        from ecomml.privacy import key_from_env, pseudonymize_files
        from ecomml.quickstart import run_quickstart

        id_key = key_from_env(id_key_env) if hash_ids else None  # fail before the long run

        uri = None if no_track else configure_tracking()
        with make_progress() as bar:
            task = bar.add_task("reading data", total=100)
            shop = load_shop(
                transactions,
                format=format,
                mapping=mapping_from(map_items, map_file),
                events=events,
                catalog=catalog,
                calendar=calendar,
                encoding=encoding,
                max_ts=max_ts_for(allow_future),
                seed=seed,
                cutoff=cutoff,
            )
            bar.update(task, completed=5, description=f"read {len(shop.transactions):,} rows")

            def step(msg: str, frac: float) -> None:
                bar.update(task, completed=int(frac * 100), description=msg)

            result = run_quickstart(
                shop, out_dir=out, cutoff=cutoff, track=not no_track, progress=step
            )
            hashed: list[Path] = []
            if id_key is not None:
                # the lists people act on; cleaned tables and features stay internal
                lists = [
                    p for k, p in result.outputs.items() if not k.startswith(("data/", "features"))
                ]
                hashed = pseudonymize_files(lists, id_key)

        if shop.cleaning is not None and hasattr(shop.cleaning, "__rich__"):
            console.print(shop.cleaning)
        table = Table(title=f"ecomml quickstart: {shop.source}", show_lines=False)
        table.add_column("feature view")
        table.add_column("rows", justify="right")
        for name, rows in result.view_rows.items():
            table.add_row(name, f"{rows:,}")
        console.print(table)
        if result.metrics:
            models = Table(title="models (headline metrics)")
            models.add_column("task")
            models.add_column("metric")
            models.add_column("value", justify="right")
            for key, value in result.metrics.items():
                task_name, _, metric = key.partition(".")
                models.add_row(task_name, metric, f"{value:,.4g}")
            console.print(models)
        s = result.summary
        console.print(
            f"{s['transactions']:,} transactions, {s['customers']:,} customers, {s['skus']:,} SKUs "
            f"from {s['first_ts'][:10]} to {s['last_ts'][:10]}; cutoff {result.cutoff.date()}; "
            f"{time.perf_counter() - start:.1f}s"
        )
        console.print(f"\n[bold]Outputs[/bold] in {result.out_dir.resolve()}/", soft_wrap=True)
        for key in sorted(result.outputs):
            mark = " (pseudonymised ids)" if result.outputs[key] in hashed else ""
            console.print(f"  {key:28s} {result.outputs[key]}{mark}", soft_wrap=True)
        if uri is not None:
            console.print(f"\n[bold]MLflow run[/bold] {result.run_id} in {uri}", soft_wrap=True)
            console.print(f"  open it with:  mlflow ui --backend-store-uri {uri}", soft_wrap=True)
