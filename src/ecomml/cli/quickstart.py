"""``ecomml quickstart``: the whole pipeline on the built-in sample shop or a user's export."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from ecomml.cli._common import (
    configure_tracking,
    console,
    handle_errors,
    make_progress,
    print_frame,
)
from ecomml.cli.options import DataOptions, IdOptions, with_groups


@with_groups
def quickstart(
    data: DataOptions,
    ids: IdOptions,
    cutoff: str | None = typer.Option(
        None,
        "--cutoff",
        help="As-of date (exclusive). Default: the day after the last transaction.",
    ),
    out: Path = typer.Option(Path("ecomml-output"), "--out", "-o", help="Output folder."),
    seed: int = typer.Option(0, "--seed", help="Seed of the built-in sample shop."),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log to MLflow."),
) -> None:
    """Run the main job: data -> feature store -> models -> outputs and an MLflow run.

    Without --transactions it runs on the built-in sample shop.
    """
    with handle_errors():
        start = time.perf_counter()
        from ecomml.quickstart import run_quickstart

        id_key = ids.key()  # fail before the long run

        cut = None if cutoff is None else data.date(cutoff)
        uri = None if no_track else configure_tracking()
        with make_progress() as bar:
            task = bar.add_task("reading data", total=100)
            shop = data.shop(cut, required=False, seed=seed)
            bar.update(task, completed=5, description=f"read {len(shop.transactions):,} rows")

            def step(msg: str, frac: float) -> None:
                bar.update(task, completed=int(frac * 100), description=msg)

            result = run_quickstart(
                shop, out_dir=out, cutoff=cut, track=not no_track, progress=step,
                save_models=id_key is None,
            )  # fmt: skip
            hashed = [] if id_key is None else result.pseudonymize_lists(id_key)

        if shop.cleaning is not None and hasattr(shop.cleaning, "__rich__"):
            console.print(shop.cleaning)
        import pandas as pd

        views = pd.DataFrame(list(result.view_rows.items()), columns=["feature view", "rows"])
        print_frame(views, f"ecomml quickstart: {shop.source}", {"feature view": "{}",
                    "rows": "{:,}"}, left=("feature view",))  # fmt: skip
        if result.metrics:
            rows = [(*k.partition(".")[::2], v) for k, v in result.metrics.items()]
            models = pd.DataFrame(rows, columns=["task", "metric", "value"])
            print_frame(models, "models (headline metrics)",
                        {"task": "{}", "metric": "{}", "value": "{:,.4g}"}, left=("task", "metric"))  # fmt: skip
        s = result.summary
        for note in s.get("notes", []):
            console.print(f"note: {note}", soft_wrap=True)
        for warning in s.get("warnings", []):
            console.print(f"[yellow]warning: {warning}[/yellow]", soft_wrap=True)
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
        prog, bin_dir = _program()
        commands = result.predict_commands(prog)
        serve = result.serve_command(uri, bin_dir)
        if commands:
            console.print("\n[bold]Next[/bold]: score with a saved model, e.g.", soft_wrap=True)
        for line in commands:
            console.print(f"  {line}", soft_wrap=True)
        if serve:
            console.print(f"  or serve one over REST:  {serve}", soft_wrap=True)
        promo = result.promo_command(prog)
        if promo:
            console.print(f"  or judge a past promotion:  {promo}", soft_wrap=True)


def _program() -> tuple[str, str | None]:
    """How this ``ecomml`` was invoked (``.venv/bin/ecomml`` when not on the PATH) and its
    bin folder, so the printed commands run as written."""
    import os
    import shutil
    import sys

    argv0 = sys.argv[0]
    if os.path.basename(argv0) != "ecomml" or os.sep not in argv0:
        return "ecomml", None
    here = os.path.realpath(argv0)
    if shutil.which("ecomml") and os.path.realpath(shutil.which("ecomml") or "") == here:
        return "ecomml", None  # the environment is active
    rel = os.path.relpath(argv0)
    shown = rel if not rel.startswith("..") else argv0
    return shown, os.path.dirname(shown) or "."
