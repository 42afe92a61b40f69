"""``ecomml data synth``: write a seeded synthetic shop with its ground truth as Parquet.

The root CLI attaches :func:`synth` with ``data_app.command("synth")(synth)``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import typer
from rich.progress import Progress, TaskID

from ecomml.cli._common import handle_errors, make_progress, print_pairs

__all__ = ["synth"]


def synth(
    out: Path = typer.Argument(..., help="Output directory (created; must not exist or be empty)."),
    n_transactions: int = typer.Option(
        100_000, "--rows", "-n", help="Target transaction rows (sale lines plus returns)."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed writes the same shop."),
    customers: int | None = typer.Option(
        None, "--customers", help="Number of customers (default: follows from --rows)."
    ),
    skus: int | None = typer.Option(
        None, "--skus", help="Number of SKUs (default: grows with --rows, 1,500 at 100k rows)."
    ),
    start: str = typer.Option("2023-01-01", "--start", help="First day of the window."),
    days: int = typer.Option(730, "--days", help="Length of the window in days."),
    events: bool = typer.Option(
        True, "--events/--no-events", help="Also write the view/cart/purchase event log."
    ),
    chunk_rows: int = typer.Option(
        1_000_000, "--chunk-rows", help="Transaction rows per part file (bounds memory)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
    price_changes: bool = typer.Option(
        False,
        "--price-changes",
        help="Reprice SKUs now and then and let demand respond to "
        "price with a known elasticity per SKU (written to OUT/truth/prices.parquet).",
    ),
) -> None:
    """Write a synthetic shop (canonical tables + ground truth) to OUT as Parquet.

    Customers follow BG/NBD (purchase rate, dropout), SKUs have long-tail popularity,
    seasonality, promotion spikes (618, Double 11...), bundles and lumpy demand. The
    truth (per customer and per SKU-day) is written under OUT/truth. Streams in parts
    of --chunk-rows rows, so tens of millions of rows fit in a few GB of memory.
    """
    from ecomml.data.synth import write_shop
    from ecomml.exceptions import ConfigError

    with handle_errors():
        if n_transactions <= 0:
            raise ConfigError(f"--rows must be a positive number of rows, got {n_transactions}.")
        with contextlib.ExitStack() as stack:
            bars: list[tuple[Progress, TaskID]] = []

            def progress(done: int, total: int) -> None:
                # opened on the first call, after the options were validated
                if not bars:
                    bar = stack.enter_context(make_progress(transient=True))
                    bars.append((bar, bar.add_task("simulating and writing parts", total=total)))
                bar, task = bars[0]
                bar.update(task, completed=min(done, total))

            summary = write_shop(
                out,
                n_transactions=n_transactions,
                seed=seed,
                chunk_rows=chunk_rows,
                progress=progress,
                n_customers=customers,
                n_skus=skus,
                start=start,
                days=days,
                include_events=events,
                overwrite=overwrite,
                price_changes=price_changes,
            )
        secs = max(float(summary["seconds"]), 1e-9)
        rows = [
            ("transaction rows", f"{summary['rows']:,}"),
            ("  of which returns", f"{summary['return_rows']:,}"),
            ("event rows", f"{summary['event_rows']:,}" if events else "not written"),
            ("customers", f"{summary['customers']:,}"),
            ("SKUs", f"{summary['skus']:,}"),
            ("window", f"{summary['start']} + {summary['days']} days"),
            ("files", f"{len(summary['files'])}"),
            ("seconds", f"{secs:.1f}"),
            ("rows per second", f"{summary['rows'] / secs:,.0f}"),
        ]
        print_pairs(f"synthetic shop written to {summary['path']}", rows)
